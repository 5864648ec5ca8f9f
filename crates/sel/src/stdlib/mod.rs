//! The standard library: method calls, field reads and constructors on SEL values, dispatched
//! by receiver type, method name and argument count exactly as the reference's whitelist (§6).
//! Anything not listed is an `UnsupportedOperationException`, which is the whole sandbox: no
//! reflection, class loading or I/O is reachable. Also the Java string conversions the
//! operators and methods share.

pub(crate) mod misc;
pub(crate) mod numbers;
pub(crate) mod params;
pub(crate) mod string;
pub(crate) mod structures;
pub(crate) mod time;
pub(crate) mod util;

use crate::ast::BaseType;
use crate::error::{Error, JavaClass, Result, illegal_arg, unsupported};
use crate::interp::Interp;
use crate::java::number::double_to_string;
use crate::java::text::hashmap_order;
use crate::joda::DateTime;
use crate::rt::{Elem, Obj, Val, identity_hash};
use std::rc::Rc;

/// `X DO NOT support calling method: nameN with args: [...]`.
pub(crate) fn no_method(recv: &Obj, name: &str, args: &[Val]) -> Error {
    unsupported(format!(
        "{} DO NOT support calling method: {name} with args: {}",
        recv.type_name(),
        args_text(args)
    ))
}

/// Same with the arity appended to the name (types whose methods are keyed `name + argc`).
pub(crate) fn no_method_n(recv: &Obj, name: &str, args: &[Val]) -> Error {
    unsupported(format!(
        "{} DO NOT support calling method: {name}{} with args: {}",
        recv.type_name(),
        args.len(),
        args_text(args)
    ))
}

/// `IllegalArgumentException: Failed calling method nameN` (a Java method threw).
pub(crate) fn failed_call(name: &str, argc: usize) -> Error {
    illegal_arg(format!("Failed calling method {name}{argc}"))
}

/// `Arrays.toString(args)` of SEL objects.
pub(crate) fn args_text(args: &[Val]) -> String {
    let parts: Vec<String> = args.iter().map(|a| sel_string_of(&a.borrow())).collect();
    format!("[{}]", parts.join(", "))
}

/// Calls a method.
pub(crate) fn call(it: &mut Interp, recv: &Val, name: &str, args: &[Val]) -> Result<Val> {
    let obj = recv.borrow().clone();
    match &obj {
        Obj::Str(s) => string::call(it, s.as_deref(), &obj, name, args),
        Obj::Long(v) => numbers::call_long(it, *v, &obj, name, args),
        Obj::Double(v) => numbers::call_double(it, *v, &obj, name, args),
        Obj::Map(m) => structures::call_map(it, m.as_ref(), &obj, name, args),
        Obj::DateTime(d) => time::call_datetime(it, d.as_ref(), &obj, name, args),
        Obj::Zone(z) => time::call_zone(it, z.as_ref(), &obj, name, args),
        Obj::Formatter(f) => time::call_formatter(it, f.as_ref(), &obj, name, args),
        Obj::Property(p) => time::call_property(it, p.as_ref(), &obj, name, args),
        Obj::Days(d) => time::call_days(it, *d, &obj, name, args),
        Obj::Uuid(u) => misc::call_uuid(it, *u, &obj, name, args),
        Obj::Math => misc::call_math(it, &obj, name, args),
        Obj::Misc => misc::call_misc(it, &obj, name, args),
        Obj::Util => util::call(it, &obj, name, args),
        Obj::Params => params::call(it, &obj, name, args),
        other => Err(unsupported(format!(
            "{} DO NOT support calling {name}",
            other.type_name()
        ))),
    }
}

/// Reads a field (`recv.name` without parentheses).
pub(crate) fn field(it: &mut Interp, recv: &Val, name: &str) -> Result<Val> {
    let obj = recv.borrow().clone();
    match (&obj, name) {
        (Obj::Array(_, items), "length") => {
            let n = items.borrow().len() as i64;
            it.mk_long(n)
        }
        (Obj::Params, _) => params::field(it, Some(name)),
        (Obj::Misc, "SUNDAY") => it.mk_long(7),
        (Obj::Zone(_), "UTC") => it.mk(Obj::Zone(Some(crate::joda::Zone::utc()))),
        (other, _) => Err(unsupported(format!(
            "{} DO NOT support accessing field: {name}",
            other.type_name()
        ))),
    }
}

