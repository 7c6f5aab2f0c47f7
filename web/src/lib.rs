//! The Trellis portal: every role's work in the browser.
//!
//! Pages are rendered on the server (maud, which escapes every value it splices in) from the
//! control plane's own API, called in-process as the signed-in person ([`api`]), so the one
//! policy table decides what each page may show and do: a page the API refuses is refused. Pages
//! change things through the JSON API from a thin script (`assets/portal.js`), signed by the
//! session cookie and a cross-site-request token ([`session`]); live views open one server-sent
//! events stream per page for the rows on screen. Everything the browser loads is embedded in
//! the binary ([`assets`]); nothing comes from another server.

pub mod api;
pub mod assets;
mod error;
mod layout;
mod pages;
pub mod session;
mod viewer;

use std::time::Duration;

use axum::Router;
use axum::routing::get;

pub use api::Api;

/// What every page handler shares.
#[derive(Clone)]
pub struct Portal {
    api: Api,
    /// Whether cookies are marked `Secure` (the portal is reached over TLS).
    secure_cookies: bool,
    /// How long a sign-in lasts, as the API's sessions do.
    session_ttl_secs: i64,
    /// Where nodes reach the control plane (`--public-url`), for the join instructions.
    public_url: Option<String>,
    /// The CA certificate nodes trust the control plane by, for the join instructions.
    node_ca_pem: Option<String>,
}

/// How the control plane serves the portal.
pub struct PortalConfig {
    /// The API router, complete with its state and policy, to call in-process.
    pub api: Router,
    /// Whether people reach the portal over TLS (its public URL is `https://`).
    pub secure_cookies: bool,
    pub session_ttl: Duration,
    /// Where people and nodes reach the control plane (`--public-url`); none: the address the
    /// browser used.
    pub public_url: Option<String>,
    /// The CA certificate (PEM) nodes must trust the control plane by, where the system's roots
    /// do not; the join instructions then save it and point the daemon at it.
    pub node_ca_pem: Option<String>,
}

/// The portal's routes, to merge beside `/api/v1`.
pub fn portal(config: PortalConfig) -> Router {
    let portal = Portal {
        api: Api::new(config.api),
        secure_cookies: config.secure_cookies,
        session_ttl_secs: config.session_ttl.as_secs() as i64,
        public_url: config.public_url,
        node_ca_pem: config.node_ca_pem,
    };
    Router::new()
        .route("/", get(pages::home::show))
        .route(
            "/login",
            get(pages::login::show).post(pages::login::sign_in),
        )
        .route("/logout", axum::routing::post(pages::login::sign_out))
        // Platform configurers and admins: device types, instances, nodes and users.
        .route("/device-types", get(pages::device_types::show))
        .route("/instances", get(pages::instances::show))
        .route("/instances/new", get(pages::register_instance::show))
        .route("/instances/{kind}/{id}", get(pages::instance::show))
        .route("/nodes", get(pages::nodes::show))
        .route("/nodes/join", axum::routing::post(pages::nodes::join))
        .route("/users", get(pages::users::show))
        .route("/assets/{name}", get(assets::serve))
        // End users: the catalogue, the deploy form, and their deployments.
        .route("/catalogue", get(pages::catalogue::show))
        .route("/deploy/{app}", get(pages::deploy::show))
        .route("/deployments", get(pages::deployments::list))
        .route("/deployments/{id}", get(pages::deployments::show))
        // Data scientists and app developers.
        .route("/models", get(pages::models::list))
        .route("/models/{name}", get(pages::models::show))
        .route("/apps", get(pages::apps::list))
        .route("/apps/{name}", get(pages::apps::show))
        .with_state(portal)
}
