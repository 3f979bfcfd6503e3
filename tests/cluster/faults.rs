//! Corrupt task outputs: a fetch of a damaged shuffle file ends with an error, not a hang or a
//! crash of the worker that serves it, by either of Ballista's transports.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ballista_core::JobId;
use ballista_core::client::BallistaClient;
use ballista_core::serde::scheduler::PartitionId;
use ballista_core::serde::scheduler::ShuffleLayout;
use futures::TryStreamExt as _;

use super::support::{Scratch, aigridc, run};
use super::{coordinator, root, worker_with};

/// The shuffle files (`JOB/STAGE/PARTITION/data-FILE.arrow`) under `dir`.
fn shuffle_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "arrow") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// What fetching the shuffle file `path` from the worker whose Flight port is `port` gives:
/// `Ok(rows)`, or the error. Panics if the fetch does not end within 30 s.
fn fetch(port: u16, path: &Path, flight: bool) -> Result<usize, String> {
    let part = |n: usize| {
        path.iter().rev().nth(n).and_then(|c| c.to_str()).unwrap_or_default().to_string()
    };
    let file_id = part(0).trim_start_matches("data-").trim_end_matches(".arrow").parse().ok();
    let partition = part(1).parse().unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let stage = part(2).parse().unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let partition = PartitionId::new(&JobId::new(part(3)), stage, partition);
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(async {
        let fetched = async {
            let mut client =
                BallistaClient::try_new("127.0.0.1", port, 64 << 20, false, None, 1, 0, 0, 0)
                    .await
                    .map_err(|e| e.to_string())?;
            let layout = ShuffleLayout::Passthrough;
            let stream = client
                .fetch_partition("worker", &partition, file_id, layout, flight)
                .await
                .map_err(|e| e.to_string())?;
            let batches: Vec<_> = stream.try_collect().await.map_err(|e| e.to_string())?;
            Ok(batches.iter().map(|b| b.num_rows()).sum())
        };
        tokio::time::timeout(Duration::from_secs(30), fetched)
            .await
            .unwrap_or_else(|_| panic!("the fetch of {path:?} hung"))
    })
}

#[test]
fn a_corrupt_task_output_fails_its_fetch_and_the_worker_goes_on() {
    let scratch = Scratch::new("cluster-corrupt");
    let coordinator = coordinator(&scratch);
    let work = scratch.path().join("worker");
    let work_arg = work.to_str().unwrap_or_else(|| panic!("not UTF-8"));
    let mut worker = worker_with(&coordinator.url, "1", &["--work-dir", work_arg]);
    let port: u16 = worker.url.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let out = format!("out={}", scratch.path().join("scores.csv").display());
    let churn = || {
        run(aigridc().current_dir(root()).args([
            "run",
            "--no-cache",
            "-q",
            "examples/churn_features.ag",
            "--param",
            &out,
            "--cluster",
            &coordinator.url,
        ]))
    };
    let (status, _, stderr) = churn();
    assert_eq!(status, 0, "{stderr}");
    let files = shuffle_files(&work);
    let file = files.first().unwrap_or_else(|| panic!("no shuffle file under {work:?}"));
    let rows = fetch(port, file, true).unwrap_or_else(|e| panic!("the intact file: {e}"));
    assert!(rows > 0);

    // Its middle overwritten, then cut short: each fetch fails with an error.
    let mut bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{e}"));
    let middle = bytes.len() / 2;
    bytes[middle / 2..middle].fill(0xA5);
    std::fs::write(file, &bytes).unwrap_or_else(|e| panic!("{e}"));
    for flight in [true, false] {
        let fetched = fetch(port, file, flight);
        println!("garbled, flight {flight}: {fetched:?}");
        assert!(fetched.is_err(), "a garbled file fetched (flight {flight})");
    }
    std::fs::write(file, &bytes[..middle]).unwrap_or_else(|e| panic!("{e}"));
    for flight in [true, false] {
        let fetched = fetch(port, file, flight);
        println!("cut, flight {flight}: {fetched:?}");
        assert!(fetched.is_err(), "a cut file fetched (flight {flight})");
    }

    // The worker serves on.
    assert_eq!(worker.try_wait(), None, "the worker stopped");
    let (status, _, stderr) = churn();
    assert_eq!(status, 0, "{stderr}");
}

