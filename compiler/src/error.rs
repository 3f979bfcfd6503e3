//! Errors and warnings of name resolution (codes `AG02xx`).

use aigrid_lang::{CodeDoc, Span};

/// The problems name resolution reports.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum ResolveError {
    /// A name or type name that nothing in scope declares.
    #[error("unknown {kind} `{name}`")]
    #[diagnostic(code(AG0201))]
    UnknownName {
        kind: &'static str,
        name: String,
        #[label("not found in this scope")]
        span: Span,
        #[help]
        help: Option<String>,
    },
    /// Two declarations of one name in one scope.
    #[error("`{name}` is declared twice")]
    #[diagnostic(code(AG0202), help("rename one of them"))]
    Duplicate {
        name: String,
        #[label(primary, "declared again here")]
        span: Span,
        #[label("first declared here")]
        first: Span,
    },
    /// An item declared in two files of one package.
    #[error("`{name}` is declared twice in package `{package}`: also in `{other}`")]
    #[diagnostic(
        code(AG0202),
        help("the files of a package share one namespace; rename one of them")
    )]
    DuplicateInPackage {
        name: String,
        package: String,
        other: String,
        #[label("declared again here")]
        span: Span,
    },
    /// A `use` of a package that does not exist or is not a dependency.
    #[error("unknown package `{name}`")]
    #[diagnostic(code(AG0203))]
    UnknownPackage {
        name: String,
        #[label("no such package")]
        span: Span,
        #[help]
        help: Option<String>,
    },
    /// A name imported from, or reached through, a package that does not declare it.
    #[error("package `{package}` has no item `{name}`")]
    #[diagnostic(code(AG0204))]
    UnknownItem {
        package: String,
        name: String,
        #[label("not in `{package}`")]
        span: Span,
        #[help]
        help: Option<String>,
    },
    /// A named argument that names no parameter.
    #[error("`{callee}` has no parameter `{name}`")]
    #[diagnostic(code(AG0205))]
    UnknownArgument {
        callee: String,
        name: String,
        #[label("no such parameter")]
        span: Span,
        #[help]
        help: Option<String>,
    },
    /// A parameter that receives two arguments.
    #[error("parameter `{param}` is given twice")]
    #[diagnostic(code(AG0206), help("pass each parameter once"))]
    ArgumentTwice {
        param: String,
        #[label(primary, "given again here")]
        span: Span,
        #[label("first given here")]
        first: Span,
    },
    /// A call that leaves a parameter without a default unfilled.
    #[error("missing {what} for `{callee}`: {missing}")]
    #[diagnostic(code(AG0207), help("pass them, by position or by name (`name = value`)"))]
    MissingArgument {
        what: &'static str,
        callee: String,
        missing: String,
        #[label(primary, "in this call")]
        span: Span,
        #[label("declared here")]
        declared: Option<Span>,
    },
    /// More positional arguments than the callee has parameters.
    #[error("`{callee}` takes {takes} argument{plural}, but {given} were given")]
    #[diagnostic(code(AG0208), help("remove the extra arguments"))]
    TooManyArguments {
        callee: String,
        takes: usize,
        plural: &'static str,
        given: usize,
        #[label(primary, "extra argument")]
        span: Span,
        #[label("declared here")]
        declared: Option<Span>,
    },
    /// An import nothing uses.
    #[error("unused import `{name}`")]
    #[diagnostic(code(AG0209), severity(Warning), help("remove it from the `use`"))]
    UnusedImport {
        name: String,
        #[label("never used")]
        span: Span,
    },
    /// A `let` whose name nothing reads.
    #[error("`{name}` is never used")]
    #[diagnostic(
        code(AG0210),
        severity(Warning),
        help(
            "a value nothing reads is not computed unless its step writes; use it, or name it `_{name}` to say it is on purpose"
        )
    )]
    UnusedLet {
        name: String,
        #[label("bound here")]
        span: Span,
    },
    /// A `return` that is not the last statement of a pipeline with a return type.
    #[error("`return` {reason}")]
    #[diagnostic(code(AG0211))]
    MisplacedReturn {
        reason: &'static str,
        #[label("here")]
        span: Span,
        #[help]
        help: &'static str,
    },
    /// A pipeline with a return type whose body does not end with `return`.
    #[error("pipeline `{name}` declares a result but does not return one")]
    #[diagnostic(code(AG0212), help("end the body with `return VALUE`, or remove `-> TYPE`"))]
    MissingReturn {
        name: String,
        #[label(primary, "no `return` in this body")]
        span: Span,
        #[label("result declared here")]
        ret: Span,
    },
    /// An `assert` in a pipeline.
    #[error("`assert` is only allowed in tests")]
    #[diagnostic(
        code(AG0213),
        help("move the check into a `test \"...\" {{ }}` block that calls this pipeline")
    )]
    AssertOutsideTest {
        #[label("in a pipeline")]
        span: Span,
    },
    /// Packages that import each other in a circle.
    #[error("import cycle: {cycle}")]
    #[diagnostic(
        code(AG0214),
        help(
            "packages may not import each other in a circle; move what they share into a package both import"
        )
    )]
    ImportCycle {
        cycle: String,
        #[label("this import closes the cycle")]
        span: Span,
    },
    /// Type aliases that refer to themselves.
    #[error("type alias cycle: {cycle}")]
    #[diagnostic(
        code(AG0215),
        help("a type alias cannot contain itself; write the type out in full")
    )]
    AliasCycle {
        cycle: String,
        #[label("this alias refers to itself")]
        span: Span,
    },
    /// An attribute aigrid does not know.
    #[error("unknown attribute `@{name}`")]
    #[diagnostic(code(AG0216))]
    UnknownAttribute {
        name: String,
        #[label("not an attribute")]
        span: Span,
        #[help]
        help: Option<String>,
    },
    /// An attribute where it does not apply.
    #[error("`@{name}` cannot be written on {place}")]
    #[diagnostic(code(AG0217))]
    MisplacedAttribute {
        name: String,
        place: &'static str,
        #[label("not allowed here")]
        span: Span,
        #[help]
        help: String,
    },
    /// The same attribute twice on one item or step.
    #[error("`@{name}` is written twice")]
    #[diagnostic(code(AG0218), help("keep one of them"))]
    AttributeTwice {
        name: String,
        #[label(primary, "written again here")]
        span: Span,
        #[label("first written here")]
        first: Span,
    },
    /// An attribute with arguments it does not take.
    #[error("`@{name}` takes {expected}")]
    #[diagnostic(code(AG0219))]
    AttributeArguments {
        name: String,
        expected: &'static str,
        #[label("here")]
        span: Span,
    },
}

