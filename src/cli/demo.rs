//! `wallflower demo`: the whole product in one command. A real Janus and three synthetic
//! participants (Alice, Bob, Carol) in a private network namespace, the service, and a recording
//! asked for over REST with branding: ~20 s in the grid layout, switched live to the speaker
//! layout after a third, with Carol leaving midway. Prints where the file is.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::app::Application;
use crate::config::{CommonArgs, ServeArgs, Settings};
use crate::harness::janus::{ROOM, URL};
use crate::harness::{CallHarness, ParticipantSpec};

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Seconds to record.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    #[command(flatten)]
    common: CommonArgs,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let mut serve = ServeArgs { listen: Some("127.0.0.1:8080".parse()?), ..ServeArgs::default() };
    serve.common = args.common.clone();
    let settings = Settings::resolve(&serve)?;
    println!("== starting Janus and three participants (Alice, Bob, Carol)");
    let mut call = CallHarness::start(&settings.layouts_dir).await?;
    let people = [("Alice", "0xd02020", 440), ("Bob", "0x2040e0", 660), ("Carol", "0x20b040", 880)];
    for (name, colour, tone) in people {
        call.join(ParticipantSpec::new(name, colour, tone)).await?;
    }
    let app = Application::build(settings).await?;
    let base = format!("http://{}", app.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let service = tokio::spawn(app.run(async move {
        let _ = rx.await;
    }));
    let result = record(&base, &mut call, args.seconds).await;
    let _ = tx.send(());
    service.await??;
    call.stop().await;
    let file = result?;
    println!("recording: {file}");
    Ok(())
}

/// Asks for the recording, lets Carol leave halfway, stops, and returns the file's path.
async fn record(base: &str, call: &mut CallHarness, seconds: u64) -> anyhow::Result<String> {
    let client = reqwest::Client::new();
    let body = json!({"source": {"type": "janus", "server": URL, "room": ROOM},
                      "output": {"width": 1280, "height": 720, "fps": 30},
                      "layout": "grid",
                      "branding": {"title": "Wallflower demo", "subtitle": format!("Janus room {ROOM}"),
                                   "colors": {"primary": "#5ee08f"}, "watermark": "DEMO"}});
    println!("== POST {base}/v1/recordings {body}");
    let rec: Value = client.post(format!("{base}/v1/recordings")).json(&body).send().await?.json().await?;
    let id = rec["id"].as_str().with_context(|| format!("no recording: {rec}"))?.to_owned();
    let url = format!("{base}/v1/recordings/{id}");
    let started = Instant::now();
    let (mut carol_left, mut switched) = (false, false);
    while started.elapsed() < Duration::from_secs(seconds) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rec: Value = client.get(&url).send().await?.json().await?;
        report(&rec);
        if rec["state"] == "failed" {
            bail!("recording failed: {}", rec["error"]);
        }
        if !switched && started.elapsed() > Duration::from_secs(seconds / 3) {
            let change = json!({"layout": "speaker", "branding": {"subtitle": "live layout switch"}});
            println!("== PATCH {url} {change}");
            let answer = client.patch(&url).json(&change).send().await?;
            if !answer.status().is_success() {
                bail!("layout switch refused: {}", answer.text().await?);
            }
            switched = true;
        }
        if !carol_left && started.elapsed() > Duration::from_secs(seconds / 2) {
            println!("== Carol leaves");
            call.leave("Carol").await;
            carol_left = true;
        }
    }
    println!("== POST {url}/stop");
    client.post(format!("{url}/stop")).send().await?;
    loop {
        let rec: Value = client.get(&url).send().await?.json().await?;
        match rec["state"].as_str() {
            Some("completed") => {
                let file = &rec["files"][0];
                println!("== completed: {} s, {}x{}, {} bytes", file["duration_s"], file["width"], file["height"], file["bytes"]);
                return Ok(file["path"].as_str().unwrap_or_default().to_owned());
            }
            Some("failed") => bail!("recording failed: {}", rec["error"]),
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

fn report(rec: &Value) {
    let names: Vec<&str> = rec["participants"].as_array().map(|p| p.iter().filter_map(|p| p["display"].as_str()).collect()).unwrap_or_default();
    println!(
        "   {:<10} {:>5.1} s {:>5.1} fps  participants: {}",
        rec["state"].as_str().unwrap_or("?"),
        rec["progress"]["duration_s"].as_f64().unwrap_or(0.0),
        rec["progress"]["fps"].as_f64().unwrap_or(0.0),
        if names.is_empty() { "(waiting)".to_owned() } else { names.join(", ") }
    );
}
