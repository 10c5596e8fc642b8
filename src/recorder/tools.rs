//! The external programs a recording needs, found once at start-up so a missing one is reported
//! before any recording is accepted (with the package that provides it).

use std::path::{Path, PathBuf};

use super::RecorderError;
use super::display::{Server, ServerChoice};

/// Where Debian's `xserver-xorg-core` puts the server itself (`/usr/bin/Xorg` is a wrapper that
/// wants a console), and where `xserver-xorg-video-dummy` puts the driver it needs.
const XORG: &str = "/usr/lib/xorg/Xorg";
const DUMMY_DRIVER: &str = "/usr/lib/xorg/modules/drivers/dummy_drv.so";

/// Absolute paths of every program the pipeline runs.
#[derive(Debug, Clone)]
pub struct Tools {
    pub chromium: PathBuf,
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    pub xvfb: PathBuf,
    /// The X server recordings run on.
    pub display: Server,
    pub pulseaudio: PathBuf,
    pub pactl: PathBuf,
    pub parec: PathBuf,
}

impl Tools {
    /// Finds every program; `chromium` is the configured browser binary (a path or a name on PATH),
    /// `display` the configured X server.
    pub fn locate(chromium: &Path, display: ServerChoice) -> Result<Self, RecorderError> {
        let xvfb = find(Path::new("Xvfb"), "xvfb")?;
        Ok(Self {
            chromium: find(chromium, "chromium")?,
            ffmpeg: find(Path::new("ffmpeg"), "ffmpeg")?,
            ffprobe: find(Path::new("ffprobe"), "ffmpeg")?,
            display: display_server(display, &xvfb)?,
            xvfb,
            pulseaudio: find(Path::new("pulseaudio"), "pulseaudio")?,
            pactl: find(Path::new("pactl"), "pulseaudio-utils")?,
            parec: find(Path::new("parec"), "pulseaudio-utils")?,
        })
    }
}

/// The X server recordings run on; Xorg only with its dummy driver.
fn display_server(choice: ServerChoice, xvfb: &Path) -> Result<Server, RecorderError> {
    match choice {
        ServerChoice::Xvfb => Ok(Server::Xvfb(xvfb.to_path_buf())),
        ServerChoice::Xorg if is_executable(Path::new(XORG)) && Path::new(DUMMY_DRIVER).is_file() => Ok(Server::Xorg(XORG.into())),
        ServerChoice::Xorg => Err(RecorderError::MissingProgram { program: format!("{XORG} with {DUMMY_DRIVER}"), package: "xserver-xorg-video-dummy" }),
    }
}

/// Resolves `program` (absolute, relative with a slash, or a bare name searched on PATH).
fn find(program: &Path, package: &'static str) -> Result<PathBuf, RecorderError> {
    let missing = || RecorderError::MissingProgram {
        program: program.display().to_string(),
        package,
    };
    if program.components().count() > 1 {
        return is_executable(program).then(|| program.to_path_buf()).ok_or_else(missing);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(missing)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_program_names_package_and_setup() {
        let err = find(Path::new("/nonexistent/chromium"), "chromium").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("/nonexistent/chromium"), "{text}");
        assert!(text.contains("scripts/setup"), "{text}");
        assert_eq!(err.code(), "missing_program");
    }

    #[test]
    fn finds_programs_on_path() {
        assert!(find(Path::new("sh"), "dash").unwrap().is_absolute());
    }
}
