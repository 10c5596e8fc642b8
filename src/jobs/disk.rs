//! Free space on the disk that holds the recordings: below one threshold new recordings are
//! refused (`507 insufficient_storage`), below a lower one running recordings are stopped and
//! delivered (`end_reason: low_disk_space`) before ffmpeg runs out of room mid-fragment.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::JobError;
use super::manager::Inner;

/// How often running recordings' disk is looked at.
pub const CHECK_EVERY: Duration = Duration::from_secs(2);

const MIB: u64 = 1024 * 1024;

/// The two thresholds, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskPolicy {
    /// Refuse new recordings below this.
    pub min_free: u64,
    /// Stop running recordings below this.
    pub stop_free: u64,
}

impl Default for DiskPolicy {
    fn default() -> Self {
        Self { min_free: 1024 * MIB, stop_free: 256 * MIB }
    }
}

impl DiskPolicy {
    /// Thresholds in MiB; stopping must not need more room than starting.
    pub fn new(min_free_mib: u64, stop_free_mib: u64) -> anyhow::Result<Self> {
        anyhow::ensure!(
            stop_free_mib <= min_free_mib,
            "stop_free_disk_mib ({stop_free_mib}) must not be above min_free_disk_mib ({min_free_mib})"
        );
        Ok(Self { min_free: min_free_mib * MIB, stop_free: stop_free_mib * MIB })
    }
}

/// Bytes an unprivileged writer may still use on the filesystem holding `path`.
pub fn free_bytes(path: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    // SAFETY: statvfs writes into the zeroed struct we own; the path is NUL-terminated.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(stat.f_bavail as u64 * stat.f_frsize as u64)
}

impl Inner {
    /// A new recording needs `min_free` on the recordings disk.
    pub(super) fn check_disk(&self) -> Result<(), JobError> {
        let policy = self.config.disk;
        match free_bytes(&self.config.recordings_dir) {
            Ok(free) if free < policy.min_free => Err(JobError::InsufficientStorage { free_mib: mib(free), min_mib: mib(policy.min_free) }),
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!("cannot read the free space of the recordings disk: {e}");
                Ok(())
            }
        }
    }

    /// Until shutdown: when free space falls below `stop_free`, every capturing recording is
    /// stopped and delivered (`low_disk_space`).
    pub(super) async fn watch_disk(self: Arc<Self>) {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            let Ok(free) = free_bytes(&self.config.recordings_dir) else { continue };
            if free >= self.config.disk.stop_free {
                continue;
            }
            for (id, entry) in self.lock_live().iter().filter(|(_, e)| e.resource.state.is_capturing() && !e.stop.is_cancelled()) {
                tracing::error!(%id, free_mib = mib(free), "the recordings disk is nearly full: stopping the recording");
                entry.low_disk.cancel();
                entry.stop.cancel();
            }
        }
    }
}

/// `bytes` in MiB for messages.
pub fn mib(bytes: u64) -> u64 {
    bytes / MIB
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_is_read_and_thresholds_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        assert!(free_bytes(dir.path()).unwrap() > 0);
        assert!(free_bytes(Path::new("/nonexistent/dir")).is_err());
        assert_eq!(DiskPolicy::new(100, 10).unwrap(), DiskPolicy { min_free: 100 * MIB, stop_free: 10 * MIB });
        assert!(DiskPolicy::new(10, 100).is_err());
    }
}
