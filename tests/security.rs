//! The URL policy end to end, with the real recorder (nextest group `e2e`): the recorder's
//! Chromium refuses what the policy refuses however the page asks for it — a redirect hop of a
//! subresource, a redirect of the page itself — and reports it in the resource's `incidents`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use common::*;
use serde_json::{Value, json};

const START: Duration = Duration::from_secs(30);

/// A server on 127.0.0.2 the browser must never reach; returns its address and its hit count.
async fn forbidden_server() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counter = hits.clone();
    let app = axum::Router::new().fallback(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async { "internal secret" }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, hits)
}

/// The allowed page server on 127.0.0.1: `/page` (a blue page whose image redirects to
/// `target`) and `/jump` (the page itself redirects there).
async fn page_server(target: String) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let redirect = move || {
        let target = target.clone();
        async move { (StatusCode::FOUND, [(header::LOCATION, target)]).into_response() }
    };
    let page = "<html><body style='margin:0;background:#1030e0'><img src='/image' width=50 height=50></body></html>";
    let app = axum::Router::new()
        .route("/page", get(move || async move { Html(page) }))
        .route("/image", get(redirect.clone()))
        .route("/jump", get(redirect));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn blocked(rec: &Value) -> Vec<String> {
    let incidents = rec["incidents"].as_array().cloned().unwrap_or_default();
    incidents.iter().filter(|i| i["kind"] == "request_blocked").map(|i| i["message"].as_str().unwrap_or("").to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_to_a_non_allowed_address_are_refused_in_the_browser_and_reported() {
    let (secret, hits) = forbidden_server().await;
    let page = page_server(format!("http://{secret}/secret.png?token=abc")).await;
    // The page's host is allowlisted (not private destinations in general).
    let app = spawn_app_with(|args| args.common.url_allow_hosts = Some(vec!["127.0.0.1".into()])).await;
    let web = |path: &str| json!({"source": {"type": "web", "url": format!("http://{page}{path}")}, "output": {"width": 320, "height": 240}});
    let (status, refused) = app.post("/v1/recordings", json!({"source": {"type": "web", "url": format!("http://{secret}/")}})).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (400, Some("url_not_allowed")), "{refused}");

    // A subresource that redirects: refused, reported, and the recording goes on.
    let id = app.start(web("/page")).await;
    app.wait_for(&id, &["recording"], START).await;
    let rec = app.wait_until(&id, Duration::from_secs(10), |r| !blocked(r).is_empty()).await;
    let message = &blocked(&rec)[0];
    assert!(message.contains(&format!("http://{secret}/secret.png")) && !message.contains("token"), "{message}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    app.post(&format!("/v1/recordings/{id}/stop"), json!({})).await;
    let done = app.wait_for(&id, &["completed", "failed"], START).await;
    assert_eq!(done["state"], "completed", "{done}");
    let [r, g, b] = frame_rgb(&file_of(&done), 0.5);
    assert!(b > 150.0 && r < 100.0 && g < 100.0, "the page is not in the recording: {r:.0},{g:.0},{b:.0}");

    // The page itself redirects: its load fails, and the incident says why.
    let id = app.start(web("/jump")).await;
    let done = app.wait_for(&id, &["completed", "failed"], START).await;
    assert_eq!((done["state"].as_str(), done["error"]["code"].as_str()), (Some("failed"), Some("page_load_failed")), "{done}");
    assert!(done["error"]["message"].as_str().unwrap_or("").contains("BLOCKED_BY_CLIENT"), "{done}");
    assert_eq!(blocked(&done).len(), 1, "{done}");

    assert_eq!(hits.load(Ordering::SeqCst), 0, "the browser reached the forbidden server");
    app.stop().await;
}
