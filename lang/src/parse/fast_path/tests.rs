//! Differential tests: `parse` with the fast path gives exactly what pest alone gives (AST,
//! spans, comments and diagnostics) on every `.ag` file and spec example in the repository, on
//! mutations of them, and on generated programs; and the fast path takes every valid one.

// The corpus is read from disk; the library itself does no IO.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::super::parse_with;
use crate::span::FileId;

/// Asserts both parses of `text` agree; returns whether the fast path took the file.
fn check(name: &str, text: &str) -> bool {
    let reference = parse_with(FileId(0), text, false);
    let parsed = parse_with(FileId(0), text, true);
    assert_eq!(parsed.module, reference.module, "{name}: the fast path built another tree");
    assert_eq!(
        format!("{:?}", parsed.diagnostics),
        format!("{:?}", reference.diagnostics),
        "{name}: the fast path changed the diagnostics"
    );
    assert_eq!(parsed.comments, reference.comments, "{name}");
    let fast = parsed.is_ok() && parsed.diagnostics.is_empty();
    let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let took = super::super::prescan::scan(FileId(0), text).errors.is_empty()
        && super::module(FileId(0), text, start).is_some();
    assert!(!took || fast, "{name}: the fast path accepted a file with errors");
    took
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.ag` file under the repository's sources, and every `ag` block of the spec.
fn corpus() -> Vec<(String, String)> {
    let root = repository();
    let mut files = Vec::new();
    for dir in ["examples", "tests", "lang/tests", "compiler", "stdlib"] {
        collect(&root.join(dir), &mut files);
    }
    files.sort();
    let mut corpus: Vec<(String, String)> = files
        .iter()
        .filter_map(|path| Some((path.display().to_string(), std::fs::read_to_string(path).ok()?)))
        .collect();
    let spec = std::fs::read_to_string(root.join("spec/language.md")).unwrap_or_default();
    for (i, block) in spec.split("```ag\n").skip(1).enumerate() {
        let code = block.split("```").next().unwrap_or_default();
        corpus.push((format!("spec/language.md block {i}"), code.to_owned()));
    }
    corpus
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "ag") {
            files.push(path);
        }
    }
}

#[test]
fn every_repository_program_parses_the_same_and_valid_ones_take_the_fast_path() {
    let corpus = corpus();
    assert!(corpus.len() > 150, "only {} programs found", corpus.len());
    let mut valid = 0;
    for (name, text) in &corpus {
        let took = check(name, text);
        if crate::parse(FileId(0), text).is_ok() {
            assert!(took, "{name}: a valid file did not take the fast path");
            valid += 1;
        }
    }
    assert!(valid > 40, "only {valid} valid programs");
}

/// What the AST builder rejects, the fast path declines.
#[test]
fn what_pest_or_the_builder_rejects_the_fast_path_declines() {
    let declined = [
        "pipeline p() { let a = 1 let b = 2 }\n",
        "pipeline p() {\n    @retry(2) return 1\n}\n",
        "pipeline p() {\n    f(a = 1, 2)\n}\n",
        "pipeline p() {\n    let x = 99999999999999999999\n}\n",
        "pipeline p() {\n    let x = 1e999\n}\n",
        "pipeline p() {\n    let x = \"\\q\"\n}\n",
        "pipeline p() {\n    let x = 99999999999999999999d\n}\n",
        "type T = tensor<f32, [99999999999999999999]>\n",
        "ai f() -> T fallback 99999999999\n",
        "package a @ 01.2.3\n",
        "use a\npackage b @ 1.0.0\n",
        "package a @ 1.0.0\npackage b @ 1.0.0\n",
        "\u{c}use a\n",
        "use a\n\u{a0}",
    ];
    for text in declined {
        assert!(!check(text, text), "the fast path took {text:?}");
    }
    let deep = format!("pipeline p() {{\n    let x = {}1\n}}\n", "-".repeat(300));
    assert!(!check("deep", &deep));
    // Lines that start like an item inside an item; `///` as division, then a `//` comment.
    for text in [
        "pipeline p() {\n@cache let x = 1\n}\n",
        "pipeline p() {\n    let q = \"\"\"\nuse x\n\"\"\"\n}\n",
        "ai f() -> T where a\n/// doc\nx\n",
    ] {
        assert!(check(text, text), "the fast path declined {text:?}");
    }
    let wide = format!("pipeline p() {{\n    let x = [{}]\n}}\n", "1, ".repeat(400));
    assert!(check("wide", &wide), "a long list is not deep");
}

