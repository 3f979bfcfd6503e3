//! UI tests: every `tests/ui/**/*.ag` file is checked, its diagnostics must be exactly the ones
//! its `//~` annotations name, and the rendered diagnostics must match the `NAME.out` file
//! next to it (source excerpt and message together). `UPDATE_EXPECT=1` rewrites the snapshots.
//!
//! Annotations, at the end of a line: `//~ error[AG0101]` (this line), `//~^ error[...]` (the
//! line above; one `^` per line), `//~v error[...]` (the line below), optionally followed by
//! `: text`, which the message must contain. A file without annotations must be clean.
//!
//! The files under `tests/ui/packages/NAME/` are not tests: they form package `NAME`, which
//! every UI test may import.

use std::path::{Path, PathBuf};

use aigrid_compiler::MemoryWorld;
use aigrid_lang::{Diagnostic, DiagnosticFormat};

#[derive(Debug, PartialEq)]
struct Expected {
    line: usize,
    severity: String,
    code: String,
    text: Option<String>,
}

#[test]
fn ui() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    collect(&root.join("tests/ui"), &mut files);
    files.sort();
    assert!(
        files.len() >= 40,
        "expected the UI corpus under tests/ui, found {} files",
        files.len()
    );
    let mut failures = Vec::new();
    for path in &files {
        let relative = path.strip_prefix(root).unwrap_or(path).display().to_string();
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let mut world = packages(root);
        let id = world.add_file(&relative, &text);
        let diagnostics = aigrid_compiler::check(&mut world, &[id]);
        if let Err(problems) = compare(&text, &annotations(&text), &diagnostics) {
            failures.push(format!("{relative}:\n{problems}"));
        }
        let rendered = aigrid_lang::render(
            &diagnostics,
            world.sources(),
            DiagnosticFormat::Human { color: false },
        );
        expect_test::expect_file![path.with_extension("out")].assert_eq(&rendered);
    }
    assert!(
        failures.is_empty(),
        "{} UI files differ from their annotations:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A world holding the packages of `tests/ui/packages/`.
fn packages(root: &Path) -> MemoryWorld {
    let mut world = MemoryWorld::new();
    let dir = root.join("tests/ui/packages");
    for package in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = package.file_name().to_string_lossy().into_owned();
        let mut files = Vec::new();
        collect(&package.path(), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let shown = file.strip_prefix(root).unwrap_or(&file).display().to_string();
            world.add_package_file(&name, &shown, &text);
        }
    }
    world
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.ends_with("tests/ui/packages") {
            continue;
        }
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "ag") {
            files.push(path);
        }
    }
}

fn annotations(text: &str) -> Vec<Expected> {
    let mut expected = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let Some(at) = line.find("//~") else { continue };
        let rest = &line[at + 3..];
        let up = rest.chars().take_while(|&c| c == '^').count();
        let down = rest.chars().take_while(|&c| c == 'v').count();
        let rest = rest[up + down..].trim();
        let Some((severity, rest)) = rest.split_once('[') else {
            continue;
        };
        let Some((code, rest)) = rest.split_once(']') else {
            continue;
        };
        let text =
            rest.trim().strip_prefix(':').map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
        expected.push(Expected {
            line: index + 1 + down - up,
            severity: severity.trim().to_owned(),
            code: code.to_owned(),
            text,
        });
    }
    expected
}

/// The 1-based line of a diagnostic; the end of a file that ends with a line break counts as
/// its last line.
fn line_of(text: &str, diagnostic: &Diagnostic) -> usize {
    let offset = diagnostic.primary_span().map_or(0, |s| s.start as usize).min(text.len());
    let offset = if offset == text.len() && text.ends_with('\n') { offset - 1 } else { offset };
    text[..offset].matches('\n').count() + 1
}

fn compare(text: &str, expected: &[Expected], diagnostics: &[Diagnostic]) -> Result<(), String> {
    let mut unmatched: Vec<&Diagnostic> = diagnostics.iter().collect();
    let mut problems = Vec::new();
    for want in expected {
        let found = unmatched.iter().position(|d| {
            line_of(text, d) == want.line
                && d.severity.as_str() == want.severity
                && d.code == want.code
                && want.text.as_ref().is_none_or(|t| d.message.contains(t.as_str()))
        });
        match found {
            Some(i) => {
                unmatched.remove(i);
            }
            None => problems.push(format!(
                "  missing: line {}: {}[{}]{}",
                want.line,
                want.severity,
                want.code,
                want.text.as_ref().map(|t| format!(": {t}")).unwrap_or_default()
            )),
        }
    }
    for d in unmatched {
        problems.push(format!(
            "  unexpected: line {}: {}[{}]: {}",
            line_of(text, d),
            d.severity.as_str(),
            d.code,
            d.message
        ));
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n")) }
}
