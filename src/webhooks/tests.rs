//! Tests of webhook delivery against a real HTTP receiver on 127.0.0.1:0 that checks signatures
//! on its own (hmac + sha2 + base64, not the standardwebhooks crate), so a signing mistake shared
//! by sender and verifier cannot pass.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::*;

/// What the receiver got in one request.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    raw: Bytes,
    id: String,
    body: Value,
    user_agent: String,
    content_type: String,
    /// Err says why the signature or timestamp did not check out.
    verified: Result<(), String>,
}

/// The receiver's answers (`script` first, then `otherwise`) and what it got.
struct Script {
    script: VecDeque<u16>,
    otherwise: u16,
    got: Vec<Received>,
}

type Shared = Arc<Mutex<Script>>;

struct Receiver {
    url: Url,
    state: Shared,
}

impl Receiver {
    /// Answers `script` in turn, then `otherwise` for ever.
    async fn start(script: &[u16], otherwise: u16) -> Self {
        let state = Arc::new(Mutex::new(Script { script: script.iter().copied().collect(), otherwise, got: vec![] }));
        let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        // The query stands in for presigned-style credentials.
        let url = Url::parse(&format!("http://127.0.0.1:{port}/hook?token=hunter2")).unwrap();
        Self { url, state }
    }

    fn got(&self) -> Vec<Received> {
        self.state.lock().unwrap().got.clone()
    }
}

async fn receive(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let received = Received {
        headers: headers.clone(),
        raw: body.clone(),
        id: header("webhook-id"),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        user_agent: header("user-agent"),
        content_type: header("content-type"),
        verified: verify(&headers, &body),
    };
    let mut state = state.lock().unwrap();
    state.got.push(received);
    let status = state.script.pop_front().unwrap_or(state.otherwise);
    StatusCode::from_u16(status).unwrap()
}

/// Standard Webhooks verification, written out: HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed
/// with the decoded secret, one of the space-separated `v1,<base64>` signatures, timestamp ±5 min.
fn verify(headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).ok_or(format!("no {name}"));
    let id = header("webhook-id")?;
    let timestamp: i64 = header("webhook-timestamp")?.parse().map_err(|e| format!("timestamp: {e}"))?;
    if (chrono::Utc::now().timestamp() - timestamp).abs() > 300 {
        return Err(format!("timestamp {timestamp} is more than 5 minutes away"));
    }
    let key = STANDARD.decode(secret().strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    let signatures = header("webhook-signature")?;
    signatures.split(' ').any(|s| s == expected).then_some(()).ok_or(format!("bad signature {signatures}"))
}

fn secret() -> String {
    format!("whsec_{}", STANDARD.encode([7u8; 32]))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Webhooks with a real secret and fast retries.
fn webhooks(retry_for: Duration) -> Webhooks {
    let config =
        WebhookConfig { secret: Some(secret()), default_url: None, retry_for, timeout: Duration::from_secs(2) };
    Webhooks::new(config, CancellationToken::new()).unwrap().with_backoff(ms(10), ms(40))
}

async fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(ms(10)).await;
    }
}

#[tokio::test]
async fn a_signed_message_arrives_with_its_body_and_headers() {
    let receiver = Receiver::start(&[], 200).await;
    let hooks = webhooks(Duration::from_secs(60));
    let outbox = hooks.outbox(receiver.url.clone(), "rec_1");

    outbox.send("recording.completed", json!({"id": "rec_1", "state": "complete"}));
    eventually("delivery", || hooks.stats().delivered == 1).await;

    let got = receiver.got();
    assert_eq!(got.len(), 1);
    let message = &got[0];
    assert_eq!(message.verified, Ok(()));
    // The receiver's check is not a rubber stamp: one changed byte fails it.
    assert!(verify(&message.headers, &message.raw[1..]).is_err());
    assert!(message.id.starts_with("msg_") && message.id.len() == 36, "{}", message.id);
    assert_eq!(message.content_type, "application/json");
    assert_eq!(message.user_agent, concat!("wallflower/", env!("CARGO_PKG_VERSION")));
    assert_eq!(message.body["type"], "recording.completed");
    assert_eq!(message.body["data"], json!({"id": "rec_1", "state": "complete"}));
    let timestamp = message.body["timestamp"].as_str().unwrap();
    chrono::DateTime::parse_from_rfc3339(timestamp).unwrap();
    let stats = hooks.stats();
    assert_eq!((stats.attempts, stats.failed_attempts, stats.queued), (1, 0, 0));
}

