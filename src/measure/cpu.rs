//! CPU and memory accounting of a group of processes over time (a recording's, or the
//! participants'): samples of every process' CPU ticks and PSS, turned into cores used per
//! interval (median, p95, and the series for a chart), cores per program over the whole window,
//! and the peak of the group's summed PSS.
//!
//! A process that exits between two samples loses the ticks it used since the one before (they
//! can no longer be read); one that appears counts from zero, so it should be sampled from its
//! start. Both are rare within a steady recording.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::{median, percentile};

/// One process at one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcSample {
    /// Program name; every `chrom*` process counts as `chromium`.
    pub name: String,
    /// User plus system CPU time, in clock ticks.
    pub ticks: u64,
    /// Proportional set size in KiB (shared pages split among their users), 0 when unreadable.
    pub pss_kib: u64,
}

/// Every process of the group at one moment.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Seconds since the first sample.
    pub at_s: f64,
    pub procs: HashMap<i32, ProcSample>,
}

/// Cores used in one interval, for the chart.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CpuPoint {
    /// Middle of the interval, seconds since the first sample.
    pub t_s: f64,
    pub cores: f64,
}

/// What the group cost over the window.
#[derive(Debug, Clone, Serialize)]
pub struct CpuReport {
    /// CPU seconds over wall seconds of the whole window.
    pub mean_cores: f64,
    /// Median and 95th percentile of the per-interval cores.
    pub median_cores: f64,
    pub p95_cores: f64,
    /// Mean cores per program over the whole window.
    pub by_program: BTreeMap<String, f64>,
    /// The largest summed PSS seen, in MiB.
    pub peak_pss_mib: f64,
    pub series: Vec<CpuPoint>,
}

/// Accounts `samples` (in time order) with `hz` clock ticks per second.
pub fn account(samples: &[Sample], hz: f64) -> CpuReport {
    let mut series = Vec::new();
    let mut by_program: BTreeMap<String, f64> = BTreeMap::new();
    for pair in samples.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let dt = b.at_s - a.at_s;
        if dt <= 0.0 {
            continue;
        }
        let mut cores = 0.0;
        for (pid, p) in &b.procs {
            let before = a.procs.get(pid).filter(|q| q.name == p.name).map_or(0, |q| q.ticks);
            let seconds = p.ticks.saturating_sub(before) as f64 / hz;
            *by_program.entry(p.name.clone()).or_default() += seconds;
            cores += seconds / dt;
        }
        series.push(CpuPoint { t_s: (a.at_s + b.at_s) / 2.0, cores });
    }
    let wall = match (samples.first(), samples.last()) {
        (Some(first), Some(last)) if last.at_s > first.at_s => last.at_s - first.at_s,
        _ => f64::NAN,
    };
    by_program.values_mut().for_each(|s| *s /= wall);
    let per_interval: Vec<f64> = series.iter().map(|p| p.cores).collect();
    let peak_kib = samples.iter().map(|s| s.procs.values().map(|p| p.pss_kib).sum::<u64>()).max().unwrap_or(0);
    CpuReport {
        mean_cores: by_program.values().sum(),
        median_cores: median(&per_interval),
        p95_cores: percentile(&per_interval, 95.0),
        by_program,
        peak_pss_mib: peak_kib as f64 / 1024.0,
        series,
    }
}

/// The name a process is accounted under: Chromium's helpers (`chrome`, `chromium`,
/// `chrome_crashpad`, …) count as one program.
pub fn program(comm: &str) -> String {
    if comm.starts_with("chrom") { "chromium".to_owned() } else { comm.to_owned() }
}

/// PSS of `pid` in KiB from `/proc/PID/smaps_rollup` (0 when it cannot be read).
pub fn pss_kib(pid: i32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Clock ticks per second of this system.
pub fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at_s: f64, procs: &[(i32, &str, u64, u64)]) -> Sample {
        let procs = procs.iter().map(|&(pid, name, ticks, pss_kib)| (pid, ProcSample { name: name.into(), ticks, pss_kib })).collect();
        Sample { at_s, procs }
    }

    #[test]
    fn cores_per_interval_and_program() {
        // ffmpeg burns half a core throughout; chromium a quarter, then a whole core.
        let samples = [
            sample(0.0, &[(1, "ffmpeg", 0, 1000), (2, "chromium", 0, 2000)]),
            sample(1.0, &[(1, "ffmpeg", 50, 1000), (2, "chromium", 25, 2048)]),
            sample(2.0, &[(1, "ffmpeg", 100, 1000), (2, "chromium", 50, 2000)]),
            sample(3.0, &[(1, "ffmpeg", 150, 1000), (2, "chromium", 150, 2000)]),
        ];
        let r = account(&samples, 100.0);
        let cores: Vec<f64> = r.series.iter().map(|p| p.cores).collect();
        assert_eq!(cores, vec![0.75, 0.75, 1.5]);
        assert_eq!(r.series[0].t_s, 0.5);
        assert!((r.mean_cores - 1.0).abs() < 1e-9, "{}", r.mean_cores);
        assert!((r.by_program["ffmpeg"] - 0.5).abs() < 1e-9);
        assert!((r.by_program["chromium"] - 0.5).abs() < 1e-9);
        assert_eq!(r.median_cores, 0.75);
        assert!((r.p95_cores - 1.425).abs() < 1e-9, "{}", r.p95_cores);
        assert_eq!(r.peak_pss_mib, 3048.0 / 1024.0);
    }

    #[test]
    fn new_and_reused_pids_count_from_zero() {
        // pid 3 appears (a relaunched part); pid 1 is reused by another program.
        let samples = [
            sample(0.0, &[(1, "ffmpeg", 500, 0)]),
            sample(2.0, &[(1, "Xvfb", 10, 0), (3, "ffmpeg", 40, 0)]),
        ];
        let r = account(&samples, 100.0);
        assert!((r.series[0].cores - 0.25).abs() < 1e-9, "{:?}", r.series);
        assert!((r.by_program["Xvfb"] - 0.05).abs() < 1e-9);
    }

    #[test]
    fn fewer_than_two_samples_report_nothing() {
        let r = account(&[sample(0.0, &[(1, "ffmpeg", 5, 0)])], 100.0);
        assert!(r.series.is_empty() && r.median_cores.is_nan() && r.mean_cores == 0.0);
    }

    #[test]
    fn reads_this_process_pss_and_names_chromium_helpers() {
        assert!(pss_kib(std::process::id() as i32) > 0);
        assert_eq!(pss_kib(-1), 0);
        assert_eq!(program("chrome_crashpad"), "chromium");
        assert_eq!(program("Xvfb"), "Xvfb");
        assert!(clock_ticks() > 0.0);
    }
}
