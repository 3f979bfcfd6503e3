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
mod fast_path;
mod grammar;
mod prescan;

pub use error::KEYWORDS;
pub(crate) use error::{CODES, SyntaxError};
pub use expr::duration;

use pest::Parser as _;

use self::build::{Builder, TopItem};
use self::grammar::{Grammar, Rule};
use self::prescan::{LexError, MAX_NESTING, starts_item};
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
    parse_with(file, text, true)
}

/// [`parse`] with pest alone, the reference the fast path is held to: for benchmarks.
#[doc(hidden)]
pub fn parse_with_pest_only(file: FileId, text: &str) -> Parsed {
    parse_with(file, text, false)
}

/// [`parse`], optionally without the fast path.
fn parse_with(file: FileId, text: &str, fast: bool) -> Parsed {
    let mut parsed =
        Parsed { module: Module::default(), comments: Vec::new(), diagnostics: Vec::new() };
    if text.len() >= u32::MAX as usize {
        let error = SyntaxError::FileTooLarge { size: text.len() };
        parsed.diagnostics.push(Diagnostic::from_error(file, &error));
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
        parsed.diagnostics.push(Diagnostic::from_error(file, &error));
        return parsed;
    }
    // A byte-order mark is not part of the program.
    let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    // A parse of the whole text recurses as deep as its delimiters nest.
    let whole = scan.deepest <= MAX_NESTING;
    if fast
        && whole
        && scan.errors.is_empty()
        && let Some(module) = fast_path::module(file, text, start)
    {
        parsed.module = module;
        return parsed;
    }
    parse_with_pest(file, text, start, whole, &mut parsed, &scan.errors, &scan.unclosed);
    parsed
}

/// The reference parse of `text` from `pos` (past a byte-order mark) with pest, into `parsed`:
/// what the fast path gives up on, and every file with errors. A file the grammar's `file` rule
/// accepts is built from that one parse (tried only where the whole text nests within bounds:
/// `whole`); any other is read item by item, to recover from errors.
fn parse_with_pest(
    file: FileId,
    text: &str,
    mut pos: usize,
    whole: bool,
    parsed: &mut Parsed,
    lexical: &[LexError],
    unclosed: &[(u32, u8)],
) {
    let span = |start: usize, end: usize| Span::new(file, start as u32, end as u32);
    let mut errors = Vec::new();
    let mut first_item: Option<Span> = None;
    if whole && let Ok(pairs) = Grammar::parse(Rule::file, &text[pos..]) {
        let builder = Builder::new(file, pos, text, &parsed.comments);
        for pair in pairs.flatten().filter(|pair| pair.as_rule() == Rule::top_item) {
            let built = builder.top_item(pair);
            add_item(built, &mut parsed.module, &mut first_item, &mut errors);
        }
        parsed.diagnostics = errors.iter().map(|e| Diagnostic::from_error(file, e)).collect();
        return;
    }
    let mut lexical = lexical.iter().copied().peekable();
    loop {
        let start = skip_trivia(text, pos, &parsed.comments);
        if start >= text.len() {
            break;
        }
        match parse_item(text, pos, start).or_else(|_| detailed(|| parse_item(text, pos, start))) {
            Ok(mut pairs) => {
                let Some(pair) = pairs.next() else { break };
                let end = pos + pair.as_span().end();
                let built = Builder::new(file, pos, text, &parsed.comments).top_item(pair);
                add_item(built, &mut parsed.module, &mut first_item, &mut errors);
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
                        let end = if raw { text.len() } else { line_end(text, start as usize) };
                        (SyntaxError::UnterminatedString { span: span(start as usize, end) }, raw)
                    }
                    Some(LexError::UnterminatedComment { start }) => {
                        let start = start as usize;
                        (SyntaxError::UnterminatedComment { span: span(start, start + 2) }, true)
                    }
                    _ => match (unclosed.last(), at >= text.len()) {
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
                pos = next_item_start(text, at, start);
                if pos >= text.len() {
                    break;
                }
            }
        }
    }
    parsed.diagnostics = errors.iter().map(|e| Diagnostic::from_error(file, e)).collect();
}

