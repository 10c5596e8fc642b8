//! The live feed: besides the file, the capture's one encoder sends MPEG-TS over UDP on loopback;
//! the relay receives it and hands every live output (RTMP forwarders, HLS) its own copy. UDP and
//! bounded per-output queues mean a slow or dead output only loses its own packets: it never
//! slows the capture (and so the file) or the other outputs.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Packets queued for one output before it starts losing them (~1.3 MB of 1316-byte packets).
const QUEUE: usize = 1024;

type Subscribers = Arc<Mutex<Vec<mpsc::Sender<Bytes>>>>;

/// Receives the capture's live feed and fans it out.
pub struct Relay {
    /// Where the capture sends the feed: `udp://127.0.0.1:{port}`.
    pub port: u16,
    subscribers: Subscribers,
    task: JoinHandle<()>,
}

impl Relay {
    /// Binds a loopback port and starts relaying.
    pub async fn bind() -> std::io::Result<Self> {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        let port = socket.local_addr()?.port();
        let subscribers: Subscribers = Arc::default();
        let task = tokio::spawn(relay(socket, subscribers.clone()));
        Ok(Self { port, subscribers, task })
    }

    /// The capture's output URL for the feed.
    pub fn url(&self) -> String {
        // pkt_size 1316: seven TS packets, the usual datagram for MPEG-TS over UDP.
        format!("udp://127.0.0.1:{}?pkt_size=1316", self.port)
    }

    /// A new output's copy of the feed, from now on; it ends when the relay is dropped.
    pub fn subscribe(&self) -> mpsc::Receiver<Bytes> {
        let (tx, rx) = mpsc::channel(QUEUE);
        // A std Mutex: held for a push, never across an await.
        self.subscribers.lock().unwrap_or_else(|e| e.into_inner()).push(tx);
        rx
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        // Dropping the senders ends every output's feed, so each finishes its stream.
        self.task.abort();
        self.subscribers.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

async fn relay(socket: UdpSocket, subscribers: Subscribers) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let Ok(n) = socket.recv(&mut buf).await else { continue };
        let packet = Bytes::copy_from_slice(&buf[..n]);
        let mut subs = subscribers.lock().unwrap_or_else(|e| e.into_inner());
        // A full queue drops this packet for that output only; a closed one is forgotten.
        subs.retain(|tx| !matches!(tx.try_send(packet.clone()), Err(mpsc::error::TrySendError::Closed(_))));
    }
}
