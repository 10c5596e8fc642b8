//! The benchmark's CPU chart: cores over time of each measured group (every recording run, the
//! classic recipe, the participants) as an SVG line chart, turned into a PNG by headless
//! Chromium, which the benchmark has anyway and which draws the labels with real fonts.

use std::fmt::Write;
use std::path::Path;

use anyhow::Context;
use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
use chromiumoxide::page::ScreenshotParams;

use crate::config::Settings;
use crate::measure::cpu::CpuPoint;
use crate::recorder::browser::{Browser, LaunchOptions};
use crate::recorder::tools::Tools;

/// Chart size in pixels.
pub const WIDTH: u32 = 960;
pub const HEIGHT: u32 = 480;
/// Plot area margins: left (axis labels), right, top (title), bottom (axis labels).
const MARGIN: (f64, f64, f64, f64) = (60.0, 180.0, 40.0, 40.0);
const COLOURS: [&str; 8] = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

/// One line of the chart.
pub struct Line<'a> {
    pub label: String,
    pub points: &'a [CpuPoint],
}

/// Axis ranges: seconds and cores, rounded up to whole units (at least 1 core).
fn ranges(lines: &[Line<'_>]) -> (f64, f64) {
    let max = |f: fn(&CpuPoint) -> f64| lines.iter().flat_map(|l| l.points.iter().map(f)).fold(0.0, f64::max);
    (max(|p| p.t_s).ceil().max(1.0), max(|p| p.cores).ceil().max(1.0))
}

/// The chart as an SVG document: one polyline per line, grid lines at quarter cores and at most
/// 12 times, a legend on the right.
pub fn svg(title: &str, lines: &[Line<'_>]) -> String {
    let (t_max, c_max) = ranges(lines);
    let (left, right, top, bottom) = MARGIN;
    let (w, h) = (f64::from(WIDTH) - left - right, f64::from(HEIGHT) - top - bottom);
    let x = |t: f64| left + t / t_max * w;
    let y = |c: f64| top + h - c / c_max * h;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" font-family=\"sans-serif\" font-size=\"13\">\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\
         <text x=\"{left}\" y=\"24\" font-size=\"16\">{}</text>",
        escape(title)
    );
    for step in 0..=(c_max * 4.0) as u32 {
        let c = f64::from(step) / 4.0;
        let (yy, stroke) = (y(c), if step % 4 == 0 { "#999" } else { "#e4e4e4" });
        let _ = write!(s, "<line x1=\"{left}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"{stroke}\"/>", left + w);
        let _ = write!(s, "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{c:.2}</text>", left - 6.0, yy + 4.0);
    }
    for t in (0..=t_max as u32).step_by(time_step(t_max)) {
        let xx = x(f64::from(t));
        let _ = write!(s, "<line x1=\"{xx:.1}\" x2=\"{xx:.1}\" y1=\"{top}\" y2=\"{}\" stroke=\"#e4e4e4\"/>", top + h);
        let _ = write!(s, "<text x=\"{xx:.1}\" y=\"{}\" text-anchor=\"middle\">{t} s</text>", top + h + 18.0);
    }
    let _ = write!(s, "<text x=\"14\" y=\"{:.1}\" transform=\"rotate(-90 14 {:.1})\" text-anchor=\"middle\">cores</text>", top + h / 2.0, top + h / 2.0);
    for (i, line) in lines.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points: Vec<String> = line.points.iter().map(|p| format!("{:.1},{:.1}", x(p.t_s), y(p.cores))).collect();
        let _ = write!(s, "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>", points.join(" "));
        let ly = top + 10.0 + 20.0 * i as f64;
        let lx = left + w + 14.0;
        let _ = write!(s, "<line x1=\"{lx}\" x2=\"{}\" y1=\"{ly}\" y2=\"{ly}\" stroke=\"{colour}\" stroke-width=\"3\"/>", lx + 18.0);
        let _ = write!(s, "<text x=\"{}\" y=\"{}\">{}</text>", lx + 24.0, ly + 4.0, escape(&line.label));
    }
    s.push_str("</svg>");
    s
}

