//! Bounds on every request: how large a body may be, how long it and its headers may take to
//! arrive, how many connections are open at once, what a failure of ours tells the caller, and
//! token look-ups that do not scan whole tables.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{ADMIN_PASSWORD, Db, TestApp, message, on_both_databases};

on_both_databases!(
    a_json_body_over_the_limit_is_refused_with_413_in_the_error_shape,
    an_internal_error_answers_only_an_id_and_logs_its_cause_under_it,
    a_request_whose_body_stalls_is_answered_408_after_the_timeout,
    device_and_node_tokens_are_found_through_an_index,
    requests_beyond_the_concurrency_limit_get_503_until_one_ends,
    a_client_that_trickles_its_headers_is_cut_off_at_the_header_deadline,
    connections_beyond_the_limit_wait_until_one_closes,
);

async fn a_json_body_over_the_limit_is_refused_with_413_in_the_error_shape(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let huge = "x".repeat(1 << 20);
    let (status, body) = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({ "name": "admin", "password": huge })),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(message(&body).contains("64 KiB"), "{body}");
    let (status, body) = app
        .post(
            "/sensor-types",
            &app.admin,
            json!({ "name": "t", "unit": huge }),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body["error"].is_string(), "{body}");
    // A body within the limit still gets through.
    let (status, body) = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({ "name": "admin", "password": ADMIN_PASSWORD })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The document says so.
    let (_, document) = app.call(Method::GET, "/openapi.json", None, None).await;
    let login = &document["paths"]["/api/v1/auth/login"]["post"]["responses"];
    for status in ["413", "429"] {
        assert!(login[status].is_object(), "{status} missing: {login}");
    }
}

/// Every error this test binary's control planes log, as an operator's log would keep them.
fn logged_errors() -> Arc<Mutex<Vec<u8>>> {
    static LOGGED: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGGED
        .get_or_init(|| {
            let logged = Arc::new(Mutex::new(Vec::new()));
            let writer = logged.clone();
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::ERROR)
                .with_ansi(false)
                .with_writer(move || LogWriter(writer.clone()))
                .init();
            logged
        })
        .clone()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn an_internal_error_answers_only_an_id_and_logs_its_cause_under_it(db: Db) {
    let logged = logged_errors();
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    // A registry that lost a table: the database's complaint names it.
    let drop = match db {
        Db::Sqlite => "DROP TABLE sensor_types",
        // PostgreSQL keeps the tables that refer to it from losing it, unless told.
        Db::Postgres => "DROP TABLE sensor_types CASCADE",
    };
    sqlx::query(drop).execute(&app.db).await.unwrap();
    let (status, body) = app.get("/sensor-types", &app.admin).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    let error = message(&body);
    let id = error
        .strip_prefix("internal error, id ")
        .unwrap_or_else(|| panic!("not an internal error's id: {error}"));
    assert!(
        !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "the answer says more than an id: {error}"
    );
    assert!(!error.contains("sensor_types"), "{error}");
    // The operator finds the cause by the id the caller was given.
    let logged = String::from_utf8_lossy(&logged.lock().unwrap()).to_string();
    let line = logged
        .lines()
        .find(|line| line.contains(id))
        .unwrap_or_else(|| panic!("no logged error has the id {id}:\n{logged}"));
    assert!(line.contains("sensor_types"), "{line}");
}

/// A connection to `address` that sent a login's headers, promising 100 bytes of body, then 9
/// of them, then nothing.
async fn stalled_login(address: &str) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: trellis\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":",
        )
        .await
        .unwrap();
    stream
}

async fn a_request_whose_body_stalls_is_answered_408_after_the_timeout(db: Db) {
    let Some(app) = TestApp::spawn_with(db, |s| s.request_timeout = Duration::from_secs(1)).await
    else {
        return;
    };
    let address = app.address.trim_start_matches("http://");
    let mut stream = stalled_login(address).await;
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(8), async {
        loop {
            let n = stream.read(&mut buffer).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buffer[..n]);
            if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                break;
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&answer);
    assert!(read.is_ok(), "no answer 8 s into a stalled body: {text:?}");
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"error\""), "the API's error shape: {text}");
}

async fn device_and_node_tokens_are_found_through_an_index(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    for table in ["devices", "nodes"] {
        match db {
            Db::Sqlite => {
                let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(&format!(
                    "EXPLAIN QUERY PLAN SELECT id FROM {table} WHERE token_hash = 'x'"
                ))
                .fetch_all(&app.db)
                .await
                .unwrap();
                let plan: Vec<&str> = plan.iter().map(|row| row.3.as_str()).collect();
                assert!(
                    plan.iter().any(|step| step.contains("USING")
                        && step.contains("INDEX")
                        && step.contains("token_hash")),
                    "{table}: {plan:?}"
                );
            }
            Db::Postgres => {
                let indexes: Vec<(String,)> =
                    sqlx::query_as("SELECT indexdef FROM pg_indexes WHERE tablename = $1")
                        .bind(table)
                        .fetch_all(&app.db)
                        .await
                        .unwrap();
                assert!(
                    indexes.iter().any(|(def,)| def.contains("(token_hash)")),
                    "{table}: {indexes:?}"
                );
            }
        }
    }
}

