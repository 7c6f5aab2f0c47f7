//! Model and app versions: deployments pinned to the model versions they resolved, names owned by
//! their first uploader, versions deleted only when no deployment uses them, and the collector
//! that removes the artifacts no version refers to.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use trellis_control::artifacts::ArtifactStore;
use trellis_guest_artifacts as guests;

use crate::fixtures::{classroom, device};
use crate::helpers::{Db, TestApp, message, on_both_databases, workspace_file};
use crate::uploads::{app_parts, model_parts};

on_both_databases!(
    deployments_keep_the_model_versions_they_resolved,
    names_belong_to_their_first_uploader,
    versions_in_use_are_not_deleted,
    the_collector_keeps_what_versions_use_and_removes_the_rest,
    latest_answers_with_the_highest_version_from_the_next_request_after_a_push_or_deletion,
);

/// The digits package at `version` (the same model and contract, another version).
fn digits(version: &str) -> Vec<(&'static str, Vec<u8>)> {
    let mut parts = model_parts("digits", guests::DIGITS_CONTRACT);
    let toml = String::from_utf8(parts[0].1.clone()).unwrap();
    parts[0].1 = toml
        .replace("version = \"1.0.0\"", &format!("version = \"{version}\""))
        .into_bytes();
    parts
}

/// The digit-display app at `version`, asking for digits by `models` (a TOML line or table),
/// in place of the example's `models = ["digits"]`.
fn digit_display(version: &str, models: &str) -> Vec<(&'static str, Vec<u8>)> {
    let mut parts = app_parts("digit-display", guests::DIGIT_DISPLAY);
    let toml = String::from_utf8(parts[0].1.clone()).unwrap();
    let toml = format!(
        "version = \"{version}\"\n{}\n{models}\n",
        toml.replace("models = [\"digits\"]\n", "")
    );
    parts[0].1 = toml.into_bytes();
    parts
}

async fn push(app: &TestApp, path: &str, token: &str, parts: Vec<(&str, Vec<u8>)>) -> Value {
    let (status, answer) = app.upload(path, token, parts).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer
}

/// A camera and a display at the entrance: what digit-display binds.
async fn entrance(app: &TestApp) -> Value {
    let configurer = app.user("carol", "platform-configurer").await;
    let camera =
        json!({ "name": "camera", "unit": "", "value": "bytes", "media_type": "image/png" });
    let (status, answer) = app.post("/sensor-types", &configurer, camera).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let display = json!({ "name": "display", "commands": [{ "name": "show", "params": [
        { "name": "text", "value": "text", "required": true },
        { "name": "confidence", "value": "number" },
        { "name": "frame", "value": "number" },
    ]}]});
    let (status, answer) = app.post("/controller-types", &configurer, display).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let camera = device(
        app,
        &configurer,
        "sensors",
        "north-camera",
        "camera",
        "north",
        "hall",
    )
    .await;
    let display = device(
        app,
        &configurer,
        "controllers",
        "north-display",
        "display",
        "north",
        "hall",
    )
    .await;
    json!({ "camera": [camera["id"]], "display": [display["id"]] })
}

/// Deploys digit-display `version` as `token`; returns the status and answer.
async fn deploy(
    app: &TestApp,
    token: &str,
    version: &str,
    bindings: &Value,
) -> (StatusCode, Value) {
    let body = json!({ "app": "digit-display", "version": version, "bindings": bindings });
    app.post("/deployments", token, body).await
}

