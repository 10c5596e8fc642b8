//! Bad input over every endpoint: at least 2,000 requests generated with proptest (random and
//! mutated-valid JSON, wrong types, huge and negative numbers, control and non-ASCII characters,
//! long strings, malformed JSON, invalid UTF-8, wrong content types, random methods, random and
//! traversing ids, unknown routes) against the API over the stand-in recorder. No answer may be
//! a 5xx, every 4xx is our JSON error with a `code` and a `message`, and afterwards the service
//! still answers `/healthz` and starts a recording.

mod common;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::standin::{StandInApi, stand_in_api};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use wallflower::api::auth::Tokens;

/// Generated requests (proptest cases); shrinking a failure sends more.
const CASES: u32 = 5_000;

/// A generated request.
#[derive(Clone)]
struct Generated {
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
}

impl std::fmt::Debug for Generated {
    // Shortened: a failing case may carry a 64 KiB body.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = String::from_utf8_lossy(&self.body);
        write!(f, "{} {} ({:?}, {} bytes): {}", self.method, short(&self.path), self.content_type, self.body.len(), short(&body))
    }
}

/// The first 300 characters of `text`.
fn short(text: &str) -> String {
    let mut cut: String = text.chars().take(300).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

/// What kind of body an endpoint takes, so that most bodies are near-valid for it.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Create,
    Patch,
    Event,
    None,
}

/// Valid bodies of each kind; the mutations start from these.
fn templates(kind: Kind) -> Vec<Value> {
    let janus = json!({"type": "janus", "server": "ws://127.0.0.1:9", "room": 1234, "pin": "x", "display": "R", "start": "first_publisher"});
    match kind {
        Kind::Create | Kind::None => vec![
            json!({"source": {"type": "test", "tone_hz": 440}, "output": {"width": 640, "height": 360, "fps": 25, "video_bitrate_kbps": 800, "hls": false, "file": true},
                   "limits": {"max_duration_s": 60}, "destination": {"type": "local"}}),
            json!({"source": janus, "layout": "speaker", "layout_params": {"filmstrip": "right"}, "limits": {"stop_when_empty_s": 5},
                   "branding": {"title": "T", "logo_url": "logo.png", "colors": {"background": "#0b0e14"}, "custom_css": ".a{}", "show_names": true}}),
            json!({"source": {"type": "web", "url": "https://example.com/"}, "streams": [{"url": "rtmp://127.0.0.1/app/key"}],
                   "destination": {"type": "s3", "bucket": "b", "key": "r/{id}.mp4", "endpoint": "http://127.0.0.1:9", "region": "r", "path_style": true}}),
            json!({"source": {"type": "test"}, "destination": {"type": "http", "url": "https://127.0.0.1:9/put?sig=1", "method": "PUT"}, "output": {"file": false, "hls": true}}),
        ],
        Kind::Patch => vec![
            json!({"layout": "grid", "layout_params": {}, "branding": {"title": null, "watermark": "W"}}),
            json!({"streams": [{"url": "rtmps://127.0.0.1/live/k"}]}),
        ],
        Kind::Event => vec![
            json!({"type": "chat", "from": "Ann", "text": "hello"}),
            json!({"type": "reaction", "emoji": "👍"}),
            json!({"type": "slide", "url": "https://example.com/s.png", "index": 2, "title": "S"}),
        ],
    }
}

/// A value of a type the field probably does not take, or a nasty one of the right type.
fn wrong_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("JSON has no NaN", |f| f.is_finite()).prop_map(Value::from),
        prop::sample::select(vec![-1i64, 0, 1, 2, 3, 161, 4097, i32::MAX as i64, u32::MAX as i64 + 1, i64::MIN]).prop_map(Value::from),
        nasty_string().prop_map(Value::from),
        Just(json!([])),
        Just(json!({})),
        Just(json!([1, "a", null])),
        Just(json!({"type": "test"})),
    ]
}

