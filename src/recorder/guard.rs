//! The URL policy inside the recorder's Chromium. Every request the browser makes — the page,
//! each redirect hop, subresources, frames, workers — is paused at the request stage (CDP `Fetch`
//! on the browser target, so every target of the browser is covered) and then continued, or
//! failed as `BlockedByClient` after the same check the API makes. The service's own origins
//! (the asset server; a call's Janus server) pass at once. Every paused request is answered: a
//! check that takes too long fails its request rather than leaving it hanging.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chromiumoxide::Browser as CdpBrowser;
use chromiumoxide::cdp::browser_protocol::fetch::{
    ContinueRequestParams, EnableParams, EventRequestPaused, FailRequestParams, RequestId, RequestPattern, RequestStage,
};
use chromiumoxide::cdp::browser_protocol::network::ErrorReason;
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use url::Url;

use super::{RecorderError, RecorderEvent, Source};
use crate::urlpolicy::{self, UrlPolicy};

/// Blocked requests reported as incidents; later ones are only logged, so a page that keeps
/// trying cannot grow the resource without bound.
const MAX_REPORTED: usize = 20;
/// Longest a request may wait for its verdict (name resolution included).
const CHECK_TIMEOUT: Duration = Duration::from_secs(4);

/// What the browser may load.
#[derive(Debug, Clone)]
pub struct Rules {
    pub policy: UrlPolicy,
    /// `(host, port)` of the service's own endpoints, which pass unchecked whatever the policy.
    pub trusted: Vec<(String, u16)>,
}

impl Rules {
    /// The rules of one recording's browser: the service's asset server (`layouts`) and a
    /// call's Janus server are trusted; everything else is checked against `policy`.
    pub fn for_recording(policy: &UrlPolicy, layouts: &Url, source: &Source) -> Self {
        let mut rules = Self { policy: policy.clone(), trusted: Vec::new() };
        rules.trust(layouts);
        if let Source::Janus { server, .. } = source
            && let Ok(server) = Url::parse(server)
        {
            rules.trust(&server);
        }
        rules
    }

    /// Trusts the host and port of `url` (the asset server, a Janus server) as well.
    pub fn trust(&mut self, url: &Url) {
        if let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) {
            self.trusted.push((host.to_owned(), port));
        }
    }
}

/// Starts intercepting every request of `cdp`'s browser; the task runs until the browser goes.
pub async fn start(cdp: Arc<CdpBrowser>, rules: Rules, events: mpsc::Sender<RecorderEvent>) -> Result<JoinHandle<()>, RecorderError> {
    let control = |e: chromiumoxide::error::CdpError| RecorderError::BrowserControl(format!("request interception: {e}"));
    let paused = cdp.event_listener::<EventRequestPaused>().await.map_err(control)?;
    let pattern = RequestPattern::builder().url_pattern("*").request_stage(RequestStage::Request).build();
    cdp.execute(EnableParams::builder().pattern(pattern).build()).await.map_err(control)?;
    let guard = Guard { cdp, rules: Arc::new(rules), events, reported: Arc::new(AtomicUsize::new(0)) };
    Ok(tokio::spawn(guard.run(paused)))
}

#[derive(Clone)]
struct Guard {
    cdp: Arc<CdpBrowser>,
    rules: Arc<Rules>,
    events: mpsc::Sender<RecorderEvent>,
    reported: Arc<AtomicUsize>,
}

impl Guard {
    /// Answers each paused request in a task of its own, so a slow name lookup holds up only
    /// its own request; dropping the set (when this task is aborted) aborts them all.
    async fn run(self, mut paused: chromiumoxide::listeners::EventStream<EventRequestPaused>) {
        let mut answering = JoinSet::new();
        loop {
            tokio::select! {
                next = paused.next() => match next {
                    Some(event) => { answering.spawn(self.clone().answer(event.request_id.clone(), event.request.url.clone())); }
                    None => break,
                },
                Some(_) = answering.join_next(), if !answering.is_empty() => {}
            }
        }
    }

