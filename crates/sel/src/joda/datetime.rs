//! Joda `DateTime` (an instant plus a zone, ISO chronology) and the operations SEL exposes:
//! constructors, `plus`/`minus` (days and longer on the local time line, resolving the offset the
//! Joda way; hours and shorter in elapsed time), field setters with Joda's DST checks,
//! `withTimeAtStartOfDay`, properties, `Days.daysBetween` and the ISO `toString`.

use super::chrono::{self, Field, FieldError, MILLIS_PER_DAY, MILLIS_PER_HOUR, MILLIS_PER_MINUTE};
use super::zone::Zone;
use std::fmt;

/// A failure inside Joda, by the exception class Joda raises.
#[derive(Debug, Clone, PartialEq)]
pub enum JodaError {
    /// `IllegalFieldValueException`.
    Field(String),
    /// `IllegalInstantException` (a local time in a DST gap).
    Instant(String),
    /// `IllegalArgumentException` (bad text, bad id, ...).
    Argument(String),
    /// `ArithmeticException` (overflow).
    Arithmetic(String),
    /// `UnsupportedOperationException`.
    Unsupported(String),
}

impl JodaError {
    fn field(e: FieldError) -> JodaError {
        JodaError::Field(e.message())
    }

    /// The message.
    pub fn message(&self) -> &str {
        match self {
            JodaError::Field(m)
            | JodaError::Instant(m)
            | JodaError::Argument(m)
            | JodaError::Arithmetic(m)
            | JodaError::Unsupported(m) => m,
        }
    }
}

impl fmt::Display for JodaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

fn overflow() -> JodaError {
    JodaError::Arithmetic("The calculation caused an overflow".into())
}

/// Units of `plusX`/`minusX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Years,
    Months,
    Weeks,
    Days,
    Hours,
    Minutes,
    Seconds,
    Millis,
}

/// A Joda `DateTime`.
#[derive(Clone, Debug, PartialEq)]
pub struct DateTime {
    /// Milliseconds since the epoch.
    pub millis: i64,
    /// The zone the fields are shown in.
    pub zone: Zone,
}

/// `yyyy-MM-ddTHH:mm:ss.SSS` of local millis (Joda `LocalDateTime.toString`).
pub fn local_iso(local: i64) -> String {
    let c = chrono::civil(local);
    let m = c.millis_of_day;
    format!(
        "{}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}",
        year_text(c.year),
        c.month,
        c.day,
        m / MILLIS_PER_HOUR,
        m / MILLIS_PER_MINUTE % 60,
        m / 1000 % 60,
        m % 1000
    )
}

/// A year printed with at least four digits and a sign when negative (`appendYear(4, 9)`).
fn year_text(year: i64) -> String {
    if year < 0 {
        format!("-{:04}", -year)
    } else {
        format!("{year:04}")
    }
}

impl DateTime {
    /// A DateTime at `millis` in `zone`.
    pub fn new(millis: i64, zone: Zone) -> Self {
        DateTime { millis, zone }
    }

    /// Joda `new DateTime(y, mo, d, h, mi, s, ms, zone)`.
    #[allow(clippy::too_many_arguments)]
    pub fn from_fields(
        year: i64,
        month: i64,
        day: i64,
        hour: i64,
        minute: i64,
        second: i64,
        millis: i64,
        zone: Zone,
    ) -> Result<DateTime, JodaError> {
        let bounds = [
            (Field::HourOfDay, hour, 0, 23),
            (Field::MinuteOfHour, minute, 0, 59),
            (Field::SecondOfMinute, second, 0, 59),
            (Field::MillisOfSecond, millis, 0, 999),
            (Field::Year, year, chrono::MIN_YEAR, chrono::MAX_YEAR),
            (Field::MonthOfYear, month, 1, 12),
        ];
        for (field, value, lo, hi) in bounds {
            if value < lo || value > hi {
                return Err(JodaError::field(FieldError {
                    field,
                    value: value.to_string(),
                    min: lo,
                    max: hi,
                }));
            }
        }
        let dim = chrono::days_in_month(year, month);
        if day < 1 || day > dim {
            return Err(JodaError::field(FieldError {
                field: Field::DayOfMonth,
                value: day.to_string(),
                min: 1,
                max: dim,
            }));
        }
        let local = chrono::local_millis(
            year,
            month,
            day,
            hour * MILLIS_PER_HOUR + minute * MILLIS_PER_MINUTE + second * 1000 + millis,
        );
        let utc = zone
            .local_to_utc_strict(local)
            .map_err(JodaError::Instant)?;
        Ok(DateTime { millis: utc, zone })
    }

