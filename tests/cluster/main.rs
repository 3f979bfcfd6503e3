//! `aigridc run --cluster`: the examples on a real coordinator and two real workers on
//! 127.0.0.1 give byte-identical outputs to the same runs in-process; a worker killed with
//! SIGKILL in the middle of a run costs a re-run of its tasks, not the run, and not the AI
//! requests they had made. `auth` has the cluster's token, `faults` corrupt task outputs,
//! `placement` GPU stages, `object_store` a work directory at an S3 URL.

mod auth;
mod faults;
mod object_store;
mod placement;
#[path = "../support/mod.rs"]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray as _;

use support::python_ai::{PythonAi, card, python};
use support::{
    Scratch, Server, aigridc, examples_give_the_same_bytes, http_get, run, try_http_get,
};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A coordinator on a free port with its journal in `scratch`, without models (it plans, and
/// never calls an AI).
fn coordinator(scratch: &Scratch) -> Server {
    coordinator_at(scratch, "127.0.0.1:0")
}

/// A coordinator listening on `address`, with its journal in `scratch`.
fn coordinator_at(scratch: &Scratch, address: &str) -> Server {
    coordinator_with(scratch, address, &[])
}

/// A coordinator listening on `address`, with its journal in `scratch` and `more` arguments.
fn coordinator_with(scratch: &Scratch, address: &str, more: &[&str]) -> Server {
    let no_models = std::env::temp_dir().join("aigrid-cluster-test-no-models");
    let server = Server::spawn(
        aigridc()
            .args(["coordinator", "--listen", address, "--data"])
            .arg(scratch.path().join("journal"))
            .args(more)
            .env("AIGRID_HOME", no_models),
    );
    let local = ["http://127.0.0.1:", "https://127.0.0.1:"];
    assert!(local.iter().any(|l| server.url.starts_with(l)), "{}", server.url);
    server
}

/// A worker of the coordinator at `url` that runs `slots` tasks at once.
fn worker(url: &str, slots: &str) -> Server {
    worker_with(url, slots, &[])
}

/// A worker of the coordinator at `url` that runs `slots` tasks at once, with `more` arguments.
fn worker_with(url: &str, slots: &str, more: &[&str]) -> Server {
    let server = Server::spawn(
        aigridc().args(["worker", "--coordinator", url, "--slots", slots]).args(more),
    );
    let local = ["http://127.0.0.1:", "https://127.0.0.1:"];
    assert!(local.iter().any(|l| server.url.starts_with(l)), "{}", server.url);
    server
}

#[test]
fn every_example_gives_the_same_bytes_on_two_workers_as_in_process() {
    let scratch = Scratch::new("cluster-examples");
    let coordinator = coordinator(&scratch);
    let workers = [worker(&coordinator.url, "2"), worker(&coordinator.url, "2")];
    let runs = examples_give_the_same_bytes(&scratch, &["--cluster", &coordinator.url]);
    // The coordinator's metrics count what happened: every run succeeded, no job failed.
    let metrics = scrape(&coordinator.url);
    let value = |name: &str| metric(&metrics, name);
    assert_eq!(value("aigrid_workers"), 2, "{metrics}");
    assert_eq!(value("aigrid_task_slots"), 4, "{metrics}");
    assert_eq!(value("aigrid_runs{state=\"succeeded\"}"), runs as u64, "{metrics}");
    assert_eq!(value("aigrid_runs{state=\"failed\"}"), 0, "{metrics}");
    assert_eq!(value("aigrid_jobs_total{event=\"failed\"}"), 0, "{metrics}");
    let completed = value("aigrid_jobs_total{event=\"completed\"}");
    assert!(completed >= runs as u64, "{metrics}");
    assert_eq!(value("aigrid_jobs_total{event=\"submitted\"}"), completed, "{metrics}");
    assert_eq!(value("aigrid_job_seconds_count"), completed, "{metrics}");
    // The workers ran every job's tasks, none failed, none runs still; they sent every task
    // output the driver fetched, and no fetch failed.
    let (mut fetches, mut bytes, mut tasks) = (0, 0, 0);
    for worker in &workers {
        let metrics = scrape(&worker.url);
        let succeeded = metric(&metrics, "aigrid_tasks_total{state=\"succeeded\"}");
        assert_eq!(metric(&metrics, "aigrid_tasks_total{state=\"failed\"}"), 0, "{metrics}");
        assert_eq!(metric(&metrics, "aigrid_running_tasks"), 0, "{metrics}");
        assert_eq!(metric(&metrics, "aigrid_task_seconds_count"), succeeded, "{metrics}");
        tasks += succeeded;
        assert_eq!(metric(&metrics, "aigrid_fetch_failures_total"), 0, "{metrics}");
        let count = metric(&metrics, "aigrid_fetch_seconds_count");
        let by_call = metric(&metrics, "aigrid_fetches_total{kind=\"do_get\"}")
            + metric(&metrics, "aigrid_fetches_total{kind=\"do_action\"}");
        assert_eq!(count, by_call, "{metrics}");
        fetches += count;
        bytes += metric(&metrics, "aigrid_sent_bytes_total");
    }
    assert!(fetches >= completed && bytes > 0, "{fetches} fetches, {bytes} bytes");
    assert!(tasks >= completed, "{tasks} tasks for {completed} jobs");
}

/// The Prometheus metrics at `url`.
fn scrape(url: &str) -> String {
    let (status, metrics) = http_get(url, "/metrics");
    assert_eq!(status, 200, "{metrics}");
    metrics
}

/// The value of the sample `name` (with its labels) in `metrics`; `u64::MAX` when absent.
pub(crate) fn metric(metrics: &str, name: &str) -> u64 {
    let line = metrics.lines().find(|line| line.split(' ').next() == Some(name));
    line.and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse().ok()).unwrap_or(u64::MAX)
}

