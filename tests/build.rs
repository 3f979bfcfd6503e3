//! End-to-end tests of `aigridc build` and `aigridc graph`: plans written to files, stages,
//! build errors, graphs, and binding `ai` calls to the cards of a registry. Same conventions as
//! `tests/cli.rs` (snapshots under `tests/snapshots/`, scratch directories).

use std::path::Path;

use insta_cmd::assert_cmd_snapshot;

mod support;

use support::{Scratch, TWO_ERRORS, aigridc, run};

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

    // `-o /dev/stdout` writes to standard output (here a pipe) and leaves /dev alone.
    let (code, stdout, stderr) = run(scratch.aigridc().args([
        "build",
        "p.ag",
        "--param",
        "factor=0.5",
        "-o",
        "/dev/stdout",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert!(aigrid_compiler::Plan::from_json(&stdout).is_ok(), "{stdout}");
    // A link to a file that does not exist yet: the file is made, the link stays.
    let link = scratch.path().join("latest.json");
    std::os::unix::fs::symlink("plans/v2.json", &link)
        .unwrap_or_else(|e| panic!("symlink {}: {e}", link.display()));
    std::fs::create_dir_all(scratch.path().join("plans")).unwrap_or_else(|e| panic!("{e}"));
    let (code, _, stderr) = run(scratch.aigridc().args([
        "build",
        "p.ag",
        "--param",
        "factor=0.5",
        "-o",
        "latest.json",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert!(std::fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink()));
    let plan = String::from_utf8_lossy(&scratch.read("plans/v2.json")).into_owned();
    assert!(aigrid_compiler::Plan::from_json(&plan).is_ok(), "{plan}");
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
    two_embedders(&scratch);
    let (code, stdout, stderr) = run(scratch.aigridc().args(["build", "p.ag"]));
    assert_eq!(code, 0, "{stderr}");
    let plan = aigrid_compiler::Plan::from_json(&stdout).unwrap_or_else(|e| panic!("{e}"));
    let binding = plan.bindings.values().next().unwrap_or_else(|| panic!("no binding: {stdout}"));
    assert_eq!(binding.primary.id, "fast");
    assert_eq!(binding.fallbacks.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["slow"]);
    scratch.write("cards/broken.yaml", "id: Broken\n");
    assert_cmd_snapshot!("bind_invalid_card", scratch.aigridc().args(["build", "p.ag"]));
}

#[test]
fn the_manifest_run_section_gives_ai_nodes_their_default_retry_and_timeout() {
    let scratch = Scratch::new("run-defaults");
    two_embedders(&scratch);
    let manifest = "[discovery]\nregistry = \"cards\"\n\n[run]\nretry = 2\ntimeout = \"1500ms\"\n";
    scratch.write("aigrid.toml", manifest);
    let attrs = |scratch: &Scratch| {
        let (code, stdout, stderr) = run(scratch.aigridc().args(["build", "p.ag"]));
        assert_eq!(code, 0, "{stderr}");
        let plan = aigrid_compiler::Plan::from_json(&stdout).unwrap_or_else(|e| panic!("{e}"));
        let node = plan.nodes.iter().find(|n| matches!(n.op, aigrid_compiler::PlanOp::Ai { .. }));
        node.map(|n| (n.attrs.retry, n.attrs.timeout_ms)).unwrap_or_else(|| panic!("{stdout}"))
    };
    assert_eq!(attrs(&scratch), (Some(2), Some(1500)));
    // A node's own attributes win.
    scratch.write("p.ag", EMBEDDER.replace("ai embed(", "@retry(0) @timeout(3s)\nai embed("));
    assert_eq!(attrs(&scratch), (Some(0), Some(3000)));
    // Without the section, nothing is set.
    scratch.write("aigrid.toml", "[discovery]\nregistry = \"cards\"\n");
    scratch.write("p.ag", EMBEDDER);
    assert_eq!(attrs(&scratch), (None, None));

    scratch.write("aigrid.toml", "[run]\ntimeout = \"soon\"\n");
    let (code, _, stderr) = run(scratch.aigridc().args(["build", "p.ag"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("[run] timeout `soon` is not a duration"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// the lockfile

/// A registry with the cards `fast` (2.5 ms) and `slow` (40 ms) for EMBEDDER.
fn two_embedders(scratch: &Scratch) {
    scratch.write("aigrid.toml", "[discovery]\nregistry = \"cards\"\n");
    scratch.write("p.ag", EMBEDDER);
    for (id, latency) in [("fast", "2.5"), ("slow", "40")] {
        let card = CARD_768
            .replace("id: wide", &format!("id: {id}"))
            .replace("768", "384")
            .replace("{ dims: 384 }", &format!("{{ dims: 384, latency_ms: {latency} }}"));
        scratch.write(&format!("cards/{id}.yaml"), card);
    }
}

fn primary(stdout: &str) -> String {
    let plan = aigrid_compiler::Plan::from_json(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    plan.bindings.values().next().map(|b| b.primary.id.clone()).unwrap_or_default()
}

#[test]
fn bind_pins_the_choice_and_builds_keep_it_until_an_update() {
    let scratch = Scratch::new("lock");
    two_embedders(&scratch);
    let (code, stdout, stderr) = run(scratch.aigridc().args(["bind", "p.ag"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "embed: fast 1.0.0, then slow 1.0.0\n");
    assert_eq!(stderr, "wrote aigrid.lock\n");
    let lock = String::from_utf8_lossy(&scratch.read("aigrid.lock")).into_owned();
    assert!(lock.contains("primary = { id = \"fast\", version = \"1.0.0\""), "{lock}");
    let (_, _, stderr) = run(scratch.aigridc().args(["bind", "p.ag"]));
    assert_eq!(stderr, "aigrid.lock is up to date\n");

    // A faster card appears: the build keeps the pinned one.
    let fastest = CARD_768
        .replace("id: wide", "id: fastest")
        .replace("768", "384")
        .replace("{ dims: 384 }", "{ dims: 384, latency_ms: 1 }");
    scratch.write("cards/fastest.yaml", fastest);
    let (code, stdout, stderr) = run(scratch.aigridc().args(["build", "p.ag"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(primary(&stdout), "fast");

    // The pinned card goes away: a clear error that names it and says how to refresh.
    std::fs::remove_file(scratch.path().join("cards/fast.yaml")).unwrap_or_else(|e| panic!("{e}"));
    assert_cmd_snapshot!("lock_pinned_gone", scratch.aigridc().args(["build", "p.ag"]));

    // `bind --update` chooses again; the build follows the new pin.
    let (code, stdout, stderr) = run(scratch.aigridc().args(["bind", "--update", "p.ag"]));
    assert_eq!((code, stdout.as_str()), (0, "embed: fastest 1.0.0, then slow 1.0.0\n"), "{stderr}");
    let (code, stdout, _) = run(scratch.aigridc().args(["build", "p.ag"]));
    assert_eq!((code, primary(&stdout)), (0, "fastest".to_owned()));

    // The pin fixes the card and its version; a new endpoint is followed.
    let moved =
        String::from_utf8_lossy(&scratch.read("cards/fastest.yaml")).replace("50051", "50052");
    scratch.write("cards/fastest.yaml", moved);
    let (code, stdout, _) = run(scratch.aigridc().args(["build", "p.ag"]));
    assert_eq!(code, 0);
    assert!(stdout.contains("grpc://127.0.0.1:50052"), "{stdout}");
}

#[test]
fn an_edited_requirement_is_bound_anew_and_a_bad_lock_is_an_error() {
    let scratch = Scratch::new("lock-edit");
    two_embedders(&scratch);
    let (code, _, stderr) = run(scratch.aigridc().args(["bind", "p.ag"]));
    assert_eq!(code, 0, "{stderr}");
    // Preferring the slowest changes the requirement: its pin no longer applies.
    scratch.write("p.ag", EMBEDDER.replace("latency_ms asc", "latency_ms desc"));
    let (code, stdout, stderr) = run(scratch.aigridc().args(["build", "p.ag"]));
    assert_eq!((code, primary(&stdout)), (0, "slow".to_owned()), "{stderr}");
    // A version that changed under the pin is reported like a card that went away.
    let bumped =
        String::from_utf8_lossy(&scratch.read("cards/fast.yaml")).replace("1.0.0", "1.1.0");
    scratch.write("cards/fast.yaml", bumped);
    scratch.write("p.ag", EMBEDDER);
    let (code, _, stderr) = run(scratch.aigridc().args(["build", "p.ag"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("`fast` is pinned at 1.0.0, discovery offers 1.1.0"), "{stderr}");
    scratch.write("aigrid.lock", "version = 7\n");
    let (code, stdout, stderr) = run(scratch.aigridc().args(["build", "p.ag"]));
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert!(stderr.contains("invalid `aigrid.lock`: version 7 is not known"), "{stderr}");
}
