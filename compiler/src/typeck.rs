//! Type checking: every value of a pipeline or test has a type (spec/language.md §5), calls
//! pass arguments of the parameters' types, symbolic tensor dimensions agree across a call,
//! elementwise tensor operations broadcast, table columns exist, `sql` steps plan against their
//! input schemas, and declared types (`let x: T`, `-> T`) hold.
//!
//! A value whose type cannot be known (an error was reported about it already, or its table's
//! columns come from data) has the unknown type, which passes every check: one mistake gives
//! one diagnostic.

mod env;
mod error;
mod expr;
mod std_rules;
mod unify;

use std::collections::HashMap;

use std::rc::Rc;

use aigrid_lang::ast::{ItemKind, Module, Param, Stmt, StmtKind, TypeExpr};
use aigrid_lang::{FileId, Span};
use ecow::EcoString;

pub(crate) use error::TypeError;

use crate::hir;
use crate::packages::Packages;
use crate::sql::{SqlError, SqlPlanner};
use crate::ty::{Scalar, Type};
use env::Env;
use unify::{ColumnMismatch, Dims, Mismatch, Subst};

/// A problem found by type checking: a type error, or an error in a `sql` step.
#[derive(Debug)]
pub(crate) enum Problem {
    Type(TypeError),
    Sql(SqlError),
}

/// What type checking makes of one file: its problems, and the typed bodies of its pipelines
/// and tests.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    pub problems: Vec<Problem>,
    pub pipelines: HashMap<EcoString, Rc<hir::Body>>,
    pub tests: Vec<Rc<hir::Body>>,
    /// The signature of each `ai` with its types resolved (aliases written out), as discovery
    /// matches it against cards: `embed(text: list<utf8>) -> tensor<f32, [N, 384]>`.
    pub ais: HashMap<EcoString, String>,
}

/// Type-checks the pipelines and tests of `module`, the parsed `file` whose source is `text`.
pub(crate) fn check<'w>(
    packages: &mut Packages<'w>,
    file: FileId,
    module: &Module,
    text: &str,
) -> Checked {
    let mut checker = Checker {
        env: Env::new(packages),
        file,
        text,
        dims: Dims::default(),
        symbols: HashMap::new(),
        locals: Vec::new(),
        problems: Vec::new(),
        sql: SqlPlanner::default(),
    };
    let mut checked = Checked::default();
    for item in &module.items {
        checker.dims = Dims::default();
        checker.symbols.clear();
        checker.locals.clear();
        match &item.kind {
            ItemKind::Pipeline(pipeline) => {
                checker.params(&pipeline.params);
                let params = checker.locals.len();
                let ret = pipeline.ret.as_ref().map(|ret| (checker.declared(ret), ret.span));
                let stmts = checker.body(&pipeline.body.stmts, ret.clone());
                let body =
                    checker.finish(&pipeline.name.name, params, stmts, ret.map(|(ty, _)| ty));
                checked.pipelines.insert(pipeline.name.name.clone(), Rc::new(body));
            }
            ItemKind::Test(test) => {
                let stmts = checker.body(&test.body.stmts, None);
                checked.tests.push(Rc::new(checker.finish(&test.name.node, 0, stmts, None)));
            }
            ItemKind::Ai(ai) => {
                checker.params(&ai.params);
                let ret = checker.declared(&ai.ret);
                let params: Vec<String> = checker
                    .locals
                    .iter()
                    .map(|p| format!("{}: {}", p.name, checker.dims.resolve(&p.ty)))
                    .collect();
                let ret = checker.dims.resolve(&ret);
                checked.ais.insert(
                    ai.name.name.clone(),
                    format!("{}({}) -> {ret}", ai.name.name, params.join(", ")),
                );
            }
            ItemKind::Use(_) | ItemKind::Type(_) => {}
        }
    }
    checked.problems = checker.problems;
    checked
}