    async fn answer(self, id: RequestId, url: String) {
        let verdict = tokio::time::timeout(CHECK_TIMEOUT, verdict(&self.rules, &url)).await
            .unwrap_or_else(|_| Err(format!("{}: no verdict within {CHECK_TIMEOUT:?}", shown(&url))));
        let sent = match verdict {
            Ok(()) => self.cdp.execute(ContinueRequestParams::new(id)).await.map(drop),
            Err(reason) => {
                self.report(&url, reason);
                self.cdp.execute(FailRequestParams::new(id, ErrorReason::BlockedByClient)).await.map(drop)
            }
        };
        if let Err(e) = sent {
            // The request went away meanwhile (navigation, closed frame): nothing to answer.
            tracing::debug!("answering a paused request failed: {e}");
        }
    }

    fn report(&self, url: &str, reason: String) {
        tracing::warn!(url = %shown(url), "request blocked by the URL policy: {reason}");
        if self.reported.fetch_add(1, Ordering::Relaxed) < MAX_REPORTED {
            let incident = RecorderEvent::Incident { kind: "request_blocked".into(), message: Some(reason) };
            // Never wait on the status consumer: the request must be answered first.
            let _ = self.events.try_send(incident);
        }
    }
}

/// `Ok` when `url` may be loaded, else why not (the URL shown without query or credentials).
async fn verdict(rules: &Rules, url: &str) -> Result<(), String> {
    let parsed = Url::parse(url).map_err(|e| format!("{}: not a URL ({e})", shown(url)))?;
    let endpoint = parsed.host_str().zip(parsed.port_or_known_default());
    if endpoint.is_some_and(|(host, port)| rules.trusted.iter().any(|(h, p)| h == host && *p == port)) {
        return Ok(());
    }
    let checked = websocket_as_http(parsed);
    rules.policy.check_url(&urlpolicy::display(&checked), &checked).await.map_err(|e| e.to_string())
}

/// A WebSocket goes where its http(s) twin would: judge that.
fn websocket_as_http(url: Url) -> Url {
    let scheme = match url.scheme() {
        "ws" => "http",
        "wss" => "https",
        _ => return url,
    };
    let mut twin = url.clone();
    match twin.set_scheme(scheme) {
        Ok(()) => twin,
        Err(()) => url,
    }
}

fn shown(url: &str) -> String {
    Url::parse(url).map(|u| urlpolicy::display(&u)).unwrap_or_else(|_| url.chars().take(100).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::urlpolicy::UrlPolicyConfig;

    fn rules(allow_hosts: &[&str]) -> Rules {
        let config = UrlPolicyConfig { allow_hosts: allow_hosts.iter().map(|h| h.to_string()).collect(), allow_private: false };
        let mut rules = Rules { policy: UrlPolicy::new(&config).unwrap(), trusted: Vec::new() };
        rules.trust(&Url::parse("http://127.0.0.1:4000/").unwrap());
        rules
    }

    #[tokio::test]
    async fn the_service_origin_passes_and_private_destinations_do_not() {
        let r = rules(&[]);
        assert_eq!(verdict(&r, "http://127.0.0.1:4000/sdk/host.html?x=1").await, Ok(()));
        let blocked = verdict(&r, "http://user:pw@127.0.0.1:4001/secret?token=abc").await.unwrap_err();
        assert!(blocked.starts_with("http://127.0.0.1:4001/secret:") && !blocked.contains("abc") && !blocked.contains("pw"), "{blocked}");
        assert!(verdict(&r, "ws://[::ffff:127.0.0.1]:8188/").await.is_err());
        assert!(verdict(&r, "file:///etc/passwd").await.is_err());
        assert_eq!(verdict(&r, "https://93.184.216.34/x.png").await, Ok(()));
    }

    #[tokio::test]
    async fn an_allowlist_applies_to_every_request() {
        let r = rules(&["127.0.0.1"]);
        assert_eq!(verdict(&r, "http://127.0.0.1:5000/page").await, Ok(()));
        assert!(verdict(&r, "http://127.0.0.2:5000/page").await.unwrap_err().contains("allowed hosts"));
        assert!(verdict(&r, "https://93.184.216.34/").await.is_err());
    }
}