/// `aigridc run --cluster URL` of an example that writes its output into `scratch`.
fn run_on(scratch: &Scratch, url: &str) -> (i32, String, String) {
    let out = format!("out={}", scratch.path().join("scores.csv").display());
    run(aigridc().current_dir(root()).args([
        "run",
        "--no-cache",
        "examples/churn_features.ag",
        "-q",
        "--param",
        &out,
        "--cluster",
        url,
    ]))
}

#[test]
fn a_run_against_an_address_where_no_coordinator_listens_fails_with_a_clear_error() {
    let (status, _, stderr) = run_on(&Scratch::new("cluster-unreachable"), "127.0.0.1:1");
    assert_eq!(status, 1, "{stderr}");
    assert!(stderr.contains("cannot reach the coordinator at http://127.0.0.1:1"), "{stderr}");
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
    let scratch = Scratch::new("cluster-no-workers");
    let coordinator = coordinator(&scratch);
    let (status, _, stderr) = run_on(&scratch, &coordinator.url);
    assert_eq!(status, 1, "{stderr}");
    assert!(stderr.contains("the coordinator has no worker (not ready: no worker"), "{stderr}");
    assert!(stderr.contains("start one with `aigridc worker --coordinator"), "{stderr}");
}

/// Registers the cards under `scratch/cards` with `discovery`, and writes `words.csv`: 16
/// words, which it returns.
fn register_and_write_words(scratch: &Scratch, discovery: &Server) -> Vec<String> {
    let (code, _, stderr) = run(aigridc()
        .args(["discovery", "register"])
        .arg(scratch.path().join("cards"))
        .args(["--discovery", &discovery.url]));
    assert_eq!(code, 0, "{stderr}");
    let words: Vec<String> = (0..16).map(|i| format!("word{i:02}")).collect();
    scratch.write("words.csv", format!("text\n{}\n", words.join("\n")));
    words
}

/// Starts `aigridc run` of `scratch/p.ag` on the cluster at `url`, in the background.
fn start_run(scratch: &Scratch, discovery: &Server, url: &str) -> std::process::Child {
    scratch
        .aigridc()
        .args(["run", "--no-cache", "p.ag", "-q", "--discovery", &discovery.url])
        .args(["--cluster", url])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the run: {e}"))
}

