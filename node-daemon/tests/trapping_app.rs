//! An app that traps is started again after a backoff that grows, not once per tick, and the
//! control plane learns why it fails and how often it was restarted.

mod common;

use std::time::{Duration, Instant};

use common::{TestNode, spawn_node, wait_for, workspace_file};
use trellis_protocol::api::Deployment;
use trellis_protocol::node::InstanceState;

/// What the crashy app panics with on every tick (`tests/guests/crashy/src/lib.rs`).
const TRAP: &str = "crashy traps on every tick";

/// Waits until deployment `id` is reported restarting or failed, with the trap as the reason,
/// and `enough` holds.
async fn failing(
    node: &TestNode,
    id: &str,
    what: &str,
    enough: impl Fn(&Deployment) -> bool,
) -> Deployment {
    wait_for(Duration::from_secs(30), what, async || {
        let now = node.deployment(id).await;
        let failing = matches!(now.state, InstanceState::Restarting | InstanceState::Failed)
            && now.detail.contains(TRAP);
        if failing && enough(&now) {
            Ok(now)
        } else {
            Err(format!("{now:?}"))
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trapping_app_is_restarted_with_backoff_and_reported() {
    let node = spawn_node().await;
    node.upload_app(
        &workspace_file("tests/guests/crashy/trellis.toml"),
        trellis_guest_artifacts::CRASHY,
    )
    .await;
    let crashy = node.deploy("crashy", &[]).await;
    // Restarted, with the trap's message as the reason.
    let first = failing(&node, &crashy.id, "a restart reported with the trap", |d| {
        d.restarts >= 1
    })
    .await;
    assert_eq!(first.node.as_deref(), Some(common::NODE_NAME));
    let first_seen = Instant::now();

    // Again and again: the node does not give up on it.
    let later = failing(&node, &crashy.id, "more restarts", |d| {
        d.restarts > first.restarts
    })
    .await;
    eprintln!(
        "restarts: {} then {} {:?} later",
        first.restarts,
        later.restarts,
        first_seen.elapsed()
    );

    // Failing several times in a row, it is reported failed.
    let failed = failing(&node, &crashy.id, "the app reported failed", |d| {
        d.state == InstanceState::Failed
    })
    .await;

    // With backoff: it traps on its first tick, so without one it would restart about once a
    // tick (ten times a second); with one, the waits grow and restarts become rare.
    let window = Duration::from_secs(3);
    tokio::time::sleep(window).await;
    let after = node.deployment(&crashy.id).await;
    eprintln!(
        "restarts: {} then {} over {window:?}",
        failed.restarts, after.restarts
    );
    assert!(
        after.restarts >= failed.restarts && after.restarts - failed.restarts <= 4,
        "restarts went {} → {} in {window:?}",
        failed.restarts,
        after.restarts
    );
    // Still failed, or caught in one of its retries (running for a tick, until it traps again).
    let retrying =
        after.state == InstanceState::Running && after.detail.starts_with("running again after:");
    assert!(
        after.state == InstanceState::Failed || retrying,
        "{after:?}"
    );
}
