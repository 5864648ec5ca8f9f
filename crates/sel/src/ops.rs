//! Operators and assignment, with the reference's asymmetric rules (§5.4): dispatch on the left
//! operand's type, `LONG op STRING` turns the long into text but `STRING == LONG` is a type
//! error, `null` compares and concatenates, doubles absorb longs, no widening on assignment.

use crate::ast::{AssignOp, BinOp};
use crate::error::{Error, JavaClass, Result, unsupported};
use crate::interp::{Interp, cast_error, type_mismatch};
use crate::java::number::double_to_string;
use crate::rt::{Obj, Val};
use crate::stdlib::java_string;
use std::sync::Arc;

fn expression_unsupported(ty: &str, op: BinOp) -> Error {
    unsupported(format!(
        "{ty} DO NOT support expression operation {}",
        op.name()
    ))
}

fn div_zero() -> Error {
    Error::runtime(JavaClass::ArithmeticException, "/ by zero")
}

/// Whether `getInternalVal()` of the object is Java `null`; errors where the reference's
/// `getInternalVal` throws.
fn internal_is_null(o: &Obj) -> Result<bool> {
    Ok(match o {
        Obj::Null | Obj::Void => true,
        Obj::Str(s) => s.is_none(),
        Obj::Map(m) => m.is_none(),
        Obj::DateTime(d) => d.is_none(),
        Obj::Zone(z) => z.is_none(),
        Obj::Formatter(f) => f.is_none(),
        Obj::Property(p) => p.is_none(),
        Obj::Days(d) => d.is_none(),
        Obj::Long(_) | Obj::Double(_) | Obj::Bool(_) | Obj::Array(..) => false,
        Obj::Uuid(_) | Obj::Error(_) | Obj::Params | Obj::Util | Obj::Misc | Obj::Math => {
            return Err(unsupported(format!(
                "class {} does not support getInternalVal operation.",
                o.java_class()
            )));
        }
    })
}

/// `lhs op rhs` (for unary operators both are the operand).
pub(crate) fn binary(it: &mut Interp, op: BinOp, lhs: &Val, rhs: &Val) -> Result<Val> {
    let l = lhs.borrow().clone();
    let r = rhs.borrow().clone();
    binary_obj(it, op, &l, &r)
}

fn string_op(it: &mut Interp, op: BinOp, s: Option<&str>, r: &Obj) -> Result<Val> {
    if !matches!(r, Obj::Null) && matches!(op, BinOp::Eq | BinOp::Ne) && !matches!(r, Obj::Str(_)) {
        return Err(type_mismatch("STRING", r.type_name()));
    }
    match op {
        BinOp::Add => {
            let rest = java_string(it, r)?;
            let mut out = String::with_capacity(s.map_or(4, str::len) + rest.len());
            out.push_str(s.unwrap_or("null"));
            out.push_str(&rest);
            it.mk_str(out)
        }
        BinOp::Eq | BinOp::Ne => {
            let other: Option<&str> = match r {
                Obj::Str(o) => o.as_deref(),
                _ => None,
            };
            let eq = s == other;
            it.mk_bool(if op == BinOp::Eq { eq } else { !eq })
        }
        _ => Err(expression_unsupported("STRING", op)),
    }
}

