//! The portal's guards, in a real browser: signing in and out, nothing private without a
//! session, values shown as text, and no change made by another site's page.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use common::browser::{self, Browser};
use common::{ADMIN_PASSWORD, Api, one_at_a_time, running_platform};
use fantoccini::actions::InputSource;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn signing_in_and_out_guards_every_page() {
    let _one = one_at_a_time();
    if !browser::installed() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let (_plane, url, _admin) = running_platform(data.path(), 0);
    let browser = Browser::start("signing_in_and_out_guards_every_page", &url).unwrap();

    // Signed out, a page shows only the sign-in form, and brings the person back afterwards.
    browser.visit("/?from=deployments");
    browser.wait_for_text("Sign in to Trellis", WAIT);
    assert!(
        browser
            .url()
            .contains("/login?next=%2F%3Ffrom%3Ddeployments"),
        "{}",
        browser.url()
    );
    assert_eq!(
        browser.count("nav a"),
        0,
        "a signed-out page shows the navigation"
    );

    // A wrong password is said beside the form; what was typed is shown as text, never as markup.
    let hostile = r#""><img src=x onerror="window.__injected=1">"#;
    browser.send_sign_in(hostile, "wrong-password");
    browser.wait_for_text("wrong user name or password", WAIT);
    assert_eq!(browser.value_of("User name"), hostile);
    assert_eq!(
        browser.count("main img"),
        0,
        "the typed name became an element"
    );
    assert_eq!(
        browser.js("return window.__injected ?? null", vec![]),
        json!(null)
    );

    browser.sign_in("admin", ADMIN_PASSWORD);
    let cookie = browser
        .cookie("trellis_session")
        .expect("the session cookie");
    assert_eq!(
        cookie.http_only(),
        Some(true),
        "scripts can read the session"
    );
    assert_eq!(
        cookie.same_site().map(|same_site| format!("{same_site:?}")),
        Some("Strict".to_string())
    );
    assert_eq!(
        browser.js("return document.cookie.includes('trellis_session')", vec![]),
        json!(false)
    );
    // Keyboard first: the first Tab reaches the skip link.
    browser.js("document.activeElement.blur()", vec![]);
    let tab = fantoccini::actions::KeyActions::new("keyboard".into())
        .then(fantoccini::actions::KeyAction::Down {
            value: fantoccini::key::Key::Tab.into(),
        })
        .then(fantoccini::actions::KeyAction::Up {
            value: fantoccini::key::Key::Tab.into(),
        });
    browser
        .run(browser.client().perform_actions(tab))
        .expect("pressing Tab");
    assert_eq!(
        browser.js("return document.activeElement.textContent", vec![]),
        json!("Skip to the content")
    );

    browser.click("Sign out");
    browser.wait_for_text("Sign in to Trellis", WAIT);
    browser.visit("/");
    browser.wait_for_text("Sign in to Trellis", WAIT);
    assert!(!browser.has_text("Welcome, admin"));
}

/// Serves `page` to every request on a port of its own: another site's page.
fn serve_forever(listener: TcpListener, page: String) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                page.len()
            );
        }
    });
}

#[test]
fn another_sites_page_changes_nothing() {
    let _one = one_at_a_time();
    if !browser::installed() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let (_plane, url, _admin) = running_platform(data.path(), 0);
    let admin = Api::login(&url, "admin", ADMIN_PASSWORD);
    let browser = Browser::start("another_sites_page_changes_nothing", &url).unwrap();
    browser.sign_in("admin", ADMIN_PASSWORD);

    // The attacker's page posts a form the browser sends with its cookies, and tries a script
    // call the same way: to create a user, and to sign the victim out.
    let attack = format!(
        r#"<!doctype html><html><body>
        <form id="create" method="post" action="{url}/api/v1/users" enctype="text/plain">
          <input name='{{"name":"mallory","password":"a-long-password","role":"admin","x":"' value='"}}'>
        </form>
        <form id="out" method="post" action="{url}/logout"><input name="csrf" value="guess"></form>
        <script>
          window.done = [];
          fetch("{url}/api/v1/users", {{ method: "POST", credentials: "include",
            headers: {{ "content-type": "application/json" }},
            body: JSON.stringify({{ name: "mallet", password: "a-long-password", role: "admin" }}) }})
            .then(r => window.done.push("fetch " + r.status), e => window.done.push("fetch blocked"));
        </script></body></html>"#
    );
    // 127.0.0.1 on another port is the same site to a browser (SameSite ignores ports), so the
    // cookie goes along and only the cross-site-request token stands in the way; `localhost` is
    // another site, where the cookie itself stays home.
    for host in ["127.0.0.1", "localhost"] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        serve_forever(listener, attack.clone());
        let evil = format!("http://{host}:{port}/");
        browser.visit(&evil);
        browser.wait_until("window.done && window.done.length == 1", WAIT);
        browser.js("document.getElementById('create').submit()", vec![]);
        std::thread::sleep(Duration::from_millis(500));
        browser.visit(&evil);
        browser.wait_until("window.done && window.done.length == 1", WAIT);
        browser.js("document.getElementById('out').submit()", vec![]);
        std::thread::sleep(Duration::from_millis(500));
    }

    let users = admin.get("/users");
    let names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|user| user["name"].as_str())
        .collect();
    assert_eq!(names, ["admin"], "another site's page created a user");
    // And the victim is still signed in.
    browser.visit("/");
    browser.wait_for_text("Welcome, admin", WAIT);
}

#[test]
fn an_end_user_cannot_open_the_admins_or_configurers_pages_by_their_address() {
    let _one = one_at_a_time();
    if !browser::installed() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let (_plane, url, _admin) = running_platform(data.path(), 0);
    let admin = Api::login(&url, "admin", ADMIN_PASSWORD);
    admin.post(
        "/users",
        json!({ "name": "eve", "password": common::PASSWORD, "role": "end-user" }),
    );
    let browser = Browser::start(
        "an_end_user_cannot_open_the_admins_or_configurers_pages_by_their_address",
        &url,
    )
    .unwrap();
    browser.sign_in("eve", common::PASSWORD);
    let offered: Vec<String> = browser
        .js(
            "return [...document.querySelectorAll('nav a')].map(a => a.getAttribute('href'))",
            vec![],
        )
        .as_array()
        .unwrap()
        .iter()
        .map(|href| href.as_str().unwrap().to_string())
        .collect();
    for page in ["/users", "/nodes"] {
        assert!(
            !offered.iter().any(|href| href == page),
            "{page} offered: {offered:?}"
        );
        // Typed in anyway: the server refuses it, and shows none of what the page holds.
        browser.visit(page);
        browser.wait_for_text("Not yours to see", WAIT);
        assert!(!browser.has_text("admin"), "{page} showed the admin's name");
        assert_eq!(browser.count("table"), 0, "{page} showed a table");
    }
}