struct Checker<'a, 'w> {
    env: Env<'a, 'w>,
    file: FileId,
    text: &'a str,
    /// The dimension variables of the item being checked.
    dims: Dims,
    /// The item's own dimension symbols (its signature's and its annotations').
    symbols: HashMap<EcoString, u32>,
    /// Parameters and `let`s in scope, in order.
    locals: Vec<hir::Local>,
    problems: Vec<Problem>,
    sql: SqlPlanner,
}

impl Checker<'_, '_> {
    /// The type a written type stands for, its symbols those of the item being checked.
    fn declared(&mut self, ty: &TypeExpr) -> Type {
        let lowered = self.env.lower(self.file, ty, false);
        self.dims.instantiate(&lowered, &mut self.symbols)
    }

    /// Checks parameter defaults against the parameter types and binds the parameters.
    fn params(&mut self, params: &[Param]) {
        for param in params {
            let ty = self.declared(&param.ty);
            let default = param.default.as_ref().map(|default| {
                let value = self.value(default);
                self.expect_value(&ty, &value, Some(param.ty.span));
                value
            });
            let name = param.name.name.clone();
            self.locals.push(hir::Local { name, ty, default, span: param.name.span });
        }
    }

    /// The typed body, its types shown with what was learnt of their dimensions.
    fn finish(
        &mut self,
        name: &str,
        params: usize,
        mut stmts: Vec<hir::Stmt>,
        ret: Option<Type>,
    ) -> hir::Body {
        let mut locals = std::mem::take(&mut self.locals);
        for local in &mut locals {
            local.ty = concrete(&self.dims.resolve(&local.ty));
            if let Some(default) = &mut local.default {
                self.resolve_expr(default);
            }
        }
        for stmt in &mut stmts {
            match stmt {
                hir::Stmt::Let { value, .. }
                | hir::Stmt::Expr { value, .. }
                | hir::Stmt::Return(value) => {
                    self.resolve_expr(value);
                }
                hir::Stmt::Assert { cond, message, .. } => {
                    self.resolve_expr(cond);
                    if let Some(message) = message {
                        self.resolve_expr(message);
                    }
                }
            }
        }
        let ret = ret.map(|ty| self.dims.resolve(&ty));
        hir::Body { name: name.into(), file: self.file, params, locals, stmts, ret }
    }

    /// Replaces the dimension variables in an expression's types by what was learnt of them.
    fn resolve_expr(&mut self, expr: &mut hir::Expr) {
        expr.ty = concrete(&self.dims.resolve(&expr.ty));
        match &mut expr.kind {
            hir::ExprKind::Call(call) => {
                for arg in call.args.iter_mut().flatten() {
                    self.resolve_expr(arg);
                }
                for (_, arg) in &mut call.rest {
                    self.resolve_expr(arg);
                }
            }
            hir::ExprKind::List(items) => items.iter_mut().for_each(|i| self.resolve_expr(i)),
            hir::ExprKind::Column { base, .. } => self.resolve_expr(base),
            hir::ExprKind::Binary { lhs, rhs, .. } => {
                self.resolve_expr(lhs);
                self.resolve_expr(rhs);
            }
            hir::ExprKind::Unary { operand, .. } => self.resolve_expr(operand),
            hir::ExprKind::Literal(_) | hir::ExprKind::Local(_) | hir::ExprKind::Error => {}
        }
    }

