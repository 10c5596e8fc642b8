//! Chat, reactions and slides in a real call: a participant sends chat and a reaction over its
//! data channel, the API injects a slide (the `auto` layout turns to `presentation`) and a chat
//! message with markup. Each shows in the video within 150 ms of its `t_ms` in `timeline.json`,
//! and `chat.vtt` holds the chat messages as cues. One at a time (nextest group `e2e`).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use wallflower::harness::janus::{ROOM, URL};
use wallflower::harness::{CallHarness, ParticipantSpec};

const START: Duration = Duration::from_secs(30);
const FINISH: Duration = Duration::from_secs(30);
/// How far the moment an event shows in the video may be from its `t_ms`.
const TOLERANCE_MS: f64 = 150.0;

/// Grey frames of `file` between `from_s` and `to_s` with their times (`showinfo` pts).
fn frames(file: &Path, from_s: f64, to_s: f64) -> Vec<(f64, Vec<u8>)> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-copyts", "-ss", &format!("{:.3}", from_s.max(0.0)), "-to", &format!("{to_s:.3}"), "-i"])
        .arg(file)
        .args(["-vf", "format=gray,showinfo", "-f", "rawvideo", "-"])
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&out.stderr);
    let times: Vec<f64> = info.lines().filter_map(|l| l.split("pts_time:").nth(1)?.split_whitespace().next()?.parse().ok()).collect();
    let size = out.stdout.len() / times.len().max(1);
    times.into_iter().zip(out.stdout.chunks_exact(size).map(<[u8]>::to_vec)).collect()
}

/// The first moment after `t_s - 0.4` at which the picture differs from how it looked in the
/// second before: pixels leaving the range they kept while nothing happened.
fn first_change(file: &Path, t_s: f64) -> Option<f64> {
    let all = frames(file, t_s - 1.5, t_s + 1.0);
    let (base, rest): (Vec<_>, Vec<_>) = all.into_iter().partition(|(t, _)| *t < t_s - 0.4);
    assert!(base.len() > 10, "too few frames before {t_s:.2}s");
    let n = base[0].1.len();
    let (mut lo, mut hi) = (vec![255u8; n], vec![0u8; n]);
    for (_, f) in &base {
        for i in 0..n {
            lo[i] = lo[i].min(f[i]);
            hi[i] = hi[i].max(f[i]);
        }
    }
    let changed = |f: &[u8]| (0..n).filter(|&i| f[i].saturating_add(24) < lo[i] || f[i] > hi[i].saturating_add(24)).count();
    rest.into_iter().find(|(_, f)| changed(f) > 60).map(|(t, _)| t)
}

fn events_of<'a>(timeline: &'a Value, kind: &str) -> Vec<&'a Value> {
    timeline["events"].as_array().unwrap().iter().filter(|e| e["type"] == kind).collect()
}

fn check_shown_on_time(file: &Path, what: &str, event: &Value) {
    let t = event["t_ms"].as_f64().unwrap_or_else(|| panic!("{what}: no t_ms in {event}"));
    let seen = first_change(file, t / 1000.0).unwrap_or_else(|| panic!("{what} at {t} ms never shows in the video"));
    let off = seen * 1000.0 - t;
    eprintln!("{what}: t_ms {t:.0}, first visible {:.0} ms ({off:+.0} ms)", seen * 1000.0);
    assert!(off.abs() <= TOLERANCE_MS, "{what}: shows at {:.0} ms, timeline says {t:.0} ms", seen * 1000.0);
}

/// Seconds of media recorded so far.
async fn done_so_far(app: &TestApp, id: &str) -> f64 {
    let (_, live) = app.get(&format!("/v1/recordings/{id}")).await;
    live["progress"]["duration_s"].as_f64().unwrap_or(0.0)
}

/// The cues of a WebVTT file as ffmpeg's WebVTT demuxer reads them: (start s, end s).
fn vtt_cues(file: &Path) -> Vec<(f64, f64)> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-of", "json", "-show_entries", "packet=pts_time,duration_time"])
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe cannot read {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let num = |v: &Value| v.as_str().and_then(|s| s.parse::<f64>().ok()).unwrap();
    doc["packets"].as_array().unwrap().iter().map(|p| {
        let start = num(&p["pts_time"]);
        (start, start + num(&p["duration_time"]))
    }).collect()
}

