//! The tree-walking interpreter. It mirrors the reference visitor's observable behaviour: the
//! value of a program (last expression statement or `return`), the flat symbol table, the
//! per-AST-node mutable literals, the order of evaluation, and the sandbox accounting. The
//! operand stack is not materialised (values flow through return values), but its depth is
//! tracked push for push and pop for pop, so the stack limit trips exactly where the
//! reference's does, without its thread-poisoning bug.

use crate::ast::*;
use crate::error::{Error, JavaClass, LimitKind, Result, class_cast, illegal_arg, unsupported};
use crate::joda::{DateTime, Zone};
use crate::limits::Limits;
use crate::parser::grow;
use crate::rt::{Elem, Obj, Val, new_val};
use crate::value::Value;
use crate::{ParamsExtension, ops};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

/// What evaluation needs from its caller.
pub(crate) struct Env<'a> {
    pub limits: Limits,
    pub now_millis: Option<i64>,
    pub default_zone: Zone,
    pub inputs: &'a HashMap<String, Value>,
    pub extension: Option<&'a dyn ParamsExtension>,
}

/// The reference visitor's control signal, carrying the pushed value where there is one.
pub(crate) enum Flow {
    None,
    Data(Val),
    Return(Val),
    Break,
    Continue,
}

pub(crate) struct Interp<'a> {
    pub program: &'a Program,
    pub env: &'a Env<'a>,
    vars: Vec<Option<Val>>,
    lits: Vec<Option<Val>>,
    sp: u64,
    visits: u64,
    memory: u64,
    started: Instant,
    now: Option<i64>,
    null: Val,
}

/// Names bound in every evaluation (§6.1). Each evaluation gets its own objects, so that
/// assigning to one (`Long = 5;`) cannot leak into other evaluations as it does in the reference.
fn builtin(name: &str) -> Option<Obj> {
    Some(match name {
        "String" => Obj::Str(None),
        "Long" | "Integer" => Obj::Long(0),
        "Double" | "Float" => Obj::Double(0.0),
        "Boolean" => Obj::Bool(false),
        "Map" | "HashMap" | "LinkedHashMap" => Obj::Map(None),
        "DateTime" => Obj::DateTime(None),
        "DateTimeZone" => Obj::Zone(None),
        "DateTimeFormatter" | "DateTimeFormat" => Obj::Formatter(None),
        "Property" => Obj::Property(None),
        "Days" => Obj::Days(None),
        "UUID" => Obj::Uuid(None),
        "Math" => Obj::Math,
        "Util" => Obj::Util,
        "System" | "Arrays" | "DateTimeConstants" => Obj::Misc,
        "params" => Obj::Params,
        _ => return None,
    })
}

/// Names that `validate` never reports (the reference's static class names).
pub(crate) fn is_static_class_name(name: &str) -> bool {
    name != "params" && builtin(name).is_some()
        || matches!(name, "int" | "long" | "float" | "double" | "boolean")
}

impl<'a> Interp<'a> {
    pub fn new(program: &'a Program, env: &'a Env<'a>) -> Self {
        Interp {
            program,
            env,
            vars: vec![None; program.names.len()],
            lits: vec![None; program.literals.len()],
            sp: 0,
            visits: 0,
            memory: 0,
            started: Instant::now(),
            now: None,
            null: new_val(Obj::Null),
        }
    }

    // ---- accounting ----

    fn visit(&mut self, n: u32) -> Result<()> {
        let before = self.visits;
        self.visits += n as u64;
        if self.visits >= self.env.limits.visit {
            return Err(Error::Limit {
                limit: LimitKind::Visit,
                message: format!(
                    "SEL evaluation aborted as it takes too many operations over the limit {}",
                    self.env.limits.visit
                ),
            });
        }
        if before >> 12 != self.visits >> 12 {
            self.check_time()?;
        }
        Ok(())
    }

    /// Fails once the wall-clock limit has passed.
    pub fn check_time(&self) -> Result<()> {
        if let Some(limit) = self.env.limits.time
            && self.started.elapsed() > limit
        {
            return Err(Error::Timeout {
                millis: limit.as_millis() as u64,
            });
        }
        Ok(())
    }

    fn push(&mut self) -> Result<()> {
        self.sp += 1;
        if self.sp > self.env.limits.stack {
            return Err(Error::Limit {
                limit: LimitKind::Stack,
                message: format!("Array index out of range: {}", self.env.limits.stack),
            });
        }
        Ok(())
    }