/// `new T(args)`.
pub(crate) fn construct(it: &mut Interp, ty: BaseType, args: &[Val]) -> Result<Val> {
    match ty {
        BaseType::String => string::construct(it, args),
        BaseType::Long => numbers::construct_long(it, args),
        BaseType::Double => numbers::construct_double(it, args),
        BaseType::Boolean => numbers::construct_boolean(it, args),
        BaseType::Map => {
            if !args.is_empty() {
                return Err(illegal_arg(format!(
                    "Invalid input arguments ({}) for Map constructor",
                    args_text(args)
                )));
            }
            it.mk(Obj::Map(Some(Default::default())))
        }
        BaseType::DateTime => time::construct_datetime(it, args),
        other => Err(unsupported(format!(
            "{} DO NOT support calling constructor",
            other.name()
        ))),
    }
}

/// Bounded text building: a cycle (a map containing itself) or text larger than the memory left
/// fails instead of recursing or allocating without end.
struct TextBudget {
    left: usize,
    depth: u32,
}

impl TextBudget {
    fn push(&mut self, out: &mut String, s: &str) -> Result<()> {
        if s.len() > self.left {
            return Err(Error::Limit {
                limit: crate::error::LimitKind::Memory,
                message:
                    "SEL evaluation aborted as it takes too much memory (in byte) building a string"
                        .into(),
            });
        }
        self.left -= s.len();
        out.push_str(s);
        Ok(())
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > 100 {
            return Err(Error::runtime(
                JavaClass::RuntimeException,
                "StackOverflowError",
            ));
        }
        Ok(())
    }
}

fn identity(class: &str, ptr: *const u8) -> String {
    format!("{class}@{:x}", identity_hash(ptr))
}

/// `SelType.toString()` of an object, written into `out`.
fn write_sel(out: &mut String, o: &Obj, b: &mut TextBudget) -> Result<()> {
    match o {
        Obj::Null => b.push(out, "NULL"),
        Obj::Void => b.push(out, "VOID"),
        Obj::Str(s) => b.push(out, s.as_deref().unwrap_or("null")),
        Obj::Long(v) => b.push(out, &v.to_string()),
        Obj::Double(v) => b.push(out, &double_to_string(*v)),
        Obj::Bool(v) => b.push(out, if *v { "true" } else { "false" }),
        Obj::Array(_, items) => {
            b.enter()?;
            b.push(out, "[")?;
            for (i, v) in items.borrow().iter().enumerate() {
                if i > 0 {
                    b.push(out, ", ")?;
                }
                write_sel(out, &v.borrow(), b)?;
            }
            b.depth -= 1;
            b.push(out, "]")
        }
        Obj::Map(None) => b.push(out, "null"),
        Obj::Map(Some(m)) => write_map(out, m, b),
        Obj::DateTime(d) => b.push(
            out,
            &d.as_ref()
                .map(DateTime::to_iso_string)
                .unwrap_or_else(|| "null".into()),
        ),
        Obj::Zone(z) => b.push(out, z.as_ref().map(|z| z.id()).unwrap_or("null")),
        Obj::Formatter(f) => b.push(
            out,
            &identity(
                o.java_class(),
                f.as_ref()
                    .map_or(std::ptr::null(), |f| Rc::as_ptr(f) as *const u8),
            ),
        ),
        Obj::Property(p) => b.push(
            out,
            &p.as_ref()
                .map(|p| p.to_string())
                .unwrap_or_else(|| "null".into()),
        ),
        Obj::Days(d) => b.push(
            out,
            &d.map(|d| format!("P{d}D")).unwrap_or_else(|| "null".into()),
        ),
        Obj::Uuid(u) => b.push(
            out,
            &identity(o.java_class(), u.unwrap_or(0) as usize as *const u8),
        ),
        Obj::Error(m) => {
            b.push(out, "ERROR: ")?;
            b.push(out, m)
        }
        Obj::Params => b.push(out, "PRESET_PARAMS"),
        Obj::Math => b.push(out, "Java Math Class"),
        Obj::Misc => b.push(out, "SEL Miscellaneous Function Class"),
        Obj::Util => b.push(out, "Preset SEL Utility Function Class"),
    }
}

fn write_map(out: &mut String, m: &crate::rt::MapData, b: &mut TextBudget) -> Result<()> {
    b.enter()?;
    b.push(out, "{")?;
    let map = m.borrow();
    let order = hashmap_order(map.keys().map(|k| k.as_deref()));
    for (n, i) in order.into_iter().enumerate() {
        let Some((k, v)) = map.get_index(i) else {
            continue;
        };
        if n > 0 {
            b.push(out, ", ")?;
        }
        b.push(out, k.as_deref().unwrap_or("null"))?;
        b.push(out, "=")?;
        write_sel(out, &v.borrow(), b)?;
    }
    b.depth -= 1;
    b.push(out, "}")
}

/// `SelType.toString()` (for messages; bounded).
pub(crate) fn sel_string_of(o: &Obj) -> String {
    let mut out = String::new();
    let mut b = TextBudget {
        left: 100_000,
        depth: 0,
    };
    match write_sel(&mut out, o, &mut b) {
        Ok(()) => out,
        Err(_) => {
            out.push_str("...");
            out
        }
    }
}

