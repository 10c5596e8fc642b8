//! A recording's live outputs: the RTMP(S) streams it should feed now (changed while it runs)
//! and its HLS segments, each a [`LiveOutput`] on a copy of the relay's feed.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::forward::{ForwardEnv, LiveOutput, OutputKind};
use super::relay::Relay;

/// One live stream a recording feeds (request field `streams`, changed by `PATCH`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamSpec {
    /// `rtmp://` or `rtmps://`, stream key included (never shown back whole).
    pub url: String,
}

/// A stream the recorder should feed: its id in the resource and its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedStream {
    pub id: String,
    pub url: String,
}

/// The live outputs of one recording.
pub struct Outputs {
    relay: Relay,
    env: ForwardEnv,
    running: HashMap<String, (String, LiveOutput)>,
}

/// The id of the HLS output.
pub const HLS: &str = "hls";

impl Outputs {
    pub fn new(relay: Relay, env: ForwardEnv) -> Self {
        Self { relay, env, running: HashMap::new() }
    }

    /// Where the capture sends the feed.
    pub fn feed_url(&self) -> String {
        self.relay.url()
    }

    /// Starts writing HLS segments into `dir`.
    pub fn start_hls(&mut self, dir: PathBuf) {
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::error!("cannot create the HLS folder {}: {e}", dir.display());
        }
        self.start(HLS.into(), String::new(), OutputKind::Hls { dir });
    }

    /// Feeds exactly `wanted`: new streams start, removed ones stop.
    pub async fn apply(&mut self, wanted: &[WantedStream]) {
        let gone: Vec<String> = self
            .running
            .iter()
            .filter(|(id, (url, _))| id.as_str() != HLS && !wanted.iter().any(|w| &w.id == *id && &w.url == url))
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            if let Some((_, output)) = self.running.remove(&id) {
                tracing::info!(stream = %id, "stream removed");
                output.stop().await;
            }
        }
        let new: Vec<WantedStream> = wanted.iter().filter(|w| !self.running.contains_key(&w.id)).cloned().collect();
        for w in new {
            tracing::info!(stream = %w.id, "stream added");
            self.start(w.id, w.url.clone(), OutputKind::Rtmp { url: w.url });
        }
    }

    fn start(&mut self, id: String, url: String, kind: OutputKind) {
        let output = LiveOutput::start(id.clone(), kind, self.relay.subscribe(), self.env.clone());
        self.running.insert(id, (url, output));
    }

    /// The capture has ended: every output finishes its stream (FLV trailer, HLS end of list).
    pub async fn close(self) {
        let Self { relay, running, .. } = self;
        drop(relay);
        futures::future::join_all(running.into_values().map(|(_, output)| output.finish())).await;
    }
}

/// A stream URL as the resource shows it: the last path part (the stream key) hidden.
pub fn shown_stream_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else { return "(invalid)".into() };
    let _ = parsed.set_password(None);
    let _ = parsed.set_username("");
    parsed.set_query(None);
    let path = parsed.path().to_owned();
    if let Some((head, key)) = path.rsplit_once('/')
        && !key.is_empty()
    {
        parsed.set_path(&format!("{head}/****"));
    }
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_keys_are_hidden() {
        assert_eq!(shown_stream_url("rtmp://live.example:1935/app/sk_12345?token=x"), "rtmp://live.example:1935/app/****");
        assert_eq!(shown_stream_url("rtmps://user:pw@h/live/key"), "rtmps://h/live/****");
    }
}
