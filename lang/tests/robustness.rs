//! No input makes the front end panic, hang or overflow the stack: adversarial inputs and
//! property tests over bytes, token soups and generated programs.

mod common;

use aigrid_lang::FileId;
use proptest::prelude::*;

/// Decodes, parses and (when it parsed) formats `bytes`; returns the diagnostic codes.
fn run(bytes: &[u8]) -> Vec<String> {
    let text = match aigrid_lang::decode(FileId(0), bytes.to_vec()) {
        Ok(text) => text,
        Err((_, diagnostic)) => return vec![diagnostic.code],
    };
    let parsed = common::parse(&text);
    if parsed.is_ok() {
        let _ = aigrid_lang::format(&parsed, &text);
    }
    parsed.diagnostics.into_iter().map(|d| d.code).collect()
}

fn codes(text: &str) -> Vec<String> {
    run(text.as_bytes())
}

#[test]
fn empty_and_blank_files_are_clean() {
    assert_eq!(codes(""), Vec::<String>::new());
    assert_eq!(codes("\n\n  \t\n"), Vec::<String>::new());
    assert_eq!(codes("// only a comment"), Vec::<String>::new());
    assert_eq!(codes("/* block */\n"), Vec::<String>::new());
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for (open, close) in [("(", ")"), ("[", "]"), ("{", "}"), ("list<", ">")] {
        let text = format!(
            "pipeline p() {{\n    let x = {}1{}\n}}\n",
            open.repeat(100_000),
            close.repeat(100_000)
        );
        assert_eq!(codes(&text), ["AG0104"], "{open}");
    }
    // Unbalanced openers alone, and at the top level.
    assert_eq!(codes(&"(".repeat(100_000)), ["AG0104"]);
    assert_eq!(codes(&"{".repeat(100_000)), ["AG0104"]);
}

#[test]
fn nesting_through_lines_that_start_like_items_is_bounded() {
    // A line inside a bracket may start like an item (a field named `type`, an argument named
    // `test`, a doc comment); the nesting bound must still hold there.
    let n = 100_000;
    let types = format!("type T = {}int{}\n", "table {\ntype: ".repeat(n), "}".repeat(n));
    assert_eq!(codes(&types), ["AG0104"]);
    let docs = format!("type T = {}int{}\n", "table {\n/// d\na: ".repeat(n), "}".repeat(n));
    assert_eq!(codes(&docs), ["AG0104"]);
    let args =
        format!("pipeline p() {{\n    g({}1{})\n}}\n", "f(\ntest = ".repeat(n), ")".repeat(n));
    assert_eq!(codes(&args), ["AG0104"]);
    let parens =
        format!("pipeline p() {{\n    let x = {}a{}\n}}\n", "(a\n///\n".repeat(n), ")".repeat(n));
    assert_eq!(codes(&parens), ["AG0104"]);
    // Left open, such brackets make the file's items too deep to parse as one.
    let unclosed = format!("pipeline p() {{\n    g({}1\n}}\n", "f(\ntest = ".repeat(n / 10));
    assert!(!codes(&unclosed).is_empty());
    // Comparisons with a value named `list` are not type arguments: they do not nest.
    let comparisons = "    let b = list < 3\n".repeat(100);
    assert!(codes(&format!("pipeline p() {{\n{comparisons}}}\n")).is_empty());
    let wheres = "ai f() -> T where list < 3\n".repeat(100);
    assert!(codes(&wheres).is_empty());
}

#[test]
fn nesting_within_the_limit_parses_and_formats() {
    let text = format!("pipeline p() {{\n    let x = {}1{}\n}}\n", "(".repeat(60), ")".repeat(60));
    common::assert_format_contract("60 parentheses", &text);
}

#[test]
fn long_operator_chains_are_bounded() {
    let chain = vec!["a"; 100_000].join(" + ");
    assert_eq!(codes(&format!("pipeline p() {{\n    let x = {chain}\n}}\n")), ["AG0104"]);
    let pipes = vec!["f"; 100_000].join(" |> ");
    assert_eq!(codes(&format!("pipeline p() {{\n    let x = {pipes}\n}}\n")), ["AG0104"]);
    let fields = vec!["a"; 100_000].join(".");
    assert_eq!(codes(&format!("pipeline p() {{\n    let x = {fields}\n}}\n")), ["AG0104"]);
    let chain = vec!["a"; 200].join(" + ");
    assert_eq!(codes(&format!("pipeline p() {{\n    let x = {chain}\n}}\n")), Vec::<String>::new());
}