/// Java's `"" + obj.getInternalVal()`: how `+` and `+=` turn a value into text.
pub(crate) fn java_string(it: &mut Interp, o: &Obj) -> Result<String> {
    let mut b = TextBudget {
        left: (it.memory_left() / 2) as usize,
        depth: 0,
    };
    let mut out = String::new();
    match o {
        Obj::Null | Obj::Void => b.push(&mut out, "null")?,
        Obj::Array(e, items) => b.push(
            &mut out,
            &identity(e.java_array_class(), Rc::as_ptr(items) as *const u8),
        )?,
        Obj::Formatter(f) => b.push(
            &mut out,
            &identity(
                "org.joda.time.format.DateTimeFormatter",
                f.as_ref()
                    .map_or(std::ptr::null(), |f| Rc::as_ptr(f) as *const u8),
            ),
        )?,
        Obj::Uuid(_) | Obj::Error(_) | Obj::Params | Obj::Util | Obj::Misc | Obj::Math => {
            return Err(unsupported(format!(
                "class {} does not support getInternalVal operation.",
                o.java_class()
            )));
        }
        other => write_sel(&mut out, other, &mut b)?,
    }
    Ok(out)
}

/// A value as a Java method receives it after SEL unboxed it.
#[derive(Debug, Clone)]
pub(crate) enum Unboxed {
    Null,
    Int(i32),
    Long(i64),
    Double(f64),
    Bool(bool),
    Str(Option<String>),
    StrArray(Vec<Option<String>>),
    LongArray(Vec<i64>),
    DoubleArray(Vec<f64>),
    BoolArray(Vec<bool>),
    Map(Option<Vec<(Option<String>, Unboxed)>>),
    DateTime(Option<DateTime>),
    Other(String),
}

/// SEL's `unbox()`: LONG becomes an `Integer` when it is at most `Integer.MAX_VALUE` (the
/// reference does not check the lower bound, so large negatives are truncated).
pub(crate) fn unbox(o: &Obj) -> Result<Unboxed> {
    let mut budget = UNBOX_BUDGET;
    unbox_depth(o, 0, &mut budget)
}

/// Most values one unboxing may produce: maps can share sub-maps (a DAG), so copying them out
/// could otherwise grow exponentially.
const UNBOX_BUDGET: u64 = 1_000_000;

fn spend(budget: &mut u64, n: u64) -> Result<()> {
    if *budget < n {
        return Err(Error::Limit {
            limit: crate::error::LimitKind::Memory,
            message: "SEL evaluation aborted as it takes too much memory (in byte) copying a value"
                .into(),
        });
    }
    *budget -= n;
    Ok(())
}

fn unbox_depth(o: &Obj, depth: u32, budget: &mut u64) -> Result<Unboxed> {
    if depth > 100 {
        return Err(Error::runtime(
            JavaClass::RuntimeException,
            "StackOverflowError",
        ));
    }
    spend(budget, 1)?;
    Ok(match o {
        Obj::Null | Obj::Void => Unboxed::Null,
        Obj::Long(v) => {
            if *v > i32::MAX as i64 {
                Unboxed::Long(*v)
            } else {
                Unboxed::Int(*v as i32)
            }
        }
        Obj::Double(v) => Unboxed::Double(*v),
        Obj::Bool(v) => Unboxed::Bool(*v),
        Obj::Str(s) => Unboxed::Str(s.as_deref().map(str::to_string)),
        Obj::Array(e, items) => {
            let items = items.borrow();
            spend(budget, items.len() as u64)?;
            match e {
                Elem::Str => Unboxed::StrArray(
                    items
                        .iter()
                        .map(|v| match &*v.borrow() {
                            Obj::Str(s) => s.as_deref().map(str::to_string),
                            _ => None,
                        })
                        .collect(),
                ),
                Elem::Long => Unboxed::LongArray(
                    items
                        .iter()
                        .map(|v| match &*v.borrow() {
                            Obj::Long(x) => *x,
                            _ => 0,
                        })
                        .collect(),
                ),
                Elem::Double => Unboxed::DoubleArray(
                    items
                        .iter()
                        .map(|v| match &*v.borrow() {
                            Obj::Double(x) => *x,
                            _ => 0.0,
                        })
                        .collect(),
                ),
                Elem::Bool => Unboxed::BoolArray(
                    items
                        .iter()
                        .map(|v| matches!(&*v.borrow(), Obj::Bool(true)))
                        .collect(),
                ),
            }
        }
        Obj::Map(None) => Unboxed::Map(None),
        Obj::Map(Some(m)) => {
            let map = m.borrow();
            let mut out = Vec::with_capacity(map.len());
            for (k, v) in map.iter() {
                let inner = v.borrow();
                let u = match &*inner {
                    Obj::Str(_) | Obj::Long(_) | Obj::Double(_) | Obj::Bool(_) => match &*inner {
                        // Map values keep their Long-ness (getInternalVal, not unbox).
                        Obj::Long(x) => Unboxed::Long(*x),
                        other => unbox_depth(other, depth + 1, budget)?,
                    },
                    Obj::Array(..) | Obj::Map(_) => unbox_depth(&inner, depth + 1, budget)?,
                    other => {
                        return Err(unsupported(format!(
                            "Invalid type, not support having map entry value {}={}",
                            k.as_deref().unwrap_or("null"),
                            sel_string_of(other)
                        )));
                    }
                };
                out.push((k.as_deref().map(str::to_string), u));
            }
            Unboxed::Map(Some(out))
        }
        Obj::DateTime(d) => Unboxed::DateTime(d.clone()),
        Obj::Zone(_) | Obj::Formatter(_) | Obj::Property(_) | Obj::Days(_) => {
            Unboxed::Other(sel_string_of(o))
        }
        Obj::Uuid(_) | Obj::Error(_) | Obj::Params | Obj::Util | Obj::Misc | Obj::Math => {
            return Err(unsupported(format!(
                "class {} does not support getInternalVal operation.",
                o.java_class()
            )));
        }
    })
}