    fn pop(&mut self, n: u64) {
        self.sp = self.sp.saturating_sub(n);
    }

    /// Counts an allocation of `extra` bytes plus the 32-byte object header, as the
    /// reference's memory counter does.
    pub fn charge(&mut self, extra: u64) -> Result<()> {
        self.memory = self.memory.saturating_add(32).saturating_add(extra);
        if self.memory >= self.env.limits.memory {
            return Err(Error::Limit {
                limit: LimitKind::Memory,
                message: format!(
                    "SEL evaluation aborted as it takes too much memory (in byte) over the limit {}",
                    self.env.limits.memory
                ),
            });
        }
        Ok(())
    }

    /// Counts string bytes without an object (growth of an existing string).
    pub fn charge_bytes(&mut self, bytes: u64) -> Result<()> {
        self.memory = self.memory.saturating_add(bytes);
        if self.memory >= self.env.limits.memory {
            return self.charge(0);
        }
        Ok(())
    }

    /// Bytes left before the memory limit (for bounding intermediate text).
    pub fn memory_left(&self) -> u64 {
        self.env.limits.memory.saturating_sub(self.memory)
    }

    /// A new object, counted.
    pub fn mk(&mut self, obj: Obj) -> Result<Val> {
        let extra = match &obj {
            Obj::Str(Some(s)) | Obj::Error(s) => 2 * crate::java::text::utf16_len(s) as u64,
            _ => 0,
        };
        self.charge(extra)?;
        Ok(new_val(obj))
    }

    pub fn mk_str(&mut self, s: impl Into<Arc<str>>) -> Result<Val> {
        self.mk(Obj::Str(Some(s.into())))
    }

    pub fn mk_long(&mut self, v: i64) -> Result<Val> {
        self.mk(Obj::Long(v))
    }

    pub fn mk_bool(&mut self, v: bool) -> Result<Val> {
        self.mk(Obj::Bool(v))
    }

    pub fn mk_double(&mut self, v: f64) -> Result<Val> {
        self.mk(Obj::Double(v))
    }

    pub fn null(&self) -> Val {
        self.null.clone()
    }

