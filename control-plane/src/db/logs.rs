//! The `log_lines` table and its text-search index: every instance's log lines and every
//! lifecycle event. The table is the same on both databases (the migration); the index is not:
//! SQLite searches with an FTS5 table kept by triggers, PostgreSQL with a GIN index on the
//! text's `tsvector`. Both match lines that hold every word asked for, in any case, unstemmed.

use sqlx::{Any, AnyPool};
use trellis_protocol::logs::{LogLevel, LogLine, LogSource};

use crate::ids::rfc3339;

/// Which database the registry is, where their SQL differs (text search only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn of(url: &str) -> Dialect {
        if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else {
            Dialect::Postgres
        }
    }
}

/// Adds the text-search index if it is missing (idempotent; runs at every connect).
pub async fn prepare_search(db: &AnyPool, dialect: Dialect) -> sqlx::Result<()> {
    let statements: &[&str] = match dialect {
        // Contentless: the index keeps no second copy of the text.
        Dialect::Sqlite => &[
            "CREATE VIRTUAL TABLE IF NOT EXISTS log_search USING fts5(text, content='', contentless_delete=1)",
            "CREATE TRIGGER IF NOT EXISTS log_lines_search_insert AFTER INSERT ON log_lines BEGIN \
             INSERT INTO log_search (rowid, text) VALUES (new.id, new.text); END",
            "CREATE TRIGGER IF NOT EXISTS log_lines_search_delete AFTER DELETE ON log_lines BEGIN \
             DELETE FROM log_search WHERE rowid = old.id; END",
        ],
        // `simple`: no stemming and no stop words, as FTS5's default tokenizer.
        Dialect::Postgres => &["CREATE INDEX IF NOT EXISTS log_lines_search ON log_lines \
             USING GIN (to_tsvector('simple', text))"],
    };
    for statement in statements {
        sqlx::query(statement).execute(db).await?;
    }
    Ok(())
}

/// A line to store, with everything known of where it came from.
#[derive(Clone, Debug)]
pub struct NewLine {
    pub at: i64,
    pub level: LogLevel,
    pub source: LogSource,
    pub event: Option<String>,
    pub node: Option<String>,
    pub deployment_id: Option<String>,
    pub instance: Option<String>,
    pub app: Option<String>,
    pub app_version: Option<String>,
    /// The deployment's owner, for deciding who may read it.
    pub owner: Option<String>,
    pub text: String,
}

impl NewLine {
    /// What it costs against the size limit: its text and its labels.
    pub fn bytes(&self) -> i64 {
        let labels = [
            &self.event,
            &self.node,
            &self.deployment_id,
            &self.instance,
            &self.app,
            &self.app_version,
            &self.owner,
        ];
        (self.text.len()
            + labels
                .iter()
                .flat_map(|l| l.as_deref())
                .map(str::len)
                .sum::<usize>()) as i64
            + 32
    }

    /// The line as the API shows it, once stored as `id`.
    pub fn into_api(self, id: i64) -> LogLine {
        LogLine {
            id,
            time: rfc3339(self.at),
            level: self.level,
            source: self.source,
            event: self.event,
            node: self.node,
            deployment: self.deployment_id,
            instance: self.instance,
            app: self.app,
            app_version: self.app_version,
            text: self.text,
        }
    }
}

/// A stored line.
#[derive(sqlx::FromRow)]
pub struct LineRow {
    pub id: i64,
    pub at: i64,
    pub level: i64,
    pub source: String,
    pub event: Option<String>,
    pub node: Option<String>,
    pub deployment_id: Option<String>,
    pub instance: Option<String>,
    pub app: Option<String>,
    pub app_version: Option<String>,
    pub text: String,
}

impl LineRow {
    pub fn into_api(self) -> LogLine {
        LogLine {
            id: self.id,
            time: rfc3339(self.at),
            // Only what we wrote is stored, so an unknown value is not the caller's fault.
            level: LogLevel::from_rank(self.level).unwrap_or(LogLevel::Info),
            source: self.source.parse().unwrap_or(LogSource::Platform),
            event: self.event,
            node: self.node,
            deployment: self.deployment_id,
            instance: self.instance,
            app: self.app,
            app_version: self.app_version,
            text: self.text,
        }
    }
}

/// Whose lines a reader may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Everyone's (admins and platform configurers).
    All,
    /// The lines of this user's deployments (end users).
    OwnerOf(String),
    /// The lines of deployments of apps this user owns (app developers).
    AppsOf(String),
}

/// Which lines to read.
#[derive(Clone, Debug)]
pub struct Query {
    pub scope: Scope,
    pub deployment: Option<String>,
    pub app: Option<String>,
    pub node: Option<String>,
    pub source: Option<LogSource>,
    pub min_level: Option<LogLevel>,
    /// Unix ms, inclusive.
    pub since: Option<i64>,
    /// Unix ms, exclusive.
    pub until: Option<i64>,
    /// Every one of these words must be in the text.
    pub words: Vec<String>,
    /// Only lines older than this id.
    pub before: Option<i64>,
    /// Only lines newer than this id (read oldest first).
    pub after: Option<i64>,
    pub limit: i64,
}

enum Arg {
    Int(i64),
    Text(String),
}

