//! What Trellis's parts say to each other, as plain serde types: no wasmtime, no database, no
//! HTTP. The bus, the node daemon, the control plane, the CLI and the portal all speak it, so each
//! message has one definition.
//!
//! - [`value`]: the values apps read and send (the WIT `value`, `command`, `param`), in their one
//!   wire form, and the codec between them and plain JSON.
//! - [`record`]: readings and commands as they travel on the bus.
//! - [`node`]: heartbeats and assignments between node daemons and the control plane.
//! - [`api`]: the REST API's request and response bodies.
//! - [`logs`]: log lines and lifecycle events, as nodes ship them and the log service answers.
//! - [`live`]: the live event stream and the recent figures the portal's live views start from.
//!
//! With the `openapi` feature every API type also describes itself for the OpenAPI document.

pub mod api;
mod json_codec;
pub mod live;
pub mod logs;
pub mod node;
pub mod record;
pub mod value;

pub use value::{Blob, Command, Param, Value};
