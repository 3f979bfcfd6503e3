//! Typing rules of the tensor operations: axes, broadcasting, reductions, `topk`, `reshape`,
//! `concat`, `slice` and `cast`.

use aigrid_lang::ast::ExprKind;

use super::Call;
use crate::ty::{Dim, Elem, Scalar, Tensor, Type};
use crate::typeck::{Checker, TypeError};

/// A tensor type of more than two dimensions as the type of its matrices (the last two); any
/// other type as it is.
pub(super) fn matrices(ty: &Type) -> Type {
    match ty {
        Type::Tensor(Tensor { elem, dims: Some(dims) }) if dims.len() > 2 => {
            Type::Tensor(Tensor { elem: elem.clone(), dims: Some(dims[dims.len() - 2..].to_vec()) })
        }
        _ => ty.clone(),
    }
}

/// The number of dimensions of a tensor type whose shape is known; 0 for anything else.
pub(super) fn rank(ty: &Type) -> usize {
    match ty {
        Type::Tensor(Tensor { dims: Some(dims), .. }) => dims.len(),
        _ => 0,
    }
}

impl Checker<'_, '_> {
    /// The tensor of argument `index`, when it is one with a known shape.
    pub(super) fn tensor(&self, call: &Call<'_, '_>, index: usize) -> Option<(Elem, Vec<Dim>)> {
        match call.ty(index) {
            Type::Tensor(Tensor { elem, dims: Some(dims) }) => Some((elem, dims)),
            _ => None,
        }
    }

    /// The axis argument `index` as a position in `0..rank`, or `None` (reported) when it is
    /// out of range or not a literal.
    pub(super) fn axis(
        &mut self,
        call: &Call<'_, '_>,
        index: usize,
        default: Option<i64>,
        rank: usize,
    ) -> Option<Option<usize>> {
        let axis = match call.arg(index) {
            None => default,
            Some(arg) if matches!(arg.expr.map(|e| &e.kind), Some(ExprKind::Null)) => None,
            Some(_) => match call.int(index) {
                Some(axis) => Some(axis),
                None => {
                    self.error(TypeError::InvalidArgument {
                        reason: "the axis must be an integer literal".into(),
                        span: call.span_of(index),
                        help: Some(
                            "the result's shape depends on it, so it is fixed when compiling"
                                .into(),
                        ),
                    });
                    return None;
                }
            },
        };
        let Some(axis) = axis else { return Some(None) };
        let rank_i = rank as i64;
        let normal = if axis < 0 { axis + rank_i } else { axis };
        if !(0..rank_i).contains(&normal) {
            self.error(TypeError::InvalidArgument {
                reason: format!("axis {axis} is out of range for a tensor of rank {rank}"),
                span: call.span_of(index),
                help: Some(format!("use an axis from {} to {}", -rank_i, rank_i - 1)),
            });
            return None;
        }
        Some(Some(normal as usize))
    }

    pub(super) fn elementwise(&mut self, call: &Call<'_, '_>) -> Type {
        let input = call.ty(0);
        if let Some((_, dims)) = self.tensor(call, 0)
            && call.callable.params.iter().any(|p| p.name == "axis")
        {
            self.axis(call, 1, Some(-1), dims.len());
        }
        input
    }

    pub(super) fn broadcast_call(&mut self, call: &Call<'_, '_>) -> Type {
        let (a, b) = (call.ty(0), call.ty(1));
        let (Type::Tensor(x), Type::Tensor(y)) = (&a, &b) else { return Type::Unknown };
        if let (Elem::Scalar(e), Elem::Scalar(f)) = (&x.elem, &y.elem)
            && e != f
        {
            let (expected, found) = (self.dims.show(&a), self.dims.show(&b));
            self.error(TypeError::Mismatch {
                expected,
                found,
                span: call.span_of(1),
                origin: None,
                help: Some(format!(
                    "the element types differ ({f} against {e}); convert with `cast(value, \"{}\")`",
                    e.name()
                )),
            });
            return Type::Unknown;
        }
        let elem = if matches!(x.elem, Elem::Unknown) { y.elem.clone() } else { x.elem.clone() };
        let (Some(xd), Some(yd)) = (&x.dims, &y.dims) else {
            return Type::Tensor(Tensor { elem, dims: None });
        };
        match self.dims.broadcast(xd, yd, call.span_of(1)) {
            Ok(dims) => Type::Tensor(Tensor { elem, dims: Some(dims) }),
            Err((_, m, n)) => {
                let (a, b) = (self.dims.show(&a), self.dims.show(&b));
                self.error(TypeError::Broadcast { a, b, m, n, span: call.span });
                Type::Unknown
            }
        }
    }

