//! The typing rules of standard-library operations (see [`aigrid_stdlib::Typing`]): the
//! arguments are first checked against the parameter types of the operation's signature, then
//! the operation's rule computes the result.

use std::collections::HashMap;
use std::sync::Arc;

use aigrid_lang::Span;
use aigrid_lang::ast::{Expr, ExprKind, UnaryOp};
use aigrid_stdlib::{Item, Typing};
use datafusion::arrow::datatypes::SchemaRef;

use super::env::Callable;
use super::expr::{ArgValue, Binding};
use super::unify::{Subst, substitute};
use super::{Checker, Problem, TypeError};
use crate::error::did_you_mean;
use crate::ty::{Column, Dim, Elem, Scalar, Tensor, Type};

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
            if let Err(mismatch) = self.dims.unify(&expected, &arg.ty, &mut subst, arg.span) {
                self.mismatch(mismatch, &expected, &arg.ty, arg.span, None);
                return Type::Unknown;
            }
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

    /// The input's columns, checked to include each name of the string list argument `param`.
    fn check_column_names(
        &mut self,
        call: &Call<'_, '_>,
        param: usize,
        columns: &[Column],
    ) -> bool {
        let mut ok = true;
        for (name, span) in call.strings(param) {
            if !columns.iter().any(|c| c.name == name.as_str()) {
                ok = false;
                let table = self.dims.show(&Type::Table(Some(columns.into())));
                self.error(TypeError::UnknownColumn {
                    help: did_you_mean(&name, columns.iter().map(|c| c.name.as_str())),
                    name,
                    table,
                    span,
                });
            }
        }
        ok
    }

    /// Whether argument `param`, if given and not `null`, is a string literal or a list of them;
    /// reports it when not.
    fn literal_names(&mut self, call: &Call<'_, '_>, param: usize) -> bool {
        let Some(arg) = call.arg(param) else { return true };
        let literal = match arg.expr.map(|e| &e.kind) {
            None => false,
            Some(ExprKind::Null | ExprKind::Str { .. }) => true,
            Some(ExprKind::List(items)) => {
                items.iter().all(|i| matches!(i.kind, ExprKind::Str { .. }))
            }
            Some(_) => false,
        };
        if !literal {
            let name = call.callable.params.get(param).map_or("", |p| p.name.as_str()).to_owned();
            self.error(TypeError::InvalidArgument {
                reason: format!("`{name}` must be written in the call, as string literals"),
                span: arg.span,
                help: Some(format!(
                    "the result's columns depend on `{name}`, so they are fixed when compiling, e.g. `[\"id\", \"body\"]`"
                )),
            });
        }
        literal
    }

    fn sort(&mut self, call: &Call<'_, '_>) -> Type {
        let input = call.ty(0);
        if let Type::Table(Some(columns)) = &input {
            self.check_column_names(call, 1, columns);
        }
        input
    }

    fn filter(&mut self, call: &Call<'_, '_>) -> Type {
        let input = call.ty(0);
        if let (Some(schema), Some((predicate, literal, raw))) =
            (schema_of(&input), call.string_literal(1))
        {
            let query = format!("SELECT * FROM input WHERE\n{predicate}");
            self.plan_sql(literal, &query, raw, 1, &[("input".into(), schema)]);
        }
        input
    }

    fn select(&mut self, call: &Call<'_, '_>) -> Type {
        let input = call.ty(0);
        let listed =
            call.arg(1).is_some_and(|a| !matches!(a.expr.map(|e| &e.kind), Some(ExprKind::Null)));
        if listed {
            let Type::Table(Some(columns)) = &input else {
                let names = call.strings(1);
                let columns: Vec<Column> = names
                    .into_iter()
                    .map(|(name, _)| Column { name: name.into(), ty: Type::Unknown })
                    .collect();
                return Type::Table(Some(columns.into()));
            };
            if !self.check_column_names(call, 1, columns) {
                return Type::Unknown;
            }
            let picked: Vec<Column> = call
                .strings(1)
                .iter()
                .filter_map(|(name, _)| columns.iter().find(|c| c.name == name.as_str()).cloned())
                .collect();
            return Type::Table(Some(picked.into()));
        }
        if call.binding.rest.is_empty() {
            return input;
        }
        let mut columns = Vec::new();
        for &index in &call.binding.rest {
            let Some(arg) = call.given.get(index) else { continue };
            let Some(name) = arg.name else { continue };
            let ty = match &arg.ty {
                Type::List(item) => (**item).clone(),
                Type::Optional(inner) => match inner.as_ref() {
                    Type::List(item) => item.as_ref().clone().nullable(),
                    other => other.clone().nullable(),
                },
                Type::Tensor(Tensor { elem, dims: Some(dims) }) if !dims.is_empty() => {
                    match (elem, &dims[1..]) {
                        (Elem::Scalar(s), []) => Type::Scalar(*s),
                        (_, []) => Type::Unknown,
                        (elem, rest) => {
                            Type::Tensor(Tensor { elem: elem.clone(), dims: Some(rest.to_vec()) })
                        }
                    }
                }
                Type::IntLit => Type::Scalar(Scalar::I64),
                Type::FloatLit => Type::Scalar(Scalar::F64),
                Type::Scalar(_) | Type::Unknown | Type::Arrow(_) => arg.ty.clone(),
                other => {
                    let shown = self.dims.show(other);
                    self.error(TypeError::InvalidArgument {
                        reason: format!("a column needs one value per row, found `{shown}`"),
                        span: arg.span,
                        help: Some("pass a column (`t.name`), a list, a tensor with one row per row of the table, or a scalar".into()),
                    });
                    Type::Unknown
                }
            };
            columns.push(Column { name: name.name.clone(), ty });
        }
        Type::Table(Some(columns.into()))
    }

    fn join(&mut self, call: &Call<'_, '_>) -> Type {
        let how = call.string_literal(3).map_or("inner".to_owned(), |(how, _, _)| how);
        if !["inner", "left", "right", "full"].contains(&how.as_str()) {
            self.error(TypeError::InvalidArgument {
                reason: format!("unknown join `{how}`"),
                span: call.span_of(3),
                help: Some("`how` is \"inner\", \"left\", \"right\" or \"full\"".into()),
            });
            return Type::Unknown;
        }
        let (Type::Table(Some(left)), Type::Table(Some(right))) = (call.ty(0), call.ty(1)) else {
            return Type::Table(None);
        };
        // One report per missing key: the right table is checked when the left one has them.
        if !(self.check_column_names(call, 2, &left) && self.check_column_names(call, 2, &right)) {
            return Type::Unknown;
        }
        let keys: Vec<String> = call.strings(2).into_iter().map(|(k, _)| k).collect();
        let nullable_left = matches!(how.as_str(), "right" | "full");
        let nullable_right = matches!(how.as_str(), "left" | "full");
        let mut columns: Vec<Column> = left
            .iter()
            .map(|c| {
                let ty = if nullable_left && !keys.contains(&c.name.to_string()) {
                    c.ty.clone().nullable()
                } else {
                    c.ty.clone()
                };
                Column { name: c.name.clone(), ty }
            })
            .collect();
        for column in right.iter().filter(|c| !keys.contains(&c.name.to_string())) {
            if columns.iter().any(|c| c.name == column.name) {
                self.error(TypeError::InvalidArgument {
                    reason: format!("both tables have a column `{}`", column.name),
                    span: call.span,
                    help: Some(
                        "rename it in one of them first (`select` or `sql`), or join on it".into(),
                    ),
                });
                return Type::Unknown;
            }
            let ty = if nullable_right { column.ty.clone().nullable() } else { column.ty.clone() };
            columns.push(Column { name: column.name.clone(), ty });
        }
        Type::Table(Some(columns.into()))
    }

    fn group_by(&mut self, call: &Call<'_, '_>) -> Type {
        let input = call.ty(0);
        let Type::Table(Some(columns)) = &input else { return Type::Table(None) };
        if !self.check_column_names(call, 1, columns) {
            return Type::Unknown;
        }
        let keys: Vec<String> = call.strings(1).into_iter().map(|(k, _)| k).collect();
        let mut out: Vec<Column> =
            columns.iter().filter(|c| keys.contains(&c.name.to_string())).cloned().collect();
        let schema = schema_of(&input);
        let group = keys.iter().map(|k| format!("\"{k}\"")).collect::<Vec<_>>().join(", ");
        for &index in &call.binding.rest {
            let Some(arg) = call.given.get(index) else { continue };
            let Some(name) = arg.name else { continue };
            let literal = arg.expr.and_then(string_literal);
            let ty = match (&schema, literal) {
                (Some(schema), Some((aggregate, raw))) => {
                    let by =
                        if group.is_empty() { String::new() } else { format!(" GROUP BY {group}") };
                    let query = format!("SELECT\n{aggregate}\nFROM input{by}");
                    self.plan_sql(arg.span, &query, raw, 1, &[("input".into(), schema.clone())])
                        .and_then(|t| match t {
                            Type::Table(Some(c)) => c.first().map(|c| c.ty.clone()),
                            _ => None,
                        })
                        .unwrap_or(Type::Unknown)
                }
                (_, None) => {
                    self.error(TypeError::InvalidArgument {
                        reason: "an aggregate is a SQL expression in a string literal".into(),
                        span: arg.span,
                        help: Some(format!("e.g. `{} = \"sum(amount)\"`", name.name)),
                    });
                    Type::Unknown
                }
                (None, _) => Type::Unknown,
            };
            out.push(Column { name: name.name.clone(), ty });
        }
        Type::Table(Some(out.into()))
    }

    fn sql_step(&mut self, call: &Call<'_, '_>) -> Type {
        let Some((query, literal, raw)) = call.string_literal(0) else {
            if call.arg(0).is_some() {
                self.error(TypeError::InvalidArgument {
                    reason: "the query must be a string literal".into(),
                    span: call.span_of(0),
                    help: Some(
                        "write the query in the call, so that it is checked before the run".into(),
                    ),
                });
            }
            return Type::Unknown;
        };
        let mut inputs = Vec::new();
        let mut known = true;
        for &index in &call.binding.rest {
            let Some(arg) = call.given.get(index) else { continue };
            let Some(name) = arg.name else { continue };
            match &arg.ty {
                Type::Table(Some(_)) => match schema_of(&arg.ty) {
                    Some(schema) => inputs.push((name.name.to_string(), schema)),
                    None => known = false,
                },
                Type::Table(None) | Type::Unknown => known = false,
                other => {
                    let found = self.dims.show(other);
                    self.error(TypeError::Mismatch {
                        expected: "table".into(),
                        found,
                        span: arg.span,
                        origin: None,
                        help: Some(
                            "`sql` reads tables; make one with `select(table, name = column)`"
                                .into(),
                        ),
                    });
                    known = false;
                }
            }
        }
        if !known {
            return Type::Table(None);
        }
        self.plan_sql(literal, &query, raw, 0, &inputs).unwrap_or(Type::Unknown)
    }

    /// Plans a query with DataFusion; reports its error. `prefix_lines` lines of the query
    /// come before the text of the literal at `literal`.
    fn plan_sql(
        &mut self,
        literal: Span,
        query: &str,
        raw: bool,
        prefix_lines: usize,
        inputs: &[(String, SchemaRef)],
    ) -> Option<Type> {
        match self.sql.plan(self.text, literal, query, raw, prefix_lines, inputs) {
            Ok(schema) => Some(Type::from_schema(&schema)),
            Err(error) => {
                self.problems.push(Problem::Sql(error));
                None
            }
        }
    }

    /// The tensor of argument `index`, when it is one with a known shape.
    fn tensor(&self, call: &Call<'_, '_>, index: usize) -> Option<(Elem, Vec<Dim>)> {
        match call.ty(index) {
            Type::Tensor(Tensor { elem, dims: Some(dims) }) => Some((elem, dims)),
            _ => None,
        }
    }

    /// The axis argument `index` as a position in `0..rank`, or `None` (reported) when it is
    /// out of range or not a literal.
    fn axis(
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

    fn elementwise(&mut self, call: &Call<'_, '_>) -> Type {
        let input = call.ty(0);
        if let Some((_, dims)) = self.tensor(call, 0)
            && call.callable.params.iter().any(|p| p.name == "axis")
        {
            self.axis(call, 1, Some(-1), dims.len());
        }
        input
    }

    fn broadcast_call(&mut self, call: &Call<'_, '_>) -> Type {
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

    fn reduce(&mut self, call: &Call<'_, '_>, arg: bool) -> Type {
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

    fn topk(&mut self, call: &Call<'_, '_>, indices: bool) -> Type {
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

    fn reshape(&mut self, call: &Call<'_, '_>) -> Type {
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

    fn concat(&mut self, call: &Call<'_, '_>) -> Type {
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
                super::unify::Mismatch::Elem { expected: *e, found: *f },
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

    fn slice(&mut self, call: &Call<'_, '_>) -> Type {
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

    fn cast(&mut self, call: &Call<'_, '_>) -> Type {
        let input = call.ty(0);
        let target = call.string_literal(1).map(|(name, _, _)| name);
        let Some(scalar) = target.as_deref().and_then(Scalar::from_name).filter(|s| s.is_element())
        else {
            self.error(TypeError::InvalidArgument {
                reason: match &target {
                    Some(name) => format!("`{name}` is not a tensor element type"),
                    None => "the element type must be a string literal".into(),
                },
                span: call.span_of(1),
                help: Some(
                    "use an integer, float or bool type name, e.g. \"f16\" or \"i64\"".into(),
                ),
            });
            return Type::Unknown;
        };
        match input {
            Type::Tensor(Tensor { dims, .. }) => {
                Type::Tensor(Tensor { elem: Elem::Scalar(scalar), dims })
            }
            other => other,
        }
    }

    fn text(&mut self, call: &Call<'_, '_>, ret: Type) -> Type {
        let input = call.ty(0);
        let utf8 = Type::Scalar(Scalar::Utf8);
        match &input {
            Type::Unknown => Type::Unknown,
            Type::List(item) if self.fits(&utf8, item.non_null()) => Type::List(Box::new(ret)),
            _ if self.fits(&utf8, input.non_null()) => {
                if matches!(input, Type::Optional(_)) {
                    ret.nullable()
                } else {
                    ret
                }
            }
            other => {
                let found = self.dims.show(other);
                self.error(TypeError::Mismatch {
                    expected: "utf8 or list<utf8>".into(),
                    found,
                    span: call.span_of(0),
                    origin: None,
                    help: None,
                });
                Type::Unknown
            }
        }
    }

    fn chunk(&mut self, call: &Call<'_, '_>) -> Type {
        if let (Some(size), overlap) = (call.int(1), call.int(2).unwrap_or(0))
            && (size < 1 || overlap < 0 || overlap >= size)
        {
            self.error(TypeError::InvalidArgument {
                reason: format!("windows of {size} with an overlap of {overlap}"),
                span: call.span,
                help: Some("size must be at least 1, and overlap from 0 to size - 1".into()),
            });
            return Type::Unknown;
        }
        let input = call.ty(0);
        let utf8 = Type::Scalar(Scalar::Utf8);
        match &input {
            Type::Table(columns) => {
                let Some((column, _, _)) = call.string_literal(3) else {
                    self.error(TypeError::InvalidArgument {
                        reason: "chunking a table needs the name of its text column".into(),
                        span: call.span,
                        help: Some("name it: `chunk(column = \"body\", size = 500)`".into()),
                    });
                    return Type::Unknown;
                };
                let Some(columns) = columns else { return Type::Table(None) };
                if !self.check_column_names(call, 3, columns) {
                    return Type::Unknown;
                }
                let mut out: Vec<Column> =
                    columns.iter().filter(|c| c.name != column.as_str()).cloned().collect();
                out.push(Column { name: "chunk_no".into(), ty: Type::Scalar(Scalar::I32) });
                out.push(Column { name: "text".into(), ty: utf8 });
                Type::Table(Some(out.into()))
            }
            Type::List(item) if self.fits(&utf8, item.non_null()) => {
                Type::List(Box::new(Type::List(Box::new(utf8))))
            }
            _ if self.fits(&utf8, &input) => Type::List(Box::new(utf8)),
            Type::Unknown => Type::Unknown,
            other => {
                let found = self.dims.show(other);
                self.error(TypeError::Mismatch {
                    expected: "a table, utf8 or list<utf8>".into(),
                    found,
                    span: call.span_of(0),
                    origin: None,
                    help: None,
                });
                Type::Unknown
            }
        }
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
