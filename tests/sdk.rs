//! The page SDK's decisions that need no call, run in headless Chromium on a fake clock: which
//! simulcast layer `sdk/janus-layers.js` asks Janus for. (A real call's layers are checked in
//! `tests/janus.rs`.) In nextest group `e2e`: it starts a Chromium.

mod common;

use std::process::Command;

use common::layouts_dir;
use serde_json::Value;

/// Scenarios, each on a fresh `simulcastLayers` with a fake `Date.now()`: `asked` lists the
/// `configure(mid, substream)` calls made, as "mid:substream".
const SCENARIOS: &str = r#"
var now = 100000;
Date.now = function () { return now; };
function run(steps) {
  var asked = [], inactive = {};
  var l = WallflowerJanus.simulcastLayers({
    configure: function (mid, s) { asked.push(mid + ':' + s); },
    active: function (mid) { return !inactive[mid]; }
  });
  function frame(mid, w, h) { l.noteReport([{ type: 'inbound-rtp', kind: 'video', mid: mid, frameWidth: w, frameHeight: h }]); }
  steps({ l: l, frame: frame, inactive: inactive, wait: function (ms) { now += ms; } });
  return asked;
}
var out = {
  // 1280x720 into a 632x352 tile: one layer down, once
  down: run(function (t) {
    t.l.noteSubstream('1', 2); t.wait(1500); t.frame('1', 1280, 720);
    t.l.fit({ '1': { width: 632, height: 352 } }); t.wait(1000); t.l.fit({ '1': { width: 632, height: 352 } });
  }),
  // a layer's size is learnt before it is settled on: nothing asked
  unsettled: run(function (t) {
    t.l.noteSubstream('1', 2); t.wait(500); t.frame('1', 1280, 720); t.l.fit({ '1': { width: 632, height: 352 } });
  }),
  // 640x360 under a 1280x720 tile: one up
  up: run(function (t) {
    t.l.noteSubstream('1', 1); t.wait(1500); t.frame('1', 640, 360); t.l.fit({ '1': { width: 1280, height: 720 } });
  }),
  // layers that are not halves (1280x720, 400x225): down, up again, then it stays
  uneven: run(function (t) {
    var tile = { '1': { width: 632, height: 352 } };
    t.l.noteSubstream('1', 2); t.wait(1500); t.frame('1', 1280, 720); t.l.fit(tile);
    t.l.noteSubstream('1', 1); t.wait(1500); t.frame('1', 400, 225); t.l.fit(tile);
    t.l.noteSubstream('1', 2); t.wait(1500); t.frame('1', 1280, 720); t.l.fit(tile); t.wait(5000); t.l.fit(tile);
  }),
  // shown nowhere: the smallest layer after 3 s, not before
  hidden: run(function (t) {
    t.l.noteSubstream('1', 2); t.wait(1500); t.frame('1', 1280, 720);
    t.l.fit({}); t.wait(2000); t.l.fit({}); t.wait(1500); t.l.fit({});
  }),
  // a request Janus has not carried out is repeated after 4 s, not sooner
  repeat: run(function (t) {
    var tile = { '1': { width: 632, height: 352 } };
    t.l.noteSubstream('1', 2); t.wait(1500); t.frame('1', 1280, 720);
    t.l.fit(tile); t.wait(2000); t.l.fit(tile); t.wait(2500); t.l.fit(tile);
  }),
  // inactive mids and streams Janus never called simulcast are left alone
  leftAlone: run(function (t) {
    t.l.noteSubstream('1', 2); t.wait(1500); t.frame('1', 1280, 720); t.frame('3', 1280, 720);
    t.inactive['1'] = true;
    t.l.fit({ '1': { width: 100, height: 60 }, '3': { width: 100, height: 60 } });
  }),
  // another publisher on a reused mid: the old one's sizes are not used
  newFeed: run(function (t) {
    t.l.noteSubstream('1', 2); t.wait(1500); t.frame('1', 1280, 720);
    t.l.newFeed('1'); t.l.fit({ '1': { width: 632, height: 352 } });
  })
};
document.body.textContent = JSON.stringify(out);
"#;

fn page(dir: &std::path::Path) -> std::path::PathBuf {
    let sdk = layouts_dir().join("sdk/janus-layers.js");
    let html = format!(
        "<!doctype html><body><script>window.WallflowerJanus = {{}};</script><script src=\"file://{}\"></script><script>{SCENARIOS}</script></body>",
        sdk.display()
    );
    let path = dir.join("layers.html");
    std::fs::write(&path, html).unwrap();
    path
}

#[test]
fn simulcast_layers_fit_the_tile_without_swinging() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files", "--dump-dom"])
        .arg(format!("file://{}", page(dir.path()).display()))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&out.stdout);
    // The scenarios replace the body (scripts and all) with their results.
    let json = dom.split("<body>").nth(1).and_then(|b| b.split("</body>").next()).unwrap_or_default();
    let got: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {dom} {}", String::from_utf8_lossy(&out.stderr)));
    eprintln!("{got}");
    let asked = |name: &str| got[name].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(asked("down"), ["1:1"], "one layer down, asked once");
    assert!(asked("unsettled").is_empty());
    assert_eq!(asked("up"), ["1:2"]);
    assert_eq!(asked("uneven"), ["1:1", "1:2"], "back up once the smaller layer is seen, then it stays");
    assert_eq!(asked("hidden"), ["1:0"], "the smallest layer once shown nowhere for 3 s");
    assert_eq!(asked("repeat"), ["1:1", "1:1"], "asked again after 4 s, not after 2");
    assert!(asked("leftAlone").is_empty());
    assert!(asked("newFeed").is_empty(), "a new publisher's layer sizes are learnt first");
}