/// A Python AI that upper-cases words, `delay` seconds per request of 2 rows, counting its
/// requests in `calls`; a discovery server with its card; `scratch/words.csv` (16 words, which
/// it returns) and `scratch/p.ag`, which writes them upper-cased to `up.csv`.
fn slow_upper(
    python: &Path,
    scratch: &Scratch,
    calls: &Path,
    delay: &str,
) -> (PythonAi, Server, Vec<String>) {
    let ai = PythonAi::start_with(python, calls, &["--delay", delay]);
    let discovery = Server::start(&["--data", &scratch.path().join("discovery").to_string_lossy()]);
    let card =
        card("upper.only", 1, ai.port).replace("attributes: {", "attributes: { batch_size: 2,");
    scratch.write("cards/upper.yaml", card);
    let words = register_and_write_words(scratch, &discovery);
    scratch.write(
        "p.ag",
        "use std.io.{read_csv, write_csv}\nuse std.table.{select}\n\n\
         ai upper(text: list<utf8>) -> list<utf8>\n    where task == \"text-upper\"\n\n\
         pipeline main() {\n    \
         let words: table { text: utf8 } = read_csv(\"words.csv\")\n    \
         write_csv(select(words, up = upper(words.text)), \"up.csv\")\n}\n",
    );
    (ai, discovery, words)
}

