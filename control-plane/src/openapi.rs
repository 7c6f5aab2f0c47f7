//! The OpenAPI document (generated from the handlers' annotations) and the page that shows it.

mod common_statuses;

pub use common_statuses::add as add_common_statuses;

use axum::Json;
use axum::response::Html;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

/// The document's frame: title, version and the bearer-token scheme. The paths are added by the
/// router as routes are registered.
pub fn document() -> OpenApi {
    let mut doc = utoipa::openapi::OpenApiBuilder::new()
        .info(
            utoipa::openapi::InfoBuilder::new()
                .title("Trellis control plane")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Registry, users and roles, uploads and deployments. Log in with \
                     POST /api/v1/auth/login and send the token as `Authorization: Bearer <token>`.",
                ))
                .build(),
        )
        .build();
    doc.components
        .get_or_insert_with(Default::default)
        .add_security_scheme(
            "token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    doc
}

/// `GET /api/v1/openapi.json`.
pub async fn serve_document(document: OpenApi) -> Json<OpenApi> {
    Json(document)
}

/// `GET /api/v1/docs`: a self-contained page (no CDN) that lists every operation from the
/// document and can call it with a token.
pub async fn docs_page() -> Html<&'static str> {
    Html(include_str!("openapi/docs.html"))
}
