//! The cache of stage outputs: a second run of an unchanged pipeline recomputes nothing,
//! changing a parameter recomputes only what depends on it, a changed input file (content, not
//! mtime) invalidates, a corrupt entry is recomputed, `--no-cache` and `aigridc cache ls|clear`.

mod support;

use support::{Scratch, run};

const PIPELINE: &str = "\
use std.io.{read_csv, write_csv, write_parquet}
use std.table.{limit}

type Doc = table { id: i64, body: utf8 }

ai vectorize(text: list<utf8>) -> tensor<f32, [N, 256]>
    where task == \"text-vectorize\" && dims == 256

pipeline main(src: path = \"docs.csv\", top: i64 = 2) {
    let docs: Doc = read_csv(src)
    write_parquet(vectorize(docs.body), \"vecs.parquet\")
    write_csv(limit(docs, top), \"top.csv\")
}
";

/// Runs the pipeline with `args`; the `what` of each node that ended a stage, with whether it
/// came from the cache, and the AI requests made.
fn run_pipeline(scratch: &Scratch, args: &[&str]) -> (Vec<(String, bool)>, u64) {
    let mut command = scratch.aigridc();
    command.args(["run", "main.ag", "-q", "--log-format", "json"]).args(args);
    let (status, _, stderr) = run(&mut command);
    assert_eq!(status, 0, "{stderr}");
    let mut stages = Vec::new();
    let mut requests = 0;
    for line in stderr.lines() {
        let event: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        match event["event"].as_str() {
            Some("node_finished")
                if event["what"].as_str().is_some_and(|w| w.contains("write")) =>
            {
                let what = event["what"].as_str().unwrap_or_default().to_string();
                stages.push((what, event["cached"] == true));
            }
            Some("run_finished") => requests = event["requests"].as_u64().unwrap_or(0),
            _ => {}
        }
    }
    // Stages finish in any order: they run at the same time.
    stages.sort();
    (stages, requests)
}

fn both(cached_vecs: bool, cached_top: bool) -> Vec<(String, bool)> {
    vec![
        ("std.io.write_csv".to_string(), cached_top),
        ("std.io.write_parquet".to_string(), cached_vecs),
    ]
}

#[test]
fn unchanged_stages_come_from_the_cache_and_changes_recompute_what_depends_on_them() {
    let scratch = Scratch::new("cache-runs");
    scratch.write("main.ag", PIPELINE);
    scratch.write("docs.csv", "id,body\n1,the grid of ais\n2,penguins on ice\n3,grid ais\n");
    let (stages, requests) = run_pipeline(&scratch, &[]);
    assert_eq!(stages, both(false, false));
    assert!(requests > 0);
    let (vecs, top) = (scratch.read("vecs.parquet"), scratch.read("top.csv"));

    // Unchanged: nothing is recomputed, no AI is called, the files are as they were.
    let (stages, requests) = run_pipeline(&scratch, &[]);
    assert_eq!((stages, requests), (both(true, true), 0));
    assert_eq!((scratch.read("vecs.parquet"), scratch.read("top.csv")), (vecs.clone(), top));

    // A parameter: only the write that reads it runs again.
    let (stages, _) = run_pipeline(&scratch, &["--param", "top=1"]);
    assert_eq!(stages, both(true, false));
    assert_eq!(String::from_utf8_lossy(&scratch.read("top.csv")), "id,body\n1,the grid of ais\n");

    // A file written by a cached stage that is gone or changed is written again.
    std::fs::remove_file(scratch.path().join("vecs.parquet")).unwrap_or_else(|e| panic!("{e}"));
    let (stages, _) = run_pipeline(&scratch, &["--param", "top=1"]);
    assert_eq!(stages, both(false, true));
    assert_eq!(scratch.read("vecs.parquet"), vecs);

    // The input's content, not its time or size: one letter changed, same length, same mtime.
    let docs = scratch.path().join("docs.csv");
    let modified =
        std::fs::metadata(&docs).and_then(|m| m.modified()).unwrap_or_else(|e| panic!("{e}"));
    scratch.write("docs.csv", "id,body\n1,the grid of AIs\n2,penguins on ice\n3,grid ais\n");
    let file = std::fs::File::options().write(true).open(&docs).unwrap_or_else(|e| panic!("{e}"));
    file.set_modified(modified).unwrap_or_else(|e| panic!("{e}"));
    let (stages, requests) = run_pipeline(&scratch, &["--param", "top=1"]);
    assert_eq!(stages, both(false, false));
    assert!(requests > 0);

    // A corrupt entry is recomputed, never returned.
    let cache = scratch.path().join("aigrid-home/cache");
    let mut corrupted = 0;
    for entry in std::fs::read_dir(&cache).unwrap_or_else(|e| panic!("{e}")).flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "arrow") {
            let mut bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0xff;
            std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
            corrupted += 1;
        }
    }
    assert!(corrupted >= 2, "{corrupted} entries");
    let (stages, _) = run_pipeline(&scratch, &["--param", "top=1"]);
    assert_eq!(stages, both(false, false));
    let (stages, _) = run_pipeline(&scratch, &["--param", "top=1"]);
    assert_eq!(stages, both(true, true));

    // --no-cache computes everything.
    let (stages, _) = run_pipeline(&scratch, &["--param", "top=1", "--no-cache"]);
    assert_eq!(stages, both(false, false));

    // ls lists the entries with the node that made each; clear removes them.
    let (status, stdout, stderr) = run(scratch.aigridc().args(["cache", "ls"]));
    assert_eq!(status, 0, "{stderr}");
    assert!(
        stdout.contains("std.io.write_csv") && stdout.contains("std.io.write_parquet"),
        "{stdout}"
    );
    let (status, stdout, _) = run(scratch.aigridc().args(["cache", "clear"]));
    assert_eq!(status, 0);
    assert!(stdout.starts_with("removed "), "{stdout}");
    let (_, stdout, _) = run(scratch.aigridc().args(["cache", "ls"]));
    assert!(stdout.starts_with("key") && stdout.contains("\n0 entries"), "{stdout}");
}
