//! `Util` (§6.16): date-int helpers on Joda's `YYYYMMdd` pattern in UTC, integer ranges,
//! deadline timeouts, and Maestro's registered `Util.toJson`. The range builders charge memory
//! per element as they go, so the reference's unbounded cases (step 0, int overflow) end with a
//! limit error instead of running forever.

use super::{Unboxed, no_method, sel_string_of, unbox};
use crate::error::{Result, illegal_arg, null_pointer, number_format};
use crate::interp::{Interp, cast_error};
use crate::joda::{DateTime, Formatter, Unit, Zone};
use crate::rt::{Elem, Obj, Val};
use crate::stdlib::time::{current_year, joda_error};

/// `SelString.create(arg)`: a LONG's decimal text or a STRING (counted as a new object).
fn string_of(it: &mut Interp, v: &Val) -> Result<Option<String>> {
    let obj = v.borrow().clone();
    let s = match &obj {
        Obj::Long(x) => Some(x.to_string()),
        Obj::Str(s) => s.as_deref().map(str::to_string),
        other => {
            return Err(illegal_arg(format!(
                "Invalid input argument ({}) for String constructor",
                sel_string_of(other)
            )));
        }
    };
    it.charge(
        2 * s
            .as_deref()
            .map_or(0, |s| crate::java::text::utf16_len(s) as u64),
    )?;
    Ok(s)
}

fn date_int_formatter(it: &mut Interp, pattern: &str, zone: Zone) -> Result<Formatter> {
    let year = current_year(it);
    Formatter::for_pattern(pattern, year)
        .map(|f| f.with_zone(zone))
        .map_err(illegal_arg)
}

fn parse_date_int(it: &mut Interp, text: Option<String>) -> Result<DateTime> {
    let f = date_int_formatter(it, "YYYYMMdd", Zone::utc())?;
    let text = text.ok_or_else(|| null_pointer("text"))?;
    f.parse_datetime(&text, &Zone::utc()).map_err(joda_error)
}

fn print_date_int(it: &mut Interp, millis: i64) -> Result<String> {
    let f = date_int_formatter(it, "YYYYMMdd", Zone::utc())?;
    Ok(f.print(millis, &Zone::utc()))
}

/// Maestro's `toJson`: Jackson's rendering of an unboxed value.
fn to_json(u: &Unboxed, out: &mut String) {
    fn quote(s: &str, out: &mut String) {
        out.push_str(&serde_json::Value::String(s.to_string()).to_string());
    }
    match u {
        Unboxed::Null | Unboxed::Str(None) | Unboxed::Map(None) | Unboxed::DateTime(None) => {
            out.push_str("null")
        }
        Unboxed::Int(v) => out.push_str(&v.to_string()),
        Unboxed::Long(v) => out.push_str(&v.to_string()),
        Unboxed::Double(v) => {
            if v.is_finite() {
                out.push_str(&crate::java::number::double_to_string(*v));
            } else {
                quote(&crate::java::number::double_to_string(*v), out);
            }
        }
        Unboxed::Bool(v) => out.push_str(if *v { "true" } else { "false" }),
        Unboxed::Str(Some(s)) => quote(s, out),
        Unboxed::StrArray(v) => {
            out.push('[');
            for (i, s) in v.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match s {
                    Some(s) => quote(s, out),
                    None => out.push_str("null"),
                }
            }
            out.push(']');
        }
        Unboxed::LongArray(v) => {
            let parts: Vec<String> = v.iter().map(|x| x.to_string()).collect();
            out.push_str(&format!("[{}]", parts.join(",")));
        }
        Unboxed::DoubleArray(v) => {
            out.push('[');
            for (i, x) in v.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                to_json(&Unboxed::Double(*x), out);
            }
            out.push(']');
        }
        Unboxed::BoolArray(v) => {
            let parts: Vec<&str> = v
                .iter()
                .map(|b| if *b { "true" } else { "false" })
                .collect();
            out.push_str(&format!("[{}]", parts.join(",")));
        }
        Unboxed::Map(Some(entries)) => {
            let order = crate::java::text::hashmap_order(entries.iter().map(|(k, _)| k.as_deref()));
            out.push('{');
            for (n, i) in order.into_iter().enumerate() {
                let Some((k, v)) = entries.get(i) else {
                    continue;
                };
                if n > 0 {
                    out.push(',');
                }
                quote(k.as_deref().unwrap_or("null"), out);
                out.push(':');
                to_json(v, out);
            }
            out.push('}');
        }
        Unboxed::DateTime(Some(d)) => quote(&d.to_iso_string(), out),
        Unboxed::Other(s) => quote(s, out),
    }
}

fn check_budget(it: &mut Interp, i: usize) -> Result<()> {
    if i % 4096 == 4095 {
        it.check_time()?;
    }
    Ok(())
}

