//! API contract tests: validation errors with codes and fields, 404, idempotent stop, list order,
//! unknown fields, body limits, OpenAPI. No browser: the job manager runs the stand-in recorder
//! (`common::standin`).

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use wallflower::jobs::{JobManager, ManagerConfig, SqliteStore};
use wallflower::layouts::settings::Layouts;
use common::standin::{StandIn, StandInApi, stand_in_api_with};

struct Api {
    app: axum::Router,
    _data: tempfile::TempDir,
}

fn api(max_concurrent: usize) -> Api {
    api_with(max_concurrent, Default::default())
}

fn api_with(max_concurrent: usize, tokens: wallflower::api::auth::Tokens) -> Api {
    // The default URL policy: any public host (IP literals here, so no DNS lookup is needed).
    let StandInApi { app, data, .. } = stand_in_api_with(max_concurrent, tokens, Default::default());
    Api { app, _data: data }
}

impl Api {
    async fn call(&self, method: &str, path: &str, body: Option<&str>) -> (StatusCode, Value, axum::http::HeaderMap) {
        self.send(method, path, body, None).await
    }

    /// A request with an `Authorization` header.
    async fn call_as(&self, method: &str, path: &str, authorization: &str) -> (StatusCode, Value, axum::http::HeaderMap) {
        self.send(method, path, None, Some(authorization)).await
    }

    async fn send(&self, method: &str, path: &str, body: Option<&str>, authorization: Option<&str>) -> (StatusCode, Value, axum::http::HeaderMap) {
        let mut req = Request::builder().method(method).uri(path).header(header::CONTENT_TYPE, "application/json");
        if let Some(value) = authorization {
            req = req.header(header::AUTHORIZATION, value);
        }
        let req = req.body(body.map(|b| Body::from(b.to_owned())).unwrap_or_else(Body::empty)).unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let (status, headers) = (resp.status(), resp.headers().clone());
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null), headers)
    }

    async fn create(&self, body: Value) -> (StatusCode, Value, axum::http::HeaderMap) {
        self.call("POST", "/v1/recordings", Some(&body.to_string())).await
    }
}

