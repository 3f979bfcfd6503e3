//! End-to-end tests of the `aigridc` command line: each test runs the real binary and checks its
//! exit code (0 ok, 1 problems in the inputs, 2 usage or I/O error), stdout and stderr, mostly as
//! insta snapshots under `tests/snapshots/`. Review changes with `cargo insta review`, or
//! regenerate with `INSTA_UPDATE=always cargo test --test cli` and read the diff.
//!
//! Every command runs with `NO_COLOR=1` and `COLUMNS=100` (clap wraps help to the terminal width,
//! which a developer's shell may export). Commands on scratch files run inside a per-test
//! directory under the system temp dir and name files by relative paths, so no temp path ever
//! reaches a snapshot. The scratch directory is removed when the test ends.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use insta_cmd::assert_cmd_snapshot;

mod support;

use support::{Scratch, TWO_ERRORS, aigridc, run};

/// A clean file, already in the canonical layout.
const CLEAN: &str = "\
use std.io.{read_csv}

/// Loads the raw documents.
pipeline ingest(src: path) -> table { id: i64, body: utf8 } {
    let docs = read_csv(src)
    return docs
}
";

/// Valid but badly laid out, with a line comment, a trailing comment and a doc comment.
const MESSY: &str = "\
use   std.io.{read_csv,write_csv}
// keep this comment
/// Copies a table.
pipeline  copy( src:path,dst :path ){
  let docs=read_csv( src )   // trailing comment
      write_csv(docs,dst)
}
";

/// What `fmt` makes of [`MESSY`].
const MESSY_FORMATTED: &str = "\
use std.io.{read_csv, write_csv}

// keep this comment
/// Copies a table.
pipeline copy(src: path, dst: path) {
    let docs = read_csv(src) // trailing comment
    write_csv(docs, dst)
}
";

/// Like [`run`], feeding `stdin` to the command.
fn run_with_stdin(command: &mut Command, stdin: &str) -> (i32, String, String) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    if let Some(mut pipe) = child.stdin.take() {
        pipe.write_all(stdin.as_bytes())
            .unwrap_or_else(|error| panic!("cannot write to stdin: {error}"));
    }
    let output =
        child.wait_with_output().unwrap_or_else(|error| panic!("cannot wait for aigridc: {error}"));
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

// ---------------------------------------------------------------------------------------------
// Version and help

#[test]
fn version() {
    let (code, stdout, stderr) = run(aigridc().arg("--version"));
    assert_eq!(code, 0);
    assert_eq!(stdout, format!("aigridc {}\n", env!("CARGO_PKG_VERSION")));
    assert_eq!(stderr, "");
}

#[test]
fn help() {
    assert_cmd_snapshot!("help", aigridc().arg("--help"));
}

#[test]
fn check_help() {
    assert_cmd_snapshot!("check_help", aigridc().args(["check", "--help"]));
}

#[test]
fn fmt_help() {
    assert_cmd_snapshot!("fmt_help", aigridc().args(["fmt", "--help"]));
}

// ---------------------------------------------------------------------------------------------
// check

#[test]
fn check_clean_file() {
    let scratch = Scratch::new("check_clean_file");
    scratch.write("clean.ag", CLEAN);
    assert_cmd_snapshot!("check_clean_file", scratch.aigridc().args(["check", "clean.ag"]));
}

#[test]
fn check_two_errors_in_every_format() {
    let scratch = Scratch::new("check_two_errors_in_every_format");
    scratch.write("broken.ag", TWO_ERRORS);
    assert_cmd_snapshot!(
        "check_two_errors_human",
        scratch.aigridc().args(["check", "--format", "human", "broken.ag"])
    );
    assert_cmd_snapshot!(
        "check_two_errors_short",
        scratch.aigridc().args(["check", "--format", "short", "broken.ag"])
    );
    assert_cmd_snapshot!(
        "check_two_errors_json",
        scratch.aigridc().args(["check", "--format", "json", "broken.ag"])
    );
    // The JSON is one well-formed array, alone on stdout, one element per diagnostic.
    let (code, stdout, stderr) =
        run(scratch.aigridc().args(["check", "--format", "json", "broken.ag"]));
    assert_eq!(code, 1);
    assert_eq!(stderr, "", "--format json prints no summary line");
    let json: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|error| panic!("--format json is not JSON ({error}):\n{stdout}"));
    let lines: Vec<_> = json
        .as_array()
        .unwrap_or_else(|| panic!("--format json is not an array:\n{stdout}"))
        .iter()
        .map(|d| (d["code"].as_str(), d["line"].as_u64()))
        .collect();
    assert_eq!(lines, [(Some("AG0101"), Some(4)), (Some("AG0101"), Some(10))]);
}

