//! `sql(query, name = table, ...)` steps checked at compile time: the query is planned by
//! DataFusion against the declared schemas of its input tables, its output schema is inferred
//! (for the steps that use it), and an error is reported inside the string literal, at the
//! column DataFusion names.
//!
//! Only steps whose inputs all have known table types are checked: parameters and `let`s
//! annotated with a table type, and the results of earlier checked `sql` steps. The others wait
//! for the type checker.

use std::collections::HashMap;
use std::sync::Arc;

use aigrid_lang::Span;
use aigrid_lang::ast::{Arg, Expr, ExprKind, ItemKind, Module, Stmt, StmtKind, TypeExpr, TypeKind};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::datasource::empty::EmptyTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionConfig, SessionContext};
use ecow::EcoString;

/// A problem DataFusion found in a `sql` step.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum SqlError {
    /// The query does not parse or does not plan against its input tables.
    #[error("SQL error: {message}")]
    #[diagnostic(code(AG0301))]
    Invalid {
        message: String,
        #[label("here")]
        span: Span,
        #[help]
        help: Option<String>,
    },
}

/// Checks every `sql` step of `module`, whose source is `text`.
pub(crate) fn check(module: &Module, text: &str) -> Vec<SqlError> {
    let aliases = crate::resolve::type_aliases(module);
    let mut checker =
        Checker { aliases, text, tables: HashMap::new(), errors: Vec::new(), context: None };
    for item in &module.items {
        checker.tables.clear();
        match &item.kind {
            ItemKind::Pipeline(pipeline) => {
                for param in &pipeline.params {
                    let schema = checker.table_schema(&param.ty, 0);
                    checker.tables.insert(param.name.name.clone(), schema);
                }
                checker.stmts(&pipeline.body.stmts);
            }
            ItemKind::Test(test) => checker.stmts(&test.body.stmts),
            _ => {}
        }
    }
    checker.errors
}

struct Checker<'a> {
    aliases: HashMap<&'a str, &'a TypeExpr>,
    text: &'a str,
    /// The bindings in scope and their table schemas, when known.
    tables: HashMap<EcoString, Option<SchemaRef>>,
    errors: Vec<SqlError>,
    /// One DataFusion session for the file, made on first use (making one registers every
    /// function family, which costs more than planning a query).
    context: Option<SessionContext>,
}

