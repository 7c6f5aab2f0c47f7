//! Models: a package upload (`model.toml`, `model.onnx`, `contract.wasm`) checked by
//! `trellis-models` before anything is stored, its versions (uploaded and deleted by the name's
//! owner), and an inference endpoint per version that runs the whole pipeline: contract
//! `preprocess`, the model, contract `postprocess`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use trellis_models::{ModelError, ModelPackage, ModelPipeline, PredictError};
use trellis_protocol::Value;
use trellis_protocol::api::ModelVersion;
use utoipa::ToSchema;

use super::names::check_name;
use super::owners::{check_owner, in_use};
use crate::auth::Caller;
use crate::db;
use crate::db::models::ModelRow;
use crate::db::owners::Owned;
use crate::error::{ApiError, ApiResult, ErrorBody, FieldError};
use crate::ids::now_ms;
use crate::state::AppState;
use crate::upload::Parts;

const PARTS: [&str; 3] = [
    ModelPackage::CONFIG_FILE,
    ModelPackage::ONNX_FILE,
    ModelPackage::CONTRACT_FILE,
];

/// The part that carries a whole package as one `.zip` instead of its three files.
pub const ZIP_PART: &str = "package.zip";

/// The multipart form of a model upload: the three files, or `package.zip` holding them.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct ModelUpload {
    #[serde(rename = "model.toml")]
    #[schema(value_type = Option<String>, format = Binary)]
    config: Option<Vec<u8>>,
    #[serde(rename = "model.onnx")]
    #[schema(value_type = Option<String>, format = Binary)]
    onnx: Option<Vec<u8>>,
    #[serde(rename = "contract.wasm")]
    #[schema(value_type = Option<String>, format = Binary)]
    contract: Option<Vec<u8>>,
    /// Instead of the three parts: a zip archive holding them (at its top or in one folder).
    #[serde(rename = "package.zip")]
    #[schema(value_type = Option<String>, format = Binary)]
    package: Option<Vec<u8>>,
}
/// Every version of every model, newest first within each model.
#[utoipa::path(get, path = "/models", tag = "models", security(("token" = [])),
    responses((status = 200, body = Vec<ModelVersion>)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<ModelVersion>>> {
    let rows = db::models::list(&state.db).await?;
    rows.into_iter()
        .map(ModelRow::into_api)
        .collect::<ApiResult<_>>()
        .map(Json)
}

/// The versions of one model, newest first.
#[utoipa::path(get, path = "/models/{name}", tag = "models", security(("token" = [])),
    params(("name" = String, Path)),
    responses((status = 200, body = Vec<ModelVersion>), (status = 404, body = ErrorBody)))]
