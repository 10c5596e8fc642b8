//! Service configuration, layered: built-in defaults, then a TOML file (`--config`), then
//! environment variables (`WALLFLOWER_*`), then command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

use crate::layouts::Catalog;
use crate::logging::LogFormat;
use crate::layouts::settings::Layouts;
use crate::recorder::RecorderConfig;
use crate::recorder::display::ServerChoice;
use crate::recorder::pool::WarmPoolConfig;
use crate::sandbox::{Sandbox, SandboxError};
use crate::storage::StorageConfig;
use crate::webhooks::WebhookConfig;
use crate::storage::config::StorageFileConfig;
use crate::urlpolicy::{UrlPolicy, UrlPolicyConfig};

/// Flags (and their environment variables) shared by `serve` and `record`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CommonArgs {
    /// TOML configuration file (keys as in `FileConfig`, e.g. `data_dir = "/var/lib/wallflower"`).
    #[arg(long, env = "WALLFLOWER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where recordings, the database and temp files live.
    #[arg(long, env = "WALLFLOWER_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The layouts directory (built-in pages and page SDK).
    #[arg(long, env = "WALLFLOWER_LAYOUTS_DIR")]
    pub layouts_dir: Option<PathBuf>,
    /// Your own layouts (one folder each); a folder named like a built-in layout replaces it.
    #[arg(long, env = "WALLFLOWER_CUSTOM_LAYOUTS_DIR")]
    pub custom_layouts_dir: Option<PathBuf>,
    /// Files branding may name, such as logos (default: `<data-dir>/assets`).
    #[arg(long, env = "WALLFLOWER_ASSETS_DIR")]
    pub assets_dir: Option<PathBuf>,
    /// Chromium binary.
    #[arg(long, env = "WALLFLOWER_CHROMIUM")]
    pub chromium: Option<PathBuf>,
    /// Run Chromium without its sandbox (default: false; logged as a warning). As root without
    /// the Chromium user, this also lets Chromium run as root.
    #[arg(long, env = "WALLFLOWER_CHROMIUM_NO_SANDBOX")]
    pub chromium_no_sandbox: Option<bool>,
    /// The unprivileged user Chromium runs as when the service runs as root (default: `wallflower`,
    /// which scripts/setup creates).
    #[arg(long, env = "WALLFLOWER_CHROMIUM_USER")]
    pub chromium_user: Option<String>,
    /// How long a page may take to load and signal ready, e.g. `15s`.
    #[arg(long, env = "WALLFLOWER_START_TIMEOUT", value_parser = humantime::parse_duration)]
    pub start_timeout: Option<Duration>,
    /// x264 preset of the recording encoder.
    #[arg(long, env = "WALLFLOWER_X264_PRESET")]
    pub x264_preset: Option<String>,
    /// The X server recordings run on: `xvfb` (default), or `xorg` (its dummy driver refreshes
    /// at the recording's frame rate, so Chromium draws no more often than the file keeps).
    #[arg(long, env = "WALLFLOWER_DISPLAY_SERVER", value_enum)]
    pub display_server: Option<ServerChoice>,
    /// Milliseconds the sound is moved later against the picture, -1000 to 1000 (default: the
    /// pipeline's offset measured by `wallflower-bench`; see BENCHMARKS.md).
    #[arg(long, env = "WALLFLOWER_SOUND_SHIFT_MS", allow_hyphen_values = true)]
    pub sound_shift_ms: Option<i32>,
    /// How long uploads retry an unreachable store after the recording ended, e.g. `15m`.
    #[arg(long, env = "WALLFLOWER_UPLOAD_RETRY_FOR", value_parser = humantime::parse_duration)]
    pub upload_retry_for: Option<Duration>,
    /// Keep the local copy of a recording after its upload was confirmed.
    #[arg(long, env = "WALLFLOWER_KEEP_LOCAL_COPIES")]
    pub keep_local_copies: Option<bool>,
    /// Hosts pages, logos and slides may come from (repeat, or comma-separated; `*.example.com`
    /// for subdomains); default: any public host. Listed hosts may be private addresses.
    #[arg(long = "url-allow-host", env = "WALLFLOWER_URL_ALLOW_HOSTS", value_delimiter = ',')]
    pub url_allow_hosts: Option<Vec<String>>,
    /// Let recordings load pages and assets from loopback, private and link-local addresses.
    #[arg(long, env = "WALLFLOWER_URL_ALLOW_PRIVATE")]
    pub url_allow_private: Option<bool>,
}

