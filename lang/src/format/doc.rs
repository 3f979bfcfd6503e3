//! A small Wadler-style pretty printer: a document tree of text, line breaks, indentation and
//! groups; a group prints flat when it fits in the remaining width, else broken.

/// The width the printer aims to stay within.
pub(super) const WIDTH: usize = 100;
const INDENT: usize = 4;

/// A document to print.
#[derive(Clone, Debug)]
pub(super) enum Doc {
    /// Text without line breaks (raw strings may contain some: they are printed verbatim and
    /// make their group break).
    Text(String),
    /// A space when flat, a line break when broken.
    Line,
    /// Nothing when flat, a line break when broken.
    SoftLine,
    /// Always a line break; the enclosing groups break.
    HardLine,
    /// A line break with no indentation: for blank lines.
    EmptyLine,
    /// Nothing, but the enclosing groups break (after a `//` comment).
    BreakParent,
    /// The text only when the enclosing group is broken (trailing commas).
    IfBreak(&'static str),
    /// Documents one after another.
    Concat(Vec<Doc>),
    /// Line breaks inside are indented one more level.
    Nest(Box<Doc>),
    /// Printed flat if it fits, broken otherwise.
    Group(Box<Doc>),
}

impl Doc {
    pub(super) fn text(text: impl Into<String>) -> Doc {
        Doc::Text(text.into())
    }

    pub(super) fn nest(self) -> Doc {
        Doc::Nest(Box::new(self))
    }

    pub(super) fn group(self) -> Doc {
        Doc::Group(Box::new(self))
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Flat,
    Break,
}

/// Prints `doc` to a string.
pub(super) fn print(doc: &Doc) -> String {
    let mut out = String::new();
    let mut column = 0;
    let mut stack: Vec<(usize, Mode, &Doc)> = vec![(0, Mode::Break, doc)];
    while let Some((indent, mode, doc)) = stack.pop() {
        match doc {
            Doc::Text(text) => {
                out.push_str(text);
                column = match text.rfind('\n') {
                    Some(at) => text.len() - at - 1,
                    None => column + text.chars().count(),
                };
            }
            Doc::Line | Doc::SoftLine if mode == Mode::Flat => {
                if matches!(doc, Doc::Line) {
                    out.push(' ');
                    column += 1;
                }
            }
            Doc::Line | Doc::SoftLine | Doc::HardLine => {
                while out.ends_with(' ') {
                    out.pop();
                }
                out.push('\n');
                out.extend(std::iter::repeat_n(' ', indent));
                column = indent;
            }
            Doc::EmptyLine => {
                while out.ends_with(' ') {
                    out.pop();
                }
                out.push('\n');
                column = 0;
            }
            Doc::BreakParent => {}
            Doc::IfBreak(text) => {
                if mode == Mode::Break {
                    out.push_str(text);
                    column += text.len();
                }
            }
            Doc::Concat(docs) => stack.extend(docs.iter().rev().map(|d| (indent, mode, d))),
            Doc::Nest(inner) => stack.push((indent + INDENT, mode, inner)),
            Doc::Group(inner) => {
                let width = WIDTH.saturating_sub(column);
                let mode = if mode == Mode::Flat || fits(inner, &stack, width) {
                    Mode::Flat
                } else {
                    Mode::Break
                };
                stack.push((indent, mode, inner));
            }
        }
    }
    out
}

/// Whether `doc` printed flat, followed by what comes after it up to the next line break
/// (`rest`, the printer's stack), takes at most `width` columns with no forced break inside.
fn fits(doc: &Doc, rest: &[(usize, Mode, &Doc)], width: usize) -> bool {
    let mut remaining = width as isize;
    let mut stack = vec![(Mode::Flat, doc)];
    let mut rest = rest.iter().rev();
    loop {
        let Some((mode, doc)) =
            stack.pop().or_else(|| rest.next().map(|&(_, mode, doc)| (mode, doc)))
        else {
            return true;
        };
        match doc {
            Doc::Text(text) => {
                if text.contains('\n') {
                    return false;
                }
                remaining -= text.chars().count() as isize;
            }
            Doc::Line | Doc::SoftLine if mode == Mode::Break => return true,
            Doc::Line => remaining -= 1,
            Doc::SoftLine => {}
            Doc::IfBreak(text) => {
                if mode == Mode::Break {
                    remaining -= text.len() as isize;
                }
            }
            Doc::HardLine | Doc::EmptyLine | Doc::BreakParent => return mode == Mode::Break,
            Doc::Concat(docs) => stack.extend(docs.iter().rev().map(|d| (mode, d))),
            Doc::Nest(inner) | Doc::Group(inner) => stack.push((mode, inner)),
        }
        if remaining < 0 {
            return false;
        }
    }
}
