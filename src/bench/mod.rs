//! What the benchmark binaries share: sampling the CPU and memory of a service instance's
//! processes ([`sample_cpu`]), and the classic silent-participant recipe to compare against
//! ([`baseline`]), the chart of CPU over time ([`chart`]), quality at equal bitrate
//! ([`quality`]), and how many recordings a machine holds ([`density`]).

pub mod baseline;
pub mod chart;
pub mod density;
pub mod quality;

use std::time::{Duration, Instant};

use crate::measure::cpu::{self, CpuReport, ProcSample, Sample};
use crate::recorder::process::instance_processes;

/// Every process of `instance` now: CPU ticks and PSS.
fn sample(instance: &str, at_s: f64) -> Sample {
    let procs = instance_processes(instance)
        .into_iter()
        .map(|p| (p.pid, ProcSample { name: cpu::program(&p.name), ticks: p.cpu_ticks, pss_kib: cpu::pss_kib(p.pid) }))
        .collect();
    Sample { at_s, procs }
}

/// CPU and memory of `instance`'s processes, sampled twice a second over `window`.
pub async fn sample_cpu(instance: &str, window: Duration) -> CpuReport {
    let start = Instant::now();
    let mut samples = vec![sample(instance, 0.0)];
    while start.elapsed() < window {
        tokio::time::sleep(Duration::from_millis(500)).await;
        samples.push(sample(instance, start.elapsed().as_secs_f64()));
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
        anyhow::ensure!(Instant::now() < deadline, "stuck in {}", rec["state"]);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
