//! aigrid's plan codec: every stage of every example, encoded with `AigridCodec` into
//! DataFusion's protobuf format, decoded and run (what a cluster worker does), gives
//! byte-identical outputs to the same run in process.

mod support;

use std::path::Path;

use aigrid_builtins::ModelStore;
use support::{Scratch, aigridc, run};

const EXAMPLES: [&str; 6] =
    ["churn_features", "ensemble_vote", "rag_index", "summarize", "ticket_triage", "uses_textkit"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_stage_of_every_example_round_trips_through_the_codec() {
    let minilm = ModelStore::from_env().minilm().is_ok();
    if !minilm {
        assert_ne!(
            std::env::var("AIGRID_REQUIRE_MODELS").as_deref(),
            Ok("1"),
            "MiniLM is not fetched"
        );
    }
    let scratch = Scratch::new("codec-examples");
    for example in EXAMPLES {
        let source = format!("examples/{example}.ag");
        if !minilm && std::fs::read_to_string(root().join(&source)).is_ok_and(|s| s.contains("384"))
        {
            println!("skipped {example}: MiniLM is not fetched (aigridc models fetch minilm)");
            continue;
        }
        let mut files = Vec::new();
        for way in ["in-process", "through-codec"] {
            let dir = scratch.path().join(example).join(way);
            let written = dir.join("written");
            let result = dir.join("result.arrow");
            let mut command = aigridc();
            command.current_dir(root()).args(["run", "--no-cache", &source, "-q", "--param"]);
            command.arg(format!("out={}", written.display())).arg("-o").arg(&result);
            if way == "through-codec" {
                command.arg("--through-codec");
            }
            let (status, _, stderr) = run(&mut command);
            assert_eq!((status, stderr.as_str()), (0, ""), "{example} {way}");
            files.push((bytes(&written), bytes(&result)));
        }
        assert!(!files[0].0.is_empty() && !files[0].1.is_empty(), "{example}");
        assert!(files[0] == files[1], "{example}: the decoded stages gave other bytes");
    }
}
