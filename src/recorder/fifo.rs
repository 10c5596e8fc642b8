//! Named pipes that carry a feed we time ourselves (sound, picture) into ffmpeg, which opens
//! them as inputs: made in a private directory, opened for writing only once ffmpeg reads.

use std::path::Path;

/// Makes a FIFO at `path`, readable and writable by us alone.
pub fn make(path: &Path) -> std::io::Result<()> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).map_err(std::io::Error::other)?;
    // SAFETY: a valid NUL-terminated path.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Opens the FIFO for writing if ffmpeg has opened it for reading (`Ok(None)` while it has
/// not): non-blocking, since a blocking open would hang forever if ffmpeg never came. The file
/// returned blocks on writes, which then wait for ffmpeg instead of failing.
pub fn open_writer(path: &Path) -> std::io::Result<Option<std::fs::File>> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(path) {
        Ok(file) => blocking(file).map(Some),
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Clears `O_NONBLOCK`.
fn blocking(file: std::fs::File) -> std::io::Result<std::fs::File> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own.
    let ok = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) == 0
    };
    if ok { Ok(file) } else { Err(std::io::Error::last_os_error()) }
}

/// Asks for a pipe buffer of `bytes` (the kernel caps it at `/proc/sys/fs/pipe-max-size`), so a
/// whole frame goes in with one copy; the default 64 KiB makes a writer wait on every piece.
pub fn grow(file: &std::fs::File, bytes: usize) {
    use std::os::fd::AsRawFd;
    let max = std::fs::read_to_string("/proc/sys/fs/pipe-max-size").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(1 << 20);
    let size = libc::c_int::try_from(bytes.min(max)).unwrap_or(libc::c_int::MAX);
    // SAFETY: fcntl on a descriptor we own; a refusal leaves the pipe as it was.
    unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETPIPE_SZ, size) };
}
