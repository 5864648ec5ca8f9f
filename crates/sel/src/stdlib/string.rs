//! `String` (§6.2): constructors, the whitelisted `java.lang.String` methods with Java's
//! UTF-16 and regex semantics, and the hand-written varargs `format`, `join` and `escape`.

use super::{Unboxed, args_text, failed_call, int_arg, no_method_n, str_arg, unbox};
use crate::error::{Error, JavaClass, Result, class_cast, illegal_arg, null_pointer};
use crate::interp::{Interp, cast_error};
use crate::java::format::{FmtArg, format};
use crate::java::{number::double_to_string, regex, text};
use crate::rt::{Elem, Obj, Val, identity_hash};

pub(crate) fn construct(it: &mut Interp, args: &[Val]) -> Result<Val> {
    match args {
        [] => it.mk_str(""),
        [a] => {
            let obj = a.borrow().clone();
            match obj {
                Obj::Long(v) => it.mk_str(v.to_string()),
                Obj::Str(s) => it.mk(Obj::Str(s)),
                other => Err(illegal_arg(format!(
                    "Invalid input argument ({}) for String constructor",
                    super::sel_string_of(&other)
                ))),
            }
        }
        _ => Err(illegal_arg(format!(
            "Invalid input arguments ({}) for String constructor",
            args_text(args)
        ))),
    }
}

fn java_array_identity(prefix: &str, ptr: *const u8) -> String {
    format!("{prefix}@{:x}", identity_hash(ptr))
}

/// Java `String.valueOf(Object)` / `toString()` of an unboxed value.
pub(crate) fn java_object_string(u: &Unboxed) -> String {
    match u {
        Unboxed::Null => "null".into(),
        Unboxed::Int(v) => v.to_string(),
        Unboxed::Long(v) => v.to_string(),
        Unboxed::Double(v) => double_to_string(*v),
        Unboxed::Bool(v) => v.to_string(),
        Unboxed::Str(s) => s.clone().unwrap_or_else(|| "null".into()),
        Unboxed::StrArray(v) => java_array_identity("[Ljava.lang.String;", v.as_ptr() as *const u8),
        Unboxed::LongArray(v) => java_array_identity("[J", v.as_ptr() as *const u8),
        Unboxed::DoubleArray(v) => java_array_identity("[D", v.as_ptr() as *const u8),
        Unboxed::BoolArray(v) => java_array_identity("[Z", v.as_ptr() as *const u8),
        Unboxed::Map(None) => "null".into(),
        Unboxed::Map(Some(entries)) => {
            let order = text::hashmap_order(entries.iter().map(|(k, _)| k.as_deref()));
            let parts: Vec<String> = order
                .into_iter()
                .filter_map(|i| entries.get(i))
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        k.as_deref().unwrap_or("null"),
                        java_object_string(v)
                    )
                })
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Unboxed::DateTime(d) => d
            .as_ref()
            .map(|d| d.to_iso_string())
            .unwrap_or_else(|| "null".into()),
        Unboxed::Other(s) => s.clone(),
    }
}

fn fmt_arg(u: Unboxed) -> FmtArg {
    match u {
        Unboxed::Null | Unboxed::Str(None) => FmtArg::Null,
        Unboxed::Int(v) => FmtArg::Int(v),
        Unboxed::Long(v) => FmtArg::Long(v),
        Unboxed::Double(v) => FmtArg::Double(v),
        Unboxed::Bool(v) => FmtArg::Bool(v),
        Unboxed::Str(Some(s)) => FmtArg::Str(s),
        other => {
            let text = java_object_string(&other);
            FmtArg::Obj {
                hash: text::hash_code(&text),
                text,
            }
        }
    }
}

fn format_error(message: String) -> Error {
    let class = if message.starts_with("IndexOutOfBounds") {
        JavaClass::ArrayIndexOutOfBoundsException
    } else {
        JavaClass::IllegalArgumentException
    };
    Error::runtime(class, message)
}

