//! Syntax errors (codes `AG01xx`) and how pest's failures become words a person understands.

use std::collections::BTreeSet;

use pest::Parser as _;
use pest::error::{Error as PestError, InputLocation};

use super::grammar::{Grammar, Rule};
use crate::span::Span;

/// The errors of the parsing phase.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum SyntaxError {
    /// The file's bytes are not UTF-8.
    #[error("this file is not valid UTF-8")]
    #[diagnostic(
        code(AG0100),
        help("save the file as UTF-8 (the first invalid byte is at offset {offset})")
    )]
    InvalidUtf8 {
        #[label("invalid byte")]
        span: Span,
        offset: u32,
    },
    /// pest could not go on: something other than what the grammar allows here.
    #[error("expected {expected}, found {found}")]
    #[diagnostic(code(AG0101))]
    Unexpected {
        expected: String,
        found: String,
        #[label("unexpected {found}")]
        span: Span,
        #[help]
        help: Option<String>,
    },
    /// A string literal runs to the end of its line (or a raw string to the end of the file).
    #[error("unterminated string")]
    #[diagnostic(
        code(AG0102),
        help(
            "close it with `\"` on the same line; a string that spans lines is written `\"\"\"...\"\"\"`"
        )
    )]
    UnterminatedString {
        #[label("this string is never closed")]
        span: Span,
    },
    /// A `/*` comment with no `*/`.
    #[error("unterminated block comment")]
    #[diagnostic(code(AG0103), help("close the comment with `*/`"))]
    UnterminatedComment {
        #[label("this comment is never closed")]
        span: Span,
    },
    /// Delimiters or expressions nested beyond the parser's limit.
    #[error("{what} nested more than {limit} levels deep")]
    #[diagnostic(code(AG0104), help("split the expression into several `let` steps"))]
    TooDeep {
        what: &'static str,
        limit: usize,
        #[label("too deep here")]
        span: Span,
    },
    /// An escape sequence that is not one of the allowed ones.
    #[error("invalid escape `{escape}` in string")]
    #[diagnostic(
        code(AG0105),
        help(
            "the escapes are \\n \\r \\t \\0 \\\\ \\\" and \\u{{HEX}}; a raw string `\"\"\"...\"\"\"` takes backslashes as they are"
        )
    )]
    InvalidEscape {
        escape: String,
        #[label("not a valid escape")]
        span: Span,
    },
    /// A number too large for its type.
    #[error("{what} is out of range")]
    #[diagnostic(code(AG0106))]
    NumberOutOfRange {
        what: &'static str,
        #[label("too large")]
        span: Span,
        #[help]
        help: String,
    },
    /// A `///` doc comment with nothing after it to document.
    #[error("doc comment documents nothing")]
    #[diagnostic(
        code(AG0107),
        help(
            "put it right before an item, a statement or a table column, or make it a `//` comment"
        )
    )]
    DanglingDocComment {
        #[label("nothing follows this doc comment")]
        span: Span,
    },
    /// A `package` header that is not the first item, or a second one.
    #[error("the package header must be the first item of the file")]
    #[diagnostic(code(AG0108), help("keep one `package` line, at the top of the file"))]
    MisplacedPackage {
        #[label(primary, "package header here")]
        span: Span,
        #[label("first item here")]
        first: Span,
    },
    /// `f(k = 1, x)`: positional arguments must come first.
    #[error("positional argument after a named argument")]
    #[diagnostic(code(AG0109), help("move positional arguments before named ones"))]
    PositionalAfterNamed {
        #[label(primary, "positional argument")]
        span: Span,
        #[label("named argument before it")]
        named: Span,
    },
    /// A reserved word where a name is expected.
    #[error("`{keyword}` is a keyword and cannot be used as a name")]
    #[diagnostic(code(AG0110), help("choose another name, e.g. `{keyword}_`"))]
    KeywordAsName {
        keyword: String,
        #[label("keyword")]
        span: Span,
    },
    /// An attribute on a statement kind that takes none.
    #[error("attributes cannot be put on `{statement}` statements")]
    #[diagnostic(code(AG0111), help("put the attribute on the `let` step that computes the value"))]
    AttributeNotAllowed {
        statement: &'static str,
        #[label("attribute here")]
        span: Span,
    },
    /// End of file while a delimiter is still open.
    #[error("unclosed delimiter `{delimiter}`")]
    #[diagnostic(code(AG0112), help("add the matching `{closer}`"))]
    UnclosedDelimiter {
        delimiter: char,
        closer: char,
        #[label(primary, "file ends here")]
        span: Span,
        #[label("this `{delimiter}` is never closed")]
        open: Span,
    },
    /// A package version that is not a semantic version.
    #[error("invalid package version: {reason}")]
    #[diagnostic(
        code(AG0113),
        help("versions are semantic versions, e.g. `1.2.0` or `0.3.0-beta.1`")
    )]
    InvalidVersion {
        reason: String,
        #[label("not a valid version")]
        span: Span,
    },
    /// Two statements on one line: `let a = 1 let b = 2`, or `f (x)` read as `f` then `(x)`.
    #[error("expected a line break before this statement")]
    #[diagnostic(
        code(AG0115),
        help(
            "put each statement on its own line; a call's `(` must directly follow what is called: `f(x)`, not `f (x)`"
        )
    )]
    StatementsOnOneLine {
        #[label(primary, "second statement on the line")]
        span: Span,
        #[label("this statement ends here")]
        previous: Span,
    },
    /// The parser met a shape its own grammar should not produce: a bug in aigrid, not in the
    /// program.
    #[error("internal parser error: {what}")]
    #[diagnostic(
        code(AG0199),
        help(
            "this is a bug in aigrid, not in your program; please report it with the file attached"
        )
    )]
    Internal {
        what: &'static str,
        #[label("while parsing this item")]
        span: Span,
    },
    /// A file whose size does not fit the 32-bit offsets spans use.
    #[error("the file is too large ({size} bytes; the limit is 4 GiB)")]
    #[diagnostic(code(AG0114), help("split it into several modules"))]
    FileTooLarge { size: usize },
}

