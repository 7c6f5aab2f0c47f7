//! When a deployment should run: now (until stopped), in one window, or on a cron recurrence
//! with a duration and an optional number of occurrences.

use chrono::{DateTime, Utc};
use croner::Cron;
use trellis_protocol::api::Schedule;

/// When a [`Schedule`] is active, and whether it makes sense: the rules live with the
/// reconciler that follows them, the type in `trellis-protocol` that carries it.
pub trait ScheduleRules {
    /// Checks the schedule makes sense; the error says which part does not.
    fn check(&self) -> Result<(), String>;
    /// Whether a deployment made at `created` should be running at `now`.
    fn is_active(&self, created: DateTime<Utc>, now: DateTime<Utc>) -> bool;
}

impl ScheduleRules for Schedule {
    fn check(&self) -> Result<(), String> {
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

    fn is_active(&self, created: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        match self {
            Schedule::Now => true,
            Schedule::Window { start, end } => *start <= now && now < *end,
            Schedule::Cron {
                expression,
                duration_minutes,
                count,
            } => {
                let Ok(cron) = parse_cron(expression) else {
                    return false;
                };
                let duration = chrono::Duration::minutes(i64::from(*duration_minutes));
                match count {
                    // Walk the first `count` occurrences since the deployment was made.
                    Some(count) => {
                        let mut from = created;
                        for _ in 0..*count {
                            let Ok(start) = cron.find_next_occurrence(&from, true) else {
                                return false;
                            };
                            if start > now {
                                return false;
                            }
                            if now < start + duration {
                                return true;
                            }
                            from = start + chrono::Duration::seconds(1);
                        }
                        false
                    }
                    // The one occurrence that could cover `now` starts within `duration` of it.
                    None => cron
                        .find_next_occurrence(&created.max(now - duration), true)
                        .is_ok_and(|start| start <= now && now < start + duration),
                }
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

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn windows_and_recurrences_are_active_only_inside_them() {
        let created = at("2026-11-30T00:00:00Z");
        let window = parse(
            r#"{"kind":"window","start":"2026-12-01T08:00:00Z","end":"2026-12-01T10:00:00Z"}"#,
        )
        .unwrap();
        assert!(!window.is_active(created, at("2026-12-01T07:59:59Z")));
        assert!(window.is_active(created, at("2026-12-01T08:00:00Z")));
        assert!(!window.is_active(created, at("2026-12-01T10:00:00Z")));

        // Weekdays 08:00 for 90 minutes; 2026-12-05 is a Saturday.
        let weekdays =
            parse(r#"{"kind":"cron","expression":"0 8 * * MON-FRI","duration-minutes":90}"#)
                .unwrap();
        assert!(weekdays.is_active(created, at("2026-12-01T09:29:00Z")));
        assert!(!weekdays.is_active(created, at("2026-12-01T09:30:00Z")));
        assert!(!weekdays.is_active(created, at("2026-12-01T07:59:00Z")));
        assert!(!weekdays.is_active(created, at("2026-12-05T08:30:00Z")));

        // Twice only: the third morning is not covered.
        let twice =
            parse(r#"{"kind":"cron","expression":"0 8 * * *","duration-minutes":60,"count":2}"#)
                .unwrap();
        assert!(twice.is_active(created, at("2026-11-30T08:10:00Z")));
        assert!(twice.is_active(created, at("2026-12-01T08:10:00Z")));
        assert!(!twice.is_active(created, at("2026-12-02T08:10:00Z")));
        assert!(Schedule::Now.is_active(created, created));
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
