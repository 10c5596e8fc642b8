//! Who the browsers run as, and whether with Chromium's own sandbox.
//!
//! Chromium refuses its sandbox as root, so a service running as root starts the recorder and
//! preview browsers as an unprivileged system user (`wallflower`, made by `scripts/setup`;
//! `chromium_user` names another) with the sandbox on. `--no-sandbox` is used only when
//! `chromium_no_sandbox = true` is configured, and is logged as a warning. Whether the sandbox
//! can start (it needs unprivileged user namespaces) is checked once at startup, so a machine
//! without them fails there, with the reason, instead of at the first recording.
//!
//! The files such a browser needs (its profile and HOME, the cookie of its X display, the
//! PulseAudio socket) live in a runtime dir of their own under the system temp dir, which that
//! user can reach: the data dir may sit where it cannot (a 0700 home or temp dir), and opening
//! the data dir to it would also open the recordings.

use std::ffi::CString;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;

use tempfile::TempDir;

/// The account browsers run as when the service runs as root and names none.
pub const DEFAULT_USER: &str = "wallflower";

/// An unprivileged account browsers are started as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// Why the browsers cannot be started safely.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "Chromium must not run as root, and the user `{0}` it would run as does not exist: run scripts/setup \
         (it creates the user), or, without --chromium-user, pass --chromium-no-sandbox=true (chromium_no_sandbox = true) to run Chromium \
         as root without its sandbox"
    )]
    NoUser(String),
    #[error("--chromium-user `{0}` needs the service to run as root (it runs Chromium as that user)")]
    NotRoot(String),
    #[error(
        "Chromium's sandbox cannot start here ({0}): it needs unprivileged user namespaces \
         (sysctl user.max_user_namespaces > 0, and kernel.unprivileged_userns_clone = 1 where that exists); \
         enable them, or pass --chromium-no-sandbox=true to run Chromium without its sandbox"
    )]
    Unavailable(String),
    #[error("the browsers' runtime dir: {0}")]
    Io(#[from] std::io::Error),
}

impl SandboxError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoUser(_) => "chromium_user_missing",
            Self::NotRoot(_) => "chromium_user_needs_root",
            Self::Unavailable(_) => "sandbox_unavailable",
            Self::Io(_) => "io_error",
        }
    }

    /// Always false: these are the operator's setup, never a request's fault.
    pub fn is_client_error(&self) -> bool {
        false
    }
}

/// How the service's browsers run, and their runtime dir (removed when this is dropped).
#[derive(Debug)]
pub struct Sandbox {
    /// `None`: as the service's own user.
    pub run_as: Option<RunAs>,
    /// Pass `--no-sandbox` (only when configured so).
    pub no_sandbox: bool,
    dir: TempDir,
}

impl Sandbox {
    /// Decides from the configured `user` and `no_sandbox` (either may be unset), checks that
    /// the sandbox can start, and makes the runtime dir.
    pub fn resolve(user: Option<&str>, no_sandbox: Option<bool>, chromium: &Path) -> Result<Self, SandboxError> {
        let run_as = run_as(user, no_sandbox)?;
        let no_sandbox = no_sandbox.unwrap_or(false);
        if no_sandbox {
            tracing::warn!(
                user = run_as.as_ref().map_or("(the service's own)", |u| u.name.as_str()),
                "Chromium runs without its sandbox (chromium_no_sandbox = true): a compromised page is not contained"
            );
        } else {
            probe(chromium, run_as.as_ref())?;
        }
        if let Some(user) = &run_as {
            tracing::info!(user = %user.name, uid = user.uid, sandbox = !no_sandbox, "Chromium runs as an unprivileged user");
        }
        Ok(Self::new(run_as, no_sandbox)?)
    }

    /// Browsers run as `run_as` with or without the sandbox, as given (no checks).
    pub fn new(run_as: Option<RunAs>, no_sandbox: bool) -> std::io::Result<Self> {
        sweep_stale(&std::env::temp_dir());
        let dir = tempfile::Builder::new().prefix(RUNTIME_PREFIX).tempdir()?;
        std::fs::write(dir.path().join(OWNER), std::process::id().to_string())?;
        // Others may pass through to what they are given (their profile, socket, cookie) but
        // not list what is there.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711))?;
        Ok(Self { run_as, no_sandbox, dir })
    }

    /// The runtime dir.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A fresh dir in the runtime dir for one browser's files (removed when dropped).
    pub fn scratch(&self, prefix: &str) -> std::io::Result<TempDir> {
        let dir = tempfile::Builder::new().prefix(prefix).tempdir_in(self.dir.path())?;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711))?;
        Ok(dir)
    }

    /// Writes a secret only the browsers' user (and root) may read.
    pub fn write_secret(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let _ = std::fs::remove_file(path);
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
        file.write_all(bytes)?;
        give(path, self.run_as.as_ref())
    }
}

/// Runtime dirs are `wallflower-XXXXXX` in the temp dir, each naming its service's pid in `OWNER`.
const RUNTIME_PREFIX: &str = "wallflower-";
const OWNER: &str = "owner.pid";