pub async fn versions(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<ModelVersion>>> {
    let rows = db::models::versions(&state.db, &name).await?;
    if rows.is_empty() {
        return Err(ApiError::not_found(format!("no model `{name}`")));
    }
    rows.into_iter()
        .map(ModelRow::into_api)
        .collect::<ApiResult<_>>()
        .map(Json)
}

/// Upload a model package: its three files as parts, or one part `package.zip` holding them.
/// All three files are checked (the ONNX parses and matches `model.toml`, the contract
/// implements the `contract` world, the model loads) before anything is stored; a refusal names
/// the file at fault in `field`, and lists every file's problem in `errors` when several have
/// one. The version must be a semantic version (apps ask for versions by semver requirement).
/// The first upload of a name makes the uploader its owner; only they and admins may upload
/// further versions of it. A `model.toml` asking more than the platform's maxima (contract
/// memory, deadline, declared tensor size), or a `model.onnx` whose tensors keep their data in
/// other files, is refused as unprocessable (422), naming the field or tensor.
#[utoipa::path(post, path = "/models", tag = "models", security(("token" = [])),
    request_body(content = ModelUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = ModelVersion),
        (status = 400, description = "a file is missing or wrong; `field` names it, `errors` lists each problem", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, description = "`model.toml` asks more than the platform's maximum (the message names the field, its value and the maximum), or `model.onnx` points at external data (the message names the tensor)", body = ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    multipart: Multipart,
) -> ApiResult<(StatusCode, Json<ModelVersion>)> {
    let mut parts = read_package(&state, multipart).await?;
    let config_text = parts.take_text(ModelPackage::CONFIG_FILE);
    let onnx = parts.take(ModelPackage::ONNX_FILE);
    let contract = parts.take(ModelPackage::CONTRACT_FILE);
    let package = config_text.and_then(|text| {
        ModelPackage::from_parts(&text, onnx.clone(), contract.clone())
            .map(|package| (text, package))
            .map_err(|e| ApiError::bad_request(e.to_string()).on(e.file()))
    });
    let (config_text, package) = match package {
        Ok(parsed) => parsed,
        Err(error) => return Err(with_contract_problems(&state, error, &contract).await),
    };
    let (name, version) = (package.config.name.clone(), package.config.version.clone());
    let on_config = |e: ApiError| e.on(ModelPackage::CONFIG_FILE);
    check_name("model.toml: name", &name).map_err(on_config)?;
    check_name("model.toml: version", &version).map_err(on_config)?;
    if let Err(e) = semver::Version::parse(&version) {
        return Err(ApiError::bad_request(format!(
            "model.toml: version `{version}` is not a semantic version such as 1.0.0 ({e}); apps ask for model versions by semver requirement"
        ))
        .on(ModelPackage::CONFIG_FILE));
    }
    if let Some(over) = state.settings.model_maxima.check(&package.config).first() {
        return Err(
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, over.to_string())
                .on(ModelPackage::CONFIG_FILE),
        );
    }
    check_owner(&state, &caller, Owned::Model, &name, "upload").await?;
    if db::models::find(&state.db, &name, &version)
        .await?
        .is_some()
    {
        return Err(ApiError::conflict(format!(
            "model `{name}` version {version} already exists; raise `version` in model.toml"
        ))
        .on(ModelPackage::CONFIG_FILE));
    }
    let models = state.models.clone();
    let loaded = tokio::task::spawn_blocking(move || models.load(package))
        .await
        .map_err(ApiError::internal)?;
    let pipeline = match loaded {
        Ok(pipeline) => pipeline,
        // A file that asks the server to read another: refused as unprocessable, whatever
        // else is wrong.
        Err(e @ ModelError::ExternalData { .. }) => {
            return Err(
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).on(e.file()),
            );
        }
        Err(e) => {
            let error = ApiError::bad_request(e.to_string()).on(e.file());
            return Err(with_contract_problems(&state, error, &contract).await);
        }
    };

    // Held until the row that refers to the artifacts is committed, so the collector cannot
    // take them for garbage meanwhile.
    let lease = state.artifacts.lease().await;
    let onnx_blob = lease.put(&onnx)?;
    let contract_blob = match lease.put(&contract) {
        Ok(blob) => blob,
        Err(e) => {
            state.artifacts.forget(&onnx_blob);
            return Err(e.into());
        }
    };
    let created_at = now_ms();
    let backend = pipeline.backend().name().to_string();
    let row = ModelRow {
        name: name.clone(),
        version: version.clone(),
        description: pipeline.config().description.clone(),
        config: config_text,
        backend,
        onnx_sha256: onnx_blob.sha256.clone(),
        contract_sha256: contract_blob.sha256.clone(),
        uploaded_by: caller.name,
        created_at,
        owner: None,
    };
    if let Err(e) = db::models::insert(&state.db, &row).await {
        state.artifacts.forget(&onnx_blob);
        state.artifacts.forget(&contract_blob);
        return Err(ApiError::already_exists(
            e,
            "model version",
            &format!("{name} {version}"),
        ));
    }
    drop(lease);
    state.models.insert(pipeline);
    state
        .logs
        .event(crate::logs::Event {
            kind: "uploaded",
            level: trellis_protocol::logs::LogLevel::Info,
            node: None,
            deployment: None,
            app: None,
            text: format!("model {name} {version} uploaded by {}", row.uploaded_by),
        })
        .await;
    let stored = db::models::find(&state.db, &name, &version)
        .await?
        .ok_or_else(|| ApiError::internal("the stored model version vanished"))?;
    Ok((StatusCode::CREATED, Json(stored.into_api()?)))
}