#[test]
fn unterminated_things_at_end_of_file() {
    assert_eq!(codes("pipeline p() {\n    let s = \"abc"), ["AG0102"]);
    assert_eq!(codes("pipeline p() {\n    let s = \"\"\"abc\n"), ["AG0102"]);
    assert_eq!(codes("/* never closed"), ["AG0103"]);
    assert_eq!(codes("pipeline p() {\n    let s = f(1,"), ["AG0112"]);
    assert_eq!(codes("\""), ["AG0102"]);
    assert_eq!(codes("@"), ["AG0101"]);
    assert_eq!(codes("///"), ["AG0107"]);
}

#[test]
fn nul_bytes_and_control_characters() {
    assert_eq!(codes("\0"), ["AG0101"]);
    assert_eq!(codes("pipeline p() {\n    let s = \"a\0b\"\n}\n"), Vec::<String>::new());
    assert_eq!(codes("pipeline p\0() {}\n"), ["AG0101"]);
}

#[test]
fn invalid_utf8_is_reported_at_the_first_bad_byte() {
    let diagnostic = aigrid_lang::decode(FileId(0), b"use std\n\xff\xfe".to_vec()).unwrap_err().1;
    assert_eq!(diagnostic.code, "AG0100");
    assert_eq!(diagnostic.primary_span().map(|s| s.start), Some(8));
}

#[test]
fn ten_megabytes_of_random_bytes() {
    // A fixed xorshift stream: the same 10 MB on every run.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut bytes = Vec::with_capacity(10 << 20);
    while bytes.len() < 10 << 20 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    assert_eq!(run(&bytes), ["AG0100"]);
    // The same stream folded into printable ASCII, so that it reaches the parser.
    let ascii: Vec<u8> =
        bytes.iter().map(|b| b" \n(){}[]<>\"/*@abc0123=|>.,:"[(*b % 27) as usize]).collect();
    let found = run(&ascii);
    assert!(!found.is_empty());
}

#[test]
fn many_broken_items_are_each_reported() {
    let text = "pipeline p( {\n}\n".repeat(1_000);
    assert_eq!(codes(&text).len(), 1_000);
}

/// Tokens from which soups are made: every kind of token, some broken ones.
const TOKENS: &[&str] = &[
    "package",
    "use",
    "as",
    "type",
    "ai",
    "pipeline",
    "test",
    "let",
    "return",
    "assert",
    "where",
    "prefer",
    "fallback",
    "true",
    "false",
    "null",
    "in",
    "table",
    "tensor",
    "list",
    "asc",
    "desc",
    "x",
    "docs",
    "f32",
    "utf8",
    "N",
    "_",
    "0",
    "42",
    "1.5",
    "2e9",
    "30s",
    "5m",
    "\"s\"",
    "\"\\n\"",
    "\"\"\"sql\"\"\"",
    "\"",
    "\"\"\"",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "<",
    ">",
    "<=",
    ">=",
    "==",
    "!=",
    "=",
    "!",
    "-",
    "+",
    "*",
    "/",
    "%",
    "|>",
    "||",
    "&&",
    "->",
    ":",
    ",",
    ".",
    "@",
    "?",
    "//c\n",
    "/*c*/",
    "/*",
    "///d\n",
    "\n",
    " ",
    "\t",
    "é",
    "\0",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: common::cases(512), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2_000)) {
        run(&bytes);
    }

    #[test]
    fn token_soups_never_panic(tokens in proptest::collection::vec(proptest::sample::select(TOKENS), 0..300)) {
        run(tokens.join(" ").as_bytes());
        run(tokens.concat().as_bytes());
    }

    #[test]
    fn arbitrary_strings_never_panic(text in "\\PC{0,400}") {
        run(text.as_bytes());
    }
}
