//! Layouts: the catalog of built-in and custom layout folders ([`catalog`]), branding and the
//! per-recording page settings with their checks ([`branding`], [`settings`]), the loopback asset
//! server the recorder browsers load pages from ([`server`]) with its Content-Security-Policy
//! ([`csp`]), and previews rendered with
//! simulated participants ([`preview`]).

pub mod branding;
pub mod catalog;
pub mod csp;
pub mod preview;
pub mod server;
pub mod settings;

use std::path::PathBuf;

pub use branding::Branding;
pub use catalog::{Catalog, LayoutInfo};
pub use server::{AssetServer, default_dir};
pub use settings::{PageSettings, SettingsPatch};

/// Errors of the layouts module.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("layouts directory {0} not found (set --layouts-dir or WALLFLOWER_LAYOUTS_DIR)")]
    DirNotFound(PathBuf),
    /// A request asked for something invalid; `field` names it.
    #[error("{message}")]
    Invalid { code: &'static str, field: String, message: String },
    #[error("unknown layout {name:?}; valid layouts: {}", valid.join(", "))]
    Unknown { name: String, valid: Vec<String> },
    #[error("layout manifest: {0}")]
    Manifest(String),
    #[error("preview failed: {0}")]
    Preview(String),
    #[error("previews are busy ({0} rendering); retry shortly")]
    PreviewBusy(usize),
    #[error("cannot serve layouts: {0}")]
    Io(#[from] std::io::Error),
}

impl LayoutError {
    /// A validation error on `field`.
    pub fn invalid(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { code, field: field.into(), message: message.into() }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::DirNotFound(_) => "layouts_dir_not_found",
            Self::Invalid { code, .. } => code,
            Self::Unknown { .. } => "unknown_layout",
            Self::Manifest(_) => "layout_manifest_invalid",
            Self::Preview(_) => "preview_failed",
            Self::PreviewBusy(_) => "preview_busy",
            Self::Io(_) => "io_error",
        }
    }

    /// True when the request was at fault.
    pub fn is_client_error(&self) -> bool {
        matches!(self, Self::Invalid { .. } | Self::Unknown { .. })
    }

    /// The request field at fault, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid { field, .. } => Some(field).filter(|f| !f.is_empty()).map(String::as_str),
            Self::Unknown { .. } => Some("layout"),
            _ => None,
        }
    }
}

impl From<crate::fields::FieldError> for LayoutError {
    fn from(e: crate::fields::FieldError) -> Self {
        Self::Invalid { code: e.code, field: e.field, message: e.message }
    }
}
