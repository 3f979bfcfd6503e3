//! The typed program: what type checking makes of a pipeline or test body. Names are resolved
//! (a local is its index, a call names its target), every expression has its type, and call
//! arguments are matched to parameters. Lowering reads this, never the syntax tree.

use std::fmt::Write as _;

use aigrid_lang::FileId;
use aigrid_lang::Span;
use aigrid_lang::ast::{BinaryOp, UnaryOp};
use ecow::EcoString;

use crate::ty::Type;

/// A checked pipeline or test body.
#[derive(Clone, Debug)]
pub(crate) struct Body {
    /// The pipeline's or test's name.
    pub name: EcoString,
    /// The file that declares it.
    pub file: FileId,
    /// Parameters first, then `let`s in order; [`ExprKind::Local`] indexes this.
    pub locals: Vec<Local>,
    /// How many of `locals` are parameters.
    pub params: usize,
    pub stmts: Vec<Stmt>,
    /// The declared result type.
    pub ret: Option<Type>,
}

/// A parameter or `let`.
#[derive(Clone, Debug)]
pub(crate) struct Local {
    pub name: EcoString,
    pub ty: Type,
    /// A parameter's default.
    pub default: Option<Expr>,
    pub span: Span,
}

/// Step attributes: `@retry(3) @timeout(60s) @cache @on_error(null) @gpu @resources(gpu = 1)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Attrs {
    pub retry: Option<u32>,
    pub timeout_ms: Option<u64>,
    pub cache: bool,
    pub on_error_null: bool,
    pub gpu: bool,
    /// `@resources(k = v)` with integer values.
    pub resources: Vec<(EcoString, i64)>,
}

impl Attrs {
    /// The attributes written on an item or statement (checked by the resolver).
    pub(crate) fn of(attrs: &[aigrid_lang::ast::Attribute]) -> Attrs {
        let mut out = Attrs::default();
        for attr in attrs {
            let first = attr.args.as_ref().and_then(|args| args.first()).map(|a| &a.value.kind);
            use aigrid_lang::ast::ExprKind as E;
            match (attr.name.name.as_str(), first) {
                ("retry", Some(E::Int(n))) => out.retry = u32::try_from(*n).ok(),
                ("timeout", Some(E::Duration(d))) => {
                    out.timeout_ms = u64::try_from(d.as_millis()).ok();
                }
                ("cache", _) => out.cache = true,
                ("on_error", _) => out.on_error_null = true,
                ("gpu", _) => out.gpu = true,
                ("resources", _) => {
                    for arg in attr.args.iter().flatten() {
                        if let (Some(name), E::Int(n)) = (&arg.name, &arg.value.kind) {
                            out.resources.push((name.name.clone(), *n));
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }

    pub(crate) fn is_empty(&self) -> bool {
        *self == Attrs::default()
    }
}

/// The attributes as written: `@retry(3) @timeout(60000ms) @cache`.
impl std::fmt::Display for Attrs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(n) = self.retry {
            parts.push(format!("@retry({n})"));
        }
        if let Some(ms) = self.timeout_ms {
            parts.push(format!("@timeout({ms}ms)"));
        }
        if self.cache {
            parts.push("@cache".into());
        }
        if self.on_error_null {
            parts.push("@on_error(null)".into());
        }
        if self.gpu {
            parts.push("@gpu".into());
        }
        if !self.resources.is_empty() {
            let resources: Vec<String> =
                self.resources.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            parts.push(format!("@resources({})", resources.join(", ")));
        }
        f.write_str(&parts.join(" "))
    }
}

/// A statement.
#[derive(Clone, Debug)]
pub(crate) enum Stmt {
    /// `let`: binds local `local`.
    Let {
        local: usize,
        value: Expr,
        attrs: Attrs,
    },
    Return(Expr),
    Assert {
        cond: Expr,
        message: Option<Expr>,
        span: Span,
    },
    /// An expression step, run for its effect.
    Expr {
        value: Expr,
        attrs: Attrs,
    },
}

/// A typed expression.
#[derive(Clone, Debug)]
pub(crate) struct Expr {
    pub kind: ExprKind,
    pub ty: Type,
    pub span: Span,
}

/// A literal value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Literal {
    Int(i64),
    Float(f64),
    Str(EcoString),
    Bool(bool),
    /// Milliseconds.
    Duration(u64),
    Null,
}

/// The kinds of typed expressions.
#[derive(Clone, Debug)]
pub(crate) enum ExprKind {
    Literal(Literal),
    List(Vec<Expr>),
    /// A parameter or `let` of the body, by index.
    Local(usize),
    /// `table.column`, a list of the column's values.
    Column {
        base: Box<Expr>,
        name: EcoString,
    },
    Call(Call),
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    /// Something already reported as an error.
    Error,
}

/// A call with its arguments matched to the callee's parameters.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub target: Target,
    /// One entry per parameter: its argument, or `None` for its default.
    pub args: Vec<Option<Expr>>,
    /// Named arguments beyond the parameters (`sql`'s tables, `select`'s columns).
    pub rest: Vec<(EcoString, Expr)>,
}

/// What a call runs.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    /// A pipeline, declared in `file`.
    Pipeline(FileId, EcoString),
    /// An `ai` requirement, declared in `file`.
    Ai(FileId, EcoString),
    /// A standard-library operation.
    Std(&'static aigrid_stdlib::Item),
}

impl Expr {
    pub(crate) fn error(span: Span) -> Expr {
        Expr { kind: ExprKind::Error, ty: Type::Unknown, span }
    }

