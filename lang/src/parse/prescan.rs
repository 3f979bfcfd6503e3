//! A linear lexical pass run before pest: it collects comments (for the formatter), finds
//! lexical errors that deserve their own diagnostic (unterminated strings and comments) and
//! bounds nesting depth, so that no later recursive pass can exhaust the stack.

use crate::ast::Comment;
use crate::span::{FileId, Span};

/// How deeply `(`, `[`, `{` and type `<` may nest.
pub(crate) const MAX_NESTING: usize = 64;

/// A lexical problem, found before parsing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum LexError {
    /// A `"` (or `"""` when `raw`) with no closing quote; `start` is the opening quote.
    UnterminatedString { start: u32, raw: bool },
    /// A `/*` with no `*/`.
    UnterminatedComment { start: u32 },
    /// An opening delimiter at depth [`MAX_NESTING`] + 1, within an item or, among delimiters
    /// that are closed again, anywhere.
    TooDeep { start: u32 },
}

impl LexError {
    pub(crate) fn start(self) -> u32 {
        match self {
            LexError::UnterminatedString { start, .. }
            | LexError::UnterminatedComment { start }
            | LexError::TooDeep { start } => start,
        }
    }
}

/// What the prescan found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Ordinary comments (not doc comments), in source order.
    pub comments: Vec<Comment>,
    /// Lexical errors in source order; scanning stops after one that swallows the rest.
    pub errors: Vec<LexError>,
    /// Delimiters still open at the end of the file, outermost first: (offset, character).
    pub unclosed: Vec<(u32, u8)>,
    /// The deepest nesting of delimiters anywhere, counting those a broken item left open
    /// (which [`LexError::TooDeep`] does not): how deep a parse of the whole text may recurse.
    pub deepest: usize,
}

/// Scans `text`, which is file `file`.
pub(crate) fn scan(file: FileId, text: &str) -> Scan {
    let bytes = text.as_bytes();
    let mut scan = Scan::default();
    let mut open: Vec<(u32, u8)> = Vec::new();
    // Every delimiter still open, whether or not a line that starts an item came since: what
    // the parsers will recurse into (a line inside a bracket may start like an item).
    let mut nesting: Vec<(u32, u8)> = Vec::new();
    // The delimiters closed so far: (opening offset, closing offset).
    let mut closed: Vec<(u32, u32)> = Vec::new();
    // The last word seen, to tell the `<` of `list<`/`tensor<` from a comparison.
    let mut last_word: &[u8] = b"";
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // Words, blanks and plain punctuation first: they are most of a file.
        match CLASS[usize::from(b)] {
            WORD => {
                let start = i;
                while i < bytes.len() && CLASS[usize::from(bytes[i])] == WORD {
                    i += 1;
                }
                last_word = &bytes[start..i];
                continue;
            }
            BLANK => {
                i += 1;
                // Items do not nest: whatever is still open where a new item starts belongs
                // to a broken earlier item (the parser reports it there), not to this one.
                if b == b'\n' && starts_item(&text[i..]) {
                    open.clear();
                }
                continue;
            }
            PLAIN => {
                close_comparisons(&mut open, b);
                close_comparisons(&mut nesting, b);
                last_word = b"";
                i += 1;
                continue;
            }
            _ => {
                close_comparisons(&mut open, b);
                close_comparisons(&mut nesting, b);
            }
        }
        match b {
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                match find(bytes, i + 3, b"\"\"\"") {
                    Some(end) => i = end + 3,
                    None => {
                        let start = i as u32;
                        scan.errors.push(LexError::UnterminatedString { start, raw: true });
                        break;
                    }
                }
                last_word = b"";
                continue;
            }
            b'"' => {
                let start = i;
                i += 1;
                loop {
                    match bytes.get(i) {
                        Some(b'\\') if bytes.get(i + 1).is_some_and(|&c| c != b'\n') => i += 2,
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\n') | None => {
                            let start = start as u32;
                            scan.errors.push(LexError::UnterminatedString { start, raw: false });
                            break;
                        }
                        Some(_) => i += 1,
                    }
                }
                last_word = b"";
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = find(bytes, i, b"\n").unwrap_or(bytes.len());
                let doc = bytes.get(i + 2) == Some(&b'/') && bytes.get(i + 3) != Some(&b'/');
                if !doc {
                    let span = Span::new(file, i as u32, end as u32);
                    scan.comments.push(Comment { span, block: false });
                }
                i = end;
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => match find(bytes, i + 2, b"*/") {
                Some(end) => {
                    let span = Span::new(file, i as u32, end as u32 + 2);
                    scan.comments.push(Comment { span, block: true });
                    i = end + 2;
                    continue;
                }
                None => {
                    scan.errors.push(LexError::UnterminatedComment { start: i as u32 });
                    break;
                }
            },
            b'(' | b'[' | b'{' => {
                open.push((i as u32, b));
                nesting.push((i as u32, b));
            }
            b'<' if last_word == b"list" || last_word == b"tensor" => {
                open.push((i as u32, b));
                nesting.push((i as u32, b));
            }
            b')' | b']' | b'}' => {
                let opener = match b {
                    b')' => b'(',
                    b']' => b'[',
                    _ => b'{',
                };
                if let Some(at) = open.iter().rposition(|&(_, c)| c == opener) {
                    open.truncate(at);
                }
                if let Some(at) = nesting.iter().rposition(|&(_, c)| c == opener) {
                    closed.push((nesting[at].0, i as u32));
                    nesting.truncate(at);
                }
            }
            b'>' if i > 0 && bytes[i - 1] != b'-' => {
                if open.last().is_some_and(|&(_, c)| c == b'<') {
                    open.pop();
                }
                if let Some(&(start, b'<')) = nesting.last() {
                    closed.push((start, i as u32));
                    nesting.pop();
                }
            }
            _ => {}
        }
        scan.deepest = scan.deepest.max(nesting.len());
        if open.len() > MAX_NESTING {
            scan.errors.push(LexError::TooDeep { start: i as u32 });
            break;
        }
        last_word = b"";
        i += 1;
    }
    if !matches!(scan.errors.last(), Some(LexError::TooDeep { .. }))
        && let Some(start) = too_deep(closed)
    {
        scan.errors.push(LexError::TooDeep { start });
    }
    scan.unclosed = open;
    scan
}

