//! The platform configurer's journey in a real headless Chromium against a real `trellis up`:
//! an admin makes their account on the users page; they register a sensor type (a mistake said
//! beside its field) and a controller type, then a room's sensors and a controller, each token
//! shown once; a device sends with its token; the instances page shows them grouped by place;
//! a sensor's page changes who may use it.

mod common;

use std::time::{Duration, Instant};

use common::browser::{self, Browser};
use common::{ADMIN_PASSWORD, Api, PASSWORD, control_plane, free_port, one_at_a_time, wait_for};

const WAIT: Duration = Duration::from_secs(10);

/// Registers a device with the form of `kind` on the registration page; returns the token the
/// page shows for it.
fn register(browser: &Browser, kind: &str, type_label: &str, name: &str, room: &str) -> String {
    let form = format!("#register-{kind}");
    let token_at = format!("{form} [data-token]");
    let before = browser.text_of(&token_at);
    browser.select(&format!("{form} [name=type]"), type_label);
    browser.fill(&format!("{form} [name=name]"), name);
    for (field, value) in [("site", "north"), ("building", "main"), ("room", room)] {
        browser.fill(&format!("{form} [name='location.{field}']"), value);
    }
    browser.fill(&format!("{form} [name=labels]"), "floor=1");
    browser.click(&format!("{form} button[type=submit]"));
    browser.wait_until(
        &format!(
            "(() => {{ const box = document.querySelector('{form} [data-token-box]');
                 return !box.hidden && box.querySelector('[data-token-name]').textContent === '{name}'; }})()"
        ),
        WAIT,
    );
    let token = browser.text_of(&token_at);
    assert_ne!(token, before, "a new token for {name}");
    assert!(
        token.len() == 64 && token.chars().all(|c| c.is_ascii_hexdigit()),
        "{token:?}"
    );
    assert!(
        browser
            .text_of(&format!("{form} [data-token-box]"))
            .contains("will not be shown again")
    );
    token
}