/// The reserved words of the language (kept in sync with `keyword` in the grammar).
pub const KEYWORDS: &[&str] = &[
    "package", "use", "as", "type", "ai", "pipeline", "test", "let", "return", "assert", "where",
    "prefer", "fallback", "true", "false", "null", "in",
];

/// Turns a pest failure on `text[offset..]` into a syntax error; `span` builds spans.
pub(crate) fn from_pest(
    error: &PestError<Rule>,
    text: &str,
    offset: usize,
    span: impl Fn(usize, usize) -> Span,
) -> SyntaxError {
    let failure = Failure::read(error, offset, text.len());
    let raw = failure.at;
    // pest stops inside or just after a word when a lookahead looked past it (`!keyword` in
    // names, `!ident_char` after `asc`): report the word, and what was expected at its start.
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let word_start = text[offset..raw].len() - text[offset..raw].trim_end_matches(is_word).len();
    if word_start > 0 {
        let start = raw - word_start;
        let end = raw + (text[raw..].len() - text[raw..].trim_start_matches(is_word).len());
        let word = &text[start..end];
        let mid_word = end > raw;
        if let Some(keyword) = KEYWORDS.iter().find(|k| **k == word)
            && declares_name(text, start, end)
        {
            return SyntaxError::KeywordAsName {
                keyword: (*keyword).to_owned(),
                span: span(start, end),
            };
        }
        // Nothing can follow `#`, so the text after the word is not needed.
        let mut masked = text[offset..start].to_owned();
        masked.extend(std::iter::repeat_n('#', word.len()));
        if (mid_word || KEYWORDS.contains(&word))
            && let Err(again) = super::detailed(|| Grammar::parse(Rule::next_item, &masked))
        {
            let failure = Failure::read(&again, offset, text.len());
            if failure.at == start {
                return unexpected(&failure, text, span, Some(word));
            }
        }
    }
    let mut failure = failure;
    // A position on white space (after a lookahead) is reported at the next token.
    while text[failure.at..].starts_with(|c: char| c.is_whitespace()) {
        failure.at += text[failure.at..].chars().next().map_or(1, char::len_utf8);
    }
    if let Some(doc) = dangling_doc_comment(text, failure.at) {
        return SyntaxError::DanglingDocComment { span: span(doc.0, doc.1) };
    }
    if let Found::Keyword(keyword) = Found::at(text, failure.at)
        && failure.words.iter().all(|w| w == "a name")
        && !failure.words.is_empty()
    {
        return SyntaxError::KeywordAsName {
            keyword: keyword.to_owned(),
            span: span(failure.at, failure.at + keyword.len()),
        };
    }
    unexpected(&failure, text, span, None)
}