/// Tokens and fragments spliced into valid programs.
const SPLICES: &[&str] = &[
    "\n",
    " ",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "<",
    ">",
    ",",
    ".",
    ":",
    "=",
    "==",
    "!",
    "-",
    "->",
    "|>",
    "?",
    "@",
    "@x",
    "///",
    "/// d\n",
    "//",
    "// c\n",
    "/*",
    "*/",
    "/* c */",
    "\"",
    "\"\"\"",
    "in",
    "let",
    "as",
    "true",
    "null",
    "_",
    "0",
    "1.5",
    "2e3",
    "30s",
    "5ms",
    "1_0",
    "x",
    "y.z",
    "f(a)",
    "f(n = 1)",
    "table",
    "tensor",
    "list",
    "use",
    "type",
    "ai",
    "pipeline",
    "test",
    "\nuse a\n",
    "\n@x\n",
    "\\",
    "\t",
    "\r\n",
    "é",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), ..ProptestConfig::default() })]

    #[test]
    fn mutated_programs_parse_the_same(
        file in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        cut in 0..12usize,
        splice in prop::sample::select(SPLICES),
    ) {
        let corpus = corpus_once();
        let (name, text) = &corpus[file.index(corpus.len())];
        let mut at = at.index(text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let mut end = (at + cut).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mutated = format!("{}{splice}{}", &text[..at], &text[end..]);
        check(&format!("{name} with {at}..{end} replaced by {splice:?}"), &mutated);
    }

    #[test]
    fn generated_programs_parse_the_same(items in prop::collection::vec(item(), 0..5)) {
        let text = items.concat();
        check(&text, &text);
    }
}

fn corpus_once() -> &'static [(String, String)] {
    static CORPUS: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    CORPUS.get_or_init(|| corpus().into_iter().filter(|(_, text)| text.len() < 20_000).collect())
}

/// The number of property-test cases: `default`, or `PROPTEST_CASES` for a longer campaign.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Trivia as users write it, and as they should not: comments, blank lines, CRLF.
fn gap() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&[" ", "", "  ", "\n    ", " // c\n ", " /* c */ ", "\r\n", "\t"][..])
}

fn name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["a", "b_1", "Doc", "x", "_t", "in_x", "asc", "desc", "tests"][..])
}

fn literal() -> impl Strategy<Value = &'static str> {
    prop::sample::select(
        &[
            "1",
            "0",
            "1_000",
            "2.5",
            "1e3",
            "1.5E-3",
            "30s",
            "5ms",
            "2h",
            "7d",
            "true",
            "false",
            "null",
            "\"s\"",
            "\"e\\n\\u{41}\"",
            "\"\"\"raw \"q\" \"\"\"",
            "\"\"",
        ][..],
    )
}

