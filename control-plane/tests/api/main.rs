//! Black-box tests of the control plane's REST API: the real server on a random port, a fresh
//! database per test, on SQLite and on PostgreSQL.

mod helpers;

mod access;
mod accounts;
mod app_state;
mod deployment_lifecycle;
mod deployments;
mod device_access;
mod draining;
mod fixtures;
mod gateway;
mod jobs;
mod live;
mod login_defences;
mod logs;
mod metrics;
mod model_cache;
mod model_refusals;
mod mutated_requests;
mod node_bounds;
mod notifications;
mod portal_author;
mod portal_configurer;
mod portal_enduser;
mod portal_sign_in;
mod readings;
mod registry;
mod request_limits;
mod tokens;
mod uploads;
mod versions;
