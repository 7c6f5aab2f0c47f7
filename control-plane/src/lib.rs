//! The Trellis control plane: the registry of sensor and controller types and instances, nodes,
//! models and apps; users and their roles; uploads into a content-addressed artifact store; and
//! the REST API (`/api/v1`) that the CLI, the portal and the node daemons use.
//!
//! Laid out the zero2prod way: [`configuration`] says how to run, [`startup`] builds the server,
//! `routes/` holds one file per resource, and the tests spawn the real server on a random port
//! with a fresh database. Handlers check their input, call `db/` (one module per table, the only
//! place with SQL) or the device `gateway`, and answer.

pub mod artifacts;
pub mod auth;
mod collector;
pub mod configuration;
mod db;
mod deployment_checks;
mod device_access;
mod error;
mod gateway;
mod ids;
mod jobs;
mod latest_versions;
pub mod lifecycle;
mod live;
pub mod logs;
mod metrics;
mod model_versions;
mod node_reports;
pub mod notify;
mod openapi;
mod peer;
pub mod placement;
pub mod readings;
mod reconciler;
mod request_limits;
mod routes;
pub mod schedule;
pub mod seed;
mod server;
pub mod startup;
mod state;
pub mod tls;
mod upload;
mod upload_zip;

pub use configuration::{
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_LOG_MAX_BYTES, DEFAULT_LOG_RETENTION,
    DEFAULT_MAX_CONCURRENT_REQUESTS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MODEL_CACHE_BYTES,
    DEFAULT_READINGS_RETENTION, DEFAULT_REQUEST_TIMEOUT, Settings,
};
pub use startup::Application;