/// What pest reports about a failure, read into plain values (pest's attempt types live in a
/// private module).
struct Failure {
    /// The absolute failure position.
    at: usize,
    /// What was expected there, in words.
    words: Vec<String>,
}

impl Failure {
    fn read(error: &PestError<Rule>, offset: usize, len: usize) -> Failure {
        let attempts = error.parse_attempts();
        let tokens: Vec<String> =
            attempts.iter().flat_map(|a| a.expected_tokens()).map(|t| t.to_string()).collect();
        let rules: Vec<Rule> = attempts
            .iter()
            .flat_map(|a| a.call_stacks())
            .filter_map(|stack| stack.deepest.get_rule().copied())
            .collect();
        let at = attempts.as_ref().map_or_else(
            || match error.location {
                InputLocation::Pos(p) | InputLocation::Span((p, _)) => p,
            },
            |attempts| attempts.max_position,
        );
        Failure { at: (offset + at).min(len), words: expected_words(&tokens, rules.into_iter()) }
    }
}

fn unexpected(
    failure: &Failure,
    text: &str,
    span: impl Fn(usize, usize) -> Span,
    word: Option<&str>,
) -> SyntaxError {
    let expected = match failure.words.as_slice() {
        [] => "something else".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    };
    let at = failure.at;
    let found = match word {
        Some(word) if KEYWORDS.contains(&word) => Found::Keyword(word),
        Some(word) => Found::Word(word),
        None => Found::at(text, at),
    };
    let help = match found {
        Found::Char(c) if !c.is_ascii() => {
            Some("names and operators are ASCII; non-ASCII text belongs in strings".to_owned())
        }
        Found::Keyword(word) if expected.contains("a statement") => {
            Some(format!("`{word}` starts a top-level item; is a `}}` missing before it?"))
        }
        _ => None,
    };
    SyntaxError::Unexpected {
        expected,
        found: found.describe(),
        span: span(at, at + found.len(text, at)),
        help,
    }
}

/// Whether the word at `start..end` stands where a new name is declared: after `let`,
/// `pipeline`, `ai`, `type` or `as`, or before the `:` of a parameter.
fn declares_name(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].trim_end();
    let declarer = ["let", "pipeline", "ai", "type", "as"].iter().any(|d| {
        before.ends_with(d)
            && !before[..before.len() - d.len()]
                .ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
    });
    declarer || (text[end..].trim_start().starts_with(':') && before.ends_with(['(', ',']))
}

/// If the failure position directly follows a `///` line, the span of that doc comment.
fn dangling_doc_comment(text: &str, at: usize) -> Option<(usize, usize)> {
    let before = text.get(..at)?.trim_end();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = &before[line_start..];
    let trimmed = line.trim_start();
    (trimmed.starts_with("///") && !trimmed.starts_with("////"))
        .then(|| (line_start + (line.len() - trimmed.len()), before.len()))
}

