//! The Joda classes SEL exposes (§6.8–§6.12): `DateTime` (constructors and the whitelisted
//! methods, which the reference calls through Java method handles, so any Joda failure becomes
//! `Failed calling method ...`), `DateTimeZone`, `DateTimeFormat(ter)`, `Property` and `Days`.

use super::{failed_call, int_arg, no_method, no_method_n};
use crate::error::{Error, JavaClass, Result, illegal_arg, null_pointer, unsupported};
use crate::interp::{Interp, cast_error};
use crate::joda::chrono::Field;
use crate::joda::{DateTime, Formatter, JodaError, Property, Unit, Zone};
use crate::rt::{Obj, Val};
use std::rc::Rc;

/// Maps a Joda failure to the exception class Joda raises.
pub(crate) fn joda_error(e: JodaError) -> Error {
    match e {
        JodaError::Field(m) => Error::runtime(JavaClass::IllegalFieldValueException, m),
        JodaError::Instant(m) => Error::runtime(JavaClass::IllegalInstantException, m),
        JodaError::Argument(m) => illegal_arg(m),
        JodaError::Arithmetic(m) => Error::runtime(JavaClass::ArithmeticException, m),
        JodaError::Unsupported(m) => unsupported(m),
    }
}

fn new_dt(it: &mut Interp, d: DateTime) -> Result<Val> {
    it.mk(Obj::DateTime(Some(d)))
}

/// The zone of a `DateTimeZone` argument (`None`: not a zone; a null zone means the default).
fn zone_arg(it: &Interp, v: &Val) -> Option<Zone> {
    match &*v.borrow() {
        Obj::Zone(z) => Some(z.clone().unwrap_or_else(|| it.default_zone())),
        _ => None,
    }
}

/// Joda's `new DateTime(Object instant, zone)` conversions.
fn datetime_from_object(it: &mut Interp, obj: &Obj, zone: Zone) -> Result<DateTime> {
    match obj {
        Obj::Long(ms) => Ok(DateTime::new(*ms, zone)),
        Obj::Str(Some(s)) => Formatter::iso_parser()
            .parse_datetime(s, &zone)
            .map(|d| d.with_zone(zone))
            .map_err(joda_error),
        Obj::Str(None) | Obj::Null | Obj::Void | Obj::DateTime(None) => {
            let now = it.now();
            Ok(DateTime::new(now, zone))
        }
        Obj::DateTime(Some(d)) => Ok(DateTime::new(d.millis, zone)),
        Obj::Uuid(_) | Obj::Error(_) | Obj::Params | Obj::Util | Obj::Misc | Obj::Math => {
            Err(unsupported(format!(
                "class {} does not support getInternalVal operation.",
                obj.java_class()
            )))
        }
        other => Err(illegal_arg(format!(
            "No instant converter found for type: {}",
            match other {
                Obj::Double(_) => "java.lang.Double",
                Obj::Bool(_) => "java.lang.Boolean",
                Obj::Map(_) => "java.util.HashMap",
                _ => "java.lang.Object",
            }
        ))),
    }
}

