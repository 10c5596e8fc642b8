//! Layouts rendered for real (headless Chromium, simulated participants): every built-in layout
//! at 1, 2, 4, 9 (and 16) participants keeps its tiles and branding inside the frame without
//! overlap and matches its committed reference image; texts are rendered as text; CJK and emoji
//! names get real glyphs; custom layouts replace built-ins and previews are served over HTTP.
//!
//! `WALLFLOWER_UPDATE_REFERENCES=1 cargo nextest run --test layouts` rewrites the reference
//! images (then look at them before committing: a layout change is a reviewed, visible change).

mod common;

use std::path::{Path, PathBuf};

use image::RgbImage;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use wallflower::layouts::preview::{Preview, PreviewRequest, PreviewSession, Previewer};
use wallflower::layouts::settings::Layouts;
use wallflower::layouts::{AssetServer, Branding};
use wallflower::sandbox::Sandbox;

use common::{assert_no_leftovers, layouts_dir, spawn_app_with};

const COUNTS: [u32; 4] = [1, 2, 4, 9];
const REFERENCE_SIZE: (u32, u32) = (640, 360);
const MAGENTA: [u8; 3] = [255, 0, 255];

struct Fixture {
    previewer: Previewer,
    cancel: CancellationToken,
    _work: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let work = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    let mut layouts = Layouts::builtin(&layouts_dir());
    // The operator's assets folder, with a logo: a magenta square.
    layouts.assets_dir = work.path().join("assets");
    std::fs::create_dir_all(&layouts.assets_dir).unwrap();
    RgbImage::from_pixel(64, 64, image::Rgb(MAGENTA)).save(layouts.assets_dir.join("logo.png")).unwrap();
    let assets = AssetServer::start(&layouts, cancel.clone()).await.unwrap();
    let instance = format!("layouts-test-{}", uuid::Uuid::new_v4().simple());
    let chromium = PathBuf::from("/usr/lib/chromium/chromium");
    let sandbox = std::sync::Arc::new(Sandbox::resolve(None, None, &chromium).expect("the browsers' sandbox (run scripts/setup?)"));
    let previewer = Previewer::new(layouts, chromium, sandbox, assets.url, instance);
    Fixture { previewer, cancel, _work: work }
}

impl Fixture {
    async fn finish(&self, session: PreviewSession<'_>) {
        session.close().await;
        assert_no_leftovers(&self.previewer.instance).await;
        self.cancel.cancel();
    }
}

fn request(layout: &str, participants: u32, (width, height): (u32, u32)) -> PreviewRequest {
    PreviewRequest { participants, width, height, ..PreviewRequest::new(layout) }
}

struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Rect {
    fn of(v: &Value) -> Self {
        let n = |k: &str| v[k].as_f64().unwrap_or_else(|| panic!("no {k} in {v}"));
        Self { x: n("x"), y: n("y"), w: n("w"), h: n("h") }
    }

    fn inside(&self, outer: &Rect) -> bool {
        const SLACK: f64 = 0.5;
        self.x >= outer.x - SLACK && self.y >= outer.y - SLACK
            && self.x + self.w <= outer.x + outer.w + SLACK && self.y + self.h <= outer.y + outer.h + SLACK
    }

    fn overlaps(&self, other: &Rect) -> bool {
        const SLACK: f64 = 0.5;
        self.x + self.w > other.x + SLACK && other.x + other.w > self.x + SLACK
            && self.y + self.h > other.y + SLACK && other.y + other.h > self.y + SLACK
    }
}

/// Tiles and branding inside the viewport, no two tiles overlapping, name labels inside tiles.
fn check_boxes(what: &str, boxes: &Value, participants: usize) {
    let view = Rect { x: 0.0, y: 0.0, w: boxes["width"].as_f64().unwrap(), h: boxes["height"].as_f64().unwrap() };
    let tiles = boxes["tiles"].as_array().unwrap_or_else(|| panic!("{what}: no tiles in {boxes}"));
    assert!(tiles.len() >= participants.min(1), "{what}: {} tiles for {participants} participants", tiles.len());
    let rects: Vec<Rect> = tiles.iter().map(Rect::of).collect();
    for (tile, rect) in tiles.iter().zip(&rects) {
        assert!(rect.w >= 8.0 && rect.h >= 8.0, "{what}: tile too small {tile}");
        assert!(rect.inside(&view), "{what}: tile outside the frame {tile}");
        if let Some(label) = tile.get("label").filter(|l| l.is_object()) {
            assert!(Rect::of(label).inside(rect), "{what}: name label outside its tile {tile}");
        }
    }
    for (i, a) in rects.iter().enumerate() {
        for (j, b) in rects.iter().enumerate().skip(i + 1) {
            assert!(!a.overlaps(b), "{what}: tiles overlap: {} and {}", tiles[i], tiles[j]);
        }
    }
    for brand in boxes["brand"].as_array().into_iter().flatten() {
        let rect = Rect::of(brand);
        assert!(rect.inside(&view), "{what}: branding outside the frame {brand}");
        if brand["kind"] != "watermark" {
            for (tile, t) in tiles.iter().zip(&rects) {
                assert!(!rect.overlaps(t), "{what}: {brand} covers tile {tile}");
            }
        }
    }
}