/// Flags of `serve` only.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// Address of the REST API.
    #[arg(long, env = "WALLFLOWER_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Most recordings running at once (default: one per CPU core).
    #[arg(long, env = "WALLFLOWER_MAX_CONCURRENT")]
    pub max_concurrent: Option<usize>,
    /// Signing secret of webhooks (Standard Webhooks `whsec_…` form); without one, none are sent.
    #[arg(long, env = "WALLFLOWER_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    /// Webhook endpoint for recordings that name none (`webhook_url`).
    #[arg(long, env = "WALLFLOWER_WEBHOOK_URL")]
    pub webhook_url: Option<url::Url>,
    /// API bearer tokens as `name=token,name2=token2` (names are logged, tokens never).
    #[arg(long, env = "WALLFLOWER_API_TOKENS", hide_env_values = true)]
    pub api_tokens: Option<String>,
    /// On SIGTERM, how long running recordings may take to stop and be delivered before the
    /// service exits anyway (what is left is finished when it starts again), e.g. `60s`.
    #[arg(long, env = "WALLFLOWER_SHUTDOWN_TIMEOUT", value_parser = humantime::parse_duration)]
    pub shutdown_timeout: Option<Duration>,
    /// Refuse new recordings (507) when the data dir's disk has less free space than this (MiB).
    #[arg(long, env = "WALLFLOWER_MIN_FREE_DISK_MIB")]
    pub min_free_disk_mib: Option<u64>,
    /// Stop and deliver running recordings when free space falls below this (MiB).
    #[arg(long, env = "WALLFLOWER_STOP_FREE_DISK_MIB")]
    pub stop_free_disk_mib: Option<u64>,
    /// Browsers (each with its display and sink) kept started ahead of recordings, so one of
    /// `--warm-pool-size` starts at its page load (default 0: every recording starts cold).
    #[arg(long, env = "WALLFLOWER_WARM_POOL")]
    pub warm_pool: Option<usize>,
    /// Frame size of the warm pool's browsers, e.g. `1280x720` (the default).
    #[arg(long, env = "WALLFLOWER_WARM_POOL_SIZE")]
    pub warm_pool_size: Option<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// The configuration file's keys; every one optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub layouts_dir: Option<PathBuf>,
    pub custom_layouts_dir: Option<PathBuf>,
    pub assets_dir: Option<PathBuf>,
    pub chromium: Option<PathBuf>,
    pub chromium_no_sandbox: Option<bool>,
    /// The user Chromium runs as when the service runs as root (default `wallflower`).
    pub chromium_user: Option<String>,
    pub start_timeout_s: Option<u64>,
    pub stop_timeout_s: Option<u64>,
    pub max_concurrent: Option<usize>,
    pub x264_preset: Option<String>,
    /// `xvfb` or `xorg`.
    pub display_server: Option<ServerChoice>,
    /// Milliseconds the sound is moved later against the picture.
    pub sound_shift_ms: Option<i32>,
    /// Browsers kept started ahead of recordings, and their frame size (`1280x720`).
    pub warm_pool: Option<usize>,
    pub warm_pool_size: Option<String>,
    pub webhook_secret: Option<String>,
    pub webhook_url: Option<url::Url>,
    /// `[api_tokens]`: name = token; without any, the API is open.
    #[serde(default)]
    pub api_tokens: std::collections::BTreeMap<String, String>,
    /// How long one webhook is retried before it is given up (default 3600).
    pub webhook_retry_for_s: Option<u64>,
    /// On SIGTERM, how long recordings may take to stop and be delivered (default 60).
    pub shutdown_timeout_s: Option<u64>,
    /// Free disk space (MiB) below which new recordings are refused (default 1024).
    pub min_free_disk_mib: Option<u64>,
    /// Free disk space (MiB) below which running recordings are stopped (default 256).
    pub stop_free_disk_mib: Option<u64>,
    /// `[storage]`: upload policy and S3 credential profiles (`[storage.s3.NAME]`).
    #[serde(default)]
    pub storage: StorageFileConfig,
    /// `[url_policy]`: which URLs recordings may load (`allow_hosts`, `allow_private`).
    #[serde(default)]
    pub url_policy: UrlPolicyConfig,
    /// `text` or `json` log lines (`--log-format` wins).
    pub log_format: Option<LogFormat>,
}