pub(crate) fn construct_datetime(it: &mut Interp, args: &[Val]) -> Result<Val> {
    let dt = match args {
        [] => it.now_datetime(),
        [a] => {
            let obj = a.borrow().clone();
            match &obj {
                Obj::Long(ms) => DateTime::new(*ms, it.default_zone()),
                // DateTime(Object) keeps a DateTime argument's own zone.
                Obj::DateTime(Some(d)) => d.clone(),
                other => {
                    let zone = it.default_zone();
                    datetime_from_object(it, other, zone)?
                }
            }
        }
        [a, z] => {
            let obj = a.borrow().clone();
            let zone = match &*z.borrow() {
                Obj::Zone(zone) => zone.clone(),
                other => {
                    return Err(cast_error(
                        other,
                        "com.netflix.sel.type.SelJodaDateTimeZone",
                    ));
                }
            };
            let zone = zone.unwrap_or_else(|| it.default_zone());
            datetime_from_object(it, &obj, zone)?
        }
        [y, mo, d, h, mi, s, ms, z] => {
            let mut fields = [0i64; 7];
            for (slot, v) in fields.iter_mut().zip([y, mo, d, h, mi, s, ms]) {
                *slot = match &*v.borrow() {
                    Obj::Long(x) => *x as i32 as i64,
                    other => return Err(cast_error(other, "com.netflix.sel.type.SelLong")),
                };
            }
            let zone = match &*z.borrow() {
                Obj::Zone(zone) => zone.clone(),
                other => {
                    return Err(cast_error(
                        other,
                        "com.netflix.sel.type.SelJodaDateTimeZone",
                    ));
                }
            };
            let zone = zone.unwrap_or_else(|| it.default_zone());
            let [y, mo, d, h, mi, s, ms] = fields;
            DateTime::from_fields(y, mo, d, h, mi, s, ms, zone).map_err(joda_error)?
        }
        _ => {
            return Err(illegal_arg(format!(
                "Invalid input arguments ({}) for DateTime constructor",
                super::args_text(args)
            )));
        }
    };
    new_dt(it, dt)
}

fn unit_of(name: &str) -> Option<(Unit, bool)> {
    let (plus, rest) = if let Some(r) = name.strip_prefix("plus") {
        (true, r)
    } else if let Some(r) = name.strip_prefix("minus") {
        (false, r)
    } else {
        return None;
    };
    let unit = match rest {
        "Years" => Unit::Years,
        "Months" => Unit::Months,
        "Weeks" => Unit::Weeks,
        "Days" => Unit::Days,
        "Hours" => Unit::Hours,
        "Minutes" => Unit::Minutes,
        "Seconds" => Unit::Seconds,
        "Millis" => Unit::Millis,
        _ => return None,
    };
    Some((unit, plus))
}

fn property_field(name: &str) -> Option<Field> {
    Some(match name {
        "monthOfYear" => Field::MonthOfYear,
        "weekyear" => Field::Weekyear,
        "weekOfWeekyear" => Field::WeekOfWeekyear,
        "dayOfYear" => Field::DayOfYear,
        "dayOfMonth" => Field::DayOfMonth,
        "dayOfWeek" => Field::DayOfWeek,
        "hourOfDay" => Field::HourOfDay,
        "minuteOfDay" => Field::MinuteOfDay,
        "minuteOfHour" => Field::MinuteOfHour,
        "secondOfDay" => Field::SecondOfDay,
        "secondOfMinute" => Field::SecondOfMinute,
        "millisOfDay" => Field::MillisOfDay,
        "millisOfSecond" => Field::MillisOfSecond,
        _ => return None,
    })
}

fn setter_field(name: &str) -> Option<Field> {
    Some(match name {
        "withYear" => Field::Year,
        "withWeekyear" => Field::Weekyear,
        "withMonthOfYear" => Field::MonthOfYear,
        "withWeekOfWeekyear" => Field::WeekOfWeekyear,
        "withDayOfYear" => Field::DayOfYear,
        "withDayOfMonth" => Field::DayOfMonth,
        "withDayOfWeek" => Field::DayOfWeek,
        "withHourOfDay" => Field::HourOfDay,
        "withMinuteOfHour" => Field::MinuteOfHour,
        "withSecondOfMinute" => Field::SecondOfMinute,
        "withMillisOfSecond" => Field::MillisOfSecond,
        "withMillisOfDay" => Field::MillisOfDay,
        _ => return None,
    })
}

