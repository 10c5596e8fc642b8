//! Log output: human-readable text (the default) or JSON lines for log collectors. A JSON line
//! carries the span it was written in and every span around it, so each line about a recording
//! names the recording (`spans[].id` of the `recording` span) wherever in the pipeline it was
//! written.

use serde::Deserialize;
use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

/// How log lines are written (`--log-format`, `WALLFLOWER_LOG_FORMAT`, `log_format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Text,
    /// One JSON object per line, with the current span and the span list.
    Json,
}

/// The filter from `WALLFLOWER_LOG`, or the default.
pub fn filter() -> EnvFilter {
    EnvFilter::try_from_env("WALLFLOWER_LOG")
        // chromiumoxide warns about every CDP event newer than its protocol files: noise.
        .unwrap_or_else(|_| EnvFilter::new("info,chromiumoxide=error"))
}

/// A subscriber writing `format` lines that pass `filter` to `writer`.
pub fn subscriber<W>(format: LogFormat, filter: EnvFilter, writer: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.finish()),
        LogFormat::Json => Box::new(builder.json().with_current_span(true).with_span_list(true).finish()),
    }
}

/// Installs the process's subscriber: `format` lines to stderr.
pub fn init(format: LogFormat) {
    subscriber(format, filter(), std::io::stderr).init();
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use serde_json::Value;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines(format: LogFormat) -> String {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = subscriber(format, EnvFilter::new("info"), move || writer.clone());
        tracing::subscriber::with_default(subscriber, || {
            let recording = tracing::info_span!("recording", id = "rec_0123");
            let _in_recording = recording.enter();
            let capture = tracing::info_span!("capture", part = "ffmpeg");
            let _in_capture = capture.enter();
            tracing::info!(fps = 29.5, "progress");
        });
        String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn json_lines_carry_the_recording_span_even_from_a_nested_one() {
        let text = lines(LogFormat::Json);
        let line: Value = serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(line["fields"]["message"], "progress", "{line}");
        assert_eq!(line["fields"]["fps"], 29.5, "{line}");
        assert_eq!(line["span"]["name"], "capture", "{line}");
        assert_eq!(line["spans"][0], serde_json::json!({"name": "recording", "id": "rec_0123"}), "{line}");
    }

    #[test]
    fn text_stays_the_default_and_names_the_spans() {
        assert_eq!(LogFormat::default(), LogFormat::Text);
        let text = lines(LogFormat::Text);
        // Text may carry ANSI colours between the span's name and its fields.
        assert!(text.contains("recording") && text.contains("rec_0123") && text.contains("progress"), "{text}");
        assert!(serde_json::from_str::<Value>(text.trim()).is_err());
    }
}
