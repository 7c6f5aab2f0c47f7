//! The portal's pages, one file per kind of work.

pub mod catalogue;
pub mod deploy;
pub mod deployments;
pub mod home;
pub mod login;
