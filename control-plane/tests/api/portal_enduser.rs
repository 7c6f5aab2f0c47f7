//! The end user's pages and the API they stand on: what an end user may bind (only instances
//! they may use, and the places holding them), errors naming the field they concern, the
//! catalogue and the deploy form (only the app's roles and parameters, only usable places),
//! and deployments pages that show each person only what the API shows them.

use reqwest::StatusCode;
use serde_json::{Value, json};
use trellis_guest_artifacts as guests;

use crate::fixtures::{classroom, device, id_of};
use crate::helpers::{Db, TestApp, message, on_both_databases};
use crate::uploads::app_parts;

on_both_databases!(
    bindable_instances_are_those_a_deployment_accepts,
    deployment_errors_name_their_field,
    the_deploy_form_offers_only_the_apps_roles_and_usable_places,
    an_end_user_sees_only_their_own_deployments,
);

/// The classroom registry, `classroom-thermostat` uploaded, a temperature sensor at site `lab`
/// reserved for frank; the tokens of eve and frank (end users) and of the app developer.
async fn school(app: &TestApp) -> (String, String, String) {
    let configurer = classroom(app).await;
    let developer = app.user("pat", "app-developer").await;
    let (status, answer) = app
        .upload(
            "/apps",
            &developer,
            app_parts("classroom-thermostat", guests::CLASSROOM_THERMOSTAT),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let reserved = device(
        app,
        &configurer,
        "sensors",
        "lab-temperature",
        "temperature",
        "lab",
        "bench",
    )
    .await;
    sqlx::query("UPDATE devices SET users = $1 WHERE id = $2")
        .bind(r#"["frank"]"#)
        .bind(reserved["id"].as_str().unwrap())
        .execute(&app.db)
        .await
        .unwrap();
    let eve = app.user("eve", "end-user").await;
    let frank = app.user("frank", "end-user").await;
    (eve, frank, developer)
}

/// `GET path` as `token`: the status, the JSON answer and its `X-Total-Count`.
async fn listed(app: &TestApp, path: &str, token: &str) -> (StatusCode, Value, Option<u64>) {
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let total = response
        .headers()
        .get("x-total-count")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (status, response.json().await.unwrap(), total)
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect()
}

async fn bindable_instances_are_those_a_deployment_accepts(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (eve, frank, _) = school(&app).await;
    let path = "/bindable/sensors?type=temperature";

    let (status, list, total) = listed(&app, path, &eve).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(names(&list), ["north-temperature", "south-temperature"]);
    assert_eq!(total, Some(2));
    let (_, list, total) = listed(&app, path, &frank).await;
    assert_eq!(
        names(&list),
        ["lab-temperature", "north-temperature", "south-temperature"]
    );
    assert_eq!(total, Some(3));
    let (_, list, _) = listed(&app, path, &app.admin).await;
    assert_eq!(names(&list).len(), 3, "admins may use every instance");

    // Narrowed by place and by name, paged with the total of all that match.
    let (_, list, _) = listed(&app, &format!("{path}&site=south&room=room-2"), &eve).await;
    assert_eq!(names(&list), ["south-temperature"]);
    let (_, list, _) = listed(&app, &format!("{path}&q=NORTH"), &eve).await;
    assert_eq!(names(&list), ["north-temperature"]);
    let (_, list, total) = listed(&app, &format!("{path}&limit=1&offset=1"), &eve).await;
    assert_eq!(names(&list), ["south-temperature"]);
    assert_eq!(total, Some(2));
    let (_, list, _) = listed(&app, "/bindable/controllers?type=fan&site=north", &eve).await;
    assert_eq!(names(&list), ["north-fan"]);

    // Places, level by level, each with how many the caller may use.
    let places = |query: &'static str, token: &str| {
        let app = &app;
        let token = token.to_string();
        async move {
            let (status, list, _) = listed(app, &format!("/bindable/places?{query}"), &token).await;
            assert_eq!(status, StatusCode::OK, "{list}");
            list
        }
    };
    assert_eq!(
        places("kind=sensor&type=temperature", &eve).await,
        json!([{ "name": "north", "instances": 1 }, { "name": "south", "instances": 1 }])
    );
    assert_eq!(
        places("kind=sensor&type=temperature", &frank).await,
        json!([{ "name": "lab", "instances": 1 }, { "name": "north", "instances": 1 }, { "name": "south", "instances": 1 }])
    );
    assert_eq!(
        places("kind=sensor&type=temperature&site=north", &eve).await,
        json!([{ "name": "main", "instances": 1 }])
    );
    assert_eq!(
        places(
            "kind=controller&type=air-conditioner&site=south&building=main",
            &eve
        )
        .await,
        json!([{ "name": "room-2", "instances": 1 }])
    );
    assert_eq!(
        places("kind=sensor&type=temperature&site=lab", &eve).await,
        json!([])
    );

    // What it offers, a deployment accepts; what it hides, a deployment refuses.
    let (_, all, _) = listed(&app, path, &frank).await;
    let lab = all
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "lab-temperature")
        .unwrap()["id"]
        .clone();
    let fan = id_of(&app, &eve, "controllers", "north-fan").await;
    let ac = id_of(&app, &eve, "controllers", "north-air-conditioner").await;
    let body = json!({ "app": "classroom-thermostat",
        "bindings": { "temperature": [lab], "fan": [fan], "ac": [ac] } });
    let (status, answer) = app.post("/deployments", &eve, body.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let (status, answer) = app.post("/deployments", &frank, body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");

    // Bad queries are told, naming what is wrong.
    for (query, expected) in [
        ("/bindable/sensors?type=temperature&limit=0", "limit"),
        ("/bindable/sensors?site=north", "type"),
        (
            "/bindable/places?kind=sensor&type=temperature&building=main",
            "site",
        ),
        ("/bindable/places?kind=lamp&type=temperature", "kind"),
    ] {
        let (status, answer, _) = listed(&app, query, &eve).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {answer}");
        assert!(message(&answer).contains(expected), "{query}: {answer}");
    }
}

async fn deployment_errors_name_their_field(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (eve, _, _) = school(&app).await;
    let temperature = id_of(&app, &eve, "sensors", "north-temperature").await;
    let lab = id_of(&app, &eve, "sensors", "lab-temperature").await;
    let fan = id_of(&app, &eve, "controllers", "north-fan").await;
    let ac = id_of(&app, &eve, "controllers", "north-air-conditioner").await;
    let good = json!({ "app": "classroom-thermostat",
        "bindings": { "temperature": [temperature], "fan": [fan], "ac": [ac] } });
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let cases = [
        (with("app", json!("weather")), "app"),
        (with("version", json!("9.9.9")), "version"),
        (
            with(
                "bindings",
                json!({ "temperature": [temperature], "fan": [ac], "ac": [ac] }),
            ),
            "bindings.fan",
        ),
        (
            with(
                "bindings",
                json!({ "temperature": [lab], "fan": [fan], "ac": [ac] }),
            ),
            "bindings.temperature",
        ),
        (
            with("bindings", json!({ "fan": [fan], "ac": [ac] })),
            "bindings.temperature",
        ),
        (
            with("config", json!({ "fan-above": "25", "hysteresis": "lots" })),
            "config.hysteresis",
        ),
        (with("config", json!({ "colour": "red" })), "config.colour"),
        (
            with(
                "schedule",
                json!({ "kind": "cron", "expression": "often", "duration-minutes": 5 }),
            ),
            "schedule",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = app.post("/deployments", &eve, body.clone()).await;
        assert!(status.is_client_error(), "{body}: {status} {answer}");
        assert_eq!(answer["field"], field, "{body}: {answer}");
    }
    // An error about no one field names none.
    let (status, answer) = app
        .call(
            reqwest::Method::GET,
            "/deployments/dep_missing",
            Some(&eve),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(answer.get("field").is_none(), "{answer}");
}

/// How often `needle` is in `page`.
fn count(page: &str, needle: &str) -> usize {
    page.matches(needle).count()
}

async fn the_deploy_form_offers_only_the_apps_roles_and_usable_places(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (eve, frank, developer) = school(&app).await;

    // The catalogue: the app, what it needs, and a way to deploy it.
    let (status, page) = app.page("/catalogue", &eve).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("classroom-thermostat"), "{page}");
    assert!(
        page.contains(r#"href="/deploy/classroom-thermostat""#),
        "{page}"
    );
    assert!(page.contains("air-conditioner"), "{page}");

    let (status, page) = app.page("/deploy/classroom-thermostat", &eve).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    // Its three roles, each bound by location or by name, and nothing else.
    for role in ["temperature", "fan", "ac"] {
        assert_eq!(count(&page, &format!(r#"data-role="{role}""#)), 1, "{role}");
        assert!(
            page.contains(&format!(r#"data-error-for="bindings.{role}""#)),
            "{role}"
        );
    }
    assert_eq!(count(&page, "data-role="), 3);
    // Its four parameters, with their types and the manifest's defaults.
    for (name, default) in [
        ("fan-above", "24"),
        ("ac-above", "27"),
        ("hysteresis", "0.5"),
        ("ac-setpoint", "22"),
    ] {
        assert!(
            page.contains(&format!(
                r#"type="number" step="any" name="config.{name}" value="{default}""#
            )),
            "{name} = {default}: {page}"
        );
    }
    assert_eq!(count(&page, r#"name="config."#), 4);
    // Places holding instances eve may use, with their count; never the lab, which is frank's.
    assert!(
        page.contains(r#"<option value="north">north (1)</option>"#),
        "{page}"
    );
    assert!(!page.contains(r#"value="lab""#), "{page}");
    assert!(!page.contains("lab-temperature"), "{page}");
    // The schedule: now, a window in the viewer's time, or cron.
    for kind in ["now", "window", "cron"] {
        assert!(page.contains(&format!(r#"name="schedule.kind" value="{kind}""#)));
    }
    assert_eq!(count(&page, r#"type="datetime-local""#), 2);

    let (_, page) = app.page("/deploy/classroom-thermostat", &frank).await;
    assert!(
        page.contains(r#"<option value="lab">lab (1)</option>"#),
        "{page}"
    );
    assert!(page.contains("lab-temperature"), "{page}");

    // An app that is not there, and a role that deploys nothing.
    let (status, _) = app.page("/deploy/weather", &eve).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, page) = app.page("/deploy/classroom-thermostat", &developer).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
}

async fn an_end_user_sees_only_their_own_deployments(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (eve, frank, developer) = school(&app).await;
    let fan = id_of(&app, &eve, "controllers", "north-fan").await;
    let ac = id_of(&app, &eve, "controllers", "north-air-conditioner").await;
    let temperature = id_of(&app, &eve, "sensors", "north-temperature").await;
    let mut ids = Vec::new();
    for (token, schedule) in [
        (
            &eve,
            json!({ "kind": "cron", "expression": "0 8 * * MON-FRI", "duration-minutes": 480 }),
        ),
        (&frank, json!({ "kind": "now" })),
    ] {
        let body = json!({ "app": "classroom-thermostat",
            "bindings": { "temperature": [temperature], "fan": [fan], "ac": [ac] },
            "config": { "fan-above": "25" }, "schedule": schedule });
        let (status, answer) = app.post("/deployments", token, body).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        ids.push(answer["id"].as_str().unwrap().to_string());
    }
    let (mine, theirs) = (&ids[0], &ids[1]);

    let (status, page) = app.page("/deployments", &eve).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("My deployments"));
    assert!(
        page.contains(&format!(r#"data-live-deployment="{mine}""#)),
        "{page}"
    );
    assert!(
        !page.contains(theirs.as_str()),
        "another's deployment shown: {page}"
    );
    assert!(page.contains("0 8 * * MON-FRI"), "{page}");
    assert!(
        page.contains(&format!(
            r#"data-api="POST /api/v1/deployments/{mine}/stop""#
        )),
        "{page}"
    );
    assert!(
        page.contains(&format!(r#"data-api="DELETE /api/v1/deployments/{mine}""#)),
        "{page}"
    );

    // Their own in detail: bindings, parameters, history.
    let (status, page) = app.page(&format!("/deployments/{mine}"), &eve).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    for expected in [
        "north-temperature",
        "north / main / room-1",
        "fan-above",
        "created",
        "Follow the log",
    ] {
        assert!(page.contains(expected), "{expected}: {page}");
    }
    // Stopped, it offers start instead.
    let (status, answer) = app
        .post(&format!("/deployments/{mine}/stop"), &eve, json!({}))
        .await;
    assert!(status.is_success(), "{answer}");
    let (_, page) = app.page("/deployments", &eve).await;
    assert!(
        page.contains(&format!(
            r#"data-api="POST /api/v1/deployments/{mine}/start""#
        )),
        "{page}"
    );

    // Another's deployment and the admin pages are refused, even by typing their address.
    let (status, page) = app.page(&format!("/deployments/{theirs}"), &eve).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{page}");
    assert!(!page.contains("frank"), "{page}");
    let (status, page) = app.page("/users", &eve).await;
    assert!(
        matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{status}: {page}"
    );
    assert!(!page.contains("frank"), "{page}");

    // Other roles see what the API shows them: all, with their owners, and no buttons to
    // change what is not theirs to change.
    let (status, page) = app.page("/deployments", &developer).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains(mine.as_str()) && page.contains(theirs.as_str()),
        "{page}"
    );
    assert!(page.contains("frank"), "{page}");
    assert!(!page.contains("/stop"), "{page}");
}
