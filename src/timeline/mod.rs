//! The timeline of a recording: everything that happened — chat, reactions and slides, people
//! joining and leaving, layout and branding changes, start, stop, incidents — on the recording's
//! media clock (milliseconds from the file's first frame), and the sidecar files made from it
//! at the end: `timeline.json` and `chat.vtt` ([`vtt`]). Entries are appended to a JSON-lines
//! spool beside the recording as they happen, so a crash loses none of them.

pub mod event;
pub mod vtt;

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

pub use event::CallEvent;

/// Errors of the timeline module.
#[derive(Debug, thiserror::Error)]
pub enum TimelineError {
    #[error("{message}")]
    Invalid { code: &'static str, field: String, message: String },
    #[error("event is {bytes} bytes; at most {max} are allowed")]
    TooLarge { bytes: usize, max: usize },
    #[error("timeline I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl TimelineError {
    pub fn invalid(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { code, field: field.into(), message: message.into() }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid { code, .. } => code,
            Self::TooLarge { .. } => "event_too_large",
            Self::Io(_) => "io_error",
        }
    }

    /// True when the request was at fault.
    pub fn is_client_error(&self) -> bool {
        !matches!(self, Self::Io(_))
    }

    /// The request field at fault, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid { field, .. } if !field.is_empty() => Some(field),
            _ => None,
        }
    }
}

impl From<crate::fields::FieldError> for TimelineError {
    fn from(e: crate::fields::FieldError) -> Self {
        Self::Invalid { code: e.code, field: e.field, message: e.message }
    }
}

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Entry {
    /// Milliseconds from the file's first frame (negative: before capture began).
    pub t_ms: i64,
    /// Wall-clock time.
    pub at: DateTime<Utc>,
    /// `chat`, `reaction`, `slide`, `participant_joined`, `participant_left`, `layout_changed`,
    /// `recording_started`, `recording_stopped`, `incident`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Display name of who did it, if someone did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The rest of the event (text, emoji, url, layout, …).
    #[schema(value_type = Object)]
    pub payload: Value,
}

/// A spooled entry: its media time is known only once the first frame is.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Spooled {
    at: DateTime<Utc>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    from: Option<String>,
    payload: Value,
}

/// The timeline of one recording while it runs.
#[derive(Debug)]
pub struct Timeline {
    spool: PathBuf,
    entries: Vec<Spooled>,
}

/// The sidecar files, written beside the video.
#[derive(Debug, Clone)]
pub struct Sidecars {
    pub timeline: PathBuf,
    pub chat: PathBuf,
}

impl Timeline {
    /// A new timeline spooled to `dir/timeline.jsonl`.
    pub fn new(dir: &Path) -> Self {
        Self { spool: dir.join("timeline.jsonl"), entries: Vec::new() }
    }

    /// The timeline a crashed service left in `dir` (its spool), to finish it.
    pub fn load(dir: &Path) -> Self {
        let mut timeline = Self::new(dir);
        if let Ok(text) = std::fs::read_to_string(&timeline.spool) {
            // A crash may cut the last line short: skip what does not parse.
            timeline.entries = text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect();
        }
        timeline
    }

    /// Records `kind` at `at`; spool write errors are logged, never fatal to the recording.
    pub fn push(&mut self, at: DateTime<Utc>, kind: &str, from: Option<String>, payload: Value) {
        let entry = Spooled { at, kind: kind.to_owned(), from, payload };
        if let Err(e) = self.append(&entry) {
            tracing::warn!("cannot spool timeline entry: {e}");
        }
        self.entries.push(entry);
    }

