//! The parser corpus: each `data/ok/NNNN_name.ag` parses cleanly and its AST is the `.ast`
//! dump beside it; each `data/err/NNNN_name.ag` gives the diagnostics in the `.diag` beside it
//! (the AST of the items that parsed, then one `short`-style line per diagnostic).
//! `UPDATE_EXPECT=1 cargo test -p aigrid-lang --test corpus` rewrites the dumps.

// The corpus is read from disk; the library itself does no IO.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::{Path, PathBuf};

fn files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(dir);
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "ag"))
        .collect();
    files.sort();
    files
}

#[test]
fn ok_files_parse_to_their_ast() {
    let files = files("ok");
    assert!(files.len() >= 6);
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let parsed = common::parse(&text);
        assert!(parsed.is_ok(), "{}: {:?}", path.display(), parsed.diagnostics);
        common::assert_format_contract(&path.display().to_string(), &text);
        expect_test::expect_file![path.with_extension("ast")]
            .assert_eq(&format!("{:#?}\n", parsed.module));
    }
}

#[test]
fn err_files_give_their_diagnostics() {
    let files = files("err");
    assert!(!files.is_empty());
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let parsed = common::parse(&text);
        assert!(!parsed.is_ok(), "{} parses without errors", path.display());
        let index = aigrid_lang::LineIndex::new(&text);
        let mut dump = format!("{:#?}\n", parsed.module);
        for d in &parsed.diagnostics {
            let (line, column) = index.line_col(&text, d.primary_span().map_or(0, |s| s.start));
            dump +=
                &format!("{line}:{column}: {}[{}]: {}\n", d.severity.as_str(), d.code, d.message);
        }
        expect_test::expect_file![path.with_extension("diag")].assert_eq(&dump);
    }
}
