//! Black-box tests of the control plane's REST API: the real server on a random port, a fresh
//! database per test, on SQLite and on PostgreSQL.

mod helpers;

mod access;
mod deployment_lifecycle;
mod deployments;
mod fixtures;
mod registry;
mod uploads;
mod versions;
