//! End-to-end tests of the `aigridc` command line: each test runs the real binary and checks its
//! exit code (0 ok, 1 problems in the inputs, 2 usage or I/O error), stdout and stderr, mostly as
//! insta snapshots under `tests/snapshots/`. Review changes with `cargo insta review`, or
//! regenerate with `INSTA_UPDATE=always cargo test --test cli` and read the diff.
//!
//! Every command runs with `NO_COLOR=1` and `COLUMNS=100` (clap wraps help to the terminal width,
//! which a developer's shell may export). Commands on scratch files run inside a per-test
//! directory under the system temp dir and name files by relative paths, so no temp path ever
//! reaches a snapshot. The scratch directory is removed when the test ends.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use insta_cmd::{assert_cmd_snapshot, get_cargo_bin};

/// A clean file, already in the canonical layout.
const CLEAN: &str = "\
use std.io.{read_csv}

/// Loads the raw documents.
pipeline ingest(src: path) -> table { id: i64, body: utf8 } {
    let docs = read_csv(src)
    return docs
}
";

/// Two items, each with one syntax error: a `let` without `=`, and a call missing its `)`.
const TWO_ERRORS: &str = "\
use std.io.{read_csv}

pipeline first(src: path) {
    let docs read_csv(src)
    return docs
}

pipeline second(src: path) {
    let rows = read_csv(src
    return rows
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

/// `aigridc` with a fixed environment.
fn aigridc() -> Command {
    let mut command = Command::new(get_cargo_bin("aigridc"));
    command.env("NO_COLOR", "1").env("COLUMNS", "100");
    command
}

/// Runs a command without a snapshot: exit code, stdout, stderr.
fn run(command: &mut Command) -> (i32, String, String) {
    let output: Output =
        command.output().unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

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

/// A scratch directory for one test, removed on drop.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// `name` must be unique among the tests (they run in parallel).
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("aigridc-cli-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)
            .unwrap_or_else(|error| panic!("cannot create {}: {error}", dir.display()));
        Scratch { dir }
    }

    /// Writes `contents` to `relative` (creating parent directories).
    fn write(&self, relative: &str, contents: impl AsRef<[u8]>) {
        let path = self.dir.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .unwrap_or_else(|error| panic!("cannot create {}: {error}", parent.display()));
        }
        fs::write(&path, contents)
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
    }

    fn read(&self, relative: &str) -> Vec<u8> {
        let path = self.dir.join(relative);
        fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
    }

    /// `aigridc` running inside the scratch directory.
    fn aigridc(&self) -> Command {
        let mut command = aigridc();
        command.current_dir(&self.dir);
        command
    }

    /// Every file name in the scratch directory (top level), sorted.
    fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
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

// ---------------------------------------------------------------------------------------------
// build and graph

/// A pipeline with a parameter, an inlined helper and a fusable chain.
const PIPELINE: &str = "\
use std.tensor.{exp, relu, scale}

pipeline helper(x: tensor<f32, [N, 4]>) -> tensor<f32, [N, 4]> {
    return x |> exp |> relu
}

pipeline main(x: tensor<f32, [N, 4]>, factor: f64 = 2.0) -> tensor<f32, [N, 4]> {
    return helper(x) |> scale(factor)
}
";

#[test]
fn build_writes_a_plan_file() {
    let scratch = Scratch::new("build-output");
    scratch.write("p.ag", PIPELINE);
    let (code, stdout, stderr) =
        run(scratch.aigridc().args(["build", "p.ag", "--param", "factor=0.5", "-o", "plan.json"]));
    assert_eq!((code, stdout.as_str(), stderr.as_str()), (0, "", ""));
    let plan = String::from_utf8_lossy(&scratch.read("plan.json")).into_owned();
    let plan = aigrid_compiler::Plan::from_json(&plan).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plan.source.pipeline, "main");
    assert_eq!(plan.params[1].value, Some(aigrid_compiler::Value::Float(0.5)));
    assert_eq!(scratch.files(), ["p.ag", "plan.json"]);
}

#[test]
fn build_emits_each_stage() {
    let scratch = Scratch::new("build-emit");
    scratch.write("p.ag", PIPELINE);
    assert_cmd_snapshot!(
        "build_emit_hir",
        scratch.aigridc().args(["build", "p.ag", "--emit", "hir"])
    );
    assert_cmd_snapshot!(
        "build_emit_dag",
        scratch.aigridc().args(["build", "p.ag", "--emit", "dag"])
    );
    assert_cmd_snapshot!(
        "build_emit_optimized",
        scratch.aigridc().args(["build", "p.ag", "--emit", "optimized"])
    );
}

#[test]
fn build_errors() {
    let scratch = Scratch::new("build-errors");
    scratch.write("p.ag", PIPELINE);
    assert_cmd_snapshot!(
        "build_unknown_param",
        scratch.aigridc().args(["build", "p.ag", "--param", "facter=1"])
    );
    assert_cmd_snapshot!(
        "build_bad_param_value",
        scratch.aigridc().args(["build", "p.ag", "--param", "factor=big"])
    );
    assert_cmd_snapshot!(
        "build_param_without_value",
        scratch.aigridc().args(["build", "p.ag", "--param", "factor"])
    );
    assert_cmd_snapshot!(
        "build_unknown_pipeline",
        scratch.aigridc().args(["build", "p.ag", "--pipeline", "mian"])
    );
    scratch.write("broken.ag", TWO_ERRORS);
    let (code, stdout, _) = run(scratch.aigridc().args(["build", "broken.ag"]));
    assert_eq!((code, stdout.as_str()), (1, ""), "no plan is written for a broken file");
}

#[test]
fn graph_formats() {
    let scratch = Scratch::new("graph");
    scratch.write("p.ag", PIPELINE);
    assert_cmd_snapshot!("graph_dot", scratch.aigridc().args(["graph", "p.ag"]));
    assert_cmd_snapshot!(
        "graph_mermaid",
        scratch.aigridc().args(["graph", "p.ag", "--format", "mermaid"])
    );
    assert_cmd_snapshot!(
        "graph_json",
        scratch.aigridc().args(["graph", "p.ag", "--format", "json"])
    );
    // Pipelines inlined through other pipelines are clusters inside clusters.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert_cmd_snapshot!(
        "graph_nested_clusters",
        aigridc().current_dir(root).args([
            "graph",
            "examples/uses_textkit.ag",
            "--format",
            "mermaid"
        ])
    );
}