fn double_op(it: &mut Interp, op: BinOp, a: f64, r: &Obj) -> Result<Val> {
    if matches!(r, Obj::Null) {
        return match op {
            BinOp::Eq => it.mk_bool(false),
            BinOp::Ne => it.mk_bool(true),
            _ => Err(unsupported(format!(
                "DOUBLE DO NOT support {} for rhs with NULL value",
                op.name()
            ))),
        };
    }
    if let Obj::Str(_) = r {
        let text = double_to_string(a);
        it.mk_str(text.as_str())?;
        return string_op(it, op, Some(&text), r);
    }
    let b = match r {
        Obj::Long(b) => *b as f64,
        Obj::Double(b) => *b,
        Obj::Void => {
            return Err(crate::error::null_pointer(
                "Cannot invoke \"java.lang.Number.doubleValue()\" because the return value of \"com.netflix.sel.type.SelType.getInternalVal()\" is null",
            ));
        }
        Obj::Uuid(_) | Obj::Error(_) | Obj::Params | Obj::Util | Obj::Misc | Obj::Math => {
            internal_is_null(r)?;
            return Err(cast_error(r, "java.lang.Number"));
        }
        other => return Err(cast_error(other, "java.lang.Number")),
    };
    match op {
        BinOp::Eq => it.mk_bool(a == b),
        BinOp::Ne => it.mk_bool(a != b),
        BinOp::Lt => it.mk_bool(a < b),
        BinOp::Gt => it.mk_bool(a > b),
        BinOp::Le => it.mk_bool(a <= b),
        BinOp::Ge => it.mk_bool(a >= b),
        BinOp::Add => it.mk_double(a + b),
        BinOp::Sub => it.mk_double(a - b),
        BinOp::Mul => it.mk_double(a * b),
        BinOp::Div => it.mk_double(a / b),
        BinOp::Mod => it.mk_double(a % b),
        BinOp::Plus => it.mk_double(a),
        BinOp::Minus => it.mk_double(-a),
        _ => Err(unsupported(format!(
            "float/Float/double/Doubles DO NOT support expression operation {}",
            op.name()
        ))),
    }
}

fn binary_obj(it: &mut Interp, op: BinOp, l: &Obj, r: &Obj) -> Result<Val> {
    match l {
        Obj::Null => match op {
            BinOp::Eq => {
                let n = internal_is_null(r)?;
                it.mk_bool(n)
            }
            BinOp::Ne => {
                let n = internal_is_null(r)?;
                it.mk_bool(!n)
            }
            BinOp::Lt | BinOp::Gt => it.mk_bool(false),
            BinOp::Add => {
                let rest = java_string(it, r)?;
                it.mk_str(format!("null{rest}"))
            }
            _ => Err(expression_unsupported("NULL", op)),
        },
        Obj::Str(s) => string_op(it, op, s.as_deref(), r),
        Obj::Long(a) => {
            let a = *a;
            match r {
                Obj::Null if matches!(op, BinOp::Eq | BinOp::Ne) => it.mk_bool(op == BinOp::Ne),
                Obj::Double(_) => {
                    it.mk_double(a as f64)?;
                    double_op(it, op, a as f64, r)
                }
                Obj::Str(_) => {
                    let text = a.to_string();
                    it.mk_str(text.as_str())?;
                    string_op(it, op, Some(&text), r)
                }
                Obj::Long(b) => {
                    let b = *b;
                    match op {
                        BinOp::Eq => it.mk_bool(a == b),
                        BinOp::Ne => it.mk_bool(a != b),
                        BinOp::Lt => it.mk_bool(a < b),
                        BinOp::Gt => it.mk_bool(a > b),
                        BinOp::Le => it.mk_bool(a <= b),
                        BinOp::Ge => it.mk_bool(a >= b),
                        BinOp::Add => it.mk_long(a.wrapping_add(b)),
                        BinOp::Sub => it.mk_long(a.wrapping_sub(b)),
                        BinOp::Mul => it.mk_long(a.wrapping_mul(b)),
                        BinOp::Div => {
                            if b == 0 {
                                return Err(div_zero());
                            }
                            it.mk_long(a.wrapping_div(b))
                        }
                        BinOp::Mod => {
                            if b == 0 {
                                return Err(div_zero());
                            }
                            it.mk_long(a.wrapping_rem(b))
                        }
                        BinOp::Plus => it.mk_long(a),
                        BinOp::Minus => it.mk_long(a.wrapping_neg()),
                        _ => Err(unsupported(format!(
                            "int/Integer/long/Long DO NOT support expression operation {}",
                            op.name()
                        ))),
                    }
                }
                other => Err(type_mismatch("LONG", other.type_name())),
            }
        }
        Obj::Double(a) => double_op(it, op, *a, r),
        Obj::Bool(a) => {
            let a = *a;
            match r {
                Obj::Null if matches!(op, BinOp::Eq | BinOp::Ne) => it.mk_bool(op == BinOp::Ne),
                Obj::Bool(b) => {
                    let b = *b;
                    match op {
                        BinOp::And => it.mk_bool(a && b),
                        BinOp::Or => it.mk_bool(a || b),
                        BinOp::Eq => it.mk_bool(a == b),
                        BinOp::Ne => it.mk_bool(a != b),
                        BinOp::Not => it.mk_bool(!a),
                        _ => Err(expression_unsupported("BOOLEAN", op)),
                    }
                }
                other => Err(type_mismatch("BOOLEAN", other.type_name())),
            }
        }
        other => Err(expression_unsupported(other.type_name(), op)),
    }
}

