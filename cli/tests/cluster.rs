//! Placement, fault tolerance and scheduling with real processes on loopback: a control plane
//! (`trellis up`) and node daemons (`trellis node`), killed with SIGKILL where the test says so.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::*;

/// Deployment id → (state, node) as the API reports them.
fn placements(user: &Api) -> BTreeMap<String, (String, Option<String>)> {
    user.deployments()
        .into_iter()
        .map(|d| {
            (
                d["id"].as_str().unwrap().to_string(),
                (
                    d["state"].as_str().unwrap().to_string(),
                    d["node"].as_str().map(str::to_string),
                ),
            )
        })
        .collect()
}

/// What the live nodes say they run: node → deployments. Panics if one runs anywhere twice.
fn running_on_live_nodes(configurer: &Api) -> BTreeMap<String, Vec<String>> {
    let mut seen = BTreeSet::new();
    let mut by_node = BTreeMap::new();
    for node in configurer.get("/nodes").as_array().unwrap() {
        if node["state"] != "up" {
            continue;
        }
        let instances: Vec<String> = node["report"]["instances"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| i["deployment"].as_str().unwrap().to_string())
            .collect();
        for id in &instances {
            assert!(seen.insert(id.clone()), "{id} runs on two nodes at once");
        }
        by_node.insert(node["name"].as_str().unwrap().to_string(), instances);
    }
    by_node
}

fn all_running(
    user: &Api,
    expected: usize,
    nodes: &[&str],
) -> Option<BTreeMap<String, (String, Option<String>)>> {
    let now = placements(user);
    let ok = now.len() == expected
        && now.values().all(|(state, node)| {
            state == "running" && node.as_deref().is_some_and(|n| nodes.contains(&n))
        });
    ok.then_some(now)
}

#[test]
fn nodes_share_work_survive_a_kill_and_take_new_work() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let _plane = control_plane(&dir.path().join("plane"), port, 0);
    let (_admin, configurer, user) = platform(&url);
    let mut nodes = Vec::new();
    let mut tokens = Vec::new();
    for name in ["n1", "n2", "n3"] {
        let token = configurer.post("/nodes", json!({ "name": name }))["token"]
            .as_str()
            .unwrap()
            .to_string();
        nodes.push(node(&url, &token, &dir.path().join(name)));
        tokens.push(token);
    }
    wait_for(Duration::from_secs(60), "three nodes up", || {
        (running_on_live_nodes(&configurer).len() == 3).then_some(())
    });

    for _ in 0..30 {
        deploy_thermostat(&user, json!({ "kind": "now" }));
    }
    let before = wait_for(Duration::from_secs(180), "30 instances running", || {
        all_running(&user, 30, &["n1", "n2", "n3"])
    });
    let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
    for (_, node) in before.values() {
        *per_node.entry(node.clone().unwrap()).or_default() += 1;
    }
    eprintln!("spread over the nodes: {per_node:?}");
    let reports = configurer.get("/nodes");
    let metrics: Vec<&Value> = reports
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["report"]["metrics"])
        .collect();
    assert_eq!(
        per_node.len(),
        3,
        "every node got work: {per_node:?}; metrics {metrics:?}"
    );
    assert!(
        per_node.values().all(|&n| (3..=20).contains(&n)),
        "spread: {per_node:?}"
    );
    assert_eq!(
        running_on_live_nodes(&configurer)
            .values()
            .map(Vec::len)
            .sum::<usize>(),
        30
    );

    // Kill n2 outright: its instances run on n1 and n3 soon after, each once.
    let killed_at = Instant::now();
    nodes[1].kill();
    let after = wait_for(
        Duration::from_secs(120),
        "n2's instances running elsewhere",
        || all_running(&user, 30, &["n1", "n3"]),
    );
    let recovery = killed_at.elapsed();
    eprintln!(
        "node killed → its {} instances running again: {recovery:?} (heartbeat {HEARTBEAT_MS} ms, down after {MISSED_HEARTBEATS} missed)",
        per_node["n2"]
    );
    for (id, (_, node)) in &before {
        if node.as_deref() != Some("n2") {
            assert_eq!(&after[id].1, node, "{id} moved though its node lived");
        }
    }
    let live = wait_for(Duration::from_secs(30), "nodes to report the move", || {
        let live = running_on_live_nodes(&configurer);
        (live.values().map(Vec::len).sum::<usize>() == 30).then_some(live)
    });
    assert!(
        !live.contains_key("n2"),
        "n2 is still reported up: {live:?}"
    );

    // n2 comes back empty-handed and takes new work.
    nodes[1] = node(&url, &tokens[1], &dir.path().join("n2"));
    wait_for(Duration::from_secs(60), "n2 up again", || {
        running_on_live_nodes(&configurer)
            .contains_key("n2")
            .then_some(())
    });
    let fresh: Vec<String> = (0..3)
        .map(|_| deploy_thermostat(&user, json!({ "kind": "now" })))
        .collect();
    let now = wait_for(Duration::from_secs(120), "33 instances running", || {
        all_running(&user, 33, &["n1", "n2", "n3"])
    });
    let on_n2: Vec<&String> = now
        .iter()
        .filter(|(_, (_, node))| node.as_deref() == Some("n2"))
        .map(|(id, _)| id)
        .collect();
    assert!(!on_n2.is_empty(), "the returned node took no new work");
    assert!(
        on_n2.iter().all(|id| fresh.contains(id)),
        "n2 got old work back: {on_n2:?}"
    );
}