#[test]
fn check_columns_count_characters_not_bytes() {
    let scratch = Scratch::new("check_columns");
    // `x` is the 25th character of line 2 but its 30th byte.
    scratch.write("unicode.ag", "pipeline p() {\n    let s = [\"日本\", \"é\"] x\n}\n");
    assert_cmd_snapshot!(
        "check_columns_count_characters",
        scratch.aigridc().args(["check", "--format", "short", "unicode.ag"])
    );
}

#[test]
fn check_clean_file_as_json_is_an_empty_array() {
    let scratch = Scratch::new("check_clean_file_as_json");
    scratch.write("clean.ag", CLEAN);
    assert_cmd_snapshot!(
        "check_clean_file_json",
        scratch.aigridc().args(["check", "--format", "json", "clean.ag"])
    );
}

#[test]
fn check_directory_reports_only_the_broken_file() {
    let scratch = Scratch::new("check_directory");
    scratch.write("project/main.ag", CLEAN);
    scratch.write("project/lib/clean.ag", CLEAN);
    scratch.write("project/lib/deep/broken.ag", TWO_ERRORS);
    scratch.write("project/lib/deep/empty.ag", "");
    // Not `.ag` files: ignored, however broken.
    scratch.write("project/notes.txt", "pipeline (((");
    scratch.write("project/lib/README.md", "# not aigrid");
    scratch.write("project/lib/broken.ag.bak", TWO_ERRORS);
    // Hidden directories and `target` are skipped.
    scratch.write("project/.cache/broken.ag", TWO_ERRORS);
    scratch.write("project/target/broken.ag", TWO_ERRORS);
    assert_cmd_snapshot!(
        "check_directory",
        scratch.aigridc().args(["check", "--format", "short", "project"])
    );
}

