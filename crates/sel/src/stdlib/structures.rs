//! `Map` (§6.7): string keys, values stored by reference (a `put` shares the value's box, so
//! later assignments to that variable show through the map), hash iteration order.

use super::no_method;
use crate::error::{Result, null_pointer};
use crate::interp::{Interp, cast_error};
use crate::rt::{Key, MapData, Obj, Val};

fn key_of(v: &Val) -> Result<Key> {
    match &*v.borrow() {
        Obj::Str(s) => Ok(s.clone()),
        other => Err(cast_error(other, "com.netflix.sel.type.SelString")),
    }
}

fn npe() -> crate::error::Error {
    null_pointer("Cannot invoke \"java.util.Map\" method because \"this.val\" is null")
}

pub(crate) fn call_map(
    it: &mut Interp,
    m: Option<&MapData>,
    obj: &Obj,
    name: &str,
    args: &[Val],
) -> Result<Val> {
    match (name, args) {
        ("size", []) => {
            let n = m.map_or(0, |m| m.borrow().len()) as i64;
            it.mk_long(n)
        }
        ("get", [k]) => {
            let key = key_of(k)?;
            let m = m.ok_or_else(npe)?;
            let found = m.borrow().get(&key).cloned();
            Ok(found.unwrap_or_else(|| it.null()))
        }
        ("containsKey", [k]) => {
            let found = match m {
                None => false,
                Some(m) => {
                    let key = key_of(k)?;
                    m.borrow().contains_key(&key)
                }
            };
            it.mk_bool(found)
        }
        ("put", [k, v]) => {
            let key = key_of(k)?;
            let m = m.ok_or_else(npe)?;
            let previous = m.borrow_mut().insert(key, v.clone());
            Ok(previous.unwrap_or_else(|| it.null()))
        }
        ("getOrDefault", [k, d]) => {
            let key = key_of(k)?;
            let m = m.ok_or_else(npe)?;
            let found = m.borrow().get(&key).cloned();
            Ok(found.unwrap_or_else(|| d.clone()))
        }
        _ => Err(no_method(obj, name, args)),
    }
}
