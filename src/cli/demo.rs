//! `wallflower demo`: the whole product in one command. A real Janus and three synthetic
//! participants (Alice, Bob, Carol) in a private network namespace, the service, and a recording
//! asked for over REST with branding: ~20 s in the grid layout; Alice chats and Bob reacts over
//! their data channels, the layout switches live to `speaker`, a moderator posts a chat message
//! through the API, Carol leaves. Prints where the file and its timeline are.

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

/// What happens during the demo, at which share of its length.
#[derive(Clone, Copy, Debug)]
enum Step {
    AliceChats,
    BobReacts,
    SwitchLayout,
    ModeratorChats,
    CarolLeaves,
}

const SCRIPT: [(f64, Step); 5] = [
    (0.2, Step::AliceChats),
    (0.3, Step::BobReacts),
    (0.4, Step::SwitchLayout),
    (0.5, Step::ModeratorChats),
    (0.6, Step::CarolLeaves),
];

/// Asks for the recording, plays the script, stops, and returns the file's path.
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
    let mut script = SCRIPT.iter().peekable();
    while started.elapsed() < Duration::from_secs(seconds) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rec: Value = client.get(&url).send().await?.json().await?;
        report(&rec);
        if rec["state"] == "failed" {
            bail!("recording failed: {}", rec["error"]);
        }
        while let Some((_, step)) = script.next_if(|(at, _)| started.elapsed().as_secs_f64() > at * seconds as f64) {
            play(*step, &client, &url, call).await?;
        }
    }
    println!("== POST {url}/stop");
    client.post(format!("{url}/stop")).send().await?;
    finished(&client, &url).await
}

async fn play(step: Step, client: &reqwest::Client, url: &str, call: &mut CallHarness) -> anyhow::Result<()> {
    let say = |who: usize, text: &str| {
        let message = json!({"type": "chat", "text": text}).to_string();
        println!("== {} sends {message} over the data channel", call.participants[who].spec.name);
        message
    };
    match step {
        Step::AliceChats => call.participants[0].send_data(&say(0, "Hi everyone 👋")).await?,
        Step::BobReacts => call.participants[1].send_data(r#"{"type":"reaction","emoji":"🎉"}"#).await?,
        Step::SwitchLayout => send(client, reqwest::Method::PATCH, url, json!({"layout": "speaker", "branding": {"subtitle": "live layout switch"}})).await?,
        Step::ModeratorChats => send(client, reqwest::Method::POST, &format!("{url}/events"), json!({"type": "chat", "from": "Moderator", "text": "Recording with Wallflower"})).await?,
        Step::CarolLeaves => {
            println!("== Carol leaves");
            call.leave("Carol").await;
        }
    }
    Ok(())
}

async fn send(client: &reqwest::Client, method: reqwest::Method, url: &str, body: Value) -> anyhow::Result<()> {
    println!("== {method} {url} {body}");
    let answer = client.request(method, url).json(&body).send().await?;
    if !answer.status().is_success() {
        bail!("refused: {}", answer.text().await?);
    }
    Ok(())
}

/// Waits for the recording to be delivered; prints its files and returns the video's path.
async fn finished(client: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    loop {
        let rec: Value = client.get(url).send().await?.json().await?;
        match rec["state"].as_str() {
            Some("completed") => {
                let file = &rec["files"][0];
                println!("== completed: {} s, {}x{}, {} bytes", file["duration_s"], file["width"], file["height"], file["bytes"]);
                for sidecar in rec["files"].as_array().into_iter().flatten().skip(1) {
                    println!("   {}: {}", sidecar["kind"].as_str().unwrap_or("?"), sidecar["path"].as_str().unwrap_or("?"));
                }
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