#[tokio::test]
async fn secrets_not_in_the_standard_form_are_refused_with_the_reason() {
    let encoded = |n: usize| format!("whsec_{}", STANDARD.encode(vec![1u8; n]));
    let cases = [
        (STANDARD.encode([1u8; 32]), "must start with `whsec_`"),
        ("whsec_not*base64!".to_owned(), "not valid base64"),
        (encoded(16), "decodes to 16 bytes; 24 to 64 are required"),
        (encoded(65), "decodes to 65 bytes"),
    ];
    for (secret, reason) in cases {
        let config = WebhookConfig { secret: Some(secret.clone()), ..WebhookConfig::default() };
        let err = Webhooks::new(config, CancellationToken::new()).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(reason), "{secret}: {message}");
        assert!(!message.contains(&secret), "the message repeats the secret: {message}");
        assert_eq!(err.code(), "invalid_webhook_secret");
        assert!(!err.is_client_error());
    }
    for n in [24, 64] {
        let config = WebhookConfig { secret: Some(encoded(n)), ..WebhookConfig::default() };
        assert!(Webhooks::new(config, CancellationToken::new()).unwrap().enabled());
    }
}

#[tokio::test]
async fn without_a_secret_nothing_is_sent() {
    let receiver = Receiver::start(&[], 200).await;
    let hooks = Webhooks::new(WebhookConfig::default(), CancellationToken::new()).unwrap();
    assert!(!hooks.enabled());

    hooks.outbox(receiver.url.clone(), "rec_1").send("recording.completed", json!({}));
    tokio::time::sleep(ms(50)).await;

    assert!(receiver.got().is_empty());
    assert_eq!(hooks.stats().queued, 0);
}

#[tokio::test]
async fn failures_are_retried_with_the_same_id_until_the_receiver_succeeds() {
    let receiver = Receiver::start(&[500, 500], 200).await;
    let hooks = webhooks(Duration::from_secs(60));

    hooks.outbox(receiver.url.clone(), "rec_1").send("recording.completed", json!({"id": "rec_1"}));
    eventually("delivery", || hooks.stats().delivered == 1).await;

    let got = receiver.got();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|m| m.id == got[0].id && m.verified.is_ok()), "{got:?}");
    let stats = hooks.stats();
    assert_eq!((stats.attempts, stats.failed_attempts, stats.given_up, stats.queued), (3, 2, 0, 0));
}