    fn append(&self, entry: &Spooled) -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&self.spool)?;
        let line = serde_json::to_string(entry).map_err(std::io::Error::other)?;
        writeln!(file, "{line}")
    }

    /// Entries counted so far, by type.
    pub fn count(&self, kind: &str) -> usize {
        self.entries.iter().filter(|e| e.kind == kind).count()
    }

    /// The entries on the media clock of a file whose first frame was at `started_at`, in order.
    /// The file leaves out the gaps of pipeline restarts: what came later is earlier in it.
    pub fn entries(&self, started_at: DateTime<Utc>) -> Vec<Entry> {
        let gaps: Vec<(DateTime<Utc>, i64)> = self.entries.iter()
            .filter_map(|e| Some((e.at, (e.payload.get("gap_s")?.as_f64()? * 1000.0) as i64)))
            .collect();
        let media_ms = |at: DateTime<Utc>| {
            let missing: i64 = gaps.iter().filter(|(gap, _)| at > *gap).map(|(gap, ms)| (at - *gap).num_milliseconds().min(*ms)).sum();
            (at - started_at).num_milliseconds() - missing
        };
        let mut out: Vec<Entry> = self.entries.iter().map(|e| Entry {
            t_ms: media_ms(e.at),
            at: e.at,
            kind: e.kind.clone(),
            from: e.from.clone(),
            payload: e.payload.clone(),
        }).collect();
        out.sort_by_key(|e| e.t_ms);
        out
    }

    /// Writes `timeline.json` and `chat.vtt` beside the spool and removes the spool.
    pub fn write(&self, recording_id: &str, started_at: DateTime<Utc>, duration_ms: i64) -> Result<Sidecars, TimelineError> {
        let dir = self.spool.parent().unwrap_or(Path::new("."));
        let entries = self.entries(started_at);
        let sidecars = Sidecars { timeline: dir.join("timeline.json"), chat: dir.join("chat.vtt") };
        let doc = serde_json::json!({
            "recording_id": recording_id,
            "started_at": started_at,
            "duration_ms": duration_ms,
            "events": entries,
        });
        std::fs::write(&sidecars.timeline, serde_json::to_vec_pretty(&doc).map_err(std::io::Error::other)?)?;
        std::fs::write(&sidecars.chat, vtt::chat(&entries, duration_ms))?;
        let _ = std::fs::remove_file(&self.spool);
        Ok(sidecars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_on_the_media_clock_and_spooled() {
        let dir = tempfile::tempdir().unwrap();
        let mut timeline = Timeline::new(dir.path());
        let t0: DateTime<Utc> = "2026-11-25T10:00:00Z".parse().unwrap();
        timeline.push(t0 + chrono::Duration::milliseconds(2500), "chat", Some("Ann".into()), serde_json::json!({"text": "hi"}));
        timeline.push(t0 - chrono::Duration::milliseconds(300), "participant_joined", Some("Bob".into()), serde_json::json!({}));
        let spooled = std::fs::read_to_string(dir.path().join("timeline.jsonl")).unwrap();
        assert_eq!(spooled.lines().count(), 2);
        let entries = timeline.entries(t0);
        assert_eq!(entries.iter().map(|e| e.t_ms).collect::<Vec<_>>(), [-300, 2500]);
        let files = timeline.write("rec_1", t0, 10_000).unwrap();
        let doc: Value = serde_json::from_slice(&std::fs::read(&files.timeline).unwrap()).unwrap();
        assert_eq!(doc["events"][1]["type"], "chat");
        assert_eq!(doc["events"][1]["t_ms"], 2500);
        assert!(std::fs::read_to_string(&files.chat).unwrap().contains("<v Ann>hi"));
        assert!(!dir.path().join("timeline.jsonl").exists());
    }

    #[test]
    fn restart_gaps_are_left_out_of_the_media_clock_and_a_spool_is_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let mut timeline = Timeline::new(dir.path());
        let t0: DateTime<Utc> = "2026-11-25T10:00:00Z".parse().unwrap();
        let ms = chrono::Duration::milliseconds;
        timeline.push(t0 + ms(4000), "incident", None, serde_json::json!({"kind": "pipeline_restart", "gap_s": 2.0}));
        timeline.push(t0 + ms(5000), "chat", None, serde_json::json!({"text": "in the gap"}));
        timeline.push(t0 + ms(9000), "chat", None, serde_json::json!({"text": "after"}));
        let reloaded = Timeline::load(dir.path());
        let t: Vec<i64> = reloaded.entries(t0).iter().map(|e| e.t_ms).collect();
        assert_eq!(t, [4000, 4000, 7000]);
    }
}
