//! The whole platform through the CLI: `trellis up`, then each role does its part with the real
//! binary, as the README shows.

mod common;

use std::path::Path;

use serde_json::Value;
use trellis_guest_artifacts::{COMFORT_CONTRACT, DIGITS_CONTRACT, SMART_CLASSROOM};

use common::{ADMIN_PASSWORD, PASSWORD, Person, Process};

/// `trellis up` on a free port; killed when dropped.
struct ControlPlane {
    _process: Process,
    url: String,
    _data: tempfile::TempDir,
}

impl ControlPlane {
    fn start() -> ControlPlane {
        let data = tempfile::tempdir().unwrap();
        let (process, url) = common::up(&["--listen", "127.0.0.1:0"], data.path());
        ControlPlane {
            _process: process,
            url,
            _data: data,
        }
    }
}

fn example(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(path)
        .display()
        .to_string()
}

#[test]
fn each_role_does_its_part_and_status_shows_the_deployment() {
    let plane = ControlPlane::start();
    let homes = tempfile::tempdir().unwrap();
    let admin = Person::new(homes.path(), "admin");
    admin.login(&plane.url, "admin", ADMIN_PASSWORD);
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
    let person = |name: &str| {
        let person = Person::new(homes.path(), name);
        person.login(&plane.url, name, PASSWORD);
        person
    };
    let (carol, dana, pat, eve) = (
        person("carol"),
        person("dana"),
        person("pat"),
        person("eve"),
    );

    // The configurer registers types and instances at two locations.
    for (name, unit) in [
        ("temperature", "°C"),
        ("humidity", "%"),
        ("occupancy", "people"),
    ] {
        carol.ok(&[
            "sensor-type",
            "create",
            name,
            "--unit",
            unit,
            "--sampling-hz",
            "1",
        ]);
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
        for kind in ["temperature", "humidity", "occupancy"] {
            let name = format!("{site}-{kind}");
            carol.ok(&[
                "sensor",
                "create",
                &name,
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
        for kind in ["fan", "air-conditioner"] {
            let name = format!("{site}-{kind}");
            carol.ok(&[
                "controller",
                "create",
                &name,
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
    let listed = carol.ok(&["sensor", "list", "--site", "south"]);
    assert!(
        listed.contains("south-humidity") && !listed.contains("north-"),
        "{listed}"
    );
    // Pages of a list, by name, say where they are in the whole; a search finds by name.
    let paged = carol.ok(&["sensor", "list", "--limit", "2", "--offset", "1"]);
    assert!(
        paged.contains("north-occupancy")
            && paged.contains("north-temperature")
            && !paged.contains("north-humidity")
            && paged.contains("2-3 of 6"),
        "{paged}"
    );
    let found = eve.ok(&["sensor", "list", "--search", "HUMID"]);
    assert!(
        found.contains("north-humidity")
            && found.contains("south-humidity")
            && !found.contains("temperature"),
        "{found}"
    );
    let places = eve.ok(&["locations"]);
    assert!(
        places.contains("north") && places.contains("room-2") && places.contains("fan=1"),
        "{places}"
    );
    let sensors: serde_json::Value =
        serde_json::from_str(&eve.ok(&["sensor", "list", "--json"])).unwrap();
    let history = eve.ok(&[
        "readings",
        sensors[0]["id"].as_str().unwrap(),
        "--since",
        "1h",
    ]);
    assert!(history.contains("0 reading(s)"), "{history}");
    let refused = eve.refused(&["sensor-type", "create", "light"]);
    assert!(
        refused.contains("not allowed") && refused.contains("end-user"),
        "{refused}"
    );

    // The data scientist pushes digits as one .zip of its files (and comfort, which the
    // classroom app asks, from its folder).
    let zip = homes.path().join("digits.zip");
    let mut archive = zip::ZipWriter::new(std::fs::File::create(&zip).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, path) in [
        ("digits/model.toml", example("models/digits/model.toml")),
        ("digits/model.onnx", example("models/digits/model.onnx")),
        ("digits/contract.wasm", DIGITS_CONTRACT.to_string()),
    ] {
        archive.start_file(name, options).unwrap();
        std::io::Write::write_all(&mut archive, &std::fs::read(path).unwrap()).unwrap();
    }
    archive.finish().unwrap();
    let zip = zip.display().to_string();
    let both = dana.refused(&["model", "push", &zip, "--contract", DIGITS_CONTRACT]);
    assert!(both.contains("is a .zip"), "{both}");
    let pushed = dana.ok(&["model", "push", &zip]);
    assert!(pushed.contains("pushed model digits 1.0.0"), "{pushed}");
    // ...and tries it with a fixture image, as the portal's "try it" does.
    let images: Value = serde_json::from_slice(
        &std::fs::read(example("models/digits/fixtures/images.json")).unwrap(),
    )
    .unwrap();
    let image = &images[5];
    let tried = dana.ok(&[
        "model",
        "try",
        "digits@1.0.0",
        "--file",
        &example(&format!(
            "models/digits/fixtures/images/{}",
            image["file"].as_str().unwrap()
        )),
    ]);
    assert!(
        tried.contains(&format!("\"label\":{}", image["truth"])),
        "{tried}"
    );
    assert!(tried.contains("ms on the server"), "{tried}");
    assert!(tried.contains("(digits 1.0.0; took"), "{tried}");
    let refused = dana.refused(&["model", "try", "digits", "--input", "[1, 2"]);
    assert!(refused.contains("--input is not valid JSON"), "{refused}");
    dana.ok(&[
        "model",
        "push",
        &example("models/comfort"),
        "--contract",
        COMFORT_CONTRACT,
    ]);
    let missing = dana.refused(&["model", "push", &example("models/digits")]);
    assert!(missing.contains("contract.wasm"), "{missing}");

    // The app developer pushes the example app.
    let pushed = pat.ok(&[
        "app",
        "push",
        &example("apps/smart-classroom"),
        "--component",
        SMART_CLASSROOM,
    ]);
    assert!(pushed.contains("pushed app smart-classroom"), "{pushed}");

    // The end user sees where the app's roles can be bound, and what is there.
    let places = eve.ok(&["bindable", "sensor", "--type", "temperature", "--places"]);
    assert!(
        places.contains("north") && places.contains("south"),
        "{places}"
    );
    let there = eve.ok(&["bindable", "controller", "--type", "fan", "--site", "north"]);
    assert!(
        there.contains("north-fan") && !there.contains("south-fan"),
        "{there}"
    );

    // A fan registered without users is not hers to bind until the configurer grants it.
    let spare: serde_json::Value = serde_json::from_str(&carol.ok(&[
        "controller",
        "create",
        "spare-fan",
        "--type",
        "fan",
        "--site",
        "north",
        "--building",
        "main",
        "--room",
        "room-1",
        "--json",
    ]))
    .unwrap();
    let not_yet = eve.ok(&["bindable", "controller", "--type", "fan", "--site", "north"]);
    assert!(!not_yet.contains("spare-fan"), "{not_yet}");
    let granted = carol.ok(&[
        "controller",
        "users",
        spare["id"].as_str().unwrap(),
        "--user",
        "eve",
    ]);
    assert!(
        granted.contains("spare-fan") && granted.contains("eve"),
        "{granted}"
    );
    let now = eve.ok(&["bindable", "controller", "--type", "fan", "--site", "north"]);
    assert!(now.contains("spare-fan"), "{now}");

    // The end user deploys it at one location, on a schedule.
    let wrong = eve.refused(&[
        "deploy",
        "smart-classroom",
        "--bind",
        "temperature=north-humidity",
        "--at",
        "site=north",
    ]);
    assert!(
        wrong.contains("no `temperature` instance called north-humidity"),
        "{wrong}"
    );
    let deployed = eve.ok(&[
        "deploy",
        "smart-classroom",
        "--at",
        "site=north",
        "--set",
        "ac-setpoint=21",
        "--cron",
        // 03:00 on 29 February: outside its schedule whenever this test runs, bar that hour.
        "0 3 29 2 *",
        "--duration-minutes",
        "480",
    ]);
    assert!(deployed.contains("deployed smart-classroom"), "{deployed}");

    // `pending` until the reconciler (every half second) has looked at it.
    let mut status = eve.ok(&["status"]);
    for _ in 0..50 {
        if !status.contains("pending") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        status = eve.ok(&["status"]);
    }
    assert!(
        status.contains("smart-classroom")
            && status.contains("stopped")
            && status.contains("outside its schedule"),
        "{status}"
    );
    assert!(
        status.contains("temperature=north-temperature@north/room-1"),
        "{status}"
    );
    // Status lists every device too; the deployment's own line must bind only the north's.
    let deployment_line = status
        .lines()
        .find(|line| line.contains("smart-classroom"))
        .unwrap();
    assert!(
        !deployment_line.contains("south-"),
        "bound outside the chosen site: {status}"
    );
    let json: Value = serde_json::from_str(&eve.ok(&["status", "--json"])).unwrap();
    let deployments = json.as_array().unwrap();
    assert_eq!(deployments.len(), 1);
    assert_eq!(deployments[0]["config"]["ac-setpoint"], 21.0);
    assert_eq!(deployments[0]["schedule"]["expression"], "0 3 29 2 *");
    assert_eq!(deployments[0]["bindings"].as_object().unwrap().len(), 5);
    assert!(deployment_line.contains("comfort 1.0.0"), "{status}");

    // A version a deployment runs stays; one nobody runs goes, and its artifacts with it.
    let used = dana.refused(&["model", "delete", "comfort", "1.0.0"]);
    assert!(
        used.contains("used by 1 deployment") && used.contains("owner eve"),
        "{used}"
    );
    let deleted = dana.ok(&["model", "delete", "digits", "1.0.0"]);
    assert!(deleted.contains("deleted model digits 1.0.0"), "{deleted}");
    let refused = eve.refused(&["collect"]);
    assert!(refused.contains("not allowed"), "{refused}");
    let collected = admin.ok(&["collect"]);
    assert!(
        collected.contains("kept 3 artifact(s)"),
        "comfort's two and the app's component: {collected}"
    );

    // Its life after: changed, stopped, its history read, deleted.
    let id = deployments[0]["id"].as_str().unwrap();
    let set = eve.ok(&["deployment", "set", id, "--set", "ac-setpoint=22"]);
    assert!(set.contains("config.ac-setpoint: 21.0 → 22.0"), "{set}");
    let bad = eve.refused(&["deployment", "set", id, "--set", "ac-setpoint=cold"]);
    assert!(bad.contains("`ac-setpoint`"), "{bad}");
    eve.ok(&["deployment", "stop", id]);
    let shown = eve.ok(&["deployment", "show", id]);
    assert!(
        shown.contains("wanted       stopped") && shown.contains("smart-classroom"),
        "{shown}"
    );
    let none = eve.refused(&["deployment", "rollback", id]);
    assert!(none.contains("no earlier version"), "{none}");
    let history = eve.ok(&["deployment", "history", id]);
    for kind in ["created", "changed", "stopped"] {
        assert!(history.contains(kind), "{history}");
    }
    assert!(
        history.contains("config.ac-setpoint: 21.0 → 22.0"),
        "{history}"
    );
    eve.ok(&["deployment", "delete", id]);
    assert!(eve.ok(&["deployment", "list"]).contains("(none)"));
}

#[test]
fn accounts_sessions_tokens_and_nodes_are_managed_from_the_cli() {
    let plane = ControlPlane::start();
    let homes = tempfile::tempdir().unwrap();
    let admin = Person::new(homes.path(), "admin");
    admin.login(&plane.url, "admin", ADMIN_PASSWORD);
    for (name, role) in [("carol", "platform-configurer"), ("dana", "data-scientist")] {
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
    let carol = Person::new(homes.path(), "carol");
    carol.login(&plane.url, "carol", PASSWORD);
    let dana = Person::new(homes.path(), "dana");
    dana.login(&plane.url, "dana", PASSWORD);

    // Sessions: listed without tokens, this one marked; one revoked is refused.
    let listed = dana.ok(&["session", "list"]);
    assert!(listed.contains("ses_") && listed.contains('*'), "{listed}");
    let sessions: Value = serde_json::from_str(&dana.ok(&["session", "list", "--json"])).unwrap();
    let id = sessions[0]["id"].as_str().unwrap();
    assert!(dana.ok(&["session", "revoke", id]).contains("refused"));
    assert!(dana.refused(&["session", "list"]).contains("trellis login"));
    dana.login(&plane.url, "dana", PASSWORD);
    let everyone = admin.ok(&["session", "list", "--all"]);
    assert!(
        everyone.contains("carol") && everyone.contains("dana"),
        "{everyone}"
    );

    // Roles and passwords.
    assert!(dana.refused(&["node", "list"]).contains("not allowed"));
    admin.ok(&["user", "set-role", "dana", "platform-configurer"]);
    dana.ok(&["node", "list"]);
    let new = "another-long-password";
    dana.ok(&[
        "user",
        "password",
        "--current-password",
        PASSWORD,
        "--new-password",
        new,
    ]);
    let refused = Person::new(homes.path(), "stranger").refused(&[
        "login",
        "--url",
        &plane.url,
        "--user",
        "dana",
        "--password",
        PASSWORD,
    ]);
    assert!(refused.contains("wrong user name or password"), "{refused}");
    dana.login(&plane.url, "dana", new);

    // Disabled: refused at once and at login, shown in the list; enabled again.
    assert!(
        admin
            .ok(&["user", "disable", "dana"])
            .contains("disabled dana")
    );
    assert!(dana.refused(&["node", "list"]).contains("trellis login"));
    let refused = dana.refused(&[
        "login",
        "--url",
        &plane.url,
        "--user",
        "dana",
        "--password",
        new,
    ]);
    assert!(refused.contains("disabled"), "{refused}");
    let users: Value = serde_json::from_str(&admin.ok(&["user", "list", "--json"])).unwrap();
    let shown = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "dana")
        .unwrap();
    assert_eq!(shown["disabled"], true);
    let refused = admin.refused(&["user", "set-role", "admin", "end-user"]);
    assert!(refused.contains("last enabled admin"), "{refused}");
    admin.ok(&["user", "enable", "dana"]);
    dana.login(&plane.url, "dana", new);

    // A device's token replaced.
    carol.ok(&["sensor-type", "create", "temperature"]);
    let sensor: Value = serde_json::from_str(&carol.ok(&[
        "sensor",
        "create",
        "t1",
        "--type",
        "temperature",
        "--site",
        "north",
        "--building",
        "main",
        "--room",
        "r1",
        "--json",
    ]))
    .unwrap();
    let rotated = carol.ok(&["sensor", "rotate-token", sensor["id"].as_str().unwrap()]);
    assert!(
        rotated.contains("new gateway token") && rotated.contains("refused"),
        "{rotated}"
    );

    // A node joined, its token replaced, drained, undrained and removed.
    let joined = carol.ok(&["node", "join", "vm-1"]);
    assert!(
        joined.contains("TRELLIS_CONTROL_PLANE=http")
            && joined.contains("TRELLIS_NODE_TOKEN=")
            && joined.contains("EnvironmentFile=/etc/trellis/node.env")
            && joined.contains("User=trellis-node")
            && joined.contains("systemctl daemon-reload && systemctl enable --now trellis-node"),
        "says how the machine joins, by hand and as a service: {joined}"
    );
    let rotated = carol.ok(&["node", "rotate-token", "vm-1"]);
    assert!(
        rotated.contains("TRELLIS_NODE_TOKEN=") && rotated.contains("/etc/trellis/node.env"),
        "says how to restart the daemon: {rotated}"
    );
    assert!(
        carol
            .ok(&["node", "drain", "vm-1"])
            .contains("vm-1 is drained")
    );
    let nodes = carol.ok(&["node", "list"]);
    assert!(
        nodes
            .lines()
            .any(|l| l.contains("vm-1") && l.contains("drained")),
        "{nodes}"
    );
    carol.ok(&["node", "undrain", "vm-1"]);
    carol.ok(&["node", "remove", "vm-1"]);
    assert!(!carol.ok(&["node", "list"]).contains("vm-1"));
    assert!(
        carol
            .refused(&["node", "remove", "vm-1"])
            .contains("no node `vm-1`")
    );
}