#[test]
fn check_missing_path_is_an_error_and_the_rest_is_still_checked() {
    let scratch = Scratch::new("check_missing_path");
    scratch.write("clean.ag", CLEAN);
    scratch.write("broken.ag", TWO_ERRORS);
    assert_cmd_snapshot!(
        "check_missing_path",
        scratch.aigridc().args([
            "check",
            "--format",
            "short",
            "missing.ag",
            "clean.ag",
            "broken.ag"
        ])
    );
    // An unreadable path wins over clean files too.
    let (code, _, stderr) = run(scratch.aigridc().args(["check", "clean.ag", "missing.ag"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("missing.ag"), "{stderr}");
}

#[test]
fn check_invalid_utf8() {
    let scratch = Scratch::new("check_invalid_utf8");
    scratch.write("latin1.ag", b"pipeline p() {\n    let s = \"caf\xe9\"\n}\n");
    assert_cmd_snapshot!("check_invalid_utf8", scratch.aigridc().args(["check", "latin1.ag"]));
}

#[test]
fn check_empty_file_is_clean() {
    let scratch = Scratch::new("check_empty_file");
    scratch.write("empty.ag", "");
    assert_cmd_snapshot!("check_empty_file", scratch.aigridc().args(["check", "empty.ag"]));
}

#[test]
fn check_quiet_drops_the_summary_line() {
    let scratch = Scratch::new("check_quiet");
    scratch.write("clean.ag", CLEAN);
    scratch.write("broken.ag", TWO_ERRORS);
    assert_cmd_snapshot!(
        "check_quiet",
        scratch.aigridc().args(["check", "--quiet", "--format", "short", "broken.ag"])
    );
    let (code, stdout, stderr) = run(scratch.aigridc().args(["check", "-q", "clean.ag"]));
    assert_eq!((code, stdout.as_str(), stderr.as_str()), (0, "", ""));
}

#[test]
fn check_examples_directory_is_clean() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let (code, stdout, stderr) = run(aigridc().arg("check").arg(&examples));
    assert_eq!(code, 0, "examples/ has problems:\n{stdout}{stderr}");
    assert_eq!(stdout, "");
    let files: usize = stderr
        .strip_prefix("checked ")
        .and_then(|rest| rest.strip_suffix(" files: 0 errors, 0 warnings\n"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected summary: {stderr:?}"));
    assert!(files >= 5, "expected the examples to be found, {files} checked");
}

// ---------------------------------------------------------------------------------------------
// fmt

#[test]
fn fmt_check_unformatted_file() {
    let scratch = Scratch::new("fmt_check_unformatted");
    scratch.write("messy.ag", MESSY);
    scratch.write("clean.ag", CLEAN);
    assert_cmd_snapshot!(
        "fmt_check_unformatted",
        scratch.aigridc().args(["fmt", "--check", "clean.ag", "messy.ag"])
    );
    assert_eq!(scratch.read("messy.ag"), MESSY.as_bytes(), "--check must not write");
}

#[test]
fn fmt_check_formatted_file() {
    let scratch = Scratch::new("fmt_check_formatted");
    scratch.write("clean.ag", CLEAN);
    assert_cmd_snapshot!(
        "fmt_check_formatted",
        scratch.aigridc().args(["fmt", "--check", "clean.ag"])
    );
}

#[test]
fn fmt_rewrites_the_file_in_place() {
    let scratch = Scratch::new("fmt_rewrites");
    scratch.write("messy.ag", MESSY);
    assert_cmd_snapshot!("fmt_rewrites", scratch.aigridc().args(["fmt", "messy.ag"]));
    let formatted = String::from_utf8_lossy(&scratch.read("messy.ag")).into_owned();
    assert_eq!(formatted, MESSY_FORMATTED);
    for comment in ["// keep this comment", "/// Copies a table.", "// trailing comment"] {
        assert!(formatted.contains(comment), "lost {comment:?}:\n{formatted}");
    }
    // No temporary file is left behind.
    assert_eq!(scratch.files(), ["messy.ag"]);
    // Formatting is stable.
    let (code, stdout, stderr) = run(scratch.aigridc().args(["fmt", "--check", "messy.ag"]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(stdout, "");
}

#[test]
fn fmt_rewrites_the_file_a_link_names_and_keeps_the_link() {
    let scratch = Scratch::new("fmt_link");
    scratch.write("src/messy.ag", MESSY);
    let link = scratch.path().join("messy.ag");
    std::os::unix::fs::symlink("src/messy.ag", &link)
        .unwrap_or_else(|e| panic!("symlink {}: {e}", link.display()));
    let (code, stdout, stderr) = run(scratch.aigridc().args(["fmt", "messy.ag"]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(scratch.read("src/messy.ag"), MESSY_FORMATTED.as_bytes());
    let kind = std::fs::symlink_metadata(&link).map(|m| m.file_type().is_symlink());
    assert!(kind.is_ok_and(|link| link), "messy.ag is no longer a link");
    assert_eq!(scratch.files(), ["messy.ag", "src"]);
}

#[test]
fn fmt_leaves_a_file_with_syntax_errors_unchanged() {
    let scratch = Scratch::new("fmt_syntax_errors");
    // Badly laid out as well as broken: a formatter that ignored the errors would change it.
    let broken = format!("{TWO_ERRORS}pipeline  third( ){{ }}\n");
    scratch.write("broken.ag", &broken);
    assert_cmd_snapshot!("fmt_syntax_errors", scratch.aigridc().args(["fmt", "broken.ag"]));
    assert_eq!(scratch.read("broken.ag"), broken.as_bytes());
    assert_eq!(scratch.files(), ["broken.ag"]);
}

#[test]
fn fmt_stdin_to_stdout() {
    assert_cmd_snapshot!("fmt_stdin", aigridc().args(["fmt", "-"]).pass_stdin(MESSY));
    let (code, stdout, stderr) = run_with_stdin(aigridc().args(["fmt", "-"]), MESSY);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, MESSY_FORMATTED);
}

#[test]
fn fmt_check_stdin() {
    assert_cmd_snapshot!(
        "fmt_check_stdin_unformatted",
        aigridc().args(["fmt", "--check", "-"]).pass_stdin(MESSY)
    );
    assert_cmd_snapshot!(
        "fmt_check_stdin_formatted",
        aigridc().args(["fmt", "--check", "-"]).pass_stdin(CLEAN)
    );
}

#[test]
fn fmt_stdin_with_syntax_errors() {
    assert_cmd_snapshot!(
        "fmt_stdin_syntax_errors",
        aigridc().args(["fmt", "-"]).pass_stdin(TWO_ERRORS)
    );
}

#[test]
fn fmt_stdin_cannot_be_combined_with_paths() {
    let scratch = Scratch::new("fmt_stdin_and_paths");
    scratch.write("other.ag", MESSY);
    assert_cmd_snapshot!(
        "fmt_stdin_and_paths",
        scratch.aigridc().args(["fmt", "-", "other.ag"]).pass_stdin(MESSY)
    );
    assert_eq!(scratch.read("other.ag"), MESSY.as_bytes());
}

// ---------------------------------------------------------------------------------------------
// explain

#[test]
fn explain_code() {
    assert_cmd_snapshot!("explain_ag0101", aigridc().args(["explain", "AG0101"]));
}

#[test]
fn explain_code_in_lower_case() {
    let upper = run(aigridc().args(["explain", "AG0101"]));
    let lower = run(aigridc().args(["explain", "ag0101"]));
    assert_eq!(lower.0, 0, "{}", lower.2);
    assert!(lower.1.starts_with("# AG0101"), "{}", lower.1);
    assert_eq!(lower, upper);
}

#[test]
fn explain_unknown_code() {
    assert_cmd_snapshot!("explain_unknown", aigridc().args(["explain", "XX9999"]));
}

#[test]
fn explain_list() {
    assert_cmd_snapshot!("explain_list", aigridc().args(["explain", "--list"]));
}

// ---------------------------------------------------------------------------------------------
// doc

#[test]
fn doc_of_an_operation_shows_its_example() {
    assert_cmd_snapshot!("doc_matmul", aigridc().args(["doc", "std.tensor.matmul"]));
    // A bare name finds the one package that has it.
    assert_eq!(
        run(aigridc().args(["doc", "matmul"])),
        run(aigridc().args(["doc", "std.tensor.matmul"]))
    );
}

#[test]
fn doc_of_an_unknown_name_suggests_the_closest() {
    assert_cmd_snapshot!("doc_unknown", aigridc().args(["doc", "std.tensor.matmull"]));
    let (code, _, stderr) = run(aigridc().args(["doc", "nothing_like_it"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("nothing called `nothing_like_it`"), "{stderr}");
}

#[test]
fn doc_lists_everything_and_writes_json() {
    let (code, stdout, _) = run(aigridc().arg("doc"));
    assert_eq!(code, 0);
    for package in aigrid_stdlib::PACKAGES {
        assert!(stdout.contains(package.name), "{stdout}");
        assert!(package.items.iter().all(|i| stdout.contains(i.name)), "{stdout}");
    }
    let (code, stdout, stderr) = run(aigridc().args(["doc", "std.text", "--format", "json"]));
    assert_eq!(code, 0, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json["name"], "std.text");
    let lower = &json["items"][1];
    assert_eq!(lower["name"], "std.text.lower");
    assert_eq!(lower["example"]["returns"], serde_json::json!(["grid ai", "été"]));
}

// ---------------------------------------------------------------------------------------------
// completions

#[test]
fn completions() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, stdout, stderr) = run(aigridc().args(["completions", shell]));
        assert_eq!(code, 0, "{shell}: {stderr}");
        assert_eq!(stderr, "", "{shell}");
        assert!(stdout.contains("aigridc"), "{shell} script:\n{stdout}");
        // The verbs are offered.
        for verb in ["check", "fmt", "explain"] {
            assert!(stdout.contains(verb), "{shell} script lacks {verb}:\n{stdout}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Usage errors

#[test]
fn usage_errors() {
    assert_cmd_snapshot!("usage_check_without_path", aigridc().arg("check"));
    assert_cmd_snapshot!("usage_unknown_command", aigridc().arg("frobnicate"));
    assert_cmd_snapshot!("usage_explain_without_code", aigridc().arg("explain"));
    assert_cmd_snapshot!(
        "usage_unknown_format",
        aigridc().args(["check", "--format", "xml", "x.ag"])
    );
    assert_cmd_snapshot!("usage_no_command", aigridc());
}

// ---------------------------------------------------------------------------------------------
// Known problems

/// `aigridc explain --list | head -1` and the like: when the reader of stdout has gone, the
/// tool should stop quietly, not panic (`print!` panics on EPIPE; exit 101 with a backtrace).
#[test]
fn closed_stdout_does_not_panic() {
    for args in [
        &["explain", "--list"][..],
        &["explain", "AG0101"],
        &["completions", "bash"],
        &["explain", "--markdown"],
        &["check", "--format", "json", "examples"],
    ] {
        // A pipe whose read end is closed before the child starts: every write gets EPIPE.
        let (reader, writer) =
            std::io::pipe().unwrap_or_else(|error| panic!("cannot create a pipe: {error}"));
        drop(reader);
        let output = aigridc()
            .args(args)
            .env("RUST_BACKTRACE", "0")
            .stdout(writer)
            .output()
            .unwrap_or_else(|error| panic!("cannot run aigridc: {error}"));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains("panicked") && output.status.code() != Some(101),
            "aigridc {args:?} with a closed stdout: {:?}\n{stderr}",
            output.status
        );
    }
}