fn memory_error() -> Error {
    Error::Limit {
        limit: crate::error::LimitKind::Memory,
        message: "SEL evaluation aborted as it takes too much memory (in byte) building a string"
            .into(),
    }
}

/// Output size of `s.replace(target, repl)`, to refuse what would exceed the memory left.
fn replaced_len(s: &str, target: &str, repl: &str) -> u128 {
    let count = if target.is_empty() {
        s.chars().count() as u128 + 1
    } else {
        s.matches(target).count() as u128
    };
    s.len() as u128 + count * repl.len() as u128
}

fn varargs_format(it: &mut Interp, args: &[Val]) -> Result<Val> {
    let Some(first) = args.first() else {
        return Err(illegal_arg(
            "Invalid empty input args for String.format method",
        ));
    };
    let fmt = match &*first.borrow() {
        Obj::Str(Some(s)) => s.to_string(),
        Obj::Str(None) => return Err(null_pointer("format string is null")),
        other => return Err(cast_error(other, "com.netflix.sel.type.SelString")),
    };
    let mut fargs = Vec::new();
    if args.len() == 2 && matches!(&*args[1].borrow(), Obj::Array(..)) {
        match unbox(&args[1].borrow())? {
            // A String[] is an Object[], so Java spreads it into the varargs.
            Unboxed::StrArray(items) => {
                fargs.extend(items.into_iter().map(|s| fmt_arg(Unboxed::Str(s))));
            }
            other => fargs.push(fmt_arg(other)),
        }
    } else {
        for a in &args[1..] {
            fargs.push(fmt_arg(unbox(&a.borrow())?));
        }
    }
    let max_len = (it.memory_left() / 2) as usize;
    let out = format(&fmt, &fargs, max_len).map_err(|m| {
        if m == crate::java::format::TOO_LONG {
            memory_error()
        } else {
            format_error(m)
        }
    })?;
    it.mk_str(out)
}

fn varargs_join(it: &mut Interp, args: &[Val]) -> Result<Val> {
    let Some(first) = args.first() else {
        return Err(illegal_arg(
            "Invalid empty input args for String.format method",
        ));
    };
    let sep = match &*first.borrow() {
        Obj::Str(Some(s)) => s.to_string(),
        Obj::Str(None) => return Err(null_pointer("delimiter")),
        other => return Err(cast_error(other, "com.netflix.sel.type.SelString")),
    };
    let mut parts: Vec<String> = Vec::new();
    if args.len() == 2 && matches!(&*args[1].borrow(), Obj::Array(..)) {
        match unbox(&args[1].borrow())? {
            Unboxed::StrArray(items) => {
                parts.extend(
                    items
                        .into_iter()
                        .map(|s| s.unwrap_or_else(|| "null".into())),
                );
            }
            _ => {
                return Err(class_cast(
                    "class [J cannot be cast to class [Ljava.lang.String;",
                ));
            }
        }
    } else {
        for a in &args[1..] {
            match &*a.borrow() {
                Obj::Str(s) => parts.push(s.as_deref().unwrap_or("null").to_string()),
                other => return Err(cast_error(other, "com.netflix.sel.type.SelString")),
            }
        }
    }
    let total: usize = parts.iter().map(String::len).sum::<usize>() + sep.len() * parts.len();
    if total as u64 > it.memory_left() {
        it.charge(total as u64)?;
    }
    it.mk_str(parts.join(&sep))
}

fn escape(it: &mut Interp, recv: Option<&str>, args: &[Val]) -> Result<Val> {
    let s = match args {
        [] => recv
            .map(str::to_string)
            .ok_or_else(|| null_pointer("Cannot invoke \"String.replace\" on null"))?,
        [a] => match &*a.borrow() {
            Obj::Str(s) => s.as_deref().unwrap_or("null").to_string(),
            _ => return Err(illegal_arg("Invalid input args for String.escape method")),
        },
        _ => return Err(illegal_arg("Invalid input args for String.escape method")),
    };
    it.mk_str(text::escape_java(&s))
}

