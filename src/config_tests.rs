//! Tests of the service's settings: flags over the config file over defaults.

use super::*;

#[test]
fn flags_override_file_which_overrides_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.toml");
    std::fs::write(&file, "data_dir = \"/from/file\"\nmax_concurrent = 7\nlisten = \"127.0.0.1:9999\"\n").unwrap();
    let mut args = ServeArgs { max_concurrent: Some(3), ..ServeArgs::default() };
    args.common.config = Some(file);
    let s = Settings::resolve(&args).unwrap();
    assert_eq!(s.data_dir, PathBuf::from("/from/file"));
    assert_eq!(s.max_concurrent, 3);
    assert_eq!(s.listen.port(), 9999);
    assert_eq!(s.start_timeout, Duration::from_secs(15));
}

#[test]
fn a_relative_data_dir_is_made_absolute() {
    let mut args = ServeArgs::default();
    args.common.data_dir = Some("rel/data".into());
    let s = Settings::resolve(&args).unwrap();
    assert_eq!(s.data_dir, std::env::current_dir().unwrap().join("rel/data"));
    assert_eq!(s.assets_dir, s.data_dir.join("assets"));
}

#[test]
fn api_tokens_come_from_the_file_or_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.toml");
    std::fs::write(&file, "[api_tokens]\nci = \"from-the-file-0123\"\n").unwrap();
    let mut args = ServeArgs::default();
    args.common.config = Some(file);
    assert_eq!(Settings::resolve(&args).unwrap().api_tokens, [("ci".to_owned(), "from-the-file-0123".to_owned())]);
    args.api_tokens = Some("ops=flag-token-0123456, ci = other-token-0123456".into());
    let names: Vec<String> = Settings::resolve(&args).unwrap().api_tokens.into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["ops", "ci"]);
    args.api_tokens = Some("no-equals-sign".into());
    assert!(Settings::resolve(&args).is_err());
}

#[test]
fn url_policy_comes_from_the_file_or_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.toml");
    std::fs::write(&file, "[url_policy]\nallow_hosts = [\"Intranet.example\"]\nallow_private = true\n").unwrap();
    let mut args = ServeArgs::default();
    assert!(Settings::resolve(&args).unwrap().url_policy.allow_hosts().is_empty());
    assert!(!Settings::resolve(&args).unwrap().url_policy.allows_private());
    args.common.config = Some(file);
    let policy = Settings::resolve(&args).unwrap().url_policy;
    assert_eq!((policy.allow_hosts(), policy.allows_private()), (&["intranet.example".to_owned()][..], true));
    args.common.url_allow_hosts = Some(vec!["127.0.0.1".into(), "*.cdn.example".into()]);
    args.common.url_allow_private = Some(false);
    let policy = Settings::resolve(&args).unwrap().url_policy;
    assert_eq!((policy.allow_hosts(), policy.allows_private()), (&["127.0.0.1".to_owned(), "*.cdn.example".to_owned()][..], false));
    args.common.url_allow_hosts = Some(vec!["http://x/".into()]);
    assert!(Settings::resolve(&args).is_err());
}

#[test]
fn the_log_format_can_come_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.toml");
    std::fs::write(&file, "log_format = \"json\"\n").unwrap();
    assert_eq!(file_log_format(&file), Some(LogFormat::Json));
    std::fs::write(&file, "log_format = \"yaml\"\n").unwrap();
    assert_eq!(file_log_format(&file), None);
    assert!(read_file(&file).unwrap_err().to_string().contains("log_format"));
}

#[test]
fn unknown_config_keys_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.toml");
    std::fs::write(&file, "dta_dir = \"x\"\n").unwrap();
    let err = read_file(&file).unwrap_err().to_string();
    assert!(err.contains("dta_dir"), "{err}");
}
