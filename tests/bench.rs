//! The benchmark's smoke test: a short `wallflower-bench` run over the real pipeline (test
//! pattern, 640x360) produces a report whose figures are sane — not that targets are met.

use std::process::Command;

use serde_json::Value;

#[test]
fn a_short_bench_run_reports_sane_figures() {
    let dir = tempfile::tempdir().unwrap();
    let (json, chart) = (dir.path().join("bench.json"), dir.path().join("cpu.png"));
    let out = Command::new(env!("CARGO_BIN_EXE_wallflower-bench"))
        .args(["--runs", "1", "--seconds", "4", "--size", "640x360", "--preset", "ultrafast", "--json"])
        .arg(&json)
        .arg("--chart")
        .arg(&chart)
        .env("WALLFLOWER_LOG", "warn")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "bench failed:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("POST→first frame") && text.contains("A/V offset"), "{text}");
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["size"], "640x360");
    let run = &report["runs"][0];
    let num = |v: &Value| v.as_f64().unwrap_or_else(|| panic!("not a number: {v} in {run:#}"));

    let post_to_recording = num(&run["post_to_recording_ms"]);
    assert!((100.0..30_000.0).contains(&post_to_recording), "{run:#}");
    assert!((1.0..20_000.0).contains(&num(&run["stop_to_delivered_ms"])), "{run:#}");
    assert!(num(&run["file_duration_s"]) > 4.0, "{run:#}");

    // CPU of the recording's own processes: something, and no more than the machine has.
    let cpu = &run["cpu"];
    let cores = num(&cpu["mean_cores"]);
    let machine = std::thread::available_parallelism().unwrap().get() as f64;
    assert!(cores > 0.05 && cores <= machine, "{cpu:#}");
    assert!(num(&cpu["p95_cores"]) >= num(&cpu["median_cores"]), "{cpu:#}");
    for program in ["chromium", "ffmpeg", "Xvfb"] {
        assert!(cpu["by_program"][program].as_f64().is_some(), "{program} missing: {cpu:#}");
    }
    assert!(num(&cpu["peak_pss_mib"]) > 50.0, "{cpu:#}");
    assert!(cpu["series"].as_array().unwrap().len() >= 6, "{cpu:#}");

    let fidelity = &run["fidelity"];
    assert!((27.0..33.0).contains(&num(&fidelity["fps"])), "{fidelity:#}");
    assert!(num(&fidelity["distinct_ratio"]) > 0.5, "{fidelity:#}");
    // The test pattern's markers pair up, and sound and picture are not far apart (the
    // ffmpeg pulse input that timed the sound before had it 50–470 ms early).
    let sync = &fidelity["sync"];
    assert!(num(&sync["count"]) >= 3.0, "{fidelity:#}");
    assert!(num(&sync["median_ms"]).abs() < 100.0, "{sync:#}");

    // The chart: a PNG of the chart's size with the run's line drawn in its colour.
    let png = image::open(&chart).unwrap_or_else(|e| panic!("no chart at {}: {e}", chart.display())).to_rgb8();
    assert_eq!(png.dimensions(), (wallflower::bench::chart::WIDTH, wallflower::bench::chart::HEIGHT));
    let line = png.pixels().filter(|p| p.0[2] > 150 && p.0[0] < 80 && p.0[1] < 160).count();
    assert!(line > 200, "{line} pixels of the run's line (#1f77b4) in {}", chart.display());
    assert!(chart.with_extension("svg").exists());
}
