//! The data scientist's and the app developer's portal pages, and the upload protocol under them:
//! a refused upload names the file at fault (`field`, and `errors` when several are at fault)
//! and stores nothing; a model package may come as one `.zip`.

use std::io::Write;

use reqwest::StatusCode;
use serde_json::{Value, json};
use trellis_guest_artifacts as guests;

use crate::fixtures::{classroom, id_of};
use crate::helpers::{Db, TestApp, message, on_both_databases, workspace_file};
use crate::uploads::{app_parts, model_parts};

on_both_databases!(
    a_data_scientist_uploads_a_zip_sees_it_and_tries_it,
    a_bad_model_upload_names_each_file_and_stores_nothing,
    an_app_developer_sees_roles_parameters_and_deployments,
);

/// A zip archive of `files` (path in the archive, bytes), compressed as archivers do.
fn zip_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (path, bytes) in files {
        zip.start_file(*path, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// The `field` of every problem an error body lists, in order.
fn fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

async fn a_data_scientist_uploads_a_zip_sees_it_and_tries_it(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let scientist = app.user("dana", "data-scientist").await;
    let eve = app.user("eve", "end-user").await;

    // The package as one zip of its folder, with a description that is markup.
    let parts = model_parts("digits", guests::DIGITS_CONTRACT);
    let toml = String::from_utf8(parts[0].1.clone()).unwrap();
    let hostile = "<img src=x onerror=alert(1)>";
    let toml = toml
        .lines()
        .map(|line| {
            if line.starts_with("description") {
                format!("description = \"{hostile}\"")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let zip = zip_of(&[
        ("digits/model.toml", toml.into_bytes()),
        ("digits/model.onnx", parts[1].1.clone()),
        ("digits/contract.wasm", parts[2].1.clone()),
        ("__MACOSX/digits/._model.onnx", b"resource fork".to_vec()),
    ]);

    // An end user may not upload, in any form; nothing is stored. (Small bodies: the refusal
    // comes before the body is read, and a large one would meet a closed connection.)
    let before = app.snapshot().await;
    let small_zip = zip_of(&[("model.toml", parts[0].1.clone())]);
    let (status, answer) = app
        .upload("/models", &eve, vec![("package.zip", small_zip)])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let (status, answer) = app
        .upload(
            "/apps",
            &eve,
            vec![
                (
                    "trellis.toml",
                    workspace_file("examples/apps/smart-classroom/trellis.toml"),
                ),
                ("app.wasm", b"\0asm".to_vec()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(app.snapshot().await, before);

    let (status, model) = app
        .upload("/models", &scientist, vec![("package.zip", zip)])
        .await;
    assert_eq!(status, StatusCode::CREATED, "{model}");
    assert_eq!(model["name"], "digits");
    assert_eq!(model["version"], "1.0.0");
    assert_eq!(model["uploaded_by"], "dana");

    // The models page lists it with its runtime, inputs and contract, and offers the upload
    // and the delete to its owner; the markup in the description shows as text.
    let (status, page) = app.page("/models", &scientist).await;
    assert_eq!(status, StatusCode::OK);
    for shown in [
        "href=\"/models/digits\"",
        model["backend"].as_str().unwrap(),
        model["inputs"][0].as_str().unwrap(),
        &model["contract_sha256"].as_str().unwrap()[..12],
        "data-upload-files=\"POST /api/v1/models\"",
        "name=\"package.zip\"",
        "data-error-for=\"model.onnx\"",
        "DELETE /api/v1/models/digits/1.0.0",
        &format!("datetime=\"{}\"", model["created_at"].as_str().unwrap()),
    ] {
        assert!(page.contains(shown), "{shown} not on the page:\n{page}");
    }
    assert!(!page.contains(hostile), "{page}");
    assert!(
        page.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{page}"
    );

    // An end user may look, but is offered neither upload nor delete.
    let (status, page) = app.page("/models", &eve).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("href=\"/models/digits\""), "{page}");
    assert!(!page.contains("data-upload-files"), "{page}");
    assert!(!page.contains("DELETE /api/v1/models"), "{page}");

    // The model's page: its versions, "try it", and the live figures' element.
    let (status, page) = app.page("/models/digits", &scientist).await;
    assert_eq!(status, StatusCode::OK);
    for shown in [
        "id=\"try-model\"",
        "data-model=\"digits\"",
        "data-live-model=\"digits\"",
        "<option value=\"1.0.0\">",
    ] {
        assert!(page.contains(shown), "{shown} not on the page:\n{page}");
    }
    let (status, _) = app.page("/models/nothing-here", &scientist).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // What "try it" sends: an image file as it is, answered with the fixture's label and the
    // server's time for the pipeline.
    let images: Value = serde_json::from_slice(&workspace_file(
        "examples/models/digits/fixtures/images.json",
    ))
    .unwrap();
    let image = &images[3];
    let bytes = workspace_file(&format!(
        "examples/models/digits/fixtures/images/{}",
        image["file"].as_str().unwrap()
    ));
    let answer = app
        .client
        .post(app.url("/models/digits/1.0.0/predict"))
        .bearer_auth(&scientist)
        .header("content-type", "image/png")
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let timing = answer.headers()["server-timing"]
        .to_str()
        .unwrap()
        .to_string();
    let ms: f64 = timing
        .strip_prefix("predict;dur=")
        .unwrap_or_else(|| panic!("{timing}"))
        .parse()
        .unwrap();
    assert!(ms > 0.0, "{timing}");
    let answer: Value = answer.json().await.unwrap();
    assert_eq!(answer["label"], image["truth"], "{answer}");
}

async fn a_bad_model_upload_names_each_file_and_stores_nothing(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let scientist = app.user("dana", "data-scientist").await;
    let parts = model_parts("digits", guests::DIGITS_CONTRACT);
    let before = app.snapshot().await;

    // Two files wrong at once: both are named, each with its own problem.
    let (status, answer) = app
        .upload(
            "/models",
            &scientist,
            vec![
                ("model.toml", b"name = \"digits\"\nversion = 1\n".to_vec()),
                ("model.onnx", parts[1].1.clone()),
                ("contract.wasm", b"\0asm not really".to_vec()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["field"], "model.toml", "{answer}");
    assert_eq!(fields(&answer), ["model.toml", "contract.wasm"], "{answer}");
    for problem in answer["errors"].as_array().unwrap() {
        let (field, error) = (
            problem["field"].as_str().unwrap(),
            problem["error"].as_str().unwrap(),
        );
        assert!(error.starts_with(field), "{problem}");
    }

    // A model that does not match its model.toml: the one file at fault, no list.
    let mut shape = parts.clone();
    shape[1].1 = workspace_file("examples/models/comfort/model.onnx");
    let (status, answer) = app.upload("/models", &scientist, shape).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["field"], "model.toml", "{answer}");
    assert!(
        message(&answer).contains("does not match model.onnx"),
        "{answer}"
    );
    assert!(answer.get("errors").is_none(), "{answer}");

    // Files missing: each is named.
    let (status, answer) = app
        .upload("/models", &scientist, vec![parts[0].clone()])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(fields(&answer), ["model.onnx", "contract.wasm"], "{answer}");

    // A zip that lacks a file, holds a stranger, or comes with loose files too.
    let lacking = zip_of(&[
        ("model.toml", parts[0].1.clone()),
        ("model.onnx", parts[1].1.clone()),
    ]);
    let stranger = zip_of(&[
        ("model.toml", parts[0].1.clone()),
        ("model.onnx", parts[1].1.clone()),
        ("contract.wasm", parts[2].1.clone()),
        ("notes/readme.md", b"hello".to_vec()),
    ]);
    for (zip, says) in [
        (lacking.clone(), "the archive lacks contract.wasm"),
        (stranger, "`notes/readme.md` is not part of a package"),
        (b"PK not a zip".to_vec(), "not a zip archive"),
    ] {
        let (status, answer) = app
            .upload("/models", &scientist, vec![("package.zip", zip)])
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(answer["field"], "package.zip", "{answer}");
        assert!(message(&answer).contains(says), "{says}: {answer}");
    }
    let (status, answer) = app
        .upload(
            "/models",
            &scientist,
            vec![("package.zip", lacking), parts[2].clone()],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(message(&answer).contains("not both"), "{answer}");

    // An app's two files wrong at once.
    let developer = app.user("pat", "app-developer").await;
    let before_apps = app.snapshot().await;
    let (status, answer) = app
        .upload(
            "/apps",
            &developer,
            vec![
                (
                    "trellis.toml",
                    b"name = \"x\"\n[sensors.t]\ntype = \"nowhere\"\n".to_vec(),
                ),
                ("app.wasm", guests::read(guests::DIGITS_CONTRACT)),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(fields(&answer), ["trellis.toml", "app.wasm"], "{answer}");
    assert!(
        message(&answer).contains("sensor type `nowhere`"),
        "{answer}"
    );

    // The document says so: the error shape's optional `field` and `errors`.
    let (_, document) = app.get("/openapi.json", &scientist).await;
    let schemas = &document["components"]["schemas"];
    let error = &schemas["ErrorBody"];
    assert_eq!(error["required"], json!(["error"]), "{error}");
    for property in ["error", "field", "errors"] {
        assert!(error["properties"].get(property).is_some(), "{error}");
    }
    assert!(schemas.get("FieldError").is_some(), "{schemas}");

    // Nothing of any of it was kept.
    assert_eq!(app.snapshot().await, before_apps);
    assert_eq!(before_apps.1, before.1);
    let (_, models) = app.get("/models", &scientist).await;
    assert_eq!(models, json!([]));
}

async fn an_app_developer_sees_roles_parameters_and_deployments(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    classroom(&app).await;
    let scientist = app.user("dana", "data-scientist").await;
    let (status, answer) = app
        .upload(
            "/models",
            &scientist,
            model_parts("comfort", guests::COMFORT_CONTRACT),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let developer = app.user("pat", "app-developer").await;
    let (status, uploaded) = app
        .upload(
            "/apps",
            &developer,
            app_parts("smart-classroom", guests::SMART_CLASSROOM),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{uploaded}");

    let eve = app.user("eve", "end-user").await;
    let mut bindings = serde_json::Map::new();
    for (role, collection, name) in [
        ("temperature", "sensors", "north-temperature"),
        ("humidity", "sensors", "north-humidity"),
        ("occupancy", "sensors", "north-occupancy"),
        ("fan", "controllers", "north-fan"),
        ("ac", "controllers", "north-air-conditioner"),
    ] {
        bindings.insert(
            role.into(),
            json!([id_of(&app, &eve, collection, name).await]),
        );
    }
    let (status, deployment) = app
        .post(
            "/deployments",
            &eve,
            json!({ "app": "smart-classroom", "bindings": bindings }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{deployment}");

    let (status, page) = app.page("/apps", &developer).await;
    assert_eq!(status, StatusCode::OK);
    for shown in [
        "href=\"/apps/smart-classroom\"",
        "data-upload-files=\"POST /api/v1/apps\"",
        "data-error-for=\"trellis.toml\"",
        "data-error-for=\"app.wasm\"",
    ] {
        assert!(page.contains(shown), "{shown} not on the page:\n{page}");
    }

    let (status, page) = app.page("/apps/smart-classroom", &developer).await;
    assert_eq!(status, StatusCode::OK);
    let id = deployment["id"].as_str().unwrap();
    let state = deployment["state"].as_str().unwrap();
    for shown in [
        // Roles with their types, and the model.
        "<code>ac</code>",
        "air-conditioner",
        "<code>occupancy</code>",
        "href=\"/models/comfort\"",
        // The parameter with its type, its default and what it sets, from the manifest.
        "<code>ac-setpoint</code>",
        "<code>22.0</code>",
        "Target temperature for the air conditioning.",
        // The version, and the deployment with its state, live.
        uploaded["version"].as_str().unwrap(),
        &format!("data-live-deployment=\"{id}\""),
        &format!("data-state=\"{state}\""),
    ] {
        assert!(page.contains(shown), "{shown} not on the page:\n{page}");
    }
    let (status, _) = app.page("/apps/nothing-here", &developer).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Another end user sees the app but not eve's deployment of it.
    let frank = app.user("frank", "end-user").await;
    let (status, page) = app.page("/apps/smart-classroom", &frank).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains(id), "{page}");
    assert!(!page.contains("data-upload-files"), "{page}");
}
