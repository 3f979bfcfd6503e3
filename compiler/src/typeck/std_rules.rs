//! The typing rules of standard-library operations (see [`aigrid_stdlib::Typing`]): the
//! arguments are first checked against the parameter types of the operation's signature, then
//! the operation's rule computes the result.

use std::collections::HashMap;
use std::sync::Arc;

use aigrid_lang::Span;
use aigrid_lang::ast::{Expr, ExprKind, UnaryOp};
use aigrid_stdlib::{Item, Typing};
use datafusion::arrow::datatypes::SchemaRef;

mod table;
mod tensor;

use super::env::Callable;
use super::expr::{ArgValue, Binding};
use super::unify::{Mismatch, Subst, substitute};
use super::{Checker, TypeError};
use crate::ty::{Dim, Elem, Scalar, Tensor, Type};

impl Checker<'_, '_> {
    pub(super) fn std_call(
        &mut self,
        item: &'static Item,
        callable: &Callable,
        given: &[ArgValue<'_>],
        binding: &Binding,
        span: Span,
    ) -> Type {
        let mut symbols = HashMap::new();
        let mut subst = Subst::new();
        for (index, (param, arg)) in callable.params.iter().zip(&binding.params).enumerate() {
            let Some(arg) = arg.and_then(|i| given.get(i)) else { continue };
            // A text function's first parameter also takes a list of texts.
            if index == 0 && item.typing == Typing::Text {
                continue;
            }
            let expected = self.dims.instantiate(&param.ty, &mut symbols);
            // `matmul`'s signature is about the matrices: the last two dimensions.
            let found = match item.typing {
                Typing::Matmul => tensor::matrices(&arg.ty),
                _ => arg.ty.clone(),
            };
            if let Err(mut mismatch) = self.dims.unify(&expected, &found, &mut subst, arg.span) {
                // A dimension is counted in the argument, batch dimensions included.
                let batch = tensor::rank(&arg.ty).saturating_sub(tensor::rank(&found));
                if let Mismatch::DimSize { index, .. } | Mismatch::DimConflict { index, .. } =
                    &mut mismatch
                {
                    *index += batch;
                }
                self.mismatch(mismatch, &expected, &arg.ty, arg.span, None);
                return Type::Unknown;
            }
        }
        if !self.computes_on(item, given) {
            return Type::Unknown;
        }
        let call = Call { callable, given, binding, span };
        // Column names and join kinds decide the result's columns: they must be literals.
        let literal_params: &[usize] = match item.typing {
            Typing::Sort | Typing::Select | Typing::GroupBy => &[1],
            Typing::Join => &[2, 3],
            Typing::Chunk => &[3],
            _ => &[],
        };
        for &param in literal_params {
            if !self.literal_names(&call, param) {
                return Type::Unknown;
            }
        }
        let declared_ret = || callable.ret.clone().unwrap_or(Type::Unknown);
        match item.typing {
            Typing::Declared | Typing::Read => {
                let ret = self.dims.instantiate(&declared_ret(), &mut symbols);
                substitute(&ret, &subst)
            }
            Typing::Matmul => {
                let ret = self.dims.instantiate(&declared_ret(), &mut symbols);
                self.batched(&call, substitute(&ret, &subst))
            }
            Typing::Write => self.write(&call),
            Typing::SameTable => call.ty(0),
            Typing::Filter => self.filter(&call),
            Typing::Sort => self.sort(&call),
            Typing::Select => self.select(&call),
            Typing::Join => self.join(&call),
            Typing::GroupBy => self.group_by(&call),
            Typing::Sql => self.sql_step(&call),
            Typing::Elementwise => self.elementwise(&call),
            Typing::Broadcast => self.broadcast_call(&call),
            Typing::Reduce | Typing::ArgReduce => {
                self.reduce(&call, item.typing == Typing::ArgReduce)
            }
            Typing::TopK => self.topk(&call, item.name == "topk_indices"),
            Typing::Reshape => self.reshape(&call),
            Typing::Concat => self.concat(&call),
            Typing::Slice => self.slice(&call),
            Typing::Cast => self.cast(&call),
            Typing::Text => self.text(&call, declared_ret()),
            Typing::Chunk => self.chunk(&call),
            Typing::Tokenize => {
                let length = call.int(1).unwrap_or(128);
                let rows = Dim::Var(self.dims.fresh(None));
                let width = u64::try_from(length).map_or(Dim::Any, Dim::Fixed);
                Type::Tensor(Tensor {
                    elem: Elem::Scalar(Scalar::I64),
                    dims: Some(vec![rows, width]),
                })
            }
        }
    }

    /// Whether the operation's kernels compute on the element type of its tensor arguments;
    /// an error says to cast the first one that they do not.
    fn computes_on(&mut self, item: &Item, given: &[ArgValue<'_>]) -> bool {
        let allowed = item.elements().names();
        if allowed.is_empty() {
            return true;
        }
        let element = |arg: &ArgValue<'_>| match arg.ty.non_null() {
            Type::Tensor(Tensor { elem: Elem::Scalar(scalar), .. }) => Some(*scalar),
            _ => None,
        };
        // Tensors of different element types: the operation's rule says they differ.
        let mut elements = given.iter().filter_map(element);
        if let Some(first) = elements.next()
            && elements.any(|e| e != first)
        {
            return true;
        }
        for arg in given {
            let Some(scalar) = element(arg) else { continue };
            if allowed.contains(&scalar.name()) {
                continue;
            }
            let target = if scalar.is_float() || allowed.len() == 2 { "f32" } else { "i64" };
            let name = match arg.expr.map(|e| &e.kind) {
                Some(ExprKind::Name(ident)) => ident.name.to_string(),
                _ => "...".to_owned(),
            };
            let types = match allowed {
                [rest @ .., last] if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
                _ => allowed.join(", "),
            };
            let found = self.dims.show(&arg.ty);
            self.error(TypeError::Mismatch {
                expected: format!("a tensor of {types}"),
                found,
                span: arg.span,
                origin: None,
                help: Some(format!(
                    "`{}` computes on {types}; convert the tensor first: `cast({name}, \"{target}\")`",
                    item.name
                )),
            });
            return false;
        }
        true
    }

    fn write(&mut self, call: &Call<'_, '_>) -> Type {
        let value = call.ty(0);
        if !matches!(value.non_null(), Type::Table(_) | Type::Tensor(_) | Type::Unknown) {
            let found = self.dims.show(&value);
            self.error(TypeError::Mismatch {
                expected: "a table or a tensor".into(),
                found,
                span: call.span_of(0),
                origin: None,
                help: None,
            });
        }
        Type::Scalar(Scalar::I64)
    }
}

/// One call of a standard-library operation, with its typed arguments.
struct Call<'c, 'e> {
    callable: &'c Callable,
    given: &'c [ArgValue<'e>],
    binding: &'c Binding,
    span: Span,
}

