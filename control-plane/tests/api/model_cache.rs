//! The control plane's model cache: within its memory bound it drops the least recently used
//! model version, and however many predictions ask for a version that is not loaded at the same
//! moment, it is loaded once. Loads and evictions are read from `/metrics`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use trellis_guest_artifacts as guests;

use crate::helpers::{Db, TestApp, on_both_databases};
use crate::metrics::{scrape_with, value};
use crate::uploads::model_parts;

on_both_databases!(
    concurrent_first_predictions_of_a_model_load_it_once_and_each_is_answered,
    the_model_cache_drops_the_least_recently_used_version_beyond_its_bound,
);

/// The bytes a package counts for in the cache: its files but `model.toml`.
fn package_bytes(parts: &[(&'static str, Vec<u8>)]) -> u64 {
    parts
        .iter()
        .filter(|(name, _)| *name != "model.toml")
        .map(|(_, bytes)| bytes.len() as u64)
        .sum()
}

async fn counted(app: &TestApp, family: &str, model: &str) -> f64 {
    let scrape = scrape_with(app, &app.admin).await;
    value(&scrape, family, &[("model", model), ("version", "1.0.0")])
}

async fn predict(app: &TestApp, token: &str, model: &str, input: Value) {
    let (status, answer) = app
        .post(&format!("/models/{model}/1.0.0/predict"), token, input)
        .await;
    assert_eq!(status, StatusCode::OK, "{model}: {answer}");
    assert!(answer["confidence"].is_number(), "{model}: {answer}");
}

fn digit() -> Value {
    json!(vec![8.0; 64])
}

fn weather() -> Value {
    json!([31.0, 60.0, 30.0])
}

async fn concurrent_first_predictions_of_a_model_load_it_once_and_each_is_answered(db: Db) {
    // A bound below any one model: the cache keeps only the version used last.
    let Some(app) = TestApp::spawn_with(db, |settings| settings.model_cache_bytes = 1).await else {
        return;
    };
    let scientist = app.user("dana", "data-scientist").await;
    for (name, contract) in [
        ("digits", guests::DIGITS_CONTRACT),
        ("comfort", guests::COMFORT_CONTRACT),
    ] {
        let (status, model) = app
            .upload("/models", &scientist, model_parts(name, contract))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{model}");
    }
    assert_eq!(
        counted(&app, "trellis_model_loads_total", "digits").await,
        1.0
    );
    assert_eq!(
        counted(&app, "trellis_model_evictions_total", "digits").await,
        1.0
    );

    let callers = 8;
    let mut answers = tokio::task::JoinSet::new();
    for _ in 0..callers {
        let request = app
            .client
            .post(app.url("/models/digits/1.0.0/predict"))
            .bearer_auth(&scientist)
            .json(&digit());
        answers.spawn(async move { request.send().await.unwrap().status() });
    }
    while let Some(status) = answers.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::OK);
    }
    assert_eq!(
        counted(&app, "trellis_model_loads_total", "digits").await,
        2.0,
        "{callers} predictions at once load digits once"
    );
    predict(&app, &scientist, "comfort", weather()).await;
    assert_eq!(
        counted(&app, "trellis_model_loads_total", "comfort").await,
        2.0
    );
    assert_eq!(
        counted(&app, "trellis_model_evictions_total", "digits").await,
        2.0
    );
}

async fn the_model_cache_drops_the_least_recently_used_version_beyond_its_bound(db: Db) {
    let packages = [
        model_parts("digits", guests::DIGITS_CONTRACT),
        model_parts("comfort", guests::COMFORT_CONTRACT),
        model_parts("vision", guests::VISION_CONTRACT),
    ];
    let sizes: Vec<u64> = packages.iter().map(|p| package_bytes(p)).collect();
    // Any two fit; all three do not.
    let bound = sizes.iter().sum::<u64>() - sizes.iter().min().unwrap();
    let Some(app) = TestApp::spawn_with(db, |settings| settings.model_cache_bytes = bound).await
    else {
        return;
    };
    let scientist = app.user("dana", "data-scientist").await;
    let [digits, comfort, vision] = packages;
    for parts in [digits, comfort] {
        let (status, model) = app.upload("/models", &scientist, parts).await;
        assert_eq!(status, StatusCode::CREATED, "{model}");
    }
    // digits was loaded first but used last: comfort is the least recently used.
    predict(&app, &scientist, "digits", digit()).await;
    let (status, model) = app.upload("/models", &scientist, vision).await;
    assert_eq!(status, StatusCode::CREATED, "{model}");
    assert_eq!(
        counted(&app, "trellis_model_evictions_total", "comfort").await,
        1.0
    );
    assert_eq!(
        counted(&app, "trellis_model_evictions_total", "digits").await,
        0.0
    );

    predict(&app, &scientist, "digits", digit()).await;
    assert_eq!(
        counted(&app, "trellis_model_loads_total", "digits").await,
        1.0
    );
    // comfort comes back, and vision, now the least recently used, makes room.
    predict(&app, &scientist, "comfort", weather()).await;
    assert_eq!(
        counted(&app, "trellis_model_loads_total", "comfort").await,
        2.0
    );
    assert_eq!(
        counted(&app, "trellis_model_evictions_total", "vision").await,
        1.0
    );
    assert_eq!(
        counted(&app, "trellis_model_evictions_total", "digits").await,
        0.0
    );
    let scrape = scrape_with(&app, &app.admin).await;
    let held = value(&scrape, "trellis_model_cache_bytes", &[]);
    assert!(held > 0.0 && held <= bound as f64, "{held} of {bound}");
}