/// Adds a built top-level item to `module`, or its error to `errors`; `first_item` is the first
/// item so far, before which alone a `package` header may stand.
fn add_item(
    built: Result<TopItem, SyntaxError>,
    module: &mut Module,
    first_item: &mut Option<Span>,
    errors: &mut Vec<SyntaxError>,
) {
    match built {
        Ok(TopItem::Package(package)) => match *first_item {
            Some(first) => errors.push(SyntaxError::MisplacedPackage { span: package.span, first }),
            None => {
                *first_item = Some(package.span);
                module.package = Some(package);
            }
        },
        Ok(TopItem::Item(item)) => {
            first_item.get_or_insert(item.span);
            module.items.push(item);
        }
        Err(error) => errors.push(error),
    }
}

/// Parses the item that starts at `start` (its leading trivia begins at `pos`).
///
/// pest builds each error by scanning its input backwards from the end, so it is given a
/// window that ends at the next line starting an item, widened (doubling the number of such
/// lines) only when the parse fails exactly at the window's end: an item that runs past such
/// a line, such as one with a missing `}`.
fn parse_item(
    text: &str,
    pos: usize,
    start: usize,
) -> Result<pest::iterators::Pairs<'_, Rule>, PestError> {
    let window_of = |boundaries: usize| {
        let end = (0..boundaries).try_fold(start, |at, _| next_item_start_after(text, at));
        (&text[pos..end.unwrap_or(text.len())], end.is_some())
    };
    let (mut window, mut more) = window_of(1);
    let mut boundaries = 1;
    loop {
        match Grammar::parse(Rule::next_item, window) {
            Err(error) if more && error_position(&error) >= window.len() => {
                boundaries *= 2;
                let (wider, wider_more) = window_of(boundaries);
                // The prescan bounds nesting within an item; a window across lines that start
                // items is parsed at once, so it must nest within bounds as a whole.
                if prescan::scan(FileId(0), wider).deepest > MAX_NESTING {
                    return Err(error);
                }
                (window, more) = (wider, wider_more);
            }
            result => return result,
        }
    }
}

type PestError = pest::error::Error<Rule>;

fn error_position(error: &PestError) -> usize {
    match error.parse_attempts() {
        Some(attempts) => attempts.max_position,
        None => match error.location {
            pest::error::InputLocation::Pos(at) | pest::error::InputLocation::Span((at, _)) => at,
        },
    }
}

/// Runs `parse` with pest's error details on: what was expected where the parse failed, for
/// readable messages. Collecting them slows parsing several times over, so only a parse that
/// already failed is repeated with them. pest reads the process-wide switch when a parse
/// starts; the lock keeps two failing parses from switching it off under each other (a
/// concurrent parse that sees it on merely runs slower, with the same result).
pub(crate) fn detailed<T>(parse: impl FnOnce() -> T) -> T {
    static DETAIL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = DETAIL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    pest::set_error_detail(true);
    let result = parse();
    pest::set_error_detail(false);
    result
}

/// The start of the first line after the line of `at` that begins an item, if any.
fn next_item_start_after(text: &str, at: usize) -> Option<usize> {
    let mut line = at + text[at..].find('\n')? + 1;
    loop {
        if starts_item(&text[line..]) {
            return Some(line);
        }
        line += text[line..].find('\n')? + 1;
    }
}

/// The offset of the first token at or after `pos`, past whitespace and comments.
fn skip_trivia(text: &str, mut pos: usize, comments: &[Comment]) -> usize {
    loop {
        let rest = &text[pos..];
        pos += rest.len()
            - rest.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}').len();
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

fn line_end(text: &str, from: usize) -> usize {
    text[from..].find('\n').map_or(text.len(), |i| from + i)
}

/// Decodes a file's bytes as UTF-8. On failure, returns a lossy text (for showing the
/// excerpt) and the AG0100 diagnostic pointing at the first invalid byte.
pub fn decode(file: FileId, bytes: Vec<u8>) -> Result<String, (String, Diagnostic)> {
    String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to() as u32;
        let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
        let error = SyntaxError::InvalidUtf8 { span: Span::new(file, offset, offset + 1), offset };
        (text, Diagnostic::from_error(file, &error))
    })
}