/// What pest tried at the failure position, in words, deduplicated and grouped.
fn expected_words(tokens: &[String], rules: impl Iterator<Item = Rule>) -> Vec<String> {
    let mut words = BTreeSet::new();
    // Whitespace, comment openers and character ranges (`0..9`) are how pest sees trivia and
    // the inside of names; they are never what a person should be told to write.
    let noise = |t: &&String| {
        t.trim().is_empty()
            || ["BUILTIN_RULE", "//", "/*", "\u{feff}", "_"].contains(&t.as_str())
            || (t.chars().count() == 4 && t.contains(".."))
    };
    for token in tokens.iter().filter(|t| !noise(t)) {
        words.insert(describe_token(token));
    }
    words.extend(rules.filter_map(describe_rule).map(str::to_owned));
    let has = |w: &str| words.contains(w);
    let mut words: Vec<String> = if has("`let`") || has("`return`") {
        let statement = ["`let`", "`return`", "`assert`", "an attribute", "a doc comment"];
        let mut rest: Vec<_> = words
            .into_iter()
            .filter(|w| !statement.contains(&w.as_str()) && w != "an expression")
            .collect();
        rest.push("a statement".to_owned());
        rest
    } else if has("`pipeline`") || has("`use`") {
        let item = ["`use`", "`type`", "`ai`", "`pipeline`", "`test`", "`package`"];
        let mut rest: Vec<_> = words
            .into_iter()
            .filter(|w| !item.contains(&w.as_str()) && w != "an attribute" && w != "a doc comment")
            .collect();
        rest.push("an item (`use`, `type`, `ai`, `pipeline` or `test`)".to_owned());
        rest
    } else {
        words.into_iter().collect()
    };
    // The literal tokens that can start an expression are part of "an expression".
    if words.iter().any(|w| w == "a statement" || w == "an expression") {
        let starts = ["`[`", "`false`", "`null`", "`true`", "a string", "`\"\"\"`"];
        words.retain(|w| !starts.contains(&w.as_str()));
        if words.iter().any(|w| w == "a statement") {
            words.retain(|w| w != "an expression");
        }
    }
    if words.iter().any(|w| w == "a type") {
        words.retain(|w| !["`list`", "`table`", "`tensor`"].contains(&w.as_str()));
    }
    // After a complete expression or type, pest also offers to continue it (`(`, `.`, an
    // operator, `?`); when something else was possible too, those are noise.
    let continuation = ["`(`", "`.`", "an operator", "`?`"];
    if words.iter().any(|w| !continuation.contains(&w.as_str())) {
        words.retain(|w| !continuation.contains(&w.as_str()));
    }
    // Tokens first, then descriptions; alphabetical within each.
    words.sort_by(|a, b| (!a.starts_with('`'), a).cmp(&(!b.starts_with('`'), b)));
    words
}

fn describe_token(token: &str) -> String {
    match token {
        "!" => "an expression".to_owned(),
        "-" | "|>" | "||" | "&&" | "==" | "!=" | "<=" | ">=" | "<" | ">" | "+" | "*" | "/"
        | "%" | "in" => "an operator".to_owned(),
        "@" => "an attribute".to_owned(),
        "///" => "a doc comment".to_owned(),
        "\"" | "\"\"\"" => "a string".to_owned(),
        other => format!("`{other}`"),
    }
}

fn describe_rule(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::ident | Rule::segment | Rule::keyword => "a name",
        Rule::postfix
        | Rule::paren
        | Rule::list
        | Rule::int
        | Rule::float
        | Rule::duration
        | Rule::boolean
        | Rule::null
        | Rule::not
        | Rule::neg
        | Rule::raw_string => "an expression",
        Rule::string => "a string",
        Rule::type_expr
        | Rule::named_type
        | Rule::table_type
        | Rule::tensor_type
        | Rule::list_type => "a type",
        Rule::dim | Rule::dim_any | Rule::dim_size => "a dimension",
        Rule::version => "a version such as `1.0.0`",
        Rule::sort_order => "`asc` or `desc`",
        Rule::doc_comment => "a doc comment",
        Rule::attribute => "an attribute",
        Rule::pipe
        | Rule::or
        | Rule::and
        | Rule::eq
        | Rule::ne
        | Rule::le
        | Rule::ge
        | Rule::lt
        | Rule::gt
        | Rule::in_op
        | Rule::add
        | Rule::sub
        | Rule::mul
        | Rule::div
        | Rule::rem => "an operator",
        Rule::W_PACKAGE => "`package`",
        Rule::W_USE => "`use`",
        Rule::W_AS => "`as`",
        Rule::W_TYPE => "`type`",
        Rule::W_AI => "`ai`",
        Rule::W_PIPELINE => "`pipeline`",
        Rule::W_TEST => "`test`",
        Rule::W_LET => "`let`",
        Rule::W_RETURN => "`return`",
        Rule::W_ASSERT => "`assert`",
        Rule::W_WHERE => "`where`",
        Rule::W_PREFER => "`prefer`",
        Rule::W_FALLBACK => "`fallback`",
        Rule::EOI => "end of file",
        _ => return None,
    })
}