/// The requests the AI that counts them in `calls` has answered.
fn requests(calls: &Path) -> u32 {
    std::fs::read_to_string(calls).ok().and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// Waits until the AI that counts its requests in `calls` has answered `n` (at most a minute).
fn wait_for_requests(calls: &Path, n: u32) {
    let started = Instant::now();
    while requests(calls) < n {
        assert!(started.elapsed() < Duration::from_secs(60), "the AI was never called");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_worker_killed_in_the_middle_of_a_run_costs_a_rerun_of_its_tasks_not_the_run() {
    let Some(python) = python() else { return };
    let scratch = Scratch::new("cluster-kill");
    let calls = scratch.path().join("calls");
    // 16 rows, 2 per request, 0.4 s per request: the AI's stage runs for about 3 s.
    let (_ai, discovery, words) = slow_upper(&python, &scratch, &calls, "0.4");

    // Only the first worker is there when the run starts: it takes the AI's task.
    let coordinator = coordinator(&scratch);
    let mut first = worker(&coordinator.url, "1");
    let running = start_run(&scratch, &discovery, &coordinator.url);
    wait_for_requests(&calls, 2);
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
    let asked = requests(&calls);
    println!("the run ended {:?} after the kill, with {asked} requests", killed.elapsed());
    // The killed worker's task ran again on the second worker, which found the answers the
    // first one had kept: of the 8 requests, only the one in flight at the kill is asked twice.
    assert!((8..=9).contains(&asked), "{asked} requests");
}

/// The `aigridc status --format json` of run `id` at the coordinator at `url`.
fn status_of(url: &str, id: &str) -> serde_json::Value {
    match try_status_of(url, id) {
        Ok(status) => status,
        Err(error) => panic!("{error}"),
    }
}

/// The status of run `id`, or why there is none (yet).
fn try_status_of(url: &str, id: &str) -> Result<serde_json::Value, String> {
    let (code, stdout, stderr) =
        run(aigridc().args(["status", id, "--format", "json", "--cluster", url]));
    if code != 0 {
        return Err(stderr);
    }
    serde_json::from_str(&stdout).map_err(|e| format!("{e}: {stdout}"))
}

#[test]
fn a_run_cut_off_by_a_killed_coordinator_resumes_without_recomputing_its_finished_stages() {
    let Some(python) = python() else { return };
    let scratch = Scratch::new("cluster-resume");
    let (fast_calls, slow_calls) = (scratch.path().join("fast"), scratch.path().join("slow"));
    let fast = PythonAi::start(&python, &fast_calls);
    // 16 rows, 2 per request, 0.5 s per request: the slow AI's stage takes about 4 s.
    let slow = PythonAi::start_with(&python, &slow_calls, &["--delay", "0.5"]);
    let discovery = Server::start(&["--data", &scratch.path().join("discovery").to_string_lossy()]);
    let with = |card: String, speed: u32| {
        card.replace("attributes: {", &format!("attributes: {{ batch_size: 2, slow: {speed},"))
    };
    scratch.write("cards/fast.yaml", with(card("upper.fast", 1, fast.port), 0));
    scratch.write("cards/slow.yaml", with(card("upper.slow", 1, slow.port), 1));
    let words = register_and_write_words(&scratch, &discovery);
    // `up` has two readers: its own stage, then a fast write and a slow AI's write.
    scratch.write(
        "p.ag",
        "use std.io.{read_csv, write_csv}\nuse std.table.{select}\n\n\
         ai upper(text: list<utf8>) -> list<utf8>\n    where task == \"text-upper\" && slow == 0\n\n\
         ai slow_upper(text: list<utf8>) -> list<utf8>\n    where task == \"text-upper\" && slow == 1\n\n\
         pipeline main() {\n    \
         let words: table { text: utf8 } = read_csv(\"words.csv\")\n    \
         let up = select(words, up = upper(words.text))\n    \
         write_csv(up, \"up.csv\")\n    \
         write_csv(select(up, again = slow_upper(up.up)), \"again.csv\")\n}\n",
    );

    let mut coordinator = coordinator(&scratch);
    let url = coordinator.url.clone();
    let _workers = [worker(&url, "2"), worker(&url, "2")];
    let running = start_run(&scratch, &discovery, &url);
    // Kill the coordinator once the run's first stages are in the journal and the slow AI
    // is answering.
    let started = Instant::now();
    loop {
        let status = try_status_of(&url, "1").unwrap_or_default();
        let stages = status["stages"].as_array().map_or(0, Vec::len);
        if stages >= 2 && requests(&slow_calls) >= 1 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the run never got there");
        std::thread::sleep(Duration::from_millis(50));
    }
    coordinator.kill();
    let output = running.wait_with_output().unwrap_or_else(|e| panic!("the run: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("go on with `aigridc run --resume 1 --cluster"), "{stderr}");
    let up_written = std::fs::metadata(scratch.path().join("up.csv"))
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("up.csv was not written before the kill: {e}"));
    let fast_answers = requests(&fast_calls);
    assert_eq!(fast_answers, 8);

    // The same coordinator again, on the same port with the same journal: the workers find it.
    let address = url.trim_start_matches("http://").to_string();
    let _coordinator = coordinator_at(&scratch, &address);
    let interrupted = status_of(&url, "1");
    assert_eq!(interrupted["state"], "interrupted");
    // A kept value whose file no longer has its hash is computed again: corrupt `up`'s.
    let stages = interrupted["stages"].as_array().cloned().unwrap_or_default();
    let field =
        |stage: &serde_json::Value, name: &str| stage[name].as_str().unwrap_or("").to_string();
    let Some(up) = stages.iter().find(|s| field(s, "what") == "std.table.select") else {
        panic!("`up` is not a stage: {interrupted}")
    };
    std::fs::write(field(up, "file"), b"not an Arrow file")
        .unwrap_or_else(|e| panic!("cannot corrupt {up}: {e}"));
    let (code, _, stderr) =
        run(scratch.aigridc().args(["run", "--resume", "1", "--cluster", &url]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("attempt 2"), "{stderr}");
    assert!(stderr.contains("nodes done by earlier attempts"), "{stderr}");
    let expected: Vec<String> = words.iter().map(|w| w.to_uppercase()).collect();
    let read = |file: &str| String::from_utf8_lossy(&scratch.read(file)).into_owned();
    assert_eq!(read("again.csv"), format!("again\n{}\n", expected.join("\n")));
    assert_eq!(read("up.csv"), format!("up\n{}\n", expected.join("\n")));
    // The finished write did not run again: `up.csv` was not rewritten. `up` was computed
    // again, from the fast AI's kept result (on a cluster an AI call is a stage of its own):
    // the AI was not asked again.
    let up_now = std::fs::metadata(scratch.path().join("up.csv")).and_then(|m| m.modified());
    assert_eq!(up_now.ok(), Some(up_written));
    assert_eq!(requests(&fast_calls), fast_answers);
    let status = status_of(&url, "1");
    assert_eq!(status["state"], "succeeded", "{status}");
    assert_eq!(status["attempts"], 2, "{status}");
    let attempt_of = |node: &serde_json::Value| {
        let stages = status["stages"].as_array().cloned().unwrap_or_default();
        stages.iter().find(|s| &s["node"] == node).map(|s| s["attempt"].clone())
    };
    assert_eq!(attempt_of(&up["node"]), Some(serde_json::json!(2)), "{status}");
    for kept in stages.iter().filter(|s| s["node"] != up["node"]) {
        assert_eq!(attempt_of(&kept["node"]), Some(serde_json::json!(1)), "{status}");
    }
    // The work directory goes when the run succeeds.
    let work_dir = status["work_dir"].as_str().unwrap_or_default().to_string();
    assert!(!Path::new(&work_dir).exists(), "{work_dir} is still there");
}

#[test]
fn a_worker_killed_while_the_driver_fetches_its_output_fails_the_run_clearly_and_resume_finishes_it()
 {
    let scratch = Scratch::new("cluster-fetch");
    // 2,000,000 rows: the output's fetch over Flight takes long enough to be cut.
    const ROWS: i64 = 2_000_000;
    let mut csv = String::with_capacity(40 << 20);
    csv.push_str("id,text\n");
    for i in 0..ROWS {
        csv.push_str(&format!("{i},word{}\n", i % 1000));
    }
    scratch.write("big.csv", csv);
    scratch.write(
        "p.ag",
        "use std.io.{read_csv}\n\ntype T = table { id: i64, text: utf8 }\n\n\
         pipeline main() -> T {\n    return read_csv(\"big.csv\")\n}\n",
    );
    let coordinator = coordinator(&scratch);
    let mut first = worker(&coordinator.url, "1");
    let running = scratch
        .aigridc()
        .args(["run", "--no-cache", "-q", "p.ag", "-o", "cluster.arrow"])
        .args(["--cluster", &coordinator.url])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the run: {e}"));
    // Kill the worker while the driver fetches the output from it.
    let started = Instant::now();
    loop {
        // The worker's Flight server starts a moment after it says where it listens.
        let metrics =
            try_http_get(&first.url, "/metrics").map(|(_, body)| body).unwrap_or_default();
        // (A fetch of blocks is a `do_action`; a kind not yet seen is absent.)
        let count = |kind: &str| match metric(
            &metrics,
            &format!("aigrid_fetches_total{{kind=\"{kind}\"}}"),
        ) {
            u64::MAX => 0,
            n => n,
        };
        let fetches = count("do_get") + count("do_action");
        if fetches >= 1 && metric(&metrics, "aigrid_fetch_seconds_count") < fetches {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "no fetch began: {metrics}");
        std::thread::sleep(Duration::from_millis(5));
    }
    first.kill();
    let killed = Instant::now();
    let output = running.wait_with_output().unwrap_or_else(|e| panic!("the run: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("the run ended {:?} after the kill: {stderr}", killed.elapsed());
    assert!(killed.elapsed() < Duration::from_secs(30), "{stderr}");
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("fetching its output from a worker failed"), "{stderr}");
    assert!(stderr.contains("go on with `aigridc run --resume 1 --cluster"), "{stderr}");

    // Another worker computes the output again, and the run writes it where it was to.
    let _second = worker(&coordinator.url, "1");
    let (code, _, stderr) =
        run(scratch.aigridc().args(["run", "--resume", "1", "--cluster", &coordinator.url]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(status_of(&coordinator.url, "1")["state"], "succeeded");
    // Every row once and in order: the output's partitions are fetched in their order, not in
    // the order their tasks finished.
    let fetched = ids(&scratch.path().join("cluster.arrow"));
    assert!(
        fetched.iter().copied().eq(0..ROWS),
        "{} rows, not each id once in order",
        fetched.len()
    );
    // In-process too (DataFusion's file scans steal each other's byte ranges unless told not
    // to, and the first partition of this file then sometimes held its second half).
    let (code, _, stderr) =
        run(scratch.aigridc().args(["run", "--no-cache", "-q", "p.ag", "-o", "local.arrow"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(ids(&scratch.path().join("local.arrow")).into_iter().eq(0..ROWS), "not in order");
}

/// The first column (`i64`) of the Arrow IPC file `path`.
fn ids(path: &Path) -> Vec<i64> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader =
        arrow_ipc::reader::FileReader::try_new(file, None).unwrap_or_else(|e| panic!("{e}"));
    let mut ids = Vec::new();
    for batch in reader {
        let batch = batch.unwrap_or_else(|e| panic!("{e}"));
        ids.extend(batch.column(0).as_primitive::<arrow_array::types::Int64Type>().values());
    }
    ids
}
