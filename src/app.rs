//! Wiring of the `serve` command: settings → asset server, recorder, store, job manager, router,
//! listener. Tests build an [`Application`] on port 0 and drive it over real HTTP.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::api::auth::Tokens;
use crate::api::{self, AppState};
use crate::config::Settings;
use crate::jobs::{JobManager, ManagerConfig, SqliteStore};
use crate::layouts::preview::Previewer;
use crate::layouts::AssetServer;
use crate::recorder::Recorder;
use crate::webhooks::Webhooks;

/// How long shutdown waits for queued webhooks.
const WEBHOOK_DRAIN: std::time::Duration = std::time::Duration::from_secs(10);

/// A built, not yet serving, service.
pub struct Application {
    listener: TcpListener,
    jobs: JobManager,
    previewer: Arc<Previewer>,
    recorder: Arc<Recorder>,
    webhooks: Webhooks,
    tokens: Tokens,
    cancel: CancellationToken,
    instance: String,
    shutdown_timeout: std::time::Duration,
    sandbox: Arc<crate::sandbox::Sandbox>,
}

impl Application {
    /// Checks the environment, starts the shared parts and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let instance = uuid::Uuid::new_v4().simple().to_string();
        let cancel = CancellationToken::new();
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("cannot create data dir {}", settings.data_dir.display()))?;
        let layouts = settings.layouts();
        let sandbox = settings.sandbox()?;
        let assets = AssetServer::start(&layouts, cancel.child_token()).await?;
        let previewer = Arc::new(Previewer::new(
            layouts.clone(),
            settings.chromium.clone(),
            sandbox.clone(),
            assets.url.clone(),
            instance.clone(),
        ));
        let recorder = Arc::new(Recorder::start(settings.recorder_config(&assets, sandbox.clone()), &instance).await?);
        let store = Arc::new(SqliteStore::open(&settings.data_dir.join("wallflower.db"))?);
        let webhooks = Webhooks::new(settings.webhooks.clone(), cancel.child_token())?;
        anyhow::ensure!(
            webhooks.enabled() || settings.webhooks.default_url.is_none(),
            "a webhook URL is configured but no --webhook-secret: webhooks are always signed"
        );
        let config = ManagerConfig {
            recordings_dir: settings.data_dir.join("recordings"),
            max_concurrent: settings.max_concurrent,
            layouts,
            storage: settings.storage.clone(),
            webhooks: webhooks.clone(),
            disk: settings.disk,
            url_policy: settings.url_policy.clone(),
            metrics: crate::metrics::Metrics::default(),
        };
        let jobs = JobManager::new(store, recorder.clone(), config, cancel.child_token())?;
        let tokens = Tokens::new(settings.api_tokens.clone()).map_err(|e| anyhow::anyhow!(e))?;
        if !tokens.required() {
            tracing::warn!("no API tokens configured: the API is open to anyone who can reach {}", settings.listen);
        }
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let shutdown_timeout = settings.shutdown_timeout;
        Ok(Self { listener, jobs, previewer, recorder, webhooks, tokens, cancel, instance, shutdown_timeout, sandbox })
    }

    /// The address the API listens on (the real port when configured with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Value of `WALLFLOWER_INSTANCE` on every process this service starts.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The browsers' runtime dir (their profiles, the displays' cookies, the audio socket).
    pub fn browser_dir(&self) -> &std::path::Path {
        self.sandbox.path()
    }

    /// Serves until `shutdown` resolves, then stops and finalises every recording, and stops
    /// everything the service started.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        self.run_until(shutdown, std::future::pending()).await
    }

    /// Serves until `shutdown` resolves. Then new recordings get 503 `shutting_down` while the
    /// running ones are stopped and delivered, for at most the shutdown timeout or until `hurry`
    /// resolves (a second signal). A hurried exit leaves what is not yet delivered in the store
    /// as it is; the next start finishes it (see `jobs::recover`).
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
        hurry: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let jobs = self.jobs.clone();
        let router = api::router(AppState { jobs: self.jobs.clone(), previewer: self.previewer.clone(), tokens: self.tokens.clone() });
        tracing::info!(addr = %self.local_addr(), "serving");
        let hurried = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let drain = drain(jobs, shutdown, hurry, self.shutdown_timeout, hurried.clone());
        let served = axum::serve(self.listener, router).with_graceful_shutdown(drain).await;
        if !hurried.load(std::sync::atomic::Ordering::SeqCst) {
            self.jobs.shutdown().await;
            // The recordings' last events (completed, failed) still go out, within a deadline.
            self.webhooks.shutdown(WEBHOOK_DRAIN).await;
        }
        self.recorder.shutdown().await;
        self.cancel.cancel();
        served.context("HTTP server failed")
    }
}

/// Waits for `shutdown`, then for the recordings to be delivered, `deadline` or `hurry`,
/// whichever comes first (`hurried` says which).
async fn drain(
    jobs: JobManager,
    shutdown: impl Future<Output = ()>,
    hurry: impl Future<Output = ()>,
    deadline: std::time::Duration,
    hurried: Arc<std::sync::atomic::AtomicBool>,
) {
    shutdown.await;
    tracing::info!(running = jobs.running(), ?deadline, "shutting down: stopping and delivering recordings (a second signal exits at once)");
    let left = tokio::select! {
        _ = jobs.shutdown() => return,
        _ = tokio::time::sleep(deadline) => "the shutdown deadline passed",
        _ = hurry => "a second signal came",
    };
    hurried.store(true, std::sync::atomic::Ordering::SeqCst);
    tracing::warn!("{left}: exiting now; recordings not yet delivered are finished when the service starts again");
}