    fn body(&mut self, stmts: &[Stmt], ret: Option<(Type, Span)>) -> Vec<hir::Stmt> {
        let mut out = Vec::with_capacity(stmts.len());
        for stmt in stmts {
            let attrs = hir::Attrs::of(&stmt.attrs);
            out.push(match &stmt.kind {
                StmtKind::Let { name, ty, value } => {
                    let mut value = self.value(value);
                    if attrs.on_error_null {
                        // The attribute reaches the `ai` call the step's value is; any other
                        // value just becomes nullable.
                        let is_ai = matches!(
                            &value.kind,
                            hir::ExprKind::Call(hir::Call { target: hir::Target::Ai(..), .. })
                        );
                        value.ty =
                            if is_ai { value.ty.on_error_null() } else { value.ty.nullable() };
                    }
                    let bound = match ty {
                        Some(ty) => {
                            let declared = self.declared(ty);
                            self.expect_value(&declared, &value, Some(ty.span));
                            declared
                        }
                        // A literal's type is its default one: `let n = 3` is an `i64`.
                        None => {
                            value.ty = concrete(&value.ty);
                            value.ty.clone()
                        }
                    };
                    let local = self.locals.len();
                    let name = name.name.clone();
                    self.locals.push(hir::Local {
                        name,
                        ty: bound,
                        default: None,
                        span: stmt.span,
                    });
                    hir::Stmt::Let { local, value, attrs }
                }
                StmtKind::Return(value) => {
                    let value = self.value(value);
                    if let Some((expected, span)) = &ret {
                        self.expect_value(expected, &value, Some(*span));
                    }
                    hir::Stmt::Return(value)
                }
                StmtKind::Assert { cond, message } => {
                    let cond = self.value(cond);
                    self.expect(&Type::Scalar(Scalar::Bool), &cond.ty, cond.span, None);
                    let message = message.as_ref().map(|message| {
                        let message = self.value(message);
                        self.expect(&Type::Scalar(Scalar::Utf8), &message.ty, message.span, None);
                        message
                    });
                    hir::Stmt::Assert { cond, message, span: stmt.span }
                }
                StmtKind::Expr(value) => hir::Stmt::Expr { value: self.expr(value), attrs },
            });
        }
        out
    }

    /// Like [`Checker::expect`] for a typed value, also checking that an integer literal is
    /// within the range of the integer type it becomes (`let b: u8 = 300` is an error).
    fn expect_value(&mut self, expected: &Type, value: &hir::Expr, origin: Option<Span>) -> bool {
        self.expect(expected, &value.ty, value.span, origin)
            && self.literal_fits(expected, value.literal(), value.span, origin)
    }

    /// Reports an integer literal outside the range of the integer type `expected`.
    fn literal_fits(
        &mut self,
        expected: &Type,
        value: Option<hir::Literal>,
        span: Span,
        origin: Option<Span>,
    ) -> bool {
        let (Some(hir::Literal::Int(n)), Type::Scalar(scalar)) = (value, expected.non_null())
        else {
            return true;
        };
        let Some((min, max)) = int_range(*scalar) else { return true };
        if (min..=max).contains(&i128::from(n)) {
            return true;
        }
        self.error(TypeError::Mismatch {
            expected: scalar.name().to_owned(),
            found: format!("{n}"),
            span,
            origin: origin.filter(|o| o.file == self.file),
            help: Some(format!("`{}` holds {min} to {max}", scalar.name())),
        });
        false
    }

    /// Reports a mismatch if a value of type `found`, written at `span`, does not fit where
    /// `expected` is required (by the type written at `origin`, if any).
    fn expect(&mut self, expected: &Type, found: &Type, span: Span, origin: Option<Span>) -> bool {
        let mut subst = Subst::new();
        match self.dims.unify(expected, found, &mut subst, span) {
            Ok(()) => true,
            Err(mismatch) => {
                self.mismatch(mismatch, expected, found, span, origin);
                false
            }
        }
    }

