//! The layout catalog: which layouts exist (built-in folders, overridden by name by the operator's
//! custom folder), what each accepts (`layout.json`), and the checks on names and parameters.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::LayoutError;

/// Folders under a layouts directory that are never layouts.
const RESERVED: &[&str] = &["sdk", "assets"];

/// A layout's `layout.json`, plus where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LayoutInfo {
    pub name: String,
    pub description: String,
    /// Parameters the layout accepts in `layout_params`, by name.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: Map<String, Value>,
    /// Hints for previews (e.g. `screen_share: true` for a presentation layout).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub preview: Map<String, Value>,
    /// `builtin` or `custom`.
    #[serde(default)]
    pub origin: Origin,
}

/// Where a layout lives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    #[default]
    Builtin,
    Custom,
}

/// The built-in layouts directory and the operator's (optional) custom one.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub builtin: PathBuf,
    pub custom: Option<PathBuf>,
}

impl Catalog {
    pub fn new(builtin: PathBuf, custom: Option<PathBuf>) -> Self {
        Self { builtin, custom }
    }

    /// Every usable layout, sorted by name; a custom layout hides the built-in of the same name.
    /// Read from disk each time, so layouts an operator adds show up without a restart.
    pub fn list(&self) -> Vec<LayoutInfo> {
        let mut found: Vec<LayoutInfo> = Vec::new();
        let dirs = self.custom.iter().map(|d| (d, Origin::Custom)).chain([(&self.builtin, Origin::Builtin)]);
        for (dir, origin) in dirs {
            for info in scan(dir, origin) {
                if !found.iter().any(|f| f.name == info.name) {
                    found.push(info);
                }
            }
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));
        found
    }

    /// The layout called `name`, after checking the name itself.
    pub fn get(&self, name: &str) -> Result<LayoutInfo, LayoutError> {
        check_name(name)?;
        let all = self.list();
        match all.iter().find(|l| l.name == name) {
            Some(info) => Ok(info.clone()),
            None => Err(LayoutError::Unknown {
                name: name.to_owned(),
                valid: all.into_iter().map(|l| l.name).collect(),
            }),
        }
    }

    /// The folder that serves `name`: the custom one when it has that layout.
    pub fn folder_of(&self, name: &str) -> Option<PathBuf> {
        if check_name(name).is_err() {
            return None;
        }
        let custom = self.custom.as_ref().map(|d| d.join(name)).filter(|d| d.join("layout.json").is_file());
        custom.or_else(|| Some(self.builtin.join(name)))
    }
}

/// Layout names are plain folder names: no traversal, no absolute paths, nothing hidden.
pub fn check_name(name: &str) -> Result<(), LayoutError> {
    let ok_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let ok = !name.is_empty() && name.len() <= 64 && ok_chars && !name.starts_with(['-', '_']);
    if !ok || RESERVED.contains(&name) {
        return Err(LayoutError::invalid(
            "invalid_layout_name",
            "layout",
            format!("layout name {name:?} is not valid: use 1-64 letters, digits, `-` or `_` (a layout's folder name)"),
        ));
    }
    Ok(())
}

fn scan(dir: &Path, origin: Origin) -> Vec<LayoutInfo> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let manifest = entry.path().join("layout.json");
        if check_name(&name).is_err() || !manifest.is_file() || !entry.path().join("index.html").is_file() {
            continue;
        }
        match read_manifest(&manifest, &name) {
            Ok(mut info) => {
                info.origin = origin;
                out.push(info);
            }
            Err(e) => tracing::warn!(layout = %name, "skipping layout: {e}"),
        }
    }
    out
}

fn read_manifest(path: &Path, folder: &str) -> Result<LayoutInfo, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut info: LayoutInfo = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    // The folder name is what requests use; a different `name` inside would only confuse.
    info.name = folder.to_owned();
    for (param, spec) in &info.params {
        ParamSpec::parse(spec).map_err(|e| format!("{}: parameter `{param}`: {e}", path.display()))?;
    }
    Ok(info)
}

/// One entry of a manifest's `params`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamSpec {
    #[serde(rename = "type")]
    kind: ParamType,
    #[serde(default, rename = "enum")]
    choices: Option<Vec<Value>>,
    #[serde(default)]
    default: Option<Value>,
    #[serde(default)]
    minimum: Option<f64>,
    #[serde(default)]
    maximum: Option<f64>,
    #[serde(default)]
    max_length: Option<usize>,
    #[serde(default)]
    #[allow(dead_code)] // documentation for `GET /v1/layouts`
    description: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ParamType {
    String,
    Number,
    Integer,
    Boolean,
}

impl ParamSpec {
    fn parse(spec: &Value) -> Result<Self, String> {
        serde_json::from_value(spec.clone()).map_err(|e| e.to_string())
    }

    /// Why `value` does not fit, if it does not.
    fn check(&self, value: &Value) -> Option<String> {
        let type_ok = match self.kind {
            ParamType::String => value.is_string(),
            ParamType::Number => value.is_number(),
            ParamType::Integer => value.is_i64() || value.is_u64(),
            ParamType::Boolean => value.is_boolean(),
        };
        if !type_ok {
            return Some(format!("must be a {:?}", self.kind).to_lowercase());
        }
        if let Some(choices) = self.choices.as_ref().filter(|c| !c.contains(value)) {
            let list: Vec<String> = choices.iter().map(Value::to_string).collect();
            return Some(format!("must be one of {}", list.join(", ")));
        }
        if let (Some(n), Some(min)) = (value.as_f64(), self.minimum)
            && n < min
        {
            return Some(format!("must be at least {min}, got {n}"));
        }
        if let (Some(n), Some(max)) = (value.as_f64(), self.maximum)
            && n > max
        {
            return Some(format!("must be at most {max}, got {n}"));
        }
        if let (Some(text), Some(max)) = (value.as_str(), self.max_length)
            && text.chars().count() > max
        {
            return Some(format!("must be at most {max} characters, got {}", text.chars().count()));
        }
        None
    }
}

impl LayoutInfo {
    /// Checks `given` against the manifest and fills in defaults.
    pub fn resolve_params(&self, given: &Map<String, Value>) -> Result<Map<String, Value>, LayoutError> {
        if let Some(key) = given.keys().find(|k| !self.params.contains_key(*k)) {
            let known: Vec<&str> = self.params.keys().map(String::as_str).collect();
            let known = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
            return Err(LayoutError::invalid(
                "unknown_field",
                format!("layout_params.{key}"),
                format!("layout `{}` has no parameter `{key}` (it accepts: {known})", self.name),
            ));
        }
        let mut out = Map::new();
        for (name, spec) in &self.params {
            let spec = ParamSpec::parse(spec).map_err(|e| LayoutError::Manifest(format!("{}: {e}", self.name)))?;
            let Some(value) = given.get(name).or(spec.default.as_ref()) else { continue };
            if let Some(why) = spec.check(value) {
                let field = format!("layout_params.{name}");
                return Err(LayoutError::invalid("invalid_value", field.clone(), format!("{field} {why}")));
            }
            out.insert(name.clone(), value.clone());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
