//! `chat.vtt`: every chat message as a WebVTT cue, from its arrival for a few seconds (until the
//! next message at the latest), with the sender as the cue's voice.

use std::fmt::Write;

use super::Entry;

/// How long a message stays on screen in players, unless the next one comes sooner.
const CUE_MS: i64 = 5_000;

/// The WebVTT file for the chat entries of `entries`; `duration_ms` ends the last cue.
pub fn chat(entries: &[Entry], duration_ms: i64) -> String {
    let chats: Vec<&Entry> = entries.iter().filter(|e| e.kind == "chat").collect();
    let mut out = String::from("WEBVTT\n");
    for (i, entry) in chats.iter().enumerate() {
        let start = entry.t_ms.max(0);
        let next = chats.get(i + 1).map_or(i64::MAX, |n| n.t_ms.max(start + 1));
        let end = (start + CUE_MS).min(next).min(duration_ms.max(start + 1));
        let text = entry.payload["text"].as_str().unwrap_or_default();
        let voice = entry.from.as_deref().map(|f| format!("<v {}>", escape(f).replace('>', "&gt;"))).unwrap_or_default();
        let _ = write!(out, "\n{}\n{} --> {}\n{voice}{}\n", i + 1, stamp(start), stamp(end), escape(&one_paragraph(text)));
    }
    out
}

/// `HH:MM:SS.mmm`.
fn stamp(ms: i64) -> String {
    let ms = ms.max(0);
    format!("{:02}:{:02}:{:02}.{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
}

/// Cue text is markup: `&` and `<` must be escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;")
}

/// A blank line would end the cue, and `-->` must not appear in cue text.
fn one_paragraph(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim_end).filter(|l| !l.trim().is_empty()).collect();
    lines.join("\n").replace("-->", "->")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chat_at(t_ms: i64, from: &str, text: &str) -> Entry {
        Entry { t_ms, at: chrono::Utc::now(), kind: "chat".into(), from: Some(from.into()), payload: json!({"text": text}) }
    }

    #[test]
    fn cues_follow_the_messages() {
        let entries = [chat_at(1500, "Ann", "<b>hi</b> & bye"), chat_at(3000, "Bob", "one\n\ntwo --> three"), chat_at(60_000, "C", "late")];
        let vtt = chat(&entries, 61_000);
        let expected = "WEBVTT\n\n1\n00:00:01.500 --> 00:00:03.000\n<v Ann>&lt;b>hi&lt;/b> &amp; bye\n\n\
                        2\n00:00:03.000 --> 00:00:08.000\n<v Bob>one\ntwo -> three\n\n\
                        3\n00:01:00.000 --> 00:01:01.000\n<v C>late\n";
        assert_eq!(vtt, expected);
    }

    #[test]
    fn no_chat_is_an_empty_but_valid_file() {
        assert_eq!(chat(&[], 1000), "WEBVTT\n");
    }
}