/// With room for one request at a time, a request whose body never finishes arriving holds that
/// room: the others get 503 in the error shape until its connection is gone.
async fn requests_beyond_the_concurrency_limit_get_503_until_one_ends(db: Db) {
    let Some(app) = TestApp::spawn_with(db, |s| s.max_concurrent_requests = 1).await else {
        return;
    };
    let address = app.address.trim_start_matches("http://");
    let stalled = stalled_login(address).await;
    // The stalled request takes the room once the server has read its headers; until then a
    // request may still get through, so ask until one is refused.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut refused = None;
    for _ in 0..100 {
        let (status, answer) = app.get("/auth/me", &app.admin).await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            refused = Some(answer);
            break;
        }
        assert_eq!(status, StatusCode::OK, "{answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let refused = refused.expect("no 503 in 5 s while a stalled request held the only room");
    assert!(
        message(&refused).contains("as many requests as it may"),
        "{refused}"
    );
    drop(stalled);
    let mut answered = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..100 {
        answered = app.get("/auth/me", &app.admin).await.0;
        if answered == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        answered,
        StatusCode::OK,
        "the room was not given back when the stalled connection went"
    );
}

/// Reads what the server sends on `stream` until it closes it; `None` if it has not within
/// `within`.
async fn read_until_closed(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    within: Duration,
) -> Option<String> {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await
    .ok()?;
    Some(String::from_utf8_lossy(&answer).into_owned())
}

/// A slowloris client: it sends a byte of its headers every 100 ms, never finishing them. The
/// server closes its connection at the header deadline, and serves everyone else meanwhile.
async fn a_client_that_trickles_its_headers_is_cut_off_at_the_header_deadline(db: Db) {
    let deadline = Duration::from_millis(500);
    let Some(app) = TestApp::spawn_with(db, |s| s.header_read_timeout = deadline).await else {
        return;
    };
    let address = app.address.trim_start_matches("http://");
    // Taken before connecting: the server may accept, and start its deadline, before `connect`
    // returns here.
    let started = std::time::Instant::now();
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        let head = b"GET /api/v1/auth/me HTTP/1.1\r\nHost: trellis\r\nX-Slow: ";
        if writer.write_all(head).await.is_err() {
            return;
        }
        while writer.write_all(b"a").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let closed = read_until_closed(&mut reader, Duration::from_secs(10)).await;
    let took = started.elapsed();
    trickle.abort();
    assert!(
        closed.is_some(),
        "the trickling connection was still open after 10 s"
    );
    assert!(
        took >= deadline,
        "closed after {took:?}, before the {deadline:?} deadline"
    );
    let (status, body) = app.get("/auth/me", &app.admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// With room for four connections, four idle ones fill it: a fifth client's request waits,
/// unanswered, until they close, and is answered then.
async fn connections_beyond_the_limit_wait_until_one_closes(db: Db) {
    const ROOM: usize = 4;
    let Some(app) = TestApp::spawn_with(db, |s| s.max_connections = ROOM).await else {
        return;
    };
    let address = app.address.trim_start_matches("http://").to_string();
    let request = b"GET /api/v1/auth/me HTTP/1.1\r\nHost: trellis\r\nConnection: close\r\n\r\n";
    // With room, a request is answered at once (401: it carries no token).
    let mut probe = tokio::net::TcpStream::connect(&address).await.unwrap();
    probe.write_all(request).await.unwrap();
    let answer = read_until_closed(&mut probe, Duration::from_secs(5)).await;
    assert!(
        answer
            .as_deref()
            .is_some_and(|a| a.starts_with("HTTP/1.1 401")),
        "{answer:?}"
    );
    // Idle connections take the room (the test's HTTP client may hold one of it too).
    let mut idle = Vec::new();
    for _ in 0..ROOM {
        idle.push(tokio::net::TcpStream::connect(&address).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut waiting = tokio::net::TcpStream::connect(&address).await.unwrap();
    waiting.write_all(request).await.unwrap();
    let early = read_until_closed(&mut waiting, Duration::from_secs(1)).await;
    assert_eq!(
        early, None,
        "answered while every connection's room was taken"
    );
    drop(idle);
    let answer = read_until_closed(&mut waiting, Duration::from_secs(10)).await;
    assert!(
        answer
            .as_deref()
            .is_some_and(|a| a.starts_with("HTTP/1.1 401")),
        "not answered once the idle connections closed: {answer:?}"
    );
}
