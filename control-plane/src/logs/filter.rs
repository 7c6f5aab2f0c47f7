//! What a reader asked for, applied to live lines in memory the way the database applies it to
//! stored ones: the same scope, the same labels, "this level or worse", and every word of the
//! text search present as a word of the line (in any case).

use std::collections::HashSet;

use crate::db::logs::{Query, Scope};

use super::Stored;

/// The words of `text`: runs of letters and digits, lower-cased, as both text-search indexes
/// split it.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// A query ready to test live lines against.
pub struct LiveFilter {
    query: Query,
    /// For [`Scope::AppsOf`]: the reader's apps when the tail began.
    apps: HashSet<String>,
}

impl LiveFilter {
    pub fn new(query: Query, apps: Vec<String>) -> LiveFilter {
        LiveFilter {
            query,
            apps: apps.into_iter().collect(),
        }
    }

    pub fn matches(&self, stored: &Stored) -> bool {
        let (query, line) = (&self.query, &stored.line);
        let visible = match &query.scope {
            Scope::All => true,
            Scope::OwnerOf(user) => stored.owner.as_ref() == Some(user),
            Scope::AppsOf(_) => line.app.as_ref().is_some_and(|app| self.apps.contains(app)),
        };
        let same = |wanted: &Option<String>, has: &Option<String>| {
            wanted.is_none() || wanted.as_ref() == has.as_ref()
        };
        let at = chrono::DateTime::parse_from_rfc3339(&line.time)
            .map(|t| t.timestamp_millis())
            .unwrap_or_default();
        visible
            && same(&query.deployment, &line.deployment)
            && same(&query.app, &line.app)
            && same(&query.node, &line.node)
            && query.source.is_none_or(|source| source == line.source)
            && query.min_level.is_none_or(|min| line.level >= min)
            && query.since.is_none_or(|since| at >= since)
            && query.until.is_none_or(|until| at < until)
            && query.after.is_none_or(|after| line.id > after)
            && (query.words.is_empty() || {
                let has: HashSet<String> = words(&line.text).into_iter().collect();
                query.words.iter().all(|w| has.contains(w))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::words;

    #[test]
    fn words_are_letters_and_digits_lower_cased() {
        assert_eq!(
            words("Trap in dep_1f: \"unreachable\"!"),
            ["trap", "in", "dep", "1f", "unreachable"]
        );
        assert!(words("!!! --").is_empty());
    }
}
