//! `Long`/`Integer` (§6.3), `Double`/`Float` (§6.4) and `Boolean` (§6.5): constructors and
//! the few methods the reference whitelists, with Java's parsing rules.

use super::{args_text, no_method, sel_string_of};
use crate::error::{Result, illegal_arg, null_pointer, number_format};
use crate::interp::{Interp, cast_error};
use crate::java::number::{double_to_string, parse_double, parse_long};
use crate::rt::{Obj, Val};

fn parse_long_text(s: Option<&str>) -> Result<i64> {
    match s {
        None => Err(crate::error::Error::runtime(
            crate::error::JavaClass::NumberFormatException,
            "Cannot parse null string: null",
        )),
        Some(s) => parse_long(s).ok_or_else(|| number_format(s)),
    }
}

fn parse_double_text(s: Option<&str>) -> Result<f64> {
    match s {
        None => Err(null_pointer("Cannot parse null string")),
        Some(s) => parse_double(s).ok_or_else(|| number_format(s)),
    }
}

/// `SelLong.create(arg)`: a LONG copied or a STRING parsed (used by `Util` too).
pub(crate) fn long_of(it: &mut Interp, arg: &Val) -> Result<i64> {
    let obj = arg.borrow().clone();
    let v = match &obj {
        Obj::Long(v) => *v,
        Obj::Str(s) => parse_long_text(s.as_deref())?,
        other => {
            return Err(illegal_arg(format!(
                "Invalid input argument ({}) for Long constructor",
                sel_string_of(other)
            )));
        }
    };
    it.charge(0)?;
    Ok(v)
}

pub(crate) fn construct_long(it: &mut Interp, args: &[Val]) -> Result<Val> {
    match args {
        [a] => {
            let v = long_of(it, a)?;
            Ok(crate::rt::new_val(Obj::Long(v)))
        }
        _ => Err(illegal_arg(format!(
            "Invalid input arguments ({}) for Long constructor",
            args_text(args)
        ))),
    }
}

pub(crate) fn call_long(
    it: &mut Interp,
    v: i64,
    obj: &Obj,
    name: &str,
    args: &[Val],
) -> Result<Val> {
    match (name, args) {
        ("toString", []) => it.mk_str(v.to_string()),
        ("toString", [a]) => {
            let x = match &*a.borrow() {
                Obj::Long(x) => *x,
                other => return Err(cast_error(other, "com.netflix.sel.type.SelLong")),
            };
            it.mk_str(x.to_string())
        }
        ("valueOf", [a]) => {
            let o = a.borrow().clone();
            match o {
                Obj::Str(s) => {
                    let x = parse_long_text(s.as_deref())?;
                    it.mk_long(x)
                }
                Obj::Long(x) => it.mk_long(x),
                _ => Err(no_method(obj, name, args)),
            }
        }
        ("parseLong", [a]) => {
            let o = a.borrow().clone();
            let Obj::Str(s) = o else {
                return Err(cast_error(&o, "com.netflix.sel.type.SelString"));
            };
            let x = parse_long_text(s.as_deref())?;
            it.mk_long(x)
        }
        ("intValue", []) => it.mk_long(v),
        _ => Err(no_method(obj, name, args)),
    }
}

pub(crate) fn construct_double(it: &mut Interp, args: &[Val]) -> Result<Val> {
    if let [a] = args {
        let o = a.borrow().clone();
        match o {
            Obj::Double(x) => return it.mk_double(x),
            Obj::Str(s) => {
                let x = parse_double_text(s.as_deref())?;
                return it.mk_double(x);
            }
            _ => {}
        }
    }
    Err(illegal_arg(format!(
        "Invalid input arguments ({}) for Double constructor",
        args_text(args)
    )))
}

pub(crate) fn call_double(
    it: &mut Interp,
    v: f64,
    obj: &Obj,
    name: &str,
    args: &[Val],
) -> Result<Val> {
    match (name, args) {
        ("toString", []) => it.mk_str(double_to_string(v)),
        ("toString", [a]) => {
            let x = match &*a.borrow() {
                Obj::Double(x) => *x,
                other => return Err(cast_error(other, "com.netflix.sel.type.SelDouble")),
            };
            it.mk_str(double_to_string(x))
        }
        ("valueOf", [a]) => {
            let o = a.borrow().clone();
            match o {
                Obj::Str(s) => {
                    let x = parse_double_text(s.as_deref())?;
                    it.mk_double(x)
                }
                Obj::Double(x) => it.mk_double(x),
                _ => Err(no_method(obj, name, args)),
            }
        }
        ("parseDouble", [a]) => {
            let o = a.borrow().clone();
            let Obj::Str(s) = o else {
                return Err(cast_error(&o, "com.netflix.sel.type.SelString"));
            };
            let x = parse_double_text(s.as_deref())?;
            it.mk_double(x)
        }
        ("intValue" | "longValue", []) => it.mk_long(v as i64),
        _ => Err(no_method(obj, name, args)),
    }
}

pub(crate) fn construct_boolean(it: &mut Interp, args: &[Val]) -> Result<Val> {
    if let [a] = args {
        let o = a.borrow().clone();
        match o {
            Obj::Bool(b) => return it.mk_bool(b),
            Obj::Str(s) => {
                let b = s.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("true"));
                return it.mk_bool(b);
            }
            _ => {}
        }
    }
    Err(illegal_arg(format!(
        "Invalid input arguments ({}) for Boolean constructor",
        args_text(args)
    )))
}