    /// Reports why `found` does not fit `expected`.
    fn mismatch(
        &mut self,
        mismatch: Mismatch,
        expected: &Type,
        found: &Type,
        span: Span,
        origin: Option<Span>,
    ) {
        let origin = origin.filter(|o| o.file == self.file);
        let (expected_shown, found_shown) = (self.dims.show(expected), self.dims.show(found));
        let error = match mismatch {
            Mismatch::Types => TypeError::Mismatch {
                help: conversion_help(expected, found),
                expected: expected_shown,
                found: found_shown,
                span,
                origin,
            },
            Mismatch::MayBeNull => TypeError::Mismatch {
                expected: expected_shown.clone(),
                found: found_shown,
                span,
                origin,
                help: Some(format!(
                    "this value may be null; declare the place as `{expected_shown}?`, or remove the nulls first (e.g. `COALESCE` in sql)"
                )),
            },
            Mismatch::Elem { expected: e, found: f } => TypeError::Mismatch {
                expected: expected_shown,
                found: found_shown,
                span,
                origin,
                help: Some(format!(
                    "the element types differ ({f} against {e}); convert with `cast(value, \"{}\")`",
                    e.name()
                )),
            },
            Mismatch::Rank { expected, found } => {
                TypeError::Rank { expected, found, span, shown: found_shown, origin }
            }
            Mismatch::DimSize { index, expected: e, found: f } => TypeError::Dimension {
                detail: format!("dimension {index} is {f}, but {e} is expected"),
                here: format!("this is `{found_shown}`"),
                span,
                there: format!("expected `{expected_shown}` because of this"),
                first: origin,
                help: None,
            },
            Mismatch::DimConflict { index, symbol, first, at, found: f } => {
                let what = match &symbol {
                    Some(name) => format!("`{name}`"),
                    None => "the same dimension".to_owned(),
                };
                TypeError::Dimension {
                    detail: format!("{what} is {first} in one place and {f} in another"),
                    here: format!("dimension {index} of this is {f}"),
                    span,
                    there: format!("{what} is {first} here"),
                    first: Some(at).filter(|s| s.file == self.file && *s != span),
                    help: None,
                }
            }
            Mismatch::Column(column) => {
                let (detail, help) = match column {
                    ColumnMismatch::Missing { name, expected } => (
                        format!("column `{name}: {expected}` is missing"),
                        Some(format!(
                            "add `{name}` to the table, or remove it from the declared type"
                        )),
                    ),
                    ColumnMismatch::Extra { name } => (
                        format!("column `{name}` is not declared"),
                        Some(format!(
                            "drop `{name}` (e.g. list the columns in SELECT), or declare it"
                        )),
                    ),
                    ColumnMismatch::Type { name, expected, found, cast } => (
                        format!("column `{name}` is `{found}`, declared `{expected}`"),
                        cast.map(|sql| {
                            format!("convert it in SQL: `CAST({name} AS {sql}) AS {name}`")
                        }),
                    ),
                };
                TypeError::Columns { expected: expected_shown, detail, span, origin, help }
            }
        };
        self.problems.push(Problem::Type(error));
    }

    fn error(&mut self, error: TypeError) {
        self.problems.push(Problem::Type(error));
    }
}