#[test]
fn a_configurer_registers_types_a_rooms_sensors_and_a_controller_through_the_browser() {
    let _one = one_at_a_time();
    if !browser::installed() {
        return;
    }
    let name = "a_configurer_registers_types_a_rooms_sensors_and_a_controller_through_the_browser";
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let _plane = control_plane(data.path(), port, 1);
    let url = format!("http://127.0.0.1:{port}");
    wait_for(Duration::from_secs(30), "the control plane", || {
        std::panic::catch_unwind(|| Api::login(&url, "admin", ADMIN_PASSWORD)).ok()
    });
    let Some(browser) = Browser::start(name, &url) else {
        return;
    };
    let started = Instant::now();

    // The admin gives the configurer an account on the users page, and signs out.
    browser.sign_in("admin", ADMIN_PASSWORD);
    browser.visit("/users");
    browser.fill("#new-user [name=name]", "carol");
    browser.fill("#new-user [name=password]", PASSWORD);
    browser.select("#new-user [name=role]", "platform-configurer");
    browser.click("Create user");
    browser.wait_until(
        "[...document.querySelectorAll('#users th')].some(th => th.textContent === 'carol')",
        WAIT,
    );
    browser.click("Sign out");
    browser.sign_in("carol", PASSWORD);

    // A sensor type: the API's objection appears beside the field it concerns, then it goes in.
    browser.visit("/device-types");
    browser.fill("#new-sensor-type [name=name]", "thermometer");
    browser.fill("#new-sensor-type [name=unit]", "°C");
    browser.fill("#new-sensor-type [name=media_type]", "image/png");
    browser.click("Register sensor type");
    browser.wait_until(
        r#"document.querySelector('#new-sensor-type [data-error-for="media_type"]').textContent.includes('media type')"#,
        WAIT,
    );
    browser.fill("#new-sensor-type [name=media_type]", "");
    browser.click("Register sensor type");
    browser.wait_for("#sensor-type-thermometer", WAIT);
    assert!(browser.text_of("#sensor-type-thermometer").contains("°C"));

    // A controller type, its commands as JSON.
    browser.fill("#controller-type-name", "lamp");
    browser.fill(
        "#controller-type-commands",
        r#"[{"name": "set-level", "params": [{"name": "level", "value": "number", "required": true}]}, {"name": "off"}]"#,
    );
    browser.click("Register controller type");
    browser.wait_for("#controller-type-lamp", WAIT);
    let lamp = browser.text_of("#controller-type-lamp");
    assert!(
        lamp.contains("set-level") && lamp.contains("level: number"),
        "{lamp}"
    );

    // Room r101's two sensors and its lamp, one after another, each token shown once.
    browser.visit("/instances/new");
    let window = register(
        &browser,
        "sensor",
        "thermometer (°C)",
        "t-101-window",
        "r101",
    );
    register(&browser, "sensor", "thermometer (°C)", "t-101-door", "r101");
    register(&browser, "sensor", "thermometer (°C)", "t-102", "r102");
    let lamp_token = register(&browser, "controller", "lamp", "lamp-101", "r101");

    // The tokens shown are the devices' own: the gateway takes a reading and a state with them.
    let gateway = reqwest::blocking::Client::new();
    let sent = gateway
        .post(format!("{url}/api/v1/device/readings"))
        .bearer_auth(&window)
        .json(&serde_json::json!({ "value": { "kind": "number", "value": 21.5 } }))
        .send()
        .unwrap();
    assert!(sent.status().is_success(), "{}", sent.status());
    let sent = gateway
        .post(format!("{url}/api/v1/device/state"))
        .bearer_auth(&lamp_token)
        .json(&serde_json::json!({ "level": 40 }))
        .send()
        .unwrap();
    assert!(sent.status().is_success(), "{}", sent.status());

    // The instances page groups them by place, never shows a token again, and counts the
    // reading.
    browser.visit("/instances");
    let groups = browser.js(
        "return [...document.querySelectorAll('section')].map(section =>
           [section.id, [...section.querySelectorAll('tbody')].map(group =>
             [group.querySelector('tr.place').innerText.trim(),
              [...group.querySelectorAll('tr[data-live-sensor], tr[data-live-controller]')]
                .map(row => row.querySelector('a').innerText.trim())])])",
        vec![],
    );
    assert_eq!(
        groups,
        serde_json::json!([
            [
                "sensor-list",
                [
                    ["north › main › r101", ["t-101-door", "t-101-window"]],
                    ["north › main › r102", ["t-102"]]
                ]
            ],
            ["controller-list", [["north › main › r101", ["lamp-101"]]]]
        ])
    );
    let html = browser.html();
    assert!(!html.contains(&window) && !html.contains(&lamp_token));
    browser.wait_until(
        "(() => { const row = [...document.querySelectorAll('tr[data-live-sensor]')]
             .find(r => r.querySelector('a').innerText === 't-101-window');
           return row.querySelector('[data-reading-count]').innerText.trim() === '1'; })()",
        WAIT,
    );
    let state = browser.text_of("tr[data-live-controller] [data-reported-state]");
    assert!(state.contains("\"level\":40"), "{state}");
    // Live: the controller's next state shows without a reload.
    browser.js("document.body.dataset.unreloaded = 'yes'", vec![]);
    browser.wait_until("document.documentElement.dataset.live === 'open'", WAIT);
    let sent = gateway
        .post(format!("{url}/api/v1/device/state"))
        .bearer_auth(&lamp_token)
        .json(&serde_json::json!({ "level": 75 }))
        .send()
        .unwrap();
    assert!(sent.status().is_success(), "{}", sent.status());
    browser.wait_until(
        "document.querySelector('tr[data-live-controller] [data-reported-state]').innerText.includes('75')",
        WAIT,
    );
    assert_eq!(
        browser.js("return document.body.dataset.unreloaded ?? null", vec![]),
        serde_json::json!("yes"),
        "the page reloaded"
    );

    // Narrowed to one room, and on a phone's width, the page still reads.
    browser.fill("Room", "r101");
    browser.click("Filter");
    browser.wait_until("location.search.includes('room=r101')", WAIT);
    assert_eq!(browser.count("tr[data-live-sensor]"), 2);
    browser.set_window_width(390);
    let overflow = browser.js(
        "return document.documentElement.scrollWidth <= window.innerWidth",
        vec![],
    );
    assert_eq!(overflow, serde_json::json!(true), "the page fits 390 px");

    // The sensor's own page, reached by its link.
    browser.click("t-101-window");
    browser.wait_for_text("Readings over the last 24 hours", WAIT);
    assert!(browser.has_text("floor=1") && !browser.html().contains(&window));
    // Its chart holds the reading sent, and the next one arrives live, without a reload.
    browser.wait_for(".chart[data-sensor][data-ready]", WAIT);
    assert_eq!(
        browser.js(
            "return document.querySelector('.chart').dataset.points",
            vec![]
        ),
        serde_json::json!("1")
    );
    browser.wait_until("document.documentElement.dataset.live === 'open'", WAIT);
    let sent = gateway
        .post(format!("{url}/api/v1/device/readings"))
        .bearer_auth(&window)
        .json(&serde_json::json!({ "value": { "kind": "number", "value": 23.25 } }))
        .send()
        .unwrap();
    assert!(sent.status().is_success(), "{}", sent.status());
    browser.wait_until(
        "document.querySelector('.chart').dataset.points === '2'",
        WAIT,
    );
    browser.wait_until(
        "document.querySelector('[data-last-value]').innerText.includes('23.25')",
        WAIT,
    );

    // Who may use it, changed on its page: a name that is no user's is refused beside the
    // field and nothing changes; then every user is granted it.
    assert!(browser.has_text("only platform configurers and admins"));
    browser.fill("#device-users [name=users]", "carol, nobody-by-that-name");
    browser.click("Save users");
    browser.wait_until(
        r#"document.querySelector('#device-users [data-error-for="users"]').textContent.includes('no user `nobody-by-that-name`')"#,
        WAIT,
    );
    let sensor_id = browser.js(
        "return document.querySelector('.chart').dataset.sensor",
        vec![],
    );
    let sensor_path = format!("/sensors/{}", sensor_id.as_str().unwrap());
    let carol = Api::login(&url, "carol", PASSWORD);
    assert_eq!(carol.get(&sensor_path)["users"], serde_json::json!([]));
    browser.fill("#device-users [name=users]", "carol, *");
    browser.click("Save users");
    browser.wait_for_text("every user", WAIT);
    assert_eq!(
        carol.get(&sensor_path)["users"],
        serde_json::json!(["carol", "*"])
    );
    eprintln!(
        "figures: configurer journey in the browser took {:?}",
        started.elapsed()
    );
}