/// Seconds between time grid lines: the first of 5, 10, 15, 30 s, 1, 2, 5, 10 min … that draws
/// at most 12 of them.
fn time_step(t_max: f64) -> usize {
    const STEPS: [usize; 8] = [5, 10, 15, 30, 60, 120, 300, 600];
    STEPS.into_iter().find(|step| t_max / *step as f64 <= 12.0).unwrap_or_else(|| (t_max / 12.0).ceil() as usize)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Writes `svg` to `png` as an image, drawn by headless Chromium (the service's own, sandboxed
/// as the service runs it).
pub async fn render_png(settings: &Settings, svg: &str, png: &Path) -> anyhow::Result<()> {
    let sandbox = settings.sandbox()?;
    let profile = sandbox.scratch("chart-")?;
    let instance = uuid::Uuid::new_v4().simple().to_string();
    let chromium = Tools::locate(&settings.chromium, settings.display_server)?.chromium;
    let launch = LaunchOptions {
        program: &chromium,
        screen: None,
        profile_dir: profile.path(),
        width: WIDTH,
        height: HEIGHT,
        no_sandbox: sandbox.no_sandbox,
        run_as: sandbox.run_as.as_ref(),
        instance: &instance,
        extra_args: Vec::new(),
    };
    let browser = Browser::launch(launch).await?;
    let shot = async {
        let html = format!("<!doctype html><html><body style=\"margin:0\">{svg}</body></html>");
        browser.page.set_content(html).await.context("cannot show the chart")?;
        let params = ScreenshotParams::builder().format(CaptureScreenshotFormat::Png).build();
        browser.page.screenshot(params).await.context("cannot take the chart's picture")
    }
    .await;
    browser.close().await;
    std::fs::write(png, shot?).with_context(|| format!("cannot write {}", png.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(points: &[(f64, f64)]) -> Vec<CpuPoint> {
        points.iter().map(|&(t_s, cores)| CpuPoint { t_s, cores }).collect()
    }

    #[test]
    fn each_line_is_a_polyline_scaled_into_the_plot_with_its_legend() {
        let (a, b) = (at(&[(0.0, 0.0), (10.0, 1.5)]), at(&[(0.0, 0.25), (5.0, 0.5)]));
        let doc = svg("1280x720 <test>", &[Line { label: "run 1".into(), points: &a }, Line { label: "baseline".into(), points: &b }]);
        assert_eq!(doc.matches("<polyline").count(), 2);
        // 10 s and 2 cores fill the plot: (0, 0) is its bottom left, (10, 1.5) three quarters up its right edge.
        let (left, right, top, bottom) = MARGIN;
        let (w, h) = (f64::from(WIDTH) - left - right, f64::from(HEIGHT) - top - bottom);
        let expected = format!("points=\"{:.1},{:.1} {:.1},{:.1}\"", left, top + h, left + w, top + h / 4.0);
        assert!(doc.contains(&expected), "{expected} not in {doc}");
        assert!(doc.contains(">run 1</text>") && doc.contains(">baseline</text>"));
        assert!(doc.contains("1280x720 &lt;test&gt;"), "the title is escaped");
        assert!(doc.contains(">2.00</text>") && !doc.contains(">2.25</text>"), "the axis ends at 2 cores");
    }

    #[test]
    fn long_windows_get_fewer_time_lines() {
        assert_eq!((time_step(10.0), time_step(60.0), time_step(61.0), time_step(600.0), time_step(7200.0)), (5, 5, 10, 60, 600));
        let long = at(&[(0.0, 1.0), (600.0, 1.0)]);
        let doc = svg("10 min", &[Line { label: "run".into(), points: &long }]);
        assert_eq!(doc.matches(" s</text>").count(), 11, "0, 60, … 600 s");
    }

    #[test]
    fn an_empty_chart_still_has_axes() {
        let doc = svg("nothing", &[]);
        assert!(doc.contains(">1.00</text>") && doc.contains(">0 s</text>") && !doc.contains("<polyline"));
    }
}
