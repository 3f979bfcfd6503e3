//! `aigridc run --cluster`: the examples on a real coordinator and two real workers on
//! 127.0.0.1 give byte-identical outputs to the same runs in-process; a worker killed with
//! SIGKILL in the middle of a run costs a re-run of its tasks, not the run, and not the AI
//! requests they had made.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::python_ai::{PythonAi, card, python};
use support::{Scratch, Server, aigridc, examples_give_the_same_bytes, run};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A coordinator on a free port, without models (it plans, and never calls an AI).
fn coordinator() -> Server {
    let no_models = std::env::temp_dir().join("aigrid-cluster-test-no-models");
    let server = Server::spawn(
        aigridc().args(["coordinator", "--listen", "127.0.0.1:0"]).env("AIGRID_HOME", no_models),
    );
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
    let coordinator = coordinator();
    let _workers = [worker(&coordinator.url, "2"), worker(&coordinator.url, "2")];
    let scratch = Scratch::new("cluster-examples");
    examples_give_the_same_bytes(&scratch, &["--cluster", &coordinator.url]);
}

/// `aigridc run --cluster URL` of an example whose output goes nowhere.
fn run_on(url: &str) -> (i32, String, String) {
    run(aigridc().current_dir(root()).args([
        "run",
        "--no-cache",
        "examples/churn_features.ag",
        "-q",
        "--param",
        "out=/dev/null",
        "--cluster",
        url,
    ]))
}

#[test]
fn a_run_against_an_address_where_no_coordinator_listens_fails_with_a_clear_error() {
    let (status, _, stderr) = run_on("127.0.0.1:1");
    assert_eq!(status, 1, "{stderr}");
    assert!(
        stderr.contains("cluster at http://127.0.0.1:1: cannot reach the coordinator"),
        "{stderr}"
    );
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

#[test]
fn a_cluster_without_workers_fails_the_run_instead_of_waiting_forever() {
    let coordinator = coordinator();
    let (status, _, stderr) = run_on(&coordinator.url);
    assert_eq!(status, 1, "{stderr}");
    assert!(stderr.contains("the coordinator has no worker (not ready: 0/1"), "{stderr}");
    assert!(stderr.contains("start one with `aigridc worker --coordinator"), "{stderr}");
}

#[test]
fn a_worker_killed_in_the_middle_of_a_run_costs_a_rerun_of_its_tasks_not_the_run() {
    let Some(python) = python() else { return };
    let scratch = Scratch::new("cluster-kill");
    let calls = scratch.path().join("calls");
    // 16 rows, 2 per request, 0.4 s per request: the AI's stage runs for about 3 s.
    let ai = PythonAi::start_with(&python, &calls, &["--delay", "0.4"]);
    let discovery = Server::start(&["--data", &scratch.path().join("discovery").to_string_lossy()]);
    let card =
        card("upper.only", 1, ai.port).replace("attributes: {", "attributes: { batch_size: 2,");
    scratch.write("cards/upper.yaml", card);
    let (code, _, stderr) = run(aigridc()
        .args(["discovery", "register"])
        .arg(scratch.path().join("cards"))
        .args(["--discovery", &discovery.url]));
    assert_eq!(code, 0, "{stderr}");
    let words: Vec<String> = (0..16).map(|i| format!("word{i:02}")).collect();
    scratch.write("words.csv", format!("text\n{}\n", words.join("\n")));
    scratch.write(
        "p.ag",
        "use std.io.{read_csv, write_csv}\nuse std.table.{select}\n\n\
         ai upper(text: list<utf8>) -> list<utf8>\n    where task == \"text-upper\"\n\n\
         pipeline main() {\n    \
         let words: table { text: utf8 } = read_csv(\"words.csv\")\n    \
         write_csv(select(words, up = upper(words.text)), \"up.csv\")\n}\n",
    );

    // Only the first worker is there when the run starts: it takes the AI's task.
    let coordinator = coordinator();
    let mut first = worker(&coordinator.url, "1");
    let running = scratch
        .aigridc()
        .args(["run", "--no-cache", "p.ag", "-q", "--discovery", &discovery.url])
        .args(["--cluster", &coordinator.url])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the run: {e}"));
    let answered = || std::fs::read_to_string(&calls).ok().and_then(|n| n.parse::<u32>().ok());
    let started = Instant::now();
    while answered().unwrap_or(0) < 2 {
        assert!(started.elapsed() < Duration::from_secs(60), "the AI was never called");
        std::thread::sleep(Duration::from_millis(20));
    }
    let _second = worker(&coordinator.url, "1");
    first.kill();
    let killed = Instant::now();

    let output = running.wait_with_output().unwrap_or_else(|e| panic!("the run: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        killed.elapsed() < Duration::from_secs(30),
        "took {:?} after the kill",
        killed.elapsed()
    );
    let expected: Vec<String> = words.iter().map(|w| w.to_uppercase()).collect();
    assert_eq!(
        std::fs::read_to_string(scratch.path().join("up.csv")).ok(),
        Some(format!("up\n{}\n", expected.join("\n")))
    );
    println!("the run ended {:?} after the kill, with {:?} requests", killed.elapsed(), answered());
    // The killed worker's task ran again on the second worker, which found the answers the
    // first one had kept: of the 8 requests, only the one in flight at the kill is asked twice.
    let requests = answered().unwrap_or(0);
    assert!((8..=9).contains(&requests), "{requests} requests");
}
