//! What the benchmark binaries share: sampling the CPU and memory of a service instance's
//! processes ([`sample_cpu`]), and the classic silent-participant recipe to compare against
//! ([`baseline`]), the chart of CPU over time ([`chart`]), quality at equal bitrate
//! ([`quality`]), and how many recordings a machine holds ([`density`]).

pub mod baseline;
pub mod chart;
pub mod density;
pub mod quality;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::app::Application;
use crate::config::{ServeArgs, Settings};
use crate::measure::cpu::{self, CpuReport, ProcSample, Sample};
use crate::recorder::process::{feed_thread_ticks, instance_processes};

/// A service running in this process for a benchmark, on a loopback port of its own.
pub struct BenchService {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The marker of its processes (for [`sample_cpu`]).
    pub instance: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl BenchService {
    /// Starts the service `serve` describes, listening on a free loopback port.
    pub async fn start(mut serve: ServeArgs) -> anyhow::Result<Self> {
        serve.listen = Some(([127, 0, 0, 1], 0).into());
        let app = Application::build(Settings::resolve(&serve)?).await?;
        let (base, instance) = (format!("http://{}", app.local_addr()), app.instance().to_owned());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run(async move {
            let _ = stopped.await;
        }));
        Ok(Self { base, instance, stop, task })
    }

    /// Shuts it down as SIGTERM would and waits until it has.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await?
    }
}

/// Every process of `instance` now: CPU ticks, and PSS when `pss` (0 otherwise). For the
/// service's instance its recordings' feed threads (grabbing the picture, timing the sound)
/// count too: the service runs in this process. They show as `wallflower` (pid 0 in the sample).
fn sample(instance: &str, feeds: bool, pss: bool, at_s: f64) -> Sample {
    let mut procs: HashMap<i32, ProcSample> = instance_processes(instance)
        .into_iter()
        .map(|p| (p.pid, ProcSample { name: cpu::program(&p.name), ticks: p.cpu_ticks, pss_kib: if pss { cpu::pss_kib(p.pid) } else { 0 } }))
        .collect();
    if feeds {
        procs.insert(0, ProcSample { name: "wallflower".into(), ticks: feed_thread_ticks(), pss_kib: 0 });
    }
    Sample { at_s, procs }
}

/// CPU of `instance`'s processes, sampled twice a second over `window`, and their memory every
/// `PSS_EVERY` samples.
pub async fn sample_cpu(instance: &str, window: Duration) -> CpuReport {
    sample_over(instance, false, window).await
}

/// [`sample_cpu`] of the service's recordings: their processes and its feed threads.
pub async fn sample_service_cpu(instance: &str, window: Duration) -> CpuReport {
    sample_over(instance, true, window).await
}

/// Reading a Chromium's `smaps_rollup` walks all its mappings: PSS read twice a second took the
/// benchmark ~0.065 cores, on the same cores as the recordings it measures. Memory changes slowly,
/// so it is read every 5 s (and at the window's end).
const PSS_EVERY: usize = 10;

async fn sample_over(instance: &str, feeds: bool, window: Duration) -> CpuReport {
    let start = Instant::now();
    let mut samples = vec![sample(instance, feeds, true, 0.0)];
    while start.elapsed() < window {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let last = start.elapsed() >= window;
        samples.push(sample(instance, feeds, last || samples.len() % PSS_EVERY == 0, start.elapsed().as_secs_f64()));
    }
    cpu::account(&samples, cpu::clock_ticks())
}

/// Polls the recording at `url` until its state is one of `states` (60 s at most).
pub async fn wait_state(client: &reqwest::Client, url: &str, states: &[&str]) -> anyhow::Result<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let rec: serde_json::Value = client.get(url).send().await?.json().await?;
        if states.iter().any(|s| rec["state"] == *s) {
            return Ok(rec);
        }
        // A recording that ended otherwise will not get there: say why at once.
        anyhow::ensure!(
            !matches!(rec["state"].as_str(), Some("failed" | "completed")),
            "recording {}: {} ({})",
            rec["state"],
            rec["error"]["message"].as_str().or(rec["end_reason"].as_str()).unwrap_or("no reason given"),
            rec["error"]["code"].as_str().unwrap_or("-")
        );
        anyhow::ensure!(Instant::now() < deadline, "stuck in {}", rec["state"]);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