    /// Local millis (the wall-clock time in the zone).
    pub fn local(&self) -> i64 {
        self.zone.to_local(self.millis)
    }

    /// A field's value in the zone.
    pub fn get(&self, field: Field) -> i64 {
        chrono::get(field, self.local())
    }

    /// Offset from UTC at this instant.
    pub fn offset(&self) -> i64 {
        self.zone.offset(self.millis)
    }

    /// Same instant in another zone (`withZone`).
    pub fn with_zone(&self, zone: Zone) -> DateTime {
        DateTime {
            millis: self.millis,
            zone,
        }
    }

    /// `plusYears(n)` etc.; `minusX(n)` is `plus(-n)`.
    pub fn plus(&self, unit: Unit, amount: i64) -> Result<DateTime, JodaError> {
        if amount == 0 {
            return Ok(self.clone());
        }
        let exact = |unit_ms: i64| -> Result<DateTime, JodaError> {
            let delta = amount.checked_mul(unit_ms).ok_or_else(overflow)?;
            let millis = self.millis.checked_add(delta).ok_or_else(overflow)?;
            Ok(DateTime {
                millis,
                zone: self.zone.clone(),
            })
        };
        let local = self.local();
        let new_local = match unit {
            Unit::Hours => return exact(MILLIS_PER_HOUR),
            Unit::Minutes => return exact(MILLIS_PER_MINUTE),
            Unit::Seconds => return exact(1000),
            Unit::Millis => return exact(1),
            Unit::Days | Unit::Weeks => {
                let unit_ms = if unit == Unit::Days {
                    MILLIS_PER_DAY
                } else {
                    7 * MILLIS_PER_DAY
                };
                let delta = amount.checked_mul(unit_ms).ok_or_else(overflow)?;
                local.checked_add(delta).ok_or_else(overflow)?
            }
            Unit::Months => {
                let c = chrono::civil(local);
                let total = (c.year * 12 + c.month - 1)
                    .checked_add(amount)
                    .ok_or_else(overflow)?;
                let year = total.div_euclid(12);
                let month = total.rem_euclid(12) + 1;
                check_year(year)?;
                let day = c.day.min(chrono::days_in_month(year, month));
                chrono::local_millis(year, month, day, c.millis_of_day)
            }
            Unit::Years => {
                let year = chrono::get(Field::Year, local)
                    .checked_add(amount)
                    .ok_or_else(overflow)?;
                check_year(year)?;
                chrono::set(Field::Year, local, year).map_err(JodaError::field)?
            }
        };
        check_local_range(new_local)?;
        Ok(DateTime {
            millis: self.zone.local_to_utc(new_local),
            zone: self.zone.clone(),
        })
    }

    /// `withX(value)`: sets a field on the local time line, keeping the current offset when it
    /// is still valid; a result in a DST gap is an `IllegalFieldValueException`.
    pub fn with_field(&self, field: Field, value: i64) -> Result<DateTime, JodaError> {
        let local = self.local();
        let new_local = chrono::set(field, local, value).map_err(JodaError::field)?;
        let millis = self.zone.local_to_utc_keeping(new_local, self.millis);
        let result = DateTime {
            millis,
            zone: self.zone.clone(),
        };
        if result.get(field) != value {
            return Err(JodaError::Field(format!(
                "Value {value} for {} is not supported: {}",
                field.name(),
                self.zone.gap_message(new_local)
            )));
        }
        Ok(result)
    }