/// The parts of a model upload: the three files, or the files of `package.zip`.
async fn read_package(state: &AppState, multipart: Multipart) -> ApiResult<Parts> {
    let mut allowed = PARTS.to_vec();
    allowed.push(ZIP_PART);
    let mut parts = Parts::read_any(multipart, &allowed).await?;
    if parts.has(ZIP_PART) {
        if parts.count() > 1 {
            return Err(ApiError::bad_request(format!(
                "send either {ZIP_PART} or the package's three files, not both"
            ))
            .on(ZIP_PART));
        }
        let zip = parts.take(ZIP_PART);
        let limit = state.settings.max_upload_bytes;
        parts = tokio::task::spawn_blocking(move || {
            crate::upload_zip::unpack(ZIP_PART, &zip, &PARTS, limit)
        })
        .await
        .map_err(ApiError::internal)??;
    }
    parts.require(&PARTS)?;
    Ok(parts)
}

/// `error`, a refusal of `model.toml` or `model.onnx`, together with what is wrong with the
/// contract, if anything: the package was refused before its contract was looked at, and the
/// uploader should learn of every file to fix at once rather than one upload at a time.
async fn with_contract_problems(state: &AppState, error: ApiError, contract: &[u8]) -> ApiError {
    if error.field.as_deref() == Some(ModelPackage::CONTRACT_FILE) {
        return error;
    }
    let host = state.host.clone();
    let contract = contract.to_vec();
    let checked =
        tokio::task::spawn_blocking(move || host.load_contract(&contract).map(|_| ())).await;
    let Ok(Err(problem)) = checked else {
        return error;
    };
    let first = FieldError {
        field: error.field.clone().unwrap_or_default(),
        error: error.message,
    };
    let second = FieldError {
        field: ModelPackage::CONTRACT_FILE.into(),
        error: format!("{}: {problem}", ModelPackage::CONTRACT_FILE),
    };
    ApiError::several(vec![first, second])
}

/// Delete a model version: its owner or an admin, and only while no deployment runs it. Deleting
/// the last version deletes the name (anyone may then upload it afresh). Its artifacts are
/// collected unless another version shares them.
#[utoipa::path(delete, path = "/models/{name}/{version}", tag = "models", security(("token" = [])),
    params(("name" = String, Path), ("version" = String, Path)),
    responses((status = 204, description = "deleted"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "deployments run it; the message names each", body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path((name, version)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    if db::models::find(&state.db, &name, &version)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found(format!(
            "no model `{name}` version {version}"
        )));
    }
    check_owner(&state, &caller, Owned::Model, &name, "delete").await?;
    let what = format!("model `{name}` version {version}");
    let users = db::deployment_models::users_of(&state.db, &name, &version).await?;
    if !users.is_empty() {
        return Err(in_use(&what, &users));
    }
    match db::models::delete(&state.db, &name, &version).await {
        Ok(_) => {}
        // A deployment made since the check above: its row holds the version.
        Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
            let users = db::deployment_models::users_of(&state.db, &name, &version).await?;
            return Err(in_use(&what, &users));
        }
        Err(e) => return Err(e.into()),
    }
    state
        .models
        .retain(|n, v| (n, v) != (name.as_str(), version.as_str()));
    crate::collector::collect_after_deletion(&state).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The loaded pipeline of a stored model version (`latest`: the highest version), loading it from