/// Declares the documentation table of the compiler's codes from `codes/CODE.md`.
macro_rules! code_docs {
    ($($code:literal => $title:literal),* $(,)?) => {
        &[$(CodeDoc { code: $code, title: $title, doc: include_str!(concat!("codes/", $code, ".md")) }),*]
    };
}

/// The documentation of every code the compiler reports (`AG02xx` names, `AG03xx` SQL,
/// `AG04xx` types).
pub(crate) const CODES: &[CodeDoc] = code_docs![
    "AG0201" => "unknown name",
    "AG0202" => "duplicate declaration",
    "AG0203" => "unknown package",
    "AG0204" => "unknown item of a package",
    "AG0205" => "unknown argument name",
    "AG0206" => "argument given twice",
    "AG0207" => "missing argument",
    "AG0208" => "too many arguments",
    "AG0209" => "unused import",
    "AG0210" => "unused binding",
    "AG0211" => "misplaced return",
    "AG0212" => "missing return",
    "AG0213" => "assert outside a test",
    "AG0214" => "import cycle",
    "AG0215" => "type alias cycle",
    "AG0216" => "unknown attribute",
    "AG0217" => "misplaced attribute",
    "AG0218" => "attribute written twice",
    "AG0219" => "bad attribute arguments",
    "AG0301" => "SQL error",
    "AG0401" => "mismatched types",
    "AG0402" => "tensor dimension mismatch",
    "AG0403" => "tensor rank mismatch",
    "AG0404" => "shapes do not broadcast",
    "AG0405" => "unknown column",
    "AG0406" => "value without columns",
    "AG0407" => "table columns differ",
    "AG0408" => "operator on wrong operands",
    "AG0409" => "invalid argument",
    "AG0410" => "no value",
    "AG0411" => "not a value",
    "AG0412" => "not callable",
    "AG0413" => "recursive pipeline",
    "AG0499" => "internal compiler error",
    "AG0501" => "no pipeline to build",
    "AG0502" => "unknown parameter",
    "AG0503" => "bad parameter value",
    "AG0601" => "no grid AI matches",
    "AG0602" => "predicate cannot be evaluated",
    "AG0603" => "pinned grid AI no longer offered",
];

/// The candidate closest to `name`, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(
    name: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<String> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .filter(|c| *c != name)
        .map(|c| (strsim::levenshtein(name, c), c))
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, c)| format!("did you mean `{c}`?"))
}
