use super::*;

fn write(dir: &Path, name: &str, manifest: &str) {
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("layout.json"), manifest).unwrap();
    std::fs::write(folder.join("index.html"), "<!doctype html>").unwrap();
}

fn catalog() -> (tempfile::TempDir, Catalog) {
    let root = tempfile::tempdir().unwrap();
    let (builtin, custom) = (root.path().join("builtin"), root.path().join("custom"));
    write(&builtin, "grid", r#"{"name":"grid","description":"built-in grid"}"#);
    write(&builtin, "single", r#"{"name":"single","description":"one",
        "params":{"participant":{"type":"string","max_length":5},
                  "zoom":{"type":"number","minimum":1,"maximum":2,"default":1},
                  "side":{"type":"string","enum":["left","right"],"default":"left"}}}"#);
    write(&custom, "grid", r#"{"name":"whatever","description":"my grid"}"#);
    write(&custom, "broken", "{not json");
    std::fs::create_dir_all(builtin.join("sdk")).unwrap();
    (root, Catalog::new(builtin, Some(custom)))
}

#[test]
fn custom_layouts_override_built_ins_by_name() {
    let (_root, catalog) = catalog();
    let names: Vec<(String, Origin)> = catalog.list().into_iter().map(|l| (l.name, l.origin)).collect();
    assert_eq!(names, [("grid".into(), Origin::Custom), ("single".into(), Origin::Builtin)]);
    assert_eq!(catalog.get("grid").unwrap().description, "my grid");
    assert!(catalog.folder_of("grid").unwrap().ends_with("custom/grid"));
    assert!(catalog.folder_of("single").unwrap().ends_with("builtin/single"));
}

#[test]
fn names_are_checked_and_unknown_ones_list_the_valid_ones() {
    let (_root, catalog) = catalog();
    for bad in ["../etc", "/abs", "a/b", "", "sdk", ".hidden", "grid\0"] {
        let err = catalog.get(bad).unwrap_err();
        assert_eq!(err.code(), "invalid_layout_name", "{bad:?}");
    }
    let err = catalog.get("speaker").unwrap_err();
    assert_eq!(err.code(), "unknown_layout");
    assert!(err.to_string().contains("grid, single"), "{err}");
    assert_eq!(catalog.get("broken").unwrap_err().code(), "unknown_layout");
}

#[test]
fn params_are_checked_and_defaults_filled() {
    let (_root, catalog) = catalog();
    let single = catalog.get("single").unwrap();
    let params = |v: Value| single.resolve_params(v.as_object().unwrap());
    let ok = params(serde_json::json!({"participant": "Bob"})).unwrap();
    assert_eq!(Value::Object(ok), serde_json::json!({"participant": "Bob", "zoom": 1, "side": "left"}));
    let field = |v: Value| match params(v).unwrap_err() {
        LayoutError::Invalid { code, field, .. } => (code, field),
        other => panic!("{other:?}"),
    };
    assert_eq!(field(serde_json::json!({"nope": 1})), ("unknown_field", "layout_params.nope".into()));
    assert_eq!(field(serde_json::json!({"zoom": 3})), ("invalid_value", "layout_params.zoom".into()));
    assert_eq!(field(serde_json::json!({"side": "up"})), ("invalid_value", "layout_params.side".into()));
    assert_eq!(field(serde_json::json!({"participant": 7})), ("invalid_value", "layout_params.participant".into()));
    assert_eq!(field(serde_json::json!({"participant": "Bartholomew"})), ("invalid_value", "layout_params.participant".into()));
}
