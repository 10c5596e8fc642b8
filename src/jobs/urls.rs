//! The URL policy at the API: every URL a request makes the recorder browser load — the `web`
//! source's page, a remote logo (at the start or in a `PATCH`), a posted slide — is checked
//! (scheme, allowlist, resolved addresses) before the manager takes the request. Asset file
//! names are the operator's own files and need no check.

use futures::future::try_join_all;

use super::request::{RecordingPatch, RecordingRequest};
use super::{JobError, JobManager, Recording};
use crate::recorder::Source;
use crate::timeline::CallEvent;
use crate::urlpolicy::UrlPolicy;

impl JobManager {
    /// Checks the request's URLs, then admits and starts the recording.
    pub async fn create(&self, request: RecordingRequest) -> Result<Recording, JobError> {
        let mut urls = Vec::new();
        if let Source::Web { url } = &request.source {
            urls.push(("source.url".to_owned(), url.as_str()));
        }
        if let Some(logo) = request.branding.as_ref().and_then(|b| b.logo_url.as_deref()) {
            urls.push(("branding.logo_url".to_owned(), logo));
        }
        for (i, host) in request.asset_hosts.iter().enumerate() {
            urls.push((format!("asset_hosts[{i}]"), host));
        }
        let urls: Vec<(&str, &str)> = urls.iter().map(|(field, url)| (field.as_str(), *url)).collect();
        check(self.policy(), &urls).await?;
        self.admit(request)
    }

    /// Checks a new remote logo, then changes the running recording.
    pub async fn update(&self, id: &str, patch: &RecordingPatch) -> Result<Recording, JobError> {
        let branding = patch.settings.as_ref().and_then(|s| s.branding.as_ref());
        if let Some(logo) = branding.and_then(|b| b.get("logo_url")).and_then(|l| l.as_str()) {
            check(self.policy(), &[("branding.logo_url", logo)]).await?;
        }
        self.apply_patch(id, patch)
    }

    /// Checks a slide's remote URL, then hands the event to the recording's page.
    pub async fn post_event(&self, id: &str, event: &CallEvent) -> Result<String, JobError> {
        if let CallEvent::Slide { url, .. } = event {
            check(self.policy(), &[("url", url)]).await?;
        }
        self.queue_event(id, event)
    }

    fn policy(&self) -> &UrlPolicy {
        &self.inner.config.url_policy
    }
}

/// Checks every value that is a URL (others are asset file names, checked with the request).
async fn check(policy: &UrlPolicy, urls: &[(&str, &str)]) -> Result<(), JobError> {
    let remote = urls.iter().filter(|(_, value)| url::Url::parse(value).is_ok());
    try_join_all(remote.map(|(field, value)| policy.check(field, value))).await.map_err(|e| JobError::from(crate::fields::FieldError::from(e)))?;
    Ok(())
}
