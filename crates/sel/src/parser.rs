//! Hand-written recursive-descent parser for the SEL grammar (§3 of the reference). It accepts
//! exactly what the reference's JavaCC grammar accepts, including its two syntactic
//! look-aheads ("`Type IDENT` starts a declaration", "`IDENT ([expr])? op=` starts an
//! assignment"), and reports errors with line, column and the expected tokens.

use crate::ast::*;
use crate::error::{JavaClass, ParseError};
use crate::lexer::{Kw, Op, Tok, Token, tokenize};
use std::collections::HashMap;
use std::sync::Arc;

/// Deepest nesting the parser accepts; beyond it a program is rejected instead of risking the
/// host's stack. The reference's own length limit keeps real programs far below it.
const MAX_DEPTH: u32 = 2_000;

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    names: Vec<Arc<str>>,
    name_ids: HashMap<Arc<str>, NameId>,
    literals: Vec<Const>,
    depth: u32,
}

type PResult<T> = Result<T, ParseError>;

/// Runs a recursive step on a fresh stack segment when the current one runs low, so that
/// deeply nested (but length-limited) programs cannot overflow the host thread's stack.
pub(crate) fn grow<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, f)
}

fn describe(t: &Token) -> String {
    match &t.tok {
        Tok::Eof => "<EOF>".to_string(),
        Tok::Ident(_) => format!("<IDENTIFIER> \"{}\"", t.image),
        Tok::Int => format!("<INTEGER_LITERAL> \"{}\"", t.image),
        Tok::Float => format!("<FLOATING_POINT_LITERAL> \"{}\"", t.image),
        Tok::Str => format!("<STRING_LITERAL> \"{}\"", t.image),
        _ => format!("\"{}\"", t.image),
    }
}

fn is_assign_op(t: &Tok) -> Option<AssignOp> {
    Some(match t {
        Tok::Op(Op::Assign) => AssignOp::Assign,
        Tok::Op(Op::StarAssign) => AssignOp::Mul,
        Tok::Op(Op::SlashAssign) => AssignOp::Div,
        Tok::Op(Op::RemAssign) => AssignOp::Mod,
        Tok::Op(Op::PlusAssign) => AssignOp::Add,
        Tok::Op(Op::MinusAssign) => AssignOp::Sub,
        _ => return None,
    })
}

fn primitive_name(t: &Tok) -> Option<&'static str> {
    match t {
        Tok::Kw(Kw::Boolean) => Some("boolean"),
        Tok::Kw(Kw::Int) => Some("int"),
        Tok::Kw(Kw::Long) => Some("long"),
        Tok::Kw(Kw::Float) => Some("float"),
        Tok::Kw(Kw::Double) => Some("double"),
        _ => None,
    }
}

/// Decodes a string literal as the reference does after lexing: strip the quotes, decode the
/// simple escapes, and reject octal escapes.
fn unescape(image: &str) -> Result<String, String> {
    let chars: Vec<char> = image.chars().collect();
    if chars.len() < 2 {
        return Err(format!("Invalid escaped literal string: {image}"));
    }
    let inner = &chars[1..chars.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        let c = inner[i];
        if c == '\\' {
            let Some(&next) = inner.get(i + 1) else {
                return Err(format!("Invalid escaped literal string: {image}"));
            };
            out.push(match next {
                'b' => '\u{8}',
                'n' => '\n',
                't' => '\t',
                'f' => '\u{c}',
                'r' => '\r',
                '\\' => '\\',
                '"' => '"',
                '\'' => '\'',
                _ => return Err(format!("Invalid escaped literal string: {image}")),
            });
            i += 2;
        } else {
            out.push(c);
            i += 1;
        }
    }
    Ok(out)
}