/// the artifact store once, however many requests ask for it at the same moment.
pub(crate) async fn pipeline(
    state: &AppState,
    name: &str,
    version: &str,
) -> ApiResult<Arc<ModelPipeline>> {
    // The common case, from memory: a version already loaded (`latest` resolved lately).
    let revision = db::models::revision();
    let known = if version == "latest" {
        state.latest.get(name, revision)
    } else {
        Some(version.to_string())
    };
    if let Some(pipeline) = known.and_then(|version| state.models.try_get(name, &version)) {
        return Ok(pipeline);
    }
    let row = if version == "latest" {
        let mut rows = db::models::versions(&state.db, name).await?;
        let versions: Vec<String> = rows.iter().map(|row| row.version.clone()).collect();
        let newest = crate::model_versions::newest(&versions).map(str::to_string);
        rows.retain(|row| Some(&row.version) == newest.as_ref());
        let row = rows.pop();
        if let Some(row) = &row {
            state.latest.put(name, revision, &row.version);
        }
        row
    } else {
        db::models::find(&state.db, name, version).await?
    };
    let row =
        row.ok_or_else(|| ApiError::not_found(format!("no model `{name}` version {version}")))?;
    let (models, artifacts) = (state.models.clone(), state.artifacts.clone());
    tokio::task::spawn_blocking(move || {
        models.get_or_load(&row.name, &row.version, || {
            let read = |sha: &str| {
                artifacts
                    .read(sha)?
                    .ok_or_else(|| anyhow::anyhow!("artifact {sha} is missing from the store"))
            };
            Ok::<_, anyhow::Error>(ModelPackage::from_parts(
                &row.config,
                read(&row.onnx_sha256)?,
                read(&row.contract_sha256)?,
            )?)
        })
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

/// A pipeline that typically answers within this runs on the request's own thread: the hop to
/// a blocking thread costs more than such a model (`digits`: 12–25 µs). Slower ones, and any
/// version before its first answer, hop, so they never hold up the async workers for long.
const RUN_INLINE_UNDER: std::time::Duration = std::time::Duration::from_micros(200);

/// Run the model version's pipeline on the request body: JSON (`application/json`; a number, an
/// array of numbers or a string arrive as such, anything else as a JSON document) or bytes with
/// their media type, such as `image/png`. `latest` names the highest version. The answer is
/// what the contract's `postprocess` returned.
#[utoipa::path(post, path = "/models/{name}/{version}/predict", tag = "models", security(("token" = [])),
    params(("name" = String, Path), ("version" = String, Path, description = "a version, or `latest`")),
    request_body(content = String, description = "the contract's input: JSON, or bytes such as a PNG",
        content_type = "application/json"),
    responses((status = 200, description = "the contract's answer",
            headers(("server-timing" = String, description = "`predict;dur=<ms>`: the pipeline's time on the server, in milliseconds"),
                ("trellis-model-version" = String, description = "the version that answered (what `latest` named)"))),
        (status = 400, description = "the body is not the JSON it says it is", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 503, description = "the server is serving as many requests as it may, or the model's worker process died or overran its deadline running this input and was stopped (the next prediction gets a new one)", body = ErrorBody)))]
pub async fn predict(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let pipeline = pipeline(&state, &name, &version).await?;
    let media_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    let input = if media_type.starts_with("application/json") {
        let text = std::str::from_utf8(&body)
            .map_err(|_| ApiError::bad_request("the body is not UTF-8 JSON"))?;
        Value::from_json_text(text)
            .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?
    } else {
        Value::Bytes(trellis_protocol::Blob {
            media_type,
            data: body.to_vec(),
        })
    };
    let version = pipeline.config().version.clone();
    let started = std::time::Instant::now();
    // A batching model waits for other callers, which must not hold up an async thread.
    let inline = !pipeline.batches()
        && pipeline
            .typical_run_time()
            .is_some_and(|typical| typical < RUN_INLINE_UNDER);
    let answer = if inline {
        pipeline.predict(&input.into())
    } else {
        tokio::task::spawn_blocking(move || pipeline.predict(&input.into()))
            .await
            .map_err(ApiError::internal)?
    };
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    if answer.is_ok() {
        state.live.prediction(&name, &version, elapsed_ms);
    }
    let answer = answer.map_err(|e| match e {
        PredictError::Preprocess(_) | PredictError::Tensors(_) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
        }
        // The model's worker died or overran on this input: say so, as the next try may pass.
        PredictError::WorkerStopped(_) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
        other => ApiError::internal(other),
    })?;
    // The standard header for how long the server took, so a caller (the portal's "try it")
    // can tell the pipeline's time from the network's.
    let timing = format!("predict;dur={elapsed_ms:.3}");
    let mut response = match Value::from(answer) {
        Value::Json(text) => ([(CONTENT_TYPE, "application/json")], text).into_response(),
        Value::Number(n) => Json(n).into_response(),
        Value::Numbers(ns) => Json(ns).into_response(),
        Value::Text(text) => Json(text).into_response(),
        Value::Bytes(blob) => ([(CONTENT_TYPE, blob.media_type)], blob.data).into_response(),
    };
    if let Ok(value) = timing.parse() {
        response.headers_mut().insert("server-timing", value);
    }
    if let Ok(value) = version.parse() {
        response
            .headers_mut()
            .insert("trellis-model-version", value);
    }
    Ok(response)
}