fn decode(png: &[u8]) -> RgbImage {
    image::load_from_memory(png).expect("a PNG").to_rgb8()
}

/// Mean absolute difference per channel (0-255) and the share of pixels off by more than 40.
fn difference(a: &RgbImage, b: &RgbImage) -> (f64, f64) {
    assert_eq!(a.dimensions(), b.dimensions());
    let (mut sum, mut off) = (0u64, 0u64);
    for (p, q) in a.pixels().zip(b.pixels()) {
        let d: Vec<u8> = (0..3).map(|c| p[c].abs_diff(q[c])).collect();
        sum += d.iter().map(|&x| u64::from(x)).sum::<u64>();
        off += u64::from(d.iter().any(|&x| x > 40));
    }
    let px = f64::from(a.width() * a.height());
    (sum as f64 / px / 3.0, off as f64 / px)
}

fn reference_path(layout: &str, n: u32) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/reference/layouts/{layout}-{n}.png"))
}

/// Compares with the committed image; returns a complaint instead of panicking so that every
/// mismatch is reported at once.
fn compare_with_reference(layout: &str, n: u32, shot: &Preview, out: &Path) -> Option<String> {
    let path = reference_path(layout, n);
    if std::env::var_os("WALLFLOWER_UPDATE_REFERENCES").is_some() {
        std::fs::write(&path, &shot.png).unwrap();
        return None;
    }
    let actual_path = out.join(format!("{layout}-{n}.png"));
    std::fs::write(&actual_path, &shot.png).unwrap();
    let Ok(reference) = std::fs::read(&path) else {
        return Some(format!("{layout}-{n}: no reference image {} (see this file's header)", path.display()));
    };
    let (mean, off) = difference(&decode(&reference), &decode(&shot.png));
    (mean > 2.0 || off > 0.01).then(|| {
        format!("{layout}-{n}: differs from {} (mean diff {mean:.2}, {:.2}% pixels off); got {}", path.display(), off * 100.0, actual_path.display())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_in_layouts_fit_the_frame_and_match_their_reference_images() {
    let f = fixture().await;
    let session = f.previewer.session(REFERENCE_SIZE.0, REFERENCE_SIZE.1).await.unwrap();
    let out = tempfile::Builder::new().prefix("wf-previews-").tempdir().unwrap().keep();
    let builtin: Vec<String> = f.previewer.layouts.catalog.list().into_iter().map(|l| l.name).collect();
    assert_eq!(builtin, ["grid", "presentation", "single", "speaker"]);
    let mut complaints = Vec::new();
    for layout in &builtin {
        for n in COUNTS {
            let shot = session.render(&request(layout, n, REFERENCE_SIZE)).await.unwrap();
            check_boxes(&format!("{layout} with {n}"), &shot.boxes, n as usize);
            complaints.extend(compare_with_reference(layout, n, &shot, &out));
        }
        let sixteen = session.render(&request(layout, 16, (1280, 720))).await.unwrap();
        check_boxes(&format!("{layout} with 16 at 1280x720"), &sixteen.boxes, 16);
    }
    f.finish(session).await;
    assert!(complaints.is_empty(), "{}", complaints.join("\n"));
    let _ = std::fs::remove_dir_all(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn branding_fits_and_every_text_is_rendered_as_text() {
    let f = fixture().await;
    let session = f.previewer.session(1280, 720).await.unwrap();
    let evil_title = "<script>window.__pwned = 1</script>Board meeting";
    let evil_name = "<img src=x onerror=\"window.__pwned = 2\">Mallory";
    let branding: Branding = serde_json::from_value(json!({
        "title": evil_title, "subtitle": "Acme & <b>Co</b>", "watermark": "<i>DRAFT</i>",
        "colors": {"background": "#101820", "primary": "#f2aa4c", "text": "#ffffff"},
    }))
    .unwrap();
    for layout in ["grid", "speaker", "presentation", "single"] {
        let mut req = request(layout, 4, (1280, 720));
        req.branding = branding.clone();
        req.names = Some(vec![evil_name.into(), "Bob".into(), "Carol".into(), "Dan".into()]);
        let shot = session.render(&req).await.unwrap();
        check_boxes(&format!("{layout} branded"), &shot.boxes, 4);
        let texts: Vec<&str> = shot.boxes["brand"].as_array().unwrap().iter().filter_map(|b| b["text"].as_str()).collect();
        assert!(texts.contains(&evil_title), "{layout}: the title shows as typed: {texts:?}");
        assert!(texts.contains(&"<i>DRAFT</i>"), "{layout}: the watermark shows as typed: {texts:?}");
        let names: Vec<&str> = shot.boxes["tiles"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
        if layout != "single" {
            assert!(names.contains(&evil_name), "{layout}: the name shows as typed: {names:?}");
        }
    }
    f.finish(session).await;
}

/// Tiles are square by default (a rounded video clip costs the compositor CPU every frame);
/// `custom_css` setting `--wf-tile-radius` rounds them: the tile's corner pixel then shows the
/// page background.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tile_corners_are_square_unless_custom_css_rounds_them() {
    let f = fixture().await;
    let session = f.previewer.session(1280, 720).await.unwrap();
    for (css, rounded) in [("", false), (":root { --wf-tile-radius: .9vmin }", true)] {
        let mut req = request("grid", 1, (1280, 720));
        // Black page and black speaking ring (it follows the tile's corners): only the tile's
        // own picture is not black.
        let colors = json!({"background": "#000000", "primary": "#000000"});
        req.branding = serde_json::from_value(json!({"colors": colors, "custom_css": css})).unwrap();
        let shot = session.render(&req).await.unwrap();
        let tile = Rect::of(&shot.boxes["tiles"][0]);
        let corner = *decode(&shot.png).get_pixel(tile.x.ceil() as u32, tile.y.ceil() as u32);
        let background = corner.0.iter().all(|&c| c < 12);
        assert_eq!(background, rounded, "custom_css {css:?}: the tile's corner pixel is {corner:?}");
    }
    f.finish(session).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logo_from_the_assets_folder_shows_in_its_corner() {
    let f = fixture().await;
    let session = f.previewer.session(1280, 720).await.unwrap();
    for (position, left, top) in [("top-left", true, true), ("top-right", false, true), ("bottom-right", false, false)] {
        let mut req = request("grid", 2, (1280, 720));
        req.branding = serde_json::from_value(json!({"logo_url": "logo.png", "logo_position": position})).unwrap();
        let shot = session.render(&req).await.unwrap();
        check_boxes(&format!("logo {position}"), &shot.boxes, 2);
        let logo = shot.boxes["brand"].as_array().unwrap().iter().find(|b| b["kind"] == "logo")
            .unwrap_or_else(|| panic!("{position}: no logo in {}", shot.boxes)).clone();
        let rect = Rect::of(&logo);
        assert_eq!((rect.x + rect.w / 2.0 < 640.0, rect.y + rect.h / 2.0 < 360.0), (left, top), "{position}: {logo}");
        let pixels = crop(&decode(&shot.png), &rect);
        let magenta = pixels.pixels().filter(|p| p[0] > 200 && p[1] < 60 && p[2] > 200).count();
        assert!(magenta as f64 > 0.8 * f64::from(pixels.width() * pixels.height()), "{position}: the logo image is drawn");
    }
    f.finish(session).await;
}

#[tokio::test]
async fn recording_pages_are_served_with_their_declared_hosts_in_the_csp() {
    use wallflower::layouts::csp::Sources;
    let cancel = CancellationToken::new();
    let assets = AssetServer::start(&Layouts::builtin(&layouts_dir()), cancel.clone()).await.unwrap();
    assets.pages.insert("rec_1", Sources::declared(["https://cdn.example.com/l.png"], Some("ws://10.0.0.5:8188")));
    for (path, declared) in [("r/rec_1/sdk/host.html", true), ("r/rec_1/grid/index.html", true), ("sdk/host.html", false), ("r/rec_2/sdk/host.html", false)] {
        let resp = reqwest::get(assets.url.join(path).unwrap()).await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let csp = resp.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("script-src 'self';") && csp.contains("default-src 'self'"), "{path}: {csp}");
        assert_eq!(csp.contains("img-src 'self' data: blob: https://cdn.example.com;"), declared, "{path}: {csp}");
        assert_eq!(csp.contains("connect-src 'self' ws://10.0.0.5:8188;"), declared, "{path}: {csp}");
    }
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_image_the_recording_did_not_declare_is_blocked_by_the_pages_csp() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut png = std::io::Cursor::new(Vec::new());
    RgbImage::from_pixel(64, 64, image::Rgb(MAGENTA)).write_to(&mut png, image::ImageFormat::Png).unwrap();
    let (counter, png) = (hits.clone(), png.into_inner());
    let remote = axum::Router::new().fallback(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        let png = png.clone();
        async move { ([(axum::http::header::CONTENT_TYPE, "image/png")], png) }
    });
    tokio::spawn(async move { axum::serve(listener, remote).await.unwrap() });
    let f = fixture().await;
    let session = f.previewer.session(1280, 720).await.unwrap();
    let mut req = request("grid", 2, (1280, 720));
    req.branding = serde_json::from_value(json!({"logo_url": format!("http://{addr}/logo.png"), "logo_position": "top-left"})).unwrap();
    let shot = session.render(&req).await.unwrap();
    check_boxes("remote logo", &shot.boxes, 2);
    let img = decode(&shot.png);
    let magenta = img.pixels().filter(|p| p[0] > 200 && p[1] < 60 && p[2] > 200).count();
    assert_eq!((hits.load(Ordering::SeqCst), magenta), (0, 0), "the undeclared remote logo was loaded");
    f.finish(session).await;
}

/// Pixels of `rect` (CSS px = image px here) of a screenshot.
fn crop(img: &RgbImage, rect: &Rect) -> RgbImage {
    let (x, y) = (rect.x.max(0.0) as u32, rect.y.max(0.0) as u32);
    let w = (rect.w as u32).min(img.width() - x);
    let h = (rect.h as u32).min(img.height() - y);
    image::imageops::crop_imm(img, x, y, w, h).to_image()
}

/// Share of strongly coloured pixels (colour emoji, not white or grey text).
fn colourful_share(img: &RgbImage) -> f64 {
    let colourful = img.pixels().filter(|p| {
        let (max, min) = (p.0.iter().max().unwrap(), p.0.iter().min().unwrap());
        max - min > 90
    });
    colourful.count() as f64 / f64::from(img.width() * img.height())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cjk_and_emoji_names_render_as_glyphs_not_boxes() {
    let f = fixture().await;
    let session = f.previewer.session(1280, 720).await.unwrap();
    // U+E000/U+E001 are private-use code points no font has: they show as the "missing glyph"
    // box, which is what 山田 would look like without a CJK font.
    let names = ["山田", "\u{E000}\u{E001}", "🎉🎉"];
    let mut req = request("grid", 3, (1280, 720));
    req.names = Some(names.iter().map(|n| n.to_string()).collect());
    req.branding.colors = serde_json::from_value(json!({"text": "#ffffff"})).ok();
    let shot = session.render(&req).await.unwrap();
    let img = decode(&shot.png);
    let tiles = shot.boxes["tiles"].as_array().unwrap();
    let label = |name: &str| {
        let tile = tiles.iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("no tile named {name}: {tiles:?}"));
        crop(&img, &Rect::of(&tile["label"]))
    };
    let (cjk, missing, emoji) = (label(names[0]), label(names[1]), label(names[2]));
    let (w, h) = (cjk.width().min(missing.width()), cjk.height().min(missing.height()));
    let same_size = |i: &RgbImage| image::imageops::crop_imm(i, 0, 0, w, h).to_image();
    let (mean, _) = difference(&same_size(&cjk), &same_size(&missing));
    f.finish(session).await;
    assert!(mean > 6.0, "山田 looks like missing-glyph boxes (mean diff {mean:.1})");
    let share = colourful_share(&emoji);
    assert!(share > 0.05, "🎉 is not drawn in colour ({:.1}% colourful pixels)", share * 100.0);
    assert!(colourful_share(&cjk) < 0.02, "the CJK label is plain text");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_layouts_replace_built_ins_and_previews_are_served() {
    let custom = tempfile::tempdir().unwrap();
    let grid = custom.path().join("grid");
    std::fs::create_dir_all(&grid).unwrap();
    std::fs::write(grid.join("layout.json"), r#"{"name":"grid","description":"All green","params":{}}"#).unwrap();
    std::fs::write(grid.join("index.html"), CUSTOM_GREEN).unwrap();
    let dir = custom.path().to_path_buf();
    let app = spawn_app_with(move |args| args.common.custom_layouts_dir = Some(dir)).await;
    let (status, list) = app.get("/v1/layouts").await;
    assert_eq!(status, 200);
    let grid_entry = list["layouts"].as_array().unwrap().iter().find(|l| l["name"] == "grid").unwrap().clone();
    assert_eq!((grid_entry["origin"].as_str(), grid_entry["description"].as_str()), (Some("custom"), Some("All green")));
    let url = format!("{}/v1/layouts/grid/preview.png?participants=2&width=320&height=180", app.base);
    let response = app.client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    let img = decode(&response.bytes().await.unwrap());
    assert_eq!(img.dimensions(), (320, 180));
    let green = img.pixels().filter(|p| p[1] > 200 && p[0] < 60 && p[2] < 60).count();
    assert!(green as f64 > 0.9 * f64::from(320 * 180), "the custom grid rendered ({green} green pixels)");
    let url = format!("{}/v1/layouts/speaker/preview.png?participants=3&width=640&height=360", app.base);
    let speaker = app.client.get(url).send().await.unwrap();
    assert_eq!(speaker.status(), 200, "built-ins stay available");
    app.stop().await;
}

/// A custom layout written with the SDK: a green page that says ready.
const CUSTOM_GREEN: &str = r#"<!doctype html>
<html><head><meta charset="utf-8">
<style>html,body{margin:0;height:100%;background:#00ff00}</style>
<script src="../sdk/layout.js"></script></head>
<body><script>Wallflower.ready();</script></body></html>
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_reactions_and_slides_render_as_text_inside_the_frame() {
    let f = fixture().await;
    let session = f.previewer.session(1280, 720).await.unwrap();
    let xss = "<img src=x onerror=\"window.__pwned = 1\"> hello & <b>bye</b>";
    let long = "a long message that goes on ".repeat(20);
    let events = vec![
        json!({"type": "chat", "from_index": 0, "text": xss}),
        json!({"type": "chat", "from_index": 1, "text": long}),
        json!({"type": "chat", "from_index": 2, "text": "山田さん 🎉 お疲れさま"}),
        json!({"type": "reaction", "from_index": 1, "emoji": "🎉"}),
        json!({"type": "slide", "from_index": 0, "url": "logo.png", "index": 2, "title": "<i>Agenda</i>"}),
    ];
    for layout in ["grid", "speaker", "presentation", "single"] {
        let mut req = request(layout, 4, (1280, 720));
        req.events = events.clone();
        let shot = session.render(&req).await.unwrap();
        let overlays = shot.boxes["overlays"].as_array().unwrap_or_else(|| panic!("{layout}: no overlays in {}", shot.boxes));
        let view = Rect { x: 0.0, y: 0.0, w: 1280.0, h: 720.0 };
        for overlay in overlays {
            assert!(Rect::of(overlay).inside(&view), "{layout}: overlay outside the frame {overlay}");
        }
        let chat_texts: Vec<&str> = overlays.iter().filter(|o| o["kind"] == "chat").filter_map(|o| o["text"].as_str()).collect();
        assert!(chat_texts.contains(&xss), "{layout}: chat markup shows as typed: {chat_texts:?}");
        assert!(chat_texts.iter().any(|t| t.contains("山田さん")), "{layout}: {chat_texts:?}");
        let long_box = overlays.iter().find(|o| o["kind"] == "chat" && o["text"].as_str().is_some_and(|t| t.starts_with("a long"))).unwrap();
        assert!(Rect::of(long_box).h < 200.0, "{layout}: long messages are clamped: {long_box}");
        assert!(overlays.iter().any(|o| o["kind"] == "reaction"), "{layout}: the reaction floats: {overlays:?}");
        if layout == "presentation" {
            let slide = overlays.iter().find(|o| o["kind"] == "slide").unwrap_or_else(|| panic!("no slide: {overlays:?}"));
            let pixels = crop(&decode(&shot.png), &Rect::of(slide));
            let magenta = pixels.pixels().filter(|p| p[0] > 200 && p[1] < 60 && p[2] > 200).count();
            assert!(magenta as f64 > 0.3 * f64::from(pixels.width() * pixels.height()), "the slide image is drawn large");
        }
    }
    f.finish(session).await;
}
