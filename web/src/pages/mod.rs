//! The portal's pages, one file per kind of work.

pub mod home;
pub mod login;
// Data scientists and app developers.
pub mod apps;
pub mod models;
mod upload_form;
