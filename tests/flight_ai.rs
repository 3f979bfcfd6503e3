//! A real grid AI written in Python with `pyarrow.flight` (tests/flight/upper_ai.py): it is
//! registered with a real discovery server, a pipeline is bound to it, and the bound endpoint
//! answers an Arrow Flight exchange. Skipped, saying so, only without Python.

use std::path::Path;
use std::process::{Command, Stdio};

mod support;

use support::python_ai::{PythonAi, card, python, script};
use support::{DiscoveryServer, Scratch, aigridc, run};

const PIPELINE: &str = "\
ai upper(text: list<utf8>) -> list<utf8>
    where task == \"text-upper\" && language == \"en\"

pipeline main(texts: list<utf8>) -> list<utf8> {
    return upper(texts)
}
";

#[test]
fn a_pyarrow_flight_ai_registered_in_discovery_is_bound_and_answers() {
    let Some(python) = python() else { return };
    let scratch = Scratch::new("flight-ai");
    let calls = scratch.path().join("calls");
    let ai = PythonAi::start(&python, &calls);
    let endpoint = format!("grpc://127.0.0.1:{}", ai.port);

    let server =
        DiscoveryServer::start(&["--data", &scratch.path().join("data").to_string_lossy()]);
    scratch.write(
        "upper.yaml",
        format!(
            "id: upper.python\nname: Upper-casing (pyarrow.flight)\nversion: 0.1.0\nowner: tests\n\
             task: text-upper\nsignature: \"(text: list<utf8>) -> list<utf8>\"\n\
             attributes: {{ language: en }}\nendpoint: \"{endpoint}\"\n"
        ),
    );
    let card = scratch.path().join("upper.yaml");
    let (code, _, stderr) = run(aigridc().args(["discovery", "register"]).arg(&card).args([
        "--lease",
        "30s",
        "--discovery",
        &server.url,
    ]));
    assert_eq!(code, 0, "{stderr}");

    scratch.write("p.ag", PIPELINE);
    let (code, stdout, stderr) =
        run(scratch.aigridc().args(["build", "p.ag", "--discovery", &server.url]));
    assert_eq!(code, 0, "{stderr}");
    let plan = aigrid_compiler::Plan::from_json(&stdout).unwrap_or_else(|e| panic!("{e}"));
    let binding = plan.bindings.values().next().unwrap_or_else(|| panic!("unbound: {stdout}"));
    assert_eq!(binding.primary.id, "upper.python");
    assert_eq!(binding.primary.endpoint, endpoint);

    // The endpoint the plan is bound to is a working Flight service.
    let (code, stdout, stderr) =
        run(Command::new(&python).arg(script()).args(["--call", &binding.primary.endpoint]));
    assert_eq!((code, stdout.as_str()), (0, "GRID,AI\n"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&calls).unwrap_or_default(), "1");
}

const RUN_PIPELINE: &str = "\
ai upper(text: list<utf8>) -> list<utf8>
    where task == \"text-upper\"
    prefer latency_ms asc
    fallback 1