    /// `matmul`'s result `[M, N]` (from its signature) after the batch dimensions of its
    /// arguments, broadcast.
    pub(super) fn batched(&mut self, call: &Call<'_, '_>, matrix: Type) -> Type {
        let (Some((_, a)), Some((_, b))) = (self.tensor(call, 0), self.tensor(call, 1)) else {
            // A shape that is not known may have batch dimensions: so may the result.
            let Type::Tensor(Tensor { elem, .. }) = matrix else { return matrix };
            return Type::Tensor(Tensor { elem, dims: None });
        };
        let (batch_a, batch_b) = (&a[..a.len().saturating_sub(2)], &b[..b.len().saturating_sub(2)]);
        let Type::Tensor(Tensor { elem, dims: Some(last) }) = matrix else { return matrix };
        match self.dims.broadcast(batch_a, batch_b, call.span_of(1)) {
            Ok(mut dims) => {
                dims.extend(last);
                Type::Tensor(Tensor { elem, dims: Some(dims) })
            }
            Err((_, m, n)) => {
                let (a, b) = (self.dims.show(&call.ty(0)), self.dims.show(&call.ty(1)));
                self.error(TypeError::Broadcast { a, b, m, n, span: call.span });
                Type::Unknown
            }
        }
    }

    pub(super) fn reduce(&mut self, call: &Call<'_, '_>, arg: bool) -> Type {
        let Some((elem, dims)) = self.tensor(call, 0) else {
            return if arg { Type::any_tensor() } else { Type::Unknown };
        };
        let elem = if arg {
            Elem::Scalar(Scalar::I64)
        } else if call.callable.name == "mean" {
            match elem {
                Elem::Scalar(s) if s.is_int() => Elem::Scalar(Scalar::F64),
                other => other,
            }
        } else {
            elem
        };
        let default = if arg { Some(-1) } else { None };
        match self.axis(call, 1, default, dims.len()) {
            None => Type::Unknown,
            Some(None) => match elem {
                Elem::Scalar(s) => Type::Scalar(s),
                _ => Type::Unknown,
            },
            Some(Some(axis)) => {
                let dims = dims
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != axis)
                    .map(|(_, d)| d.clone())
                    .collect();
                Type::Tensor(Tensor { elem, dims: Some(dims) })
            }
        }
    }

    pub(super) fn topk(&mut self, call: &Call<'_, '_>, indices: bool) -> Type {
        let Some((elem, mut dims)) = self.tensor(call, 0) else { return Type::any_tensor() };
        let elem = if indices { Elem::Scalar(Scalar::I64) } else { elem };
        let Some(last) = dims.last_mut() else {
            self.error(TypeError::InvalidArgument {
                reason: "a tensor of rank 0 has no values to rank".into(),
                span: call.span_of(0),
                help: None,
            });
            return Type::Unknown;
        };
        let Some(k) = call.int(1) else {
            *last = Dim::Var(self.dims.fresh(None));
            return Type::Tensor(Tensor { elem, dims: Some(dims) });
        };
        let width = self.dims.known(last);
        if k < 1 || width.is_some_and(|w| k as u64 > w) {
            let reason = match width {
                Some(w) if k >= 1 => format!("k = {k} is more than the {w} values of each row"),
                _ => format!("k = {k}: k must be at least 1"),
            };
            self.error(TypeError::InvalidArgument { reason, span: call.span_of(1), help: None });
            return Type::Unknown;
        }
        *last = Dim::Fixed(k as u64);
        Type::Tensor(Tensor { elem, dims: Some(dims) })
    }

    pub(super) fn reshape(&mut self, call: &Call<'_, '_>) -> Type {
        let Some((elem, dims)) = self.tensor(call, 0) else { return Type::any_tensor() };
        let Some(shape) = call.ints(1) else {
            self.error(TypeError::InvalidArgument {
                reason: "the shape must be a list of integer literals".into(),
                span: call.span_of(1),
                help: Some("e.g. `reshape(x, [-1, 384])`".into()),
            });
            return Type::Unknown;
        };
        let inferred = shape.iter().filter(|&&n| n == -1).count();
        if inferred > 1 || shape.iter().any(|&n| n < -1 || n == 0) {
            self.error(TypeError::InvalidArgument {
                reason: "sizes must be positive, with at most one -1".into(),
                span: call.span_of(1),
                help: None,
            });
            return Type::Unknown;
        }
        let total: Option<u64> =
            dims.iter().try_fold(1u64, |n, d| n.checked_mul(self.dims.known(d)?));
        let written =
            shape.iter().filter(|&&n| n > 0).try_fold(1u64, |a, &n| a.checked_mul(n as u64));
        let Some(written) = written else {
            self.error(TypeError::InvalidArgument {
                reason: format!("the shape {shape:?} has more elements than a tensor can hold"),
                span: call.span_of(1),
                help: None,
            });
            return Type::Unknown;
        };
        let fill = match total {
            Some(total)
                if written == 0 || total % written != 0 || (inferred == 0 && total != written) =>
            {
                self.error(TypeError::InvalidArgument {
                    reason: format!("a tensor of {total} elements cannot take the shape {shape:?}"),
                    span: call.span_of(1),
                    help: None,
                });
                return Type::Unknown;
            }
            Some(total) => Dim::Fixed(total / written),
            None => Dim::Var(self.dims.fresh(None)),
        };
        let dims = shape
            .iter()
            .map(|&n| if n == -1 { fill.clone() } else { Dim::Fixed(n as u64) })
            .collect();
        Type::Tensor(Tensor { elem, dims: Some(dims) })
    }

    pub(super) fn concat(&mut self, call: &Call<'_, '_>) -> Type {
        let (Some((elem, a)), Some((other, b))) = (self.tensor(call, 0), self.tensor(call, 1))
        else {
            return Type::any_tensor();
        };
        if let (Elem::Scalar(e), Elem::Scalar(f)) = (&elem, &other)
            && e != f
        {
            let expected = Type::Tensor(Tensor { elem: elem.clone(), dims: Some(a.clone()) });
            let found = call.ty(1);
            self.mismatch(
                crate::typeck::unify::Mismatch::Elem { expected: *e, found: *f },
                &expected,
                &found,
                call.span_of(1),
                None,
            );
            return Type::Unknown;
        }
        if a.len() != b.len() {
            let shown = self.dims.show(&call.ty(1));
            self.error(TypeError::Rank {
                expected: a.len(),
                found: b.len(),
                span: call.span_of(1),
                shown,
                origin: None,
            });
            return Type::Unknown;
        }
        let Some(Some(axis)) = self.axis(call, 2, Some(0), a.len()) else { return Type::Unknown };
        let mut dims = Vec::with_capacity(a.len());
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            if i == axis {
                dims.push(match (self.dims.known(x), self.dims.known(y)) {
                    (Some(m), Some(n)) => match m.checked_add(n) {
                        Some(sum) => Dim::Fixed(sum),
                        None => {
                            self.error(TypeError::InvalidArgument {
                                reason: format!(
                                    "{m} and {n} rows together are more than a tensor can hold"
                                ),
                                span: call.span,
                                help: None,
                            });
                            return Type::Unknown;
                        }
                    },
                    _ => Dim::Var(self.dims.fresh(None)),
                });
            } else if let Err(mismatch) = self.dims.unify_dim(x, y, i, call.span_of(1)) {
                let expected = Type::Tensor(Tensor { elem: elem.clone(), dims: Some(a.clone()) });
                self.mismatch(mismatch, &expected, &call.ty(1), call.span_of(1), None);
                return Type::Unknown;
            } else {
                dims.push(x.clone());
            }
        }
        Type::Tensor(Tensor { elem, dims: Some(dims) })
    }

    pub(super) fn slice(&mut self, call: &Call<'_, '_>) -> Type {
        let Some((elem, mut dims)) = self.tensor(call, 0) else { return Type::any_tensor() };
        if dims.is_empty() {
            self.error(TypeError::InvalidArgument {
                reason: "a tensor of rank 0 has no rows to slice".into(),
                span: call.span_of(0),
                help: None,
            });
            return Type::Unknown;
        }
        let rows = self.dims.known(&dims[0]);
        let leading = match (call.int(1), call.int(2)) {
            (Some(start), Some(end)) => {
                if start < 0 || end < start || rows.is_some_and(|r| end as u64 > r) {
                    self.error(TypeError::InvalidArgument {
                        reason: format!("rows {start}..{end} are not within the tensor"),
                        span: call.span,
                        help: Some(
                            "start must be at least 0 and end at least start, at most the rows"
                                .into(),
                        ),
                    });
                    return Type::Unknown;
                }
                Dim::Fixed((end - start) as u64)
            }
            _ => Dim::Var(self.dims.fresh(None)),
        };
        dims[0] = leading;
        Type::Tensor(Tensor { elem, dims: Some(dims) })
    }

    pub(super) fn cast(&mut self, call: &Call<'_, '_>) -> Type {
        let input = call.ty(0);
        let target = call.string_literal(1).map(|(name, _, _)| name);
        // `bf16` is stored as its bits (`u16`): a cast would convert the bits, not the value.
        let converts = |s: &Scalar| s.is_element() && *s != Scalar::Bf16;
        let Some(scalar) = target.as_deref().and_then(Scalar::from_name).filter(converts) else {
            self.error(TypeError::InvalidArgument {
                reason: match &target {
                    Some(name) => format!("`cast` does not convert to `{name}`"),
                    None => "the element type must be a string literal".into(),
                },
                span: call.span_of(1),
                help: Some(
                    "name a tensor element type other than bf16: \"f32\", \"f64\", \"i64\", \"i32\", \"bool\", ..."
                        .into(),
                ),
            });
            return Type::Unknown;
        };
        if let Type::Tensor(Tensor { elem: Elem::Scalar(Scalar::Bf16), .. }) = input.non_null() {
            self.error(TypeError::InvalidArgument {
                reason: "`cast` does not convert from bf16, which is stored as its bits".into(),
                span: call.span_of(0),
                help: Some("read the data as f32 or f16".into()),
            });
            return Type::Unknown;
        }
        match input {
            Type::Tensor(Tensor { dims, .. }) => {
                Type::Tensor(Tensor { elem: Elem::Scalar(scalar), dims })
            }
            other => other,
        }
    }
}
