//! The portal's static files, embedded in the binary: our stylesheet and script, and the chart
//! library npm installed at build time (see build.rs). Each is served at a URL carrying a hash
//! of its content, so browsers keep it until it changes.

use std::sync::LazyLock;

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// One of our own files in `web/assets/`.
macro_rules! ours {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            bytes: include_bytes!(concat!("../assets/", $name)),
        }
    };
}

const FILES: &[Asset] = &[
    ours!("portal.css", CSS),
    ours!("portal.js", JS),
    ours!("charts.js", JS),
    // Platform configurers' pages.
    ours!("instances.js", JS),
    ours!("nodes.js", JS),
    // End users: the deploy form's pickers and schedule preview, and deployments' live rows.
    ours!("deploy.js", JS),
    // Data scientists and app developers: uploads, trying a model, an app's deployments.
    ours!("uploads.js", JS),
    ours!("try_model.js", JS),
    ours!("app_deployments.js", JS),
    // The chart library, as npm installed it (build.rs).
    Asset {
        name: "uPlot.iife.min.js",
        content_type: JS,
        bytes: include_bytes!(concat!(
            env!("OUT_DIR"),
            "/npm/node_modules/uplot/dist/uPlot.iife.min.js"
        )),
    },
    Asset {
        name: "uPlot.min.css",
        content_type: CSS,
        bytes: include_bytes!(concat!(
            env!("OUT_DIR"),
            "/npm/node_modules/uplot/dist/uPlot.min.css"
        )),
    },
];

/// Each file's content hash, by position in [`FILES`].
static VERSIONS: LazyLock<Vec<String>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|file| hex::encode(&Sha256::digest(file.bytes)[..6]))
        .collect()
});

/// Where the page finds `name`.
pub fn url(name: &str) -> String {
    let index = FILES
        .iter()
        .position(|file| file.name == name)
        .unwrap_or_else(|| panic!("no embedded asset `{name}`"));
    format!("/assets/{name}?v={}", VERSIONS[index])
}

/// How many bytes the embedded files weigh, for the record.
pub fn total_bytes() -> usize {
    FILES.iter().map(|file| file.bytes.len()).sum()
}

#[derive(serde::Deserialize)]
pub struct Version {
    v: Option<String>,
}

/// `GET /assets/{name}`.
pub async fn serve(Path(name): Path<String>, Query(version): Query<Version>) -> Response {
    let Some(index) = FILES.iter().position(|file| file.name == name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let file = &FILES[index];
    let cache = if version.v.as_deref() == Some(VERSIONS[index].as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [(CONTENT_TYPE, file.content_type), (CACHE_CONTROL, cache)],
        file.bytes,
    )
        .into_response()
}
