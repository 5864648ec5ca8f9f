//! When a time trigger fires (maestro-model.md §9.1): its cron expression (5-field UNIX cron,
//! else 6–7-field Quartz cron; PREDEFINED schedules are their UNIX equivalents) read in its time
//! zone (default UTC), plus the trigger's deterministic jitter.
//!
//! Fire times come from `croner` on jiff's time zones, with its DST rules (those of Vixie cron
//! and the Open Cron Pattern Specification): a fixed time of day that a spring-forward gap skips
//! fires at the first valid time after the gap, the same day; a fixed time that a fall-back
//! overlap repeats fires once, on its first occurrence; wildcard and step fields fire in real
//! time through both (skipping the gap, repeating the overlap).

use std::str::FromStr as _;

use baton_model::definition::TimeTrigger;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::tz::TimeZone;

use crate::signals::ids::name_uuid;

/// A time trigger ready to compute fire times.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    cron: Cron,
    zone: TimeZone,
    /// The zone as written (empty when the trigger names none), for the TIME initiator.
    pub timezone: String,
    /// Added to every fire time before it is due.
    pub jitter_ms: i64,
    /// The trigger as JSON: part of the request id of every run it starts.
    pub json: String,
}

impl Schedule {
    /// Prepares `trigger` of workflow `workflow_id`; an error names what cannot be scheduled.
    pub fn new(trigger: &TimeTrigger, workflow_id: &str) -> Result<Schedule, String> {
        let expr = match trigger {
            TimeTrigger::Cron(c) => c.cron.clone(),
            TimeTrigger::Predefined(p) => p.expression.cron().to_string(),
            TimeTrigger::Interval(_) => {
                return Err("INTERVAL time triggers cannot be scheduled (as in Maestro)".into());
            }
        };
        let cron = parse_cron(&expr)?;
        let timezone = trigger.timezone().unwrap_or_default().to_string();
        let zone = if timezone.is_empty() {
            TimeZone::UTC
        } else {
            TimeZone::get(&timezone).map_err(|e| format!("unknown time zone [{timezone}]: {e}"))?
        };
        let json = serde_json::to_string(trigger).map_err(|e| e.to_string())?;
        let jitter_ms = match trigger.fuzzy_max_delay() {
            Some(delay) => jitter_ms(
                baton_model::duration::fuzzy_delay_millis(delay)
                    .map_err(|e| format!("invalid fuzzy_max_delay: {e}"))?,
                &json,
                workflow_id,
            ),
            None => 0,
        };
        Ok(Schedule {
            cron,
            zone,
            timezone,
            jitter_ms,
            json,
        })
    }

    /// The first nominal fire time strictly after `after_ms` (epoch ms), if any.
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        let ts = jiff::Timestamp::from_millisecond(after_ms).ok()?;
        let zoned = ts.to_zoned(self.zone.clone());
        let next = self.cron.find_next_occurrence(&zoned, false).ok()?;
        Some(next.timestamp().as_millisecond())
    }
}

/// Parses as UNIX cron, then as Quartz cron, as Maestro does. Quartz's `?` reads as `*`, and
/// `x/y` steps from any start are accepted.
pub(crate) fn parse_cron(expr: &str) -> Result<Cron, String> {
    let fields = expr.split_whitespace().count();
    let parser = if fields == 5 {
        CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .sloppy_ranges(true)
            .build()
    } else {
        CronParser::builder()
            .seconds(Seconds::Required)
            .year(Year::Optional)
            .alternative_weekdays(true)
            .sloppy_ranges(true)
            .build()
    };
    match parser.parse(expr) {
        Ok(c) => Ok(c),
        Err(e) => match Cron::from_str(expr) {
            Ok(c) if fields == 5 => Ok(c),
            _ => Err(format!("cannot schedule cron expression [{expr}]: {e}")),
        },
    }
}

