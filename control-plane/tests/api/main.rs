//! Black-box tests of the control plane's REST API: the real server on a random port, a fresh
//! database per test, on SQLite and on PostgreSQL.

mod helpers;

mod access;
mod app_state;
mod deployments;
mod fixtures;
mod registry;
mod uploads;