fn getter_field(name: &str) -> Option<Field> {
    Some(match name {
        "getYear" => Field::Year,
        "getHourOfDay" => Field::HourOfDay,
        "getWeekOfWeekyear" => Field::WeekOfWeekyear,
        "getWeekyear" => Field::Weekyear,
        "getDayOfWeek" => Field::DayOfWeek,
        "getDayOfMonth" => Field::DayOfMonth,
        "getDayOfYear" => Field::DayOfYear,
        "getMillisOfDay" => Field::MillisOfDay,
        "getMillisOfSecond" => Field::MillisOfSecond,
        "getMinuteOfDay" => Field::MinuteOfDay,
        "getMinuteOfHour" => Field::MinuteOfHour,
        "getSecondOfMinute" => Field::SecondOfMinute,
        "getMonthOfYear" => Field::MonthOfYear,
        "getSecondOfDay" => Field::SecondOfDay,
        _ => return None,
    })
}

fn is_datetime_method(name: &str, n: usize) -> bool {
    match n {
        0 => {
            name == "toString"
                || name == "withTimeAtStartOfDay"
                || name == "getMillis"
                || property_field(name).is_some()
                || getter_field(name).is_some()
        }
        1 => {
            matches!(
                name,
                "toString" | "withZone" | "toDateTime" | "isAfter" | "isBefore" | "isEqual"
            ) || unit_of(name).is_some()
                || setter_field(name).is_some()
        }
        2 => name == "parse",
        _ => false,
    }
}

/// A Joda failure inside a method-handle call, reported the reference's way.
fn failed(name: &str, n: usize, cause: impl std::fmt::Display) -> Error {
    let base = failed_call(name, n);
    match base {
        Error::Runtime { class, message } => Error::Runtime {
            class,
            message: format!("{message}: {cause}"),
        },
        other => other,
    }
}

pub(crate) fn call_datetime(
    it: &mut Interp,
    d: Option<&DateTime>,
    obj: &Obj,
    name: &str,
    args: &[Val],
) -> Result<Val> {
    let n = args.len();
    if !is_datetime_method(name, n) {
        return Err(no_method_n(obj, name, args));
    }
    if name == "parse" {
        // Static: only on the static `DateTime`.
        if d.is_some() {
            return Err(failed_call(name, n));
        }
        let text = match &*args[0].borrow() {
            Obj::Str(Some(s)) => s.to_string(),
            _ => return Err(failed_call(name, n)),
        };
        let f = match &*args[1].borrow() {
            Obj::Formatter(Some(f)) => f.clone(),
            _ => return Err(failed_call(name, n)),
        };
        let zone = it.default_zone();
        let dt = f
            .parse_datetime(&text, &zone)
            .map_err(|e| failed(name, n, e))?;
        return new_dt(it, dt);
    }
    let d = d.ok_or_else(|| failed_call(name, n))?.clone();
    if n == 0 {
        if name == "toString" {
            return it.mk_str(d.to_iso_string());
        }
        if name == "getMillis" {
            return it.mk_long(d.millis);
        }
        if name == "withTimeAtStartOfDay" {
            return new_dt(it, d.with_time_at_start_of_day());
        }
        if let Some(field) = getter_field(name) {
            return it.mk_long(d.get(field));
        }
        if let Some(field) = property_field(name) {
            return it.mk(Obj::Property(Some(Property { datetime: d, field })));
        }
        return Err(no_method_n(obj, name, args));
    }
    let arg = &args[0];
    match name {
        "toString" => {
            let pattern = match &*arg.borrow() {
                Obj::Str(s) => s.clone(),
                Obj::Null | Obj::Void => None,
                _ => return Err(failed_call(name, n)),
            };
            let text = match pattern {
                None => d.to_iso_string(),
                Some(p) => {
                    let year = current_year(it);
                    let f = Formatter::for_pattern(&p, year).map_err(|e| failed(name, n, e))?;
                    f.print(d.millis, &d.zone)
                }
            };
            it.mk_str(text)
        }
        "withZone" | "toDateTime" => {
            let zone = zone_arg(it, arg).ok_or_else(|| failed_call(name, n))?;
            new_dt(it, d.with_zone(zone))
        }
        "isAfter" | "isBefore" | "isEqual" => {
            let other = match &*arg.borrow() {
                Obj::DateTime(Some(o)) => Some(o.millis),
                Obj::DateTime(None) | Obj::Null | Obj::Void => None,
                _ => return Err(failed_call(name, n)),
            };
            let other = other.unwrap_or_else(|| it.now());
            let r = match name {
                "isAfter" => d.millis > other,
                "isBefore" => d.millis < other,
                _ => d.millis == other,
            };
            it.mk_bool(r)
        }
        _ => {
            let v = int_arg(arg).ok_or_else(|| failed_call(name, n))? as i64;
            if let Some((unit, plus)) = unit_of(name) {
                let amount = if plus { v } else { -v };
                let r = d.plus(unit, amount).map_err(|e| failed(name, n, e))?;
                return new_dt(it, r);
            }
            if let Some(field) = setter_field(name) {
                let r = d.with_field(field, v).map_err(|e| failed(name, n, e))?;
                return new_dt(it, r);
            }
            Err(no_method_n(obj, name, args))
        }
    }
}

