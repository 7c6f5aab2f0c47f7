//! The end user's journey in a real headless Chromium against a real `trellis up` with a real
//! node: sign in, pick `smart-classroom` from the catalogue, bind every role by location with
//! the pickers, schedule it by cron, see it running, stop it. The other roles' set-up (types,
//! instances, the model and the app) goes through the CLI; the end user uses only the browser.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::browser::{self, Browser};
use common::{ADMIN_PASSWORD, Api, PASSWORD, Person, control_plane, free_port, one_at_a_time};
use trellis_guest_artifacts::{COMFORT_CONTRACT, SMART_CLASSROOM};

fn example(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(path)
        .display()
        .to_string()
}

/// A school with two classrooms, the comfort model and `smart-classroom`, and the end user eve.
fn school(url: &str, homes: &Path) {
    let admin = Person::new(homes, "admin");
    admin.login(url, "admin", ADMIN_PASSWORD);
    for (name, role) in [
        ("carol", "platform-configurer"),
        ("dana", "data-scientist"),
        ("pat", "app-developer"),
        ("eve", "end-user"),
    ] {
        admin.ok(&[
            "user",
            "create",
            name,
            "--role",
            role,
            "--password",
            PASSWORD,
        ]);
    }
    let carol = Person::logged_in(homes, url, "carol", PASSWORD);
    for name in ["temperature", "humidity", "occupancy"] {
        carol.ok(&["sensor-type", "create", name]);
    }
    for name in ["fan", "air-conditioner"] {
        carol.ok(&[
            "controller-type",
            "create",
            name,
            "--command",
            "on:level=number",
            "--command",
            "off",
        ]);
    }
    for (site, room) in [("north", "room-1"), ("south", "room-2")] {
        for (noun, kind) in [
            ("sensor", "temperature"),
            ("sensor", "humidity"),
            ("sensor", "occupancy"),
            ("controller", "fan"),
            ("controller", "air-conditioner"),
        ] {
            carol.ok(&[
                noun,
                "create",
                &format!("{site}-{kind}"),
                "--type",
                kind,
                "--site",
                site,
                "--building",
                "main",
                "--room",
                room,
                "--user",
                "*",
            ]);
        }
    }
    let dana = Person::logged_in(homes, url, "dana", PASSWORD);
    dana.ok(&[
        "model",
        "push",
        &example("models/comfort"),
        "--contract",
        COMFORT_CONTRACT,
    ]);
    let pat = Person::logged_in(homes, url, "pat", PASSWORD);
    pat.ok(&[
        "app",
        "push",
        &example("apps/smart-classroom"),
        "--component",
        SMART_CLASSROOM,
    ]);
}

/// Reloads the page until `selector` matches, for at most `limit`.
fn reload_until(browser: &Browser, selector: &str, limit: Duration) {
    let started = Instant::now();
    while browser.count(selector) == 0 {
        assert!(
            started.elapsed() < limit,
            "no {selector} after {limit:?}: {}",
            browser.text_of("main")
        );
        std::thread::sleep(Duration::from_secs(1));
        browser.reload();
    }
}