/// The `log_format` key of the config file at `path`. Logging starts before the settings are
/// resolved, so the file is read for this alone; a file that cannot be read says nothing here
/// (resolving the settings reports why).
pub fn file_log_format(path: &Path) -> Option<LogFormat> {
    read_file(path).ok()?.log_format
}

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub layouts_dir: PathBuf,
    pub custom_layouts_dir: Option<PathBuf>,
    pub assets_dir: PathBuf,
    pub chromium: PathBuf,
    /// Set: as configured; unset: the sandbox is on.
    pub chromium_no_sandbox: Option<bool>,
    /// Unset: `wallflower` when running as root, else the service's own user.
    pub chromium_user: Option<String>,
    pub start_timeout: Duration,
    pub stop_timeout: Duration,
    pub max_concurrent: usize,
    pub x264_preset: String,
    pub display_server: ServerChoice,
    /// Milliseconds the sound is moved later against the picture.
    pub sound_shift_ms: i32,
    /// Browsers kept started ahead of recordings (`None`: none).
    pub warm_pool: Option<WarmPoolConfig>,
    pub storage: StorageConfig,
    pub webhooks: WebhookConfig,
    /// `(name, token)` pairs the API accepts.
    pub api_tokens: Vec<(String, String)>,
    /// How long a SIGTERM waits for recordings to be delivered.
    pub shutdown_timeout: Duration,
    /// Free-space thresholds of the data dir's disk.
    pub disk: crate::jobs::disk::DiskPolicy,
    /// What recordings may load (the `web` source, logos, slides, every browser request).
    pub url_policy: UrlPolicy,
}

impl Settings {
    /// Merges flags/env over the config file over defaults.
    pub fn resolve(args: &ServeArgs) -> anyhow::Result<Self> {
        let file = match &args.common.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let c = &args.common;
        let display_server = c.display_server.or(file.display_server).unwrap_or_default();
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let data_dir: PathBuf = c.data_dir.clone().or(file.data_dir).unwrap_or_else(|| "data".into());
        // Absolute, because the directory is handed to processes that start elsewhere or refuse
        // a relative home (PulseAudio's runtime directory lives under it).
        let data_dir = std::path::absolute(&data_dir).with_context(|| format!("data_dir {}", data_dir.display()))?;
        let url_policy = url_policy(c, &file.url_policy)?;
        Ok(Self {
            url_policy,
            listen: args.listen.or(file.listen).unwrap_or(([127, 0, 0, 1], 8080).into()),
            layouts_dir: c.layouts_dir.clone().or(file.layouts_dir).unwrap_or_else(crate::layouts::default_dir),
            custom_layouts_dir: c.custom_layouts_dir.clone().or(file.custom_layouts_dir),
            assets_dir: c.assets_dir.clone().or(file.assets_dir).unwrap_or_else(|| data_dir.join("assets")),
            data_dir,
            chromium: c.chromium.clone().or(file.chromium).unwrap_or_else(|| "/usr/lib/chromium/chromium".into()),
            chromium_no_sandbox: c.chromium_no_sandbox.or(file.chromium_no_sandbox),
            chromium_user: c.chromium_user.clone().or(file.chromium_user),
            start_timeout: c.start_timeout.or(file.start_timeout_s.map(Duration::from_secs))
                .unwrap_or(Duration::from_secs(15)),
            stop_timeout: Duration::from_secs(file.stop_timeout_s.unwrap_or(10)),
            max_concurrent: args.max_concurrent.or(file.max_concurrent).unwrap_or(cores).max(1),
            // ultrafast: at the same bitrate as good as the classic recipe's line, and ~0.25
            // cores a recording less than veryfast at 720p (BENCHMARKS.md, quality).
            x264_preset: c.x264_preset.clone().or(file.x264_preset).unwrap_or_else(|| "ultrafast".into()),
            display_server,
            sound_shift_ms: sound_shift_ms(c.sound_shift_ms.or(file.sound_shift_ms), display_server)?,
            warm_pool: warm_pool(args.warm_pool.or(file.warm_pool), args.warm_pool_size.clone().or(file.warm_pool_size))?,
            storage: StorageConfig::from_file(file.storage, c.upload_retry_for, c.keep_local_copies)?,
            webhooks: WebhookConfig {
                secret: args.webhook_secret.clone().or(file.webhook_secret),
                default_url: args.webhook_url.clone().or(file.webhook_url),
                retry_for: file.webhook_retry_for_s.map(Duration::from_secs).unwrap_or(WebhookConfig::default().retry_for),
                ..WebhookConfig::default()
            },
            api_tokens: match &args.api_tokens {
                Some(list) => parse_tokens(list)?,
                None => file.api_tokens.into_iter().collect(),
            },
            shutdown_timeout: args.shutdown_timeout.or(file.shutdown_timeout_s.map(Duration::from_secs))
                .unwrap_or(Duration::from_secs(60)),
            disk: crate::jobs::disk::DiskPolicy::new(
                args.min_free_disk_mib.or(file.min_free_disk_mib).unwrap_or(1024),
                args.stop_free_disk_mib.or(file.stop_free_disk_mib).unwrap_or(256),
            )?,
        })
    }

