//! Grabs the recording's X display into 4:2:0 frames: one `XShmGetImage` a frame into shared
//! memory (the X server copies its framebuffer there, nothing crosses the socket), then a SIMD
//! BGRX → I420 conversion (BT.601, limited range, as ffmpeg's default).
//!
//! Why not ffmpeg's x11grab: ffmpeg converts the grabbed BGRX to 4:2:0 through swscale's generic
//! path, 0.11 cores for 1280x720@30 here; this conversion takes 0.27 ms a frame (0.008 cores).
//! The whole grab costs ~0.03 cores (BENCHMARKS.md, "The picture grabbed by us").

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;

use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::shm::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{ImageFormat, ImageOrder, Window};
use x11rb::rust_connection::{DefaultStream, RustConnection};
use yuvutils_rs::{YuvChromaSubsampling, YuvConversionMode, YuvPlanarImageMut, YuvRange, YuvStandardMatrix, bgra_to_yuv420};

/// Connects to display `:number` with the MIT-MAGIC-COOKIE in `xauthority`; also returns the
/// socket, whose shutdown ends a thread blocked on the connection.
pub fn open(number: u32, xauthority: &Path) -> Result<(RustConnection, std::os::unix::net::UnixStream), String> {
    let (name, cookie) = read_cookie(xauthority)?;
    let socket = std::os::unix::net::UnixStream::connect(format!("/tmp/.X11-unix/X{number}"))
        .map_err(|e| format!("display :{number}: {e}"))?;
    let (stream, _) = DefaultStream::from_unix_stream(socket.try_clone().map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let conn = RustConnection::connect_to_stream_with_auth_info(stream, 0, name, cookie).map_err(|e| format!("display :{number}: {e}"))?;
    Ok((conn, socket))
}

/// A connection to one display, with a shared-memory image of its whole screen.
pub struct Grabber {
    conn: RustConnection,
    root: Window,
    seg: shm::Seg,
    shared: Shared,
    size: (u16, u16),
    frame: YuvPlanarImageMut<'static, u8>,
}

impl Grabber {
    /// Connects to display `:number` with the MIT-MAGIC-COOKIE in `xauthority` and shares a
    /// `width`×`height` image with it. The screen must be 24-bit colour in 32-bit pixels
    /// (Xvfb's `-screen 0 WxHx24`).
    pub fn connect(number: u32, xauthority: &Path, (width, height): (u32, u32)) -> Result<Self, String> {
        let (conn, _) = open(number, xauthority)?;
        check_format(&conn)?;
        if conn.extension_information(shm::X11_EXTENSION_NAME).ok().flatten().is_none() {
            return Err(format!("display :{number} has no MIT-SHM"));
        }
        let size = (u16::try_from(width).map_err(|e| e.to_string())?, u16::try_from(height).map_err(|e| e.to_string())?);
        let shared = Shared::new(width as usize * height as usize * 4)?;
        let seg = conn.generate_id().map_err(|e| e.to_string())?;
        conn.shm_attach_fd(seg, shared.dup()?, false).map_err(|e| e.to_string())?.check().map_err(|e| format!("MIT-SHM attach: {e}"))?;
        let root = conn.setup().roots[0].root;
        let frame = YuvPlanarImageMut::alloc(width, height, YuvChromaSubsampling::Yuv420);
        Ok(Self { conn, root, seg, shared, size, frame })
    }

    /// Grabs the screen now and returns the frame's Y, U and V planes (tightly packed).
    pub fn grab(&mut self) -> Result<[&[u8]; 3], String> {
        let (w, h) = self.size;
        let request = self.conn.shm_get_image(self.root, 0, 0, w, h, !0, ImageFormat::Z_PIXMAP.into(), self.seg, 0);
        request.map_err(|e| e.to_string())?.reply().map_err(|e| format!("XShmGetImage: {e}"))?;
        let (range, matrix) = (YuvRange::Limited, YuvStandardMatrix::Bt601);
        bgra_to_yuv420(&mut self.frame, self.shared.bytes(), u32::from(w) * 4, range, matrix, YuvConversionMode::Balanced)
            .map_err(|e| format!("colour conversion: {e}"))?;
        Ok([self.frame.y_plane.borrow(), self.frame.u_plane.borrow(), self.frame.v_plane.borrow()])
    }
}

/// The pixels must be 32 bits, least significant byte first (B, G, R, X in memory).
fn check_format(conn: &RustConnection) -> Result<(), String> {
    let setup = conn.setup();
    let depth = setup.roots[0].root_depth;
    let bpp = setup.pixmap_formats.iter().find(|f| f.depth == depth).map(|f| f.bits_per_pixel);
    if depth != 24 || bpp != Some(32) || setup.image_byte_order != ImageOrder::LSB_FIRST {
        return Err(format!("unsupported screen format: depth {depth}, {bpp:?} bits per pixel"));
    }
    Ok(())
}

/// The first entry of an Xauthority file: (auth name, auth data). Each field is a big-endian
/// u16 length and bytes, after a u16 address family: address, display number, name, data.
fn read_cookie(file: &Path) -> Result<(Vec<u8>, Vec<u8>), String> {
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut rest = bytes.get(2..).unwrap_or_default();
    let mut fields = Vec::with_capacity(4);
    for _ in 0..4 {
        let len = match rest {
            [a, b, ..] => usize::from(u16::from_be_bytes([*a, *b])),
            _ => return Err(format!("{}: truncated", file.display())),
        };
        let field = rest.get(2..2 + len).ok_or_else(|| format!("{}: truncated", file.display()))?;
        fields.push(field.to_vec());
        rest = &rest[2 + len..];
    }
    let data = fields.pop().unwrap_or_default();
    Ok((fields.pop().unwrap_or_default(), data))
}

/// Memory shared with the X server: a memfd mapped read-only here.
struct Shared {
    fd: OwnedFd,
    ptr: *mut libc::c_void,
    len: usize,
}

// SAFETY: the mapping is owned by this value alone and only read through `bytes`.
unsafe impl Send for Shared {}

impl Shared {
    fn new(len: usize) -> Result<Self, String> {
        // SAFETY: plain syscalls; every result is checked, and the fd is owned from here on.
        unsafe {
            let raw = libc::memfd_create(c"wallflower-grab".as_ptr(), libc::MFD_CLOEXEC);
            if raw < 0 {
                return Err(format!("memfd_create: {}", std::io::Error::last_os_error()));
            }
            let fd = OwnedFd::from_raw_fd(raw);
            if libc::ftruncate(raw, len as libc::off_t) != 0 {
                return Err(format!("ftruncate: {}", std::io::Error::last_os_error()));
            }
            let ptr = libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_SHARED, raw, 0);
            if ptr == libc::MAP_FAILED {
                return Err(format!("mmap: {}", std::io::Error::last_os_error()));
            }
            Ok(Self { fd, ptr, len })
        }
    }

    /// A descriptor for the X server (it keeps its own mapping).
    fn dup(&self) -> Result<OwnedFd, String> {
        self.fd.try_clone().map_err(|e| e.to_string())
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes for as long as `self` lives.
        unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: unmaps the mapping made in `new`, once.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_cookie_of_an_xauthority_entry() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("xauth");
        let mut entry = vec![0x01, 0x00];
        for field in [&b""[..], b"99", b"MIT-MAGIC-COOKIE-1", &[7u8; 16]] {
            entry.extend_from_slice(&(field.len() as u16).to_be_bytes());
            entry.extend_from_slice(field);
        }
        std::fs::write(&file, &entry).unwrap();
        assert_eq!(read_cookie(&file).unwrap(), (b"MIT-MAGIC-COOKIE-1".to_vec(), vec![7u8; 16]));
        std::fs::write(&file, &entry[..20]).unwrap();
        assert!(read_cookie(&file).unwrap_err().contains("truncated"));
    }
}