async fn deployments_keep_the_model_versions_they_resolved(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let dana = app.user("dana", "data-scientist").await;
    let pat = app.user("pat", "app-developer").await;
    let eve = app.user("eve", "end-user").await;
    let bindings = entrance(&app).await;
    push(&app, "/models", &dana, digits("1.0.0")).await;
    let pinned = push(
        &app,
        "/apps",
        &pat,
        digit_display("0.2.0", "[models]\ndigits = \"^1\""),
    )
    .await;
    assert_eq!(pinned["models"], json!({ "digits": "^1" }), "{pinned}");
    // The example's list form (its version is the default, 0.1.0) asks for any version.
    let any = push(
        &app,
        "/apps",
        &pat,
        app_parts("digit-display", guests::DIGIT_DISPLAY),
    )
    .await;
    assert_eq!(any["models"], json!({ "digits": "*" }), "{any}");
    let too_new = push(
        &app,
        "/apps",
        &pat,
        digit_display("0.3.0", "[models]\ndigits = \">=3\""),
    )
    .await;
    assert_eq!(too_new["models"], json!({ "digits": ">=3" }));

    let (status, first) = deploy(&app, &eve, "0.2.0", &bindings).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["models"], json!({ "digits": "1.0.0" }));
    let first_id = first["id"].as_str().unwrap().to_string();

    // Newer versions arrive: the deployment keeps running what it resolved.
    push(&app, "/models", &dana, digits("2.0.0")).await;
    push(&app, "/models", &dana, digits("1.1.0")).await;
    let (_, stored) = app.get(&format!("/deployments/{first_id}"), &eve).await;
    assert_eq!(stored["models"], json!({ "digits": "1.0.0" }), "{stored}");

    // New deployments resolve again: the highest version each requirement admits.
    let (status, second) = deploy(&app, &eve, "0.2.0", &bindings).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["models"], json!({ "digits": "1.1.0" }));
    let version = any["version"].as_str().unwrap();
    let (status, third) = deploy(&app, &eve, version, &bindings).await;
    assert_eq!(status, StatusCode::CREATED, "{third}");
    assert_eq!(third["models"], json!({ "digits": "2.0.0" }));

    // A requirement nothing meets is refused, naming the model, the requirement and what there is.
    let before = app.snapshot().await;
    let (status, answer) = deploy(&app, &eve, "0.3.0", &bindings).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    for part in ["model `digits`", "`>=3`", "it has 2.0.0, 1.1.0, 1.0.0"] {
        assert!(message(&answer).contains(part), "{part}: {answer}");
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused deployment was stored"
    );

    // The node running the first deployment is assigned exactly the recorded version.
    let admin = app.admin.clone();
    let (_, node) = app.post("/nodes", &admin, json!({ "name": "vm-1" })).await;
    let token = node["token"].as_str().unwrap().to_string();
    let report = json!({ "metrics": { "cpu_percent": 5.0, "memory_used_mb": 100.0,
        "memory_total_mb": 4000.0, "load_1m": 0.1, "performance": 10.0 }, "instances": [] });
    let mut assigned = Value::Null;
    for _ in 0..50 {
        app.post("/node/heartbeat", &token, report.clone()).await;
        assigned = app.get("/node/assignments", &token).await.1;
        if assigned["instances"]
            .as_array()
            .is_some_and(|i| i.len() == 3)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let versions: BTreeSet<(String, String)> = assigned["instances"]
        .as_array()
        .unwrap_or_else(|| panic!("{assigned}"))
        .iter()
        .map(|i| {
            let models = i["models"].as_array().unwrap();
            assert_eq!(models.len(), 1, "{i}");
            (
                i["deployment"].as_str().unwrap().to_string(),
                models[0]["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> =
        [(&first, "1.0.0"), (&second, "1.1.0"), (&third, "2.0.0")]
            .into_iter()
            .map(|(d, v)| (d["id"].as_str().unwrap().to_string(), v.to_string()))
            .collect();
    assert_eq!(versions, expected, "{assigned}");

    // `latest` names the highest version, not the last uploaded; a version must be semver.
    let (status, answer) = app
        .post("/models/digits/latest/predict", &eve, json!(vec![0.0; 64]))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = app.upload("/models", &dana, digits("two")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message(&answer).contains("`two` is not a semantic version"),
        "{answer}"
    );
}

/// The version that answered `POST /models/digits/latest/predict`, from its header.
async fn latest_answering(app: &TestApp, token: &str) -> String {
    let response = app
        .client
        .post(app.url("/models/digits/latest/predict"))
        .bearer_auth(token)
        .json(&vec![0.0; 64])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.headers()["trellis-model-version"]
        .to_str()
        .unwrap()
        .to_string()
}

/// `latest` is resolved from memory once a version has answered, so a push or a deletion must
/// reach it from the very next request.
async fn latest_answers_with_the_highest_version_from_the_next_request_after_a_push_or_deletion(
    db: Db,
) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let dana = app.user("dana", "data-scientist").await;
    push(&app, "/models", &dana, digits("1.0.0")).await;
    assert_eq!(latest_answering(&app, &dana).await, "1.0.0");
    assert_eq!(latest_answering(&app, &dana).await, "1.0.0");
    push(&app, "/models", &dana, digits("1.1.0")).await;
    assert_eq!(latest_answering(&app, &dana).await, "1.1.0");
    // An older version pushed later is not the latest.
    push(&app, "/models", &dana, digits("0.9.0")).await;
    assert_eq!(latest_answering(&app, &dana).await, "1.1.0");
    let (status, answer) = app
        .call(Method::DELETE, "/models/digits/1.1.0", Some(&dana), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
    assert_eq!(latest_answering(&app, &dana).await, "1.0.0");
    // A version asked for by name still answers as itself.
    let (status, answer) = app
        .post("/models/digits/0.9.0/predict", &dana, json!(vec![0.0; 64]))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

async fn names_belong_to_their_first_uploader(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    classroom(&app).await;
    let dana = app.user("dana", "data-scientist").await;
    let dave = app.user("dave", "data-scientist").await;
    let pat = app.user("pat", "app-developer").await;
    let paula = app.user("paula", "app-developer").await;
    let first = push(&app, "/models", &dana, digits("1.0.0")).await;
    assert_eq!(first["owner"], "dana");

    let before = app.snapshot().await;
    let (status, answer) = app.upload("/models", &dave, digits("2.0.0")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(
        message(&answer).contains("model `digits` belongs to dana"),
        "{answer}"
    );
    let (status, answer) = app
        .call(Method::DELETE, "/models/digits/1.0.0", Some(&dave), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(message(&answer).contains("dana"), "{answer}");
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused upload left something"
    );

    // The owner and admins may add versions; the name stays the owner's.
    push(&app, "/models", &dana, digits("1.1.0")).await;
    let by_admin = push(&app, "/models", &app.admin, digits("2.0.0")).await;
    assert_eq!(
        (by_admin["uploaded_by"].as_str(), by_admin["owner"].as_str()),
        (Some("admin"), Some("dana"))
    );
    // A name of one's own is free to take.
    let mut renamed = digits("1.0.0");
    let toml = String::from_utf8(renamed[0].1.clone()).unwrap();
    renamed[0].1 = toml
        .replace("name = \"digits\"", "name = \"daves-digits\"")
        .into_bytes();
    let mine = push(&app, "/models", &dave, renamed).await;
    assert_eq!(mine["owner"], "dave");

    // Apps alike.
    let thermostat = app_parts("classroom-thermostat", guests::CLASSROOM_THERMOSTAT);
    push(&app, "/apps", &pat, thermostat.clone()).await;
    let mut next = thermostat.clone();
    next[0].1 = [b"version = \"0.2.0\"\n".to_vec(), next[0].1.clone()].concat();
    let (status, answer) = app.upload("/apps", &paula, next.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(
        message(&answer).contains("app `classroom-thermostat` belongs to pat"),
        "{answer}"
    );
    let mine = push(&app, "/apps", &pat, next).await;
    assert_eq!(mine["owner"], "pat");
}

async fn versions_in_use_are_not_deleted(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let dana = app.user("dana", "data-scientist").await;
    let dave = app.user("dave", "data-scientist").await;
    let pat = app.user("pat", "app-developer").await;
    let eve = app.user("eve", "end-user").await;
    let bindings = entrance(&app).await;
    push(&app, "/models", &dana, digits("1.0.0")).await;
    push(&app, "/models", &dana, digits("2.0.0")).await;
    push(
        &app,
        "/apps",
        &pat,
        digit_display("0.1.0", "[models]\ndigits = \"^1\""),
    )
    .await;
    let (status, deployment) = deploy(&app, &eve, "0.1.0", &bindings).await;
    assert_eq!(status, StatusCode::CREATED, "{deployment}");
    let id = deployment["id"].as_str().unwrap().to_string();

    let delete = |path: &'static str, token: String| {
        let app = &app;
        async move { app.call(Method::DELETE, path, Some(&token), None).await }
    };
    // In use: refused, naming each deployment and its owner.
    for path in ["/models/digits/1.0.0", "/apps/digit-display/0.1.0"] {
        let (status, answer) = delete(path, app.admin.clone()).await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {answer}");
        assert!(
            message(&answer).contains(&format!("{id} (owner eve)")),
            "{path}: {answer}"
        );
    }
    let (status, _) = delete("/models/digits/9.9.9", dana.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Unused: deleted, and the model's other version still serves.
    let (status, answer) = delete("/models/digits/2.0.0", dana.clone()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
    let (_, versions) = app.get("/models/digits", &dana).await;
    assert_eq!(versions.as_array().unwrap().len(), 1, "{versions}");
    let (status, _) = app
        .post("/models/digits/1.0.0/predict", &eve, json!(vec![0.0; 64]))
        .await;
    assert_eq!(status, StatusCode::OK);

    // Once its owner deletes the deployment (its history stays), its versions may go; the last
    // version takes its name along.
    let (status, answer) = app
        .call(
            Method::DELETE,
            &format!("/deployments/{id}"),
            Some(&eve),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
    let (status, answer) = delete("/apps/digit-display/0.1.0", pat.clone()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
    let (status, answer) = delete("/models/digits/1.0.0", dana.clone()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
    for path in ["/models/digits", "/apps/digit-display"] {
        let (status, _) = app.get(path, &dana).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let taken = push(&app, "/models", &dave, digits("1.0.0")).await;
    assert_eq!(taken["owner"], "dave", "a freed name is anyone's");
}

async fn the_collector_keeps_what_versions_use_and_removes_the_rest(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    classroom(&app).await;
    let dana = app.user("dana", "data-scientist").await;
    let pat = app.user("pat", "app-developer").await;
    let model = push(&app, "/models", &dana, digits("1.0.0")).await;
    let thermostat = push(
        &app,
        "/apps",
        &pat,
        app_parts("classroom-thermostat", guests::CLASSROOM_THERMOSTAT),
    )
    .await;
    let in_use: BTreeSet<String> = [
        &model["onnx_sha256"],
        &model["contract_sha256"],
        &thermostat["component_sha256"],
    ]
    .iter()
    .map(|sha| sha.as_str().unwrap().to_string())
    .collect();
    let in_use_bytes: u64 = [
        workspace_file("examples/models/digits/model.onnx"),
        guests::read(guests::DIGITS_CONTRACT),
        guests::read(guests::CLASSROOM_THERMOSTAT),
    ]
    .iter()
    .map(|bytes| bytes.len() as u64)
    .sum();
    // What a deleted version or an interrupted upload leaves: a blob no version refers to.
    let data = app.data_dir.path().join("data");
    let store = ArtifactStore::open(&data.join("artifacts")).unwrap();
    let orphan = b"an artifact of a version long gone";
    store.lease().await.put(orphan).unwrap();
    let stored = || -> BTreeSet<String> { store.list().unwrap().into_iter().collect() };
    assert_eq!(stored().len(), 4);

    let (status, report) = app.post("/admin/collect", &app.admin, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        report["removed"],
        json!({ "files": 1, "bytes": orphan.len() }),
        "{report}"
    );
    assert_eq!(
        report["kept"],
        json!({ "files": 3, "bytes": in_use_bytes }),
        "{report}"
    );
    assert_eq!(stored(), in_use);

    // A second version sharing the first's files: deleting it keeps them.
    push(&app, "/models", &dana, digits("2.0.0")).await;
    let (status, _) = app
        .call(Method::DELETE, "/models/digits/2.0.0", Some(&dana), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(stored(), in_use);

    // Deleting the app's only version removes its component and its compiled copy.
    let component = thermostat["component_sha256"].as_str().unwrap().to_string();
    let compiled = || {
        std::fs::read_dir(data.join("compiled"))
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy().starts_with(&component)
            })
            .count()
    };
    assert_eq!(compiled(), 1, "the upload compiled the component");
    let (status, _) = app
        .call(
            Method::DELETE,
            "/apps/classroom-thermostat/0.1.0",
            Some(&pat),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let mut left = in_use.clone();
    left.remove(&component);
    assert_eq!(stored(), left);
    assert_eq!(compiled(), 0);
    let (_, report) = app.post("/admin/collect", &app.admin, json!({})).await;
    assert_eq!(report["removed"]["files"], 0, "{report}");
    assert_eq!(report["kept"]["files"], 2, "{report}");
}
