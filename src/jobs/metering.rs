//! What the job manager shows at `GET /metrics`: the counters it keeps as recordings start and
//! end, and the recordings' state read at the moment of the scrape.

use super::JobManager;
use super::manager::capturing;
use crate::metrics::Snapshot;

impl JobManager {
    /// Every metric in the Prometheus text exposition format.
    pub fn metrics_text(&self) -> Result<String, std::fmt::Error> {
        let inner = &self.inner;
        let snapshot = {
            let live = inner.lock_live();
            let capturing = capturing(&live);
            // Not final and not capturing: uploading (a `retry-upload` included).
            let uploading = live.len() - capturing;
            Snapshot { capturing, uploading, max_concurrent: inner.config.max_concurrent, webhooks: inner.config.webhooks.stats() }
        };
        inner.config.metrics.render(&snapshot)
    }
}