/// The clock's year in the default zone (Joda's two-digit-year pivot).
pub(crate) fn current_year(it: &mut Interp) -> i64 {
    it.now_datetime().get(Field::Year)
}

pub(crate) fn call_zone(
    it: &mut Interp,
    z: Option<&Zone>,
    obj: &Obj,
    name: &str,
    args: &[Val],
) -> Result<Val> {
    match (name, args) {
        ("forID", [a]) => {
            let id = match &*a.borrow() {
                Obj::Str(s) => s.clone(),
                other => return Err(cast_error(other, "com.netflix.sel.type.SelString")),
            };
            let zone = match id {
                None => it.default_zone(),
                Some(id) => Zone::for_id(&id).map_err(illegal_arg)?,
            };
            it.mk(Obj::Zone(Some(zone)))
        }
        ("getOffset", [a]) => {
            let at = match &*a.borrow() {
                Obj::DateTime(d) => d.as_ref().map(|d| d.millis),
                other => return Err(cast_error(other, "com.netflix.sel.type.SelJodaDateTime")),
            };
            let z = z.ok_or_else(|| null_pointer("Cannot invoke \"org.joda.time.DateTimeZone.getOffset\" because \"this.val\" is null"))?;
            let at = at.unwrap_or_else(|| it.now());
            it.mk_long(z.offset(at))
        }
        _ => Err(no_method(obj, name, args)),
    }
}

fn formatter_npe() -> Error {
    null_pointer(
        "Cannot invoke \"org.joda.time.format.DateTimeFormatter\" method because \"this.val\" is null",
    )
}

