use super::*;

fn policy(allow_hosts: &[&str], allow_private: bool) -> UrlPolicy {
    let config = UrlPolicyConfig { allow_hosts: allow_hosts.iter().map(|h| h.to_string()).collect(), allow_private };
    UrlPolicy::new(&config).unwrap()
}

async fn code(policy: &UrlPolicy, url: &str) -> Result<(), &'static str> {
    policy.check("source.url", url).await.map(drop).map_err(|e| e.code())
}

#[tokio::test]
async fn only_http_and_https_pass() {
    let p = UrlPolicy::default();
    for url in ["file:///etc/passwd", "chrome://settings", "data:text/html,<b>x</b>", "javascript:alert(1)",
        "ftp://example.com/x", "ws://93.184.216.34/", "view-source:http://93.184.216.34/", "not a url", "http://"] {
        assert_eq!(code(&p, url).await, Err("invalid_url"), "{url}");
    }
    assert_eq!(code(&p, "http://93.184.216.34/page").await, Ok(()));
    assert_eq!(code(&p, "https://[2606:4700:4700::1111]/").await, Ok(()));
}

#[tokio::test]
async fn private_destinations_are_refused_in_every_spelling() {
    let p = UrlPolicy::default();
    for url in [
        "http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:8080/", "http://localhost/",
        "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://0x7f000001/",
        "http://2130706433/", "http://0177.0.0.1/", "http://127.1/", "http://0/", "http://10.0.0.1/",
        "http://[fd00::1]/", "http://[fe80::1]/", "http://100.64.0.1/", "http://user:pw@192.168.0.1/",
        "https://224.0.0.1/", "http://[::]/",
    ] {
        let err = p.check("source.url", url).await.unwrap_err();
        assert_eq!((err.code(), err.field()), ("url_not_allowed", "source.url"), "{url}: {err}");
    }
}

#[tokio::test]
async fn allow_private_lets_them_through() {
    let p = policy(&[], true);
    for url in ["http://169.254.169.254/", "http://[::ffff:127.0.0.1]/", "http://0x7f000001/", "http://localhost:9/"] {
        assert_eq!(code(&p, url).await, Ok(()), "{url}");
    }
    assert_eq!(code(&p, "file:///etc/passwd").await, Err("invalid_url"));
}

#[tokio::test]
async fn an_allowlist_admits_only_its_hosts_and_trusts_them() {
    let p = policy(&["127.0.0.1", "*.Example.com.", "[::1]", "intranet"], false);
    assert_eq!(code(&p, "http://127.0.0.1:3000/page").await, Ok(()));
    assert_eq!(code(&p, "http://0x7f000001/").await, Ok(()), "the same address in another spelling");
    assert_eq!(code(&p, "http://[::1]:80/").await, Ok(()));
    assert_eq!(code(&p, "http://INTRANET/x").await, Ok(()));
    assert_eq!(code(&p, "http://127.0.0.2/").await, Err("url_not_allowed"));
    assert_eq!(code(&p, "http://93.184.216.34/").await, Err("url_not_allowed"));
    assert_eq!(code(&p, "http://example.com/").await, Err("url_not_allowed"), "*.domain is for subdomains");
    assert_eq!(code(&p, "http://evilexample.com/").await, Err("url_not_allowed"));
    let err = p.check("branding.logo_url", "http://169.254.169.254/").await.unwrap_err();
    assert!(matches!(err, UrlPolicyError::HostNotAllowed { .. }) && err.field() == "branding.logo_url", "{err}");
}

#[test]
fn bad_allowlist_entries_are_refused() {
    for bad in ["", "http://x.example", "a host"] {
        let config = UrlPolicyConfig { allow_hosts: vec![bad.into()], allow_private: false };
        assert!(UrlPolicy::new(&config).is_err(), "{bad:?}");
    }
}

#[test]
fn shown_urls_lose_credentials_and_query() {
    let url = Url::parse("https://user:secret@cdn.example.com/a/b.png?sig=123#frag").unwrap();
    assert_eq!(display(&url), "https://cdn.example.com/a/b.png");
}
