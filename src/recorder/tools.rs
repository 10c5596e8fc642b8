//! The external programs a recording needs, found once at start-up so a missing one is reported
//! before any recording is accepted (with the package that provides it).

use std::path::{Path, PathBuf};

use super::RecorderError;

/// Absolute paths of every program the pipeline runs.
#[derive(Debug, Clone)]
pub struct Tools {
    pub chromium: PathBuf,
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    pub xvfb: PathBuf,
    pub pulseaudio: PathBuf,
    pub pactl: PathBuf,
    pub parec: PathBuf,
}

impl Tools {
    /// Finds every program; `chromium` is the configured browser binary (a path or a name on PATH).
    pub fn locate(chromium: &Path) -> Result<Self, RecorderError> {
        Ok(Self {
            chromium: find(chromium, "chromium")?,
            ffmpeg: find(Path::new("ffmpeg"), "ffmpeg")?,
            ffprobe: find(Path::new("ffprobe"), "ffmpeg")?,
            xvfb: find(Path::new("Xvfb"), "xvfb")?,
            pulseaudio: find(Path::new("pulseaudio"), "pulseaudio")?,
            pactl: find(Path::new("pactl"), "pulseaudio-utils")?,
            parec: find(Path::new("parec"), "pulseaudio-utils")?,
        })
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
