//! Who may use a sensor or controller (bind it into a deployment, watch it, read its readings)
//! besides the admins and platform configurers who manage the fleet: the users its `users` list
//! names, or every user when the list holds [`EVERY_USER`]. Access is granted, never assumed: a
//! device registered without a list is no end user's until a configurer adds them, unless the
//! platform runs with `trellis up --open-devices`, which registers such a device for
//! [`EVERY_USER`] (devices registered before grants were explicit were given it by migration
//! 14, so none lost the access it had).

pub use trellis_protocol::api::EVERY_USER;

/// Whether a device whose list is `users` is granted to the user called `name`.
pub fn granted(users: &[String], name: &str) -> bool {
    users.iter().any(|user| user == EVERY_USER || user == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_is_granted_by_name_or_to_everyone_and_an_empty_list_grants_nobody() {
        let list = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert!(granted(&list(&["eve"]), "eve"));
        assert!(!granted(&list(&["eve"]), "frank"));
        assert!(granted(&list(&["frank", EVERY_USER]), "eve"));
        assert!(!granted(&list(&[]), "eve"));
        // A name is matched whole, not as a pattern.
        assert!(!granted(&list(&["eve*"]), "eve"));
    }
}
