//! Persistence of recording resources behind [`RecordingStore`]. The embedded default is SQLite
//! in the data directory; a distributed registry can implement the same trait later.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

use super::JobError;
use super::model::Recording;

/// Where recording resources are kept.
pub trait RecordingStore: Send + Sync {
    /// Inserts or replaces `recording`.
    fn put(&self, recording: &Recording) -> Result<(), JobError>;
    /// The recording with `id`, if any.
    fn get(&self, id: &str) -> Result<Option<Recording>, JobError>;
    /// Every recording, newest first.
    fn list(&self) -> Result<Vec<Recording>, JobError>;
}

/// SQLite-backed store; each row holds the resource as JSON.
pub struct SqliteStore {
    // A std Mutex: every statement is short and synchronous; never held across an await.
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, JobError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS recordings (
                id TEXT PRIMARY KEY,
                created_at TEXT NOT NULL,
                body TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS recordings_created ON recordings (created_at);",
        )?;
        Ok(Self { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn decode(body: String) -> Result<Recording, JobError> {
    serde_json::from_str(&body).map_err(|e| JobError::Store(format!("corrupt row: {e}")))
}

impl RecordingStore for SqliteStore {
    fn put(&self, recording: &Recording) -> Result<(), JobError> {
        let body = serde_json::to_string(recording).map_err(|e| JobError::Store(e.to_string()))?;
        self.conn().execute(
            "INSERT INTO recordings (id, created_at, body) VALUES (?1, ?2, ?3)
             ON CONFLICT(id) DO UPDATE SET body = excluded.body",
            params![recording.id, recording.created_at.to_rfc3339(), body],
        )?;
        Ok(())
    }

    fn get(&self, id: &str) -> Result<Option<Recording>, JobError> {
        let body: Option<String> = self
            .conn()
            .query_row("SELECT body FROM recordings WHERE id = ?1", [id], |row| row.get(0))
            .optional()?;
        body.map(decode).transpose()
    }

    fn list(&self) -> Result<Vec<Recording>, JobError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT body FROM recordings ORDER BY created_at DESC, id DESC")?;
        let rows = stmt.query_map([], |row| row.get::<_, String>(0))?;
        rows.map(|row| decode(row?)).collect()
    }
}
