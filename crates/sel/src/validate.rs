//! Variable discovery: SEL's `validate`, which Maestro uses to learn which parameters an
//! expression reads so that it binds (and evaluates) only those (§7.2). A name counts as read
//! when its first appearance, in source order, is a read rather than a declaration or
//! assignment target; the built-in class names are never reported.

use crate::ast::*;
use crate::interp::is_static_class_name;
use std::collections::HashMap;

struct Walk<'a> {
    program: &'a Program,
    seen: HashMap<NameId, bool>,
}

impl Walk<'_> {
    fn target(&mut self, id: NameId) {
        self.seen.entry(id).or_insert(false);
    }

    fn read(&mut self, id: NameId) {
        self.seen.entry(id).or_insert(true);
    }

    fn decl(&mut self, d: &Decl) {
        for (id, init) in &d.vars {
            self.target(*id);
            if let Some(e) = init {
                self.expr(e);
            }
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        match &s.kind {
            StmtKind::Decl(d) => self.decl(d),
            StmtKind::Block(body) => body.iter().for_each(|s| self.stmt(s)),
            StmtKind::Expr(e) | StmtKind::Return(e) | StmtKind::Throw(e) => self.expr(e),
            StmtKind::If(c, t, e) => {
                self.expr(c);
                self.stmt(t);
                if let Some(e) = e {
                    self.stmt(e);
                }
            }
            StmtKind::While(c, b) => {
                self.expr(c);
                self.stmt(b);
            }
            StmtKind::For {
                init,
                cond,
                update,
                body,
            } => {
                match init {
                    Some(ForInit::Decl(d)) => self.decl(d),
                    Some(ForInit::Expr(e)) => self.expr(e),
                    None => {}
                }
                if let Some(c) = cond {
                    self.expr(c);
                }
                if let Some(u) = update {
                    self.expr(u);
                }
                self.stmt(body);
            }
            StmtKind::Break | StmtKind::Continue => {}
        }
    }

    fn expr(&mut self, e: &Expr) {
        crate::parser::grow(|| self.expr_inner(e))
    }

    fn expr_inner(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Lit(_) => {}
            ExprKind::Name(id) => self.read(*id),
            ExprKind::Assign {
                target,
                index,
                value,
                ..
            } => {
                self.target(*target);
                if let Some(i) = index {
                    self.expr(i);
                }
                self.expr(value);
            }
            ExprKind::Ternary(a, b, c) => {
                self.expr(a);
                self.expr(b);
                self.expr(c);
            }
            ExprKind::Binary(_, a, b) | ExprKind::Index(a, b) => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Unary(_, a) | ExprKind::Field(a, _) => self.expr(a),
            ExprKind::NewArray { len, .. } => self.expr(len),
            ExprKind::New { args, .. } | ExprKind::NewArrayInit { elems: args, .. } => {
                args.iter().for_each(|a| self.expr(a))
            }
            ExprKind::Call(t, _, args) => {
                self.expr(t);
                args.iter().for_each(|a| self.expr(a));
            }
        }
    }
}

impl Program {
    /// The names this program reads before (or without) assigning them, sorted, without the
    /// built-in class names (`params` is reported).
    pub fn referenced_names(&self) -> Vec<String> {
        let mut w = Walk {
            program: self,
            seen: HashMap::new(),
        };
        for s in &self.body {
            w.stmt(s);
        }
        let mut out: Vec<String> = w
            .seen
            .iter()
            .filter(|(_, read)| **read)
            .filter_map(|(id, _)| w.program.names.get(id.0 as usize))
            .filter(|n| !is_static_class_name(n))
            .map(|n| n.to_string())
            .collect();
        out.sort();
        out
    }
}
