//! A recording's live streams as the API sees them: the request's `streams` checked, each given a
//! stable id (`str_N`), and `PATCH {"streams": [...]}` turned into the set the recorder feeds
//! (streams not listed any more stop, new ones start, the others go on untouched).

use chrono::Utc;

use super::live::Live;
use super::model::OutputStatus;
use crate::fields::{self, FieldError};
use crate::recorder::OutputState;
use crate::recorder::outputs::{HLS, StreamSpec, WantedStream, shown_stream_url};

/// Most streams one recording feeds at once.
pub const MAX_STREAMS: usize = 8;

/// Checks a list of streams (URLs, count, no duplicates).
pub fn check(streams: &[StreamSpec]) -> Result<(), FieldError> {
    if streams.len() > MAX_STREAMS {
        let message = format!("at most {MAX_STREAMS} streams per recording, got {}", streams.len());
        return Err(FieldError::new("too_many_streams", "streams", message));
    }
    for (i, stream) in streams.iter().enumerate() {
        let field = format!("streams[{i}].url");
        fields::url(&field, &stream.url, &["rtmp", "rtmps"])?;
        fields::length(&field, &stream.url, 1, 2048)?;
        if streams[..i].iter().any(|s| s.url == stream.url) {
            return Err(FieldError::new("duplicate_stream", field.clone(), format!("{field} is listed twice")));
        }
    }
    Ok(())
}

impl Live {
    /// Makes `wanted` the recording's streams and tells the recorder.
    pub fn set_streams(&mut self, wanted: &[StreamSpec]) {
        let now = Utc::now();
        let outputs = &mut self.resource.outputs;
        let mut set = Vec::new();
        for spec in wanted {
            let current = self.streams.as_ref().and_then(|tx| tx.borrow().iter().find(|w| w.url == spec.url).map(|w| w.id.clone()));
            let id = current.unwrap_or_else(|| {
                self.streams_added += 1;
                format!("str_{}", self.streams_added)
            });
            if !outputs.iter().any(|o| o.id == id) {
                outputs.push(status(&id, "rtmp", Some(shown_stream_url(&spec.url))));
            }
            set.push(WantedStream { id, url: spec.url.clone() });
        }
        // Streams no longer wanted show as stopped until the recorder confirms it.
        for o in outputs.iter_mut().filter(|o| o.id != HLS && !set.iter().any(|w| w.id == o.id)) {
            if o.state != OutputState::Stopped {
                (o.state, o.updated_at) = (OutputState::Stopped, now);
            }
        }
        if let Some(tx) = &self.streams {
            tx.send_replace(set);
        }
    }
}

/// A new output, connecting.
pub fn status(id: &str, kind: &str, url: Option<String>) -> OutputStatus {
    OutputStatus {
        id: id.into(),
        kind: kind.into(),
        url,
        state: OutputState::Connecting,
        attempts: 0,
        last_error: None,
        updated_at: Utc::now(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(url: &str) -> StreamSpec {
        StreamSpec { url: url.into() }
    }

    #[test]
    fn stream_lists_are_checked() {
        assert!(check(&[spec("rtmp://127.0.0.1/live/a"), spec("rtmps://x/live/b")]).is_ok());
        assert_eq!(check(&[spec("http://x/live/a")]).unwrap_err().field, "streams[0].url");
        let twice = check(&[spec("rtmp://x/a"), spec("rtmp://x/a")]).unwrap_err();
        assert_eq!((twice.code, twice.field.as_str()), ("duplicate_stream", "streams[1].url"));
        let many: Vec<_> = (0..9).map(|i| spec(&format!("rtmp://x/{i}"))).collect();
        assert_eq!(check(&many).unwrap_err().code, "too_many_streams");
    }
}
