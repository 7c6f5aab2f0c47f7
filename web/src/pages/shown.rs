//! Small pieces the configurer's and admin's pages share: a name from a page's address put back
//! into an API path, values shown as short text with their units, and a form's error spot.

use maud::{Markup, html};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What stays as it is in a path segment; everything else (`/`, `?`, `#`, `%`, `..`'s dots
/// included) is escaped, so an id taken from a page's address names exactly one API resource.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');

/// `text` as one segment of an API path.
pub fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// A query string from the pairs whose value is not empty.
pub fn query<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        if !value.is_empty() {
            query.append_pair(key, value);
        }
    }
    query.finish()
}

/// A JSON value as a person reads it: text without quotes, anything else as compact JSON.
pub fn value_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A value with its unit, e.g. `21.5 °C` (kept on one line).
pub fn with_unit(value: &serde_json::Value, unit: &str) -> String {
    let text = value_text(value);
    if unit.is_empty() {
        text
    } else {
        format!("{text}\u{a0}{unit}")
    }
}

/// `key=value` pairs, comma-separated, as a person types labels.
pub fn labels_text(labels: &std::collections::BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where the API's error about `field` appears (portal.js fills it; `""`: the form's own).
pub fn error_spot(field: &str) -> Markup {
    html! { span.error data-error-for=(field) role="alert" {} }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_cannot_climb_or_split_a_path() {
        assert_eq!(segment("sensor-1_a"), "sensor-1_a");
        assert_eq!(segment("../users"), "%2E%2E%2Fusers");
        assert_eq!(segment("a b?c#d"), "a%20b%3Fc%23d");
    }

    #[test]
    fn a_query_leaves_out_empty_values() {
        assert_eq!(
            query([("site", "North & South"), ("room", ""), ("q", "t")]),
            "site=North+%26+South&q=t"
        );
    }
}
