//! Recordings as jobs: the request and its validation ([`request`]), the resource clients see
//! ([`model`]), persistence behind a small trait ([`store`]), and the [`manager`] that admits,
//! runs, stops and reports them.

mod delivering;
pub mod disk;
mod live;
mod recover;
pub mod manager;
mod metering;
pub mod model;
pub mod request;
pub mod store;
mod streams;
mod urls;

pub use manager::JobManager;
pub use model::{Recording, RecordingState};
pub use request::RecordingRequest;
pub use store::{RecordingStore, SqliteStore};

/// Errors of the jobs module.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{message}")]
    Invalid { code: &'static str, field: String, message: String },
    #[error("recording `{0}` not found")]
    NotFound(String),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error(transparent)]
    Layout(#[from] crate::layouts::LayoutError),
    #[error(transparent)]
    Event(#[from] crate::timeline::TimelineError),
    #[error("{0}")]
    RateLimited(String),
    #[error("at capacity: {running} recordings running (maximum {max}); retry later")]
    AtCapacity { running: usize, max: usize },
    #[error("the service is shutting down")]
    ShuttingDown,
    #[error("only {free_mib} MiB are free on the recordings disk; a recording needs at least {min_mib} MiB free to start")]
    InsufficientStorage { free_mib: u64, min_mib: u64 },
    #[error("recording store: {0}")]
    Store(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl JobError {
    /// A validation error on `field`.
    pub fn invalid(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { code, field: field.into(), message: message.into() }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid { code, .. } => code,
            Self::NotFound(_) => "not_found",
            Self::Conflict { code, .. } => code,
            Self::Layout(e) => e.code(),
            Self::Event(e) => e.code(),
            Self::RateLimited(_) => "rate_limited",
            Self::AtCapacity { .. } => "at_capacity",
            Self::ShuttingDown => "shutting_down",
            Self::InsufficientStorage { .. } => "insufficient_storage",
            Self::Store(_) => "store_error",
            Self::Io(_) => "io_error",
        }
    }

    /// True when the request was at fault (a 4xx).
    pub fn is_client_error(&self) -> bool {
        match self {
            Self::Layout(e) => e.is_client_error(),
            Self::Event(e) => e.is_client_error(),
            Self::RateLimited(_) => true,
            other => matches!(other, Self::Invalid { .. } | Self::NotFound(_) | Self::Conflict { .. }),
        }
    }
}

/// What the manager needs besides its store and recorder.
#[derive(Debug, Clone)]
pub struct ManagerConfig {
    /// Each recording's files go to a folder named by its id under this one.
    pub recordings_dir: std::path::PathBuf,
    /// Most recordings running at once.
    pub max_concurrent: usize,
    /// What layouts and branding are checked against.
    pub layouts: crate::layouts::settings::Layouts,
    /// Storage profiles and the upload policy.
    pub storage: crate::storage::StorageConfig,
    /// Where recording events are posted (signed).
    pub webhooks: crate::webhooks::Webhooks,
    /// Free-space thresholds of the recordings disk.
    pub disk: disk::DiskPolicy,
    /// Which URLs a recording may load (its page, logo, slides).
    pub url_policy: crate::urlpolicy::UrlPolicy,
    /// What `GET /metrics` shows; the manager counts recordings and their fps into it.
    pub metrics: crate::metrics::Metrics,
}

impl From<rusqlite::Error> for JobError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Store(e.to_string())
    }
}

impl From<crate::fields::FieldError> for JobError {
    fn from(e: crate::fields::FieldError) -> Self {
        Self::Invalid { code: e.code, field: e.field, message: e.message }
    }
}
