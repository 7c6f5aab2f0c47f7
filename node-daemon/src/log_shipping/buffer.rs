//! The node's log buffer on disk: an append-only SQLite table in the data directory, read
//! oldest first and trimmed once the control plane has the lines, bounded by a number of lines.
//! It outlives a restart of the node, and a control plane that is away for a while.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use trellis_protocol::logs::ShippedLine;

pub struct DiskBuffer {
    connection: Mutex<Connection>,
    max_lines: usize,
}

/// Lines read from the buffer, to delete once the control plane took them.
pub struct Pending {
    pub lines: Vec<ShippedLine>,
    /// The newest buffer row among them.
    pub through: i64,
    /// Lines dropped (buffer full) before these, to report with them.
    pub dropped: u64,
}

impl DiskBuffer {
    pub fn open(path: &Path, max_lines: usize) -> rusqlite::Result<DiskBuffer> {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let connection = Connection::open(path)?;
        connection.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS lines (id INTEGER PRIMARY KEY, line TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS dropped (one INTEGER PRIMARY KEY CHECK (one = 1), count INTEGER NOT NULL);",
        )?;
        Ok(DiskBuffer {
            connection: Mutex::new(connection),
            max_lines: max_lines.max(1),
        })
    }

    /// Appends `lines`, adding `dropped` to the count of lost lines; then drops (and counts) the
    /// oldest lines beyond the bound.
    pub fn append(&self, lines: &[ShippedLine], dropped: u64) -> rusqlite::Result<()> {
        let mut connection = self.connection.lock().expect("log buffer lock");
        let tx = connection.transaction()?;
        {
            let mut insert = tx.prepare_cached("INSERT INTO lines (line) VALUES (?1)")?;
            for line in lines {
                let text = serde_json::to_string(line).expect("a log line is JSON");
                insert.execute(params![text])?;
            }
        }
        let count: i64 = tx.query_row("SELECT COUNT(*) FROM lines", [], |r| r.get(0))?;
        let over = count - self.max_lines as i64;
        let mut lost = dropped as i64;
        if over > 0 {
            tx.execute(
                "DELETE FROM lines WHERE id IN (SELECT id FROM lines ORDER BY id LIMIT ?1)",
                params![over],
            )?;
            lost += over;
        }
        if lost > 0 {
            tx.execute(
                "INSERT INTO dropped (one, count) VALUES (1, ?1) \
                 ON CONFLICT (one) DO UPDATE SET count = count + ?1",
                params![lost],
            )?;
        }
        tx.commit()
    }

    /// Up to `limit` of the oldest lines, with the count of lines dropped before them.
    pub fn oldest(&self, limit: usize) -> rusqlite::Result<Option<Pending>> {
        let connection = self.connection.lock().expect("log buffer lock");
        let dropped: u64 = connection
            .query_row("SELECT count FROM dropped WHERE one = 1", [], |r| {
                r.get::<_, i64>(0)
            })
            .optional()?
            .unwrap_or(0) as u64;
        let mut select =
            connection.prepare_cached("SELECT id, line FROM lines ORDER BY id LIMIT ?1")?;
        let mut through = 0;
        let mut lines = Vec::new();
        let rows = select.query_map(params![limit as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        for row in rows {
            let (id, text) = row?;
            through = id;
            // A line this node wrote is JSON it reads; one that is not is left out, not resent.
            match serde_json::from_str(&text) {
                Ok(line) => lines.push(line),
                Err(e) => tracing::warn!("skipping an unreadable buffered log line: {e}"),
            }
        }
        if through == 0 && dropped == 0 {
            return Ok(None);
        }
        Ok(Some(Pending {
            lines,
            through,
            dropped,
        }))
    }

    /// Forgets what `pending` held, once the control plane took it.
    pub fn delivered(&self, pending: &Pending) -> rusqlite::Result<()> {
        let mut connection = self.connection.lock().expect("log buffer lock");
        let tx = connection.transaction()?;
        tx.execute("DELETE FROM lines WHERE id <= ?1", params![pending.through])?;
        tx.execute(
            "UPDATE dropped SET count = MAX(count - ?1, 0) WHERE one = 1",
            params![pending.dropped as i64],
        )?;
        tx.commit()
    }
}

#[cfg(test)]
mod tests {
    use trellis_protocol::logs::{LogLevel, LogSource};

    use super::*;

    fn line(text: &str) -> ShippedLine {
        ShippedLine {
            at_ms: 1,
            level: LogLevel::Info,
            source: LogSource::Guest,
            event: None,
            deployment: Some("dep_1".into()),
            instance: None,
            app_version: None,
            text: text.into(),
        }
    }

    #[test]
    fn lines_come_out_oldest_first_until_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let buffer = DiskBuffer::open(&dir.path().join("logs.sqlite"), 100).unwrap();
        buffer
            .append(&[line("a"), line("b"), line("c")], 0)
            .unwrap();
        let first = buffer.oldest(2).unwrap().unwrap();
        let texts: Vec<&str> = first.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["a", "b"]);
        buffer.delivered(&first).unwrap();
        let rest = buffer.oldest(2).unwrap().unwrap();
        assert_eq!(rest.lines[0].text, "c");
        buffer.delivered(&rest).unwrap();
        assert!(buffer.oldest(2).unwrap().is_none());
    }

    #[test]
    fn a_full_buffer_drops_the_oldest_and_counts_them_until_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs.sqlite");
        let buffer = DiskBuffer::open(&path, 3).unwrap();
        let lines: Vec<ShippedLine> = (0..5).map(|i| line(&i.to_string())).collect();
        buffer.append(&lines, 2).unwrap();
        drop(buffer);
        // Kept across a restart of the node.
        let buffer = DiskBuffer::open(&path, 3).unwrap();
        let pending = buffer.oldest(10).unwrap().unwrap();
        let texts: Vec<&str> = pending.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["2", "3", "4"]);
        assert_eq!(
            pending.dropped, 4,
            "2 lost before the buffer, 2 beyond its bound"
        );
        buffer.delivered(&pending).unwrap();
        assert!(
            buffer.oldest(10).unwrap().is_none(),
            "the count was reported"
        );
    }
}
