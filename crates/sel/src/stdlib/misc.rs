//! `Math` (§6.14), `UUID` (§6.13) and the shared `System`/`Arrays`/`DateTimeConstants` helper
//! (§6.15).

use super::no_method;
use crate::error::{Result, null_pointer};
use crate::interp::{Interp, cast_error};
use crate::rt::{Obj, Val};
use crate::value::uuid_text;

/// Java's `Math.pow`, which differs from C's for NaN exponents and `±1` bases.
fn java_pow(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        return 1.0;
    }
    if b.is_nan() || (a.abs() == 1.0 && b.is_infinite()) {
        return f64::NAN;
    }
    a.powf(b)
}

fn long_arg(v: &Val) -> Result<i64> {
    match &*v.borrow() {
        Obj::Long(x) => Ok(*x),
        other => Err(cast_error(other, "com.netflix.sel.type.SelLong")),
    }
}

fn number_arg(v: &Val) -> Result<f64> {
    match &*v.borrow() {
        Obj::Long(x) => Ok(*x as f64),
        Obj::Double(x) => Ok(*x),
        Obj::Null | Obj::Void | Obj::Str(None) => Err(null_pointer(
            "Cannot invoke \"java.lang.Number.doubleValue()\"",
        )),
        other => Err(cast_error(other, "java.lang.Number")),
    }
}

pub(crate) fn call_math(it: &mut Interp, obj: &Obj, name: &str, args: &[Val]) -> Result<Val> {
    match (name, args) {
        ("min", [a, b]) => {
            let (a, b) = (long_arg(a)?, long_arg(b)?);
            it.mk_long(a.min(b))
        }
        ("max", [a, b]) => {
            let (a, b) = (long_arg(a)?, long_arg(b)?);
            it.mk_long(a.max(b))
        }
        ("random", []) => it.mk_double(fastrand::f64()),
        ("pow", [a, b]) => {
            let (a, b) = (number_arg(a)?, number_arg(b)?);
            it.mk_double(java_pow(a, b))
        }
        _ => Err(no_method(obj, name, args)),
    }
}

pub(crate) fn call_uuid(
    it: &mut Interp,
    u: Option<u128>,
    obj: &Obj,
    name: &str,
    args: &[Val],
) -> Result<Val> {
    match (name, args) {
        ("randomUUID", []) => it.mk(Obj::Uuid(Some(fastrand::u128(..)))),
        ("toString", []) => it.mk_str(u.map(uuid_text).unwrap_or_else(|| "null".into())),
        _ => Err(no_method(obj, name, args)),
    }
}

pub(crate) fn call_misc(it: &mut Interp, obj: &Obj, name: &str, args: &[Val]) -> Result<Val> {
    match (name, args) {
        ("currentTimeMillis", []) => {
            let now = it.now();
            it.mk_long(now)
        }
        ("asList", [a]) => Ok(a.clone()),
        _ => Err(no_method(obj, name, args)),
    }
}

#[cfg(test)]
mod tests {
    use super::java_pow;

    #[test]
    fn pow_follows_java() {
        assert_eq!(java_pow(2.0, 10.0), 1024.0);
        assert!(java_pow(1.0, f64::NAN).is_nan());
        assert!(java_pow(-1.0, f64::INFINITY).is_nan());
        assert_eq!(java_pow(f64::NAN, 0.0), 1.0);
    }
}
