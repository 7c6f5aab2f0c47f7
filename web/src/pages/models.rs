//! The data scientist's pages: every model with its versions, uploading a package (its three
//! files or one `.zip` of them) with each refusal shown beside the file it concerns, deleting a
//! version, and trying a version with JSON or an image file.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use maud::{Markup, html};
use trellis_protocol::api::{ModelVersion, Role};

use super::upload_form::{self, FilePart};
use crate::error::PageError;
use crate::viewer::Viewer;
use crate::{Portal, assets, layout};

const PACKAGE_FILES: [FilePart; 3] = [
    FilePart {
        name: "model.toml",
        accept: ".toml",
        hint: "name, version, inputs and outputs, backend",
    },
    FilePart {
        name: "model.onnx",
        accept: ".onnx",
        hint: "the model",
    },
    FilePart {
        name: "contract.wasm",
        accept: ".wasm",
        hint: "its pre- and post-processing component",
    },
];

const PACKAGE_ZIP: FilePart = FilePart {
    name: "package.zip",
    accept: ".zip,application/zip",
    hint: "the three files in one archive",
};

/// Whether the viewer may delete `model`'s versions: its owner or an admin. Only whether the
/// button shows; the API decides.
fn may_delete(viewer: &Viewer, model: &ModelVersion) -> bool {
    viewer.role == Role::Admin || model.owner == viewer.name
}

/// `GET /models`.
pub async fn list(State(portal): State<Portal>, viewer: Viewer) -> Result<Markup, PageError> {
    let versions: Vec<ModelVersion> = portal.api.get(&viewer.token, "/models").await?;
    let mut by_name: BTreeMap<&str, Vec<&ModelVersion>> = BTreeMap::new();
    for version in &versions {
        by_name.entry(&version.name).or_default().push(version);
    }
    Ok(layout::page(
        &viewer,
        "Models",
        "/models",
        html! {
            h1 { "Models" }
            @if viewer.is(&[Role::DataScientist]) {
                section.panel aria-labelledby="upload-title" {
                    h2 #upload-title { "Upload a model package" }
                    (upload_form::form("model-upload", "/api/v1/models", "/models/{name}", "Upload the package", html! {
                        fieldset.stack {
                            legend { "Its three files" }
                            @for part in &PACKAGE_FILES { (upload_form::file_input("model-upload", part)) }
                        }
                        fieldset.stack {
                            legend { "…or one .zip holding them" }
                            (upload_form::file_input("model-upload", &PACKAGE_ZIP))
                        }
                    }))
                }
            }
            @if by_name.is_empty() {
                p { "No model has been uploaded yet." }
            }
            @for (name, versions) in &by_name {
                section aria-labelledby={ "model-" (name) } {
                    h2 id={ "model-" (name) } { a href={ "/models/" (name) } { (name) } }
                    @if let Some(newest) = versions.first() {
                        @if !newest.description.is_empty() { p { (newest.description) } }
                        p.muted { "Owner: " (newest.owner) }
                    }
                    (versions_table(&viewer, versions))
                }
            }
            script defer src=(assets::url("uploads.js")) {}
        },
    ))
}

/// The versions of one model, newest first, with a delete button where it may show.
fn versions_table(viewer: &Viewer, versions: &[&ModelVersion]) -> Markup {
    html! {
        div.table-wrap {
            table {
                thead { tr {
                    th scope="col" { "Version" }
                    th scope="col" { "Runtime" }
                    th scope="col" { "Inputs" }
                    th scope="col" { "Outputs" }
                    th scope="col" { "Contract" }
                    th scope="col" { "Uploaded by" }
                    th scope="col" { "Uploaded" }
                    th scope="col" { span.muted { "Actions" } }
                } }
                tbody {
                    @for model in versions {
                        tr {
                            td { (model.version) }
                            td { (model.backend) }
                            td { @for input in &model.inputs { code { (input) } br; } }
                            td { @for output in &model.outputs { code { (output) } br; } }
                            td { code title=(model.contract_sha256) { "sha256 " (short(&model.contract_sha256)) } }
                            td { (model.uploaded_by) }
                            td { time datetime=(model.created_at) { (model.created_at) } }
                            td {
                                @if may_delete(viewer, model) {
                                    form data-api={ "DELETE /api/v1/models/" (model.name) "/" (model.version) } data-then="reload" {
                                        button.danger type="submit" aria-label={ "Delete " (model.name) " " (model.version) } { "Delete" }
                                        p.error data-error-for="" role="alert" {}
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The first characters of a hash: enough to tell versions apart on screen.
fn short(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

/// `GET /models/{name}`.
pub async fn show(
    State(portal): State<Portal>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Result<Markup, PageError> {
    if !upload_form::is_name(&name) {
        return Err(PageError::Status(
            axum::http::StatusCode::NOT_FOUND,
            format!("no model `{name}`"),
        ));
    }
    let versions: Vec<ModelVersion> = portal
        .api
        .get(&viewer.token, &format!("/models/{name}"))
        .await?;
    let refs: Vec<&ModelVersion> = versions.iter().collect();
    Ok(layout::page(
        &viewer,
        &format!("Model {name}"),
        "/models",
        html! {
            p { a href="/models" { "← All models" } }
            h1 { "Model " (name) }
            @if let Some(newest) = versions.first() {
                @if !newest.description.is_empty() { p { (newest.description) } }
            }
            p.live-figures data-live-model=(name) aria-live="polite" {
                "Requests: " span data-requests { "—" }
                " · mean latency " span data-latency { "—" } " ms"
            }
            h2 { "Versions" }
            (versions_table(&viewer, &refs))
            h2 #try-title { "Try it" }
            section.panel aria-labelledby="try-title" {
                form.stack #try-model data-model=(name) {
                    label for="try-version" { "Version" }
                    select #try-version name="version" {
                        @for model in &versions { option value=(model.version) { (model.version) } }
                    }
                    label for="try-json" { "Input as JSON" }
                    textarea #try-json name="json" rows="4" placeholder="e.g. [0, 0, 5, 13, …] or {\"temperature\": 24}"
                        aria-describedby="try-json-error" {}
                    p.error #try-json-error data-error-for="json" role="alert" {}
                    label for="try-file" { "…or a file (such as a PNG image)" }
                    input #try-file type="file" name="file" aria-describedby="try-file-error";
                    p.error #try-file-error data-error-for="file" role="alert" {}
                    p.error data-error-for="" role="alert" {}
                    div.actions { button type="submit" { "Run" } }
                }
                div #try-result hidden aria-live="polite" {
                    h3 { "Answer" }
                    p #try-label hidden { "Label: " strong data-label {} }
                    p {
                        "Took " span.num data-took {} " ms in all"
                        span data-server-part hidden { ", " span.num data-server {} " ms of it in the model's pipeline on the server" }
                        "."
                    }
                    pre data-answer {}
                }
            }
            script defer src=(assets::url("try_model.js")) {}
        },
    ))
}