    /// `withTimeAtStartOfDay()`: the first valid instant of the local day.
    pub fn with_time_at_start_of_day(&self) -> DateTime {
        let local = self.local();
        let day_start = local.div_euclid(MILLIS_PER_DAY) * MILLIS_PER_DAY;
        let six = self
            .zone
            .local_to_utc(day_start.saturating_add(6 * MILLIS_PER_HOUR));
        let millis = self.zone.local_to_utc_keeping(day_start, six);
        // withEarlierOffsetAtOverlap
        let local_result = self.zone.to_local(millis);
        let millis = match self.zone.fold_offsets(local_result) {
            Some((earlier, _)) => local_result - earlier,
            None => millis,
        };
        DateTime {
            millis,
            zone: self.zone.clone(),
        }
    }

    /// Joda's ISO `toString()`: `yyyy-MM-ddTHH:mm:ss.SSS±HH:mm` (`Z` for UTC offsets).
    pub fn to_iso_string(&self) -> String {
        let offset = self.offset();
        let mut s = local_iso(self.millis.saturating_add(offset));
        if offset == 0 {
            s.push('Z');
        } else {
            s.push_str(&super::zone::print_offset(offset));
        }
        s
    }

    /// `Days.daysBetween(self, end)`: whole days between the local times in this DateTime's
    /// zone, truncated toward zero.
    pub fn days_between(&self, end: &DateTime) -> Result<i64, JodaError> {
        let start_local = self.local();
        let end_local = end.millis.saturating_add(self.zone.offset(end.millis));
        let days = (end_local as i128 - start_local as i128) / MILLIS_PER_DAY as i128;
        i32::try_from(days).map(i64::from).map_err(|_| overflow())
    }
}

fn check_year(year: i64) -> Result<(), JodaError> {
    if !(chrono::MIN_YEAR..=chrono::MAX_YEAR).contains(&year) {
        return Err(JodaError::field(FieldError {
            field: Field::Year,
            value: year.to_string(),
            min: chrono::MIN_YEAR,
            max: chrono::MAX_YEAR,
        }));
    }
    Ok(())
}

fn check_local_range(local: i64) -> Result<(), JodaError> {
    let year = chrono::civil(local).year;
    check_year(year)
}

/// A Joda `DateTime.Property`: a DateTime and one of its fields.
#[derive(Clone, Debug, PartialEq)]
pub struct Property {
    pub datetime: DateTime,
    pub field: Field,
}

impl Property {
    /// `get()`.
    pub fn get(&self) -> i64 {
        self.datetime.get(self.field)
    }

    /// `getAsText(Locale.US)`.
    pub fn as_text(&self) -> String {
        chrono::text(self.field, self.get())
    }

    /// `withMinimumValue()`.
    pub fn with_minimum(&self) -> Result<DateTime, JodaError> {
        let min = chrono::min(self.field, self.datetime.local());
        self.datetime.with_field(self.field, min)
    }

