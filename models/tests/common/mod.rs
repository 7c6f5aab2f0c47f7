//! The shared host test helpers, and the models' own (`models`).

// Each test binary uses a different part of these helpers.
#![allow(dead_code)]

pub use trellis_host_test_support::*;

pub mod models;
pub mod onnx_files;
