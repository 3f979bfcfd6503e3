//! Resolution inside pipelines and tests: statements, expressions and calls.

use aigrid_lang::Span;
use aigrid_lang::ast::{Arg, BinaryOp, Expr, ExprKind, PipelineDecl, Stmt, StmtKind};

use super::{Meaning, Resolver, Unused};
use crate::error::{ResolveError, did_you_mean};
use crate::packages::{ItemInfo, Signature};

/// Where a body is.
#[derive(Clone, Copy)]
pub(super) enum Context<'a> {
    Pipeline(&'a PipelineDecl),
    Test,
}

impl Resolver<'_, '_> {
    /// Resolves the statements of a pipeline or test; parameters are already bound.
    pub(super) fn body(&mut self, stmts: &[Stmt], context: Context<'_>) {
        for (index, stmt) in stmts.iter().enumerate() {
            let last = index + 1 == stmts.len();
            // Attributes on `return` and `assert` are syntax errors (AG0111).
            if matches!(stmt.kind, StmtKind::Let { .. } | StmtKind::Expr(_)) {
                self.attributes(&stmt.attrs, super::attrs::Place::Step);
            }
            match &stmt.kind {
                StmtKind::Let { name, ty, value } => {
                    if let Some(ty) = ty {
                        self.ty(ty);
                    }
                    self.expr(value);
                    self.bind_local(&name.name, name.span, Some(Unused::Let));
                }
                StmtKind::Return(value) => {
                    self.expr(value);
                    let span = stmt.span;
                    let misplaced = match context {
                        Context::Test => Some((
                            "is not allowed in tests",
                            "a test passes when its asserts hold; it returns nothing",
                        )),
                        Context::Pipeline(p) if p.ret.is_none() => Some((
                            "in a pipeline without a result type",
                            "declare the result type after the parameters: `-> TYPE`",
                        )),
                        Context::Pipeline(_) if !last => Some((
                            "must be the last statement of the pipeline",
                            "move the steps after it before it, or remove them",
                        )),
                        Context::Pipeline(_) => None,
                    };
                    if let Some((reason, help)) = misplaced {
                        self.errors.push(ResolveError::MisplacedReturn { reason, span, help });
                    }
                }
                StmtKind::Assert { cond, message } => {
                    self.expr(cond);
                    if let Some(message) = message {
                        self.expr(message);
                    }
                    if matches!(context, Context::Pipeline(_)) {
                        self.errors.push(ResolveError::AssertOutsideTest { span: stmt.span });
                    }
                }
                StmtKind::Expr(value) => self.expr(value),
            }
        }
        if let Context::Pipeline(pipeline) = context
            && let Some(ret) = &pipeline.ret
            // A misplaced `return` is reported as such, not as a missing one too.
            && !stmts.iter().any(|s| matches!(s.kind, StmtKind::Return(_)))
        {
            self.errors.push(ResolveError::MissingReturn {
                name: pipeline.name.name.to_string(),
                span: pipeline.name.span,
                ret: ret.span,
            });
        }
        for (name, binding) in std::mem::take(&mut self.locals) {
            if !binding.used && matches!(binding.report_unused, Some(Unused::Let)) {
                self.errors
                    .push(ResolveError::UnusedLet { name: name.to_string(), span: binding.span });
            }
        }
    }

    pub(super) fn expr(&mut self, expr: &Expr) {
        match &expr.kind {
            ExprKind::Name(_) | ExprKind::Field { .. } => {
                self.callee(expr);
            }
            ExprKind::Call { callee, args } => self.call(callee, args, 0, expr.span),
            ExprKind::Binary { op, lhs, rhs } if op.node == BinaryOp::Pipe => {
                // `x |> f(a)` is `f(x, a)`; `x |> f` is `f(x)`.
                self.expr(lhs);
                match &rhs.kind {
                    ExprKind::Call { callee, args } => self.call(callee, args, 1, rhs.span),
                    _ => self.call(rhs, &[], 1, rhs.span),
                }
            }
            ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            ExprKind::Unary { operand, .. } => self.expr(operand),
            ExprKind::Paren(inner) => self.expr(inner),
            ExprKind::List(items) => items.iter().for_each(|item| self.expr(item)),
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Str { .. }
            | ExprKind::Duration(_)
            | ExprKind::Bool(_)
            | ExprKind::Null => {}
        }
    }

