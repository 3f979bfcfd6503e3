//! The types of expressions: literals, names, columns, operators and calls.

use std::collections::HashMap;
use std::rc::Rc;

use aigrid_lang::Span;
use aigrid_lang::ast::{Arg, BinaryOp, Expr, ExprKind, Ident, UnaryOp};

use super::env::{Callable, CallableKind, Def};
use super::std_rules::int_literal;
use super::unify::{Subst, substitute};
use super::{Checker, TypeError};
use crate::error::did_you_mean;
use crate::hir::{self, ExprKind as HirKind, Literal, Target};
use crate::ty::{Dim, Scalar, Tensor, Type};

/// One argument of a call, typed: the piped value (`x |> f`) comes first.
pub(super) struct ArgValue<'e> {
    pub name: Option<&'e Ident>,
    pub ty: Type,
    pub span: Span,
    /// The expression, except for a piped value.
    pub expr: Option<&'e Expr>,
}

/// Which argument went to which parameter.
pub(super) struct Binding {
    /// Per parameter, the index of its argument.
    pub params: Vec<Option<usize>>,
    /// Named arguments that are no parameter (`select`'s columns, `sql`'s tables).
    pub rest: Vec<usize>,
}

impl<'e> Checker<'_, '_> {
    /// An expression used as a value: a call that returns nothing is an error.
    pub(super) fn value(&mut self, expr: &Expr) -> hir::Expr {
        let typed = self.expr(expr);
        match typed.ty {
            Type::Nothing => {
                let name = match &expr.kind {
                    ExprKind::Call { callee, .. } => callee_name(callee),
                    ExprKind::Binary { rhs, .. } => callee_name(rhs),
                    _ => String::new(),
                };
                self.error(TypeError::NoValue { name, span: expr.span });
                hir::Expr::error(expr.span)
            }
            _ => typed,
        }
    }

    /// An expression, typed.
    pub(super) fn expr(&mut self, expr: &Expr) -> hir::Expr {
        let span = expr.span;
        let literal =
            |literal: Literal, ty: Type| hir::Expr { kind: HirKind::Literal(literal), ty, span };
        match &expr.kind {
            ExprKind::Int(n) => literal(Literal::Int(*n), Type::IntLit),
            ExprKind::Float(x) => literal(Literal::Float(*x), Type::FloatLit),
            ExprKind::Str { value, .. } => {
                literal(Literal::Str(value.clone()), Type::Scalar(Scalar::Utf8))
            }
            ExprKind::Duration(d) => literal(
                Literal::Duration(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                Type::Scalar(Scalar::Duration),
            ),
            ExprKind::Bool(b) => literal(Literal::Bool(*b), Type::Scalar(Scalar::Bool)),
            ExprKind::Null => literal(Literal::Null, Type::Null),
            ExprKind::List(items) => self.list(items, span),
            ExprKind::Name(name) => self.name(name),
            ExprKind::Field { base, name } => self.field(base, name, span),
            ExprKind::Call { callee, args } => self.call(callee, args, None, span),
            ExprKind::Binary { op, lhs, rhs } if op.node == BinaryOp::Pipe => {
                let piped = self.value(lhs);
                match &rhs.kind {
                    ExprKind::Call { callee, args } => self.call(callee, args, Some(piped), span),
                    _ => self.call(rhs, &[], Some(piped), span),
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let (a, b) = (self.value(lhs), self.value(rhs));
                let ty = self.binary(op.node, &a.ty, &b.ty, span);
                let kind = HirKind::Binary { op: op.node, lhs: Box::new(a), rhs: Box::new(b) };
                hir::Expr { kind, ty, span }
            }
            ExprKind::Unary { op, operand } => {
                let operand = self.value(operand);
                let ty = self.unary(op.node, operand.ty.clone(), span);
                hir::Expr {
                    kind: HirKind::Unary { op: op.node, operand: Box::new(operand) },
                    ty,
                    span,
                }
            }
            ExprKind::Paren(inner) => self.expr(inner),
        }
    }

    fn list(&mut self, items: &[Expr], span: Span) -> hir::Expr {
        let mut element = Type::Unknown;
        let mut typed = Vec::with_capacity(items.len());
        for item in items {
            let value = self.value(item);
            let ty = value.ty.clone();
            element = match (&element, &ty) {
                (Type::Unknown, _) => ty,
                (Type::IntLit, Type::FloatLit) => Type::FloatLit,
                (Type::IntLit | Type::FloatLit, Type::Scalar(_)) if self.fits(&ty, &element) => ty,
                _ => {
                    self.expect(&element.clone(), &ty, item.span, None);
                    element
                }
            };
            typed.push(value);
        }
        hir::Expr { kind: HirKind::List(typed), ty: Type::List(Box::new(element)), span }
    }

    /// Whether `found` fits `expected`, without reporting anything.
    pub(super) fn fits(&mut self, expected: &Type, found: &Type) -> bool {
        self.dims.unify(expected, found, &mut Subst::new(), Span::default()).is_ok()
    }

    fn name(&mut self, name: &Ident) -> hir::Expr {
        if let Some(index) = self.local(&name.name) {
            let ty = self.locals[index].ty.clone();
            return hir::Expr { kind: HirKind::Local(index), ty, span: name.span };
        }
        let def = self.env.lookup(self.file, &name.name);
        self.not_a_value(def, name);
        hir::Expr::error(name.span)
    }

    /// The innermost local called `name` that is in scope.
    pub(super) fn local(&self, name: &str) -> Option<usize> {
        self.locals.iter().rposition(|l| l.name == name)
    }

    /// Reports an item used as a value.
    fn not_a_value(&mut self, def: Option<Def>, name: &Ident) {
        let Some(def) = def else { return };
        let (kind, help) = match &def {
            Def::Module(_) => {
                ("a module", Some(format!("name one of its items: `{}.item`", name.name)))
            }
            Def::Std(_) => ("an operation", Some(format!("call it: `{}(...)`", name.name))),
            Def::Item(..) => match self.env.callable(&def) {
                Some(callable) => (
                    match callable.kind {
                        CallableKind::Ai => "an `ai`",
                        _ => "a pipeline",
                    },
                    Some(format!("call it: `{}(...)`", name.name)),
                ),
                None => ("a type", None),
            },
        };
        self.error(TypeError::NotAValue {
            name: name.name.to_string(),
            kind,
            span: name.span,
            help,
        });
    }

    /// Whether `name` is a module here (and not a local of the same name).
    fn is_module(&mut self, name: &Ident) -> bool {
        self.local(&name.name).is_none()
            && matches!(self.env.lookup(self.file, &name.name), Some(Def::Module(_)))
    }

    /// `base.name`: a column of a table, or an item of a module used as a value.
    fn field(&mut self, base: &Expr, name: &Ident, span: Span) -> hir::Expr {
        if let ExprKind::Name(module) = &base.kind
            && self.is_module(module)
        {
            let def = self.env.qualified(self.file, &module.name, &name.name);
            self.not_a_value(def, name);
            return hir::Expr::error(span);
        }
        let base = self.value(base);
        let ty = self.column_type(&base, name);
        let kind = HirKind::Column { base: Box::new(base), name: name.name.clone() };
        hir::Expr { kind, ty, span }
    }

    fn column_type(&mut self, base: &hir::Expr, name: &Ident) -> Type {
        let ty = &base.ty;
        let (table, nullable) = match ty {
            Type::Optional(inner) => (inner.as_ref(), true),
            other => (other, false),
        };
        let column = match table {
            Type::Table(Some(columns)) => match columns.iter().find(|c| c.name == name.name) {
                Some(column) => column.ty.clone(),
                None => {
                    let shown = self.dims.show(table);
                    let help = did_you_mean(&name.name, columns.iter().map(|c| c.name.as_str()))
                        .or_else(|| {
                            let names: Vec<&str> =
                                columns.iter().map(|c| c.name.as_str()).collect();
                            Some(format!("its columns are {}", names.join(", ")))
                        });
                    self.error(TypeError::UnknownColumn {
                        name: name.name.to_string(),
                        table: shown,
                        span: name.span,
                        help,
                    });
                    return Type::Unknown;
                }
            },
            Type::Table(None) | Type::Unknown => Type::Unknown,
            other => {
                let found = self.dims.show(other);
                self.error(TypeError::NoColumns { found, span: base.span });
                return Type::Unknown;
            }
        };
        // A tensor column is a tensor with one more dimension, the rows (spec/language.md
        // §Tables); any other column is a list of its values.
        let read = match column {
            Type::Tensor(Tensor { elem, dims: Some(dims) }) => {
                let rows = Dim::Var(self.dims.fresh(None));
                let dims = std::iter::once(rows).chain(dims).collect();
                Type::Tensor(Tensor { elem, dims: Some(dims) })
            }
            other => Type::List(Box::new(other)),
        };
        if nullable { read.nullable() } else { read }
    }

    /// The callable a callee names; reports callees that are not callable.
    fn callee(&mut self, callee: &Expr) -> Option<Rc<Callable>> {
        let (def, name) = match &callee.kind {
            ExprKind::Name(name) => {
                if self.local(&name.name).is_some() {
                    self.error(TypeError::NotCallable {
                        name: name.name.to_string(),
                        kind: "a value",
                        span: name.span,
                    });
                    return None;
                }
                match self.env.lookup(self.file, &name.name) {
                    Some(def) => (def, name),
                    None => {
                        let prelude = aigrid_stdlib::PRELUDE.iter().find(|i| i.name == name.name);
                        return prelude.and_then(|item| self.env.callable(&Def::Std(item)));
                    }
                }
            }
            ExprKind::Field { base, name } => match &base.kind {
                ExprKind::Name(module) if self.is_module(module) => {
                    match self.env.qualified(self.file, &module.name, &name.name) {
                        Some(def) => (def, name),
                        None => return None,
                    }
                }
                _ => {
                    self.value(base);
                    self.error(TypeError::NotCallable {
                        name: name.name.to_string(),
                        kind: "a column",
                        span: callee.span,
                    });
                    return None;
                }
            },
            _ => {
                self.value(callee);
                return None;
            }
        };
        let callable = self.env.callable(&def);
        if callable.is_none() {
            let kind = if matches!(def, Def::Module(_)) { "a module" } else { "a type" };
            self.error(TypeError::NotCallable {
                name: name.name.to_string(),
                kind,
                span: name.span,
            });
        }
        callable
    }

    /// A call; `piped` is the value on the left of `|>`.
    pub(super) fn call(
        &mut self,
        callee: &Expr,
        args: &'e [Arg],
        piped: Option<hir::Expr>,
        span: Span,
    ) -> hir::Expr {
        let callable = self.callee(callee);
        let mut given: Vec<ArgValue<'e>> = Vec::with_capacity(args.len() + 1);
        let mut typed: Vec<Option<hir::Expr>> = Vec::with_capacity(args.len() + 1);
        if let Some(piped) = piped {
            given.push(ArgValue { name: None, ty: piped.ty.clone(), span: piped.span, expr: None });
            typed.push(Some(piped));
        }
        for arg in args {
            let value = self.value(&arg.value);
            given.push(ArgValue {
                name: arg.name.as_ref(),
                ty: value.ty.clone(),
                span: arg.value.span,
                expr: Some(&arg.value),
            });
            typed.push(Some(value));
        }
        let Some(callable) = callable else { return hir::Expr::error(span) };
        let binding = bind(&callable, &given);
        let ty = self.call_type(&callable, &given, &binding, span);
        let target = match callable.kind {
            CallableKind::Std(item) => Target::Std(item),
            CallableKind::Pipeline => Target::Pipeline(callable.file, callable.name.clone()),
            CallableKind::Ai => Target::Ai(callable.file, callable.name.clone()),
        };
        let call_args =
            binding.params.iter().map(|i| i.and_then(|i| typed.get_mut(i)?.take())).collect();
        let rest = binding
            .rest
            .iter()
            .filter_map(|&i| {
                let name = given.get(i)?.name?.name.clone();
                Some((name, typed.get_mut(i)?.take()?))
            })
            .collect();
        let kind = HirKind::Call(hir::Call { target, args: call_args, rest });
        hir::Expr { kind, ty, span }
    }

    /// The type of a call's result.
    fn call_type(
        &mut self,
        callable: &Callable,
        given: &[ArgValue<'_>],
        binding: &Binding,
        span: Span,
    ) -> Type {
        if let CallableKind::Std(item) = callable.kind {
            return self.std_call(item, callable, given, binding, span);
        }
        let mut symbols = HashMap::new();
        let mut subst = Subst::new();
        for (param, index) in callable.params.iter().zip(&binding.params) {
            let Some(arg) = index.and_then(|i| given.get(i)) else { continue };
            let expected = self.dims.instantiate(&param.ty, &mut symbols);
            let origin = (callable.file == self.file).then_some(param.span);
            match self.dims.unify(&expected, &arg.ty, &mut subst, arg.span) {
                Ok(()) => {
                    let literal = arg.expr.and_then(int_literal).map(Literal::Int);
                    self.literal_fits(&expected, literal, arg.span, origin);
                }
                Err(mismatch) => self.mismatch(mismatch, &expected, &arg.ty, arg.span, origin),
            }
        }
        match &callable.ret {
            Some(ret) => {
                let ret = self.dims.instantiate(ret, &mut symbols);
                substitute(&ret, &subst)
            }
            None => Type::Nothing,
        }
    }

    fn binary(&mut self, op: BinaryOp, a: &Type, b: &Type, span: Span) -> Type {
        let bool_ty = Type::Scalar(Scalar::Bool);
        let ok = match op {
            BinaryOp::And | BinaryOp::Or => self.fits(&bool_ty, a) && self.fits(&bool_ty, b),
            BinaryOp::Eq | BinaryOp::Ne => self.fits(a, b) || self.fits(b, a),
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let ordered = |t: &Type| match t {
                    Type::Scalar(s) => s.is_ordered(),
                    Type::IntLit | Type::FloatLit | Type::Unknown => true,
                    _ => false,
                };
                ordered(a) && ordered(b) && (self.fits(a, b) || self.fits(b, a))
            }
            BinaryOp::In => match b {
                Type::List(item) => self.fits(item, a) || self.fits(a, item),
                Type::Unknown => true,
                _ => false,
            },
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => {
                let durations = matches!(op, BinaryOp::Add | BinaryOp::Sub)
                    && *a == Type::Scalar(Scalar::Duration)
                    && *b == Type::Scalar(Scalar::Duration);
                if durations {
                    return Type::Scalar(Scalar::Duration);
                }
                match arithmetic(a, b) {
                    Some(ty) => return ty,
                    None => false,
                }
            }
            BinaryOp::Pipe => true,
        };
        if !ok {
            let (a_shown, b_shown) = (self.dims.show(a), self.dims.show(b));
            let help = match op {
                BinaryOp::And | BinaryOp::Or => Some("both sides must be `bool`".into()),
                BinaryOp::In => Some("the right side must be a list of values like the left".into()),
                BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => Some(
                    "both sides must be numbers, strings, dates, timestamps or durations, of one type"
                        .into(),
                ),
                _ => Some("both sides must have the same type (a literal adapts to the other side)".into()),
            };
            self.error(TypeError::Operator {
                op: op.as_str(),
                found: format!("`{a_shown}` and `{b_shown}`"),
                span,
                help,
            });
        }
        if matches!(
            op,
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem
        ) {
            Type::Unknown
        } else {
            bool_ty
        }
    }

    fn unary(&mut self, op: UnaryOp, ty: Type, span: Span) -> Type {
        let (ok, result) = match op {
            UnaryOp::Not => {
                (self.fits(&Type::Scalar(Scalar::Bool), &ty), Type::Scalar(Scalar::Bool))
            }
            UnaryOp::Neg => match &ty {
                Type::Scalar(s) if s.is_numeric() || *s == Scalar::Duration => (true, ty.clone()),
                Type::IntLit | Type::FloatLit | Type::Unknown => (true, ty.clone()),
                _ => (false, Type::Unknown),
            },
        };
        if !ok {
            let shown = self.dims.show(&ty);
            let (symbol, needs) = match op {
                UnaryOp::Not => ("!", "`bool`"),
                UnaryOp::Neg => ("-", "a number or a duration"),
            };
            self.error(TypeError::Operator {
                op: symbol,
                found: format!("`{shown}`"),
                span,
                help: Some(format!("`{symbol}` takes {needs}")),
            });
        }
        result
    }
}

/// The type of arithmetic on `a` and `b`: one numeric type, to which literals adapt.
fn arithmetic(a: &Type, b: &Type) -> Option<Type> {
    Some(match (a, b) {
        (Type::Unknown, _) | (_, Type::Unknown) => Type::Unknown,
        (Type::Scalar(x), Type::Scalar(y)) if x == y && x.is_numeric() => a.clone(),
        (Type::Scalar(x), Type::IntLit) | (Type::IntLit, Type::Scalar(x)) if x.is_numeric() => {
            Type::Scalar(*x)
        }
        (Type::Scalar(x), Type::FloatLit) | (Type::FloatLit, Type::Scalar(x)) if x.is_float() => {
            Type::Scalar(*x)
        }
        (Type::IntLit, Type::IntLit) => Type::IntLit,
        (Type::IntLit | Type::FloatLit, Type::IntLit | Type::FloatLit) => Type::FloatLit,
        _ => return None,
    })
}

/// Assigns arguments to parameters: positional ones in order, named ones by name. Arity and
/// naming errors are the resolver's (AG0205-AG0208); here the arguments that fit are bound.
pub(super) fn bind(callable: &Callable, given: &[ArgValue<'_>]) -> Binding {
    let mut params = vec![None; callable.params.len()];
    let mut rest = Vec::new();
    let mut next = 0;
    for (index, arg) in given.iter().enumerate() {
        match arg.name {
            None => {
                if let Some(slot) = params.get_mut(next) {
                    *slot = Some(index);
                }
                next += 1;
            }
            Some(name) => match callable.params.iter().position(|p| p.name == name.name) {
                Some(position) => {
                    if params[position].is_none() {
                        params[position] = Some(index);
                    }
                }
                None => rest.push(index),
            },
        }
    }
    Binding { params, rest }
}

/// The name a callee is written as, for messages.
fn callee_name(callee: &Expr) -> String {
    match &callee.kind {
        ExprKind::Name(name) => name.name.to_string(),
        ExprKind::Field { name, .. } => name.name.to_string(),
        ExprKind::Call { callee, .. } => callee_name(callee),
        _ => String::new(),
    }
}
