//! The portal's pages, one file per kind of work.

pub mod catalogue;
pub mod deploy;
pub mod deployments;
pub mod home;
pub mod login;
// Platform configurers and admins.
pub mod device_types;
pub mod instance;
pub mod instances;
pub mod nodes;
pub mod register_instance;
mod shown;
pub mod users;
// Data scientists and app developers.
pub mod apps;
pub mod models;
mod upload_form;