impl Checker<'_> {
    fn stmts(&mut self, stmts: &[Stmt]) {
        for stmt in stmts {
            match &stmt.kind {
                StmtKind::Let { name, ty, value } => {
                    let inferred = self.expr(value);
                    let declared = ty.as_ref().and_then(|ty| self.table_schema(ty, 0));
                    self.tables.insert(name.name.clone(), declared.or(inferred));
                }
                StmtKind::Return(value) | StmtKind::Expr(value) => {
                    self.expr(value);
                }
                StmtKind::Assert { cond, message } => {
                    self.expr(cond);
                    if let Some(message) = message {
                        self.expr(message);
                    }
                }
            }
        }
    }

    /// Checks the `sql` calls in `expr`; returns the output schema when `expr` is one.
    fn expr(&mut self, expr: &Expr) -> Option<SchemaRef> {
        match &expr.kind {
            ExprKind::Call { callee, args } => {
                let is_sql = matches!(&callee.kind, ExprKind::Name(n) if n.name == "sql")
                    && !self.tables.contains_key("sql");
                args.iter().for_each(|arg| {
                    self.expr(&arg.value);
                });
                if is_sql { self.sql(args) } else { None }
            }
            ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
                None
            }
            ExprKind::Unary { operand: inner, .. } | ExprKind::Paren(inner) => self.expr(inner),
            ExprKind::Field { base, .. } => {
                self.expr(base);
                None
            }
            ExprKind::List(items) => {
                items.iter().for_each(|item| {
                    self.expr(item);
                });
                None
            }
            _ => None,
        }
    }

    /// Plans one `sql(query, name = table, ...)` call, when its query is a literal and every
    /// input table's schema is known.
    fn sql(&mut self, args: &[Arg]) -> Option<SchemaRef> {
        let query = args.first().filter(|a| a.name.is_none())?;
        let ExprKind::Str { value, raw } = &query.value.kind else { return None };
        let mut inputs = Vec::new();
        for arg in args.iter().skip(1) {
            let name = arg.name.as_ref()?;
            let ExprKind::Name(table) = &arg.value.kind else { return None };
            let schema = self.tables.get(&table.name).cloned().flatten()?;
            inputs.push((name.name.to_string(), schema));
        }
        let context = self.context.get_or_insert_with(|| {
            let config = SessionConfig::new().set_bool("datafusion.sql_parser.collect_spans", true);
            SessionContext::new_with_config(config)
        });
        match plan(context, value, &inputs) {
            Ok(schema) => Some(schema),
            Err(mut problem) => {
                if problem.help.is_none()
                    && let Some(column) = problem
                        .message
                        .strip_prefix("column '")
                        .and_then(|m| m.strip_suffix("' not found"))
                {
                    let columns = inputs
                        .iter()
                        .flat_map(|(_, schema)| schema.fields().iter().map(|f| f.name().clone()));
                    problem.help = crate::error::did_you_mean(
                        column,
                        columns.collect::<Vec<_>>().iter().map(String::as_str),
                    );
                }
                let span = locate(self.text, query.value.span, *raw, &problem);
                self.errors.push(SqlError::Invalid {
                    message: problem.message,
                    span,
                    help: problem.help,
                });
                None
            }
        }
    }

    /// The Arrow schema of a table type (following aliases), if every column type maps.
    fn table_schema(&self, ty: &TypeExpr, depth: usize) -> Option<SchemaRef> {
        match &ty.kind {
            TypeKind::Table(fields) => {
                let fields: Option<Vec<Field>> = fields
                    .iter()
                    .map(|f| {
                        self.column_type(&f.ty, 0)
                            .map(|(t, null)| Field::new(f.name.name.as_str(), t, null))
                    })
                    .collect();
                Some(Arc::new(Schema::new(fields?)))
            }
            TypeKind::Optional(inner) => self.table_schema(inner, depth),
            TypeKind::Named(_) if depth < 64 => self.table_schema(self.alias(ty)?, depth + 1),
            _ => None,
        }
    }

    /// The aliased type, for a single-segment name of an alias of this file.
    fn alias(&self, ty: &TypeExpr) -> Option<&TypeExpr> {
        let TypeKind::Named(path) = &ty.kind else { return None };
        let [name] = path.segments.as_slice() else { return None };
        self.aliases.get(name.name.as_str()).copied()
    }

    /// The Arrow type of a column and whether it is nullable.
    fn column_type(&self, ty: &TypeExpr, depth: usize) -> Option<(DataType, bool)> {
        match &ty.kind {
            TypeKind::Optional(inner) => self.column_type(inner, depth).map(|(t, _)| (t, true)),
            TypeKind::List(inner) => {
                let (item, nullable) = self.column_type(inner, depth)?;
                Some((DataType::List(Arc::new(Field::new("item", item, nullable))), false))
            }
            TypeKind::Named(path) if path.segments.len() == 1 => {
                let name = path.segments.first()?.name.as_str();
                match scalar(name) {
                    Some(t) => Some((t, false)),
                    None if depth < 64 => self.column_type(self.alias(ty)?, depth + 1),
                    None => None,
                }
            }
            _ => None,
        }
    }
}

/// The Arrow type of a scalar type name (see spec/language.md, "Scalars").
fn scalar(name: &str) -> Option<DataType> {
    Some(match name {
        "bool" => DataType::Boolean,
        "i8" => DataType::Int8,
        "i16" => DataType::Int16,
        "i32" => DataType::Int32,
        "i64" => DataType::Int64,
        "u8" => DataType::UInt8,
        "u16" => DataType::UInt16,
        "u32" => DataType::UInt32,
        "u64" => DataType::UInt64,
        "f16" => DataType::Float16,
        "bf16" => DataType::UInt16,
        "f32" => DataType::Float32,
        "f64" => DataType::Float64,
        "utf8" | "path" => DataType::Utf8,
        "binary" => DataType::Binary,
        "date" => DataType::Date32,
        "timestamp" => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        "duration" => DataType::Duration(TimeUnit::Millisecond),
        _ => return None,
    })
}

