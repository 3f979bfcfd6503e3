//! GPU placement: the stage of a node marked `@gpu` runs only on a worker that offers a GPU
//! (`--gpus`), and fails at once, saying so, on a cluster without one.

use super::support::{Scratch, run};
use super::{coordinator, metric, scrape, worker_with};

/// A read and a query marked `@gpu`, one stage: every task of it needs a GPU.
const ON_GPU: &str = "use std.io.{read_csv}

type Row = table { id: i64, x: i64 }
type Doubled = table { id: i64, y: i64 }

pipeline main(src: path = \"rows.csv\") -> Doubled {
    let rows: Row = read_csv(src)
    @gpu let doubled: Doubled = sql(\"SELECT id, x * 2 AS y FROM r ORDER BY id\", r = rows)
    return doubled
}
";

#[test]
fn a_gpu_stage_runs_only_on_a_worker_with_a_gpu_and_fails_clearly_without_one() {
    let scratch = Scratch::new("cluster-gpu");
    let rows: String = (1..=500).map(|i| format!("{i},{}\n", i * 3)).collect();
    scratch.write("rows.csv", format!("id,x\n{rows}"));
    scratch.write("p.ag", ON_GPU);
    let (status, _, stderr) =
        run(scratch.aigridc().args(["run", "p.ag", "-q", "--no-cache", "-o", "local.csv"]));
    assert_eq!(status, 0, "{stderr}");

    let coordinator = coordinator(&scratch);
    let cpu = worker_with(&coordinator.url, "2", &["--gpus", "none"]);
    let on_cluster = |out: &str| {
        run(scratch.aigridc().args([
            "run",
            "p.ag",
            "-q",
            "--no-cache",
            "-o",
            out,
            "--cluster",
            &coordinator.url,
        ]))
    };
    let (status, _, stderr) = on_cluster("none.csv");
    assert_eq!(status, 1, "{stderr}");
    assert!(
        stderr
            .contains("this stage needs a GPU (a node marked @gpu), and no worker of the cluster")
            && stderr.contains("aigridc worker --gpus"),
        "{stderr}"
    );
    assert!(!scratch.path().join("none.csv").exists());

    // A worker that offers a GPU takes every task of the stage; the other takes none.
    let gpu = worker_with(&coordinator.url, "1", &["--gpus", "0"]);
    let (status, _, stderr) = on_cluster("cluster.csv");
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(scratch.read("cluster.csv"), scratch.read("local.csv"));
    // `aigridc workers` lists both, with what they offer.
    let (status, listed, stderr) =
        run(scratch.aigridc().args(["workers", "--cluster", &coordinator.url, "--format", "json"]));
    assert_eq!(status, 0, "{stderr}");
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap_or_else(|e| panic!("{e}"));
    let mut offered: Vec<(u64, u64)> = listed
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| (w["slots"].as_u64().unwrap_or(0), w["gpus"].as_u64().unwrap_or(0)))
        .collect();
    offered.sort_unstable();
    assert_eq!(offered, [(1, 1), (2, 0)], "{listed}");
    let tasks = |url: &str| metric(&scrape(url), "aigrid_tasks_total{state=\"succeeded\"}");
    assert_eq!(tasks(&cpu.url), 0, "the worker without a GPU ran tasks");
    assert!(tasks(&gpu.url) > 0);
}

#[test]
fn a_gpu_stage_whose_last_gpu_worker_dies_fails_instead_of_waiting() {
    use super::support::python_ai::python;
    use super::{slow_upper, start_run, wait_for_requests};

    let Some(python) = python() else { return };
    let scratch = Scratch::new("cluster-gpu-lost");
    let calls = scratch.path().join("calls");
    // 16 rows, 2 per request, 0.5 s per request: the AI's stage runs for about 4 s.
    let (_ai, discovery, _) = slow_upper(&python, &scratch, &calls, "0.5");
    scratch.write(
        "p.ag",
        "use std.io.{read_csv, write_csv}\nuse std.table.{select}\n\n\
         ai upper(text: list<utf8>) -> list<utf8>\n    where task == \"text-upper\"\n\n\
         pipeline main() {\n    \
         let words: table { text: utf8 } = read_csv(\"words.csv\")\n    \
         @gpu let up = select(words, up = upper(words.text))\n    \
         write_csv(up, \"up.csv\")\n}\n",
    );
    let coordinator = coordinator(&scratch);
    let _cpu = worker_with(&coordinator.url, "2", &["--gpus", "none"]);
    let mut gpu = worker_with(&coordinator.url, "1", &["--gpus", "0"]);
    let running = start_run(&scratch, &discovery, &coordinator.url);
    wait_for_requests(&calls, 1);
    gpu.kill();
    let killed = std::time::Instant::now();
    let output = running.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("this stage needs a GPU (a node marked @gpu)"), "{stderr}");
    // The coordinator takes the worker for dead after 10 s without a heartbeat; the driver
    // checks every 2 s.
    assert!(killed.elapsed() < std::time::Duration::from_secs(30), "{:?}", killed.elapsed());
    assert!(!scratch.path().join("up.csv").exists());
}
