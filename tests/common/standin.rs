//! The API over a stand-in recorder, for tests that need no browser: a recording starts at once,
//! reports progress at [`FPS`], shows every settings change at once, and ends `stopped` (without
//! a file) when stopped; a `web` source whose URL contains `fail` fails at once with
//! `page_load_failed`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures::future::BoxFuture;
use http_body_util::BodyExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use wallflower::api::auth::Tokens;
use wallflower::api::{AppState, router};
use wallflower::jobs::{JobManager, ManagerConfig, SqliteStore};
use wallflower::layouts::preview::Previewer;
use wallflower::layouts::settings::Layouts;
use wallflower::recorder::{EndReason, Outcome, RecorderError, RecorderEvent, RecordingJob, Runner, Source, StopSignal};

/// The frame rate every stand-in recording reports.
pub const FPS: f64 = 29.5;

/// The stand-in recorder.
pub struct StandIn;

impl Runner for StandIn {
    fn run<'a>(&'a self, job: &'a RecordingJob, events: mpsc::Sender<RecorderEvent>, stop: StopSignal) -> BoxFuture<'a, Result<Outcome, wallflower::recorder::Failure>> {
        Box::pin(async move {
            if let Source::Web { url } = &job.source
                && url.contains("fail")
            {
                return Err(RecorderError::PageLoadFailed("the stand-in fails this page".into()).into());
            }
            let _ = events.send(RecorderEvent::Started { at: chrono::Utc::now() }).await;
            let _ = events.send(RecorderEvent::Progress { duration_s: 0.5, bytes: 1000, fps: FPS }).await;
            let mut settings = job.settings.clone();
            loop {
                let changed = async {
                    let Some(rx) = settings.as_mut() else { return std::future::pending().await };
                    if rx.changed().await.is_err() {
                        return std::future::pending().await;
                    }
                    rx.borrow_and_update().revision
                };
                tokio::select! {
                    _ = stop.stop.cancelled() => return Ok(Outcome { end_reason: EndReason::Stopped, video: None }),
                    revision = changed => {
                        let at = chrono::Utc::now();
                        let _ = events.send(RecorderEvent::SettingsApplied { revision, at, failed: None }).await;
                    }
                }
            }
        })
    }
}

/// The router over a stand-in recorder, and the data folder it lives in.
pub struct StandInApi {
    pub app: axum::Router,
    pub jobs: JobManager,
    pub data: tempfile::TempDir,
}

/// Builds the API (must run inside a Tokio runtime).
pub fn stand_in_api(max_concurrent: usize, tokens: Tokens) -> StandInApi {
    // Listed hosts pass without a DNS lookup (there is none here); any other is refused.
    let policy = wallflower::urlpolicy::UrlPolicyConfig { allow_hosts: vec!["example.com".into(), "fail.example".into()], allow_private: false };
    stand_in_api_with(max_concurrent, tokens, wallflower::urlpolicy::UrlPolicy::new(&policy).unwrap())
}

/// [`stand_in_api`] under the URL `policy`.
pub fn stand_in_api_with(max_concurrent: usize, tokens: Tokens, policy: wallflower::urlpolicy::UrlPolicy) -> StandInApi {
    let data = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&data.path().join("db")).unwrap());
    let mut layouts = Layouts::builtin(&super::layouts_dir());
    layouts.assets_dir = data.path().join("assets");
    std::fs::create_dir_all(&layouts.assets_dir).unwrap();
    std::fs::write(layouts.assets_dir.join("logo.png"), b"not really a png").unwrap();
    let webhooks = wallflower::webhooks::Webhooks::new(Default::default(), CancellationToken::new()).unwrap();
    let config = ManagerConfig {
        recordings_dir: data.path().join("recordings"),
        max_concurrent,
        layouts: layouts.clone(),
        storage: Default::default(),
        webhooks,
        metrics: Default::default(),
        disk: Default::default(),
        url_policy: policy,
    };
    let jobs = JobManager::new(store, Arc::new(StandIn), config, CancellationToken::new()).unwrap();
    let assets_url = url::Url::parse("http://127.0.0.1:9/").unwrap();
    // No browser: a preview that passes its checks fails to launch one (500 `preview_failed`).
    let previewer = Previewer::new(layouts, "/nonexistent/chromium".into(), super::no_browsers(), assets_url, "stand-in".into());
    let app = router(AppState { jobs: jobs.clone(), previewer: Arc::new(previewer), tokens });
    StandInApi { app, jobs, data }
}

impl StandInApi {
    /// Sends `request`; the status, the content type and the body.
    pub async fn send(&self, request: Request<Body>) -> (StatusCode, Option<String>, Vec<u8>) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let content_type = response.headers().get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(String::from);
        let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
        (status, content_type, body)
    }

    /// A JSON request; the status and the body as JSON (`Null` if it is not).
    pub async fn json(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> (StatusCode, serde_json::Value) {
        let request = Request::builder().method(method).uri(path).header("content-type", "application/json");
        let request = request.body(body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty)).unwrap();
        let (status, _, body) = self.send(request).await;
        (status, serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null))
    }
}
