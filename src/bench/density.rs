//! Density: how many recordings one machine holds at once while each keeps its picture moving.
//! A step starts `n` test-pattern recordings together on one service, measures all their
//! processes' CPU over a steady window, stops them, and counts the distinct frames of each file
//! after its first 2 s (the test pattern changes every frame, so a repeated frame is one the
//! pipeline could not deliver in time).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Serialize;
use serde_json::{Value, json};

use crate::config::ServeArgs;
use crate::measure::cpu::CpuReport;
use crate::measure::frames;

/// The share of distinct frames each recording must keep.
pub const KEEP_DISTINCT: f64 = 0.95;
/// Frames before this (seconds into a file) are left out: its first ~0.75 s is one picture.
const STEADY_FROM_S: f64 = 2.0;

/// One step of the search.
#[derive(Debug, Serialize)]
pub struct Step {
    pub recordings: usize,
    /// All recordings' processes together, and per recording.
    pub cpu: CpuReport,
    pub cores_each: f64,
    /// Each file's share of distinct frames after its first 2 s, and its frame rate.
    pub distinct: Vec<f64>,
    pub fps: Vec<f64>,
}

impl Step {
    /// Every recording kept [`KEEP_DISTINCT`] of its frames.
    pub fn holds(&self) -> bool {
        self.distinct.iter().all(|d| *d >= KEEP_DISTINCT)
    }
}

/// Runs `n` recordings of `size` at once on a service made from `serve` for `window`.
pub async fn step(mut serve: ServeArgs, n: usize, size: (u32, u32), fps: u32, window: Duration) -> anyhow::Result<Step> {
    let data = tempfile::tempdir()?;
    serve.max_concurrent = Some(n);
    serve.common.data_dir = Some(data.path().to_path_buf());
    let service = super::BenchService::start(serve).await?;
    let measured = measure(&service.base, &service.instance, n, size, fps, window).await;
    service.stop().await?;
    let (cpu, files) = measured?;
    let mut step = Step { recordings: n, cores_each: cpu.mean_cores / n as f64, cpu, distinct: Vec::new(), fps: Vec::new() };
    for file in files {
        let report = tokio::task::spawn_blocking(move || frames::distinct_from("ffmpeg".as_ref(), &file, None, STEADY_FROM_S)).await??;
        step.distinct.push(report.distinct_ratio);
        step.fps.push(report.fps);
    }
    Ok(step)
}

/// Starts the recordings, samples them, stops them; returns the CPU and the files.
async fn measure(base: &str, instance: &str, n: usize, size: (u32, u32), fps: u32, window: Duration) -> anyhow::Result<(CpuReport, Vec<PathBuf>)> {
    let client = reqwest::Client::new();
    let body = json!({"source": {"type": "test"}, "output": {"width": size.0, "height": size.1, "fps": fps}});
    let mut urls = Vec::new();
    for _ in 0..n {
        let rec: Value = client.post(format!("{base}/v1/recordings")).json(&body).send().await?.json().await?;
        urls.push(format!("{base}/v1/recordings/{}", rec["id"].as_str().with_context(|| format!("not started: {rec}"))?));
    }
    for url in &urls {
        super::wait_state(&client, url, &["recording"]).await?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cpu = super::sample_cpu(instance, window).await;
    for url in &urls {
        client.post(format!("{url}/stop")).send().await?;
    }
    let mut files = Vec::new();
    for url in &urls {
        let done = super::wait_state(&client, url, &["completed", "failed"]).await?;
        if done["state"] != "completed" {
            bail!("a recording failed: {}", done["error"]);
        }
        files.push(PathBuf::from(done["files"][0]["path"].as_str().context("no file")?));
    }
    Ok((cpu, files))
}