fn expr() -> BoxedStrategy<String> {
    let leaf = prop_oneof![name().prop_map(String::from), literal().prop_map(String::from)];
    leaf.prop_recursive(4, 24, 4, |inner| {
        let op = prop::sample::select(
            &[
                "|>", "||", "&&", "==", "!=", "<", "<=", ">", ">=", "in", "+", "-", "*", "/", "%",
            ][..],
        );
        prop_oneof![
            (inner.clone(), gap(), op, gap(), inner.clone())
                .prop_map(|(a, g, op, h, b)| format!("{a}{g}{op}{h}{b}")),
            (prop::sample::select(&["!", "-", "- ", "!\n"][..]), inner.clone())
                .prop_map(|(op, a)| format!("{op}{a}")),
            (name(), prop::collection::vec((prop::option::of(name()), inner.clone()), 0..3), gap())
                .prop_map(|(f, args, g)| {
                    let args: Vec<String> = args
                        .into_iter()
                        .map(|(n, a)| n.map_or(a.clone(), |n| format!("{n}{g}={g}{a}")))
                        .collect();
                    format!("{f}({g}{})", args.join(","))
                }),
            (inner.clone(), name()).prop_map(|(a, n)| format!("{a}.{n}")),
            prop::collection::vec(inner.clone(), 0..3)
                .prop_map(|items| format!("[{}]", items.join(", "))),
            (inner, gap()).prop_map(|(a, g)| format!("({g}{a}{g})")),
        ]
    })
    .boxed()
}

fn ty() -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        name().prop_map(String::from),
        Just("utf8".to_owned()),
        Just("acme . text.Doc".to_owned())
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|t| format!("{t}?")),
            inner.clone().prop_map(|t| format!("list<{t}>")),
            (inner.clone(), prop::sample::select(&["N", "_", "384", "N, 3", ""][..]))
                .prop_map(|(t, d)| format!("tensor<{t}, [{d}]>")),
            prop::collection::vec((name(), inner), 0..3).prop_map(|fields| {
                let fields: Vec<String> =
                    fields.into_iter().map(|(n, t)| format!("{n}: {t}")).collect();
                format!("table {{ {} }}", fields.join(", "))
            }),
        ]
    })
    .boxed()
}

fn stmt() -> impl Strategy<Value = String> {
    prop_oneof![
        (name(), prop::option::of(ty()), expr()).prop_map(|(n, t, e)| match t {
            Some(t) => format!("let {n}: {t} = {e}"),
            None => format!("let {n} = {e}"),
        }),
        expr().prop_map(|e| format!("return {e}")),
        (expr(), expr()).prop_map(|(a, b)| format!("assert {a}, {b}")),
        expr(),
        (expr(), name()).prop_map(|(e, n)| format!("/// doc\n    @cache @retry(2) let {n} = {e}")),
    ]
}

fn item() -> impl Strategy<Value = String> {
    let params = prop::collection::vec((name(), ty(), prop::option::of(expr())), 0..3)
        .prop_map(|params| {
            let params: Vec<String> = params
                .into_iter()
                .map(|(n, t, d)| match d {
                    Some(d) => format!("{n}: {t} = {d}"),
                    None => format!("{n}: {t}"),
                })
                .collect();
            params.join(", ")
        })
        .boxed();
    prop_oneof![
        Just("package acme.x @ 1.2.3-rc.1\n".to_owned()),
        Just("use std.io.{read_csv, test as t}\n".to_owned()),
        Just("use std.tensor as t\n".to_owned()),
        (name(), ty()).prop_map(|(n, t)| format!("/// A type.\ntype {n} = {t}\n")),
        (name(), params.clone(), ty(), prop::option::of(expr()), gap()).prop_map(
            |(n, p, t, w, g)| {
                let clause = w.map(|w| format!("\n    where {w}")).unwrap_or_default();
                format!(
                    "@retry(3){g}ai {n}({p}) -> {t}{clause}\n    prefer a asc, b\n    fallback 2\n"
                )
            }
        ),
        (name(), params, prop::collection::vec(stmt(), 0..4)).prop_map(|(n, p, body)| {
            format!("pipeline {n}({p}) {{\n    {}\n}}\n", body.join("\n    "))
        }),
        prop::collection::vec(stmt(), 0..3)
            .prop_map(|body| format!("test \"t\" {{\n    {}\n}}\n", body.join("\n    "))),
    ]
}