    /// The clock (fixed by the caller or the wall clock), read once per evaluation.
    pub fn now(&mut self) -> i64 {
        if let Some(n) = self.now {
            return n;
        }
        let n = self.env.now_millis.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0)
        });
        self.now = Some(n);
        n
    }

    // ---- names ----

    fn literal(&mut self, id: LitId) -> Val {
        let i = id.0 as usize;
        if let Some(Some(v)) = self.lits.get(i) {
            return v.clone();
        }
        let obj = match self.program.literals.get(i) {
            Some(Const::Long(v)) => Obj::Long(*v),
            Some(Const::Double(v)) => Obj::Double(*v),
            Some(Const::Str(s)) => Obj::Str(Some(s.clone())),
            Some(Const::Bool(b)) => Obj::Bool(*b),
            Some(Const::Null) | None => return self.null(),
        };
        let v = new_val(obj);
        if let Some(slot) = self.lits.get_mut(i) {
            *slot = Some(v.clone());
        }
        v
    }

    fn name(&self, id: NameId) -> &str {
        self.program
            .names
            .get(id.0 as usize)
            .map(|s| &**s)
            .unwrap_or("")
    }

    /// The reference's `state.get(name)`: symbol table, built-ins, inputs (boxed once), NULL.
    fn lookup(&mut self, id: NameId) -> Result<Val> {
        if let Some(Some(v)) = self.vars.get(id.0 as usize) {
            return Ok(v.clone());
        }
        let name = self.name(id).to_string();
        if let Some(obj) = builtin(&name) {
            let v = new_val(obj);
            self.vars[id.0 as usize] = Some(v.clone());
            return Ok(v);
        }
        if let Some(input) = self.env.inputs.get(&name) {
            let v = self.box_value(input)?;
            self.vars[id.0 as usize] = Some(v.clone());
            return Ok(v);
        }
        Ok(self.null())
    }

    /// The reference's `createIfMissing`: binds a fresh default object of `rhs`'s type to an
    /// unbound name before a plain assignment.
    fn create_if_missing(&mut self, id: NameId, rhs: &Val) -> Result<()> {
        if let Some(Some(_)) = self.vars.get(id.0 as usize) {
            return Ok(());
        }
        let name = self.name(id).to_string();
        if builtin(&name).is_some() || self.env.inputs.contains_key(&name) {
            self.lookup(id)?;
            return Ok(());
        }
        let obj = match &*rhs.borrow() {
            Obj::Str(_) => Obj::Str(None),
            Obj::Long(_) => Obj::Long(0),
            Obj::Double(_) => Obj::Double(0.0),
            Obj::Bool(_) => Obj::Bool(false),
            Obj::Array(e, _) => Obj::Array(*e, Default::default()),
            Obj::Map(_) => Obj::Map(None),
            Obj::DateTime(_) => Obj::DateTime(None),
            Obj::Zone(_) => Obj::Zone(None),
            Obj::Formatter(_) => Obj::Formatter(None),
            Obj::Property(_) => Obj::Property(None),
            Obj::Days(_) => Obj::Days(None),
            Obj::Uuid(_) => Obj::Uuid(None),
            other => {
                return Err(unsupported(format!(
                    "Not support creating an empty object for type {}",
                    other.type_name()
                )));
            }
        };
        let v = self.mk(obj)?;
        self.vars[id.0 as usize] = Some(v);
        Ok(())
    }

    // ---- types ----

    fn resolve(&self, t: &TypeName) -> Result<BaseType> {
        let Some(base) = t.base else {
            return Err(unsupported(format!(
                "Please check the manual for supported classes, which does not include class:  {}",
                t.name
            )));
        };
        if !t.array {
            return Ok(base);
        }
        Ok(match base {
            BaseType::String => BaseType::StringArray,
            BaseType::Long => BaseType::LongArray,
            BaseType::Double => BaseType::DoubleArray,
            BaseType::Boolean => BaseType::BooleanArray,
            other => {
                return Err(illegal_arg(format!(
                    "Cannot create an array of {}",
                    other.name()
                )));
            }
        })
    }

    fn default_value(&mut self, ty: BaseType) -> Result<Val> {
        let obj = match ty {
            BaseType::String => Obj::Str(None),
            BaseType::Long => Obj::Long(0),
            BaseType::Double => Obj::Double(0.0),
            BaseType::Boolean => Obj::Bool(false),
            BaseType::StringArray => Obj::Array(Elem::Str, Default::default()),
            BaseType::LongArray => Obj::Array(Elem::Long, Default::default()),
            BaseType::DoubleArray => Obj::Array(Elem::Double, Default::default()),
            BaseType::BooleanArray => Obj::Array(Elem::Bool, Default::default()),
            BaseType::Map => Obj::Map(None),
            BaseType::DateTime => Obj::DateTime(None),
            BaseType::DateTimeZone => Obj::Zone(None),
            BaseType::DateTimeFormatter => Obj::Formatter(None),
            BaseType::DateTimeProperty => Obj::Property(None),
            BaseType::DateTimeDays => Obj::Days(None),
            BaseType::Uuid => Obj::Uuid(None),
        };
        self.mk(obj)
    }

    fn elem_of(ty: BaseType) -> Result<Elem> {
        Ok(match ty {
            BaseType::String => Elem::Str,
            BaseType::Long => Elem::Long,
            BaseType::Double => Elem::Double,
            BaseType::Boolean => Elem::Bool,
            other => {
                return Err(unsupported(format!(
                    "NOT support creating an array with the element type {}",
                    other.name()
                )));
            }
        })
    }

    /// A new array of `n` default elements.
    pub fn new_array(&mut self, elem: Elem, n: usize) -> Result<Val> {
        self.charge(0)?;
        let mut items = Vec::with_capacity(n.min(1 << 16));
        for _ in 0..n {
            self.charge(0)?;
            items.push(new_val(elem.default_obj()));
        }
        Ok(new_val(Obj::Array(
            elem,
            Rc::new(std::cell::RefCell::new(items)),
        )))
    }

    // ---- program ----

    pub fn run(&mut self) -> Result<Val> {
        self.visit(self.program.root_visits)?;
        let mut res = Flow::None;
        for s in &self.program.body {
            if let Flow::Data(_) = res {
                self.pop(1);
            }
            res = self.exec(s)?;
            if let Flow::Return(v) = res {
                res = Flow::Data(v);
                break;
            }
        }
        match res {
            Flow::Data(v) => {
                self.pop(1);
                if self.sp != 0 {
                    return Err(Error::runtime(
                        JavaClass::RuntimeException,
                        "Invalid expression (stack is not empty)",
                    ));
                }
                Ok(v)
            }
            Flow::None => Ok(new_val(Obj::Void)),
            Flow::Break | Flow::Continue => Err(Error::runtime(
                JavaClass::RuntimeException,
                format!(
                    "Invalid expression with wrong return type: {}",
                    if matches!(res, Flow::Break) {
                        "BREAK"
                    } else {
                        "CONTINUE"
                    }
                ),
            )),
            Flow::Return(_) => Err(Error::runtime(JavaClass::RuntimeException, "unreachable")),
        }
    }

    fn exec(&mut self, s: &Stmt) -> Result<Flow> {
        grow(|| self.exec_inner(s))
    }

    fn exec_inner(&mut self, s: &Stmt) -> Result<Flow> {
        if let StmtKind::Decl(d) = &s.kind {
            return self.exec_decl(d);
        }
        self.visit(s.visits)?;
        // A Statement node discards the previous statement's leftover operand.
        if self.sp > 0 {
            self.sp -= 1;
        }
        match &s.kind {
            StmtKind::Decl(_) => Ok(Flow::None),
            StmtKind::Block(body) => {
                let mut res = Flow::None;
                for st in body {
                    res = self.exec(st)?;
                    if matches!(res, Flow::Break | Flow::Continue | Flow::Return(_)) {
                        return Ok(res);
                    }
                }
                Ok(res)
            }
            StmtKind::Expr(e) => Ok(Flow::Data(self.eval(e)?)),
            StmtKind::If(cond, then, els) => {
                let res = if self.eval_cond(cond)? {
                    self.exec(then)?
                } else if let Some(e) = els {
                    self.exec(e)?
                } else {
                    Flow::None
                };
                Ok(match res {
                    Flow::Data(_) => {
                        self.pop(1);
                        Flow::None
                    }
                    other => other,
                })
            }
            StmtKind::While(cond, body) => self.run_loop(Some(cond), body, None, false),
            StmtKind::For {
                init,
                cond,
                update,
                body,
            } => {
                match init {
                    Some(ForInit::Decl(d)) => {
                        self.visit(1)?;
                        self.exec_decl(d)?;
                    }
                    Some(ForInit::Expr(e)) => {
                        self.visit(1)?;
                        self.eval(e)?;
                        self.pop(1);
                    }
                    None => {
                        // The reference evaluates a `true` literal in place of the missing init
                        // and leaves it on the operand stack.
                        self.visit(1)?;
                        self.push()?;
                    }
                }
                self.run_loop(cond.as_ref(), body, update.as_ref(), true)
            }
            StmtKind::Break => Ok(Flow::Break),
            StmtKind::Continue => Ok(Flow::Continue),
            StmtKind::Return(e) => Ok(Flow::Return(self.eval(e)?)),
            StmtKind::Throw(e) => {
                let v = self.eval(e)?;
                self.pop(1);
                let msg = match &*v.borrow() {
                    Obj::Str(s) => s.clone(),
                    other => {
                        return Err(illegal_arg(format!(
                            "Can only throw a string error message. Invalid thrown object {}",
                            crate::stdlib::sel_string_of(other)
                        )));
                    }
                };
                let err = self.mk(Obj::Error(msg.unwrap_or_else(|| Arc::from("null"))))?;
                self.push()?;
                Ok(Flow::Return(err))
            }
        }
    }

    fn run_loop(
        &mut self,
        cond: Option<&Expr>,
        body: &Stmt,
        update: Option<&Expr>,
        is_for: bool,
    ) -> Result<Flow> {
        let mut count: u64 = 0;
        loop {
            let go = match cond {
                Some(c) => self.eval_cond(c)?,
                None => {
                    self.visit(1)?;
                    self.push()?;
                    self.pop(1);
                    true
                }
            };
            if !go {
                return Ok(Flow::None);
            }
            match self.exec(body)? {
                Flow::Data(_) => self.pop(1),
                Flow::Return(v) => return Ok(Flow::Return(v)),
                Flow::Break => return Ok(Flow::None),
                Flow::None | Flow::Continue => {}
            }
            if is_for {
                self.visit(1)?;
                match update {
                    Some(u) => {
                        self.eval(u)?;
                        self.pop(1);
                    }
                    // The missing update is a `true` literal the reference leaves on the stack.
                    None => self.push()?,
                }
            }
            count += 1;
            if count >= self.env.limits.loop_ {
                return Err(Error::Limit {
                    limit: LimitKind::Loop,
                    message: format!(
                        "Loop execution aborted as the iteration is over the loop limit {}",
                        self.env.limits.loop_
                    ),
                });
            }
        }
    }

    fn exec_decl(&mut self, d: &Decl) -> Result<Flow> {
        self.visit(3)?;
        let ty = self.resolve(&d.ty)?;
        self.push()?;
        for (id, init) in &d.vars {
            self.visit(2)?;
            let v = match init {
                Some(e) => {
                    let v = self.eval(e)?;
                    self.pop(1);
                    let rhs_type = v.borrow().type_name();
                    if rhs_type != ty.name() {
                        return Err(type_mismatch(ty.name(), rhs_type));
                    }
                    v
                }
                None => self.default_value(ty)?,
            };
            self.vars[id.0 as usize] = Some(v);
        }
        self.pop(1);
        Ok(Flow::None)
    }

    fn eval_cond(&mut self, e: &Expr) -> Result<bool> {
        let v = self.eval(e)?;
        self.pop(1);
        let b = match &*v.borrow() {
            Obj::Bool(b) => *b,
            other => return Err(cast_error(other, "com.netflix.sel.type.SelBoolean")),
        };
        Ok(b)
    }

    // ---- expressions ----

    pub(crate) fn eval(&mut self, e: &Expr) -> Result<Val> {
        grow(|| self.eval_inner(e))
    }

    fn eval_args(&mut self, args: &[Expr]) -> Result<Vec<Val>> {
        let mut out = Vec::with_capacity(args.len());
        for a in args {
            out.push(self.eval(a)?);
        }
        Ok(out)
    }

    fn eval_inner(&mut self, e: &Expr) -> Result<Val> {
        self.visit(e.visits)?;
        match &e.kind {
            ExprKind::Lit(id) => {
                self.push()?;
                Ok(self.literal(*id))
            }
            ExprKind::Name(id) => {
                self.push()?;
                self.lookup(*id)
            }
            ExprKind::Assign {
                target,
                index,
                op,
                value,
            } => {
                let idx = match index {
                    Some(i) => Some(self.eval(i)?),
                    None => None,
                };
                let rhs = self.eval(value)?;
                self.pop(1);
                let lhs = match idx {
                    Some(idx) => {
                        self.pop(1);
                        let i = match &*idx.borrow() {
                            Obj::Long(i) => *i as i32,
                            other => return Err(cast_error(other, "com.netflix.sel.type.SelLong")),
                        };
                        let arr = self.lookup(*target)?;
                        self.element(&arr, i)?
                    }
                    None => {
                        if *op == AssignOp::Assign {
                            self.create_if_missing(*target, &rhs)?;
                        }
                        self.lookup(*target)?
                    }
                };
                ops::assign(self, &lhs, *op, &rhs)?;
                self.push()?;
                Ok(lhs)
            }
            ExprKind::Ternary(c, a, b) => {
                if self.eval_cond(c)? {
                    self.eval(a)
                } else {
                    self.eval(b)
                }
            }
            ExprKind::Binary(op, l, r) => {
                let a = self.eval(l)?;
                let b = self.eval(r)?;
                self.pop(2);
                let v = ops::binary(self, *op, &a, &b)?;
                self.push()?;
                Ok(v)
            }
            ExprKind::Unary(op, x) => {
                let a = self.eval(x)?;
                self.pop(1);
                let v = ops::binary(self, *op, &a, &a)?;
                self.push()?;
                Ok(v)
            }
            ExprKind::New { class, args } => {
                let ty = self.resolve(class)?;
                self.push()?;
                let vals = self.eval_args(args)?;
                self.pop(args.len() as u64 + 1);
                let v = crate::stdlib::construct(self, ty, &vals)?;
                self.push()?;
                Ok(v)
            }
            ExprKind::NewArray { elem, len } => {
                let ty = self.resolve(elem)?;
                self.push()?;
                let n = self.eval(len)?;
                self.pop(2);
                let n = match &*n.borrow() {
                    Obj::Long(n) => *n as i32,
                    other => return Err(cast_error(other, "com.netflix.sel.type.SelLong")),
                };
                if n as i128 >= self.env.limits.array as i128 {
                    return Err(Error::Limit {
                        limit: LimitKind::Array,
                        message: format!(
                            "New array size is over the limit: {} vs length: {n}",
                            self.env.limits.array
                        ),
                    });
                }
                let elem = Self::elem_of(ty)?;
                if n < 0 {
                    return Err(Error::runtime(
                        JavaClass::NegativeArraySizeException,
                        n.to_string(),
                    ));
                }
                let v = self.new_array(elem, n as usize)?;
                self.push()?;
                Ok(v)
            }
            ExprKind::NewArrayInit { elem, elems } => {
                let ty = self.resolve(elem)?;
                self.push()?;
                if elems.len() as u64 >= self.env.limits.array {
                    return Err(Error::Limit {
                        limit: LimitKind::Array,
                        message: format!(
                            "New array size is over the limit: {} vs length: {}",
                            self.env.limits.array,
                            elems.len()
                        ),
                    });
                }
                let vals = self.eval_args(elems)?;
                let elem = Self::elem_of(ty)?;
                let arr = self.new_array(elem, vals.len())?;
                if let Obj::Array(_, items) = &*arr.borrow() {
                    let items = items.borrow();
                    for (slot, v) in items.iter().zip(vals.iter()).rev() {
                        ops::assign(self, slot, AssignOp::Assign, v)?;
                    }
                }
                self.pop(vals.len() as u64 + 1);
                self.push()?;
                Ok(arr)
            }
            ExprKind::Index(t, i) => {
                let tv = self.eval(t)?;
                let iv = self.eval(i)?;
                self.pop(2);
                let idx = iv.borrow().clone();
                let v = match idx {
                    Obj::Long(i) => self.element(&tv, i as i32)?,
                    Obj::Str(key) => {
                        if !matches!(&*tv.borrow(), Obj::Params) {
                            return Err(cast_error(&tv.borrow(), "com.netflix.sel.type.SelParams"));
                        }
                        crate::stdlib::params::field(self, key.as_deref())?
                    }
                    other => {
                        return Err(illegal_arg(format!(
                            "Invalid index type: {}",
                            other.type_name()
                        )));
                    }
                };
                self.push()?;
                Ok(v)
            }
            ExprKind::Field(t, name) => {
                let tv = self.eval(t)?;
                self.push()?;
                self.pop(2);
                let v = crate::stdlib::field(self, &tv, name)?;
                self.push()?;
                Ok(v)
            }
            ExprKind::Call(t, name, args) => {
                let tv = self.eval(t)?;
                self.push()?;
                let vals = self.eval_args(args)?;
                self.pop(args.len() as u64 + 2);
                let v = crate::stdlib::call(self, &tv, name, &vals)?;
                if matches!(&*v.borrow(), Obj::Void) {
                    return Err(unsupported(format!(
                        "void return method {name} is not supported yet"
                    )));
                }
                self.push()?;
                Ok(v)
            }
        }
    }

    /// `array.get(i)`: the element box itself.
    fn element(&mut self, arr: &Val, i: i32) -> Result<Val> {
        let b = arr.borrow();
        let Obj::Array(_, items) = &*b else {
            return Err(cast_error(&b, "com.netflix.sel.type.SelArray"));
        };
        let items = items.borrow();
        if i < 0 || i as usize >= items.len() {
            return Err(Error::runtime(
                JavaClass::ArrayIndexOutOfBoundsException,
                format!("Index {i} out of bounds for length {}", items.len()),
            ));
        }
        Ok(items[i as usize].clone())
    }

    // ---- boxing ----

    /// Boxes a caller value into fresh SEL objects (deep copy), counting memory.
    pub fn box_value(&mut self, v: &Value) -> Result<Val> {
        Ok(match v {
            Value::Null => self.null(),
            Value::Void => new_val(Obj::Void),
            Value::String(s) => {
                let obj = Obj::Str(s.as_deref().map(Arc::from));
                self.mk(obj)?
            }
            Value::Long(x) => self.mk_long(*x)?,
            Value::Double(x) => self.mk_double(*x)?,
            Value::Boolean(x) => self.mk_bool(*x)?,
            Value::StringArray(xs) => {
                let mut items = Vec::with_capacity(xs.len());
                for x in xs {
                    items.push(self.mk(Obj::Str(x.as_deref().map(Arc::from)))?);
                }
                self.array_of(Elem::Str, items)?
            }
            Value::LongArray(xs) => {
                let mut items = Vec::with_capacity(xs.len());
                for x in xs {
                    items.push(self.mk_long(*x)?);
                }
                self.array_of(Elem::Long, items)?
            }
            Value::DoubleArray(xs) => {
                let mut items = Vec::with_capacity(xs.len());
                for x in xs {
                    items.push(self.mk_double(*x)?);
                }
                self.array_of(Elem::Double, items)?
            }
            Value::BooleanArray(xs) => {
                let mut items = Vec::with_capacity(xs.len());
                for x in xs {
                    items.push(self.mk_bool(*x)?);
                }
                self.array_of(Elem::Bool, items)?
            }
            Value::Map(None) => self.mk(Obj::Map(None))?,
            Value::Map(Some(m)) => self.box_map(m, 0)?,
            Value::DateTime(d) => self.mk(Obj::DateTime(d.clone()))?,
            Value::DateTimeZone(z) => {
                return Err(unsupported(format!(
                    "Return type class org.joda.time.DateTimeZone is not supported. ({})",
                    z.as_ref().map(|z| z.id()).unwrap_or("null")
                )));
            }
            Value::DateTimeProperty(p) => self.mk(Obj::Property(p.clone()))?,
            Value::DateTimeFormatter
            | Value::DateTimeDays(_)
            | Value::Uuid(_)
            | Value::Helper(_) => {
                return Err(unsupported(format!(
                    "Not support to box an object for type {}",
                    v.type_name()
                )));
            }
        })
    }

    fn box_map(&mut self, m: &indexmap::IndexMap<String, Value>, depth: u32) -> Result<Val> {
        if depth > 256 {
            return Err(illegal_arg(
                "Invalid map entry type (nested too deeply) for Map constructor",
            ));
        }
        let map = self.mk(Obj::Map(Some(Default::default())))?;
        let mut entries = indexmap::IndexMap::with_capacity(m.len());
        for (k, v) in m {
            let key: Option<Arc<str>> = Some(Arc::from(k.as_str()));
            self.charge(2 * crate::java::text::utf16_len(k) as u64)?;
            let boxed = match v {
                Value::String(Some(_))
                | Value::Long(_)
                | Value::Double(_)
                | Value::Boolean(_)
                | Value::StringArray(_)
                | Value::LongArray(_)
                | Value::DoubleArray(_)
                | Value::BooleanArray(_) => self.box_value(v)?,
                Value::Map(Some(inner)) => self.box_map(inner, depth + 1)?,
                other => {
                    let class = match other {
                        Value::Null | Value::String(None) | Value::Map(None) => "null",
                        Value::DateTime(_) => "org.joda.time.DateTime",
                        _ => "java.lang.Object",
                    };
                    return Err(illegal_arg(format!(
                        "Invalid map entry type ({class}) for Map constructor"
                    )));
                }
            };
            entries.insert(key, boxed);
        }
        if let Obj::Map(Some(data)) = &*map.borrow() {
            *data.borrow_mut() = entries;
        }
        Ok(map)
    }

    pub fn array_of(&mut self, elem: Elem, items: Vec<Val>) -> Result<Val> {
        self.charge(0)?;
        Ok(new_val(Obj::Array(
            elem,
            Rc::new(std::cell::RefCell::new(items)),
        )))
    }

    /// The default zone of this evaluation.
    pub fn default_zone(&self) -> Zone {
        self.env.default_zone.clone()
    }

    /// `new DateTime()` now.
    pub fn now_datetime(&mut self) -> DateTime {
        let now = self.now();
        DateTime::new(now, self.default_zone())
    }
}

/// `Type mismatch, lhs type: X, rhs object type: Y`.
pub(crate) fn type_mismatch(lhs: &str, rhs: &str) -> Error {
    illegal_arg(format!(
        "Type mismatch, lhs type: {lhs}, rhs object type: {rhs}"
    ))
}

/// The JVM's `ClassCastException` text for casting an SEL object to another SEL class.
pub(crate) fn cast_error(from: &Obj, to_class: &str) -> Error {
    class_cast(format!(
        "class {} cannot be cast to class {} ({} and {} are in unnamed module of loader 'app')",
        from.java_class(),
        to_class,
        from.java_class(),
        to_class
    ))
}
