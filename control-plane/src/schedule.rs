//! When a deployment should run: now (until stopped), in one window, or on a cron recurrence
//! with a duration and an optional number of occurrences.

use chrono::{DateTime, Utc};
use croner::Cron;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A deployment's schedule.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Schedule {
    /// From now until the deployment is stopped.
    #[default]
    Now,
    /// From `start` to `end`.
    Window {
        #[schema(value_type = String, format = DateTime)]
        start: DateTime<Utc>,
        #[schema(value_type = String, format = DateTime)]
        end: DateTime<Utc>,
    },
    /// At every time the cron expression names (five fields, UTC), for `duration-minutes`;
    /// `count` occurrences at most.
    #[serde(rename_all = "kebab-case")]
    Cron {
        expression: String,
        duration_minutes: u32,
        #[serde(default)]
        count: Option<u32>,
    },
}

impl Schedule {
    /// Checks the schedule makes sense; the error says which part does not.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Schedule::Now => Ok(()),
            Schedule::Window { start, end } if end <= start => Err(format!(
                "schedule: the window ends ({end}) before it starts ({start})"
            )),
            Schedule::Window { .. } => Ok(()),
            Schedule::Cron {
                expression,
                duration_minutes,
                count,
            } => {
                parse_cron(expression)?;
                if *duration_minutes == 0 {
                    return Err("schedule: duration-minutes must be at least 1".into());
                }
                if *count == Some(0) {
                    return Err("schedule: count must be at least 1 when given".into());
                }
                Ok(())
            }
        }
    }
}

/// Parses a five-field cron expression.
pub fn parse_cron(expression: &str) -> Result<Cron, String> {
    expression
        .parse::<Cron>()
        .map_err(|e| format!("schedule: `{expression}` is not a cron expression: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Schedule, String> {
        let schedule: Schedule = serde_json::from_str(json).map_err(|e| e.to_string())?;
        schedule.check().map(|()| schedule)
    }

    #[test]
    fn each_kind_reads_from_json() {
        assert_eq!(parse(r#"{"kind":"now"}"#).unwrap(), Schedule::Now);
        assert!(matches!(
            parse(
                r#"{"kind":"window","start":"2026-12-01T08:00:00Z","end":"2026-12-01T10:00:00Z"}"#
            ),
            Ok(Schedule::Window { .. })
        ));
        assert!(matches!(
            parse(
                r#"{"kind":"cron","expression":"0 8 * * MON-FRI","duration-minutes":90,"count":5}"#
            ),
            Ok(Schedule::Cron { count: Some(5), .. })
        ));
    }

    #[test]
    fn nonsense_is_refused_with_the_part_at_fault() {
        let backwards = parse(
            r#"{"kind":"window","start":"2026-12-01T10:00:00Z","end":"2026-12-01T08:00:00Z"}"#,
        )
        .unwrap_err();
        assert!(backwards.contains("ends"), "{backwards}");
        let cron =
            parse(r#"{"kind":"cron","expression":"every day","duration-minutes":5}"#).unwrap_err();
        assert!(
            cron.contains("`every day` is not a cron expression"),
            "{cron}"
        );
        let zero =
            parse(r#"{"kind":"cron","expression":"0 8 * * *","duration-minutes":0}"#).unwrap_err();
        assert!(zero.contains("duration-minutes"), "{zero}");
    }
}
