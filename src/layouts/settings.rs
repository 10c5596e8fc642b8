//! What a call recording's page shows: its layout, the layout's parameters and the branding —
//! checked against the catalog when a recording is requested, and again on every live change
//! (`PATCH /v1/recordings/{id}`), which bumps the revision the page acknowledges.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;
use utoipa::ToSchema;

use super::{Branding, Catalog, LayoutError};

/// The layout of a call recording when the request names none.
pub const DEFAULT_LAYOUT: &str = "grid";
/// Not a folder: `presentation` while a slide or a shared screen is shown, else `grid`.
pub const AUTO_LAYOUT: &str = "auto";

/// Which call events the layout draws into the video (all are in the timeline either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Overlays {
    /// A panel with the latest chat messages.
    pub chat: bool,
    /// Emoji floating up over the sender's tile.
    pub reactions: bool,
    /// The current slide, shown large by the presentation layout.
    pub slides: bool,
}

impl Default for Overlays {
    fn default() -> Self {
        Self { chat: true, reactions: true, slides: true }
    }
}

/// The layout catalog plus the operator's assets folder: everything settings are checked against.
#[derive(Debug, Clone)]
pub struct Layouts {
    pub catalog: Catalog,
    /// Files branding may refer to by name (logos); served under `/assets/`.
    pub assets_dir: PathBuf,
}

/// A recording's current page settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PageSettings {
    /// Bumped by every live change; the page reports the revision it shows.
    pub revision: u32,
    pub layout: String,
    /// The layout's parameters, defaults filled in.
    #[schema(value_type = Object)]
    pub layout_params: Map<String, Value>,
    #[serde(default)]
    pub branding: Branding,
    #[serde(default)]
    pub overlays: Overlays,
}

/// A live change: any field left out stays as it is.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    /// Switch to this layout (its parameters reset to their defaults unless `layout_params` is given).
    #[serde(default)]
    pub layout: Option<String>,
    /// Replaces the layout's parameters.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub layout_params: Option<Map<String, Value>>,
    /// Merged into the branding (JSON merge patch: `null` removes a field).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub branding: Option<Value>,
    /// Merged into the overlay switches, e.g. `{"chat": false}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub overlays: Option<Value>,
}

impl Layouts {
    /// The built-in layouts in `dir` alone (no custom folder; assets in `dir/assets`).
    pub fn builtin(dir: &std::path::Path) -> Self {
        Self { catalog: Catalog::new(dir.to_path_buf(), None), assets_dir: dir.join("assets") }
    }

    /// Checks a request's layout, parameters and branding; the first revision.
    pub fn settings(
        &self,
        layout: Option<&str>,
        params: Option<&Map<String, Value>>,
        branding: Option<&Branding>,
    ) -> Result<PageSettings, LayoutError> {
        let (layout, layout_params) = self.layout(layout.unwrap_or(DEFAULT_LAYOUT), params.unwrap_or(&Map::new()))?;
        let branding = branding.cloned().unwrap_or_default();
        branding.validate(&self.assets_dir)?;
        Ok(PageSettings { revision: 0, layout, layout_params, branding, overlays: Overlays::default() })
    }

    /// The layout's name and its parameters with defaults; `auto` takes none.
    fn layout(&self, name: &str, params: &Map<String, Value>) -> Result<(String, Map<String, Value>), LayoutError> {
        if name == AUTO_LAYOUT {
            if let Some(key) = params.keys().next() {
                let message = format!("layout `auto` takes no parameters (got `{key}`)");
                return Err(LayoutError::invalid("unknown_field", format!("layout_params.{key}"), message));
            }
            return Ok((AUTO_LAYOUT.to_owned(), Map::new()));
        }
        let info = self.catalog.get(name).map_err(|e| match e {
            LayoutError::Unknown { name, mut valid } => {
                valid.push(AUTO_LAYOUT.to_owned());
                valid.sort();
                LayoutError::Unknown { name, valid }
            }
            other => other,
        })?;
        Ok((info.name.clone(), info.resolve_params(params)?))
    }

    /// `current` with `patch` applied, checked, as the next revision.
    pub fn apply(&self, current: &PageSettings, patch: &SettingsPatch) -> Result<PageSettings, LayoutError> {
        if patch.layout.is_none() && patch.layout_params.is_none() && patch.branding.is_none() && patch.overlays.is_none() {
            let message = "nothing to change: give `layout`, `layout_params`, `branding` and/or `overlays`";
            return Err(LayoutError::invalid("empty_patch", "", message));
        }
        let layout = patch.layout.as_deref().unwrap_or(&current.layout);
        let params = match (&patch.layout_params, &patch.layout) {
            (Some(given), _) => given.clone(),
            (None, Some(new)) if *new != current.layout => Map::new(),
            (None, _) => current.layout_params.clone(),
        };
        let branding = match &patch.branding {
            Some(changes) => merged("branding", &current.branding, changes)?,
            None => current.branding.clone(),
        };
        let mut next = self.settings(Some(layout), Some(&params), Some(&branding))?;
        next.overlays = match &patch.overlays {
            Some(changes) => merged("overlays", &current.overlays, changes)?,
            None => current.overlays,
        };
        next.revision = current.revision + 1;
        Ok(next)
    }
}

