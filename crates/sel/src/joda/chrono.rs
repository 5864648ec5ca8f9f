//! Joda's ISO chronology on "local millis" (milliseconds of a wall-clock date-time counted as if
//! it were UTC): the proleptic Gregorian calendar with a year 0, ISO weeks, and Joda's exact
//! field rules (`get`, `set` with range checks, `roundFloor`, minimum/maximum for an instant,
//! text). Zoned behaviour (DST) is layered on top in `datetime.rs`; keeping the calendar here
//! makes every Joda operation (setters, properties, pattern parsing) one small rule each.

/// Milliseconds per unit.
pub const MILLIS_PER_SECOND: i64 = 1_000;
pub const MILLIS_PER_MINUTE: i64 = 60_000;
pub const MILLIS_PER_HOUR: i64 = 3_600_000;
pub const MILLIS_PER_DAY: i64 = 86_400_000;
pub const MILLIS_PER_WEEK: i64 = 7 * MILLIS_PER_DAY;

/// Joda ISO chronology year range.
pub const MIN_YEAR: i64 = -292_275_054;
pub const MAX_YEAR: i64 = 292_278_993;

/// A Joda `DateTimeFieldType` (those SEL can reach).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Era,
    CenturyOfEra,
    YearOfEra,
    Year,
    Weekyear,
    WeekOfWeekyear,
    MonthOfYear,
    DayOfYear,
    DayOfMonth,
    DayOfWeek,
    HalfdayOfDay,
    HourOfHalfday,
    ClockhourOfHalfday,
    ClockhourOfDay,
    HourOfDay,
    MinuteOfDay,
    MinuteOfHour,
    SecondOfDay,
    SecondOfMinute,
    MillisOfDay,
    MillisOfSecond,
}

/// A field value outside its range (`IllegalFieldValueException`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: Field,
    pub value: String,
    pub min: i64,
    pub max: i64,
}

impl FieldError {
    /// Joda's message: `Value 30 for dayOfMonth must be in the range [1,28]`.
    pub fn message(&self) -> String {
        format!(
            "Value {} for {} must be in the range [{},{}]",
            self.value,
            self.field.name(),
            self.min,
            self.max
        )
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

impl Field {
    /// Joda's field name (`dayOfMonth`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Field::Era => "era",
            Field::CenturyOfEra => "centuryOfEra",
            Field::YearOfEra => "yearOfEra",
            Field::Year => "year",
            Field::Weekyear => "weekyear",
            Field::WeekOfWeekyear => "weekOfWeekyear",
            Field::MonthOfYear => "monthOfYear",
            Field::DayOfYear => "dayOfYear",
            Field::DayOfMonth => "dayOfMonth",
            Field::DayOfWeek => "dayOfWeek",
            Field::HalfdayOfDay => "halfdayOfDay",
            Field::HourOfHalfday => "hourOfHalfday",
            Field::ClockhourOfHalfday => "clockhourOfHalfday",
            Field::ClockhourOfDay => "clockhourOfDay",
            Field::HourOfDay => "hourOfDay",
            Field::MinuteOfDay => "minuteOfDay",
            Field::MinuteOfHour => "minuteOfHour",
            Field::SecondOfDay => "secondOfDay",
            Field::SecondOfMinute => "secondOfMinute",
            Field::MillisOfDay => "millisOfDay",
            Field::MillisOfSecond => "millisOfSecond",
        }
    }

    /// Average length of the field's unit and of its range (None = unbounded), for Joda's
    /// ordering of parsed fields (larger ranges first, then larger units).
    pub fn sort_key(self) -> (u64, u64) {
        const INF: u64 = u64::MAX;
        const YEAR: u64 = 31_556_952_000;
        const MONTH: u64 = 2_629_746_000;
        let day = MILLIS_PER_DAY as u64;
        let hour = MILLIS_PER_HOUR as u64;
        match self {
            Field::Era => (INF, INF),
            Field::CenturyOfEra => (INF, YEAR * 100),
            Field::YearOfEra => (INF, YEAR),
            Field::Year => (INF, YEAR),
            Field::Weekyear => (INF, YEAR),
            Field::WeekOfWeekyear => (YEAR, MILLIS_PER_WEEK as u64),
            Field::MonthOfYear => (YEAR, MONTH),
            Field::DayOfYear => (YEAR, day),
            Field::DayOfMonth => (MONTH, day),
            Field::DayOfWeek => (MILLIS_PER_WEEK as u64, day),
            Field::HalfdayOfDay => (day, 12 * hour),
            Field::HourOfHalfday | Field::ClockhourOfHalfday => (12 * hour, hour),
            Field::ClockhourOfDay | Field::HourOfDay => (day, hour),
            Field::MinuteOfDay => (day, MILLIS_PER_MINUTE as u64),
            Field::MinuteOfHour => (hour, MILLIS_PER_MINUTE as u64),
            Field::SecondOfDay => (day, 1000),
            Field::SecondOfMinute => (MILLIS_PER_MINUTE as u64, 1000),
            Field::MillisOfDay => (day, 1),
            Field::MillisOfSecond => (1000, 1),
        }
    }

