//! House rules that the compiler does not check: every Rust file opens with a `//!` line
//! saying what it is for, and no stub (`todo!`, `unimplemented!`) is left in non-test code.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && !name.to_string_lossy().starts_with('.') {
                rust_files(&path, files);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

#[test]
fn every_rust_file_has_a_purpose_line_and_no_stubs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "lang", "compiler", "executor", "stdlib", "tests"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 20);
    let mut problems = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let relative = path.strip_prefix(root).unwrap_or(&path).display().to_string();
        if !text.trim_start().starts_with("//!") {
            problems.push(format!("{relative}: does not start with a `//!` purpose line"));
        }
        let in_tests = relative.starts_with("tests/") || relative.contains("/tests/");
        for stub in ["todo!(", "unimplemented!("] {
            if !in_tests && text.contains(stub) && !relative.ends_with("tidy.rs") {
                problems.push(format!("{relative}: contains `{stub}`"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
