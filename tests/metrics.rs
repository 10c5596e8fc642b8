//! `GET /metrics` over the stand-in recorder: recordings started, completed and failed (by end
//! reason and error code), capacity, per-recording fps, behind the bearer token. The scraped text
//! is parsed as the exposition format, not searched for names.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::scrape::{Sample, labels, parse, value};
use common::standin::{FPS, StandInApi, stand_in_api};
use serde_json::{Value, json};
use wallflower::api::auth::Tokens;

const TOKEN: &str = "metrics-token-0123456789";

async fn scrape(api: &StandInApi) -> Vec<Sample> {
    let request = Request::get("/metrics").header("authorization", format!("Bearer {TOKEN}")).body(Body::empty()).unwrap();
    let (status, content_type, body) = api.send(request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type.as_deref(), Some("text/plain; version=0.0.4; charset=utf-8"));
    parse(&String::from_utf8(body).unwrap())
}

/// Waits until recording `id` is in `state`.
async fn wait_state(api: &StandInApi, id: &str, state: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let rec = api.jobs.get(id).unwrap();
        if rec.state.name() == state && (state != "recording" || rec.progress.fps > 0.0) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{id} is {} after 5 s, not {state}", rec.state.name());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn create(api: &StandInApi, source: Value) -> String {
    let request = Request::post("/v1/recordings").header("authorization", format!("Bearer {TOKEN}")).header("content-type", "application/json");
    let (status, _, body) = api.send(request.body(Body::from(json!({"source": source}).to_string())).unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice::<Value>(&body).unwrap()["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn metrics_count_recordings_by_outcome_with_capacity_and_fps() {
    let api = stand_in_api(3, Tokens::new([("prometheus".to_owned(), TOKEN.to_owned())]).unwrap());
    let (status, body) = api.json("GET", "/metrics", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")), "{body}");
    let before = scrape(&api).await;
    assert_eq!(value(&before, "wallflower_recordings_started_total", &[]), Some(0.0));
    assert_eq!(value(&before, "wallflower_capacity_left", &[]), Some(3.0));
    assert_eq!(value(&before, "wallflower_pipeline_restarts_total", &[("part", "chromium")]), Some(0.0));

    let (a, b) = (create(&api, json!({"type": "test"})).await, create(&api, json!({"type": "test"})).await);
    let failing = create(&api, json!({"type": "web", "url": "https://fail.example/"})).await;
    wait_state(&api, &a, "recording").await;
    wait_state(&api, &b, "recording").await;
    wait_state(&api, &failing, "failed").await;
    let during = scrape(&api).await;
    assert_eq!(value(&during, "wallflower_recordings_started_total", &[]), Some(3.0));
    let failed = [("end_reason", "error"), ("error_code", "page_load_failed")];
    assert_eq!(value(&during, "wallflower_recordings_failed_total", &failed), Some(1.0));
    assert_eq!(value(&during, "wallflower_recordings_active", &[("phase", "capturing")]), Some(2.0));
    assert_eq!(value(&during, "wallflower_capacity_left", &[]), Some(1.0));
    assert_eq!(value(&during, "wallflower_recording_fps", &[("id", &a)]), Some(FPS));
    assert_eq!(value(&during, "wallflower_recording_fps", &[("id", &b)]), Some(FPS));
    assert_eq!(value(&during, "wallflower_recording_fps", &[("id", &failing)]), None, "it never captured");

    let (status, _) = api.json("POST", &format!("/v1/recordings/{a}/stop"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "stop needs the token too");
    api.jobs.stop(&a).unwrap();
    wait_state(&api, &a, "completed").await;
    let after = scrape(&api).await;
    assert_eq!(value(&after, "wallflower_recordings_completed_total", &[("end_reason", "stopped")]), Some(1.0));
    assert_eq!(value(&after, "wallflower_recording_fps", &[("id", &a)]), None, "an ended recording's fps goes");
    assert_eq!(value(&after, "wallflower_recording_fps", &[("id", &b)]), Some(FPS));
    assert_eq!(value(&after, "wallflower_recordings_active", &[("phase", "capturing")]), Some(1.0));
    assert_eq!(value(&after, "wallflower_capacity_left", &[]), Some(2.0));
    assert_eq!(value(&after, "wallflower_recordings_failed_total", &failed), Some(1.0));
    assert_eq!(value(&after, "wallflower_upload_bytes_total", &[]), Some(0.0), "local recordings upload nothing");
}

#[tokio::test]
async fn the_openapi_description_lists_metrics() {
    let api = stand_in_api(1, Tokens::default());
    let (status, spec) = api.json("GET", "/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let metrics = &spec["paths"]["/metrics"]["get"];
    assert!(metrics["responses"]["200"]["content"]["text/plain; version=0.0.4; charset=utf-8"].is_object(), "{metrics}");
}

#[test]
fn the_parser_reads_labels_with_escapes() {
    let text = "# TYPE x counter\nx{a=\"1\",b=\"say \\\"hi\\\"\"} 2\n";
    assert_eq!(parse(text), vec![("x".to_owned(), labels("a=\"1\",b=\"say \\\"hi\\\"\""), 2.0)]);
    assert_eq!(labels("a=\"1\",b=\"say \\\"hi\\\"\"")["b"], "say \"hi\"");
}