/// What DataFusion said, with where in the query (1-based line and column) when it knows.
#[derive(Debug)]
struct Problem {
    message: String,
    help: Option<String>,
    start: Option<(usize, usize)>,
    end: Option<(usize, usize)>,
}

/// Plans `query` against empty tables of the given schemas; returns the output schema. The
/// tables are registered in `context` for this query only.
fn plan(
    context: &SessionContext,
    query: &str,
    inputs: &[(String, SchemaRef)],
) -> Result<SchemaRef, Problem> {
    let result = plan_registered(context, query, inputs);
    for (name, _) in inputs {
        // Deregistering a table that is not there is not an error; nothing else can fail here.
        let _ = context.deregister_table(name.as_str());
    }
    result
}

fn plan_registered(
    context: &SessionContext,
    query: &str,
    inputs: &[(String, SchemaRef)],
) -> Result<SchemaRef, Problem> {
    for (name, schema) in inputs {
        context
            .register_table(name.as_str(), Arc::new(EmptyTable::new(schema.clone())))
            .map_err(problem)?;
    }
    // DataFusion runs on user input here: a panic in it must not take the compiler down.
    let planned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        futures::executor::block_on(context.state().create_logical_plan(query))
    }));
    let plan = match planned {
        Ok(result) => result.map_err(problem)?,
        Err(_) => {
            return Err(Problem {
                message: "DataFusion failed while planning this query".into(),
                help: Some(
                    "this is a bug in DataFusion or aigrid, not in your query; please report it"
                        .into(),
                ),
                start: None,
                end: None,
            });
        }
    };
    Ok(Arc::new(plan.schema().as_arrow().clone()))
}

fn problem(error: DataFusionError) -> Problem {
    if let Some(diagnostic) = error.diagnostic() {
        let at = |l: &datafusion::common::Location| (l.line as usize, l.column as usize);
        return Problem {
            message: diagnostic.message.clone(),
            help: diagnostic.helps.first().map(|h| h.message.clone()),
            start: diagnostic.span.as_ref().map(|s| at(&s.start)).filter(|p| p.0 > 0),
            end: diagnostic.span.as_ref().map(|s| at(&s.end)).filter(|p| p.0 > 0),
        };
    }
    // sqlparser reports "... at Line: L, Column: C" in the message.
    let text = error.find_root().message().into_owned();
    let (message, start) = match text.rsplit_once(" at Line: ") {
        Some((message, rest)) => {
            let mut numbers = rest
                .split(", Column: ")
                .map(|n| n.trim_end_matches(|c: char| !c.is_ascii_digit()).parse());
            match (numbers.next(), numbers.next()) {
                (Some(Ok(line)), Some(Ok(column))) => (message.to_owned(), Some((line, column))),
                _ => (text.clone(), None),
            }
        }
        None => (text.clone(), None),
    };
    let message = message.trim_start_matches("sql parser error: ");
    let message = message.trim_start_matches("ParserError(\"").trim_end_matches("\")").to_owned();
    Problem { message, help: None, start, end: None }
}

/// The span in the file of a position in the query of the literal at `literal`.
fn locate(text: &str, literal: Span, raw: bool, problem: &Problem) -> Span {
    let source = literal.text(text);
    let (open, close) = if raw { (3, 3) } else { (1, 1) };
    // Positions map one to one only where the literal holds the query as written.
    let Some(start) = problem.start.filter(|_| raw || !source.contains('\\')) else {
        return literal;
    };
    let content_start = literal.start as usize + open;
    let content =
        &text[content_start..(literal.end as usize).saturating_sub(close).max(content_start)];
    let offset = |(line, column): (usize, usize)| -> Option<usize> {
        let line_start: usize =
            content.split('\n').take(line.checked_sub(1)?).map(|l| l.len() + 1).sum();
        let line_text = content.get(line_start..)?.split('\n').next()?;
        let column = line_text
            .char_indices()
            .nth(column.checked_sub(1)?)
            .map_or(line_text.len(), |(i, _)| i);
        Some(content_start + line_start + column)
    };
    let Some(from) = offset(start) else { return literal };
    let to = problem.end.and_then(offset).filter(|&to| to > from).unwrap_or_else(|| {
        let word = text[from..].find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(0);
        from + word.max(1).min(text.len() - from)
    });
    Span::new(literal.file, from as u32, to as u32)
}
