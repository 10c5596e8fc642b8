//! `wallflower-relaunch-bench`: how long a recording misses when a part of its pipeline dies.
//! Starts the service in-process, records the test pattern, and for each part (Chromium, ffmpeg,
//! the X server, PulseAudio) makes one recording in which it kills that part `--kills` times, a few
//! seconds apart, reading each relaunch's gap from the `pipeline_restart` incident; then stops
//! and compares the delivered file with the wall time less the gaps. Prints per part min /
//! median / max gap and the file check.

use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::Parser;
use serde_json::{Value, json};
use wallflower::app::Application;
use wallflower::config::{ServeArgs, Settings};
use wallflower::recorder::process::instance_processes;

#[derive(Parser)]
#[command(about = "Measures the gap a relaunch of each pipeline part leaves in a recording")]
struct Args {
    /// Kills of each part in the one recording.
    #[arg(long, default_value_t = 3)]
    kills: usize,
    /// Frame size.
    #[arg(long, default_value = "1280x720")]
    size: String,
    /// Seconds of recording between kills.
    #[arg(long, default_value_t = 4)]
    between: u64,
}

const PARTS: [(&str, &str); 4] = [("chromium", "chromium"), ("ffmpeg", "ffmpeg"), ("display", "Xvfb"), ("pulseaudio", "pulseaudio")];

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(bench(args))
}

async fn bench(args: Args) -> anyhow::Result<()> {
    let (w, h) = args.size.split_once('x').context("--size like 1280x720")?;
    let data = tempfile::tempdir()?;
    let mut serve = ServeArgs { listen: Some("127.0.0.1:0".parse()?), ..ServeArgs::default() };
    serve.common.data_dir = Some(data.path().to_path_buf());
    let app = Application::build(Settings::resolve(&serve)?).await?;
    let (base, instance) = (format!("http://{}", app.local_addr()), app.instance().to_owned());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let service = tokio::spawn(app.run(async move {
        let _ = rx.await;
    }));
    let client = reqwest::Client::new();
    let output = json!({"width": w.parse::<u32>()?, "height": h.parse::<u32>()?});
    for (part, program) in PARTS {
        let body = json!({"source": {"type": "test"}, "output": output});
        let rec: Value = client.post(format!("{base}/v1/recordings")).json(&body).send().await?.json().await?;
        let url = format!("{base}/v1/recordings/{}", rec["id"].as_str().context("no id")?);
        kill_and_check(&client, &url, &instance, part, program, &args).await?;
    }
    let _ = tx.send(());
    service.await??;
    Ok(())
}

/// Records until `program` was killed `args.kills` times, then stops; prints the gaps and how
/// the file's length compares with the wall time less the gaps.
async fn kill_and_check(client: &reqwest::Client, url: &str, instance: &str, part: &str, program: &str, args: &Args) -> anyhow::Result<()> {
    let started = wait(client, url, |r| r["state"] == "recording").await?;
    for kills in 1..=args.kills {
        tokio::time::sleep(Duration::from_secs(args.between)).await;
        kill(instance, program)?;
        wait(client, url, |r| restarts(r).len() == kills).await?;
    }
    tokio::time::sleep(Duration::from_secs(args.between)).await;
    client.post(format!("{url}/stop")).send().await?;
    let stopped_at = Utc::now();
    let done = wait(client, url, |r| ["completed", "failed"].contains(&r["state"].as_str().unwrap_or(""))).await?;
    let gaps: Vec<f64> = restarts(&done).iter().filter_map(|i| i["gap_s"].as_f64()).collect();
    let wall = (stopped_at - time(&started, "started_at")?).num_milliseconds() as f64 / 1000.0;
    let (missing, file) = (gaps.iter().sum::<f64>(), done["duration_s"].as_f64().unwrap_or(0.0));
    println!(
        "{part:>10}: gaps {}; {}: wall {wall:.2} s − gaps {missing:.2} s = {:.2} s, the file holds {file:.2} s ({:+.2} s)",
        summary(gaps), done["state"], wall - missing, file - (wall - missing)
    );
    Ok(())
}

/// SIGKILLs the service's process named `program` (for Chromium: the browser itself).
fn kill(instance: &str, program: &str) -> anyhow::Result<()> {
    let me = std::process::id() as i32;
    let target = instance_processes(instance)
        .into_iter()
        .find(|p| p.name == program && (program != "chromium" || p.ppid == me))
        .with_context(|| format!("no {program} runs"))?;
    // SAFETY: SIGKILL to a process this benchmark's own service started.
    unsafe { libc::kill(target.pid, libc::SIGKILL) };
    Ok(())
}

fn restarts(rec: &Value) -> Vec<Value> {
    rec["incidents"].as_array().map_or_else(Vec::new, |i| i.iter().filter(|i| i["kind"] == "pipeline_restart").cloned().collect())
}

fn summary(mut gaps: Vec<f64>) -> String {
    gaps.sort_by(f64::total_cmp);
    match (gaps.first(), gaps.get(gaps.len() / 2), gaps.last()) {
        (Some(min), Some(median), Some(max)) => format!("min {min:.2} s, median {median:.2} s, max {max:.2} s ({} kills)", gaps.len()),
        _ => "none".into(),
    }
}

fn time(rec: &Value, field: &str) -> anyhow::Result<DateTime<Utc>> {
    Ok(rec[field].as_str().with_context(|| format!("no {field}"))?.parse()?)
}

async fn get(client: &reqwest::Client, url: &str) -> anyhow::Result<Value> {
    Ok(client.get(url).send().await?.json().await?)
}

/// Polls `url` until `check` holds (at most 60 s).
async fn wait(client: &reqwest::Client, url: &str, check: impl Fn(&Value) -> bool) -> anyhow::Result<Value> {
    for _ in 0..1200 {
        let rec = get(client, url).await?;
        if check(&rec) {
            return Ok(rec);
        }
        if rec["state"] == "failed" {
            bail!("the recording failed: {}", rec["error"]);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("not reached within 60 s")
}
