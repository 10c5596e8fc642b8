//! `wallflower-upload-bench`: how soon a recording is in object storage after its stop. Starts a
//! Garage store on loopback (`scripts/setup --test-servers` builds it) and the service in-process,
//! records the test pattern for `--seconds` to S3 (uploaded while recording) and then to a
//! presigned `PUT` URL (sent after the stop), and prints for each: stop → `completed`, the bytes
//! the store still had to take at the stop, and the upload's CPU apart from the recording's.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use object_store::signer::Signer;
use serde_json::{Value, json};
use wallflower::app::Application;
use wallflower::config::{ServeArgs, Settings};
use wallflower::harness::garage::Garage;

#[derive(Parser)]
#[command(about = "Measures how soon recordings are in object storage after the stop")]
struct Args {
    /// Length of each recording.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Video bitrate of the recordings.
    #[arg(long, default_value_t = 2500)]
    bitrate_kbps: u32,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(bench(args))
}

async fn bench(args: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let instance = format!("bench-{}", uuid::Uuid::new_v4().simple());
    let garage = Garage::start(&dir.path().join("garage"), "bench", &instance).await?;
    let config = dir.path().join("wallflower.toml");
    std::fs::write(&config, garage.profile_toml())?;
    let mut serve = ServeArgs { listen: Some("127.0.0.1:0".parse()?), ..ServeArgs::default() };
    serve.common.config = Some(config);
    serve.common.data_dir = Some(dir.path().join("data"));
    let app = Application::build(Settings::resolve(&serve)?).await?;
    let base = format!("http://{}", app.local_addr());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run(async move {
        let _ = stop_rx.await;
    }));
    let client = reqwest::Client::new();
    let presigned = presign(&garage, "bench/presigned.mp4").await?;
    let destinations = [
        ("local (no upload)", json!({"type": "local"})),
        ("s3 (while recording)", json!({"type": "s3"})),
        ("presigned PUT (after stop)", json!({"type": "http", "url": presigned})),
    ];
    for (name, destination) in destinations {
        let (stop_ms, left, done) = record(&client, &base, &args, destination).await?;
        let bytes = done["files"][0]["bytes"].as_u64().unwrap_or(0);
        let duration = done["duration_s"].as_f64().unwrap_or(0.0);
        let left = match done["destination"]["type"].as_str() {
            Some("local") => String::new(),
            _ => format!("; {:.1} MB still to upload at the stop", left as f64 / 1e6),
        };
        println!("{name}: {duration:.1} s recording, {:.1} MB; stop → completed {stop_ms} ms{left}", bytes as f64 / 1e6);
    }
    let _ = stop_tx.send(());
    server.await??;
    garage.stop().await;
    Ok(())
}

async fn presign(garage: &Garage, key: &str) -> anyhow::Result<String> {
    let s3 = garage.client()?;
    Ok(s3.signed_url(reqwest::Method::PUT, &key.into(), Duration::from_secs(3600)).await?.to_string())
}

/// One recording: stop → completed, bytes not yet uploaded at the stop, and the final resource.
async fn record(client: &reqwest::Client, base: &str, args: &Args, destination: Value) -> anyhow::Result<(u128, u64, Value)> {
    let body = json!({
        "source": {"type": "test"},
        "output": {"video_bitrate_kbps": args.bitrate_kbps},
        "limits": {"max_duration_s": args.seconds + 60},
        "destination": destination,
    });
    let rec: Value = client.post(format!("{base}/v1/recordings")).json(&body).send().await?.json().await?;
    let id = rec["id"].as_str().context("no id")?.to_owned();
    let url = format!("{base}/v1/recordings/{id}");
    wait(client, &url, |r| r["state"] == "recording", Duration::from_secs(30)).await?;
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let before: Value = client.get(&url).send().await?.json().await?;
    let started = Instant::now();
    client.post(format!("{url}/stop")).send().await?;
    let done = wait(client, &url, |r| r["state"] == "completed" || r["state"] == "failed", Duration::from_secs(600)).await?;
    let stop_ms = started.elapsed().as_millis();
    if done["state"] != "completed" {
        bail!("recording failed: {done}");
    }
    let total = done["files"][0]["bytes"].as_u64().unwrap_or(0);
    let uploaded = before["upload"]["bytes_uploaded"].as_u64().unwrap_or(0);
    Ok((stop_ms, total.saturating_sub(uploaded), done))
}

async fn wait(client: &reqwest::Client, url: &str, check: impl Fn(&Value) -> bool, limit: Duration) -> anyhow::Result<Value> {
    let deadline = Instant::now() + limit;
    loop {
        let rec: Value = client.get(url).send().await?.json().await?;
        if check(&rec) {
            return Ok(rec);
        }
        if Instant::now() > deadline {
            bail!("timed out: {rec}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
