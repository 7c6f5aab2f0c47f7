//! Who may do what: users with one role each, argon2id passwords, session tokens, and one table
//! of endpoint → roles that every request is checked against (deny by default).

pub mod login_limit;
mod password;
pub mod policy;
mod session;
pub mod session_cache;

pub use password::{PasswordPool, hash_password, verify_password};
pub use session::{Caller, create_session, end_session, token_hash};
pub use trellis_protocol::api::Role;