/// The token at a failure position, for "found ...".
#[derive(Clone, Copy, Debug)]
enum Found<'a> {
    End,
    Keyword(&'a str),
    Word(&'a str),
    Number(&'a str),
    String,
    Op(&'a str),
    Char(char),
}

impl<'a> Found<'a> {
    fn at(text: &'a str, at: usize) -> Self {
        let rest = text.get(at..).unwrap_or("");
        let Some(c) = rest.chars().next() else {
            return Found::End;
        };
        let word_len = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
        if c.is_ascii_digit() {
            Found::Number(&rest[..word_len])
        } else if c.is_ascii_alphabetic() || c == '_' {
            let word = &rest[..word_len];
            if KEYWORDS.contains(&word) { Found::Keyword(word) } else { Found::Word(word) }
        } else if c == '"' {
            Found::String
        } else if let Some(op) = ["|>", "||", "&&", "==", "!=", "<=", ">=", "->"]
            .into_iter()
            .find(|op| rest.starts_with(op))
        {
            Found::Op(op)
        } else {
            Found::Char(c)
        }
    }

    fn len(self, text: &str, at: usize) -> usize {
        match self {
            Found::End => 0,
            Found::Keyword(s) | Found::Word(s) | Found::Number(s) | Found::Op(s) => s.len().min(40),
            Found::String => {
                let rest = text.get(at + 1..).unwrap_or("");
                let end = rest.find(['"', '\n']).map_or(rest.len(), |i| i + 1);
                (end + 1).min(rest.len() + 1).min(60)
            }
            Found::Char(c) => c.len_utf8(),
        }
    }

    fn describe(self) -> String {
        match self {
            Found::End => "end of file".to_owned(),
            Found::Keyword(word) => format!("keyword `{word}`"),
            Found::Word(word) | Found::Number(word) | Found::Op(word) => {
                format!("`{}`", truncate(word))
            }
            Found::String => "a string".to_owned(),
            Found::Char('\n') => "a line break".to_owned(),
            Found::Char(c) if c.is_control() => format!("the control character U+{:04X}", c as u32),
            Found::Char(c) => format!("`{c}`"),
        }
    }
}

fn truncate(word: &str) -> String {
    if word.len() > 40 { format!("{}...", &word[..40]) } else { word.to_owned() }
}

/// Declares the documentation table of the `AG01xx` codes from `codes/CODE.md`.
macro_rules! code_docs {
    ($($code:literal => $title:literal),* $(,)?) => {
        &[$(crate::diagnostic::CodeDoc {
            code: $code,
            title: $title,
            doc: include_str!(concat!("codes/", $code, ".md")),
        }),*]
    };
}

/// The documentation of every syntax error code.
pub(crate) const CODES: &[crate::diagnostic::CodeDoc] = code_docs![
    "AG0100" => "invalid UTF-8",
    "AG0101" => "unexpected token",
    "AG0102" => "unterminated string",
    "AG0103" => "unterminated block comment",
    "AG0104" => "nesting too deep",
    "AG0105" => "invalid escape",
    "AG0106" => "number out of range",
    "AG0107" => "dangling doc comment",
    "AG0108" => "misplaced package header",
    "AG0109" => "positional argument after named argument",
    "AG0110" => "keyword used as a name",
    "AG0111" => "attribute not allowed here",
    "AG0112" => "unclosed delimiter",
    "AG0113" => "invalid package version",
    "AG0114" => "file too large",
    "AG0115" => "statements on one line",
    "AG0199" => "internal parser error",
];
