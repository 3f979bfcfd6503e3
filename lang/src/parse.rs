//! Parsing: source text to [`Module`], with every syntax error collected.
//!
//! The file is read one top-level item at a time. After an error the parser skips to the next
//! line that starts an item at column 0 (`package`, `use`, `type`, `ai`, `pipeline`, `test`,
//! `@` or `///`) and goes on, so one broken item costs one diagnostic, not the rest of the file.
//! A lexical prescan runs first: it bounds nesting depth (so no input can exhaust the stack),
//! collects comments for the formatter and explains unterminated strings and comments.

mod build;
mod error;
mod expr;
mod grammar;
mod prescan;

pub use error::KEYWORDS;
pub(crate) use error::{CODES, SyntaxError};

use pest::Parser as _;

use self::build::{Builder, TopItem};
use self::grammar::{Grammar, Rule};
use self::prescan::{LexError, MAX_NESTING};
use crate::ast::{Comment, Module};
use crate::diagnostic::Diagnostic;
use crate::span::{FileId, Span};

/// The result of parsing one file: the items that parsed, the comments, and the diagnostics.
#[derive(Clone, Debug)]
pub struct Parsed {
    /// The module; items with syntax errors are left out.
    pub module: Module,
    /// Ordinary comments in source order (doc comments are in the AST).
    pub comments: Vec<Comment>,
    /// Syntax errors, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    /// Whether the file parsed without errors.
    pub fn is_ok(&self) -> bool {
        !self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parses `text`, the contents of file `file`. Never panics; every problem is a diagnostic.
pub fn parse(file: FileId, text: &str) -> Parsed {
    let mut parsed = Parsed {
        module: Module::default(),
        comments: Vec::new(),
        diagnostics: Vec::new(),
    };
    if text.len() >= u32::MAX as usize {
        let error = SyntaxError::FileTooLarge { size: text.len() };
        parsed
            .diagnostics
            .push(Diagnostic::from_error(file, &error));
        return parsed;
    }
    let scan = prescan::scan(file, text);
    parsed.comments = scan.comments;
    let span = |start: usize, end: usize| Span::new(file, start as u32, end as u32);
    if let Some(LexError::TooDeep { start }) = scan.errors.last().copied() {
        let start = start as usize;
        let error = SyntaxError::TooDeep {
            what: "brackets",
            limit: MAX_NESTING,
            span: span(start, start + 1),
        };
        parsed
            .diagnostics
            .push(Diagnostic::from_error(file, &error));
        return parsed;
    }
    // Expected-token details make errors readable; every parse sets it, so it never flips.
    pest::set_error_detail(true);
    let mut errors = Vec::new();
    let mut lexical = scan.errors.iter().copied().peekable();
    let mut first_item: Option<Span> = None;
    let mut pos = 0;
    while pos < text.len() {
        let rest = &text[pos..];
        if Grammar::parse(Rule::only_trivia, rest).is_ok() {
            break;
        }
        match Grammar::parse(Rule::next_item, rest) {
            Ok(mut pairs) => {
                let Some(pair) = pairs.next() else { break };
                let end = pos + pair.as_span().end();
                match Builder::new(file, pos, text, &parsed.comments).top_item(pair) {
                    Ok(TopItem::Package(package)) => match first_item {
                        Some(first) => errors.push(SyntaxError::MisplacedPackage {
                            span: package.span,
                            first,
                        }),
                        None => {
                            first_item = Some(package.span);
                            parsed.module.package = Some(package);
                        }
                    },
                    Ok(TopItem::Item(item)) => {
                        first_item.get_or_insert(item.span);
                        parsed.module.items.push(item);
                    }
                    Err(error) => errors.push(error),
                }
                pos = end.max(pos + 1);
            }
            Err(error) => {
                let error = error::from_pest(&error, text, pos, span);
                let at = match &error {
                    SyntaxError::Unexpected { span, .. }
                    | SyntaxError::KeywordAsName { span, .. }
                    | SyntaxError::DanglingDocComment { span } => span.start as usize,
                    _ => pos,
                };
                // A lexical error inside the item explains the failure better than pest can.
                while lexical.peek().is_some_and(|e| (e.start() as usize) < pos) {
                    lexical.next();
                }
                let explained = lexical.next_if(|e| e.start() as usize <= at);
                let (error, stop) = match explained {
                    Some(LexError::UnterminatedString { start, raw }) => {
                        let end = if raw {
                            text.len()
                        } else {
                            line_end(text, start as usize)
                        };
                        (
                            SyntaxError::UnterminatedString {
                                span: span(start as usize, end),
                            },
                            raw,
                        )
                    }
                    Some(LexError::UnterminatedComment { start }) => {
                        let start = start as usize;
                        (
                            SyntaxError::UnterminatedComment {
                                span: span(start, start + 2),
                            },
                            true,
                        )
                    }
                    _ => match (scan.unclosed.last(), at >= text.len()) {
                        (Some(&(open, delimiter)), true) => {
                            let open = open as usize;
                            let closer = match delimiter {
                                b'(' => ')',
                                b'[' => ']',
                                b'<' => '>',
                                _ => '}',
                            };
                            let error = SyntaxError::UnclosedDelimiter {
                                delimiter: delimiter as char,
                                closer,
                                span: span(text.len(), text.len()),
                                open: span(open, open + 1),
                            };
                            (error, true)
                        }
                        _ => (error, false),
                    },
                };
                errors.push(error);
                if stop {
                    break;
                }
                let item_start = skip_trivia(text, pos, &parsed.comments);
                pos = next_item_start(text, at, item_start);
            }
        }
    }
    parsed.diagnostics = errors
        .iter()
        .map(|e| Diagnostic::from_error(file, e))
        .collect();
    parsed
}

/// The offset of the first token at or after `pos`, past whitespace and comments.
fn skip_trivia(text: &str, mut pos: usize, comments: &[Comment]) -> usize {
    loop {
        pos += text[pos..].len() - text[pos..].trim_start().len();
        let at = comments.partition_point(|c| (c.span.start as usize) < pos);
        match comments.get(at) {
            Some(c) if c.span.start as usize == pos => pos = c.span.end as usize,
            _ => return pos,
        }
    }
}

/// The first line start at or after the line of `at`, and after `pos`, that begins an item.
fn next_item_start(text: &str, at: usize, pos: usize) -> usize {
    let mut line = text[..at.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    loop {
        if line > pos && starts_item(&text[line..]) {
            return line;
        }
        match text[line..].find('\n') {
            Some(i) => line += i + 1,
            None => return text.len(),
        }
    }
}

fn starts_item(line: &str) -> bool {
    if line.starts_with('@') || line.starts_with("///") {
        return true;
    }
    ["package", "use", "type", "ai", "pipeline", "test"]
        .iter()
        .any(|keyword| {
            line.strip_prefix(keyword).is_some_and(|rest| {
                !rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            })
        })
}

fn line_end(text: &str, from: usize) -> usize {
    text[from..].find('\n').map_or(text.len(), |i| from + i)
}

/// Decodes a file's bytes as UTF-8. On failure, returns a lossy text (for showing the
/// excerpt) and the AG0100 diagnostic pointing at the first invalid byte.
pub fn decode(file: FileId, bytes: Vec<u8>) -> Result<String, (String, Diagnostic)> {
    String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to() as u32;
        let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
        let error = SyntaxError::InvalidUtf8 {
            span: Span::new(file, offset, offset + 1),
            offset,
        };
        (text, Diagnostic::from_error(file, &error))
    })
}
