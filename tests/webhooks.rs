//! Webhooks of a real recording, received by a test endpoint that checks every signature itself
//! (HMAC-SHA256 per Standard Webhooks, independent of the service's signing code) and answers
//! 500 to the first delivery, which must be retried with the same id.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};

const KEY: &[u8] = b"wallflower-webhook-test-key-0032";

/// One delivery as received: its id, whether its signature was right, its body.
#[derive(Clone, Debug)]
struct Received {
    id: String,
    signed: bool,
    body: Value,
}

fn verify(headers: &HeaderMap, body: &[u8]) -> (String, bool) {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let (id, timestamp, signature) = (get("webhook-id"), get("webhook-timestamp"), get("webhook-signature"));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(KEY).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    let fresh = timestamp.parse::<i64>().is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() < 300);
    (id, fresh && signature.split(' ').any(|s| s == expected))
}

/// A receiver on 127.0.0.1 that fails its first request.
async fn receiver() -> (String, Arc<Mutex<Vec<Received>>>) {
    let got: Arc<Mutex<Vec<Received>>> = Arc::default();
    let log = got.clone();
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let log = log.clone();
            async move {
                let (id, signed) = verify(&headers, &body);
                let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let mut log = log.lock().unwrap();
                log.push(Received { id, signed, body });
                if log.len() == 1 { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::NO_CONTENT }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changes_arrive_signed_in_order_and_a_failed_delivery_is_retried() {
    let (url, got) = receiver().await;
    let app = common::spawn_app_with(|args| args.webhook_secret = Some(format!("whsec_{}", STANDARD.encode(KEY)))).await;
    let id = app.start(json!({"source": {"type": "test"}, "limits": {"max_duration_s": 3}, "webhook_url": url})).await;
    app.wait_for(&id, &["completed"], Duration::from_secs(30)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let deliveries = loop {
        let deliveries = got.lock().unwrap().clone();
        if deliveries.iter().any(|d| d.body["type"] == "recording.completed") {
            break deliveries;
        }
        assert!(tokio::time::Instant::now() < deadline, "no recording.completed: {deliveries:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(deliveries.iter().all(|d| d.signed), "every signature checks out: {deliveries:?}");
    assert_eq!(deliveries[0].id, deliveries[1].id, "the refused delivery is retried with the same id");
    assert_eq!(deliveries[0].body, deliveries[1].body);
    let mut types: Vec<&str> = deliveries.iter().map(|d| d.body["type"].as_str().unwrap()).collect();
    types.dedup();
    assert_eq!(types, ["recording.started", "recording.updated", "recording.completed"]);
    let last = &deliveries.last().unwrap().body;
    assert_eq!((last["data"]["id"].as_str(), last["data"]["state"].as_str()), (Some(id.as_str()), Some("completed")));
    assert!(last["data"]["files"][0]["bytes"].as_u64() > Some(0), "{last}");

    let (_, health) = app.get("/healthz").await;
    assert!(health["webhooks"]["delivered"].as_u64() >= Some(3) && health["webhooks"]["failed_attempts"].as_u64() >= Some(1), "{health}");
    let (status, body) = app.post("/v1/recordings", json!({"source": {"type": "test"}, "webhook_url": "ftp://x/y"})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("webhook_url")), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn a_webhook_url_without_a_secret_is_refused() {
    let app = common::spawn_app().await;
    let (status, body) = app.post("/v1/recordings", json!({"source": {"type": "test"}, "webhook_url": "http://127.0.0.1:9/x"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("webhooks_not_configured")), "{body}");
    app.stop().await;
}
