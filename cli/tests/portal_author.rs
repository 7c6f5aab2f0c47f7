//! The data scientist's and the app developer's journeys in the portal, through headless
//! Chromium only, against a real `trellis up` with a node: uploading `digits` and trying it with
//! a fixture image, a bad upload shown beside its files and stored nowhere, and uploading
//! `smart-classroom`.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::browser::{self, Browser};
use common::{Api, PASSWORD, one_at_a_time, running_platform, workspace};
use reqwest::blocking::multipart::{Form, Part};
use serde_json::{Value, json};
use trellis_guest_artifacts as guests;

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn a_data_scientist_uploads_digits_tries_it_and_sees_a_bad_upload_refused() {
    let _one = one_at_a_time();
    if !browser::installed() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let (_plane, url, admin) = running_platform(data.path(), 1);
    admin.post(
        "/users",
        json!({ "name": "dana", "password": PASSWORD, "role": "data-scientist" }),
    );
    let name = "a_data_scientist_uploads_digits_tries_it_and_sees_a_bad_upload_refused";
    let browser = Browser::start(name, &url).unwrap();
    browser.sign_in("dana", PASSWORD);
    browser.click("Models");
    browser.wait_for_text("Upload a model package", WAIT);

    // A bad upload: a model.toml that is not one, and a contract that is not a component.
    let bad_toml = data.path().join("model.toml");
    std::fs::write(&bad_toml, "name = \"digits\"\nversion = 1\n").unwrap();
    let bad_contract = data.path().join("contract.wasm");
    std::fs::write(&bad_contract, b"\0asm not a component").unwrap();
    browser.upload("model.toml", &bad_toml);
    browser.upload(
        "model.onnx",
        &workspace("examples/models/digits/model.onnx"),
    );
    browser.upload("contract.wasm", &bad_contract);
    browser.click("Upload the package");
    browser.wait_until(
        r#"document.querySelector('[data-error-for="contract.wasm"]').textContent !== ''"#,
        WAIT,
    );
    let beside = |file: &str| browser.text_of(&format!(r#"[data-error-for="{file}"]"#));
    assert!(
        beside("model.toml").starts_with("model.toml:"),
        "{}",
        beside("model.toml")
    );
    assert!(
        beside("contract.wasm").starts_with("contract.wasm:"),
        "{}",
        beside("contract.wasm")
    );
    assert_eq!(beside("model.onnx"), "");
    assert_eq!(
        admin.get("/models"),
        json!([]),
        "a refused upload stored a model"
    );

    // The real package: the page goes to the model once it is stored.
    let started = Instant::now();
    browser.upload(
        "model.toml",
        &workspace("examples/models/digits/model.toml"),
    );
    browser.upload("contract.wasm", Path::new(guests::DIGITS_CONTRACT));
    browser.click("Upload the package");
    browser.wait_for_text("Model digits", WAIT);
    eprintln!(
        "figures: digits uploaded and its page shown in {:?}",
        started.elapsed()
    );
    assert!(
        browser.url().ends_with("/models/digits"),
        "{}",
        browser.url()
    );
    let stored = admin.get("/models/digits");
    assert_eq!(stored[0]["uploaded_by"], "dana", "{stored}");

    // Try it with a fixture image: the answer shows the image's label, and the time it took.
    let images: Value = serde_json::from_slice(
        &std::fs::read(workspace("examples/models/digits/fixtures/images.json")).unwrap(),
    )
    .unwrap();
    let image = &images[7];
    let truth = image["truth"].to_string();
    browser.upload(
        "#try-file",
        &workspace(&format!(
            "examples/models/digits/fixtures/images/{}",
            image["file"].as_str().unwrap()
        )),
    );
    browser.click("Run");
    browser.wait_until(
        "document.querySelector('[data-label]').textContent !== ''",
        WAIT,
    );
    assert_eq!(browser.text_of("[data-label]"), truth);
    let took: f64 = browser.text_of("[data-took]").parse().unwrap();
    let server: f64 = browser.text_of("[data-server]").parse().unwrap();
    assert!(
        server > 0.0 && server <= took,
        "server {server} ms, in all {took} ms"
    );
    eprintln!("figures: try it answered in {took} ms, {server} ms of it on the server");

    // On a phone's width, the pages fit: only tables scroll, inside their own box.
    browser.set_window_width(390);
    for page in ["/models", "/models/digits"] {
        browser.visit(page);
        assert_eq!(
            fits_the_width(&browser),
            json!(true),
            "{page} is wider than 390 px"
        );
    }
}

#[test]
fn an_app_developer_uploads_smart_classroom() {
    let _one = one_at_a_time();
    if !browser::installed() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let (_plane, url, admin) = running_platform(data.path(), 1);
    for (name, role) in [
        ("carol", "platform-configurer"),
        ("dana", "data-scientist"),
        ("pat", "app-developer"),
    ] {
        admin.post(
            "/users",
            json!({ "name": name, "password": PASSWORD, "role": role }),
        );
    }
    // What the app needs, registered by the people whose work it is.
    let configurer = Api::login(&url, "carol", PASSWORD);
    for sensor in ["temperature", "humidity", "occupancy"] {
        configurer.post(
            "/sensor-types",
            json!({ "name": sensor, "value": "number" }),
        );
    }
    for controller in ["fan", "air-conditioner"] {
        configurer.post(
            "/controller-types",
            json!({ "name": controller, "commands": [{ "name": "on" }] }),
        );
    }
    let form = Form::new()
        .part(
            "model.toml",
            Part::bytes(std::fs::read(workspace("examples/models/comfort/model.toml")).unwrap()),
        )
        .part(
            "model.onnx",
            Part::bytes(std::fs::read(workspace("examples/models/comfort/model.onnx")).unwrap()),
        )
        .part(
            "contract.wasm",
            Part::bytes(guests::read(guests::COMFORT_CONTRACT)),
        );
    let answer = reqwest::blocking::Client::new()
        .post(format!("{url}/api/v1/models"))
        .bearer_auth(login_token(&url, "dana"))
        .multipart(form)
        .send()
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.text().unwrap());

    let browser = Browser::start("an_app_developer_uploads_smart_classroom", &url).unwrap();
    browser.sign_in("pat", PASSWORD);
    browser.click("Apps");
    browser.wait_for_text("Upload an app", WAIT);
    browser.upload(
        "trellis.toml",
        &workspace("examples/apps/smart-classroom/trellis.toml"),
    );
    browser.upload("app.wasm", Path::new(guests::SMART_CLASSROOM));
    browser.click("Upload the app");
    browser.wait_for_text("App smart-classroom", WAIT);
    // Its roles with their types, its model, and its parameter with the default.
    for shown in [
        "air-conditioner",
        "occupancy",
        "comfort",
        "ac-setpoint",
        "22.0",
    ] {
        assert!(browser.has_text(shown), "{shown} not on the page");
    }
    browser.set_window_width(390);
    for page in ["/apps", "/apps/smart-classroom"] {
        browser.visit(page);
        assert_eq!(
            fits_the_width(&browser),
            json!(true),
            "{page} is wider than 390 px"
        );
    }
    let apps = admin.get("/apps/smart-classroom");
    assert_eq!(apps[0]["uploaded_by"], "pat", "{apps}");
}

/// Whether the page needs no sideways scrolling at the window's width.
fn fits_the_width(browser: &Browser) -> Value {
    browser.js(
        "return document.documentElement.scrollWidth <= window.innerWidth",
        vec![],
    )
}

/// A session token for `name`, for an upload the common client does not make.
fn login_token(url: &str, name: &str) -> String {
    let answer: Value = reqwest::blocking::Client::new()
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({ "name": name, "password": PASSWORD }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    answer["token"].as_str().unwrap().to_string()
}