    /// Resolves a name or field access; returns the callable it names, if it is one.
    fn callee(&mut self, expr: &Expr) -> Option<Meaning> {
        match &expr.kind {
            ExprKind::Name(name) => {
                let meaning = self.lookup(&name.name);
                if meaning.is_none() {
                    self.unknown_name(name);
                }
                meaning
            }
            ExprKind::Field { base, name } => match &base.kind {
                // `module.item`, or a column of a value bound to that name.
                ExprKind::Name(module)
                    if matches!(self.peek(&module.name), Some(Meaning::Module(_))) =>
                {
                    self.qualified(module, name).map(|info| match info {
                        ItemInfo::Type => Meaning::Type,
                        ItemInfo::Callable(signature) => Meaning::Callable(signature),
                    })
                }
                _ => {
                    self.expr(base);
                    None
                }
            },
            _ => {
                self.expr(expr);
                None
            }
        }
    }

    /// What `name` means, without marking it used.
    fn peek(&self, name: &str) -> Option<&Meaning> {
        self.locals
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, b)| &b.meaning)
            .or_else(|| self.top.get(name).map(|b| &b.meaning))
    }

    /// Resolves a call; `piped` values (from `|>`) come before the written arguments.
    fn call(&mut self, callee: &Expr, args: &[Arg], piped: usize, span: Span) {
        let meaning = self.callee(callee);
        for arg in args {
            self.expr(&arg.value);
        }
        if let Some(Meaning::Callable(Some(signature))) = meaning {
            self.check_arguments(&signature, args, piped, span);
        }
    }

    fn check_arguments(&mut self, signature: &Signature, args: &[Arg], piped: usize, span: Span) {
        let declared = (signature.file == self.file).then_some(signature.span);
        let count = signature.params.len();
        let mut given: Vec<Option<Span>> = vec![None; count];
        for slot in given.iter_mut().take(piped) {
            *slot = Some(span);
        }
        let positional: Vec<&Arg> = args.iter().filter(|a| a.name.is_none()).collect();
        let total = piped + positional.len();
        if total > count {
            let extra = positional.get(count.saturating_sub(piped)).map_or(span, |a| a.span);
            self.errors.push(ResolveError::TooManyArguments {
                callee: signature.name.clone(),
                takes: count,
                plural: if count == 1 { "" } else { "s" },
                given: total,
                span: extra,
                declared,
            });
        }
        for (index, arg) in positional.iter().enumerate() {
            if let Some(slot) = given.get_mut(piped + index) {
                *slot = Some(arg.span);
            }
        }
        for arg in args {
            let Some(name) = &arg.name else { continue };
            match signature.params.iter().position(|(p, _)| *p == name.name) {
                Some(index) => match given[index] {
                    Some(first) => self.errors.push(ResolveError::ArgumentTwice {
                        param: name.name.to_string(),
                        span: arg.span,
                        first,
                    }),
                    None => given[index] = Some(arg.span),
                },
                None if signature.named_rest => {}
                None => self.errors.push(ResolveError::UnknownArgument {
                    callee: signature.name.clone(),
                    name: name.name.to_string(),
                    span: name.span,
                    help: did_you_mean(
                        &name.name,
                        signature.params.iter().map(|(p, _)| p.as_str()),
                    ),
                }),
            }
        }
        let missing: Vec<String> = signature
            .params
            .iter()
            .zip(&given)
            .filter(|((_, required), given)| *required && given.is_none())
            .map(|((name, _), _)| format!("`{name}`"))
            .collect();
        if !missing.is_empty() {
            self.errors.push(ResolveError::MissingArgument {
                what: if missing.len() == 1 { "argument" } else { "arguments" },
                callee: signature.name.clone(),
                missing: missing.join(", "),
                span,
                declared,
            });
        }
    }
}
