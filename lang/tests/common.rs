//! Helpers shared by the `lang` integration tests.
#![allow(dead_code)]

use aigrid_lang::{FileId, Parsed};

/// Parses `text` as file 0.
pub fn parse(text: &str) -> Parsed {
    aigrid_lang::parse(FileId(0), text)
}

/// The AST of a parsed file as text, with spans removed, for comparing two parses.
pub fn ast_without_spans(parsed: &Parsed) -> String {
    let dump = format!("{:#?}", parsed.module);
    let mut out = String::with_capacity(dump.len());
    let mut rest = dump.as_str();
    // Spans print as `@start..end`.
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 1..];
        let digits = tail.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(tail.len());
        if digits > 0 && tail[..digits].contains("..") {
            rest = &tail[digits..];
        } else {
            out.push('@');
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// The texts of all ordinary comments, sorted.
pub fn comment_texts(parsed: &Parsed, text: &str) -> Vec<String> {
    let mut texts: Vec<String> =
        parsed.comments.iter().map(|c| c.span.text(text).trim_end().to_owned()).collect();
    texts.sort();
    texts
}

/// Asserts the formatter's contract on `text`, which must parse: formatting is idempotent,
/// keeps the AST (spans aside) and keeps every comment. Returns the formatted text.
pub fn assert_format_contract(name: &str, text: &str) -> String {
    let parsed = parse(text);
    assert!(parsed.is_ok(), "{name} does not parse: {:?}", parsed.diagnostics);
    let once = aigrid_lang::format(&parsed, text);
    let reparsed = parse(&once);
    assert!(
        reparsed.is_ok(),
        "{name}: formatted text does not parse: {:?}\n{once}",
        reparsed.diagnostics
    );
    assert_eq!(
        ast_without_spans(&parsed),
        ast_without_spans(&reparsed),
        "{name}: formatting changed the AST:\n{once}"
    );
    assert_eq!(
        comment_texts(&parsed, text),
        comment_texts(&reparsed, &once),
        "{name}: formatting lost or changed comments:\n{once}"
    );
    let twice = aigrid_lang::format(&reparsed, &once);
    assert_eq!(once, twice, "{name}: formatting is not idempotent");
    once
}

/// The number of property-test cases: `default`, or `PROPTEST_CASES` for a longer campaign.
#[allow(clippy::disallowed_methods)] // Test configuration, not library code.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
