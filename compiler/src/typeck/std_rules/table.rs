//! Typing rules of the table and text operations: columns named by literals, `sql` steps
//! planned by DataFusion, `select`, `join`, `group_by`, `chunk` and the text functions.

use aigrid_lang::Span;
use aigrid_lang::ast::ExprKind;
use datafusion::arrow::datatypes::SchemaRef;

use super::{Call, schema_of, string_literal};
use crate::error::did_you_mean;
use crate::ty::{Column, Elem, Scalar, Tensor, Type};
use crate::typeck::{Checker, Problem, TypeError};

impl Checker<'_, '_> {
    /// The input's columns, checked to include each name of the string list argument `param`.
    pub(super) fn check_column_names(
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
    pub(super) fn literal_names(&mut self, call: &Call<'_, '_>, param: usize) -> bool {
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

    pub(super) fn sort(&mut self, call: &Call<'_, '_>) -> Type {
        let input = call.ty(0);
        if let Type::Table(Some(columns)) = &input {
            self.check_column_names(call, 1, columns);
        }
        input
    }

    pub(super) fn filter(&mut self, call: &Call<'_, '_>) -> Type {
        let input = call.ty(0);
        if let (Some(schema), Some((predicate, literal, raw))) =
            (schema_of(&input), call.string_literal(1))
        {
            let query = format!("SELECT * FROM input WHERE\n{predicate}");
            self.plan_sql(literal, &query, raw, 1, &[("input".into(), schema)]);
        }
        input
    }

    pub(super) fn select(&mut self, call: &Call<'_, '_>) -> Type {
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

    pub(super) fn join(&mut self, call: &Call<'_, '_>) -> Type {
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

    pub(super) fn group_by(&mut self, call: &Call<'_, '_>) -> Type {
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

    pub(super) fn sql_step(&mut self, call: &Call<'_, '_>) -> Type {
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
    pub(super) fn plan_sql(
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

    pub(super) fn text(&mut self, call: &Call<'_, '_>, ret: Type) -> Type {
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

    pub(super) fn chunk(&mut self, call: &Call<'_, '_>) -> Type {
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