/// The `int` a Java method parameter receives from an SEL argument, or `None` when Java would
/// fail the call (a non-LONG, or a LONG above `Integer.MAX_VALUE` boxed as `Long`).
pub(crate) fn int_arg(v: &Val) -> Option<i32> {
    match &*v.borrow() {
        Obj::Long(x) if *x <= i32::MAX as i64 => Some(*x as i32),
        _ => None,
    }
}

/// The `String` a Java method parameter receives (`None` for a non-string; `Some(None)` for
/// null, which Java passes through).
pub(crate) fn str_arg(v: &Val) -> Option<Option<String>> {
    match &*v.borrow() {
        Obj::Str(s) => Some(s.as_deref().map(str::to_string)),
        Obj::Null | Obj::Void => Some(None),
        _ => None,
    }
}

/// Converts a result object into a public [`crate::Value`] (the reference's unboxing, with
/// Joda objects kept as they are).
pub(crate) fn to_value(o: &Obj) -> Result<crate::Value> {
    let mut budget = UNBOX_BUDGET;
    to_value_depth(o, 0, &mut budget)
}

fn to_value_depth(o: &Obj, depth: u32, budget: &mut u64) -> Result<crate::Value> {
    use crate::Value;
    if depth > 100 {
        return Err(Error::runtime(
            JavaClass::RuntimeException,
            "StackOverflowError",
        ));
    }
    spend(budget, 1)?;
    Ok(match o {
        Obj::Null => Value::Null,
        Obj::Void => Value::Void,
        Obj::Str(s) => Value::String(s.as_deref().map(str::to_string)),
        Obj::Long(v) => Value::Long(*v),
        Obj::Double(v) => Value::Double(*v),
        Obj::Bool(v) => Value::Boolean(*v),
        Obj::Array(..) => match unbox_depth(o, depth, budget)? {
            Unboxed::StrArray(v) => Value::StringArray(v),
            Unboxed::LongArray(v) => Value::LongArray(v),
            Unboxed::DoubleArray(v) => Value::DoubleArray(v),
            Unboxed::BoolArray(v) => Value::BooleanArray(v),
            _ => Value::Null,
        },
        Obj::Map(None) => Value::Map(None),
        Obj::Map(Some(m)) => {
            let map = m.borrow();
            let mut out = indexmap::IndexMap::with_capacity(map.len());
            for (k, v) in map.iter() {
                let key = k.as_deref().unwrap_or("null").to_string();
                out.insert(key, to_value_depth(&v.borrow(), depth + 1, budget)?);
            }
            Value::Map(Some(out))
        }
        Obj::DateTime(d) => Value::DateTime(d.clone()),
        Obj::Zone(z) => Value::DateTimeZone(z.clone()),
        Obj::Formatter(_) => Value::DateTimeFormatter,
        Obj::Property(p) => Value::DateTimeProperty(p.clone()),
        Obj::Days(d) => Value::DateTimeDays(*d),
        Obj::Uuid(u) => Value::Uuid(*u),
        Obj::Error(m) => {
            return Err(Error::Thrown {
                message: m.to_string(),
            });
        }
        Obj::Params | Obj::Util | Obj::Misc | Obj::Math => Value::Helper(o.type_name()),
    })
}
