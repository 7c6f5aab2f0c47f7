//! The portal's pages, one file per kind of work.

pub mod home;
pub mod login;