#[test]
fn an_end_user_deploys_by_location_on_a_schedule_sees_it_run_and_stops_it() {
    let _one = one_at_a_time();
    if !browser::installed() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let homes = tempfile::tempdir().unwrap();
    let port = free_port();
    let _plane = control_plane(data.path(), port, 1);
    let url = format!("http://127.0.0.1:{port}");
    common::wait_for(Duration::from_secs(30), "the control plane", || {
        std::panic::catch_unwind(|| Api::login(&url, "admin", ADMIN_PASSWORD)).ok()
    });
    school(&url, homes.path());

    let started = Instant::now();
    let browser = Browser::start(
        "an_end_user_deploys_by_location_on_a_schedule_sees_it_run_and_stops_it",
        &url,
    )
    .unwrap();
    browser.visit("/login");
    browser.fill("User name", "eve");
    browser.fill("Password", PASSWORD);
    browser.click("Sign in");
    browser.wait_for_text("Welcome, eve", Duration::from_secs(10));

    // The catalogue leads to the deploy form.
    browser.click("Apps to deploy");
    browser.click("Deploy smart-classroom");
    browser.wait_for("form#deploy", Duration::from_secs(10));
    let form_shown = started.elapsed();
    assert_eq!(browser.count("fieldset.role"), 5);

    // Sent with nothing bound, the API's refusal shows beside the role it names.
    browser.click("Deploy");
    browser.wait_until(
        r#"document.querySelector('fieldset[data-role="humidity"] [data-error-for]').textContent.includes("takes 1")"#,
        Duration::from_secs(10),
    );
    assert_eq!(browser.url(), format!("{url}/deploy/smart-classroom"));

    // Every role bound at the north site: the pickers offer both sites, the instances there
    // come from the API once the site is chosen, the one each role takes ticked.
    for role in ["temperature", "humidity", "occupancy", "fan", "ac"] {
        let set = format!(r#"fieldset[data-role="{role}"]"#);
        let sites = browser.text_of(&format!(r#"{set} select[data-level="site"]"#));
        assert!(
            sites.contains("north (1)") && sites.contains("south (1)"),
            "{sites}"
        );
        browser.select(&format!(r#"{set} select[data-level="site"]"#), "north (1)");
        browser.wait_for(
            &format!("{set} .ticks input[type=checkbox]:checked"),
            Duration::from_secs(10),
        );
        let ticked = browser.text_of(&format!("{set} .ticks"));
        assert!(
            ticked.contains("north-") && !ticked.contains("south-"),
            "{ticked}"
        );
        browser.select(
            &format!(r#"{set} select[data-level="building"]"#),
            "main (1)",
        );
        browser.wait_for(
            &format!("{set} .ticks input[type=checkbox]:checked"),
            Duration::from_secs(10),
        );
    }
    // A parameter, and a schedule: every minute, for two hours each time.
    browser.fill("#param0", "21");
    browser.click(r#"input[name="schedule.kind"][value="cron"]"#);
    // Only the chosen kind's inputs show.
    let shown = |selector: &str| {
        browser.js(
            "return document.querySelector(arguments[0]).offsetParent !== null",
            vec![serde_json::json!(selector)],
        ) == serde_json::json!(true)
    };
    assert!(shown("#schedule-cron") && !shown("#schedule-start"));
    browser.fill("#schedule-cron", "* * * * *");
    browser.fill("#schedule-minutes", "120");
    browser.click("Deploy");

    // On to the deployment's page; it runs once its schedule's first minute starts.
    browser.wait_until(
        "location.pathname.startsWith('/deployments/dep_')",
        Duration::from_secs(10),
    );
    let id = browser.url().rsplit('/').next().unwrap().to_string();
    browser.wait_for_text("* * * * *", Duration::from_secs(5));
    reload_until(
        &browser,
        r#".state[data-state="running"]"#,
        Duration::from_secs(120),
    );
    let running = started.elapsed();

    // What the browser sent is what the API keeps: the north instances, the parameter set.
    let eve = Api::login(&url, "eve", PASSWORD);
    let deployment = eve.get(&format!("/deployments/{id}"));
    let ids_named = |prefix: &str| -> Vec<String> {
        let mut ids = Vec::new();
        for collection in ["sensors", "controllers"] {
            for device in eve.get(&format!("/{collection}")).as_array().unwrap() {
                if device["name"].as_str().unwrap().starts_with(prefix) {
                    ids.push(device["id"].as_str().unwrap().to_string());
                }
            }
        }
        ids
    };
    let north = ids_named("north-");
    for (role, bound) in deployment["bindings"].as_object().unwrap() {
        let bound = bound.as_array().unwrap();
        assert_eq!(bound.len(), 1, "{role}: {deployment}");
        assert!(
            north.contains(&bound[0].as_str().unwrap().to_string()),
            "{role}: {deployment}"
        );
    }
    assert_eq!(deployment["bindings"].as_object().unwrap().len(), 5);
    assert_eq!(deployment["config"]["ac-setpoint"], 21.0, "{deployment}");
    assert_eq!(deployment["schedule"]["kind"], "cron", "{deployment}");

    // My deployments lists it; stopping it there stops it.
    browser.visit("/deployments");
    assert!(browser.has_text(&id));
    assert_eq!(browser.count("tr[data-live-deployment]"), 1);
    browser.click(&format!("Stop {id}"));
    browser.wait_for_text("(stopped by its owner)", Duration::from_secs(10));
    assert_eq!(
        eve.get(&format!("/deployments/{id}"))["run_state"],
        "stopped"
    );
    reload_until(
        &browser,
        r#".state[data-state="stopped"]"#,
        Duration::from_secs(30),
    );
    eprintln!(
        "figures: deploy form shown {form_shown:?} after the browser started; running at {running:?}; stopped at {:?}",
        started.elapsed()
    );
}
