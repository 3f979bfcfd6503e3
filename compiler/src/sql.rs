//! `sql(query, name = table, ...)` steps checked at compile time: the type checker hands the
//! query and the schemas of its input tables to DataFusion, which plans it; the output schema
//! is the step's type, and an error is reported inside the string literal, at the column
//! DataFusion names.

use std::sync::Arc;

use aigrid_lang::Span;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::datasource::empty::EmptyTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionConfig, SessionContext};

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

/// Plans the queries of `sql` steps: one DataFusion session per file, made on first use
/// (making one registers every function family, which costs more than planning a query).
#[derive(Default)]
pub(crate) struct SqlPlanner {
    context: Option<SessionContext>,
}

impl SqlPlanner {
    /// The output schema of `query` over the named input tables, if it plans.
    pub(crate) fn schema(
        &mut self,
        query: &str,
        inputs: &[(String, SchemaRef)],
    ) -> Option<SchemaRef> {
        plan(self.context(), query, inputs).ok()
    }

    fn context(&mut self) -> &SessionContext {
        self.context.get_or_insert_with(|| {
            let config = SessionConfig::new().set_bool("datafusion.sql_parser.collect_spans", true);
            SessionContext::new_with_config(config)
        })
    }

    /// Plans `query` over the named input tables; returns the output schema, or the error
    /// placed inside the string literal at `literal` of the file whose source is `text`. The
    /// query is the literal's text after `prefix_lines` lines that aigrid wrote around it.
    pub(crate) fn plan(
        &mut self,
        text: &str,
        literal: Span,
        query: &str,
        raw: bool,
        prefix_lines: usize,
        inputs: &[(String, SchemaRef)],
    ) -> Result<SchemaRef, SqlError> {
        plan(self.context(), query, inputs).map_err(|mut problem| {
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
            let shift = |at: Option<(usize, usize)>| {
                at.and_then(|(line, column)| Some((line.checked_sub(prefix_lines)?, column)))
                    .filter(|(line, _)| *line > 0)
            };
            problem.start = shift(problem.start);
            problem.end = shift(problem.end);
            let span = locate(text, literal, raw, &problem);
            SqlError::Invalid { message: problem.message, span, help: problem.help }
        })
    }
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