impl Parser {
    fn peek(&self) -> &Token {
        // The token list always ends with Eof, and `pos` never moves past it.
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn peek_at(&self, off: usize) -> &Token {
        &self.toks[(self.pos + off).min(self.toks.len() - 1)]
    }

    fn advance(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn is_op(&self, op: Op) -> bool {
        self.peek().tok == Tok::Op(op)
    }

    fn error(&self, expected: &[&str]) -> ParseError {
        let t = self.peek();
        let expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        let found = if t.tok == Tok::Eof {
            "\"<EOF>\"".to_string()
        } else {
            format!("\" {} \"", describe(t))
        };
        let mut message = format!(
            "Encountered {found} at line {}, column {}.",
            t.line, t.column
        );
        if !expected.is_empty() {
            message.push_str(" Was expecting ");
            if expected.len() == 1 {
                message.push_str(&expected[0]);
            } else {
                message.push_str("one of: ");
                message.push_str(&expected.join(", "));
            }
        }
        ParseError {
            line: t.line,
            column: t.column,
            found: t.image.clone(),
            expected,
            class: JavaClass::ParseException,
            message,
        }
    }

    fn literal_error(&self, t: &Token, class: JavaClass, message: String) -> ParseError {
        ParseError {
            line: t.line,
            column: t.column,
            found: t.image.clone(),
            expected: Vec::new(),
            class,
            message,
        }
    }

    fn expect_op(&mut self, op: Op) -> PResult<()> {
        if self.is_op(op) {
            self.advance();
            Ok(())
        } else {
            Err(self.error(&[&format!("\"{}\"", op.text())]))
        }
    }

    fn expect_ident(&mut self) -> PResult<Arc<str>> {
        match &self.peek().tok {
            Tok::Ident(name) => {
                let name = name.clone();
                self.advance();
                Ok(name)
            }
            _ => Err(self.error(&["<IDENTIFIER>"])),
        }
    }

    fn intern(&mut self, name: &Arc<str>) -> NameId {
        if let Some(id) = self.name_ids.get(name) {
            return *id;
        }
        let id = NameId(self.names.len() as u32);
        self.names.push(name.clone());
        self.name_ids.insert(name.clone(), id);
        id
    }

    fn literal(&mut self, c: Const) -> LitId {
        self.literals.push(c);
        LitId((self.literals.len() - 1) as u32)
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let t = self.peek();
            return Err(ParseError {
                line: t.line,
                column: t.column,
                found: t.image.clone(),
                expected: Vec::new(),
                class: JavaClass::ParseException,
                message: format!(
                    "Expression is nested too deeply (more than {MAX_DEPTH} levels) at line {}, column {}.",
                    t.line, t.column
                ),
            });
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    // ---- program structure ----

    fn program(&mut self) -> PResult<Program> {
        let mut root_visits = 1;
        while self.peek().tok == Tok::Kw(Kw::Import) {
            self.import()?;
            root_visits += 1;
        }
        let mut body = Vec::new();
        while self.peek().tok != Tok::Eof {
            body.push(self.block_statement()?);
        }
        Ok(Program {
            body,
            root_visits,
            names: std::mem::take(&mut self.names),
            literals: std::mem::take(&mut self.literals),
        })
    }

    fn import(&mut self) -> PResult<()> {
        self.advance();
        if self.peek().tok == Tok::Kw(Kw::Static) {
            self.advance();
        }
        self.expect_ident()?;
        loop {
            if self.is_op(Op::Dot) && matches!(self.peek_at(1).tok, Tok::Ident(_)) {
                self.advance();
                self.advance();
            } else {
                break;
            }
        }
        if self.is_op(Op::Dot) {
            self.advance();
            self.expect_op(Op::Star)?;
        }
        self.expect_op(Op::Semi)
    }

    /// `Type IDENT` look-ahead of the reference.
    fn at_declaration(&self) -> bool {
        let first = &self.peek().tok;
        if primitive_name(first).is_none() && !matches!(first, Tok::Ident(_)) {
            return false;
        }
        let mut k = 1;
        if self.peek_at(1).tok == Tok::Op(Op::LBracket)
            && self.peek_at(2).tok == Tok::Op(Op::RBracket)
        {
            k = 3;
        }
        matches!(self.peek_at(k).tok, Tok::Ident(_))
    }

    fn block_statement(&mut self) -> PResult<Stmt> {
        if self.at_declaration() {
            let decl = self.declaration()?;
            self.expect_op(Op::Semi)?;
            Ok(Stmt {
                kind: StmtKind::Decl(decl),
                visits: 0,
            })
        } else {
            self.statement()
        }
    }

    fn type_name(&mut self) -> PResult<TypeName> {
        let t = self.peek().clone();
        let name: Arc<str> = match (&t.tok, primitive_name(&t.tok)) {
            (_, Some(p)) => Arc::from(p),
            (Tok::Ident(n), None) => n.clone(),
            _ => {
                return Err(self.error(&[
                    "\"boolean\"",
                    "\"int\"",
                    "\"long\"",
                    "\"float\"",
                    "\"double\"",
                    "<IDENTIFIER>",
                ]));
            }
        };
        self.advance();
        let mut array = false;
        if self.is_op(Op::LBracket) {
            self.advance();
            self.expect_op(Op::RBracket)?;
            array = true;
        }
        Ok(TypeName {
            base: BaseType::from_name(&name),
            name,
            array,
        })
    }

    fn declaration(&mut self) -> PResult<Decl> {
        let ty = self.type_name()?;
        let mut vars = Vec::new();
        loop {
            let name = self.expect_ident()?;
            let id = self.intern(&name);
            let init = if self.is_op(Op::Assign) {
                self.advance();
                Some(self.expression()?)
            } else {
                None
            };
            vars.push((id, init));
            if self.is_op(Op::Comma) {
                self.advance();
            } else {
                break;
            }
        }
        Ok(Decl { ty, vars })
    }

    fn statement(&mut self) -> PResult<Stmt> {
        self.enter()?;
        let s = grow(|| self.statement_inner());
        self.leave();
        s
    }

    fn statement_inner(&mut self) -> PResult<Stmt> {
        let t = self.peek().tok.clone();
        let kind = match t {
            Tok::Op(Op::LBrace) => {
                self.advance();
                let mut body = Vec::new();
                while !self.is_op(Op::RBrace) {
                    if self.peek().tok == Tok::Eof {
                        return Err(self.error(&["\"}\""]));
                    }
                    body.push(self.block_statement()?);
                }
                self.advance();
                StmtKind::Block(body)
            }
            Tok::Kw(Kw::If) => {
                self.advance();
                self.expect_op(Op::LParen)?;
                let cond = self.expression()?;
                self.expect_op(Op::RParen)?;
                let then = self.statement()?;
                let els = if self.peek().tok == Tok::Kw(Kw::Else) {
                    self.advance();
                    Some(Box::new(self.statement()?))
                } else {
                    None
                };
                StmtKind::If(cond, Box::new(then), els)
            }
            Tok::Kw(Kw::While) => {
                self.advance();
                self.expect_op(Op::LParen)?;
                let cond = self.expression()?;
                self.expect_op(Op::RParen)?;
                StmtKind::While(cond, Box::new(self.statement()?))
            }
            Tok::Kw(Kw::For) => {
                self.advance();
                self.expect_op(Op::LParen)?;
                let init = if self.is_op(Op::Semi) {
                    None
                } else if self.at_declaration() {
                    Some(ForInit::Decl(self.declaration()?))
                } else {
                    Some(ForInit::Expr(self.statement_expression()?))
                };
                self.expect_op(Op::Semi)?;
                let cond = if self.is_op(Op::Semi) {
                    None
                } else {
                    Some(self.expression()?)
                };
                self.expect_op(Op::Semi)?;
                let update = if self.is_op(Op::RParen) {
                    None
                } else {
                    Some(self.statement_expression()?)
                };
                self.expect_op(Op::RParen)?;
                let body = Box::new(self.statement()?);
                StmtKind::For {
                    init,
                    cond,
                    update,
                    body,
                }
            }
            Tok::Kw(Kw::Break) => {
                self.advance();
                self.expect_op(Op::Semi)?;
                StmtKind::Break
            }
            Tok::Kw(Kw::Continue) => {
                self.advance();
                self.expect_op(Op::Semi)?;
                StmtKind::Continue
            }
            Tok::Kw(Kw::Return) => {
                self.advance();
                let e = self.expression()?;
                self.expect_op(Op::Semi)?;
                StmtKind::Return(e)
            }
            Tok::Kw(Kw::Throw) => {
                self.advance();
                let e = self.expression()?;
                self.expect_op(Op::Semi)?;
                StmtKind::Throw(e)
            }
            _ => {
                if !self.starts_expression() {
                    return Err(self.error(&[
                        "\"{\"",
                        "\"if\"",
                        "\"while\"",
                        "\"for\"",
                        "\"break\"",
                        "\"continue\"",
                        "\"return\"",
                        "\"throw\"",
                        "<IDENTIFIER>",
                        "<literal>",
                        "\"(\"",
                        "\"new\"",
                        "\"-\"",
                        "\"+\"",
                        "\"!\"",
                    ]));
                }
                let e = self.expression()?;
                self.expect_op(Op::Semi)?;
                StmtKind::Expr(e)
            }
        };
        // Statement node + the inner node (an expression statement's inner node is the
        // Expression, which counts itself).
        let visits = if matches!(kind, StmtKind::Expr(_)) {
            1
        } else {
            2
        };
        Ok(Stmt { kind, visits })
    }

    fn starts_expression(&self) -> bool {
        matches!(
            self.peek().tok,
            Tok::Ident(_)
                | Tok::Int
                | Tok::Float
                | Tok::Str
                | Tok::Kw(Kw::True | Kw::False | Kw::Null | Kw::New)
                | Tok::Op(Op::LParen | Op::Minus | Op::Plus | Op::Bang)
        )
    }

    /// `StatementExpression` of a `for` header: an assignment or a primary expression, without
    /// the `Expression` node around it.
    fn statement_expression(&mut self) -> PResult<Expr> {
        if let Tok::Ident(name) = self.peek().tok.clone() {
            let save = self.pos;
            self.advance();
            let index = if self.is_op(Op::LBracket) {
                self.advance();
                let idx = self.expression()?;
                self.expect_op(Op::RBracket)?;
                Some(idx)
            } else {
                None
            };
            if let Some(op) = is_assign_op(&self.peek().tok) {
                self.advance();
                return self.finish_assignment(&name, index, op);
            }
            match index {
                None => self.pos = save,
                Some(idx) => {
                    // Already parsed `name[idx]`: it is the start of a primary expression.
                    let id = self.intern(&name);
                    let prefix = Expr {
                        kind: ExprKind::Name(id),
                        visits: 2,
                    };
                    let first = Expr {
                        kind: ExprKind::Index(Box::new(prefix), Box::new(idx)),
                        visits: 2,
                    };
                    return self.suffixes(first);
                }
            }
        }
        self.primary()
    }

    // ---- expressions ----

    fn expression(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = grow(|| self.expression_inner());
        self.leave();
        let mut e = r?;
        e.visits += 1; // the Expression node
        Ok(e)
    }

    fn expression_inner(&mut self) -> PResult<Expr> {
        if let Tok::Ident(name) = self.peek().tok.clone() {
            let save = self.pos;
            self.advance();
            if let Some(op) = is_assign_op(&self.peek().tok) {
                self.advance();
                return self.finish_assignment(&name, None, op);
            }
            if self.is_op(Op::LBracket) {
                self.advance();
                let idx = self.expression()?;
                self.expect_op(Op::RBracket)?;
                if let Some(op) = is_assign_op(&self.peek().tok) {
                    self.advance();
                    return self.finish_assignment(&name, Some(idx), op);
                }
                let id = self.intern(&name);
                let prefix = Expr {
                    kind: ExprKind::Name(id),
                    visits: 2,
                };
                let first = Expr {
                    kind: ExprKind::Index(Box::new(prefix), Box::new(idx)),
                    visits: 2,
                };
                let first = self.suffixes(first)?;
                return self.ternary(Some(first));
            }
            self.pos = save;
        }
        self.ternary(None)
    }

    fn finish_assignment(
        &mut self,
        name: &Arc<str>,
        index: Option<Expr>,
        op: AssignOp,
    ) -> PResult<Expr> {
        let target = self.intern(name);
        let value = self.expression()?;
        Ok(Expr {
            kind: ExprKind::Assign {
                target,
                index: index.map(Box::new),
                op,
                value: Box::new(value),
            },
            // Assignment, VariableDeclaratorId, AssignmentOperator.
            visits: 3,
        })
    }

    fn ternary(&mut self, first: Option<Expr>) -> PResult<Expr> {
        let cond = self.or(first)?;
        if self.is_op(Op::Hook) {
            self.advance();
            let a = self.expression()?;
            self.expect_op(Op::Colon)?;
            let b = self.expression()?;
            return Ok(Expr {
                kind: ExprKind::Ternary(Box::new(cond), Box::new(a), Box::new(b)),
                visits: 1,
            });
        }
        Ok(cond)
    }

    fn binary_level(
        &mut self,
        first: Option<Expr>,
        ops: &[(Op, BinOp)],
        next: fn(&mut Self, Option<Expr>) -> PResult<Expr>,
    ) -> PResult<Expr> {
        let mut lhs = next(self, first)?;
        loop {
            let Some(&(_, bop)) = ops.iter().find(|(o, _)| self.is_op(*o)) else {
                return Ok(lhs);
            };
            self.advance();
            let rhs = next(self, None)?;
            lhs = Expr {
                kind: ExprKind::Binary(bop, Box::new(lhs), Box::new(rhs)),
                visits: 1,
            };
        }
    }

    fn or(&mut self, first: Option<Expr>) -> PResult<Expr> {
        self.binary_level(first, &[(Op::OrOr, BinOp::Or)], Self::and)
    }

    fn and(&mut self, first: Option<Expr>) -> PResult<Expr> {
        self.binary_level(first, &[(Op::AndAnd, BinOp::And)], Self::equality)
    }

    fn equality(&mut self, first: Option<Expr>) -> PResult<Expr> {
        self.binary_level(
            first,
            &[(Op::EqEq, BinOp::Eq), (Op::Ne, BinOp::Ne)],
            Self::relational,
        )
    }

    fn relational(&mut self, first: Option<Expr>) -> PResult<Expr> {
        self.binary_level(
            first,
            &[
                (Op::Lt, BinOp::Lt),
                (Op::Gt, BinOp::Gt),
                (Op::Le, BinOp::Le),
                (Op::Ge, BinOp::Ge),
            ],
            Self::additive,
        )
    }

    fn additive(&mut self, first: Option<Expr>) -> PResult<Expr> {
        self.binary_level(
            first,
            &[(Op::Plus, BinOp::Add), (Op::Minus, BinOp::Sub)],
            Self::multiplicative,
        )
    }

    fn multiplicative(&mut self, first: Option<Expr>) -> PResult<Expr> {
        self.binary_level(
            first,
            &[
                (Op::Star, BinOp::Mul),
                (Op::Slash, BinOp::Div),
                (Op::Rem, BinOp::Mod),
            ],
            Self::unary,
        )
    }

    fn unary(&mut self, first: Option<Expr>) -> PResult<Expr> {
        if let Some(e) = first {
            return Ok(e);
        }
        let op = match self.peek().tok {
            Tok::Op(Op::Minus) => BinOp::Minus,
            Tok::Op(Op::Plus) => BinOp::Plus,
            Tok::Op(Op::Bang) => BinOp::Not,
            _ => return self.primary(),
        };
        self.advance();
        self.enter()?;
        let r = grow(|| self.unary(None));
        self.leave();
        Ok(Expr {
            kind: ExprKind::Unary(op, Box::new(r?)),
            visits: 1,
        })
    }

    fn primary(&mut self) -> PResult<Expr> {
        let t = self.peek().clone();
        let prefix = match &t.tok {
            Tok::Int => {
                self.advance();
                let digits = t.image.trim_end_matches(['l', 'L']);
                let v: i64 = digits.parse().map_err(|_| {
                    self.literal_error(
                        &t,
                        JavaClass::NumberFormatException,
                        format!("For input string: \"{digits}\""),
                    )
                })?;
                let id = self.literal(Const::Long(v));
                Expr {
                    kind: ExprKind::Lit(id),
                    visits: 2,
                }
            }
            Tok::Float => {
                self.advance();
                let v = crate::java::number::parse_double(&t.image).ok_or_else(|| {
                    self.literal_error(
                        &t,
                        JavaClass::NumberFormatException,
                        format!("For input string: \"{}\"", t.image),
                    )
                })?;
                let id = self.literal(Const::Double(v));
                Expr {
                    kind: ExprKind::Lit(id),
                    visits: 2,
                }
            }
            Tok::Str => {
                self.advance();
                let s = unescape(&t.image)
                    .map_err(|m| self.literal_error(&t, JavaClass::IllegalArgumentException, m))?;
                let id = self.literal(Const::Str(Arc::from(s.as_str())));
                Expr {
                    kind: ExprKind::Lit(id),
                    visits: 2,
                }
            }
            Tok::Kw(Kw::True | Kw::False | Kw::Null) => {
                self.advance();
                let c = match t.tok {
                    Tok::Kw(Kw::True) => Const::Bool(true),
                    Tok::Kw(Kw::False) => Const::Bool(false),
                    _ => Const::Null,
                };
                let id = self.literal(c);
                Expr {
                    kind: ExprKind::Lit(id),
                    visits: 2,
                }
            }
            Tok::Op(Op::LParen) => {
                self.advance();
                let mut e = self.expression()?;
                self.expect_op(Op::RParen)?;
                e.visits += 1; // PrimaryExpression
                e
            }
            Tok::Kw(Kw::New) => {
                let mut e = self.allocation()?;
                e.visits += 1; // PrimaryExpression
                e
            }
            Tok::Ident(name) => {
                self.advance();
                let id = self.intern(name);
                Expr {
                    kind: ExprKind::Name(id),
                    visits: 2,
                }
            }
            _ => {
                return Err(self.error(&[
                    "<INTEGER_LITERAL>",
                    "<FLOATING_POINT_LITERAL>",
                    "<STRING_LITERAL>",
                    "\"true\"",
                    "\"false\"",
                    "\"null\"",
                    "\"(\"",
                    "\"new\"",
                    "<IDENTIFIER>",
                ]));
            }
        };
        self.suffixes(prefix)
    }

    fn suffixes(&mut self, mut e: Expr) -> PResult<Expr> {
        loop {
            if self.is_op(Op::LBracket) {
                self.advance();
                let idx = self.expression()?;
                self.expect_op(Op::RBracket)?;
                // PrimarySuffix, ArrayIdx.
                e = Expr {
                    kind: ExprKind::Index(Box::new(e), Box::new(idx)),
                    visits: 2,
                };
            } else if self.is_op(Op::Dot) && matches!(self.peek_at(1).tok, Tok::Ident(_)) {
                self.advance();
                let name = self.expect_ident()?;
                if self.is_op(Op::LParen) {
                    let args = self.arguments()?;
                    // PrimarySuffix, Method, Params (visited twice).
                    e = Expr {
                        kind: ExprKind::Call(Box::new(e), name, args),
                        visits: 4,
                    };
                } else {
                    e = Expr {
                        kind: ExprKind::Field(Box::new(e), name),
                        visits: 2,
                    };
                }
            } else {
                return Ok(e);
            }
        }
    }

    fn arguments(&mut self) -> PResult<Vec<Expr>> {
        self.expect_op(Op::LParen)?;
        let mut args = Vec::new();
        if !self.is_op(Op::RParen) {
            loop {
                args.push(self.expression()?);
                if self.is_op(Op::Comma) {
                    self.advance();
                } else {
                    break;
                }
            }
        }
        self.expect_op(Op::RParen)?;
        Ok(args)
    }

    fn allocation(&mut self) -> PResult<Expr> {
        self.advance(); // new
        let t = self.peek().clone();
        let (name, primitive): (Arc<str>, bool) = match (&t.tok, primitive_name(&t.tok)) {
            (_, Some(p)) => (Arc::from(p), true),
            (Tok::Ident(n), None) => (n.clone(), false),
            _ => {
                return Err(self.error(&[
                    "\"boolean\"",
                    "\"int\"",
                    "\"long\"",
                    "\"float\"",
                    "\"double\"",
                    "<IDENTIFIER>",
                ]));
            }
        };
        self.advance();
        let ty = TypeName {
            base: BaseType::from_name(&name),
            name,
            array: false,
        };
        if self.is_op(Op::LBracket) {
            if self.peek_at(1).tok != Tok::Op(Op::RBracket) {
                self.advance();
                let len = self.expression()?;
                self.expect_op(Op::RBracket)?;
                // AllocationExpression, type, ArrayDims.
                return Ok(Expr {
                    kind: ExprKind::NewArray {
                        elem: ty,
                        len: Box::new(len),
                    },
                    visits: 3,
                });
            }
            self.advance();
            self.advance();
            self.expect_op(Op::LBrace)?;
            let mut elems = Vec::new();
            while !self.is_op(Op::RBrace) {
                elems.push(self.expression()?);
                if self.is_op(Op::Comma) {
                    self.advance();
                } else {
                    break;
                }
            }
            self.expect_op(Op::RBrace)?;
            // AllocationExpression, type, ArrayInitializer.
            return Ok(Expr {
                kind: ExprKind::NewArrayInit { elem: ty, elems },
                visits: 3,
            });
        }
        if primitive {
            return Err(self.error(&["\"[\""]));
        }
        if !self.is_op(Op::LParen) {
            return Err(self.error(&["\"[\"", "\"(\""]));
        }
        let args = self.arguments()?;
        // AllocationExpression, ClassType, Args (visited twice).
        Ok(Expr {
            kind: ExprKind::New { class: ty, args },
            visits: 4,
        })
    }
}

/// Parses SEL source into a [`Program`].
pub fn parse(src: &str) -> Result<Program, ParseError> {
    let toks = tokenize(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        names: Vec::new(),
        name_ids: HashMap::new(),
        literals: Vec::new(),
        depth: 0,
    };
    p.program()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> ParseError {
        parse(src).unwrap_err()
    }

    #[test]
    fn accepts_the_statement_language() {
        for src in [
            "x=1+1;",
            "int x = 1, y;",
            "if (a) b = 1; else { c = 2; }",
            "for (int i = 0; i < 3; i += 1) { continue; }",
            "for (;;) break;",
            "while (true) { return 1; }",
            "throw 'x';",
            "import java.util.*; import static a.b; 1;",
            "int[] a = new int[]{1, 2,}; a[0] = 3;",
            "new int[2][3];",
            "(1).toString();",
            "x y;",
            "a ? b = 1 : c;",
            "- -1;",
            "",
        ] {
            assert!(parse(src).is_ok(), "{src}: {:?}", parse(src).err());
        }
    }

    #[test]
    fn rejects_what_the_reference_rejects() {
        for src in [
            "1+1",
            ";;",
            "--1;",
            "a.b = 1;",
            "1.toString();",
            "(int) x;",
            "foo();",
            "int[] a = {1, 2};",
            "int a[];",
            "new java.io.File('x');",
            "x & y;",
            "for (i = 2, j = 1; i < 10; i += 1) x += 1;",
            "do { } while (true);",
            "class A {}",
            "return;",
            "0x10;",
            "9223372036854775808;",
            "'\\101';",
            "new int(5);",
            "08;",
        ] {
            assert!(parse(src).is_err(), "{src} should fail");
        }
    }

    #[test]
    fn errors_say_line_column_and_expected() {
        let e = err("x = 1;\ny = 2");
        assert_eq!((e.line, e.column), (2, 5));
        assert_eq!(e.found, "<EOF>");
        assert_eq!(e.expected, vec!["\";\"".to_string()]);
        assert_eq!(e.class, JavaClass::ParseException);
        assert!(e.message.contains("line 2, column 5"), "{}", e.message);

        let e = err("1+1");
        assert_eq!((e.line, e.column), (1, 3));
        let e = err("for(i=2, j=1; i<10; i+=1) x+=1;");
        assert_eq!((e.line, e.column), (1, 8));
        let e = err("0x1F;");
        assert_eq!(e.class, JavaClass::NumberFormatException);
        let e = err("'\\101';");
        assert_eq!(e.class, JavaClass::IllegalArgumentException);
    }

    #[test]
    fn assignment_lookahead_does_not_reparse_indexes() {
        // Deeply nested index expressions must parse in linear time.
        let mut src = String::new();
        for _ in 0..500 {
            src.push_str("a[");
        }
        src.push('0');
        for _ in 0..500 {
            src.push(']');
        }
        src.push(';');
        assert!(parse(&src).is_ok());
    }

    #[test]
    fn nesting_is_bounded() {
        let src = format!("{}1{};", "(".repeat(5000), ")".repeat(5000));
        assert!(parse(&src).is_err());
    }

    #[test]
    fn string_literals_are_unescaped() {
        let p = parse("'a\\tb\\'c';").unwrap();
        assert_eq!(p.literals[0], Const::Str(Arc::from("a\tb'c")));
    }
}
