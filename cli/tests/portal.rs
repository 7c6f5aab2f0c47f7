//! The browser tests: a real `trellis up` with a real node, used through headless Chromium
//! (see `common/browser.rs` for the harness and how to write one).

mod common;

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use common::browser::{self, Browser};
use common::{ADMIN_PASSWORD, one_at_a_time, running_platform};
use serde_json::{Value, json};

#[test]
fn the_api_docs_page_lists_every_operation_and_logs_in_from_chromium() {
    let _one = one_at_a_time();
    if !browser::installed() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let (_plane, url, _admin) = running_platform(data.path(), 1);

    let started = Instant::now();
    let browser = Browser::start(
        "the_api_docs_page_lists_every_operation_and_logs_in_from_chromium",
        &url,
    )
    .unwrap();
    let session_opened = started.elapsed();
    browser.visit("/api/v1/docs");
    let page_loaded = started.elapsed();
    eprintln!(
        "figures: chromedriver + Chromium session {session_opened:?}; first page loaded at {page_loaded:?}"
    );

    assert_eq!(browser.title(), "Trellis API");
    // The page's script fetches the OpenAPI document and renders one block per operation.
    browser.wait_for_text("/api/v1/auth/login", Duration::from_secs(10));
    let document: Value = reqwest::blocking::get(format!("{url}/api/v1/openapi.json"))
        .unwrap()
        .json()
        .unwrap();
    let operations: usize = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(browser.count("#operations details"), operations);

    // Log in through the page: open the login operation, type the body, press its Send.
    browser.js(
        "for (const d of document.querySelectorAll('#operations details'))
           if (d.querySelector('summary').textContent.includes('/api/v1/auth/login')) {
             d.open = true; d.id = 'login';
           }",
        vec![],
    );
    let body = json!({ "name": "admin", "password": ADMIN_PASSWORD }).to_string();
    browser.fill("#login textarea", &body);
    browser.click("#login button");
    browser.wait_for_text("200 OK", Duration::from_secs(10));
    // The page puts the answer's token into the field labelled "Token"; the API accepts it.
    let token = browser.value_of("Token");
    assert!(!token.is_empty(), "the page filled in no token");
    let me = reqwest::blocking::Client::new()
        .get(format!("{url}/api/v1/auth/me"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert!(me.status().is_success(), "{}", me.status());
    assert_eq!(me.json::<Value>().unwrap()["name"], "admin");

    // The harness's other verbs, on the same page.
    browser.set_window_width(390);
    assert_eq!(browser.js("return window.innerWidth", vec![]), json!(390));

    browser.js("document.cookie = 'flavour=oat; path=/'", vec![]);
    let cookie = browser.cookie("flavour").expect("the cookie the page set");
    assert_eq!(cookie.value(), "oat");

    let file = data.path().join("reading.csv");
    std::fs::write(&file, "time,value\n0,21.5\n").unwrap();
    browser.js(
        "const input = document.createElement('input');
         input.type = 'file'; input.id = 'file';
         document.body.append(input);",
        vec![],
    );
    browser.upload("#file", &file);
    let chosen = browser.js(
        "const f = document.getElementById('file').files[0]; return [f.name, f.size]",
        vec![],
    );
    assert_eq!(
        chosen,
        json!(["reading.csv", std::fs::metadata(&file).unwrap().len()])
    );
}

#[test]
fn a_failing_browser_test_leaves_its_screenshot_and_page() {
    let _one = one_at_a_time();
    if !browser::installed() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let (_plane, url, _admin) = running_platform(data.path(), 1);
    let name = "a_failing_browser_test_leaves_its_screenshot_and_page";
    let dir = browser::artifacts_dir(name);
    let _ = std::fs::remove_dir_all(&dir);

    let failed = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let browser = Browser::start(name, &url).unwrap();
        browser.visit("/api/v1/docs");
        browser.wait_for_text("/api/v1/auth/login", Duration::from_secs(10));
        browser.wait_for_text("a sentence on no page", Duration::from_millis(500));
    }));
    let message = failed.expect_err("waiting for missing text fails the test");
    let message = message
        .downcast_ref::<String>()
        .map(String::as_str)
        .unwrap_or_default();
    assert!(message.contains("a sentence on no page"), "{message}");

    let png = std::fs::read(dir.join("screenshot.png")).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "screenshot.png is not a PNG"
    );
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert!(width > 0 && height > 0, "an empty screenshot");
    // The page as the script left it, not as the server sent it.
    let html = std::fs::read_to_string(dir.join("page.html")).expect("the page's HTML");
    assert!(html.contains("<title>Trellis API</title>"), "{html}");
    assert!(html.contains("/api/v1/auth/login"), "{html}");
}
