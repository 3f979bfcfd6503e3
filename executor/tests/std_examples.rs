//! The example of every standard-library operation runs: its pipeline, compiled and bound, run
//! with the example's parameter values, returns what the example says (floats to 1e-5).
//!
//! Paths in the values are relative to the project's root; a `dst` parameter's file is written
//! into a scratch directory. An example that needs the MiniLM model is skipped, saying so,
//! when the model is not fetched, unless `AIGRID_REQUIRE_MODELS` is set.

use std::path::{Path, PathBuf};

use aigrid_builtins::{Library, ModelStore};
use aigrid_compiler::{BuildOptions, MemoryWorld, build};
use aigrid_executor::RunOptions;
use aigrid_stdlib::{Item, PACKAGES, PRELUDE};
use serde_json::Value as Json;

/// Whether `found` is `expected`, floats within 1e-5 (relative, or absolute below 1). An
/// integer is never a float: `3` does not agree with `3.0`, so an example states its type.
fn agrees(found: &Json, expected: &Json) -> bool {
    match (found, expected) {
        (Json::Number(a), Json::Number(b)) if a.is_f64() && b.is_f64() => {
            match (a.as_f64(), b.as_f64()) {
                (Some(a), Some(b)) => (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                _ => false,
            }
        }
        (Json::Array(a), Json::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| agrees(a, b))
        }
        (Json::Object(a), Json::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| agrees(v, w)))
        }
        _ => found == expected,
    }
}

/// The project's root, where the examples' relative paths start.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs the example of `item` (of `package`, or the prelude): its result as JSON, or why not.
fn run_example(package: Option<&str>, item: &Item, scratch: &Path) -> Result<Json, String> {
    let example = &item.example;
    let text = match package {
        Some(package) => format!("use {package}.{{{}}}\n\n{}\n", item.name, example.pipeline),
        None => format!("{}\n", example.pipeline),
    };
    let params: Vec<(String, String)> = example
        .params
        .iter()
        .map(|&(name, value)| {
            let value = match name {
                "dst" => scratch.join(value).display().to_string(),
                _ if root().join(value).is_file() => root().join(value).display().to_string(),
                _ => value.to_owned(),
            };
            (name.to_owned(), value)
        })
        .collect();
    let mut world = MemoryWorld::new();
    let file = world.add_file("example.ag", &text);
    let options = BuildOptions { params: params.clone(), ..Default::default() };
    let built = build(&mut world, file, &options);
    let plan = built.plan.ok_or_else(|| format!("does not build: {:#?}", built.diagnostics))?;
    let library = Library::new(&ModelStore::from_env());
    let options = RunOptions { params: params.into_iter().collect(), ..Default::default() };
    let run = aigrid_executor::run(&plan, &library, &options).map_err(|e| e.to_string())?;
    let output = run.output.ok_or("returns nothing")?;
    output.to_json().map_err(|e| e.to_string())
}

#[test]
fn every_std_example_returns_what_it_says() {
    let scratch = std::env::temp_dir().join(format!("aigrid-std-examples-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap_or_else(|e| panic!("{e}"));
    let require_models = std::env::var_os("AIGRID_REQUIRE_MODELS").is_some();
    let items = PACKAGES
        .iter()
        .flat_map(|p| p.items.iter().map(move |i| (Some(p.name), i)))
        .chain(PRELUDE.iter().map(|i| (None, i)));
    let mut failures = Vec::new();
    let mut ran = 0;
    for (package, item) in items {
        let name = format!("{}.{}", package.unwrap_or("prelude"), item.name);
        let expected = serde_json::from_str::<Json>(item.example.returns);
        match (run_example(package, item, &scratch), expected) {
            (Ok(found), Ok(expected)) if agrees(&found, &expected) => ran += 1,
            (Ok(found), Ok(expected)) => {
                failures.push(format!("{name}: returns {found}, not {expected}"));
            }
            (Ok(found), Err(e)) => {
                failures.push(format!("{name}: `returns` is not JSON ({e}); it returns {found}"));
            }
            (Err(why), _) if why.contains("models fetch minilm") && !require_models => {
                println!("skipped {name}: the MiniLM model is not fetched ({why})");
            }
            (Err(why), _) => failures.push(format!("{name}: {why}")),
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(failures.is_empty(), "{} examples fail:\n{}", failures.len(), failures.join("\n"));
    assert!(ran >= 40, "expected every operation, ran {ran}");
}