/// Where delimiters that are closed again nest past [`MAX_NESTING`], across lines that start
/// like items too (`table {\ntype: table {` nests): the opening delimiter one too deep.
fn too_deep(mut closed: Vec<(u32, u32)>) -> Option<u32> {
    // Closed pairs nest properly (a closer matches the innermost opener of its kind), so
    // sorted by their openings, those still open at each opening are a stack.
    closed.sort_unstable();
    let mut ends: Vec<u32> = Vec::new();
    for (start, end) in closed {
        while ends.last().is_some_and(|&last| last < start) {
            ends.pop();
        }
        ends.push(end);
        if ends.len() > MAX_NESTING {
            return Some(start);
        }
    }
    None
}

/// Forgets the `<` of `list <`/`tensor <` left open on top of a stack at a byte no type holds:
/// those were comparisons (`list < 3`), not type arguments.
fn close_comparisons(nesting: &mut Vec<(u32, u8)>, b: u8) {
    if matches!(b, b'=' | b'(' | b'+' | b'-' | b'*' | b'%' | b'!' | b'|' | b'&' | b'@' | b'"') {
        while nesting.last().is_some_and(|&(_, c)| c == b'<') {
            nesting.pop();
        }
    }
}

/// A byte that is nothing to the prescan but ends a word.
const PLAIN: u8 = 0;
/// `[A-Za-z0-9_]`.
const WORD: u8 = 1;
/// ASCII whitespace.
const BLANK: u8 = 2;
/// Quotes, slashes and delimiters.
const SPECIAL: u8 = 3;

/// Each byte's class, as a table: one load per byte.
const CLASS: [u8; 256] = {
    let mut table = [PLAIN; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = if byte.is_ascii_alphanumeric() || byte == b'_' {
            WORD
        } else if byte.is_ascii_whitespace() {
            BLANK
        } else if matches!(
            byte,
            b'"' | b'/' | b'(' | b'[' | b'{' | b')' | b']' | b'}' | b'<' | b'>'
        ) {
            SPECIAL
        } else {
            PLAIN
        };
        b += 1;
    }
    table
};

/// The offset of the first `needle` in `bytes` at or after `from`.
fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|at| from + at)
}

/// Whether a line starting here begins a top-level item: a line starting at column 0 with
/// `package`, `use`, `type`, `ai`, `pipeline`, `test`, `@` or `///`.
pub(crate) fn starts_item(line: &str) -> bool {
    if line.starts_with('@') || line.starts_with("///") {
        return true;
    }
    ["package", "use", "type", "ai", "pipeline", "test"].iter().any(|keyword| {
        line.strip_prefix(keyword)
            .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
    })
}
