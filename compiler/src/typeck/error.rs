//! Errors of type checking (codes `AG04xx`).

use aigrid_lang::Span;

/// The problems type checking reports.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum TypeError {
    /// A value of one type where another is required.
    #[error("mismatched types: expected `{expected}`, found `{found}`")]
    #[diagnostic(code(AG0401))]
    Mismatch {
        expected: String,
        found: String,
        #[label(primary, "this is `{found}`")]
        span: Span,
        #[label("expected because of this")]
        origin: Option<Span>,
        #[help]
        help: Option<String>,
    },
    /// A tensor dimension with two different sizes.
    #[error("tensor dimension mismatch: {detail}")]
    #[diagnostic(code(AG0402))]
    Dimension {
        detail: String,
        here: String,
        #[label(primary, "{here}")]
        span: Span,
        there: String,
        #[label("{there}")]
        first: Option<Span>,
        #[help]
        help: Option<String>,
    },
    /// A tensor with the wrong number of dimensions.
    #[error("expected a tensor of rank {expected}, found rank {found}")]
    #[diagnostic(code(AG0403))]
    Rank {
        expected: usize,
        found: usize,
        #[label(primary, "this is `{shown}`")]
        span: Span,
        shown: String,
        #[label("expected because of this")]
        origin: Option<Span>,
    },
    /// Two tensors whose shapes do not broadcast.
    #[error("shapes `{a}` and `{b}` do not broadcast: {m} against {n}")]
    #[diagnostic(
        code(AG0404),
        help("aligned from the last, each pair of dimensions must be equal or one of them 1")
    )]
    Broadcast {
        a: String,
        b: String,
        m: u64,
        n: u64,
        #[label("in this call")]
        span: Span,
    },
    /// A column that the table does not have.
    #[error("no column `{name}` in `{table}`")]
    #[diagnostic(code(AG0405))]
    UnknownColumn {
        name: String,
        table: String,
        #[label("unknown column")]
        span: Span,
        #[help]
        help: Option<String>,
    },
    /// A field access on a value that is not a table.
    #[error("`{found}` has no columns")]
    #[diagnostic(
        code(AG0406),
        help("only tables have columns: `t.name` is the column `name` of table `t`")
    )]
    NoColumns {
        found: String,
        #[label("this is `{found}`")]
        span: Span,
    },
    /// A table whose columns differ from the declared ones.
    #[error("table columns differ from `{expected}`: {detail}")]
    #[diagnostic(code(AG0407))]
    Columns {
        expected: String,
        detail: String,
        #[label(primary, "this table")]
        span: Span,
        #[label("declared here")]
        origin: Option<Span>,
        #[help]
        help: Option<String>,
    },
    /// An operator applied to operands it does not take.
    #[error("`{op}` cannot be applied to {found}")]
    #[diagnostic(code(AG0408))]
    Operator {
        op: &'static str,
        found: String,
        #[label("here")]
        span: Span,
        #[help]
        help: Option<String>,
    },
    /// An argument whose value the operation cannot use.
    #[error("invalid argument: {reason}")]
    #[diagnostic(code(AG0409))]
    InvalidArgument {
        reason: String,
        #[label("here")]
        span: Span,
        #[help]
        help: Option<String>,
    },
    /// The result of a call to a pipeline that returns nothing, used as a value.
    #[error("`{name}` returns no value")]
    #[diagnostic(
        code(AG0410),
        help("declare the pipeline's result type (`-> TYPE`) and end it with `return VALUE`")
    )]
    NoValue {
        name: String,
        #[label("this call has no value")]
        span: Span,
    },
    /// A type, pipeline, `ai` or module used where a value is required.
    #[error("`{name}` is {kind}, not a value")]
    #[diagnostic(code(AG0411))]
    NotAValue {
        name: String,
        kind: &'static str,
        #[label("used as a value here")]
        span: Span,
        #[help]
        help: Option<String>,
    },
    /// A call of something that is not a pipeline, `ai` or operation.
    #[error("`{name}` is {kind}, not something to call")]
    #[diagnostic(
        code(AG0412),
        help("only pipelines, `ai`s and standard-library operations are called")
    )]
    NotCallable {
        name: String,
        kind: &'static str,
        #[label("called here")]
        span: Span,
    },
}