/// The deterministic jitter: whole seconds in `[0, floor(max_ms / 1000))`, from a name-based
/// UUID of the trigger and the workflow id (Maestro seeds a `java.util.Random` from a similar
/// UUID; the exact value differs, the properties are the same).
fn jitter_ms(max_ms: i64, trigger_json: &str, workflow_id: &str) -> i64 {
    let bound = max_ms / 1000;
    if bound <= 0 {
        return 0;
    }
    let id = name_uuid(&format!("{trigger_json}{workflow_id}"));
    let low = id.as_u64_pair().1;
    ((low % bound as u64) as i64) * 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cron(expr: &str, zone: &str) -> Schedule {
        let t: TimeTrigger = serde_json::from_value(serde_json::json!({
            "type": "CRON", "cron": expr, "timezone": zone
        }))
        .unwrap();
        Schedule::new(&t, "wf").unwrap()
    }

    fn at(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    fn show(ms: i64, zone: &str) -> String {
        jiff::Timestamp::from_millisecond(ms)
            .unwrap()
            .to_zoned(TimeZone::get(zone).unwrap())
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string()
    }

    #[test]
    fn unix_and_quartz_forms_fire_alike() {
        let unix = cron("0 12 * * *", "UTC");
        let quartz = cron("0 0 12 1/1 * ? *", "UTC");
        let from = at("2024-01-01T13:00:00Z");
        assert_eq!(unix.next_after(from), Some(at("2024-01-02T12:00:00Z")));
        assert_eq!(quartz.next_after(from), unix.next_after(from));
        // Quartz weekdays count from Sunday = 1, and `?` leaves the other day field in charge.
        let mondays = cron("0 0 12 ? * 2", "UTC");
        assert_eq!(
            mondays.next_after(at("2024-01-02T00:00:00Z")),
            Some(at("2024-01-08T12:00:00Z"))
        );
        let unix_mondays = cron("0 12 * * 1", "UTC");
        assert_eq!(
            unix_mondays.next_after(at("2024-01-02T00:00:00Z")),
            Some(at("2024-01-08T12:00:00Z"))
        );
    }

    #[test]
    fn predefined_schedules_and_zones() {
        let t: TimeTrigger = serde_json::from_value(serde_json::json!({
            "type": "PREDEFINED", "expression": "@daily", "timezone": "Asia/Tokyo"
        }))
        .unwrap();
        let s = Schedule::new(&t, "wf").unwrap();
        // Midnight in Tokyo is 15:00 UTC.
        assert_eq!(
            s.next_after(at("2024-03-01T00:00:00Z")),
            Some(at("2024-03-01T15:00:00Z"))
        );
        assert_eq!(s.timezone, "Asia/Tokyo");
        // The legacy link names Maestro's samples use resolve.
        assert!(Schedule::new(
            &serde_json::from_value(serde_json::json!({"type": "CRON", "cron": "*/2 * * * *", "timezone": "US/Pacific"})).unwrap(),
            "wf"
        )
        .is_ok());
    }

    #[test]
    fn jitter_is_deterministic_and_bounded() {
        let t = |delay: &str| -> TimeTrigger {
            serde_json::from_value(serde_json::json!({
                "type": "CRON", "cron": "*/2 * * * *", "fuzzy_max_delay": delay
            }))
            .unwrap()
        };
        let a = Schedule::new(&t("30s"), "wf").unwrap().jitter_ms;
        assert_eq!(a, Schedule::new(&t("30s"), "wf").unwrap().jitter_ms);
        assert!((0..30_000).contains(&a) && a % 1000 == 0, "{a}");
        let spread: std::collections::HashSet<i64> = (0..20)
            .map(|i| {
                Schedule::new(&t("1h"), &format!("wf{i}"))
                    .unwrap()
                    .jitter_ms
            })
            .collect();
        assert!(
            spread.len() > 10,
            "jitter differs between workflows: {spread:?}"
        );
    }

    #[test]
    fn los_angeles_spring_forward_and_fall_back() {
        // 2024-03-10: 02:00 PST jumps to 03:00 PDT. A daily 02:30 fires right after the gap.
        let daily = cron("30 2 * * *", "America/Los_Angeles");
        let t1 = daily.next_after(at("2024-03-09T08:00:00Z")).unwrap();
        assert_eq!(show(t1, "America/Los_Angeles"), "2024-03-09T02:30:00-08:00");
        let t2 = daily.next_after(t1).unwrap();
        assert_eq!(show(t2, "America/Los_Angeles"), "2024-03-10T03:00:00-07:00");
        let t3 = daily.next_after(t2).unwrap();
        assert_eq!(show(t3, "America/Los_Angeles"), "2024-03-11T02:30:00-07:00");
        // 2024-11-03: 02:00 PDT falls back to 01:00 PST. A daily 01:30 fires once.
        let late = cron("30 1 * * *", "America/Los_Angeles");
        let f1 = late.next_after(at("2024-11-02T12:00:00Z")).unwrap();
        let f2 = late.next_after(f1).unwrap();
        assert_eq!(show(f1, "America/Los_Angeles"), "2024-11-03T01:30:00-07:00");
        assert_eq!(show(f2, "America/Los_Angeles"), "2024-11-04T01:30:00-08:00");
        // An hourly cron fires in real time through both changes: 23 hours on the spring day,
        // 25 on the fall day.
        let hourly = cron("0 * * * *", "America/Los_Angeles");
        let count = |from: &str, to: &str| {
            let (mut t, end) = (at(from), at(to));
            let mut n = 0;
            while let Some(next) = hourly.next_after(t) {
                if next >= end {
                    break;
                }
                n += 1;
                t = next;
            }
            n
        };
        assert_eq!(count("2024-03-10T07:59:00Z", "2024-03-11T06:59:00Z"), 23);
        assert_eq!(count("2024-11-03T06:59:00Z", "2024-11-04T07:59:00Z"), 25);
    }

    #[test]
    fn london_summer_time() {
        // 2024-03-31: 01:00 GMT jumps to 02:00 BST; 2024-10-27: 02:00 BST falls back to 01:00.
        let daily = cron("30 1 * * *", "Europe/London");
        let t1 = daily.next_after(at("2024-03-30T12:00:00Z")).unwrap();
        let t2 = daily.next_after(t1).unwrap();
        assert_eq!(show(t1, "Europe/London"), "2024-03-31T02:00:00+01:00");
        assert_eq!(show(t2, "Europe/London"), "2024-04-01T01:30:00+01:00");
        let f1 = daily.next_after(at("2024-10-26T12:00:00Z")).unwrap();
        let f2 = daily.next_after(f1).unwrap();
        assert_eq!(show(f1, "Europe/London"), "2024-10-27T01:30:00+01:00");
        assert_eq!(show(f2, "Europe/London"), "2024-10-28T01:30:00+00:00");
        // Noon UTC-wise moves by an hour across the change; noon London time does not.
        let noon = cron("0 12 * * *", "Europe/London");
        assert_eq!(
            noon.next_after(at("2024-03-30T13:00:00Z")),
            Some(at("2024-03-31T11:00:00Z"))
        );
    }
}