fn assignment_unsupported(ty: &str, op: AssignOp) -> Error {
    unsupported(format!(
        "{ty} DO NOT support assignment operation {}",
        op.text()
    ))
}

/// `lhs op= rhs`: writes into the `lhs` box.
pub(crate) fn assign(it: &mut Interp, lhs: &Val, op: AssignOp, rhs: &Val) -> Result<()> {
    let l = lhs.borrow().clone();
    let r = rhs.borrow().clone();
    let check = |want: &str| -> Result<()> {
        if want != r.type_name() {
            return Err(type_mismatch(want, r.type_name()));
        }
        Ok(())
    };
    let new = match (&l, op) {
        (Obj::Str(_), AssignOp::Assign) => {
            check("STRING")?;
            r.clone()
        }
        (Obj::Str(s), AssignOp::Add) => {
            let rest = java_string(it, &r)?;
            it.charge_bytes(2 * crate::java::text::utf16_len(&rest) as u64)?;
            let mut out = String::from(s.as_deref().unwrap_or("null"));
            out.push_str(&rest);
            Obj::Str(Some(Arc::from(out)))
        }
        (Obj::Str(_), _) => return Err(assignment_unsupported("STRING", op)),
        (Obj::Long(a), _) => {
            check("LONG")?;
            let Obj::Long(b) = r else { return Ok(()) };
            let a = *a;
            Obj::Long(match op {
                AssignOp::Assign => b,
                AssignOp::Add => a.wrapping_add(b),
                AssignOp::Sub => a.wrapping_sub(b),
                AssignOp::Mul => a.wrapping_mul(b),
                AssignOp::Div => {
                    if b == 0 {
                        return Err(div_zero());
                    }
                    a.wrapping_div(b)
                }
                AssignOp::Mod => {
                    if b == 0 {
                        return Err(div_zero());
                    }
                    a.wrapping_rem(b)
                }
            })
        }
        (Obj::Double(a), _) => {
            check("DOUBLE")?;
            let Obj::Double(b) = r else { return Ok(()) };
            let a = *a;
            Obj::Double(match op {
                AssignOp::Assign => b,
                AssignOp::Add => a + b,
                AssignOp::Sub => a - b,
                AssignOp::Mul => a * b,
                AssignOp::Div => a / b,
                AssignOp::Mod => a % b,
            })
        }
        (Obj::Bool(_), AssignOp::Assign) => {
            check("BOOLEAN")?;
            r.clone()
        }
        (
            Obj::Array(..)
            | Obj::Map(_)
            | Obj::DateTime(_)
            | Obj::Zone(_)
            | Obj::Formatter(_)
            | Obj::Property(_)
            | Obj::Days(_),
            AssignOp::Assign,
        ) => {
            check(l.type_name())?;
            r.clone()
        }
        (Obj::Bool(_), _) => return Err(assignment_unsupported("boolean/Boolean", op)),
        (other, _) => return Err(assignment_unsupported(other.type_name(), op)),
    };
    *lhs.borrow_mut() = new;
    Ok(())
}