/// Strings with control characters, non-ASCII, traversal, markup, or simply very long.
fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\x00-\\x1f\\x7f]{0,8}",
        prop::sample::select(vec!["", " ", "../../etc/passwd", "..", "/", "%00", "<script>alert(1)</script>", "\u{202e}gnp.exe", "𝕨𝕒𝕝𝕝", "名前", "🎥", "javascript:alert(1)", "file:///etc/passwd", "http://169.254.169.254/", "rtmp://", "ws://", "#zzz", "NaN", "1e999"]).prop_map(String::from),
        (1usize..70_000).prop_map(|n| "x".repeat(n)),
    ]
}

/// Any JSON, a few levels deep.
fn random_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![Just(Value::Null), any::<bool>().prop_map(Value::from), any::<i64>().prop_map(Value::from), nasty_string().prop_map(Value::from)];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every value in `v` by JSON pointer, the root included.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => map.iter().for_each(|(k, child)| pointers(child, format!("{at}/{k}"), out)),
        Value::Array(items) => items.iter().enumerate().for_each(|(i, child)| pointers(child, format!("{at}/{i}"), out)),
        _ => {}
    }
    out.push(at);
}

/// A template with one value replaced, removed, or an unknown field added.
fn mutated(kind: Kind) -> impl Strategy<Value = Value> {
    let all = templates(kind);
    (prop::sample::select(all), any::<prop::sample::Index>(), wrong_value(), 0..4u8).prop_map(|(mut body, index, wrong, how)| {
        let mut at = Vec::new();
        pointers(&body, String::new(), &mut at);
        let pointer = index.get(&at).clone();
        match (how, pointer.rsplit_once('/')) {
            (0, Some((parent, key))) => {
                if let Some(Value::Object(map)) = body.pointer_mut(parent) {
                    map.remove(key);
                }
            }
            (1, _) => {
                if let Some(Value::Object(map)) = body.pointer_mut(&pointer) {
                    map.insert("unexpected".into(), wrong);
                }
            }
            _ => {
                if let Some(slot) = body.pointer_mut(&pointer) {
                    *slot = wrong;
                }
            }
        }
        body
    })
}

/// Bytes that are not JSON, or not quite.
fn broken_bytes(kind: Kind) -> impl Strategy<Value = Vec<u8>> {
    let text = templates(kind)[0].to_string();
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        (0..text.len()).prop_map(move |cut| text.as_bytes()[..cut].to_vec()),
        Just(b"{\"source\": {\"type\": \"test\"}, \"output\": {\"width\": 1e400}}".to_vec()),
        Just(b"{\"source\": {\"type\": \"test\"}, \"output\": {\"fps\": 18446744073709551616}}".to_vec()),
        Just(b"{\"source\": {\"type\": \"test\"}, \"source\": {\"type\": \"web\"}}".to_vec()),
        Just(b"{\"text\": \"\xff\xfe\", \"type\": \"chat\"}".to_vec()),
        Just(b"\xef\xbb\xbf{\"source\": {\"type\": \"test\"}}".to_vec()),
        (1usize..5_000).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
        Just(b"null".to_vec()),
        Just(Vec::new()),
    ]
}

fn body(kind: Kind) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => mutated(kind).prop_map(|v| v.to_string().into_bytes()),
        2 => random_json().prop_map(|v| v.to_string().into_bytes()),
        2 => broken_bytes(kind),
        1 => prop::sample::select(templates(kind)).prop_map(|v| v.to_string().into_bytes()),
    ]
}

/// Percent-encodes every byte outside the unreserved set, as a path segment.
fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// A recording id or layout name: real ones, near misses, traversal, encodings, garbage.
fn segment(known: Vec<String>) -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        3 => prop::sample::select(known),
        1 => "rec_[0-9a-f]{32}",
        1 => prop::sample::select(vec!["..", "%2e%2e", "..%2F..%2Fetc%2Fpasswd", "%2F", "%00", "%FF%FE", "%C0%AE%C0%AE", "a%20b", "~", "grid%00", "..%5C..%5Cwindows", "-1", "0", "%25"]).prop_map(String::from),
        2 => prop::collection::vec(any::<u8>(), 0..40).prop_map(|b| encode(&b)),
        1 => (1usize..9_000).prop_map(|n| "r".repeat(n)),
    ]
}