/// Calls a `String` method on a receiver holding `recv` (`None` for the static `String`).
pub(crate) fn call(
    it: &mut Interp,
    recv: Option<&str>,
    obj: &Obj,
    name: &str,
    args: &[Val],
) -> Result<Val> {
    match name {
        "format" => return varargs_format(it, args),
        "join" => return varargs_join(it, args),
        "escape" => return escape(it, recv, args),
        _ => {}
    }
    let n = args.len();
    let known = matches!(
        (name, n),
        ("split", 1 | 2)
            | (
                "toUpperCase" | "toLowerCase" | "length" | "isEmpty" | "trim",
                0
            )
            | ("replaceAll" | "replace", 2)
            | ("substring", 1 | 2)
            | (
                "valueOf"
                    | "startsWith"
                    | "endsWith"
                    | "contains"
                    | "lastIndexOf"
                    | "equals"
                    | "compareTo",
                1
            )
    );
    if !known {
        return Err(no_method_n(obj, name, args));
    }
    let fail = || failed_call(name, n);
    if name == "valueOf" {
        // Static: only works on the static `String` (a null receiver).
        if recv.is_some() {
            return Err(fail());
        }
        let u = unbox(&args[0].borrow())?;
        return it.mk_str(java_object_string(&u));
    }
    let s = recv.ok_or_else(fail)?;
    let string_arg = |i: usize| -> Result<String> { str_arg(&args[i]).flatten().ok_or_else(fail) };
    match name {
        "length" => it.mk_long(text::utf16_len(s) as i64),
        "isEmpty" => it.mk_bool(s.is_empty()),
        "trim" => it.mk_str(text::trim(s)),
        "toUpperCase" => it.mk_str(s.to_uppercase()),
        "toLowerCase" => it.mk_str(s.to_lowercase()),
        "contains" => {
            let t = string_arg(0)?;
            it.mk_bool(s.contains(t.as_str()))
        }
        "startsWith" => {
            let t = string_arg(0)?;
            it.mk_bool(s.starts_with(t.as_str()))
        }
        "endsWith" => {
            let t = string_arg(0)?;
            it.mk_bool(s.ends_with(t.as_str()))
        }
        "equals" => {
            let eq = matches!(&*args[0].borrow(), Obj::Str(Some(t)) if &**t == s);
            it.mk_bool(eq)
        }
        "compareTo" => {
            let t = string_arg(0)?;
            it.mk_long(text::compare_to(s, &t))
        }
        "lastIndexOf" => {
            let t = string_arg(0)?;
            it.mk_long(text::last_index_of(s, &t))
        }
        "substring" => {
            let b = int_arg(&args[0]).ok_or_else(fail)? as i64;
            let e = if n == 2 {
                int_arg(&args[1]).ok_or_else(fail)? as i64
            } else {
                text::utf16_len(s) as i64
            };
            let out = text::substring(s, b, e).ok_or_else(fail)?;
            it.mk_str(out)
        }
        "replace" => {
            let target = string_arg(0)?;
            let repl = string_arg(1)?;
            if replaced_len(s, &target, &repl) > (it.memory_left() / 2) as u128 {
                return Err(memory_error());
            }
            let out = s.replace(target.as_str(), &repl);
            it.mk_str(out)
        }
        "replaceAll" => {
            let re = string_arg(0)?;
            let repl = string_arg(1)?;
            it.check_time()?;
            let max_len = (it.memory_left() / 2) as usize;
            let out = regex::replace_all(s, &re, &repl, max_len).map_err(|m| {
                if m == regex::TOO_LONG {
                    memory_error()
                } else {
                    fail()
                }
            })?;
            it.mk_str(out)
        }
        "split" => {
            let re = string_arg(0)?;
            let limit = if n == 2 {
                int_arg(&args[1]).ok_or_else(fail)?
            } else {
                0
            };
            it.check_time()?;
            let parts = regex::split(s, &re, limit).map_err(|_| fail())?;
            let mut items = Vec::with_capacity(parts.len());
            for p in parts {
                items.push(it.mk_str(p)?);
            }
            it.array_of(Elem::Str, items)
        }
        _ => Err(no_method_n(obj, name, args)),
    }
}