    /// The literal, if the expression is one (a negated number included).
    pub(crate) fn literal(&self) -> Option<Literal> {
        match &self.kind {
            ExprKind::Literal(literal) => Some(literal.clone()),
            ExprKind::Unary { op: UnaryOp::Neg, operand } => match operand.literal()? {
                Literal::Int(n) => n.checked_neg().map(Literal::Int),
                Literal::Float(x) => Some(Literal::Float(-x)),
                _ => None,
            },
            _ => None,
        }
    }
}

impl Literal {
    /// The literal in `.ag` syntax.
    pub(crate) fn show(&self) -> String {
        match self {
            Literal::Int(n) => n.to_string(),
            Literal::Float(x) => format!("{x:?}"),
            Literal::Str(s) => format!("{s:?}"),
            Literal::Bool(b) => b.to_string(),
            Literal::Duration(ms) => format!("{ms}ms"),
            Literal::Null => "null".into(),
        }
    }
}

impl Body {
    /// The body as text, each `let` with its type: what `aigridc build --emit hir` prints.
    pub(crate) fn show(&self) -> String {
        let mut out = String::new();
        let params: Vec<String> =
            self.locals[..self.params].iter().map(|p| format!("{}: {}", p.name, p.ty)).collect();
        let ret = self.ret.as_ref().map(|r| format!(" -> {r}")).unwrap_or_default();
        let _ = writeln!(out, "{}({}){ret} {{", self.name, params.join(", "));
        for stmt in &self.stmts {
            let line = match stmt {
                Stmt::Let { local, value, .. } => {
                    let local = &self.locals[*local];
                    format!("let {}: {} = {}", local.name, local.ty, self.expr(value))
                }
                Stmt::Return(value) => format!("return {}", self.expr(value)),
                Stmt::Assert { cond, .. } => format!("assert {}", self.expr(cond)),
                Stmt::Expr { value, .. } => self.expr(value),
            };
            let _ = writeln!(out, "    {line}");
        }
        out.push_str("}\n");
        out
    }

    fn expr(&self, expr: &Expr) -> String {
        match &expr.kind {
            ExprKind::Literal(literal) => literal.show(),
            ExprKind::List(items) => {
                let items: Vec<String> = items.iter().map(|i| self.expr(i)).collect();
                format!("[{}]", items.join(", "))
            }
            ExprKind::Local(index) => self.locals[*index].name.to_string(),
            ExprKind::Column { base, name } => format!("{}.{name}", self.expr(base)),
            ExprKind::Call(call) => {
                let name = match &call.target {
                    Target::Pipeline(_, name) => format!("pipeline {name}"),
                    Target::Ai(_, name) => format!("ai {name}"),
                    Target::Std(item) => format!("std {}", item.name),
                };
                let mut args: Vec<String> = call
                    .args
                    .iter()
                    .map(|a| a.as_ref().map_or("default".into(), |a| self.expr(a)))
                    .collect();
                args.extend(call.rest.iter().map(|(n, a)| format!("{n} = {}", self.expr(a))));
                format!("{name}({})", args.join(", "))
            }
            ExprKind::Binary { op, lhs, rhs } => {
                format!("({} {} {})", self.expr(lhs), op.as_str(), self.expr(rhs))
            }
            ExprKind::Unary { op, operand } => {
                let op = match op {
                    UnaryOp::Not => "!",
                    UnaryOp::Neg => "-",
                };
                format!("{op}{}", self.expr(operand))
            }
            ExprKind::Error => "<error>".into(),
        }
    }
}