fn rfc3339(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[test]
fn a_window_deployment_starts_and_stops_on_time() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let _plane = control_plane(dir.path(), port, 1);
    let (_admin, _configurer, user) = platform(&url);
    // Run one now first, so the node has compiled the app before the window opens.
    let warm = deploy_thermostat(&user, json!({ "kind": "now" }));
    wait_for(
        Duration::from_secs(120),
        "the first instance running",
        || (placements(&user)[&warm].0 == "running").then_some(()),
    );

    let start = chrono::Utc::now() + chrono::Duration::seconds(5);
    let start = start - chrono::Duration::nanoseconds(i64::from(start.timestamp_subsec_nanos()));
    let end = start + chrono::Duration::seconds(6);
    let window = deploy_thermostat(
        &user,
        json!({ "kind": "window", "start": rfc3339(start), "end": rfc3339(end) }),
    );
    let state = |user: &Api| placements(user)[&window].0.clone();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(state(&user), "stopped", "running before its window");
    wait_for(
        Duration::from_secs(30),
        "the window's instance running",
        || (state(&user) == "running").then_some(()),
    );
    let started_late = chrono::Utc::now() - start;
    assert!(chrono::Utc::now() >= start, "started before its window");
    wait_for(
        Duration::from_secs(30),
        "the window's instance stopped",
        || (state(&user) == "stopped").then_some(()),
    );
    let stopped_late = chrono::Utc::now() - end;
    assert!(
        chrono::Utc::now() >= end,
        "stopped before its window closed"
    );
    eprintln!(
        "window: running {started_late} after it opened, stopped {stopped_late} after it closed"
    );
    assert!(
        started_late < chrono::Duration::seconds(5) && stopped_late < chrono::Duration::seconds(5)
    );
    assert_eq!(
        placements(&user)[&warm].0,
        "running",
        "the other deployment was disturbed"
    );
}

#[test]
fn a_restarted_control_plane_converges_without_duplicates() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let data = dir.path().join("plane");
    let mut plane = control_plane(&data, port, 0);
    let (_admin, configurer, user) = platform(&url);
    let mut nodes = Vec::new();
    for name in ["n1", "n2"] {
        let token = configurer.post("/nodes", json!({ "name": name }))["token"]
            .as_str()
            .unwrap()
            .to_string();
        nodes.push(node(&url, &token, &dir.path().join(name)));
    }
    for _ in 0..6 {
        deploy_thermostat(&user, json!({ "kind": "now" }));
    }
    let before = wait_for(Duration::from_secs(180), "6 instances running", || {
        all_running(&user, 6, &["n1", "n2"])
    });

    plane.kill();
    std::thread::sleep(Duration::from_secs(2));
    let _plane = control_plane(&data, port, 0);
    let user = Api::login(&url, "eve", PASSWORD);
    let configurer = Api::login(&url, "carol", PASSWORD);
    let after = wait_for(
        Duration::from_secs(60),
        "both nodes reporting all six running again",
        || {
            let live = running_on_live_nodes(&configurer);
            (live.len() == 2 && live.values().map(Vec::len).sum::<usize>() == 6)
                .then(|| all_running(&user, 6, &["n1", "n2"]))
                .flatten()
        },
    );
    assert_eq!(after, before, "a restart moved or restarted instances");
    let extra = deploy_thermostat(&user, json!({ "kind": "now" }));
    wait_for(Duration::from_secs(60), "a new deployment running", || {
        all_running(&user, 7, &["n1", "n2"])
    });
    assert_eq!(
        running_on_live_nodes(&configurer)
            .values()
            .flatten()
            .filter(|d| **d == extra)
            .count(),
        1
    );
}

#[test]
fn a_trapping_app_is_restarted_with_backoff_and_reported() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let _plane = control_plane(dir.path(), port, 1);
    let (_admin, _configurer, user) = platform(&url);
    let neighbour = deploy_thermostat(&user, json!({ "kind": "now" }));
    let crashy = user.post("/deployments", json!({ "app": "crashy", "bindings": {} }))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let find = |id: &str| -> Value {
        user.deployments()
            .into_iter()
            .find(|d| d["id"] == id)
            .unwrap()
    };
    let failing = wait_for(Duration::from_secs(120), "crashy reported failing", || {
        let d = find(&crashy);
        (d["state"] == "failed").then_some(d)
    });
    assert!(
        failing["detail"]
            .as_str()
            .unwrap()
            .contains("crashy traps on every tick"),
        "{failing}"
    );
    // Backoff: with 200 ms ticks an unchecked restart loop would restart ~5 times a second.
    let first = find(&crashy)["restarts"].as_u64().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let later = find(&crashy)["restarts"].as_u64().unwrap();
    eprintln!("crashy restarts: {first} then {later} three seconds later");
    assert!(
        later >= first && later - first <= 3,
        "restarts went {first} → {later}"
    );
    let neighbour = find(&neighbour);
    assert_eq!(neighbour["state"], "running", "{neighbour}");
    assert_eq!(neighbour["restarts"], 0, "{neighbour}");
}
