//! Prediction jobs over the API: a CSV and a zip of images answered row by row as the predict
//! route answers each input, files refused with the status that says why, each user's jobs
//! their own, and jobs a stopped control plane left running failed at the next start.

use std::io::Write;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use trellis_control::{Application, Settings};
use trellis_guest_artifacts as guests;

use crate::helpers::{ADMIN_PASSWORD, Db, TestApp, message, on_both_databases, workspace_file};
use crate::uploads::model_parts;

on_both_databases!(a_job_answers_each_row_as_predict_does_and_refuses_unreadable_files);

/// Posts `body` with `media_type` to `path`.
async fn post_file(
    app: &TestApp,
    path: &str,
    token: &str,
    media_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .header(CONTENT_TYPE, media_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Waits for job `id` to end; returns it.
async fn ended(app: &TestApp, token: &str, id: &str) -> Value {
    let started = Instant::now();
    loop {
        let (status, job) = app.get(&format!("/jobs/{id}"), token).await;
        assert_eq!(status, StatusCode::OK, "{job}");
        if !matches!(job["state"].as_str(), Some("queued" | "running")) {
            return job;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{job}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The results CSV of job `id`, as records keyed by column.
async fn results(
    app: &TestApp,
    token: &str,
    id: &str,
) -> Vec<std::collections::BTreeMap<String, String>> {
    let response = app
        .client
        .get(app.url(&format!("/jobs/{id}/results")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/csv");
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|record| {
            header
                .iter()
                .map(str::to_string)
                .zip(record.unwrap().iter().map(str::to_string))
                .collect()
        })
        .collect()
}

async fn predict(app: &TestApp, token: &str, media_type: &str, body: Vec<u8>) -> Value {
    let (status, answer) =
        post_file(app, "/models/digits/1.0.0/predict", token, media_type, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

fn assert_same_answer(row: &std::collections::BTreeMap<String, String>, answer: &Value) {
    assert_eq!(row["error"], "", "{row:?}");
    assert_eq!(
        row["label"].parse::<i64>().unwrap(),
        answer["label"],
        "{row:?}"
    );
    let scores: Vec<f64> = serde_json::from_str(&row["scores"]).unwrap();
    let confidence: f64 = row["confidence"].parse().unwrap();
    let expected: Vec<f64> = serde_json::from_value(answer["scores"].clone()).unwrap();
    assert_eq!(scores.len(), expected.len());
    // A batch may sum in another order than a single row: within the runtimes' tolerance.
    for (got, want) in scores.iter().chain([&confidence]).zip(
        expected
            .iter()
            .chain([&answer["confidence"].as_f64().unwrap()]),
    ) {
        assert!((got - want).abs() <= 1e-5, "{row:?} against {answer}");
    }
}

async fn a_job_answers_each_row_as_predict_does_and_refuses_unreadable_files(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let scientist = app.user("dana", "data-scientist").await;
    let (status, model) = app
        .upload(
            "/models",
            &scientist,
            model_parts("digits", guests::DIGITS_CONTRACT),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{model}");
    let eve = app.user("eve", "end-user").await;

    // The document names both kinds of file and every refusal below.
    let (_, document) = app
        .call(reqwest::Method::GET, "/openapi.json", None, None)
        .await;
    let submit = &document["paths"]["/api/v1/models/{name}/{version}/jobs"]["post"];
    let content = submit["requestBody"]["content"].as_object().unwrap();
    assert!(content.contains_key("text/csv") && content.contains_key("application/zip"));
    for status in ["202", "401", "403", "404", "413", "415", "422"] {
        assert!(
            submit["responses"].get(status).is_some(),
            "{status}: {submit}"
        );
    }

    // Files a job cannot take, each with the status that says why.
    let jobs = "/models/digits/latest/jobs";
    let (status, answer) = post_file(&app, jobs, &eve, "application/json", b"[1]".to_vec()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{answer}");
    assert!(message(&answer).contains("text/csv"), "{answer}");
    let (status, answer) = post_file(
        &app,
        "/models/nope/1.0.0/jobs",
        &eve,
        "text/csv",
        b"a\n1\n".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    for (media_type, body, says) in [
        ("text/csv", &b""[..], "empty"),
        ("text/csv", b"id\n1\n", "only an `id` column"),
        ("application/zip", b"not a zip", "not a zip archive"),
    ] {
        let (status, answer) = post_file(&app, jobs, &eve, media_type, body.to_vec()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert!(message(&answer).contains(says), "{answer}");
    }

    // A CSV: the held-out digits, one with a cell that is not a number and one too short.
    let heldout: Value = serde_json::from_slice(&workspace_file(
        "examples/models/digits/fixtures/heldout.json",
    ))
    .unwrap();
    let digits: Vec<Vec<f64>> = heldout["features"].as_array().unwrap()[..20]
        .iter()
        .map(|d| serde_json::from_value(d.clone()).unwrap())
        .collect();
    let mut csv = (0..64)
        .map(|i| format!("p{i}"))
        .collect::<Vec<_>>()
        .join(",")
        + "\n";
    for digit in &digits {
        let cells: Vec<String> = digit.iter().map(f64::to_string).collect();
        csv += &(cells.join(",") + "\n");
    }
    csv += &(vec!["x"; 64].join(",") + "\n");
    csv += "1,2,3\n";
    let (status, job) = post_file(&app, jobs, &eve, "text/csv", csv.into_bytes()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(
        job["version"], "1.0.0",
        "`latest` is resolved on submission"
    );
    let csv_job = job["id"].as_str().unwrap().to_string();
    let job = ended(&app, &eve, &csv_job).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["rows_total"], 22);
    assert_eq!(job["rows_done"], 22);
    assert_eq!(job["rows_failed"], 2);
    let rows = results(&app, &eve, &csv_job).await;
    assert_eq!(rows.len(), 22);
    for (i, digit) in digits.iter().enumerate() {
        assert_eq!(
            rows[i]["id"],
            (i + 1).to_string(),
            "rows are named by number"
        );
        let answer = predict(
            &app,
            &eve,
            "application/json",
            json!(digit).to_string().into(),
        )
        .await;
        assert_same_answer(&rows[i], &answer);
    }
    assert!(
        rows[20]["error"].contains("row 21, column `p0`: `x` is not a number"),
        "{:?}",
        rows[20]
    );
    assert!(
        rows[21]["error"].contains("3 fields, but the header names 64"),
        "{:?}",
        rows[21]
    );

    // A zip of images (compressed), and a file that is not one.
    let images: Value = serde_json::from_slice(&workspace_file(
        "examples/models/digits/fixtures/images.json",
    ))
    .unwrap();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut files = Vec::new();
    for image in images.as_array().unwrap() {
        let file = image["file"].as_str().unwrap();
        let bytes = workspace_file(&format!("examples/models/digits/fixtures/images/{file}"));
        zip.start_file(format!("digits/{file}"), options).unwrap();
        zip.write_all(&bytes).unwrap();
        files.push((format!("digits/{file}"), bytes));
    }
    zip.start_file("notes.txt", options).unwrap();
    zip.write_all(b"not an image").unwrap();
    let zip = zip.finish().unwrap().into_inner();
    let (status, job) = post_file(
        &app,
        "/models/digits/1.0.0/jobs",
        &eve,
        "application/zip",
        zip,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let zip_job = job["id"].as_str().unwrap().to_string();
    let job = ended(&app, &eve, &zip_job).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["rows_total"], files.len() + 1);
    assert_eq!(job["rows_failed"], 1);
    let rows = results(&app, &eve, &zip_job).await;
    for (row, (name, bytes)) in rows.iter().zip(&files) {
        assert_eq!(&row["id"], name);
        let answer = predict(&app, &eve, "image/png", bytes.clone()).await;
        assert_same_answer(row, &answer);
    }
    let notes = rows.last().unwrap();
    assert_eq!(notes["id"], "notes.txt");
    assert!(notes["error"].contains("neither PNG nor PGM"), "{notes:?}");

    // Each user's jobs are their own; admins see all. An ended job cannot be cancelled.
    let fay = app.user("fay", "end-user").await;
    let (status, answer) = app.get(&format!("/jobs/{csv_job}"), &fay).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let (status, answer) = app
        .client
        .get(app.url(&format!("/jobs/{csv_job}/results")))
        .bearer_auth(&fay)
        .send()
        .await
        .map(|r| r.status())
        .map(|s| (s, ()))
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer:?}");
    let (_, listed) = app.get("/jobs", &fay).await;
    assert_eq!(listed, json!([]));
    let (_, listed) = app.get("/jobs", &eve).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let (_, listed) = app.get("/jobs", &app.admin).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let (status, answer) = app
        .post(&format!("/jobs/{csv_job}/cancel"), &eve, json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_file_over_the_upload_limit_is_refused_and_not_kept() {
    let limit = 8 << 20;
    let app = TestApp::spawn_with(Db::Sqlite, |settings| settings.max_upload_bytes = limit)
        .await
        .unwrap();
    let scientist = app.user("dana", "data-scientist").await;
    let (status, model) = app
        .upload(
            "/models",
            &scientist,
            model_parts("digits", guests::DIGITS_CONTRACT),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{model}");
    let big = "a\n".to_string() + &"1\n".repeat(limit / 2 + 1);
    let (status, answer) = post_file(
        &app,
        "/models/digits/1.0.0/jobs",
        &scientist,
        "text/csv",
        big.into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    // The limit is named in the unit people use.
    assert!(
        message(&answer).contains(&format!("{} MiB", limit >> 20)),
        "{answer}"
    );
    let (_, listed) = app.get("/jobs", &scientist).await;
    assert_eq!(listed, json!([]));
    let jobs = app.data_dir.path().join("data/jobs");
    let kept: Vec<_> = std::fs::read_dir(&jobs)
        .map(|d| d.collect())
        .unwrap_or_default();
    assert!(kept.is_empty(), "{kept:?}");
}

/// A job left running by a control plane that stopped is failed at the next start, its rows
/// done so far still downloadable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_a_stopped_control_plane_left_running_is_failed_at_the_next_start() {
    let app = TestApp::spawn(Db::Sqlite).await.unwrap();
    let scientist = app.user("dana", "data-scientist").await;
    let (status, model) = app
        .upload(
            "/models",
            &scientist,
            model_parts("digits", guests::DIGITS_CONTRACT),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{model}");
    let csv = "input\n\"[1,2]\"\n\"[3]\"\n".to_string();
    let (status, job) = post_file(
        &app,
        "/models/digits/1.0.0/jobs",
        &scientist,
        "text/csv",
        csv.into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    let job = ended(&app, &scientist, &id).await;
    assert_eq!(job["rows_done"], 2, "{job}");
    // As the registry looks when the process stopped in the middle of the job.
    sqlx::query("UPDATE prediction_jobs SET state = 'running', finished_at = NULL, rows_done = 1")
        .execute(&app.db)
        .await
        .unwrap();

    let mut settings = Settings::local(app.data_dir.path().join("data"));
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.database_url = format!("sqlite://{}", app.data_dir.path().join("test.db").display());
    settings.admin_password = Some(ADMIN_PASSWORD.into());
    let again = Application::build(settings).await.unwrap();
    let address = format!("http://{}", again.local_addr());
    let bus = again.bus();
    tokio::spawn(again.run_until_stopped());
    let restarted = TestApp {
        address,
        client: reqwest::Client::new(),
        admin: String::new(),
        data_dir: tempfile::tempdir().unwrap(),
        db: app.db.clone(),
        metrics_address: None,
        bus,
    };
    let token = restarted.login("dana", crate::helpers::PASSWORD).await;
    let (_, job) = restarted.get(&format!("/jobs/{id}"), &token).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert!(
        message(&json!({"error": job["error"]})).contains("interrupted"),
        "{job}"
    );
    let rows = results(&restarted, &token, &id).await;
    assert_eq!(rows.len(), 1, "the rows recorded done: {rows:?}");
    assert!(rows[0]["error"].contains("expected 64 numbers"), "{rows:?}");
}
