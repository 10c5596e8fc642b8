//! The spool files of one recording. ffmpeg writes one fragmented spool per *segment*: the first
//! is `recording.mp4.part`; each time a broken part of the pipeline is relaunched, the capture
//! goes on into the next (`recording.mp4.1.part`, …). At the end the segments are cut where
//! each one stopped being good and joined, back to back, into the one delivered file; the time
//! between them is reported as the gap. After a crash of the whole service the spools found on
//! disk are joined the same way ([`found`]).

use std::path::{Path, PathBuf};

use super::RecorderError;
use super::finalize::{self, Timing};
use super::probe::{self, MediaInfo};
use super::tools::Tools;

/// One written spool and where its good part ends.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub spool: PathBuf,
    pub timing: Timing,
}

/// The spool of segment `index` of the recording delivered as `file`.
pub fn spool(file: &Path, index: usize) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    if index > 0 {
        name.push(format!(".{index}"));
    }
    name.push(".part");
    file.with_file_name(name)
}

/// The spools of `file` left on disk, in order (a crashed service's recording).
pub fn found(file: &Path) -> Vec<PathBuf> {
    (0..).map(|i| spool(file, i)).take_while(|p| p.exists()).collect()
}

/// The spool, complete, becomes the file as it is (its uploader holds it open by then).
pub async fn keep(tools: &Tools, spool: &Path, file: &Path, instance: &str) -> Result<MediaInfo, RecorderError> {
    if !spool.exists() {
        return Err(RecorderError::Finalize("ffmpeg wrote no file".into()));
    }
    tokio::fs::rename(spool, file).await?;
    probe::probe(&tools.ffprobe, file, instance).await
}

/// Turns the segments into the final faststart MP4. If that fails, the first fragmented spool
/// itself (playable up to its last fragment) becomes the file, so it is not lost.
pub async fn finish(tools: &Tools, segments: &[Segment], file: &Path, instance: &str) -> Result<MediaInfo, RecorderError> {
    let Some(first) = segments.first().map(|s| &s.spool).filter(|s| s.exists()) else {
        return Err(RecorderError::Finalize("ffmpeg wrote no file".into()));
    };
    if let Err(e) = join(&tools.ffmpeg, segments, file, instance).await {
        tracing::warn!("{e}; keeping the first fragmented spool as it is");
        tokio::fs::rename(first, file).await?;
    }
    probe::probe(&tools.ffprobe, file, instance).await
}

/// Writes `dest` from `segments`: one is remuxed as it is, several are cut and joined. The
/// spools are removed once `dest` is written.
pub async fn join(ffmpeg: &Path, segments: &[Segment], dest: &Path, instance: &str) -> Result<(), RecorderError> {
    let [only] = segments else { return join_several(ffmpeg, segments, dest, instance).await };
    finalize::finalize(ffmpeg, &only.spool, dest, &only.timing, instance).await?;
    remove(segments.iter().map(|s| s.spool.clone()));
    Ok(())
}

async fn join_several(ffmpeg: &Path, segments: &[Segment], dest: &Path, instance: &str) -> Result<(), RecorderError> {
    let mut pieces = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        let piece = dest.with_extension(format!("piece{i}.mp4"));
        match finalize::finalize(ffmpeg, &segment.spool, &piece, &segment.timing, instance).await {
            Ok(()) => pieces.push(piece),
            // A segment killed before its first fragment holds nothing: leave it out.
            Err(e) => tracing::warn!(segment = i, "segment left out of the file: {e}"),
        }
    }
    if pieces.is_empty() {
        return Err(RecorderError::Finalize("no segment holds any media".into()));
    }
    let list = dest.with_extension("pieces.txt");
    let lines: String = pieces.iter().map(|p| format!("file '{}'\n", p.display().to_string().replace('\'', "'\\''"))).collect();
    std::fs::write(&list, lines)?;
    let concat = concat(ffmpeg, &list, dest, instance).await;
    remove(pieces.into_iter().chain([list]));
    concat?;
    remove(segments.iter().map(|s| s.spool.clone()));
    Ok(())
}

/// Joins the pieces listed in `list` without re-encoding: the concat demuxer puts each one right
/// after the previous, keeping the offset between sound and picture inside each.
async fn concat(ffmpeg: &Path, list: &Path, dest: &Path, instance: &str) -> Result<(), RecorderError> {
    let mut cmd = std::process::Command::new(ffmpeg);
    cmd.args(["-hide_banner", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i"]).arg(list)
        .args(["-map", "0:v", "-map", "0:a", "-c", "copy", "-movflags", "+faststart", "-f", "mp4"])
        .arg(dest);
    finalize::run(cmd, instance, "joining the segments").await
}

fn remove(paths: impl IntoIterator<Item = PathBuf>) {
    for path in paths {
        if let Err(e) = std::fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %path.display(), "cannot remove: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_numbered_beside_the_file_and_found_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("recording.mp4");
        assert_eq!(spool(&file, 0), dir.path().join("recording.mp4.part"));
        assert_eq!(spool(&file, 2), dir.path().join("recording.mp4.2.part"));
        assert!(found(&file).is_empty());
        for i in 0..3 {
            std::fs::write(spool(&file, i), b"x").unwrap();
        }
        std::fs::write(spool(&file, 4), b"x").unwrap();
        assert_eq!(found(&file), (0..3).map(|i| spool(&file, i)).collect::<Vec<_>>());
    }
}
