//! A minimal Janus API client over WebSocket, for checks from outside the browsers: who is in a
//! room (`listparticipants`), and destroying a room.

use std::time::Duration;

use async_tungstenite::tokio::{ConnectStream, connect_async};
use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::WebSocketStream;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

use super::HarnessError;

/// A participant as `listparticipants` reports it.
#[derive(Debug, Clone, Deserialize)]
pub struct RoomParticipant {
    pub id: u64,
    #[serde(default)]
    pub display: Option<String>,
    #[serde(default)]
    pub publisher: bool,
}

/// A session with one VideoRoom handle.
pub struct JanusClient {
    ws: WebSocketStream<ConnectStream>,
    session: u64,
    handle: u64,
    next: u64,
}

fn err(what: impl std::fmt::Display) -> HarnessError {
    HarnessError::Janus(what.to_string())
}

impl JanusClient {
    /// Connects to `url`, creates a session and attaches the VideoRoom plugin.
    pub async fn connect(url: &str) -> Result<Self, HarnessError> {
        let mut request = url.into_client_request().map_err(err)?;
        request.headers_mut().insert("Sec-WebSocket-Protocol", "janus-protocol".parse().map_err(err)?);
        let (ws, _) = tokio::time::timeout(Duration::from_secs(5), connect_async(request))
            .await
            .map_err(|_| err("connect timed out"))?
            .map_err(err)?;
        let mut client = Self { ws, session: 0, handle: 0, next: 0 };
        client.session = client.call(json!({"janus": "create"})).await?["data"]["id"].as_u64().ok_or_else(|| err("no session id"))?;
        let attach = json!({"janus": "attach", "session_id": client.session, "plugin": "janus.plugin.videoroom"});
        client.handle = client.call(attach).await?["data"]["id"].as_u64().ok_or_else(|| err("no handle id"))?;
        Ok(client)
    }

    /// Sends `body` with a fresh transaction and returns the answer with that transaction.
    async fn call(&mut self, mut body: Value) -> Result<Value, HarnessError> {
        self.next += 1;
        let transaction = format!("t{}", self.next);
        body["transaction"] = json!(transaction);
        self.ws.send(Message::text(body.to_string())).await.map_err(err)?;
        let answer = async {
            while let Some(message) = self.ws.next().await {
                let Ok(Message::Text(text)) = message else { continue };
                let value: Value = serde_json::from_str(&text).map_err(err)?;
                if value["transaction"] == transaction && value["janus"] != "ack" {
                    return Ok(value);
                }
            }
            Err(err("connection closed"))
        };
        tokio::time::timeout(Duration::from_secs(5), answer).await.map_err(|_| err("no answer within 5 s"))?
    }

    /// A synchronous VideoRoom request; returns the plugin's data.
    pub async fn videoroom(&mut self, body: Value) -> Result<Value, HarnessError> {
        let message = json!({"janus": "message", "session_id": self.session, "handle_id": self.handle, "body": body});
        let answer = self.call(message).await?;
        let data = answer["plugindata"]["data"].clone();
        if data["videoroom"] == "event" && data["error_code"].is_number() {
            return Err(err(format!("videoroom error {}: {}", data["error_code"], data["error"])));
        }
        Ok(data)
    }

    /// Everyone in `room`.
    pub async fn participants(&mut self, room: u64) -> Result<Vec<RoomParticipant>, HarnessError> {
        let data = self.videoroom(json!({"request": "listparticipants", "room": room})).await?;
        serde_json::from_value(data["participants"].clone()).map_err(err)
    }

    /// Destroys `room` (its participants are told).
    pub async fn destroy_room(&mut self, room: u64) -> Result<(), HarnessError> {
        self.videoroom(json!({"request": "destroy", "room": room})).await.map(|_| ())
    }

    /// Ends the session.
    pub async fn close(mut self) {
        let _ = self.call(json!({"janus": "destroy", "session_id": self.session})).await;
        let _ = self.ws.close(None).await;
    }
}

/// Who is in `room` on the Janus at `url` (one short session).
pub async fn participants(url: &str, room: u64) -> Result<Vec<RoomParticipant>, HarnessError> {
    let mut client = JanusClient::connect(url).await?;
    let list = client.participants(room).await;
    client.close().await;
    list
}
