//! The Content-Security-Policy of layout pages. Pages load only the service's own files
//! (`'self'`: the SDK, layouts, the assets folder); a recording's pages may also show images
//! from the hosts its request declared (a remote logo, `asset_hosts` for slides) and talk to its
//! Janus server. The recorder declares a recording's hosts here before loading its page under
//! `/r/{id}/…` on the asset server; everything there — the host page and every layout frame,
//! which it loads by relative URLs — is served with that recording's policy. Any other path gets
//! the strict one. Built-in pages run no inline script; an operator's custom layouts may (the
//! SDK's examples do), so their pages alone get `'unsafe-inline'` scripts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use url::Url;

/// The hosts one recording's pages may use beyond the service's own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sources {
    /// Origins images may come from (`https://cdn.example.com`).
    pub images: Vec<String>,
    /// Origins the page may connect to (the Janus WebSocket server).
    pub connect: Vec<String>,
}

impl Sources {
    /// The sources a recording declares: its remote logo and asset hosts (images) and its Janus
    /// server (connections). Values that are not absolute URLs (asset file names) add nothing.
    pub fn declared<'a>(images: impl IntoIterator<Item = &'a str>, connect: Option<&str>) -> Self {
        let images = images.into_iter().filter_map(origin).collect();
        Self { images, connect: connect.and_then(origin).into_iter().collect() }
    }

    /// The header value; `inline_scripts` for an operator's custom layout pages.
    pub fn header(&self, inline_scripts: bool) -> String {
        let script = if inline_scripts { "'self' 'unsafe-inline'" } else { "'self'" };
        let img = join("'self' data: blob:", &self.images);
        let connect = join("'self'", &self.connect);
        format!(
            "default-src 'self'; script-src {script}; style-src 'self' 'unsafe-inline'; img-src {img}; \
             media-src 'self' data: blob: mediastream:; font-src 'self' data:; connect-src {connect}; \
             frame-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'none'"
        )
    }
}

/// `scheme://host[:port]` of an http(s) or ws(s) URL; nothing else can be a CSP source here.
fn origin(url: &str) -> Option<String> {
    let url = Url::parse(url).ok()?;
    if !matches!(url.scheme(), "http" | "https" | "ws" | "wss") {
        return None;
    }
    Some(url.origin().ascii_serialization()).filter(|o| o != "null")
}

fn join(base: &str, extra: &[String]) -> String {
    extra.iter().fold(base.to_owned(), |all, o| format!("{all} {o}"))
}

/// Each running recording's declared sources, by recording id. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct PageSources {
    // A std Mutex: held for a map lookup, never across an await.
    by_recording: Arc<Mutex<HashMap<String, Sources>>>,
}

impl PageSources {
    /// Declares `id`'s sources (before its page loads).
    pub fn insert(&self, id: &str, sources: Sources) {
        self.lock().insert(id.to_owned(), sources);
    }

    /// Forgets `id` (its browser is gone).
    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    /// The policy for a page under `/r/{id}/` (`None`: any other path): the strict one for an
    /// unknown recording.
    pub fn header(&self, id: Option<&str>, inline_scripts: bool) -> String {
        let sources = id.and_then(|id| self.lock().get(id).cloned()).unwrap_or_default();
        sources.header(inline_scripts)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Sources>> {
        self.by_recording.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_hosts_join_self_and_nothing_else() {
        let logo = "https://cdn.example.com:8443/brand/logo.png?v=2";
        let sources = Sources::declared([logo, "logo.png", "javascript:alert(1)", "https://slides.example"], Some("ws://10.0.0.5:8188"));
        assert_eq!(sources.images, ["https://cdn.example.com:8443", "https://slides.example"]);
        let header = sources.header(false);
        assert!(sources.header(true).contains("script-src 'self' 'unsafe-inline';"));
        assert!(header.contains("img-src 'self' data: blob: https://cdn.example.com:8443 https://slides.example;"), "{header}");
        assert!(header.contains("connect-src 'self' ws://10.0.0.5:8188;"), "{header}");
        assert!(header.contains("script-src 'self';") && header.contains("object-src 'none'"), "{header}");
    }

    #[test]
    fn unknown_recordings_and_other_paths_get_the_strict_policy() {
        let pages = PageSources::default();
        pages.insert("rec_1", Sources::declared(["https://cdn.example.com/l.png"], None));
        assert!(pages.header(Some("rec_1"), false).contains("https://cdn.example.com"));
        for id in [None, Some("rec_2")] {
            assert!(pages.header(id, false).contains("img-src 'self' data: blob:;"), "{id:?}");
        }
        pages.remove("rec_1");
        assert!(!pages.header(Some("rec_1"), false).contains("cdn.example.com"));
    }
}