fn assert_error(resp: &(StatusCode, Value, axum::http::HeaderMap), status: u16, code: &str, field: Option<&str>) {
    assert_eq!(resp.0.as_u16(), status, "{}", resp.1);
    assert_eq!(resp.1["error"]["code"], code, "{}", resp.1);
    assert!(resp.1["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(resp.1["error"]["field"].as_str(), field, "{}", resp.1);
}

#[tokio::test]
async fn create_returns_201_with_location_and_defaults() {
    let api = api(4);
    let (status, rec, headers) = api.create(json!({"source": {"type": "test"}})).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = rec["id"].as_str().unwrap();
    assert_eq!(headers[header::LOCATION], format!("/v1/recordings/{id}").as_str());
    assert_eq!(rec["state"], "starting");
    assert_eq!(rec["output"], json!({"width": 1280, "height": 720, "fps": 30, "video_bitrate_kbps": 2500, "hls": false, "file": true}));
    assert_eq!(rec["limits"]["max_duration_s"], 10800);
    assert_eq!(rec["destination"]["type"], "local");
    assert!(rec["created_at"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().is_ok());
    assert_eq!(rec["error"], Value::Null);
    assert_eq!(rec["files"], json!([]));
}

#[tokio::test]
async fn validation_errors_name_code_and_field() {
    let api = api(4);
    let test = json!({"type": "test"});
    let cases = [
        (json!({"source": test, "output": {"width": 641}}), "not_even", "output.width"),
        (json!({"source": test, "output": {"width": 100}}), "out_of_range", "output.width"),
        (json!({"source": test, "output": {"height": 2162}}), "out_of_range", "output.height"),
        (json!({"source": test, "output": {"fps": 61}}), "out_of_range", "output.fps"),
        (json!({"source": test, "limits": {"max_duration_s": 0}}), "out_of_range", "limits.max_duration_s"),
        (json!({"source": {"type": "hologram"}}), "unknown_source_type", "source.type"),
        (json!({"source": {"type": "web", "url": "ftp://x/y"}}), "invalid_url", "source.url"),
        (json!({"source": {"type": "web", "url": "javascript:alert(1)"}}), "invalid_url", "source.url"),
        (json!({"source": test, "colour": "red"}), "unknown_field", "colour"),
        (json!({"source": test, "output": {"fsp": 30}}), "unknown_field", "output.fsp"),
        (json!({}), "missing_field", "source"),
        (json!({"source": test, "output": {"width": "wide"}}), "invalid_type", "output.width"),
    ];
    for (body, code, field) in cases {
        assert_error(&api.create(body).await, 400, code, Some(field));
    }
    assert_error(&api.call("POST", "/v1/recordings", Some("{\"source\":")).await, 400, "malformed_json", None);
}

#[tokio::test]
async fn urls_to_private_addresses_or_other_schemes_are_refused() {
    let api = api(4);
    let web = |url: &str| json!({"source": {"type": "web", "url": url}});
    let cases = [
        (web("http://169.254.169.254/latest/meta-data/"), "url_not_allowed", "source.url"),
        (web("http://[::ffff:127.0.0.1]:8080/"), "url_not_allowed", "source.url"),
        (web("http://0x7f000001/"), "url_not_allowed", "source.url"),
        (web("http://localhost:9/"), "url_not_allowed", "source.url"),
        (web("file:///etc/passwd"), "invalid_url", "source.url"),
        (web("javascript:alert(1)"), "invalid_url", "source.url"),
        (web("chrome://settings"), "invalid_url", "source.url"),
        (json!({"source": janus(), "branding": {"logo_url": "http://10.0.0.1/logo.png"}}), "url_not_allowed", "branding.logo_url"),
        (json!({"source": janus(), "asset_hosts": ["https://93.184.216.34", "ftp://x.example"]}), "invalid_url", "asset_hosts[1]"),
        (json!({"source": janus(), "asset_hosts": ["http://192.168.1.5"]}), "url_not_allowed", "asset_hosts[0]"),
        (json!({"source": janus(), "asset_hosts": vec!["https://93.184.216.34"; 17]}), "too_large", "asset_hosts"),
        (json!({"source": {"type": "test"}, "asset_hosts": ["https://93.184.216.34"]}), "not_applicable", "asset_hosts"),
    ];
    for (body, code, field) in cases {
        let answer = api.create(body.clone()).await;
        assert_error(&answer, 400, code, Some(field));
        assert!(answer.1["error"]["message"].as_str().is_some_and(|m| m.contains(field)), "{body}: {}", answer.1);
    }
    // A public address passes (the Janus server, usually internal, is not under the policy).
    assert_eq!(api.create(web("http://93.184.216.34/")).await.0, StatusCode::CREATED);
    let (status, rec, _) = api.create(json!({"source": {"type": "janus", "server": "ws://127.0.0.1:8188", "room": 1}})).await;
    assert_eq!(status, StatusCode::CREATED, "{rec}");
    let id = rec["id"].as_str().unwrap();
    let patch = json!({"branding": {"logo_url": "http://169.254.169.254/x.png"}}).to_string();
    assert_error(&api.call("PATCH", &format!("/v1/recordings/{id}"), Some(&patch)).await, 400, "url_not_allowed", Some("branding.logo_url"));
    let slide = json!({"type": "slide", "url": "http://[fd00::1]/s.png"}).to_string();
    assert_error(&api.call("POST", &format!("/v1/recordings/{id}/events"), Some(&slide)).await, 400, "url_not_allowed", Some("url"));
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let api = api(4);
    let body = format!("{{\"source\":{{\"type\":\"web\",\"url\":\"https://example.com/{}\"}}}}", "a".repeat(100_000));
    assert_error(&api.call("POST", "/v1/recordings", Some(&body)).await, 413, "payload_too_large", None);
}

#[tokio::test]
async fn unknown_recordings_and_routes_are_404() {
    let api = api(4);
    assert_error(&api.call("GET", "/v1/recordings/rec_nope", None).await, 404, "not_found", None);
    assert_error(&api.call("POST", "/v1/recordings/rec_nope/stop", None).await, 404, "not_found", None);
    assert_error(&api.call("GET", "/v2/whatever", None).await, 404, "not_found", None);
}

#[tokio::test]
async fn stop_is_idempotent() {
    let api = api(4);
    let id = api.create(json!({"source": {"type": "test"}})).await.1["id"].as_str().unwrap().to_owned();
    let stop = format!("/v1/recordings/{id}/stop");
    assert_eq!(api.call("POST", &stop, None).await.0, StatusCode::ACCEPTED);
    assert_eq!(api.call("POST", &stop, None).await.0, StatusCode::ACCEPTED);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (_, rec, _) = api.call("GET", &format!("/v1/recordings/{id}"), None).await;
        if rec["state"] == "completed" {
            assert_eq!(rec["end_reason"], "stopped");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{rec}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, rec, _) = api.call("POST", &stop, None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(rec["state"], "completed");
}

#[tokio::test]
async fn list_is_newest_first() {
    let api = api(8);
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(api.create(json!({"source": {"type": "test"}})).await.1["id"].as_str().unwrap().to_owned());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (status, list, _) = api.call("GET", "/v1/recordings", None).await;
    assert_eq!(status, StatusCode::OK);
    let listed: Vec<&str> = list["recordings"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    ids.reverse();
    assert_eq!(listed, ids);
}

#[tokio::test]
async fn beyond_capacity_is_503_with_retry_after() {
    let api = api(1);
    assert_eq!(api.create(json!({"source": {"type": "test"}})).await.0, StatusCode::CREATED);
    let resp = api.create(json!({"source": {"type": "test"}})).await;
    assert_error(&resp, 503, "at_capacity", None);
    assert!(resp.2.contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn health_and_openapi_are_served() {
    let api = api(4);
    let (status, health, _) = api.call("GET", "/healthz", None).await;
    assert_eq!((status, health["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (status, doc, _) = api.call("GET", "/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/v1/recordings"]["post"].is_object());
    assert!(doc["components"]["schemas"]["Recording"].is_object(), "{}", doc["components"]);
}

fn janus() -> Value {
    json!({"type": "janus", "server": "ws://127.0.0.1:8188", "room": 1234})
}

#[tokio::test]
async fn layouts_are_listed_with_their_parameters() {
    let api = api(4);
    let (status, body, _) = api.call("GET", "/v1/layouts", None).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = body["layouts"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["grid", "presentation", "single", "speaker"]);
    let (status, single, _) = api.call("GET", "/v1/layouts/single", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(single["params"]["participant"]["type"], "string", "{single}");
    assert!(single["description"].as_str().is_some_and(|d| !d.is_empty()));
    assert_error(&api.call("GET", "/v1/layouts/nope", None).await, 400, "unknown_layout", Some("layout"));
    assert_error(&api.call("GET", "/v1/layouts/..%2F..%2Fetc/preview.png", None).await, 400, "invalid_layout_name", Some("layout"));
    assert_error(&api.call("GET", "/v1/layouts/grid/preview.png?participants=99", None).await, 400, "out_of_range", Some("participants"));
    assert_error(&api.call("GET", "/v1/layouts/grid/preview.png?branding=%7B", None).await, 400, "invalid_value", Some("branding"));
}

#[tokio::test]
async fn layout_and_branding_requests_are_checked() {
    let api = api(4);
    let cases = [
        (json!({"source": janus(), "layout": "mosaic"}), "unknown_layout", "layout"),
        (json!({"source": janus(), "layout": "../../etc/passwd"}), "invalid_layout_name", "layout"),
        (json!({"source": janus(), "layout": "/abs"}), "invalid_layout_name", "layout"),
        (json!({"source": janus(), "branding": {"colors": {"primary": "red"}}}), "invalid_color", "branding.colors.primary"),
        (json!({"source": janus(), "branding": {"colors": {"background": "#12"}}}), "invalid_color", "branding.colors.background"),
        (json!({"source": janus(), "branding": {"logo_url": "file:///etc/passwd"}}), "invalid_url", "branding.logo_url"),
        (json!({"source": janus(), "branding": {"logo_url": "../db"}}), "invalid_url", "branding.logo_url"),
        (json!({"source": janus(), "branding": {"logo_url": "nope.png"}}), "asset_not_found", "branding.logo_url"),
        (json!({"source": janus(), "branding": {"custom_css": "a".repeat(20_000)}}), "too_large", "branding.custom_css"),
        (json!({"source": janus(), "branding": {"tilte": "x"}}), "unknown_field", "branding.tilte"),
        (json!({"source": janus(), "branding": {"logo_position": "middle"}}), "invalid_value", "branding.logo_position"),
        (json!({"source": janus(), "layout": "single", "layout_params": {"who": "x"}}), "unknown_field", "layout_params.who"),
        (json!({"source": {"type": "test"}, "layout": "grid"}), "not_applicable", "layout"),
    ];
    for (body, code, field) in cases {
        assert_error(&api.create(body).await, 400, code, Some(field));
    }
    let unknown = api.create(json!({"source": janus(), "layout": "mosaic"})).await;
    assert!(unknown.1["error"]["message"].as_str().unwrap().contains("grid, presentation, single, speaker"), "{}", unknown.1);
    let title = "<script>alert(1)</script>";
    let branding = json!({"title": title, "logo_url": "logo.png", "colors": {"primary": "#ff8800"}});
    let (status, rec, _) = api.create(json!({"source": janus(), "layout": "speaker", "branding": branding})).await;
    assert_eq!(status, StatusCode::CREATED, "{rec}");
    assert_eq!(rec["settings"]["layout"], "speaker");
    assert_eq!(rec["settings"]["layout_params"]["filmstrip"], "bottom", "defaults filled: {rec}");
    assert_eq!(rec["settings"]["branding"]["title"], title, "stored as given; the page renders it as text");
}

#[tokio::test]
async fn live_changes_are_checked_applied_and_recorded() {
    let api = api(4);
    let (_, rec, _) = api.create(json!({"source": janus()})).await;
    let path = format!("/v1/recordings/{}", rec["id"].as_str().unwrap());
    let patch = |body: Value| {
        let (api, path) = (&api, &path);
        async move { api.call("PATCH", path, Some(&body.to_string())).await }
    };
    assert_error(&patch(json!({"layout": "nope"})).await, 400, "unknown_layout", Some("layout"));
    assert_error(&patch(json!({"branding": {"colors": {"text": "blue"}}})).await, 400, "invalid_color", Some("branding.colors.text"));
    assert_error(&patch(json!({"layuot": "grid"})).await, 400, "unknown_field", Some("layuot"));
    assert_error(&patch(json!({})).await, 400, "empty_patch", None);
    let (status, changed, _) = patch(json!({"layout": "single", "layout_params": {"participant": "Bob"}, "branding": {"title": "Live"}})).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!((changed["settings"]["revision"].as_u64(), changed["settings"]["layout"].as_str()), (Some(1), Some("single")));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let shown = loop {
        let (_, rec, _) = api.call("GET", &path, None).await;
        if rec["changes"][0]["applied_at"].is_string() {
            break rec;
        }
        assert!(tokio::time::Instant::now() < deadline, "{rec}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(shown["changes"][0]["layout"], "single");
    assert!(shown["changes"][0]["t_ms"].as_i64().is_some_and(|t| t >= 0), "{shown}");
    assert_eq!(shown["settings"]["branding"]["title"], "Live");
    api.call("POST", &format!("{path}/stop"), None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_error(&patch(json!({"layout": "grid"})).await, 409, "recording_finished", None);
    assert_error(&api.call("PATCH", "/v1/recordings/rec_nope", Some("{\"layout\":\"grid\"}")).await, 404, "not_found", None);
    let (_, test, _) = api.create(json!({"source": {"type": "test"}})).await;
    let test_path = format!("/v1/recordings/{}", test["id"].as_str().unwrap());
    assert_error(&api.call("PATCH", &test_path, Some("{\"layout\":\"grid\"}")).await, 400, "not_applicable", Some("layout"));
}

#[tokio::test]
async fn call_events_are_checked_rate_limited_and_refused_when_finished() {
    let api = api(4);
    let (_, rec, _) = api.create(json!({"source": janus()})).await;
    let path = format!("/v1/recordings/{}/events", rec["id"].as_str().unwrap());
    let post = |body: String| {
        let (api, path) = (&api, &path);
        async move { api.call("POST", path, Some(&body)).await }
    };
    let (status, accepted, _) = post(json!({"type": "chat", "from": "Ann", "text": "<script>x</script> hi"}).to_string()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert!(accepted["id"].as_str().is_some_and(|id| id.starts_with("evt_")));
    assert_error(&post(json!({"type": "poll", "question": "?"}).to_string()).await, 400, "unknown_event_type", Some("type"));
    assert_error(&post(json!({"type": "chat"}).to_string()).await, 400, "missing_field", Some("text"));
    assert_error(&post(json!({"type": "reaction", "emoji": "nice"}).to_string()).await, 400, "invalid_value", Some("emoji"));
    assert_error(&post(json!({"type": "slide", "url": "file:///etc/passwd"}).to_string()).await, 400, "invalid_url", Some("url"));
    assert_error(&post(json!({"type": "chat", "text": "x".repeat(5000)}).to_string()).await, 413, "payload_too_large", None);
    // A flood: the first ones pass, then 429 with Retry-After, and the service carries on.
    let mut statuses = Vec::new();
    for i in 0..200 {
        let resp = post(json!({"type": "reaction", "emoji": "🎉", "from": format!("p{i}")}).to_string()).await;
        if resp.0 == StatusCode::TOO_MANY_REQUESTS {
            assert_error(&resp, 429, "rate_limited", None);
            assert!(resp.2.contains_key(header::RETRY_AFTER));
        }
        statuses.push(resp.0.as_u16());
    }
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert!(limited > 100 && statuses[0] == 202, "{statuses:?}");
    let (_, live, _) = api.call("GET", &format!("/v1/recordings/{}", rec["id"].as_str().unwrap()), None).await;
    assert_eq!(live["events"]["rate_limited"].as_u64(), Some(limited as u64), "{}", live["events"]);
    api.call("POST", &format!("/v1/recordings/{}/stop", rec["id"].as_str().unwrap()), None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_error(&post(json!({"type": "chat", "text": "late"}).to_string()).await, 409, "recording_finished", None);
    assert_error(&api.call("POST", "/v1/recordings/rec_nope/events", Some(r#"{"type":"chat","text":"x"}"#)).await, 404, "not_found", None);
    let (_, test, _) = api.create(json!({"source": {"type": "test"}})).await;
    let test_events = format!("/v1/recordings/{}/events", test["id"].as_str().unwrap());
    assert_error(&api.call("POST", &test_events, Some(r#"{"type":"chat","text":"x"}"#)).await, 400, "not_applicable", Some("type"));
}

#[tokio::test]
async fn destinations_streams_and_webhooks_are_checked_before_anything_starts() {
    let api = api(4);
    let cases = [
        (json!({"type": "s3", "profile": "nope"}), "unknown_profile", "destination.profile"),
        (json!({"type": "s3", "bucket": "Bad_Bucket"}), "invalid_bucket", "destination.bucket"),
        (json!({"type": "s3", "key": "a/{user}.mp4"}), "invalid_key", "destination.key"),
        (json!({"type": "http", "url": "https://x/y", "method": "POST"}), "unsupported_method", "destination.method"),
        (json!({"type": "ftp"}), "unknown_destination_type", "destination.type"),
    ];
    for (destination, code, field) in cases {
        let (status, body, _) = api.create(json!({"source": {"type": "test"}, "destination": destination})).await;
        assert_eq!((status, body["error"]["code"].as_str(), body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some(code), Some(field)), "{body}");
    }
    let (status, body, _) = api.create(json!({"source": {"type": "test"}, "streams": [{"url": "rtmp://x/a"}, {"url": "rtmp://x/a"}]})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("duplicate_stream")), "{body}");
    let (status, body, _) = api.create(json!({"source": {"type": "test"}, "webhook_url": "http://127.0.0.1:9/h"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("webhooks_not_configured")), "{body}");
}

#[tokio::test]
async fn an_upload_cut_short_by_a_restart_can_be_retried() {
    use wallflower::jobs::{RecordingState, RecordingStore};
    let data = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&data.path().join("db")).unwrap());
    let config = || ManagerConfig {
        recordings_dir: data.path().join("recordings"),
        max_concurrent: 1,
        layouts: Layouts::builtin(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/layouts"))),
        storage: Default::default(),
        webhooks: wallflower::webhooks::Webhooks::new(Default::default(), CancellationToken::new()).unwrap(),
        disk: Default::default(),
        url_policy: Default::default(),
        metrics: Default::default(),
    };
    let jobs = JobManager::new(store.clone(), Arc::new(StandIn), config(), CancellationToken::new()).unwrap();
    let request = wallflower::jobs::RecordingRequest::parse(br#"{"source":{"type":"test"}}"#).unwrap();
    let mut rec = jobs.create(request).await.unwrap();
    jobs.shutdown().await;
    // As if the service had died while this recording was uploading.
    rec.state = RecordingState::Uploading;
    store.put(&rec).unwrap();
    let restarted = JobManager::new(store.clone(), Arc::new(StandIn), config(), CancellationToken::new()).unwrap();
    let after = restarted.get(&rec.id).unwrap();
    assert_eq!((after.state, after.error.as_ref().map(|e| e.code.as_str())), (RecordingState::Failed, Some("upload_failed")));
    // Its local copy is gone in this test, so the retry says so rather than starting.
    let err = restarted.retry_upload(&rec.id).unwrap_err();
    assert_eq!(err.code(), "local_copy_missing");
}

#[tokio::test]
async fn with_tokens_configured_only_a_valid_bearer_token_gets_in() {
    let tokens = wallflower::api::auth::Tokens::new([("ci".to_owned(), "ci-token-0123456789".to_owned())]).unwrap();
    let api = api_with(2, tokens);
    let (status, body, headers) = api.call("GET", "/v1/recordings", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")), "{body}");
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
    let (status, _, _) = api.call_as("GET", "/v1/recordings", "Bearer ci-token-0123456780").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a wrong token");
    let (status, body, _) = api.call_as("GET", "/v1/recordings", "Bearer ci-token-0123456789").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, _) = api.call("GET", "/healthz", None).await;
    assert_eq!(status, StatusCode::OK, "health stays open");
}