pipeline main() -> list<utf8> {
    return upper([\"grid\", \"ai\", \"network\"])
}
";

/// Registers `cards` with `server` and writes `RUN_PIPELINE` as `p.ag` in `scratch`.
fn register(scratch: &Scratch, server: &DiscoveryServer, cards: &[String]) {
    for (i, card) in cards.iter().enumerate() {
        scratch.write(&format!("cards/{i}.yaml"), card);
    }
    let (code, _, stderr) = run(aigridc()
        .args(["discovery", "register"])
        .arg(scratch.path().join("cards"))
        .args(["--discovery", &server.url]));
    assert_eq!(code, 0, "{stderr}");
    scratch.write("p.ag", RUN_PIPELINE);
}

#[test]
fn aigridc_run_calls_a_flight_ai_and_fails_over_to_the_fallback() {
    let Some(python) = python() else { return };
    let scratch = Scratch::new("flight-run");
    let (first_calls, second_calls) = (scratch.path().join("first"), scratch.path().join("second"));
    let mut first = PythonAi::start(&python, &first_calls);
    let second = PythonAi::start(&python, &second_calls);
    let server =
        DiscoveryServer::start(&["--data", &scratch.path().join("data").to_string_lossy()]);
    register(
        &scratch,
        &server,
        &[card("upper.first", 1, first.port), card("upper.second", 2, second.port)],
    );

    // The primary answers.
    let (code, stdout, stderr) = run(scratch.aigridc().args([
        "run",
        "--no-cache",
        "p.ag",
        "-q",
        "--discovery",
        &server.url,
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("| GRID    |") && stdout.contains("| NETWORK |"), "{stdout}");
    assert!(stdout.ends_with("3 values\n"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&first_calls).unwrap_or_default(), "1");

    // The primary is gone: the fallback gives the same result.
    let _ = first.child.kill();
    let _ = first.child.wait();
    let (code, again, stderr) = run(scratch.aigridc().args([
        "run",
        "--no-cache",
        "p.ag",
        "-q",
        "--discovery",
        &server.url,
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(again, stdout);
    assert_eq!(std::fs::read_to_string(&second_calls).unwrap_or_default(), "1");

    // Both gone: the error names each binding and why it failed.
    drop(second);
    let (code, _, stderr) =
        run(scratch.aigridc().args(["run", "--no-cache", "p.ag", "--discovery", &server.url]));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("every grid AI bound to `upper` failed: `upper.first`: cannot reach"),
        "{stderr}"
    );
    assert!(stderr.contains("`upper.second`: cannot reach"), "{stderr}");

    // Both gone, with `@on_error(null)`: the rows are null, `_error` says why, and the summary
    // counts them.
    let tolerant = RUN_PIPELINE
        .replace("ai upper(", "@on_error(null)\nai upper(")
        .replace("-> list<utf8>\n", "-> list<utf8>?\n")
        .replace("main() -> list<utf8> {", "main() -> list<utf8>? {");
    scratch.write("p.ag", &tolerant);
    let (code, _, stderr) = run(scratch.aigridc().args([
        "run",
        "--no-cache",
        "p.ag",
        "-o",
        "nulls.csv",
        "--discovery",
        &server.url,
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("3 rows null after every binding failed"), "{stderr}");
    let written = std::fs::read_to_string(scratch.path().join("nulls.csv")).unwrap_or_default();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.first(), Some(&"list,_error"), "{written}");
    assert_eq!(lines.len(), 4, "{written}");
    for line in &lines[1..] {
        assert!(
            line.starts_with(",every grid AI bound to `upper` failed: `upper.first`: cannot reach"),
            "{line}"
        );
        assert!(line.contains("`upper.second`: cannot reach"), "{line}");
    }
}

#[test]
fn a_flight_ai_killed_mid_run_is_replaced_by_the_fallback_with_the_same_result() {
    let Some(python) = python() else { return };
    let scratch = Scratch::new("flight-kill");
    let (first_calls, second_calls) = (scratch.path().join("first"), scratch.path().join("second"));
    // The primary answers a request of 2 rows in 0.3 s; 30 rows take 15 requests.
    let mut first = PythonAi::start_with(&python, &first_calls, &["--delay", "0.3"]);
    let second = PythonAi::start(&python, &second_calls);
    let server =
        DiscoveryServer::start(&["--data", &scratch.path().join("data").to_string_lossy()]);
    let batched = |card: String| card.replace("attributes: {", "attributes: { batch_size: 2,");
    register(
        &scratch,
        &server,
        &[
            batched(card("upper.first", 1, first.port)),
            batched(card("upper.second", 2, second.port)),
        ],
    );
    let words: Vec<String> = (0..30).map(|i| format!("\"w{i}\"")).collect();
    scratch.write(
        "p.ag",
        RUN_PIPELINE.replace("[\"grid\", \"ai\", \"network\"]", &format!("[{}]", words.join(", "))),
    );

    let child = scratch
        .aigridc()
        .args(["run", "--no-cache", "p.ag", "-q", "-o", "killed.csv", "--discovery", &server.url])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // kill -9 the primary once it has answered 3 requests.
    let answered = |path: &Path| -> u32 {
        std::fs::read_to_string(path).ok().and_then(|n| n.trim().parse().ok()).unwrap_or(0)
    };
    let waited = std::time::Instant::now();
    while answered(&first_calls) < 3 {
        assert!(waited.elapsed().as_secs() < 60, "the primary never answered 3 requests");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = first.child.kill();
    let _ = first.child.wait();
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let (by_first, by_second) = (answered(&first_calls), answered(&second_calls));
    assert!((3..15).contains(&by_first), "the primary answered {by_first} of 15 requests");
    assert!(by_first + by_second >= 15, "{by_first} + {by_second} requests for 15 pieces");

    // The same pipeline on the fallback alone gives the same file.
    let (code, _, stderr) = run(scratch.aigridc().args([
        "run",
        "--no-cache",
        "p.ag",
        "-q",
        "-o",
        "fallback.csv",
        "--discovery",
        &server.url,
    ]));
    assert_eq!(code, 0, "{stderr}");
    let killed = std::fs::read_to_string(scratch.path().join("killed.csv")).unwrap_or_default();
    let fallback = std::fs::read_to_string(scratch.path().join("fallback.csv")).unwrap_or_default();
    assert_eq!(killed, fallback);
    let rows: Vec<&str> = killed.lines().skip(1).collect();
    let expected: Vec<String> = (0..30).map(|i| format!("W{i}")).collect();
    assert_eq!(rows, expected, "{killed}");
    drop(second);
}

#[test]
fn ctrl_c_cancels_a_run_with_exit_130_and_no_output() {
    let Some(python) = python() else { return };
    let scratch = Scratch::new("flight-cancel");
    let slow = PythonAi::start_with(&python, &scratch.path().join("calls"), &["--delay", "30"]);
    let server =
        DiscoveryServer::start(&["--data", &scratch.path().join("data").to_string_lossy()]);
    register(&scratch, &server, &[card("upper.slow", 1, slow.port)]);
    let mut child = scratch
        .aigridc()
        .args(["run", "--no-cache", "p.ag", "-q", "-o", "out.csv", "--discovery", &server.url])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // Give the run time to compile and send its request (answered in 30 s), then interrupt.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    run(Command::new("kill").args(["-INT", &child.id().to_string()]));
    let interrupted = std::time::Instant::now();
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status.code(), Some(130));
    assert!(interrupted.elapsed().as_secs() < 5, "took {:?} to stop", interrupted.elapsed());
    assert!(!scratch.path().join("out.csv").exists());
}

#[test]
fn independent_stages_call_their_ais_at_the_same_time() {
    let Some(python) = python() else { return };
    let scratch = Scratch::new("flight-concurrent");
    let (calls, in_flight) = (scratch.path().join("calls"), scratch.path().join("in-flight"));
    // Each request of 2 rows takes 0.3 s; each write below makes 3 requests, one at a time.
    let ai = PythonAi::start_with(
        &python,
        &calls,
        &["--delay", "0.3", "--in-flight", &in_flight.to_string_lossy()],
    );
    let server =
        DiscoveryServer::start(&["--data", &scratch.path().join("data").to_string_lossy()]);
    let batched =
        card("upper.only", 1, ai.port).replace("attributes: {", "attributes: { batch_size: 2,");
    register(&scratch, &server, &[batched]);
    scratch.write("first.csv", "text\na\nb\nc\nd\ne\nf\n");
    scratch.write("second.csv", "text\ng\nh\ni\nj\nk\nl\n");
    scratch.write(
        "p.ag",
        "use std.io.{read_csv, write_csv}\nuse std.table.{select}\n\n\
         ai upper(text: list<utf8>) -> list<utf8>\n    where task == \"text-upper\"\n\n\
         pipeline main() {\n    \
         let first: table { text: utf8 } = read_csv(\"first.csv\")\n    \
         write_csv(select(first, up = upper(first.text)), \"first-up.csv\")\n    \
         let second: table { text: utf8 } = read_csv(\"second.csv\")\n    \
         write_csv(select(second, up = upper(second.text)), \"second-up.csv\")\n}\n",
    );
    let (code, _, stderr) =
        run(scratch.aigridc().args(["run", "--no-cache", "p.ag", "--discovery", &server.url]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(std::fs::read_to_string(&calls).unwrap_or_default(), "6");
    // The two writes are independent stages: their requests overlapped.
    assert_eq!(std::fs::read_to_string(&in_flight).unwrap_or_default(), "2");
    let written = |name: &str| std::fs::read_to_string(scratch.path().join(name));
    assert_eq!(written("first-up.csv").ok().as_deref(), Some("up\nA\nB\nC\nD\nE\nF\n"));
    assert_eq!(written("second-up.csv").ok().as_deref(), Some("up\nG\nH\nI\nJ\nK\nL\n"));
}

#[test]
fn a_peer_with_a_wrong_schema_a_short_answer_or_an_oversize_message_fails_over_cleanly() {
    let Some(python) = python() else { return };
    for mode in ["wrong-schema", "short", "huge"] {
        let scratch = Scratch::new(&format!("flight-bad-{mode}"));
        let (bad_calls, good_calls) = (scratch.path().join("bad"), scratch.path().join("good"));
        let bad = PythonAi::start_with(&python, &bad_calls, &["--mode", mode]);
        let good = PythonAi::start(&python, &good_calls);
        let server =
            DiscoveryServer::start(&["--data", &scratch.path().join("data").to_string_lossy()]);
        register(
            &scratch,
            &server,
            &[card("upper.bad", 1, bad.port), card("upper.good", 2, good.port)],
        );
        // The bad peer answers (so it was called), its answer is refused, the fallback answers.
        let (code, stdout, stderr) = run(scratch.aigridc().args([
            "run",
            "--no-cache",
            "p.ag",
            "-q",
            "--discovery",
            &server.url,
        ]));
        assert_eq!(code, 0, "{mode}: {stderr}");
        assert!(
            stdout.contains("| GRID    |") && stdout.ends_with("3 values\n"),
            "{mode}: {stdout}"
        );
        assert_eq!(std::fs::read_to_string(&good_calls).unwrap_or_default(), "1", "{mode}");

        // Alone, it fails the run with an error that names it, without a crash.
        drop(good);
        let (code, _, stderr) =
            run(scratch.aigridc().args(["run", "--no-cache", "p.ag", "--discovery", &server.url]));
        assert_eq!(code, 1, "{mode}: {stderr}");
        let expected = match mode {
            "wrong-schema" => "`upper.bad`: its answer: column `list`",
            "short" => "`upper.bad`: it answered 2 rows for 3",
            _ => "`upper.bad`: ",
        };
        assert!(stderr.contains(expected), "{mode}: {stderr}");
        assert!(!stderr.contains("panicked"), "{mode}: {stderr}");
    }
}
