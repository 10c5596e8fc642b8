//! Branding of a call recording (`branding` in requests): texts, a logo, colours, a font, name
//! labels, a watermark and extra CSS. Every value is checked here; the page renders every text as
//! text (never as HTML).

use std::path::Path;

use serde::{Deserialize, Serialize};
use url::Url;
use utoipa::ToSchema;

use super::LayoutError;
use crate::fields::{self, FieldError};

/// Largest `custom_css`, in bytes.
pub const MAX_CUSTOM_CSS: usize = 16 * 1024;

/// How a recording looks beyond its layout; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Branding {
    /// Shown in a title bar (at most 200 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Shown under the title (at most 200 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    /// An http(s) URL, or the name of a file in the operator's assets folder (`logo.png`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_position: Option<LogoPosition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colors: Option<Colors>,
    /// A CSS font family name, e.g. `Noto Serif` (CJK and emoji fall back to bundled fonts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub font_family: Option<String>,
    /// Name labels on tiles (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_names: Option<bool>,
    /// A translucent text across the picture (at most 100 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<String>,
    /// Extra CSS applied after the layout's own (at most 16 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_css: Option<String>,
}

/// Corner of the logo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LogoPosition {
    TopLeft,
    TopRight,
    BottomLeft,
    BottomRight,
}

/// Colours as `#rgb`, `#rgba`, `#rrggbb` or `#rrggbbaa`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Colors {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl Branding {
    /// Checks every field; `assets` is the operator's assets folder (for logo file names).
    pub fn validate(&self, assets: &Path) -> Result<(), LayoutError> {
        Ok(self.check_fields(assets)?)
    }

    fn check_fields(&self, assets: &Path) -> Result<(), FieldError> {
        text_max("branding.title", self.title.as_deref(), 200)?;
        text_max("branding.subtitle", self.subtitle.as_deref(), 200)?;
        text_max("branding.watermark", self.watermark.as_deref(), 100)?;
        if let Some(font) = &self.font_family {
            check_font(font)?;
        }
        if let Some(css) = self.custom_css.as_deref().filter(|c| c.len() > MAX_CUSTOM_CSS) {
            let message = format!("branding.custom_css is {} bytes; at most {MAX_CUSTOM_CSS} are allowed", css.len());
            return Err(FieldError::new("too_large", "branding.custom_css", message));
        }
        if let Some(colors) = &self.colors {
            check_color("branding.colors.background", colors.background.as_deref())?;
            check_color("branding.colors.primary", colors.primary.as_deref())?;
            check_color("branding.colors.text", colors.text.as_deref())?;
        }
        if let Some(logo) = &self.logo_url {
            fields::url_or_asset("branding.logo_url", logo, assets)?;
        }
        Ok(())
    }

    /// The branding as the page gets it: a logo file name becomes its URL on the asset server.
    pub fn for_page(&self, assets_url: &Url) -> serde_json::Value {
        let mut branding = self.clone();
        if let Some(logo) = branding.logo_url.as_mut().filter(|l| Url::parse(l).is_err()) {
            *logo = assets_url.join(logo).map(String::from).unwrap_or_default();
        }
        serde_json::to_value(branding).unwrap_or_default()
    }
}

fn text_max(field: &str, value: Option<&str>, max: usize) -> Result<(), FieldError> {
    value.map_or(Ok(()), |v| fields::length(field, v, 0, max))
}

fn check_color(field: &str, value: Option<&str>) -> Result<(), FieldError> {
    let Some(value) = value else { return Ok(()) };
    let hex = value.strip_prefix('#').unwrap_or("");
    if [3, 4, 6, 8].contains(&hex.len()) && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(());
    }
    let message = format!("{field} must be a hex colour like #1a2b3c (or #rgb, #rgba, #rrggbbaa), got {value:?}");
    Err(FieldError::new("invalid_color", field, message))
}

/// Font names end up in CSS: letters, digits, spaces and `-_.,'"` only.
fn check_font(font: &str) -> Result<(), FieldError> {
    let allowed = |c: char| c.is_alphanumeric() || " -_.,'\"".contains(c);
    if !font.trim().is_empty() && font.chars().count() <= 200 && font.chars().all(allowed) {
        return Ok(());
    }
    let message = "branding.font_family must be 1-200 characters of letters, digits, spaces and -_.,'\" (a CSS font family)";
    Err(FieldError::new("invalid_value", "branding.font_family", message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(json: &str) -> Result<(), (&'static str, String)> {
        let assets = tempfile::tempdir().unwrap();
        std::fs::write(assets.path().join("logo.png"), b"png").unwrap();
        let branding: Branding = serde_json::from_str(json).unwrap();
        branding.validate(assets.path()).map_err(|e| (e.code(), e.field().unwrap_or_default().to_owned()))
    }

    #[test]
    fn good_branding_passes() {
        let json = r##"{"title":"<script>alert(1)</script>","subtitle":"山田 🎉","logo_url":"logo.png",
            "logo_position":"bottom-left","colors":{"background":"#000","primary":"#5ee08fcc","text":"#FFFFFF"},
            "font_family":"Noto Serif, 'DejaVu Sans'","show_names":false,"watermark":"DRAFT","custom_css":".tile{}"}"##;
        assert_eq!(check(json), Ok(()));
        assert_eq!(check(r#"{"logo_url":"https://cdn.example.com/l.svg"}"#), Ok(()));
    }

    #[test]
    fn bad_values_name_their_field() {
        let err = |json: &str| check(json).unwrap_err();
        assert_eq!(err(r#"{"colors":{"primary":"red"}}"#), ("invalid_color", "branding.colors.primary".into()));
        assert_eq!(err(r##"{"colors":{"text":"#12345"}}"##), ("invalid_color", "branding.colors.text".into()));
        assert_eq!(err(r##"{"colors":{"background":"#ggg"}}"##), ("invalid_color", "branding.colors.background".into()));
        assert_eq!(err(r#"{"logo_url":"javascript:alert(1)"}"#), ("invalid_url", "branding.logo_url".into()));
        assert_eq!(err(r#"{"logo_url":"../secret.png"}"#), ("invalid_url", "branding.logo_url".into()));
        assert_eq!(err(r#"{"logo_url":"/etc/passwd"}"#), ("invalid_url", "branding.logo_url".into()));
        assert_eq!(err(r#"{"logo_url":"missing.png"}"#), ("asset_not_found", "branding.logo_url".into()));
        assert_eq!(err(r#"{"font_family":"x; } body { display:none"}"#), ("invalid_value", "branding.font_family".into()));
        let long = format!(r#"{{"custom_css":"{}"}}"#, "a".repeat(MAX_CUSTOM_CSS + 1));
        assert_eq!(err(&long), ("too_large", "branding.custom_css".into()));
        let title = format!(r#"{{"title":"{}"}}"#, "t".repeat(201));
        assert_eq!(err(&title), ("invalid_length", "branding.title".into()));
    }

    #[test]
    fn logo_files_become_asset_urls_for_the_page() {
        let base = Url::parse("http://127.0.0.1:9/assets/").unwrap();
        let b = Branding { logo_url: Some("brand/logo.png".into()), ..Branding::default() };
        assert_eq!(b.for_page(&base)["logo_url"], "http://127.0.0.1:9/assets/brand/logo.png");
        let b = Branding { logo_url: Some("https://x.example/l.png".into()), ..Branding::default() };
        assert_eq!(b.for_page(&base)["logo_url"], "https://x.example/l.png");
    }
}
