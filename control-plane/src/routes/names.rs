//! What a name on the platform may look like, so it can appear in URLs, topics and CLI output.

use crate::error::ApiError;

/// Checks `value` (the field `field`) is 1-64 lower-case letters, digits, `-`, `_` or `.`,
/// starting with a letter or digit.
pub fn check_name(field: &str, value: &str) -> Result<(), ApiError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
        && value.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{field}: `{value}` is not a valid name; use 1-64 lower-case letters, digits, `-`, `_` or `.`, starting with a letter or digit"
        )))
    }
}