    /// The layout catalog and assets folder.
    pub fn layouts(&self) -> Layouts {
        let catalog = Catalog::new(self.layouts_dir.clone(), self.custom_layouts_dir.clone());
        Layouts { catalog, assets_dir: self.assets_dir.clone() }
    }

    /// As whom and how the browsers run: checked here, once (see [`Sandbox::resolve`]).
    pub fn sandbox(&self) -> Result<Arc<Sandbox>, SandboxError> {
        Sandbox::resolve(self.chromium_user.as_deref(), self.chromium_no_sandbox, &self.chromium).map(Arc::new)
    }

    /// The recorder's part of the settings; the layouts URL and the pages' declared sources come
    /// from the running asset server.
    pub fn recorder_config(&self, assets: &crate::layouts::AssetServer, sandbox: Arc<Sandbox>) -> RecorderConfig {
        RecorderConfig {
            chromium: self.chromium.clone(),
            sandbox,
            work_dir: self.data_dir.join("tmp"),
            layouts_url: assets.url.clone(),
            pages: assets.pages.clone(),
            start_timeout: self.start_timeout,
            stop_timeout: self.stop_timeout,
            x264_preset: self.x264_preset.clone(),
            display_server: self.display_server,
            sound_shift_s: f64::from(self.sound_shift_ms) / 1000.0,
            url_policy: self.url_policy.clone(),
            warm_pool: self.warm_pool,
        }
    }
}

/// The warm pool: `sets` browsers of `size` (default 1280x720); none when `sets` is 0 or unset.
fn warm_pool(sets: Option<usize>, size: Option<String>) -> anyhow::Result<Option<WarmPoolConfig>> {
    let (width, height, fps) = match &size {
        Some(text) => crate::recorder::pool::parse_size(text).map_err(anyhow::Error::msg)?,
        None => (1280, 720, crate::recorder::pool::DEFAULT_POOL_FPS),
    };
    match sets.unwrap_or(0) {
        0 => Ok(None),
        sets @ 1..=8 => Ok(Some(WarmPoolConfig { sets, width, height, fps })),
        sets => anyhow::bail!("warm_pool must be between 0 and 8, not {sets}"),
    }
}

/// The sound shift, within ±1 s; by default the one measured for the `display` server.
fn sound_shift_ms(configured: Option<i32>, display: ServerChoice) -> anyhow::Result<i32> {
    match (configured, display) {
        (Some(ms), _) if ms.abs() > 1000 => anyhow::bail!("sound_shift_ms must be between -1000 and 1000, not {ms}"),
        (Some(ms), _) => Ok(ms),
        (None, ServerChoice::Xvfb) => Ok(DEFAULT_SOUND_SHIFT_MS),
        (None, ServerChoice::Xorg) => Ok(XORG_SOUND_SHIFT_MS),
    }
}

/// The recorder's own sound/picture offset, measured with the test pattern's markers
/// (`wallflower calibrate`, BENCHMARKS.md) on a 2-core Xeon: the picture reaches the file this
/// much after the sound that belongs with it, so the sound is moved later by as much. 40 ms
/// until Chromium's sound buffers grew to ~43 ms, which brought the sound sooner (9 runs with
/// them: median −64 ms unshifted, against −12…−32 ms before; BENCHMARKS.md "Fewer sound wakeups").
pub const DEFAULT_SOUND_SHIFT_MS: i32 = 65;

/// The same on Xorg at 30 Hz, where Chromium draws half as often and its picture reaches the
/// file a frame or so later: 28 runs unshifted, median −107 ms (−54…−147, a different number of
/// Chromium's frames late in each recording; BENCHMARKS.md, "A display at the file's frame rate").
pub const XORG_SOUND_SHIFT_MS: i32 = 107;

/// The URL policy: flags over the file's `[url_policy]`.
fn url_policy(args: &CommonArgs, file: &UrlPolicyConfig) -> anyhow::Result<UrlPolicy> {
    let config = UrlPolicyConfig {
        allow_hosts: args.url_allow_hosts.clone().unwrap_or_else(|| file.allow_hosts.clone()),
        allow_private: args.url_allow_private.unwrap_or(file.allow_private),
    };
    UrlPolicy::new(&config).map_err(|e| anyhow::anyhow!(e))
}

/// `name=token,name2=token2`.
fn parse_tokens(list: &str) -> anyhow::Result<Vec<(String, String)>> {
    list.split(',')
        .filter(|item| !item.trim().is_empty())
        .map(|item| {
            let (name, token) = item.split_once('=').ok_or_else(|| anyhow::anyhow!("--api-tokens: `{}` is not name=token", item.split('=').next().unwrap_or("")))?;
            Ok((name.trim().to_owned(), token.trim().to_owned()))
        })
        .collect()
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
