//! The warm pool: a service with `warm_pool = 1` starts a display and browser before anyone asks;
//! a recording of the pool's size records in them (they end with it), the pool starts a new set,
//! a recording of another size starts cold and leaves the pool alone, and the service's exit
//! leaves nothing behind. One at a time (nextest group `e2e`).

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

const START: Duration = Duration::from_secs(30);

/// The X servers of `app`'s instance once exactly `n` run and `/healthz` says `ready` warm
/// browsers wait.
async fn wait_for_pool(app: &TestApp, n: usize, ready: u64) -> Vec<i32> {
    let deadline = tokio::time::Instant::now() + START;
    loop {
        let (_, health) = app.get("/healthz").await;
        let displays: Vec<i32> = processes_of(&app.instance).into_iter().filter(|(_, name)| name == "Xorg" || name == "Xvfb").map(|(pid, _)| pid).collect();
        if health["warm_browsers"].as_u64() == Some(ready) && displays.len() == n {
            return displays;
        }
        assert!(tokio::time::Instant::now() < deadline, "no {ready} warm browsers and {n} displays: {health}, {displays:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn alive(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_of_the_pools_size_takes_the_warm_browser_and_the_pool_refills() {
    let app = spawn_app_with(|args| {
        args.warm_pool = Some(1);
        args.warm_pool_size = Some("640x360".into());
    })
    .await;
    let first = wait_for_pool(&app, 1, 1).await;
    let browser = process_named(&app.instance, "chromium");

    let id = app.start(json!({"source": {"type": "test"}, "output": {"width": 640, "height": 360}})).await;
    app.wait_for(&id, &["recording"], START).await;
    let (_, health) = app.get("/healthz").await;
    assert_eq!(health["warm_browsers"], 0, "the set was taken: {health}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    app.post(&format!("/v1/recordings/{id}/stop"), json!({})).await;
    let done = app.wait_for(&id, &["completed", "failed"], START).await;
    assert_eq!(done["state"], "completed", "{done}");
    let probe = ffprobe(&file_of(&done));
    let video = stream(&probe, "video");
    assert_eq!((video["width"].as_u64(), video["height"].as_u64()), (Some(640), Some(360)));
    assert!(frame_rgb(&file_of(&done), 1.5).iter().sum::<f64>() > 30.0, "black picture");
    // The recording ran in the warm set: its display and browser ended with it.
    let refilled = wait_for_pool(&app, 1, 1).await;
    assert!(!alive(first[0]) && !alive(browser), "the warm set outlived the recording that took it");
    assert_ne!(refilled, first);

    // Another size starts cold and leaves the pool's set waiting.
    let id = app.start(json!({"source": {"type": "test"}, "output": {"width": 320, "height": 240}})).await;
    app.wait_for(&id, &["recording"], START).await;
    let (_, health) = app.get("/healthz").await;
    assert_eq!(health["warm_browsers"], 1, "{health}");
    app.post(&format!("/v1/recordings/{id}/stop"), json!({})).await;
    let done = app.wait_for(&id, &["completed", "failed"], START).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert!(alive(refilled[0]), "the warm display ended with a recording that did not take it");

    let instance = app.instance.clone();
    app.stop().await;
    assert_no_leftovers(&instance).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_warm_pool_setting_names_itself() {
    for (sets, size, word) in [(Some(9), None, "warm_pool must"), (Some(1), Some("1281x720"), "warm_pool_size")] {
        let args = wallflower::config::ServeArgs { warm_pool: sets, warm_pool_size: size.map(String::from), ..Default::default() };
        match wallflower::config::Settings::resolve(&args) {
            Ok(_) => panic!("{sets:?} {size:?} accepted"),
            Err(error) => assert!(error.to_string().contains(word), "{error}"),
        }
    }
}