impl Call<'_, '_> {
    /// The argument of parameter `param`.
    fn arg(&self, param: usize) -> Option<&ArgValue<'_>> {
        self.binding.params.get(param).copied().flatten().and_then(|i| self.given.get(i))
    }

    fn ty(&self, param: usize) -> Type {
        self.arg(param).map_or(Type::Unknown, |a| a.ty.clone())
    }

    fn span_of(&self, param: usize) -> Span {
        self.arg(param).map_or(self.span, |a| a.span)
    }

    fn expr(&self, param: usize) -> Option<&Expr> {
        self.arg(param).and_then(|a| a.expr)
    }

    fn int(&self, param: usize) -> Option<i64> {
        self.expr(param).and_then(int_literal)
    }

    /// The string literal of parameter `param`: its value, span and rawness.
    fn string_literal(&self, param: usize) -> Option<(String, Span, bool)> {
        let expr = self.expr(param)?;
        string_literal(expr).map(|(value, raw)| (value, expr.span, raw))
    }

    /// The string literals of a list literal argument, with their spans.
    fn strings(&self, param: usize) -> Vec<(String, Span)> {
        match self.expr(param).map(|e| &e.kind) {
            Some(ExprKind::List(items)) => items
                .iter()
                .filter_map(|item| string_literal(item).map(|(value, _)| (value, item.span)))
                .collect(),
            Some(ExprKind::Str { value, .. }) => {
                vec![(value.to_string(), self.span_of(param))]
            }
            _ => Vec::new(),
        }
    }

    /// The integers of a list literal argument.
    fn ints(&self, param: usize) -> Option<Vec<i64>> {
        match &self.expr(param)?.kind {
            ExprKind::List(items) => items.iter().map(int_literal).collect(),
            _ => None,
        }
    }
}

/// The integer a literal argument is (a negated one included).
pub(super) fn int_literal(expr: &Expr) -> Option<i64> {
    match &expr.kind {
        ExprKind::Int(n) => Some(*n),
        ExprKind::Unary { op, operand } if op.node == UnaryOp::Neg => {
            int_literal(operand)?.checked_neg()
        }
        ExprKind::Paren(inner) => int_literal(inner),
        _ => None,
    }
}

fn string_literal(expr: &Expr) -> Option<(String, bool)> {
    match &expr.kind {
        ExprKind::Str { value, raw } => Some((value.to_string(), *raw)),
        _ => None,
    }
}

/// The Arrow schema of a table type whose columns are all known.
fn schema_of(ty: &Type) -> Option<SchemaRef> {
    match ty.non_null() {
        Type::Table(Some(columns)) => Type::to_schema(columns).map(Arc::new),
        _ => None,
    }
}