/// Whether a grid AI whose card declares `card` (`(text: list<utf8>) -> tensor<f32, [N, 384]>`)
/// can serve a requirement with the resolved signature `requirement`
/// (`embed(text: list<utf8>) -> tensor<f32, [N, 384]>`): each argument the requirement passes
/// fits the card's parameter at its position, the card's other parameters have defaults, and the
/// card's result fits the requirement's. Symbols unify across the two; `Table`, `Tensor` and `T`
/// in a card stand for any table, any tensor and one element type.
pub(crate) fn signatures_compatible(card: &str, requirement: &str) -> Result<(), String> {
    let parse = |text: String| {
        let parsed = aigrid_lang::parse(crate::packages::STD_FILE, &text);
        parsed.module.items.into_iter().find_map(|item| match item.kind {
            ItemKind::Ai(ai) => Some(ai),
            _ => None,
        })
    };
    let Some(card) = parse(format!("ai card{card}\n")) else {
        return Err("its signature does not parse".into());
    };
    let Some(wanted) = parse(format!("ai {requirement}\n")) else {
        return Err("the requirement's signature does not parse".into());
    };
    if card.params.len() < wanted.params.len() {
        return Err(format!(
            "it takes {} arguments, not {}",
            card.params.len(),
            wanted.params.len()
        ));
    }
    if let Some(extra) = card
        .params
        .get(wanted.params.len()..)
        .and_then(|extra| extra.iter().find(|p| p.default.is_none()))
    {
        return Err(format!("it also needs `{}`", extra.name.name));
    }
    let mut dims = Dims::default();
    let (mut card_symbols, mut wanted_symbols) = (HashMap::new(), HashMap::new());
    let mut subst = Subst::new();
    let lower = |ty: &TypeExpr, symbols: &mut HashMap<EcoString, u32>, dims: &mut Dims| {
        dims.instantiate(&crate::ty::from_written(ty, &mut crate::ty::family), symbols)
    };
    for (have, want) in card.params.iter().zip(&wanted.params) {
        let have_ty = lower(&have.ty, &mut card_symbols, &mut dims);
        let want_ty = lower(&want.ty, &mut wanted_symbols, &mut dims);
        if dims.unify(&have_ty, &want_ty, &mut subst, Span::default()).is_err() {
            return Err(format!(
                "its `{}` is `{}`, the requirement passes `{}`",
                have.name.name,
                dims.show(&have_ty),
                dims.show(&want_ty)
            ));
        }
    }
    let have_ret = lower(&card.ret, &mut card_symbols, &mut dims);
    let want_ret = lower(&wanted.ret, &mut wanted_symbols, &mut dims);
    if dims.unify(&want_ret, &have_ret, &mut subst, Span::default()).is_err() {
        return Err(format!(
            "it returns `{}`, not `{}`",
            dims.show(&have_ret),
            dims.show(&want_ret)
        ));
    }
    Ok(())
}

/// The smallest and largest value of an integer type.
fn int_range(scalar: Scalar) -> Option<(i128, i128)> {
    Some(match scalar {
        Scalar::I8 => (i8::MIN.into(), i8::MAX.into()),
        Scalar::I16 => (i16::MIN.into(), i16::MAX.into()),
        Scalar::I32 => (i32::MIN.into(), i32::MAX.into()),
        Scalar::I64 => (i64::MIN.into(), i64::MAX.into()),
        Scalar::U8 => (0, u8::MAX.into()),
        Scalar::U16 => (0, u16::MAX.into()),
        Scalar::U32 => (0, u32::MAX.into()),
        Scalar::U64 => (0, u64::MAX.into()),
        _ => return None,
    })
}

/// The type with literal types replaced by their defaults: `i64` for integers, `f64` for
/// floats (spec/language.md §2.4).
fn concrete(ty: &Type) -> Type {
    match ty {
        Type::IntLit => Type::Scalar(Scalar::I64),
        Type::FloatLit => Type::Scalar(Scalar::F64),
        Type::List(item) => Type::List(Box::new(concrete(item))),
        Type::Optional(inner) => Type::Optional(Box::new(concrete(inner))),
        other => other.clone(),
    }
}

/// Whether a value of type `found` fits where `expected` is required.
pub(crate) fn fits(expected: &Type, found: &Type) -> bool {
    expected == found
        || Dims::default().unify(expected, found, &mut Subst::new(), Span::default()).is_ok()
}

/// What to write to turn a `found` into an `expected`, where the language has a way.
fn conversion_help(expected: &Type, found: &Type) -> Option<String> {
    match (expected.non_null(), found.non_null()) {
        (Type::List(item), Type::Scalar(_) | Type::IntLit | Type::FloatLit)
            if !item.is_unknown() =>
        {
            Some("wrap the value in a list: `[value]`".into())
        }
        (Type::Scalar(e), Type::Scalar(f)) if e.is_numeric() && f.is_numeric() => Some(format!(
            "numbers do not convert implicitly; compute the value as `{}` (in SQL: `CAST(x AS {})`)",
            e.name(),
            e.sql_name()
        )),
        (Type::Tensor(_), Type::List(_)) => {
            Some("an `ai` or operation that returns a tensor makes one from a list".into())
        }
        (Type::Table(_), Type::List(_)) => {
            Some("make a table of columns with `select(table, name = column, ...)`".into())
        }
        _ => None,
    }
}