/// RFC 7396 merge of `changes` into `current` (the request field `name`), read back with the
/// same field checks.
fn merged<T: Serialize + serde::de::DeserializeOwned>(name: &str, current: &T, changes: &Value) -> Result<T, LayoutError> {
    let mut merged = serde_json::to_value(current).unwrap_or_default();
    merge(&mut merged, changes);
    let de = serde_path_to_error::deserialize::<_, T>(merged);
    de.map_err(|e| {
        let mut error = crate::fields::from_serde(name, &e.path().to_string(), e.inner());
        // Whatever the JSON shape, a merged value that does not fit is a bad value of `name`.
        if error.code != "unknown_field" {
            error.code = "invalid_value";
        }
        error.message = format!("{name}: {}", error.message);
        error.into()
    })
}

fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(changes) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(map) = target else { return };
    for (key, value) in changes {
        if value.is_null() {
            map.remove(key);
        } else {
            merge(map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

impl PageSettings {
    /// The settings as the page gets them (`window.__wallflowerConfig` fields, or an update);
    /// `base` is the asset server's URL.
    pub fn for_page(&self, base: &Url) -> Value {
        let assets = base.join("assets/").unwrap_or_else(|_| base.clone());
        serde_json::json!({
            "revision": self.revision,
            "layout": self.layout,
            "layout_params": self.layout_params,
            "branding": self.branding.for_page(&assets),
            "overlays": self.overlays,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layouts() -> (tempfile::TempDir, Layouts) {
        let root = tempfile::tempdir().unwrap();
        for (name, manifest) in [
            ("grid", r#"{"name":"grid","description":"g"}"#),
            ("single", r#"{"name":"single","description":"s","params":{"participant":{"type":"string"}}}"#),
        ] {
            let dir = root.path().join("builtin").join(name);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("layout.json"), manifest).unwrap();
            std::fs::write(dir.join("index.html"), "").unwrap();
        }
        let catalog = Catalog::new(root.path().join("builtin"), None);
        let layouts = Layouts { catalog, assets_dir: root.path().join("assets") };
        (root, layouts)
    }

    #[test]
    fn requests_default_to_the_grid() {
        let (_root, layouts) = layouts();
        let s = layouts.settings(None, None, None).unwrap();
        assert_eq!((s.revision, s.layout.as_str()), (0, "grid"));
    }

    #[test]
    fn patches_switch_layouts_and_merge_branding() {
        let (_root, layouts) = layouts();
        let branding = Branding { title: Some("Q3".into()), watermark: Some("DRAFT".into()), ..Branding::default() };
        let first = layouts.settings(Some("single"), Some(&serde_json::from_str(r#"{"participant":"Ann"}"#).unwrap()), Some(&branding)).unwrap();
        let patch: SettingsPatch = serde_json::from_str(r##"{"branding":{"watermark":null,"colors":{"primary":"#fff"}}}"##).unwrap();
        let second = layouts.apply(&first, &patch).unwrap();
        assert_eq!(second.revision, 1);
        assert_eq!(second.layout_params["participant"], "Ann", "params kept on the same layout");
        assert_eq!(second.branding.title.as_deref(), Some("Q3"));
        assert_eq!(second.branding.watermark, None);
        assert_eq!(second.branding.colors.as_ref().unwrap().primary.as_deref(), Some("#fff"));
        let third = layouts.apply(&second, &serde_json::from_str(r#"{"layout":"grid"}"#).unwrap()).unwrap();
        assert_eq!((third.revision, third.layout.as_str(), third.layout_params.len()), (2, "grid", 0));
    }

    #[test]
    fn bad_patches_name_their_field() {
        let (_root, layouts) = layouts();
        let first = layouts.settings(None, None, None).unwrap();
        let code = |json: &str| {
            let err = layouts.apply(&first, &serde_json::from_str(json).unwrap()).unwrap_err();
            (err.code(), err.field().unwrap_or_default().to_owned())
        };
        assert_eq!(code(r#"{"layout":"nope"}"#), ("unknown_layout", "layout".into()));
        assert_eq!(code(r#"{"layout":"../../etc"}"#), ("invalid_layout_name", "layout".into()));
        assert_eq!(code(r#"{"branding":{"colors":{"text":"blue"}}}"#), ("invalid_color", "branding.colors.text".into()));
        assert_eq!(code(r#"{"branding":{"titel":"x"}}"#), ("unknown_field", "branding.titel".into()));
        assert_eq!(code(r#"{"branding":{"show_names":"no"}}"#), ("invalid_value", "branding.show_names".into()));
        assert_eq!(code(r#"{"layout_params":{"x":1}}"#), ("unknown_field", "layout_params.x".into()));
        assert_eq!(code("{}").0, "empty_patch");
    }
}