    /// Whether the field's unit is shorter than half a day (Joda adds such fields in elapsed
    /// time rather than on the local time line).
    pub fn is_time_field(self) -> bool {
        matches!(
            self,
            Field::HourOfHalfday
                | Field::ClockhourOfHalfday
                | Field::ClockhourOfDay
                | Field::HourOfDay
                | Field::MinuteOfDay
                | Field::MinuteOfHour
                | Field::SecondOfDay
                | Field::SecondOfMinute
                | Field::MillisOfDay
                | Field::MillisOfSecond
        )
    }

    /// Whether Joda's field is "lenient" (setting it never fails on the value of another field).
    pub fn is_lenient(self) -> bool {
        false
    }
}

pub fn is_leap(year: i64) -> bool {
    year.rem_euclid(4) == 0 && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0)
}

pub fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 => {
            if is_leap(year) {
                29
            } else {
                28
            }
        }
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

pub fn days_in_year(year: i64) -> i64 {
    if is_leap(year) { 366 } else { 365 }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Date of a day number (days since 1970-01-01).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The broken-down local date-time of local millis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub millis_of_day: i64,
}

pub fn civil(local: i64) -> Civil {
    let days = local.div_euclid(MILLIS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    Civil {
        year,
        month,
        day,
        millis_of_day: local.rem_euclid(MILLIS_PER_DAY),
    }
}

pub fn local_millis(year: i64, month: i64, day: i64, millis_of_day: i64) -> i64 {
    days_from_civil(year, month, day)
        .saturating_mul(MILLIS_PER_DAY)
        .saturating_add(millis_of_day)
}

fn year_of(local: i64) -> i64 {
    civil(local).year
}

fn day_of_year(local: i64) -> i64 {
    let c = civil(local);
    days_from_civil(c.year, c.month, c.day) - days_from_civil(c.year, 1, 1) + 1
}

/// ISO day of week, Monday = 1.
pub fn day_of_week_of_days(days: i64) -> i64 {
    (days + 3).rem_euclid(7) + 1
}

fn day_of_week(local: i64) -> i64 {
    day_of_week_of_days(local.div_euclid(MILLIS_PER_DAY))
}

/// Day number of the Monday starting week 1 of an ISO week-based year.
fn weekyear_start(weekyear: i64) -> i64 {
    let jan4 = days_from_civil(weekyear, 1, 4);
    jan4 - (day_of_week_of_days(jan4) - 1)
}

pub fn weeks_in_weekyear(weekyear: i64) -> i64 {
    (weekyear_start(weekyear + 1) - weekyear_start(weekyear)) / 7
}

/// (weekyear, week of weekyear) of local millis.
fn week_date(local: i64) -> (i64, i64) {
    let days = local.div_euclid(MILLIS_PER_DAY);
    let thursday = days - day_of_week_of_days(days) + 4;
    let (wy, _, _) = civil_from_days(thursday);
    let week = (thursday - days_from_civil(wy, 1, 1)) / 7 + 1;
    (wy, week)
}

/// Joda `BasicChronology.setYear`: keeps month and day (Feb 29 becomes Feb 28) and time.
fn set_year(local: i64, year: i64) -> i64 {
    let this_year = year_of(local);
    let mut doy = day_of_year(local);
    let mod_ = local.rem_euclid(MILLIS_PER_DAY);
    if doy > 31 + 28 {
        if is_leap(this_year) {
            if !is_leap(year) {
                doy -= 1;
            }
        } else if is_leap(year) {
            doy += 1;
        }
    }
    (days_from_civil(year, 1, 1) + doy - 1)
        .saturating_mul(MILLIS_PER_DAY)
        .saturating_add(mod_)
}

/// Joda's `getValue()` of a field at local millis.
pub fn get(field: Field, local: i64) -> i64 {
    let mod_ = local.rem_euclid(MILLIS_PER_DAY);
    match field {
        Field::Era => {
            if year_of(local) <= 0 {
                0
            } else {
                1
            }
        }
        Field::CenturyOfEra => year_of(local).abs() / 100,
        Field::YearOfEra => {
            let y = year_of(local);
            if y <= 0 { 1 - y } else { y }
        }
        Field::Year => year_of(local),
        Field::Weekyear => week_date(local).0,
        Field::WeekOfWeekyear => week_date(local).1,
        Field::MonthOfYear => civil(local).month,
        Field::DayOfYear => day_of_year(local),
        Field::DayOfMonth => civil(local).day,
        Field::DayOfWeek => day_of_week(local),
        Field::HalfdayOfDay => mod_ / (12 * MILLIS_PER_HOUR),
        Field::HourOfHalfday => (mod_ / MILLIS_PER_HOUR) % 12,
        Field::ClockhourOfHalfday => {
            let h = (mod_ / MILLIS_PER_HOUR) % 12;
            if h == 0 { 12 } else { h }
        }
        Field::ClockhourOfDay => {
            let h = mod_ / MILLIS_PER_HOUR;
            if h == 0 { 24 } else { h }
        }
        Field::HourOfDay => mod_ / MILLIS_PER_HOUR,
        Field::MinuteOfDay => mod_ / MILLIS_PER_MINUTE,
        Field::MinuteOfHour => (mod_ / MILLIS_PER_MINUTE) % 60,
        Field::SecondOfDay => mod_ / MILLIS_PER_SECOND,
        Field::SecondOfMinute => (mod_ / MILLIS_PER_SECOND) % 60,
        Field::MillisOfDay => mod_,
        Field::MillisOfSecond => mod_ % 1000,
    }
}

/// Minimum value of the field at this instant.
pub fn min(field: Field, _local: i64) -> i64 {
    match field {
        Field::Year | Field::Weekyear => MIN_YEAR,
        Field::YearOfEra
        | Field::MonthOfYear
        | Field::DayOfYear
        | Field::DayOfMonth
        | Field::DayOfWeek
        | Field::WeekOfWeekyear
        | Field::ClockhourOfHalfday
        | Field::ClockhourOfDay => 1,
        _ => 0,
    }
}

/// Maximum value of the field at this instant.
pub fn max(field: Field, local: i64) -> i64 {
    match field {
        Field::Era => 1,
        Field::CenturyOfEra => MAX_YEAR / 100,
        Field::YearOfEra | Field::Year | Field::Weekyear => MAX_YEAR,
        Field::WeekOfWeekyear => weeks_in_weekyear(week_date(local).0),
        Field::MonthOfYear => 12,
        Field::DayOfYear => days_in_year(year_of(local)),
        Field::DayOfMonth => {
            let c = civil(local);
            days_in_month(c.year, c.month)
        }
        Field::DayOfWeek => 7,
        Field::HalfdayOfDay => 1,
        Field::HourOfHalfday => 11,
        Field::ClockhourOfHalfday => 12,
        Field::ClockhourOfDay => 24,
        Field::HourOfDay => 23,
        Field::MinuteOfDay => 1439,
        Field::MinuteOfHour => 59,
        Field::SecondOfDay => 86_399,
        Field::SecondOfMinute => 59,
        Field::MillisOfDay => 86_399_999,
        Field::MillisOfSecond => 999,
    }
}

fn check(field: Field, value: i64, lo: i64, hi: i64) -> Result<(), FieldError> {
    if value < lo || value > hi {
        return Err(FieldError {
            field,
            value: value.to_string(),
            min: lo,
            max: hi,
        });
    }
    Ok(())
}

fn precise(local: i64, field: Field, value: i64, unit: i64) -> i64 {
    local.saturating_add((value - get(field, local)).saturating_mul(unit))
}

/// Joda's `set(instant, value)` on local millis.
pub fn set(field: Field, local: i64, value: i64) -> Result<i64, FieldError> {
    match field {
        Field::Era => {
            check(field, value, 0, 1)?;
            if get(field, local) != value {
                let y = year_of(local);
                Ok(set_year(local, 1 - y))
            } else {
                Ok(local)
            }
        }
        Field::CenturyOfEra => {
            check(field, value, 0, MAX_YEAR / 100)?;
            let y = year_of(local);
            let yoe = y.abs();
            let rem = yoe % 100;
            let mut new_yoe = value * 100 + rem;
            if y < 0 {
                new_yoe = -new_yoe;
            }
            check(Field::Year, new_yoe, MIN_YEAR, MAX_YEAR)?;
            Ok(set_year(local, new_yoe))
        }
        Field::YearOfEra => {
            check(field, value, 1, MAX_YEAR)?;
            let y = if year_of(local) <= 0 {
                1 - value
            } else {
                value
            };
            check(Field::Year, y, MIN_YEAR, MAX_YEAR)?;
            Ok(set_year(local, y))
        }
        Field::Year => {
            check(field, value, MIN_YEAR, MAX_YEAR)?;
            Ok(set_year(local, value))
        }
        Field::Weekyear => {
            check(field, value.abs(), MIN_YEAR, MAX_YEAR)?;
            let (this_wy, this_week) = week_date(local);
            if this_wy == value {
                return Ok(local);
            }
            let dow = day_of_week(local);
            let max_out = weeks_in_weekyear(value).min(weeks_in_weekyear(this_wy));
            let set_week = this_week.min(max_out);
            let mut work = set_year(local, value);
            let work_wy = week_date(work).0;
            if work_wy < value {
                work += MILLIS_PER_WEEK;
            } else if work_wy > value {
                work -= MILLIS_PER_WEEK;
            }
            let cur_week = week_date(work).1;
            work += (set_week - cur_week) * MILLIS_PER_WEEK;
            Ok(precise(work, Field::DayOfWeek, dow, MILLIS_PER_DAY))
        }
        Field::WeekOfWeekyear => {
            let hi = if value > 52 { max(field, local) } else { 52 };
            check(field, value, 1, hi)?;
            Ok(precise(local, field, value, MILLIS_PER_WEEK))
        }
        Field::MonthOfYear => {
            check(field, value, 1, 12)?;
            let c = civil(local);
            let day = c.day.min(days_in_month(c.year, value));
            Ok(local_millis(c.year, value, day, c.millis_of_day))
        }
        Field::DayOfYear | Field::DayOfMonth | Field::DayOfWeek => {
            check(field, value, 1, max(field, local))?;
            Ok(precise(local, field, value, MILLIS_PER_DAY))
        }
        Field::HalfdayOfDay => {
            check(field, value, 0, 1)?;
            Ok(precise(local, field, value, 12 * MILLIS_PER_HOUR))
        }
        Field::HourOfHalfday => {
            check(field, value, 0, 11)?;
            Ok(precise(local, field, value, MILLIS_PER_HOUR))
        }
        Field::ClockhourOfHalfday => {
            check(field, value, 1, 12)?;
            let v = if value == 12 { 0 } else { value };
            Ok(precise(local, Field::HourOfHalfday, v, MILLIS_PER_HOUR))
        }
        Field::ClockhourOfDay => {
            check(field, value, 1, 24)?;
            let v = if value == 24 { 0 } else { value };
            Ok(precise(local, Field::HourOfDay, v, MILLIS_PER_HOUR))
        }
        Field::HourOfDay => {
            check(field, value, 0, 23)?;
            Ok(precise(local, field, value, MILLIS_PER_HOUR))
        }
        Field::MinuteOfDay => {
            check(field, value, 0, 1439)?;
            Ok(precise(local, field, value, MILLIS_PER_MINUTE))
        }
        Field::MinuteOfHour => {
            check(field, value, 0, 59)?;
            Ok(precise(local, field, value, MILLIS_PER_MINUTE))
        }
        Field::SecondOfDay => {
            check(field, value, 0, 86_399)?;
            Ok(precise(local, field, value, MILLIS_PER_SECOND))
        }
        Field::SecondOfMinute => {
            check(field, value, 0, 59)?;
            Ok(precise(local, field, value, MILLIS_PER_SECOND))
        }
        Field::MillisOfDay => {
            check(field, value, 0, 86_399_999)?;
            Ok(precise(local, field, value, 1))
        }
        Field::MillisOfSecond => {
            check(field, value, 0, 999)?;
            Ok(precise(local, field, value, 1))
        }
    }
}

/// Joda's `roundFloor(instant)` on local millis.
pub fn round_floor(field: Field, local: i64) -> i64 {
    let floor = |unit: i64| local.div_euclid(unit) * unit;
    match field {
        Field::Era => {
            if get(field, local) == 1 {
                local_millis(1, 1, 1, 0)
            } else {
                local_millis(MIN_YEAR, 1, 1, 0)
            }
        }
        Field::CenturyOfEra => {
            let y = year_of(local);
            let century_year = (y.abs() / 100) * 100;
            let y2 = if y < 0 { -century_year } else { century_year };
            local_millis(y2, 1, 1, 0)
        }
        Field::YearOfEra | Field::Year => local_millis(year_of(local), 1, 1, 0),
        Field::Weekyear => {
            let mut l = round_floor(Field::WeekOfWeekyear, local);
            let wow = week_date(l).1;
            if wow > 1 {
                l -= MILLIS_PER_WEEK * (wow - 1);
            }
            l
        }
        Field::WeekOfWeekyear => (local.saturating_add(3 * MILLIS_PER_DAY))
            .div_euclid(MILLIS_PER_WEEK)
            .saturating_mul(MILLIS_PER_WEEK)
            .saturating_sub(3 * MILLIS_PER_DAY),
        Field::MonthOfYear => {
            let c = civil(local);
            local_millis(c.year, c.month, 1, 0)
        }
        Field::DayOfYear | Field::DayOfMonth | Field::DayOfWeek => floor(MILLIS_PER_DAY),
        Field::HalfdayOfDay => floor(12 * MILLIS_PER_HOUR),
        Field::HourOfHalfday
        | Field::ClockhourOfHalfday
        | Field::ClockhourOfDay
        | Field::HourOfDay => floor(MILLIS_PER_HOUR),
        Field::MinuteOfDay | Field::MinuteOfHour => floor(MILLIS_PER_MINUTE),
        Field::SecondOfDay | Field::SecondOfMinute => floor(MILLIS_PER_SECOND),
        Field::MillisOfDay | Field::MillisOfSecond => local,
    }
}

/// Long text of a field value in the en_US locale (`getAsText`).
pub fn text(field: Field, value: i64) -> String {
    match field {
        Field::MonthOfYear => MONTHS.get((value - 1) as usize).map(|s| s.to_string()),
        Field::DayOfWeek => DAYS.get((value - 1) as usize).map(|s| s.to_string()),
        Field::HalfdayOfDay => Some(if value == 0 { "AM" } else { "PM" }.to_string()),
        Field::Era => Some(if value == 0 { "BC" } else { "AD" }.to_string()),
        _ => None,
    }
    .unwrap_or_else(|| value.to_string())
}

/// Short text of a field value in the en_US locale (`getAsShortText`).
pub fn short_text(field: Field, value: i64) -> String {
    match field {
        Field::MonthOfYear | Field::DayOfWeek => text(field, value).chars().take(3).collect(),
        _ => text(field, value),
    }
}

/// Whether a field has text forms (parsed by name).
pub fn has_text(field: Field) -> bool {
    matches!(
        field,
        Field::MonthOfYear | Field::DayOfWeek | Field::HalfdayOfDay | Field::Era
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trips() {
        for days in [-1_000_000i64, -719_468, -1, 0, 1, 18_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(
            days_from_civil(2019, 1, 1) * MILLIS_PER_DAY,
            1_546_300_800_000
        );
    }

    #[test]
    fn iso_weeks() {
        let l = local_millis(2021, 1, 1, 0);
        assert_eq!(get(Field::Weekyear, l), 2020);
        assert_eq!(get(Field::WeekOfWeekyear, l), 53);
        assert_eq!(get(Field::DayOfWeek, 0), 4);
        assert_eq!(weeks_in_weekyear(2020), 53);
        assert_eq!(weeks_in_weekyear(2021), 52);
    }

    #[test]
    fn setters_follow_joda() {
        let jan31 = local_millis(2021, 1, 31, 5);
        assert_eq!(
            set(Field::MonthOfYear, jan31, 2).unwrap(),
            local_millis(2021, 2, 28, 5)
        );
        let feb = local_millis(2021, 2, 10, 0);
        let err = set(Field::DayOfMonth, feb, 31).unwrap_err();
        assert_eq!(
            err.message(),
            "Value 31 for dayOfMonth must be in the range [1,28]"
        );
        assert_eq!(
            set(Field::DayOfWeek, 0, 1).unwrap(),
            local_millis(1969, 12, 29, 0)
        );
        let leap = local_millis(2020, 2, 29, 0);
        assert_eq!(
            set(Field::Year, leap, 2021).unwrap(),
            local_millis(2021, 2, 28, 0)
        );
        assert_eq!(set(Field::WeekOfWeekyear, 12_345, 1).unwrap(), 12_345);
        assert_eq!(
            round_floor(Field::WeekOfWeekyear, 12_345),
            local_millis(1969, 12, 29, 0)
        );
    }
}
