//! # Wallflower
//!
//! Records web pages and video calls as a *silent participant*: a Chromium on a private virtual
//! display plays the call (or any page) and an ffmpeg sidecar captures picture and sound.
//!
//! # Layout
//! - [`api`]: the REST API (HTTP only), with the one error → HTTP mapping.
//! - [`jobs`]: recording requests, validation, the resource, persistence (SQLite), admission and
//!   the per-recording task lifecycle.
//! - [`recorder`]: one recording's pipeline (X display, PulseAudio sink, Chromium over CDP, ffmpeg).
//! - [`layouts`]: serves `layouts/` (built-in pages, page SDK) to the recorder browsers.
//! - [`timeline`]: chat, reactions, slides and everything else that happened, on the media clock;
//!   the `timeline.json` and `chat.vtt` sidecars.
//! - [`storage`]: delivery: object storage (uploaded while recording), presigned URLs, retries.
//! - [`webhooks`]: signed, ordered, retried recording events.
//! - [`harness`]: a real Janus in a private network namespace and synthetic participants, for
//!   tests, the demo and the benchmark.
//! - [`backoff`]: retry delays shared by uploads, webhooks and live streams.
//! - [`logging`]: text or JSON log lines (with the recording's span on each).
//! - [`metrics`]: the Prometheus counters behind `GET /metrics`.
//! - [`measure`]: the benchmark's measurements: A/V offset from the test pattern's markers,
//!   distinct-frame rate, CPU and memory of a process group.
//! - [`bench`](mod@bench): what the benchmark binaries share, and the classic recipe they compare against.
//! - [`fields`]: the request-field checks and error shape every validating module shares.
//! - [`urlpolicy`]: which URLs recordings may load (http(s) only, allowlist, no private
//!   destinations); checked at the API and again for every request of the recorder browser.
//! - [`sandbox`]: as whom and how the browsers run (an unprivileged user and Chromium's sandbox
//!   when the service is root), and their runtime dir.
//! - [`config`]: layered settings; [`app`]: wiring for `serve`; [`cli`]: the binary's commands.

pub mod api;
pub mod app;
pub mod backoff;
pub mod bench;
pub mod cli;
pub mod config;
pub mod fields;
pub mod harness;
pub mod jobs;
pub mod layouts;
pub mod logging;
pub mod measure;
pub mod metrics;
pub mod recorder;
pub mod sandbox;
pub mod storage;
pub mod timeline;
pub mod urlpolicy;
pub mod webhooks;
