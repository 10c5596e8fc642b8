//! Checks on request fields shared by every module that validates input (recording requests,
//! branding, layout settings, call events, previews): one error shape — a stable code, the
//! field's path and a message — that each module's error enum wraps, and the reading of serde's
//! errors into that shape.

/// A request field that is not acceptable.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub code: &'static str,
    /// Dotted path, e.g. `output.width`; empty for the body as a whole.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { code, field: field.into(), message: message.into() }
    }
}

/// `value` within `min..=max`, else `out_of_range`.
pub fn in_range(field: &str, value: u64, min: u64, max: u64) -> Result<(), FieldError> {
    if (min..=max).contains(&value) {
        return Ok(());
    }
    Err(FieldError::new("out_of_range", field, format!("{field} must be between {min} and {max}, got {value}")))
}

/// `min..=max` characters, else `invalid_length`.
pub fn length(field: &str, value: &str, min: usize, max: usize) -> Result<(), FieldError> {
    let n = value.chars().count();
    if (min..=max).contains(&n) {
        return Ok(());
    }
    let bounds = if min == 0 { format!("at most {max}") } else { format!("{min} to {max}") };
    Err(FieldError::new("invalid_length", field, format!("{field} must be {bounds} characters long, got {n}")))
}

/// An absolute URL with one of `schemes` and a host, else `invalid_url`.
pub fn url(field: &str, value: &str, schemes: &[&str]) -> Result<url::Url, FieldError> {
    let invalid = |why: String| FieldError::new("invalid_url", field, why);
    let parsed = url::Url::parse(value).map_err(|e| invalid(format!("{field} is not a valid URL: {e}")))?;
    if !schemes.contains(&parsed.scheme()) {
        let allowed = schemes.join(" or ");
        return Err(invalid(format!("{field} must be {allowed}, not `{}`", parsed.scheme())));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid(format!("{field} has no host")));
    }
    Ok(parsed)
}

/// An http(s) URL, or the plain name of a file in the operator's assets folder (no traversal):
/// `invalid_url`, or `asset_not_found` for a name with no such file.
pub fn url_or_asset(field: &str, value: &str, assets: &std::path::Path) -> Result<(), FieldError> {
    if url::Url::parse(value).is_ok() {
        return url(field, value, &["http", "https"]).map(drop);
    }
    let safe_part = |p: &str| !p.is_empty() && !p.starts_with('.') && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if value.len() > 200 || !value.split('/').all(safe_part) {
        let message = format!("{field}: {value:?} is neither an http(s) URL nor a plain file name in the assets folder");
        return Err(FieldError::new("invalid_url", field, message));
    }
    if !assets.join(value).is_file() {
        let message = format!("{field}: no file {value:?} in the assets folder {}", assets.display());
        return Err(FieldError::new("asset_not_found", field, message));
    }
    Ok(())
}

/// Reads a serde error at `path` (as `serde_path_to_error` prints it; `.` is the top) under
/// `prefix` (e.g. `branding`, or empty): `malformed_json`, `unknown_field`, `missing_field`,
/// `invalid_value` (an unknown enum variant: callers may know better) or `invalid_type`.
pub fn from_serde(prefix: &str, path: &str, err: &serde_json::Error) -> FieldError {
    use serde_json::error::Category;
    let text = err.to_string();
    let message = text.split(" at line ").next().unwrap_or(&text).to_owned();
    if matches!(err.classify(), Category::Syntax | Category::Eof) {
        return FieldError::new("malformed_json", "", format!("malformed JSON: {message}"));
    }
    let base = match (prefix, path) {
        (p, ".") => p.to_owned(),
        ("", p) => p.to_owned(),
        (p, q) => format!("{p}.{q}"),
    };
    let field = |name: Option<&str>| match name {
        Some(n) if base.is_empty() => n.to_owned(),
        Some(n) if !base.ends_with(n) => format!("{base}.{n}"),
        _ => base.clone(),
    };
    let quoted = |prefix: &str| message.strip_prefix(prefix).and_then(|r| r.split('`').next()).map(String::from);
    if let Some(name) = quoted("unknown field `") {
        return FieldError::new("unknown_field", field(Some(&name)), message);
    }
    if let Some(name) = quoted("missing field `") {
        return FieldError::new("missing_field", field(Some(&name)), message);
    }
    let code = if message.starts_with("unknown variant") { "invalid_value" } else { "invalid_type" };
    FieldError::new(code, field(None), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read<T: serde::de::DeserializeOwned + std::fmt::Debug>(prefix: &str, json: &str) -> FieldError {
        let de = &mut serde_json::Deserializer::from_str(json);
        let err = serde_path_to_error::deserialize::<_, T>(de).unwrap_err();
        from_serde(prefix, &err.path().to_string(), err.inner())
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        width: u32,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        output: Inner,
    }

    #[test]
    fn serde_errors_name_code_and_field() {
        let e = |prefix, json| {
            let e = read::<Outer>(prefix, json);
            (e.code, e.field)
        };
        assert_eq!(e("", r#"{"output":{"width":"x"}}"#), ("invalid_type", "output.width".into()));
        assert_eq!(e("", r#"{"output":{"widht":1}}"#), ("unknown_field", "output.widht".into()));
        assert_eq!(e("", r#"{"output":{}}"#), ("missing_field", "output.width".into()));
        assert_eq!(e("", r#"{"outptu":{}}"#), ("unknown_field", "outptu".into()));
        assert_eq!(e("", r#"{"output":"#).0, "malformed_json");
        assert_eq!(e("branding", r#"{"outptu":{}}"#), ("unknown_field", "branding.outptu".into()));
    }

    #[test]
    fn lengths_ranges_and_urls() {
        assert_eq!(length("title", "abc", 0, 2).unwrap_err().message, "title must be at most 2 characters long, got 3");
        assert_eq!(length("text", "", 1, 5).unwrap_err().code, "invalid_length");
        assert!(in_range("fps", 61, 1, 60).is_err() && in_range("fps", 60, 1, 60).is_ok());
        assert_eq!(url("u", "ftp://x/y", &["http", "https"]).unwrap_err().code, "invalid_url");
        assert!(url("u", "https://x/y", &["http", "https"]).is_ok());
    }
}