#[tokio::test]
async fn one_outbox_delivers_in_order_even_across_retries() {
    let receiver = Receiver::start(&[503], 200).await;
    let hooks = webhooks(Duration::from_secs(60));
    let outbox = hooks.outbox(receiver.url.clone(), "rec_1");

    outbox.send("recording.started", json!({}));
    outbox.send("recording.completed", json!({}));
    eventually("both deliveries", || hooks.stats().delivered == 2).await;

    let types: Vec<_> = receiver.got().iter().map(|m| m.body["type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(types, ["recording.started", "recording.started", "recording.completed"]);
}

#[tokio::test]
async fn a_message_is_given_up_once_retry_for_has_passed() {
    let receiver = Receiver::start(&[], 500).await;
    let hooks = webhooks(ms(150));

    hooks.outbox(receiver.url.clone(), "rec_1").send("recording.failed", json!({}));
    eventually("giving up", || hooks.stats().given_up == 1).await;

    let stats = hooks.stats();
    assert_eq!((stats.delivered, stats.queued), (0, 0));
    assert!(stats.attempts >= 2 && stats.attempts == stats.failed_attempts, "{stats:?}");
}

#[tokio::test]
async fn gone_stops_retrying_at_once() {
    let receiver = Receiver::start(&[], 410).await;
    let hooks = webhooks(Duration::from_secs(60));

    hooks.outbox(receiver.url.clone(), "rec_1").send("recording.completed", json!({}));
    eventually("giving up", || hooks.stats().given_up == 1).await;

    assert_eq!(hooks.stats().attempts, 1);
    assert_eq!(receiver.got().len(), 1);
}

#[tokio::test]
async fn an_unreachable_endpoint_is_retried() {
    let hooks = webhooks(ms(100));
    // Port 9 (discard) on loopback is closed on any sane test machine: connection refused.
    let url = Url::parse("http://127.0.0.1:9/hook").unwrap();

    hooks.outbox(url, "rec_1").send("recording.completed", json!({}));
    eventually("giving up", || hooks.stats().given_up == 1).await;

    assert!(hooks.stats().failed_attempts >= 2);
}

#[tokio::test]
async fn shutdown_drains_queued_messages_even_while_outboxes_are_held() {
    let receiver = Receiver::start(&[500], 200).await;
    let hooks = webhooks(Duration::from_secs(60));
    let outbox = hooks.outbox(receiver.url.clone(), "rec_1");
    let _idle = hooks.outbox(receiver.url.clone(), "rec_2");

    outbox.send("recording.completed", json!({}));
    tokio::time::timeout(Duration::from_secs(5), hooks.shutdown(Duration::from_secs(5))).await.unwrap();

    let stats = hooks.stats();
    assert_eq!((stats.delivered, stats.abandoned, stats.queued), (1, 0, 0));
    outbox.send("recording.deleted", json!({}));
    assert_eq!(hooks.stats().queued, 0, "nothing is accepted after shutdown");
}

#[tokio::test]
async fn shutdown_returns_by_its_deadline_when_the_receiver_keeps_failing() {
    let receiver = Receiver::start(&[], 500).await;
    let hooks = webhooks(Duration::from_secs(3600));
    let outbox = hooks.outbox(receiver.url.clone(), "rec_1");
    outbox.send("recording.started", json!({}));
    outbox.send("recording.completed", json!({}));
    eventually("a first attempt", || hooks.stats().attempts >= 1).await;

    let started = Instant::now();
    hooks.shutdown(ms(200)).await;

    assert!(started.elapsed() < ms(1000), "shutdown took {:?}", started.elapsed());
    let stats = hooks.stats();
    assert_eq!((stats.delivered, stats.abandoned, stats.queued), (0, 2, 0));
}

#[tokio::test]
async fn cancelling_the_server_token_abandons_delivery() {
    let receiver = Receiver::start(&[], 500).await;
    let token = CancellationToken::new();
    let config = WebhookConfig { secret: Some(secret()), retry_for: Duration::from_secs(3600), ..Default::default() };
    let hooks = Webhooks::new(config, token.clone()).unwrap().with_backoff(ms(10), ms(40));

    hooks.outbox(receiver.url.clone(), "rec_1").send("recording.completed", json!({}));
    eventually("a first attempt", || hooks.stats().attempts >= 1).await;
    token.cancel();

    eventually("abandoning", || hooks.stats().abandoned == 1).await;
}

#[test]
fn the_recording_url_wins_over_the_default() {
    let default = Url::parse("https://hooks.example.com/all").unwrap();
    let own = Url::parse("https://example.org/rec").unwrap();
    let config = WebhookConfig { default_url: Some(default.clone()), ..WebhookConfig::default() };
    let hooks = Webhooks::new(config, CancellationToken::new()).unwrap();

    assert_eq!(hooks.endpoint(Some(&own)), Some(own));
    assert_eq!(hooks.endpoint(None), Some(default));
}

#[test]
fn credentials_stay_out_of_logs() {
    let url = Url::parse("https://user:pass@example.com/hook?X-Amz-Signature=abc#frag").unwrap();
    assert_eq!(loggable_url(&url), "https://example.com:443/hook");
    let config = WebhookConfig { secret: Some(secret()), default_url: Some(url), ..WebhookConfig::default() };
    let debug = format!("{config:?}");
    assert!(!debug.contains(&secret()[6..]) && !debug.contains("pass") && !debug.contains("abc"), "{debug}");
}

#[test]
fn backoff_grows_to_its_cap_with_full_jitter() {
    let backoff = BACKOFF;
    for _ in 0..100 {
        assert!(backoff.delay(1) <= ms(500));
        assert!(backoff.delay(3) <= ms(2000));
        assert!(backoff.delay(40) <= Duration::from_secs(60));
    }
}
