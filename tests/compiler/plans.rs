//! Plans and passes, by snapshot. Every example builds to the plan in `tests/plans/NAME.json`
//! (and `NAME.passes` shows its graph after each optimisation pass); building twice gives the
//! same bytes; the JSON and YAML forms read back to the same plan. Each program in
//! `tests/passes/` exercises one pass: `NAME.out` shows it lowered and after every pass.
//! `UPDATE_EXPECT=1` rewrites the snapshots.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use aigrid_compiler::{BuildOptions, MemoryWorld, Plan, PlanError};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn aigridc(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_aigridc"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap_or_else(|error| panic!("cannot run aigridc: {error}"));
    assert!(
        output.status.success(),
        "aigridc {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ag"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_builds_to_its_plan() {
    let examples = files("examples");
    assert!(examples.len() >= 6, "expected the examples, found {}", examples.len());
    for path in examples {
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        let file = format!("examples/{name}.ag");
        let json = aigridc(&["build", &file]);
        expect_test::expect_file![root().join(format!("tests/plans/{name}.json"))].assert_eq(&json);
        assert_eq!(aigridc(&["build", &file]), json, "{name}: a second build differs");
        let plan = Plan::from_json(&json).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(plan.to_json(), json, "{name}: the plan does not read back");
        let yaml = aigridc(&["build", &file, "--format", "yaml"]);
        assert_eq!(Plan::from_yaml(&yaml).ok(), Some(plan), "{name}: the YAML plan differs");
        let passes = aigridc(&["build", &file, "--emit", "passes"]);
        expect_test::expect_file![root().join(format!("tests/plans/{name}.passes"))]
            .assert_eq(&passes);
    }
}

#[test]
fn each_pass_does_its_job() {
    let programs = files("tests/passes");
    assert!(programs.len() >= 5, "expected a program per pass, found {}", programs.len());
    for path in programs {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let mut world = MemoryWorld::new();
        for card in common::example_cards() {
            world.add_card(card);
        }
        let file = world.add_file(&path.display().to_string(), &text);
        let options = BuildOptions { stages: true, ..BuildOptions::default() };
        let built = aigrid_compiler::build(&mut world, file, &options);
        assert!(built.plan.is_some(), "{}: {:?}", path.display(), built.diagnostics);
        let stages: Vec<String> = built
            .stages
            .iter()
            .filter(|(name, _)| !["ast", "hir", "optimized"].contains(&name.as_str()))
            .map(|(name, text)| format!("// {name}\n{text}"))
            .collect();
        expect_test::expect_file![path.with_extension("out")].assert_eq(&stages.join("\n"));
    }
}

#[test]
fn plans_of_other_versions_or_edited_plans_are_refused() {
    let json = aigridc(&["build", "examples/churn_features.ag"]);
    let newer = json.replacen("\"version\": 1", "\"version\": 2", 1);
    let error = Plan::from_json(&newer).err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(
        error,
        "plan format version 2 cannot be read by this aigridc, which reads version 1; rebuild the plan with `aigridc build`"
    );
    let edited = json.replacen("examples/data/customers.csv", "elsewhere.csv", 1);
    assert!(matches!(Plan::from_json(&edited), Err(PlanError::Hash)));
    assert!(matches!(Plan::from_json("{\"format\": \"other\"}"), Err(PlanError::Format(_))));
    assert!(matches!(Plan::from_json("not json"), Err(PlanError::Malformed(_))));
    let truncated = &json[..json.len() / 2];
    assert!(matches!(Plan::from_json(truncated), Err(PlanError::Malformed(_))));
}

#[test]
fn params_fold_into_the_plan() {
    let json = aigridc(&[
        "build",
        "examples/rag_index.ag",
        "--param",
        "k=7",
        "--param",
        "out=target/x.parquet",
    ]);
    let plan = Plan::from_json(&json).unwrap_or_else(|e| panic!("{e}"));
    let k = plan.params.iter().find(|p| p.name == "k").and_then(|p| p.value.clone());
    assert_eq!(k, Some(aigrid_compiler::Value::Int(7)));
    assert!(json.contains("\"value\": 7"), "k = 7 is folded into topk_indices");
    assert!(json.contains("target/x.parquet"));
}