/// The lines `query` asks for: newest first, or with `after`, oldest first.
pub async fn find(db: &AnyPool, dialect: Dialect, query: &Query) -> sqlx::Result<Vec<LineRow>> {
    let mut sql = String::from(
        "SELECT id, at, level, source, event, node, deployment_id, instance, app, app_version, \
         text FROM log_lines WHERE 1 = 1",
    );
    let mut args = Vec::new();
    let mut condition = |sql: &mut String, template: &str, arg: Arg| {
        args.push(arg);
        sql.push_str(" AND ");
        sql.push_str(&template.replace('?', &format!("${}", args.len())));
    };
    match &query.scope {
        Scope::All => {}
        Scope::OwnerOf(user) => condition(&mut sql, "owner = ?", Arg::Text(user.clone())),
        Scope::AppsOf(user) => condition(
            &mut sql,
            "app IN (SELECT name FROM owners WHERE kind = 'app' AND owner = ?)",
            Arg::Text(user.clone()),
        ),
    }
    let texts = [
        ("deployment_id = ?", &query.deployment),
        ("app = ?", &query.app),
        ("node = ?", &query.node),
        ("source = ?", &query.source.map(|s| s.as_str().to_string())),
    ];
    for (template, value) in texts {
        if let Some(value) = value {
            condition(&mut sql, template, Arg::Text(value.clone()));
        }
    }
    let ints = [
        ("level >= ?", query.min_level.map(LogLevel::rank)),
        ("at >= ?", query.since),
        ("at < ?", query.until),
        ("id < ?", query.before),
        ("id > ?", query.after),
    ];
    for (template, value) in ints {
        if let Some(value) = value {
            condition(&mut sql, template, Arg::Int(value));
        }
    }
    if !query.words.is_empty() {
        match dialect {
            Dialect::Sqlite => {
                // Each word a quoted phrase, so nothing in it is read as FTS5 syntax.
                let phrases: Vec<String> = query
                    .words
                    .iter()
                    .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
                    .collect();
                condition(
                    &mut sql,
                    "id IN (SELECT rowid FROM log_search WHERE log_search MATCH ?)",
                    Arg::Text(phrases.join(" ")),
                )
            }
            Dialect::Postgres => condition(
                &mut sql,
                "to_tsvector('simple', text) @@ plainto_tsquery('simple', ?)",
                Arg::Text(query.words.join(" ")),
            ),
        }
    }
    let order = if query.after.is_some() { "ASC" } else { "DESC" };
    sql.push_str(&format!(
        " ORDER BY id {order} LIMIT {}",
        query.limit.max(0)
    ));
    let mut select = sqlx::query_as::<Any, LineRow>(&sql);
    for arg in args {
        select = match arg {
            Arg::Int(value) => select.bind(value),
            Arg::Text(value) => select.bind(value),
        };
    }
    select.fetch_all(db).await
}

/// The newest line's id, 0 if there is none.
pub async fn last_id(db: &AnyPool) -> sqlx::Result<i64> {
    let (id,): (Option<i64>,) = sqlx::query_as("SELECT MAX(id) FROM log_lines")
        .fetch_one(db)
        .await?;
    Ok(id.unwrap_or(0))
}

/// Lines per statement: 13 values each, well under SQLite's limit of bound values.
const ROWS_PER_INSERT: usize = 500;

/// Stores `lines` as ids `first_id`, `first_id + 1`, ... in one transaction.
pub async fn insert(db: &AnyPool, first_id: i64, lines: &[NewLine]) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    for (chunk_index, chunk) in lines.chunks(ROWS_PER_INSERT).enumerate() {
        let mut sql = String::from(
            "INSERT INTO log_lines (id, at, level, source, event, node, deployment_id, instance, \
             app, app_version, owner, text, bytes) VALUES ",
        );
        for row in 0..chunk.len() {
            let base = row * 13;
            let marks: Vec<String> = (1..=13).map(|i| format!("${}", base + i)).collect();
            if row > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("({})", marks.join(", ")));
        }
        let mut insert = sqlx::query(&sql);
        for (row, line) in chunk.iter().enumerate() {
            let id = first_id + (chunk_index * ROWS_PER_INSERT + row) as i64;
            insert = insert
                .bind(id)
                .bind(line.at)
                .bind(line.level.rank())
                .bind(line.source.as_str())
                .bind(line.event.as_deref())
                .bind(line.node.as_deref())
                .bind(line.deployment_id.as_deref())
                .bind(line.instance.as_deref())
                .bind(line.app.as_deref())
                .bind(line.app_version.as_deref())
                .bind(line.owner.as_deref())
                .bind(line.text.as_str())
                .bind(line.bytes());
        }
        insert.execute(&mut *tx).await?;
    }
    tx.commit().await
}

/// Removes the lines written before `at`; returns how many.
pub async fn delete_older_than(db: &AnyPool, at: i64) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM log_lines WHERE at < $1")
        .bind(at)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

/// Removes the oldest lines until the rest cost at most `max_bytes`; returns how many.
pub async fn delete_beyond_bytes(db: &AnyPool, max_bytes: i64) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "DELETE FROM log_lines WHERE id <= (SELECT id FROM \
         (SELECT id, SUM(bytes) OVER (ORDER BY id DESC) AS total FROM log_lines) newest \
         WHERE total > $1 ORDER BY id DESC LIMIT 1)",
    )
    .bind(max_bytes)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// The apps `user` owns, by name.
pub async fn apps_of(db: &AnyPool, user: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT name FROM owners WHERE kind = 'app' AND owner = $1")
        .bind(user)
        .fetch_all(db)
        .await
}

/// Deployment `id`'s app, the version it runs and its owner, deleted or not.
pub async fn deployment_origin(
    db: &AnyPool,
    id: &str,
) -> sqlx::Result<Option<(String, String, String)>> {
    sqlx::query_as("SELECT app_name, app_version, owner FROM deployments WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
}