#[test]
fn a_worker_that_names_no_host_is_registered_at_the_address_it_called_from() {
    use ballista_core::serde::protobuf::executor_resource::Resource;
    use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
    use ballista_core::serde::protobuf::{
        ExecutorRegistration, ExecutorResource, ExecutorSpecification, RegisterExecutorParams,
    };

    // A worker listening on 0.0.0.0 registers without a host: the coordinator takes the
    // address the call came from. Here the "worker" is this test, with a port that accepts.
    let scratch = Scratch::new("cluster-no-host");
    let coordinator = coordinator(&scratch);
    let tasks = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let grpc_port = tasks.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{e}"));
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let registered = runtime.block_on(async {
        let mut scheduler = SchedulerGrpcClient::connect(coordinator.url.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let metadata = ExecutorRegistration {
            id: "no-host".into(),
            host: None,
            port: u32::from(grpc_port),
            grpc_port: u32::from(grpc_port),
            specification: Some(ExecutorSpecification {
                resources: vec![ExecutorResource { resource: Some(Resource::Vcores(1)) }],
            }),
            // Ballista's scheduler panics without it.
            os_info: Some(Default::default()),
            ballista_protocol_version: ballista_core::BALLISTA_PROTOCOL_VERSION,
        };
        let request = RegisterExecutorParams { metadata: Some(metadata) };
        tokio::time::timeout(Duration::from_secs(30), scheduler.register_executor(request)).await
    });
    let registered = registered.unwrap_or_else(|_| panic!("the registration hung"));
    let registered = registered.map(|answer| answer.into_inner().success);
    assert!(matches!(registered, Ok(true)), "{registered:?}");
    let (status, metrics) = super::support::http_get(&coordinator.url, "/metrics");
    assert_eq!(status, 200);
    assert!(metrics.contains("aigrid_workers 1"), "{metrics}");
}

#[test]
fn a_run_cancelled_with_ctrl_c_cancels_its_jobs_on_the_cluster() {
    use super::support::python_ai::python;
    use super::{metric, requests, scrape, slow_upper, start_run, wait_for_requests, worker};

    let Some(python) = python() else { return };
    let scratch = Scratch::new("cluster-cancel");
    let calls = scratch.path().join("calls");
    // 16 rows, 2 per request, 0.5 s per request: the AI's job runs for about 4 s, in one task.
    let (_ai, discovery, _) = slow_upper(&python, &scratch, &calls, "0.5");
    let coordinator = coordinator(&scratch);
    let _worker = worker(&coordinator.url, "1");
    let running = start_run(&scratch, &discovery, &coordinator.url);
    wait_for_requests(&calls, 1);
    let (status, _, stderr) =
        run(std::process::Command::new("kill").args(["-INT", &running.id().to_string()]));
    assert_eq!(status, 0, "{stderr}");
    let output = running.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    // The job was cancelled on the cluster (counted a moment after the call), and its task on
    // the worker asks the AI no more: without the stop, all 8 requests were made by 4 s.
    let started = std::time::Instant::now();
    let cancelled = loop {
        let cancelled = metric(&scrape(&coordinator.url), "aigrid_jobs_total{event=\"cancelled\"}");
        if cancelled == 1 || started.elapsed() > Duration::from_secs(10) {
            break cancelled;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(cancelled, 1);
    std::thread::sleep(Duration::from_secs(5));
    let asked = requests(&calls);
    assert!(asked <= 4, "the cancelled task asked the AI {asked} times of 8");
}