#[test]
fn chat_reactions_and_slides_show_in_the_video_and_the_timeline() {
    in_namespace(|| async {
        let mut call = CallHarness::start(&layouts_dir()).await.unwrap();
        call.join(ParticipantSpec::new("Alice", "0xd02020", 440).still()).await.unwrap();
        call.join(ParticipantSpec::new("Bob", "0x2040e0", 1200).still()).await.unwrap();
        let app = spawn_app().await;
        let assets = app.data.path().join("assets");
        std::fs::create_dir_all(&assets).unwrap();
        image::RgbImage::from_pixel(320, 180, image::Rgb([255, 0, 255])).save(assets.join("slide-1.png")).unwrap();
        let source = json!({"type": "janus", "server": URL, "room": ROOM});
        let id = app.start(json!({"source": source, "output": {"width": 640, "height": 360}, "layout": "auto"})).await;
        app.wait_for(&id, &["recording"], START).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        call.participants[0].send_data(r#"{"type":"chat","text":"Hello from Alice 👋"}"#).await.unwrap();
        tokio::time::sleep(Duration::from_secs(3)).await;
        call.participants[1].send_data(r#"{"type":"reaction","emoji":"🎉"}"#).await.unwrap();
        tokio::time::sleep(Duration::from_secs(3)).await;
        let events = format!("/v1/recordings/{id}/events");
        let (status, body) = app.post(&events, json!({"type": "slide", "url": "slide-1.png", "index": 1, "title": "Q3"})).await;
        assert_eq!(status, 202, "{body}");
        tokio::time::sleep(Duration::from_secs(3)).await;
        let xss = "<img src=x onerror=alert(1)> & <b>bold</b>";
        let (status, body) = app.post(&events, json!({"type": "chat", "from": "Moderator", "text": xss})).await;
        assert_eq!(status, 202, "{body}");
        tokio::time::sleep(Duration::from_secs(2)).await;
        // A flood of 1,000 reactions: the page coalesces, the recording goes on.
        let flood_at = done_so_far(&app, &id).await;
        call.participants[0].send_data_times(r#"{"type":"reaction","emoji":"🔥"}"#, 1000).await.unwrap();
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (_, live) = app.get(&format!("/v1/recordings/{id}")).await;
        assert_eq!(live["state"], "recording", "{live}");
        let counts = &live["events"];
        assert!(counts["received"].as_u64() >= Some(1000) && counts["dropped"].as_u64() > Some(500), "{counts}");
        app.post(&format!("/v1/recordings/{id}/stop"), json!({})).await;
        let done = app.wait_for(&id, &["completed", "failed"], FINISH).await;
        assert_eq!(done["state"], "completed", "{done}");
        let file = file_of(&done);
        let sidecar = |kind: &str| {
            let f = done["files"].as_array().unwrap().iter().find(|f| f["kind"] == kind);
            std::path::PathBuf::from(f.unwrap_or_else(|| panic!("no {kind} file: {done}"))["path"].as_str().unwrap())
        };
        let timeline: Value = serde_json::from_slice(&std::fs::read(sidecar("timeline")).unwrap()).unwrap();
        let chats = events_of(&timeline, "chat");
        assert_eq!(chats.len(), 2, "{timeline}");
        assert_eq!((chats[0]["from"].as_str(), chats[0]["payload"]["source"].as_str()), (Some("Alice"), Some("data_channel")));
        assert_eq!(chats[1]["payload"]["text"], xss);
        let reactions: Vec<&Value> = events_of(&timeline, "reaction").into_iter().filter(|r| r["payload"]["emoji"] == "🎉").collect();
        let flood = events_of(&timeline, "reaction").len() - reactions.len();
        assert!(flood > 0 && flood < 1000, "{flood} flood reactions in the timeline (forwarding is capped)");
        let frames_after_flood = video_times(&file).into_iter().filter(|t| *t > flood_at).count();
        assert!(frames_after_flood as f64 > 3.0 * 30.0 * 0.8, "the picture kept moving through the flood: {frames_after_flood} frames");
        assert_eq!((reactions.len(), reactions[0]["from"].as_str()), (1, Some("Bob")), "{timeline}");
        let slides = events_of(&timeline, "slide");
        assert_eq!(slides.len(), 1, "{timeline}");
        assert!(!events_of(&timeline, "participant_joined").is_empty() && !events_of(&timeline, "recording_started").is_empty());
        check_shown_on_time(&file, "chat over the data channel", chats[0]);
        check_shown_on_time(&file, "reaction", reactions[0]);
        check_shown_on_time(&file, "slide from the API", slides[0]);
        check_shown_on_time(&file, "chat from the API", chats[1]);
        let after_slide = slides[0]["t_ms"].as_f64().unwrap() / 1000.0 + 0.8;
        assert!(colour_share(&file, after_slide, [255, 0, 255], 40) > 0.2, "the slide fills the presentation layout");
        let cues = vtt_cues(&sidecar("chat"));
        assert_eq!(cues.len(), 2, "one cue per chat message");
        for (cue, chat) in cues.iter().zip(&chats) {
            let t = chat["t_ms"].as_f64().unwrap() / 1000.0;
            assert!((cue.0 - t).abs() < 0.01 && cue.1 > cue.0, "cue {cue:?} for the message at {t}");
        }
        let vtt = std::fs::read_to_string(sidecar("chat")).unwrap();
        assert!(vtt.contains("<v Alice>Hello from Alice 👋") && vtt.contains("&lt;img src=x"), "{vtt}");
        let instance = call.instance.clone();
        app.stop().await;
        call.stop().await;
        assert_no_leftovers(&instance).await;
    });
}