    /// `withMaximumValue()`.
    pub fn with_maximum(&self) -> Result<DateTime, JodaError> {
        let max = chrono::max(self.field, self.datetime.local());
        self.datetime.with_field(self.field, max)
    }
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Property[{}]", self.field.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn la() -> Zone {
        Zone::for_id("America/Los_Angeles").unwrap()
    }

    fn at(y: i64, mo: i64, d: i64, h: i64, mi: i64, zone: Zone) -> DateTime {
        DateTime::from_fields(y, mo, d, h, mi, 0, 0, zone).unwrap()
    }

    #[test]
    fn iso_strings() {
        assert_eq!(
            DateTime::new(12_345, Zone::utc()).to_iso_string(),
            "1970-01-01T00:00:12.345Z"
        );
        assert_eq!(
            DateTime::new(0, la()).to_iso_string(),
            "1969-12-31T16:00:00.000-08:00"
        );
        let far = at(10_000, 1, 1, 0, 0, Zone::utc());
        assert_eq!(far.to_iso_string(), "10000-01-01T00:00:00.000Z");
        let bc = at(-1, 1, 1, 0, 0, Zone::utc());
        assert_eq!(bc.to_iso_string(), "-0001-01-01T00:00:00.000Z");
    }

    #[test]
    fn dst_day_arithmetic() {
        // 12:00 + 1 day across spring-forward keeps 12:00 local; +24 hours does not.
        let d = at(2021, 3, 13, 12, 0, la());
        assert_eq!(
            d.plus(Unit::Days, 1).unwrap().to_iso_string(),
            "2021-03-14T12:00:00.000-07:00"
        );
        assert_eq!(
            d.plus(Unit::Hours, 24).unwrap().to_iso_string(),
            "2021-03-14T13:00:00.000-07:00"
        );
        // A result in the gap is pushed forward by the gap.
        let d = at(2021, 3, 13, 2, 30, la());
        assert_eq!(
            d.plus(Unit::Days, 1).unwrap().to_iso_string(),
            "2021-03-14T03:30:00.000-07:00"
        );
        // A result in the overlap takes the earlier offset.
        let d = at(2021, 11, 8, 1, 30, la());
        assert_eq!(
            d.plus(Unit::Days, -1).unwrap().to_iso_string(),
            "2021-11-07T01:30:00.000-07:00"
        );
        // Month-end clamping.
        let d = at(2021, 1, 31, 0, 0, Zone::utc());
        assert_eq!(
            d.plus(Unit::Months, 1).unwrap().to_iso_string(),
            "2021-02-28T00:00:00.000Z"
        );
    }

    #[test]
    fn constructor_rejects_gaps_and_takes_earlier_overlap() {
        assert!(matches!(
            DateTime::from_fields(2021, 3, 14, 2, 30, 0, 0, la()),
            Err(JodaError::Instant(_))
        ));
        let d = at(2021, 11, 7, 1, 30, la());
        assert_eq!(d.to_iso_string(), "2021-11-07T01:30:00.000-07:00");
        assert!(matches!(
            DateTime::from_fields(2019, 2, 29, 0, 0, 0, 0, Zone::utc()),
            Err(JodaError::Field(_))
        ));
    }

    #[test]
    fn setters_and_start_of_day() {
        let d = at(2021, 3, 14, 1, 0, la());
        assert!(d.with_field(Field::HourOfDay, 2).is_err());
        // In an overlap the current offset is kept.
        let later = at(2021, 11, 7, 1, 0, la()).plus(Unit::Hours, 1).unwrap();
        assert_eq!(later.to_iso_string(), "2021-11-07T01:00:00.000-08:00");
        let set = later.with_field(Field::MinuteOfHour, 30).unwrap();
        assert_eq!(set.to_iso_string(), "2021-11-07T01:30:00.000-08:00");
        let d = at(2021, 7, 7, 13, 5, la());
        assert_eq!(
            d.with_time_at_start_of_day().to_iso_string(),
            "2021-07-07T00:00:00.000-07:00"
        );
        let sp = Zone::for_id("America/Sao_Paulo").unwrap();
        let d = at(2018, 11, 4, 12, 0, sp);
        assert_eq!(
            d.with_time_at_start_of_day().to_iso_string(),
            "2018-11-04T01:00:00.000-02:00"
        );
    }

    #[test]
    fn days_between_uses_local_days() {
        let a = at(2021, 3, 13, 0, 0, la());
        let b = at(2021, 3, 14, 0, 0, la());
        assert_eq!(a.days_between(&b).unwrap(), 1);
        assert_eq!(b.days_between(&a).unwrap(), -1);
        let c = b.plus(Unit::Hours, 22).unwrap();
        assert_eq!(a.days_between(&c).unwrap(), 1);
    }

    #[test]
    fn properties() {
        let d = DateTime::new(12_345, Zone::utc());
        let p = Property {
            datetime: d,
            field: Field::DayOfWeek,
        };
        assert_eq!(p.as_text(), "Thursday");
        assert_eq!(
            p.with_minimum().unwrap().to_iso_string(),
            "1969-12-29T00:00:12.345Z"
        );
        assert_eq!(
            p.with_maximum().unwrap().to_iso_string(),
            "1970-01-04T00:00:12.345Z"
        );
        assert_eq!(p.to_string(), "Property[dayOfWeek]");
    }
}