// ---------------------------------------------------------------------------------------------
// Binding through discovery

const EMBEDDER: &str = "\
ai embed(text: list<utf8>) -> tensor<f32, [N, 384]>
    where task == \"text-embedding\" && dims == 384
    prefer latency_ms asc
    fallback 1

pipeline main(texts: list<utf8>) -> tensor<f32, [N, 384]> {
    return embed(texts)
}
";

const CARD_768: &str = "\
id: wide
name: wide embeddings
version: 1.0.0
owner: test
task: text-embedding
signature: \"(text: list<utf8>) -> tensor<f32, [N, 768]>\"
attributes: { dims: 768 }
endpoint: grpc://127.0.0.1:50051
";

#[test]
fn binding_picks_ranked_cards_and_explains_a_failed_match() {
    let scratch = Scratch::new("bind");
    scratch.write("aigrid.toml", "[discovery]\nregistry = \"cards\"\n");
    scratch.write("p.ag", EMBEDDER);
    scratch.write("cards/wide.yaml", CARD_768);
    assert_cmd_snapshot!("bind_no_match", scratch.aigridc().args(["build", "p.ag"]));
    for (id, latency) in [("fast", "2.5"), ("slow", "40")] {
        let card = CARD_768
            .replace("id: wide", &format!("id: {id}"))
            .replace("768", "384")
            .replace("{ dims: 384 }", &format!("{{ dims: 384, latency_ms: {latency} }}"));
        scratch.write(&format!("cards/{id}.yaml"), card);
    }
    let (code, stdout, stderr) = run(scratch.aigridc().args(["build", "p.ag"]));
    assert_eq!(code, 0, "{stderr}");
    let plan = aigrid_compiler::Plan::from_json(&stdout).unwrap_or_else(|e| panic!("{e}"));
    let binding = plan.bindings.values().next().unwrap_or_else(|| panic!("no binding: {stdout}"));
    assert_eq!(binding.primary.id, "fast");
    assert_eq!(binding.fallbacks.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["slow"]);
    scratch.write("cards/broken.yaml", "id: Broken\n");
    assert_cmd_snapshot!("bind_invalid_card", scratch.aigridc().args(["build", "p.ag"]));
}