/// A query for the preview: valid-looking keys with wrong or extreme values, or garbage.
fn query() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec!["participants", "width", "height", "branding", "layout_params", "animate", "x"]);
    // Kept under 64 KiB in all: longer is no URI (the client refuses it before any server sees it).
    let value = prop_oneof![any::<i64>().prop_map(|n| n.to_string()), Just("99999999999999999999".to_owned()),
        nasty_string().prop_map(|s| encode(short(&s).as_bytes())),
        random_json().prop_map(|v| encode(short(&v.to_string()).as_bytes()))];
    prop::collection::vec((key, value), 0..4).prop_map(|pairs| pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&"))
}

/// Every route [`endpoint`] aims at, as the OpenAPI description spells it.
const COVERED: [&str; 11] = [
    "/v1/recordings", "/v1/recordings/{id}", "/v1/recordings/{id}/stop", "/v1/recordings/{id}/events",
    "/v1/recordings/{id}/retry-upload", "/v1/layouts", "/v1/layouts/{name}", "/v1/layouts/{name}/preview.png",
    "/healthz", "/metrics", "/v1/openapi.json",
];

/// An endpoint (the method its route takes, mostly), its path and the body it takes.
fn endpoint(ids: Vec<String>) -> impl Strategy<Value = (Method, String, Kind)> {
    let names = vec!["grid".to_owned(), "speaker".to_owned(), "presentation".to_owned(), "single".to_owned()];
    let id = segment(ids);
    let name = segment(names);
    prop_oneof![
        6 => Just((Method::POST, "/v1/recordings".to_owned(), Kind::Create)),
        1 => Just((Method::GET, "/v1/recordings".to_owned(), Kind::None)),
        2 => id.clone().prop_map(|id| (Method::GET, format!("/v1/recordings/{id}"), Kind::None)),
        4 => id.clone().prop_map(|id| (Method::PATCH, format!("/v1/recordings/{id}"), Kind::Patch)),
        2 => id.clone().prop_map(|id| (Method::POST, format!("/v1/recordings/{id}/stop"), Kind::None)),
        4 => id.clone().prop_map(|id| (Method::POST, format!("/v1/recordings/{id}/events"), Kind::Event)),
        1 => id.clone().prop_map(|id| (Method::POST, format!("/v1/recordings/{id}/retry-upload"), Kind::None)),
        1 => Just((Method::GET, "/v1/layouts".to_owned(), Kind::None)),
        2 => name.clone().prop_map(|n| (Method::GET, format!("/v1/layouts/{n}"), Kind::None)),
        3 => (name, query()).prop_map(|(n, q)| (Method::GET, format!("/v1/layouts/{n}/preview.png?{q}"), Kind::None)),
        1 => prop::sample::select(vec!["/healthz", "/metrics", "/v1/openapi.json"]).prop_map(|p| (Method::GET, p.to_owned(), Kind::None)),
        2 => (prop::collection::vec(segment(vec!["v1".into(), "recordings".into(), "layouts".into()]), 0..5), query())
            .prop_map(|(s, q)| (Method::GET, format!("/{}?{q}", s.join("/")), Kind::Create)),
    ]
}

fn method() -> impl Strategy<Value = Option<Method>> {
    let odd = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "BREW"];
    prop_oneof![4 => Just(None), 1 => prop::sample::select(odd.to_vec()).prop_map(|m| Some(Method::from_bytes(m.as_bytes()).unwrap()))]
}

