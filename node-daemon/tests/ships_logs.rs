//! An app's log lines and its lifecycle events travel from the node that runs it to the control
//! plane's log service, where they are found by text, level and deployment; lines written while
//! the control plane is away wait in the node's buffer and arrive, all of them, once it is back.

mod common;

use std::time::Duration;

use common::{NODE_NAME, TestNode, spawn_node, wait_for, workspace_file};
use trellis_protocol::api::Deployment;
use trellis_protocol::logs::{LogLevel, LogLine, LogPage, LogSource};

/// What the crashy app panics with on every tick (`tests/guests/crashy/src/lib.rs`).
const TRAP: &str = "crashy traps on every tick";

/// Uploads the test app in `tests/guests/{name}` and deploys it, bound to nothing.
async fn deploy(node: &TestNode, name: &str, component: &str) -> Deployment {
    node.upload_app(
        &workspace_file(&format!("tests/guests/{name}/trellis.toml")),
        component,
    )
    .await;
    node.deploy(name, &[]).await
}

/// The lines `query` finds, newest first.
async fn logs(node: &TestNode, query: &str) -> Vec<LogLine> {
    let page: LogPage = node
        .get(&format!("/logs?limit=1000&{query}"), &node.admin)
        .await;
    page.lines
}

/// The numbers of the ticker's `log-ticker line N` lines stored for deployment `id`, in order.
async fn ticker_lines(node: &TestNode, id: &str) -> Vec<u64> {
    let mut numbers: Vec<u64> = logs(node, &format!("deployment={id}&text=ticker%20line"))
        .await
        .iter()
        .filter_map(|l| l.text.strip_prefix("log-ticker line ")?.parse().ok())
        .collect();
    numbers.sort();
    numbers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apps_lines_and_events_are_found_by_text_level_and_deployment() {
    let node = spawn_node().await;
    let ticker = deploy(&node, "log-ticker", trellis_guest_artifacts::LOG_TICKER).await;
    let crashy = deploy(&node, "crashy", trellis_guest_artifacts::CRASHY).await;

    // The ticker's lines, by deployment and text, each saying where it came from.
    let lines = wait_for(
        Duration::from_secs(60),
        "the ticker's lines at the control plane",
        async || {
            let query = format!("deployment={}&text=ticker&source=guest", ticker.id);
            let lines = logs(&node, &query).await;
            if lines.iter().filter(|l| l.level == LogLevel::Warn).count() >= 2 {
                Ok(lines)
            } else {
                Err(format!("{lines:?}"))
            }
        },
    )
    .await;
    for line in &lines {
        assert_eq!(line.source, LogSource::Guest, "{line:?}");
        assert_eq!(line.deployment.as_deref(), Some(ticker.id.as_str()));
        assert_eq!(line.node.as_deref(), Some(NODE_NAME), "{line:?}");
        assert_eq!(line.app.as_deref(), Some("log-ticker"), "{line:?}");
        assert_eq!(line.app_version.as_deref(), Some("0.1.0"), "{line:?}");
        assert!(line.instance.is_some(), "{line:?}");
    }
    // By level: warnings and worse only.
    let warned = logs(&node, &format!("deployment={}&level=warn", ticker.id)).await;
    assert!(!warned.is_empty());
    for line in &warned {
        assert!(line.level >= LogLevel::Warn, "{line:?}");
        assert!(line.text.starts_with("log-ticker warning "), "{line:?}");
    }

    // The crashy app's panic (its stderr) and its lifecycle: started, trapped with the guest's
    // backtrace, restarted with its backoff.
    let events = wait_for(
        Duration::from_secs(60),
        "the crashy app's trap and restart",
        async || {
            let lines = logs(&node, &format!("deployment={}", crashy.id)).await;
            let has = |event: &str| lines.iter().any(|l| l.event.as_deref() == Some(event));
            if has("started") && has("trapped") && has("restarted") {
                Ok(lines)
            } else {
                Err(format!("{lines:?}"))
            }
        },
    )
    .await;
    let trapped = events
        .iter()
        .find(|l| l.event.as_deref() == Some("trapped"))
        .unwrap();
    assert_eq!(trapped.level, LogLevel::Error);
    assert_eq!(trapped.source, LogSource::Platform);
    assert!(
        trapped.text.contains(TRAP) && trapped.text.contains("backtrace"),
        "{trapped:?}"
    );
    let restarted = events
        .iter()
        .find(|l| l.event.as_deref() == Some("restarted"))
        .unwrap();
    assert!(restarted.text.contains("restarting after"), "{restarted:?}");
    // The control plane's own word: where it placed it.
    assert!(
        events
            .iter()
            .any(|l| l.event.as_deref() == Some("placed") && l.text.contains(NODE_NAME)),
        "{events:?}"
    );

    // Text search across every deployment finds the crashy app's lines and no other's.
    let found = logs(&node, "text=crashy%20traps&source=guest").await;
    assert!(!found.is_empty());
    for line in &found {
        assert_eq!(
            line.deployment.as_deref(),
            Some(crashy.id.as_str()),
            "{line:?}"
        );
        assert!(line.text.contains(TRAP), "{line:?}");
    }
    let errors = logs(&node, &format!("deployment={}&level=error", crashy.id)).await;
    assert!(
        errors.iter().all(|l| l.level == LogLevel::Error),
        "{errors:?}"
    );
    assert!(errors.iter().any(|l| l.event.as_deref() == Some("trapped")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_written_while_the_control_plane_is_away_arrive_once_it_is_back() {
    let mut node = spawn_node().await;
    let ticker = deploy(&node, "log-ticker", trellis_guest_artifacts::LOG_TICKER).await;
    let before = wait_for(
        Duration::from_secs(60),
        "the ticker's first lines",
        async || {
            let numbers = ticker_lines(&node, &ticker.id).await;
            if numbers.len() >= 3 {
                Ok(numbers)
            } else {
                Err(format!("{numbers:?}"))
            }
        },
    )
    .await;

    node.stop_control_plane().await;
    // The app ticks every 100 ms: some 20 lines while the control plane is away.
    tokio::time::sleep(Duration::from_secs(2)).await;
    node.start_control_plane().await;

    let after = wait_for(
        Duration::from_secs(60),
        "the lines written during the outage",
        async || {
            let numbers = ticker_lines(&node, &ticker.id).await;
            if numbers.last() > Some(&(before.last().unwrap() + 25)) {
                Ok(numbers)
            } else {
                Err(format!("{numbers:?}"))
            }
        },
    )
    .await;
    // Every line from the first on, none lost. (Delivery is at least once: a batch the control
    // plane stored just as it went away is sent again, so a line may be there twice.)
    let mut after = after;
    after.dedup();
    let expected: Vec<u64> = (1..=*after.last().unwrap()).collect();
    assert_eq!(after, expected);
}