/// Removes the runtime dirs of services that died without cleaning up (a SIGKILL): their owner's
/// pid no longer runs. Dirs without an owner file are not ours to judge and stay.
fn sweep_stale(temp: &Path) {
    let Ok(entries) = std::fs::read_dir(temp) else { return };
    for dir in entries.flatten().map(|e| e.path()) {
        let named = dir.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(RUNTIME_PREFIX));
        let Some(pid) = named.then(|| std::fs::read_to_string(dir.join(OWNER)).ok()).flatten() else { continue };
        if pid.trim().parse::<u32>().is_ok_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
            tracing::info!(dir = %dir.display(), "removing the runtime dir of a service that is gone");
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

/// Makes `path` belong to `run_as` (nothing to do without one).
pub fn give(path: &Path, run_as: Option<&RunAs>) -> std::io::Result<()> {
    match run_as {
        Some(user) => std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid)),
        None => Ok(()),
    }
}

/// Starts `cmd` as `run_as`. std drops the supplementary groups (root's) when it changes the
/// uid, and runs `pre_exec` hooks after that, so the parent-death signal set there survives
/// (the kernel clears it on a uid change).
pub fn apply(cmd: &mut std::process::Command, run_as: Option<&RunAs>) {
    if let Some(user) = run_as {
        cmd.uid(user.uid).gid(user.gid);
    }
}

fn run_as(user: Option<&str>, no_sandbox: Option<bool>) -> Result<Option<RunAs>, SandboxError> {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    match (euid, user) {
        (0, Some(name)) => lookup(name)?.map(Some).ok_or_else(|| SandboxError::NoUser(name.to_owned())),
        (0, None) => match lookup(DEFAULT_USER)? {
            Some(user) => Ok(Some(user)),
            None if no_sandbox == Some(true) => {
                tracing::warn!("the user `{DEFAULT_USER}` does not exist (run scripts/setup): Chromium runs as root");
                Ok(None)
            }
            None => Err(SandboxError::NoUser(DEFAULT_USER.to_owned())),
        },
        // Already that user (e.g. a systemd unit with User=): nothing to switch.
        (_, Some(name)) if lookup(name)?.is_some_and(|u| u.uid == euid) => Ok(None),
        (_, Some(name)) => Err(SandboxError::NotRoot(name.to_owned())),
        (_, None) => Ok(None),
    }
}

/// The account `name`, if it exists.
fn lookup(name: &str) -> Result<Option<RunAs>, SandboxError> {
    let Ok(c_name) = CString::new(name) else { return Ok(None) };
    // SAFETY: a zeroed passwd is a valid out-parameter; getpwnam_r fills it with pointers into
    // `buf`, which outlives every use of them below.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 16 * 1024];
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwnam_r(c_name.as_ptr(), &mut pwd, buf.as_mut_ptr(), buf.len(), &mut found);
        if rc != 0 {
            return Err(std::io::Error::from_raw_os_error(rc).into());
        }
        Ok((!found.is_null()).then(|| RunAs { name: name.to_owned(), uid: pwd.pw_uid, gid: pwd.pw_gid }))
    }
}

/// Runs `chromium --version` as `run_as` inside a new user namespace, made the way Chromium's
/// sandbox makes one: if that fails, so would every browser launch.
fn probe(chromium: &Path, run_as: Option<&RunAs>) -> Result<(), SandboxError> {
    if !chromium.is_file() {
        // Nothing to try; the program check names the missing browser and its package.
        return Ok(());
    }
    let mut cmd = std::process::Command::new(chromium);
    cmd.arg("--version").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    apply(&mut cmd, run_as);
    // SAFETY: unshare is async-signal-safe and the closure allocates nothing.
    unsafe {
        cmd.pre_exec(|| match libc::unshare(libc::CLONE_NEWUSER) {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        });
    }
    let who = run_as.map_or("the service's user", |u| u.name.as_str());
    match cmd.output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(SandboxError::Unavailable(format!(
            "{} --version as {who} in a user namespace: {}: {}",
            chromium.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))),
        Err(e) => Err(SandboxError::Unavailable(format!("a user namespace as {who}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_dirs_of_dead_services_are_swept_and_others_kept() {
        let temp = tempfile::tempdir().unwrap();
        let dead = temp.path().join("wallflower-dead");
        let alive = temp.path().join("wallflower-alive");
        let foreign = temp.path().join("wallflower-foreign");
        for dir in [&dead, &alive, &foreign] {
            std::fs::create_dir(dir).unwrap();
        }
        // A pid above the kernel's maximum never runs.
        std::fs::write(dead.join(OWNER), "99999999").unwrap();
        std::fs::write(alive.join(OWNER), std::process::id().to_string()).unwrap();
        sweep_stale(temp.path());
        assert!(!dead.exists() && alive.exists() && foreign.exists());
    }

    #[test]
    fn a_missing_user_is_refused_by_name() {
        let err = lookup("no-such-user-wf").map(|u| u.is_none());
        assert!(matches!(err, Ok(true)), "{err:?}");
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            let err = run_as(Some("no-such-user-wf"), None).unwrap_err();
            assert_eq!(err.code(), "chromium_user_missing");
            assert!(err.to_string().contains("scripts/setup") && err.to_string().contains("--chromium-no-sandbox"), "{err}");
        }
    }

    #[test]
    fn secrets_belong_to_the_browser_user_and_nobody_else_reads_them() {
        let sandbox = Sandbox::new(None, false).unwrap();
        let mode = std::fs::metadata(sandbox.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o711);
        let file = sandbox.path().join("cookie");
        sandbox.write_secret(&file, b"one").unwrap();
        sandbox.write_secret(&file, b"two").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"two");
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