fn request(ids: Vec<String>) -> impl Strategy<Value = Generated> {
    let content_type = prop::sample::select(vec![Some("application/json"), None, Some("text/plain"), Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"), Some("application/json; charset=latin1"), Some("image/png")]);
    (endpoint(ids), method(), content_type).prop_flat_map(|((method, path, kind), other, content_type)| {
        let method = other.unwrap_or(method);
        body(kind).prop_map(move |body| Generated { method: method.clone(), path: path.clone(), content_type, body })
    })
}

/// Recordings to aim at: two running (a call and a test pattern), one stopped, one failed.
async fn seed(api: &StandInApi) -> Vec<String> {
    let mut ids = Vec::new();
    for (i, body) in templates(Kind::Create).into_iter().take(2).chain([json!({"source": {"type": "web", "url": "https://fail.example/"}})]).enumerate() {
        let (status, rec) = api.json("POST", "/v1/recordings", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "seed {i}: {rec}");
        ids.push(rec["id"].as_str().unwrap().to_owned());
    }
    let (_, stopped) = api.json("POST", "/v1/recordings", Some(json!({"source": {"type": "test"}}))).await;
    let stopped = stopped["id"].as_str().unwrap().to_owned();
    api.json("POST", &format!("/v1/recordings/{stopped}/stop"), None).await;
    ids.push(stopped);
    ids
}

/// Sends `g`; the answer's status and error code, or `Err` saying what was wrong with it.
async fn check(api: &StandInApi, g: &Generated) -> Result<(u16, String), String> {
    let mut request = Request::builder().method(g.method.clone()).uri(&g.path);
    if let Some(content_type) = g.content_type {
        request = request.header("content-type", content_type);
    }
    let (status, content_type, body) = api.send(request.body(Body::from(g.body.clone())).unwrap()).await;
    let shown = short(&String::from_utf8_lossy(&body));
    let error: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let code = error["error"]["code"].as_str();
    let answer = (status.as_u16(), code.unwrap_or_default().to_owned());
    // No browser here: a preview that passes every check fails to start one. That is the
    // environment, not the input (a HEAD has no body to say so).
    let no_browser = code == Some("preview_failed") || g.method == Method::HEAD;
    if status == StatusCode::INTERNAL_SERVER_ERROR && no_browser && g.path.contains("/preview.png") {
        return Ok(answer);
    }
    if status.is_server_error() {
        return Err(format!("{status}: {shown}"));
    }
    if status.is_client_error() && g.method != Method::HEAD {
        let json = content_type.as_deref().is_some_and(|t| t.starts_with("application/json"));
        let message = error["error"]["message"].as_str().is_some_and(|m| !m.is_empty());
        if !json || code.is_none_or(str::is_empty) || !message {
            return Err(format!("{status} without our JSON error ({content_type:?}): {shown}"));
        }
    }
    Ok(answer)
}

#[test]
fn generated_bad_input_gets_4xx_with_codes_and_never_a_5xx() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    // Capacity is no input error: high enough that valid creates never meet it.
    let api = runtime.block_on(async { stand_in_api(100_000, Tokens::default()) });
    let ids = runtime.block_on(seed(&api));
    let (_, spec) = runtime.block_on(api.json("GET", "/v1/openapi.json", None));
    let paths = spec["paths"].as_object().expect("the OpenAPI description lists paths");
    for path in paths.keys() {
        assert!(COVERED.contains(&path.as_str()), "the suite sends nothing to {path}: add it to endpoint()");
    }
    let sent = AtomicUsize::new(0);
    let answers = Mutex::new(BTreeMap::<(u16, String), usize>::new());
    let started = Instant::now();
    let config = Config { cases: CASES, failure_persistence: None, max_shrink_iters: 200, ..Config::default() };
    let result = TestRunner::new(config).run(&request(ids), |g| {
        sent.fetch_add(1, Ordering::Relaxed);
        let answer = runtime.block_on(check(&api, &g)).map_err(|e| TestCaseError::fail(format!("{} {}: {e}", g.method, short(&g.path))))?;
        *answers.lock().unwrap().entry(answer).or_default() += 1;
        Ok(())
    });
    let (sent, took, answers) = (sent.into_inner(), started.elapsed(), answers.into_inner().unwrap());
    println!("{sent} generated requests in {:.1} s; answers (status, code): {answers:?}", took.as_secs_f64());
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(sent >= 2_000, "only {sent} requests");
    // The generator reaches past the first checks: recordings start, and many distinct checks answer.
    assert!(answers.keys().any(|(status, _)| *status == 201), "no create succeeded: {answers:?}");
    assert!(answers.len() >= 20, "only {} kinds of answer: {answers:?}", answers.len());
    runtime.block_on(async {
        let (status, health) = api.json("GET", "/healthz", None).await;
        assert_eq!((status, health["status"].as_str()), (StatusCode::OK, Some("ok")), "{health}");
        let (status, rec) = api.json("POST", "/v1/recordings", Some(json!({"source": {"type": "test"}}))).await;
        assert_eq!(status, StatusCode::CREATED, "{rec}");
    });
}
