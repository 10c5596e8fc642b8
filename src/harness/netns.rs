//! A private network namespace for the calling thread (and everything it starts afterwards):
//! `lo` up, plus a veth pair whose both ends stay inside, one holding [`ADDRESS`], IPv6 off.
//! Nothing touches the machine's own interfaces.

use std::process::Command;

use super::HarnessError;

/// The interface Janus gathers ICE candidates on.
pub const INTERFACE: &str = "wfv0";
/// Its address (only meaningful inside the namespace).
pub const ADDRESS: &str = "10.99.0.1/32";

/// Moves the calling thread into a new network namespace and sets it up. Needs root
/// (CAP_SYS_ADMIN and CAP_NET_ADMIN).
pub fn isolate() -> Result<(), HarnessError> {
    // SAFETY: unshare affects only the calling thread's namespaces.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        let err = std::io::Error::last_os_error();
        return Err(HarnessError::Netns(format!("unshare(CLONE_NEWNET): {err} (run as root)")));
    }
    ip(&["link", "set", "lo", "up"])?;
    ip(&["link", "add", INTERFACE, "type", "veth", "peer", "name", "wfv1"])?;
    ip(&["addr", "add", ADDRESS, "dev", INTERFACE])?;
    ip(&["link", "set", INTERFACE, "up"])?;
    ip(&["link", "set", "wfv1", "up"])?;
    let sysctl = Command::new("sysctl").args(["-qw", "net.ipv6.conf.all.disable_ipv6=1"]).status()?;
    if !sysctl.success() {
        return Err(HarnessError::Netns("cannot turn IPv6 off in the namespace".into()));
    }
    Ok(())
}

fn ip(args: &[&str]) -> Result<(), HarnessError> {
    let out = Command::new("ip").args(args).output()
        .map_err(|e| HarnessError::Netns(format!("cannot run `ip` (package iproute2): {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(HarnessError::Netns(format!("ip {}: {}", args.join(" "), err.trim())));
    }
    Ok(())
}