pub(crate) fn call(it: &mut Interp, obj: &Obj, name: &str, args: &[Val]) -> Result<Val> {
    match (name, args) {
        ("toJson", _) => {
            let [a] = args else {
                return Err(illegal_arg("toJson function requires exactly one argument"));
            };
            let u = unbox(&a.borrow())?;
            let mut out = String::new();
            to_json(&u, &mut out);
            it.mk_str(out)
        }
        ("dateIntToTs", [di]) => {
            let text = string_of(it, di)?;
            let d = parse_date_int(it, text)?;
            it.mk_long(d.millis)
        }
        ("tsToDateInt", [ts]) => {
            let ms = super::numbers::long_of(it, ts)?;
            let s = print_date_int(it, ms)?;
            it.mk_str(s)
        }
        ("incrementDateInt", [di, days]) => {
            let text = string_of(it, di)?;
            let d = parse_date_int(it, text)?;
            let n = match &*days.borrow() {
                Obj::Long(x) => *x as i32 as i64,
                other => return Err(cast_error(other, "com.netflix.sel.type.SelLong")),
            };
            let d = d.plus(Unit::Days, n).map_err(joda_error)?;
            let s = print_date_int(it, d.millis)?;
            it.mk_str(s)
        }
        ("timeoutForDateTimeDeadline", [dt, dur]) => {
            let d = match &*dt.borrow() {
                Obj::DateTime(d) => d.clone(),
                other => return Err(cast_error(other, "com.netflix.sel.type.SelJodaDateTime")),
            };
            let dur = duration_arg(dur)?;
            let d = d.ok_or_else(|| null_pointer("dateTime"))?;
            timeout(it, &d, dur.as_deref())
        }
        ("timeoutForDateIntDeadline", [di, dur]) => {
            let text = string_of(it, di)?;
            let d = parse_date_int(it, Some(text.unwrap_or_else(|| "null".into())))?;
            let dur = duration_arg(dur)?;
            timeout(it, &d, dur.as_deref())
        }
        ("dateIntsBetween", [from, to, step]) => date_ints_between(it, from, to, step),
        ("intsBetween", [from, to, step]) => ints_between(it, from, to, step),
        ("dateIntHourToTs", [di, hour, tz, day_offset, hour_offset]) => {
            let zone_id = string_of(it, tz)?;
            let zone = match zone_id {
                None => it.default_zone(),
                Some(id) => Zone::for_id(&id).map_err(illegal_arg)?,
            };
            let f = date_int_formatter(it, "YYYYMMddHH", zone.clone())?;
            let a = string_of(it, di)?.unwrap_or_else(|| "null".into());
            let b = string_of(it, hour)?.unwrap_or_else(|| "null".into());
            let d = f
                .parse_datetime(&format!("{a}{b}"), &zone)
                .map_err(joda_error)?;
            let days = super::numbers::long_of(it, day_offset)? as i32 as i64;
            let d = d.plus(Unit::Days, -days).map_err(joda_error)?;
            let hours = super::numbers::long_of(it, hour_offset)? as i32 as i64;
            let d = d.plus(Unit::Hours, -hours).map_err(joda_error)?;
            it.mk_long(d.millis)
        }
        _ => Err(no_method(obj, name, args)),
    }
}

fn duration_arg(v: &Val) -> Result<Option<String>> {
    match &*v.borrow() {
        Obj::Str(s) => Ok(s.as_deref().map(str::to_string)),
        other => Err(cast_error(other, "com.netflix.sel.type.SelString")),
    }
}

fn timeout(it: &mut Interp, d: &DateTime, dur: Option<&str>) -> Result<Val> {
    let dur = dur.ok_or_else(|| illegal_arg("Invalid format: \"null\""))?;
    let millis = crate::joda::period::parse_duration_millis(dur).map_err(joda_error)?;
    let deadline = d.millis.saturating_add(millis);
    let now = it.now();
    let remaining = deadline.saturating_sub(now).max(0);
    it.mk_str(format!("{remaining} milliseconds"))
}

fn date_ints_between(it: &mut Interp, from: &Val, to: &Val, step: &Val) -> Result<Val> {
    let step_text = sel_string_of(&step.borrow());
    let inc =
        crate::java::number::parse_int(&step_text).ok_or_else(|| number_format(&step_text))?;
    let (from, to) = match inc.signum() {
        1 => (from, to),
        -1 => (to, from),
        _ => {
            return Err(illegal_arg(format!(
                "Invalid incremental interval value: {inc}"
            )));
        }
    };
    let a = string_of(it, from)?;
    let b = string_of(it, to)?;
    let d1 = parse_date_int(it, Some(a.unwrap_or_else(|| "null".into())))?;
    let d2 = parse_date_int(it, Some(b.unwrap_or_else(|| "null".into())))?;
    let days = d1.days_between(&d2).map_err(joda_error)?;
    let step = (inc as i64).abs();
    let fmt = Formatter::for_pattern("yyyyMMdd", current_year(it)).map_err(illegal_arg)?;
    let mut values = Vec::new();
    let mut i: i64 = 0;
    while i < days {
        check_budget(it, values.len())?;
        it.charge(0)?;
        let d = d1.plus(Unit::Days, i).map_err(joda_error)?;
        let text = fmt.print(d.millis, &d.zone);
        let v = crate::java::number::parse_int(&text).ok_or_else(|| number_format(&text))?;
        values.push(v as i64);
        i += step;
    }
    if inc < 0 {
        values.reverse();
    }
    let mut items = Vec::with_capacity(values.len());
    for v in values {
        items.push(crate::rt::new_val(Obj::Long(v)));
    }
    it.array_of(Elem::Long, items)
}

fn ints_between(it: &mut Interp, from: &Val, to: &Val, step: &Val) -> Result<Val> {
    let d1 = super::numbers::long_of(it, from)? as i32;
    let d2 = super::numbers::long_of(it, to)? as i32;
    let inc = super::numbers::long_of(it, step)? as i32;
    let mut items = Vec::new();
    let mut i = d1;
    loop {
        let go = if inc > 0 { i < d2 } else { i > d2 };
        if !go {
            break;
        }
        check_budget(it, items.len())?;
        items.push(it.mk_long(i as i64)?);
        i = i.wrapping_add(inc);
    }
    it.array_of(Elem::Long, items)
}