pub(crate) fn call_formatter(
    it: &mut Interp,
    f: Option<&Rc<Formatter>>,
    obj: &Obj,
    name: &str,
    args: &[Val],
) -> Result<Val> {
    let [a] = args else {
        return Err(no_method(obj, name, args));
    };
    let arg = a.borrow().clone();
    match name {
        "withZone" => {
            let zone = match &arg {
                Obj::Zone(z) => z.clone(),
                other => {
                    return Err(cast_error(
                        other,
                        "com.netflix.sel.type.SelJodaDateTimeZone",
                    ));
                }
            };
            let f = f.ok_or_else(formatter_npe)?;
            let nf = match zone {
                Some(z) => f.with_zone(z),
                None => (**f).clone(),
            };
            it.mk(Obj::Formatter(Some(Rc::new(nf))))
        }
        "parseDateTime" => {
            let text = match &arg {
                Obj::Str(s) => s.as_deref().unwrap_or("null").to_string(),
                Obj::Long(v) => v.to_string(),
                _ => return Err(no_method(obj, name, args)),
            };
            let f = f.ok_or_else(formatter_npe)?;
            let zone = it.default_zone();
            let dt = f.parse_datetime(&text, &zone).map_err(joda_error)?;
            new_dt(it, dt)
        }
        "parseMillis" => {
            let text = match &arg {
                Obj::Str(s) => s.clone(),
                other => return Err(cast_error(other, "com.netflix.sel.type.SelString")),
            };
            let f = f.ok_or_else(formatter_npe)?;
            let text = text.ok_or_else(|| null_pointer("text"))?;
            let zone = it.default_zone();
            let ms = f.parse_millis(&text, &zone).map_err(joda_error)?;
            it.mk_long(ms)
        }
        "forPattern" => {
            let pattern = match &arg {
                Obj::Str(s) => s.clone(),
                other => return Err(cast_error(other, "com.netflix.sel.type.SelString")),
            };
            let pattern = pattern.ok_or_else(|| illegal_arg("Invalid pattern specification"))?;
            let year = current_year(it);
            let nf = Formatter::for_pattern(&pattern, year).map_err(illegal_arg)?;
            it.mk(Obj::Formatter(Some(Rc::new(nf))))
        }
        "print" => {
            let (millis, zone) = match &arg {
                Obj::Long(v) => (*v, it.default_zone()),
                Obj::DateTime(Some(d)) => (d.millis, d.zone.clone()),
                Obj::DateTime(None) => (it.now(), it.default_zone()),
                _ => return Err(no_method(obj, name, args)),
            };
            let f = f.ok_or_else(formatter_npe)?;
            if !f.can_print() {
                return Err(unsupported("Printing not supported"));
            }
            let text = f.print(millis, &zone);
            it.mk_str(text)
        }
        _ => Err(no_method(obj, name, args)),
    }
}

pub(crate) fn call_property(
    it: &mut Interp,
    p: Option<&Property>,
    obj: &Obj,
    name: &str,
    args: &[Val],
) -> Result<Val> {
    if !args.is_empty()
        || !matches!(
            name,
            "getAsText" | "withMinimumValue" | "withMaximumValue" | "get"
        )
    {
        return Err(no_method(obj, name, args));
    }
    let p = p.ok_or_else(|| {
        null_pointer(
            "Cannot invoke \"org.joda.time.DateTime$Property\" method because \"this.val\" is null",
        )
    })?;
    match name {
        "getAsText" => it.mk_str(p.as_text()),
        "get" => it.mk_long(p.get()),
        "withMinimumValue" => {
            let d = p.with_minimum().map_err(joda_error)?;
            new_dt(it, d)
        }
        _ => {
            let d = p.with_maximum().map_err(joda_error)?;
            new_dt(it, d)
        }
    }
}

pub(crate) fn call_days(
    it: &mut Interp,
    days: Option<i64>,
    obj: &Obj,
    name: &str,
    args: &[Val],
) -> Result<Val> {
    match (name, args) {
        ("getDays", []) => {
            let d = days.ok_or_else(|| {
                null_pointer(
                    "Cannot invoke \"org.joda.time.Days.getDays()\" because \"this.val\" is null",
                )
            })?;
            it.mk_long(d)
        }
        ("daysBetween", [a, b]) => {
            let start = match &*a.borrow() {
                Obj::DateTime(d) => d.clone(),
                other => return Err(cast_error(other, "com.netflix.sel.type.SelJodaDateTime")),
            };
            let end = match &*b.borrow() {
                Obj::DateTime(d) => d.clone(),
                other => return Err(cast_error(other, "com.netflix.sel.type.SelJodaDateTime")),
            };
            let (Some(start), Some(end)) = (start, end) else {
                return Err(illegal_arg("ReadableInstant objects must not be null"));
            };
            let n = start.days_between(&end).map_err(joda_error)?;
            it.mk(Obj::Days(Some(n)))
        }
        _ => Err(no_method(obj, name, args)),
    }
}
