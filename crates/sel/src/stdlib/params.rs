//! `params` (§6.17, §7.3): reads of the caller's inputs (`get`, `[]`, field access; a fresh copy
//! on every read), `containsKey`, and every other method forwarded to the caller's
//! [`crate::ParamsExtension`] under Maestro's contract (0–3 string arguments).

use super::{args_text, no_method};
use crate::error::{Error, Result, unsupported};
use crate::interp::{Interp, cast_error};
use crate::rt::{Obj, Val};

/// `params.get(key)` / `params[key]` / `params.key`.
pub(crate) fn field(it: &mut Interp, key: Option<&str>) -> Result<Val> {
    let env = it.env;
    match key.and_then(|k| env.inputs.get(k)) {
        Some(v) => it.box_value(v),
        None => Ok(it.null()),
    }
}

pub(crate) fn call(it: &mut Interp, obj: &Obj, name: &str, args: &[Val]) -> Result<Val> {
    match (name, args) {
        ("get", [k]) => {
            let key = match &*k.borrow() {
                Obj::Str(s) => s.clone(),
                other => return Err(cast_error(other, "com.netflix.sel.type.SelString")),
            };
            field(it, key.as_deref())
        }
        ("containsKey", [k]) => {
            let key = match &*k.borrow() {
                Obj::Str(s) => s.clone(),
                other => return Err(cast_error(other, "com.netflix.sel.type.SelString")),
            };
            let found = key.is_some_and(|k| it.env.inputs.contains_key(&*k));
            it.mk_bool(found)
        }
        _ => {
            let Some(ext) = it.env.extension else {
                return Err(no_method(obj, name, args));
            };
            let unsupported_call = || {
                unsupported(format!(
                    "ParamExtension DO NOT support calling method: {name} with args: {}",
                    args_text(args)
                ))
            };
            if args.len() > 3 {
                return Err(unsupported_call());
            }
            let mut strings = Vec::with_capacity(args.len());
            for a in args {
                match &*a.borrow() {
                    Obj::Str(s) => strings.push(s.as_deref().unwrap_or("null").to_string()),
                    _ => return Err(unsupported_call()),
                }
            }
            let refs: Vec<&str> = strings.iter().map(String::as_str).collect();
            it.check_time()?;
            let value = ext.call(name, &refs).map_err(Error::Extension)?;
            it.box_value(&value)
        }
    }
}
