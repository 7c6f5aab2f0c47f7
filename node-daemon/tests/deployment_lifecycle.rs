//! A deployment's life as its node lives it: stopped, its instance stops; started, it runs
//! again; deleted, it stops for good; upgraded to a version whose `init` fails, the control plane
//! rolls it back by itself and the old version runs again.

mod common;

use std::time::Duration;

use common::{TestNode, deploy_echo, echo_manifest, spawn_node, wait_for, wait_running};
use reqwest::Method;
use serde_json::{Value, json};
use trellis_protocol::api::{Deployment, DeploymentEvent, EventKind, Node};

/// What `tests/guests/failing-init` fails with.
const REFUSAL: &str = "failing-init refuses to start";

/// Waits until the node's own heartbeat does (`true`) or does not (`false`) tell of an instance
/// of deployment `id`: what the node runs, not what the control plane wants.
async fn wait_reported(node: &TestNode, id: &str, wanted: bool) {
    let what = format!(
        "the node {} {id}",
        if wanted {
            "running"
        } else {
            "no longer running"
        }
    );
    wait_for(Duration::from_secs(30), &what, async || {
        let now: Node = node.node().await;
        let report = now.report.unwrap_or_default();
        let instances = report["instances"].as_array().cloned().unwrap_or_default();
        let has = instances
            .iter()
            .any(|i| i["deployment"] == id && i["state"] == "running");
        if has == wanted {
            Ok(())
        } else {
            Err(format!("{instances:?}"))
        }
    })
    .await
}

async fn act(node: &TestNode, method: Method, path: &str, body: Option<Value>) -> Value {
    node.send(method, path, &node.admin, body.as_ref()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_started_and_deleted_deployments_stop_and_run_on_their_node() {
    let node = spawn_node().await;
    let versions = [(echo_manifest("1.0.0", "v1"), trellis_guest_artifacts::ECHO)];
    let (deployment, _, _) = deploy_echo(&node, &versions).await;
    let id = &deployment.id;
    wait_running(&node, id, "1.0.0").await;
    wait_reported(&node, id, true).await;

    act(
        &node,
        Method::POST,
        &format!("/deployments/{id}/stop"),
        None,
    )
    .await;
    wait_reported(&node, id, false).await;
    assert_eq!(node.deployment(id).await.state.as_str(), "stopped");

    act(
        &node,
        Method::POST,
        &format!("/deployments/{id}/start"),
        None,
    )
    .await;
    wait_running(&node, id, "1.0.0").await;
    wait_reported(&node, id, true).await;

    act(&node, Method::DELETE, &format!("/deployments/{id}"), None).await;
    wait_reported(&node, id, false).await;
    let listed: Vec<Deployment> = node.get("/deployments", &node.admin).await;
    assert!(listed.is_empty(), "{listed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_whose_init_fails_is_rolled_back_by_itself() {
    let node = spawn_node().await;
    let versions = [
        (echo_manifest("1.0.0", "v1"), trellis_guest_artifacts::ECHO),
        (
            echo_manifest("2.0.0", "v2"),
            trellis_guest_artifacts::FAILING_INIT,
        ),
    ];
    let (deployment, _, _) = deploy_echo(&node, &versions).await;
    let id = &deployment.id;
    wait_running(&node, id, "1.0.0").await;

    let upgraded: Deployment = node
        .send(
            Method::POST,
            &format!("/deployments/{id}/upgrade"),
            &node.admin,
            Some(&json!({ "version": "2.0.0" })),
        )
        .await;
    assert_eq!(upgraded.version, "2.0.0");

    // Its node cannot start it; the control plane goes back to 1.0.0, which runs again.
    let back = wait_running(&node, id, "1.0.0").await;
    assert!(
        back.detail.contains("rolled back automatically") && back.detail.contains(REFUSAL),
        "{back:?}"
    );
    let history: Vec<DeploymentEvent> = node
        .get(&format!("/deployments/{id}/history"), &node.admin)
        .await;
    let kinds: Vec<EventKind> = history.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Created,
            EventKind::Upgraded,
            EventKind::RolledBack
        ]
    );
    let rollback = &history[2];
    assert_eq!(rollback.actor, "control-plane");
    assert_eq!(rollback.from_version.as_deref(), Some("2.0.0"));
    assert!(rollback.reason.contains(REFUSAL), "{rollback:?}");
    wait_reported(&node, id, true).await;
}
