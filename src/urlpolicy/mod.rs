//! The URL policy (SSRF guard) for what the recorder browsers load: the `web` source's page,
//! branding logos, slides and every request those pages make. Only http(s); with an allowlist
//! only its hosts; and no destination that resolves to a non-public address ([`addr`]) unless
//! the host is allowlisted or private destinations are allowed. The API checks URLs with it
//! before a recording starts; the recorder's browser checks every request with it again
//! (`recorder::guard`), which is what catches redirects and subresources.

pub mod addr;

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;
use url::{Host, Url};

use crate::fields::FieldError;

/// How long a host name may take to resolve before the URL is refused.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// `[url_policy]` in the config file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlPolicyConfig {
    /// Only these hosts (exact, or `*.example.com` for its subdomains); empty: any public host.
    /// A listed host is trusted even when it resolves to a private address.
    #[serde(default)]
    pub allow_hosts: Vec<String>,
    /// Allow destinations on loopback, private, link-local and other non-public addresses.
    #[serde(default)]
    pub allow_private: bool,
}

/// The policy, ready to check URLs. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct UrlPolicy {
    /// Normalised host patterns (lower case, no brackets or trailing dot).
    allow_hosts: Vec<String>,
    allow_private: bool,
}

/// A URL the policy refuses.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UrlPolicyError {
    #[error("{field} is not a valid URL: {reason}")]
    Invalid { field: String, reason: String },
    #[error("{field}: `{scheme}:` URLs are not allowed, only http and https")]
    Scheme { field: String, scheme: String },
    #[error("{field}: host `{host}` is not among the allowed hosts (url_policy.allow_hosts)")]
    HostNotAllowed { field: String, host: String },
    #[error("{field}: `{host}` is {addr}, a {class} address; private destinations are not allowed (url_policy.allow_private)")]
    NonPublic { field: String, host: String, addr: IpAddr, class: &'static str },
    #[error("{field}: cannot resolve `{host}`: {reason}")]
    Unresolvable { field: String, host: String, reason: String },
}

impl UrlPolicyError {
    /// Stable code: `invalid_url` (not a URL, or not http(s)), `url_not_allowed` (refused
    /// destination) or `unresolvable_host`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid { .. } | Self::Scheme { .. } => "invalid_url",
            Self::HostNotAllowed { .. } | Self::NonPublic { .. } => "url_not_allowed",
            Self::Unresolvable { .. } => "unresolvable_host",
        }
    }

    /// Always the requester's doing.
    pub fn is_client_error(&self) -> bool {
        true
    }

    /// The request field whose URL was refused.
    pub fn field(&self) -> &str {
        match self {
            Self::Invalid { field, .. } | Self::Scheme { field, .. } | Self::HostNotAllowed { field, .. } => field,
            Self::NonPublic { field, .. } | Self::Unresolvable { field, .. } => field,
        }
    }
}

impl From<UrlPolicyError> for FieldError {
    fn from(e: UrlPolicyError) -> Self {
        FieldError::new(e.code(), e.field().to_owned(), e.to_string())
    }
}

impl UrlPolicy {
    /// The policy of `config`; a blank host pattern is an error.
    pub fn new(config: &UrlPolicyConfig) -> Result<Self, String> {
        let mut allow_hosts = Vec::new();
        for host in &config.allow_hosts {
            let host = normalise(host);
            if host.is_empty() || (host.contains(['/', ':', ' ']) && host.parse::<IpAddr>().is_err()) {
                return Err(format!("url_policy.allow_hosts: `{host}` is not a host name, `*.domain` or IP address"));
            }
            allow_hosts.push(host);
        }
        Ok(Self { allow_hosts, allow_private: config.allow_private })
    }

    /// The allowlist as given (normalised); empty: any public host.
    pub fn allow_hosts(&self) -> &[String] {
        &self.allow_hosts
    }

    /// True when private destinations are allowed.
    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// Parses `value` (the request's `field`) and checks it: scheme, host, resolved addresses.
    pub async fn check(&self, field: &str, value: &str) -> Result<Url, UrlPolicyError> {
        let url = Url::parse(value).map_err(|e| UrlPolicyError::Invalid { field: field.to_owned(), reason: e.to_string() })?;
        self.check_url(field, &url).await?;
        Ok(url)
    }

    /// Checks a parsed URL (the browser's requests).
    pub async fn check_url(&self, field: &str, url: &Url) -> Result<(), UrlPolicyError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(UrlPolicyError::Scheme { field: field.to_owned(), scheme: url.scheme().to_owned() });
        }
        let Some(host) = url.host() else {
            return Err(UrlPolicyError::Invalid { field: field.to_owned(), reason: "no host".into() });
        };
        let name = normalise(&host.to_string());
        let listed = self.lists(&name);
        if !self.allow_hosts.is_empty() && !listed {
            return Err(UrlPolicyError::HostNotAllowed { field: field.to_owned(), host: name });
        }
        if listed || self.allow_private {
            return Ok(());
        }
        for addr in resolve(field, &host, url.port_or_known_default().unwrap_or(80)).await? {
            if let Some(class) = addr::non_public(addr) {
                return Err(UrlPolicyError::NonPublic { field: field.to_owned(), host: name, addr, class });
            }
        }
        Ok(())
    }

    /// True when `host` (normalised) matches an allowlist entry.
    fn lists(&self, host: &str) -> bool {
        self.allow_hosts.iter().any(|pattern| match pattern.strip_prefix("*.") {
            Some(domain) => host.strip_suffix(domain).is_some_and(|sub| sub.ends_with('.') && sub.len() > 1),
            None => pattern == host || same_ip(pattern, host),
        })
    }
}

/// A URL as it may be shown and logged: no user info, query or fragment.
pub fn display(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// Every address `host` stands for: itself for an IP literal, else what DNS says.
async fn resolve(field: &str, host: &Host<&str>, port: u16) -> Result<Vec<IpAddr>, UrlPolicyError> {
    let name = match host {
        Host::Ipv4(ip) => return Ok(vec![IpAddr::V4(*ip)]),
        Host::Ipv6(ip) => return Ok(vec![IpAddr::V6(*ip)]),
        Host::Domain(name) => *name,
    };
    let unresolvable = |reason: String| UrlPolicyError::Unresolvable { field: field.to_owned(), host: name.to_owned(), reason };
    let lookup = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((name, port))).await;
    let addrs: Vec<IpAddr> = match lookup {
        Err(_) => return Err(unresolvable(format!("no answer within {RESOLVE_TIMEOUT:?}"))),
        Ok(Err(e)) => return Err(unresolvable(e.to_string())),
        Ok(Ok(addrs)) => addrs.map(|a| a.ip()).collect(),
    };
    if addrs.is_empty() {
        return Err(unresolvable("no addresses".into()));
    }
    Ok(addrs)
}

/// Lower case, without IPv6 brackets or a trailing dot.
fn normalise(host: &str) -> String {
    host.trim().trim_start_matches('[').trim_end_matches(']').trim_end_matches('.').to_ascii_lowercase()
}

fn same_ip(a: &str, b: &str) -> bool {
    matches!((a.parse::<IpAddr>(), b.parse::<IpAddr>()), (Ok(x), Ok(y)) if x == y)
}

#[cfg(test)]
mod tests;
