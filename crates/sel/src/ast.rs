//! The syntax tree. It stays close to the reference's JJTree nodes because two limits are
//! defined in terms of them: every node records how many reference nodes it stands for
//! (`visits`), so that the visit limit counts the same, and the interpreter pushes and pops the
//! same operands, so that the stack limit trips at the same depth.

use std::sync::Arc;

/// Index of an identifier in [`Program::names`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct NameId(pub u32);

/// Index of a literal in [`Program::literals`]. Every literal occurrence has its own index:
/// in the reference a literal is one mutable object per AST node, shared by every evaluation
/// of that node (`int x = 0; x += 1;` in a loop changes what `0` yields next time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LitId(pub u32);

/// A literal's value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Const {
    Long(i64),
    Double(f64),
    Str(Arc<str>),
    Bool(bool),
    Null,
}

/// The SEL types a type name can denote (`SelTypes` of the reference, data and object types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BaseType {
    String,
    Long,
    Double,
    Boolean,
    StringArray,
    LongArray,
    DoubleArray,
    BooleanArray,
    Map,
    DateTime,
    DateTimeZone,
    DateTimeFormatter,
    DateTimeProperty,
    DateTimeDays,
    Uuid,
}

impl BaseType {
    /// Looks up a class or primitive type name (`int`, `Integer`, `HashMap`, ...).
    pub(crate) fn from_name(name: &str) -> Option<BaseType> {
        Some(match name {
            "int" | "long" | "Integer" | "Long" => BaseType::Long,
            "float" | "double" | "Float" | "Double" => BaseType::Double,
            "boolean" | "Boolean" => BaseType::Boolean,
            "String" => BaseType::String,
            "Map" | "HashMap" | "LinkedHashMap" => BaseType::Map,
            "DateTime" => BaseType::DateTime,
            "DateTimeZone" => BaseType::DateTimeZone,
            "DateTimeFormatter" | "DateTimeFormat" => BaseType::DateTimeFormatter,
            "Property" => BaseType::DateTimeProperty,
            "Days" => BaseType::DateTimeDays,
            "UUID" => BaseType::Uuid,
            _ => return None,
        })
    }

    /// The reference's type name (`LONG`, `DATETIME`, ...).
    pub(crate) fn name(self) -> &'static str {
        match self {
            BaseType::String => "STRING",
            BaseType::Long => "LONG",
            BaseType::Double => "DOUBLE",
            BaseType::Boolean => "BOOLEAN",
            BaseType::StringArray => "STRING_ARRAY",
            BaseType::LongArray => "LONG_ARRAY",
            BaseType::DoubleArray => "DOUBLE_ARRAY",
            BaseType::BooleanArray => "BOOLEAN_ARRAY",
            BaseType::Map => "MAP",
            BaseType::DateTime => "DATETIME",
            BaseType::DateTimeZone => "DATETIME_ZONE",
            BaseType::DateTimeFormatter => "DATETIME_FORMATTER",
            BaseType::DateTimeProperty => "DATETIME_PROPERTY",
            BaseType::DateTimeDays => "DATETIME_DAYS",
            BaseType::Uuid => "UUID",
        }
    }
}

/// A type as written in a declaration or `new`: a name (resolved when the node is evaluated,
/// as in the reference, so an unknown class is a run-time error) and whether `[]` followed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TypeName {
    pub name: Arc<str>,
    pub base: Option<BaseType>,
    pub array: bool,
}

/// Assignment operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AssignOp {
    Assign,
    Mul,
    Div,
    Mod,
    Add,
    Sub,
}

impl AssignOp {
    pub(crate) fn text(self) -> &'static str {
        match self {
            AssignOp::Assign => "=",
            AssignOp::Mul => "*=",
            AssignOp::Div => "/=",
            AssignOp::Mod => "%=",
            AssignOp::Add => "+=",
            AssignOp::Sub => "-=",
        }
    }
}

/// Binary and unary operators (`SelOp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    /// Unary `+`.
    Plus,
    /// Unary `-`.
    Minus,
    /// Unary `!`.
    Not,
}

impl BinOp {
    /// The reference's operator name, used in error messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            BinOp::Or => "OR",
            BinOp::And => "AND",
            BinOp::Eq => "EQUAL",
            BinOp::Ne => "NOT_EQUAL",
            BinOp::Lt => "LT",
            BinOp::Gt => "GT",
            BinOp::Le => "LTE",
            BinOp::Ge => "GTE",
            BinOp::Add => "ADD",
            BinOp::Sub => "SUB",
            BinOp::Mul => "MUL",
            BinOp::Div => "DIV",
            BinOp::Mod => "MOD",
            BinOp::Plus => "PLUS",
            BinOp::Minus => "MINUS",
            BinOp::Not => "NOT",
        }
    }
}

/// An expression node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Expr {
    pub kind: ExprKind,
    /// How many reference AST nodes this node stands for (see the module comment).
    pub visits: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ExprKind {
    Lit(LitId),
    Name(NameId),
    Assign {
        target: NameId,
        index: Option<Box<Expr>>,
        op: AssignOp,
        value: Box<Expr>,
    },
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Unary(BinOp, Box<Expr>),
    New {
        class: TypeName,
        args: Vec<Expr>,
    },
    NewArray {
        elem: TypeName,
        len: Box<Expr>,
    },
    NewArrayInit {
        elem: TypeName,
        elems: Vec<Expr>,
    },
    Index(Box<Expr>, Box<Expr>),
    Field(Box<Expr>, Arc<str>),
    Call(Box<Expr>, Arc<str>, Vec<Expr>),
}

/// A local variable declaration (`T a = e, b;`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decl {
    pub ty: TypeName,
    pub vars: Vec<(NameId, Option<Expr>)>,
}

/// The init part of a `for`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ForInit {
    Decl(Decl),
    Expr(Expr),
}

/// A statement node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stmt {
    pub kind: StmtKind,
    pub visits: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StmtKind {
    /// A declaration; the only block statement that is not a reference `Statement` node (it
    /// does not discard the previous statement's leftover operand).
    Decl(Decl),
    Block(Vec<Stmt>),
    Expr(Expr),
    If(Expr, Box<Stmt>, Option<Box<Stmt>>),
    While(Expr, Box<Stmt>),
    For {
        init: Option<ForInit>,
        cond: Option<Expr>,
        update: Option<Expr>,
        body: Box<Stmt>,
    },
    Break,
    Continue,
    Return(Expr),
    Throw(Expr),
}

/// A parsed SEL program, ready to be evaluated any number of times (and from any thread).
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    pub(crate) body: Vec<Stmt>,
    /// Visits of the root node and the import declarations.
    pub(crate) root_visits: u32,
    pub(crate) names: Vec<Arc<str>>,
    pub(crate) literals: Vec<Const>,
}
