//! The cost of the cluster, on a coordinator and two workers on 127.0.0.1 (real `aigridc`
//! processes):
//!
//! - a trivial job (a one-row plan), submit to result, median of 20: through aigrid's
//!   `Cluster` (its codec before Ballista's), next to plain Ballista (its own codec and client
//!   call, `execute_physical_plan`) on the same cluster;
//! - an example pipeline (`examples/churn_features.ag`), wall time of `aigridc run`, in-process
//!   and with `--cluster`, median of 5.
//!
//! Run with `cargo bench --bench cluster`.

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aigrid_builtins::{Library, ModelStore};
use aigrid_cluster::Cluster;
use aigrid_executor::RemoteStages as _;
use ballista_core::execution_plans::execute_physical_plan;
use ballista_core::extension::SessionConfigExt as _;
use ballista_core::serde::BallistaPhysicalExtensionCodec;
use datafusion::arrow::array::{Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionConfig;
use datafusion_proto::protobuf::PhysicalPlanNode;
use futures::TryStreamExt as _;

const JOBS: usize = 20;
const RUNS: usize = 5;

/// A server process, killed on drop.
struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn server(args: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aigridc"))
        .args(args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start aigridc {args:?}: {e}"));
    let Some(stderr) = child.stderr.take() else { panic!("no stderr") };
    let mut lines = std::io::BufReader::new(stderr).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    std::thread::spawn(move || for _ in lines {});
    let url = first.split_whitespace().find(|w| w.contains("://")).unwrap_or_default().to_owned();
    Server(child, url)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn one_row() -> Arc<dyn ExecutionPlan> {
    let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
    let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![42]))])
        .unwrap_or_else(|e| panic!("{e}"));
    MemorySourceConfig::try_new_exec(&[vec![batch]], schema, None).unwrap_or_else(|e| panic!("{e}"))
}

fn main() {
    let journal = std::env::temp_dir().join(format!("aigrid-bench-journal-{}", std::process::id()));
    let journal = journal.to_string_lossy().into_owned();
    let coordinator = server(&["coordinator", "--listen", "127.0.0.1:0", "--data", &journal]);
    let url = coordinator.1.clone();
    let _workers = [
        server(&["worker", "--coordinator", &url, "--slots", "1"]),
        server(&["worker", "--coordinator", &url, "--slots", "1"]),
    ];
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let library = Library::new(&ModelStore::from_env());
    let cluster = Cluster::new(&url, library).unwrap_or_else(|e| panic!("{e}"));
    let config = SessionConfig::new_with_ballista();
    let codec = BallistaPhysicalExtensionCodec::default();
    let plain = || async {
        let stream = execute_physical_plan::<PhysicalPlanNode>(
            url.clone(),
            &config.ballista_config(),
            one_row(),
            &codec,
            "bench".to_string(),
            config.clone(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let batches: Vec<RecordBatch> =
            stream.try_collect().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 1);
    };
    let aigrid = || async {
        let batches = cluster.collect(one_row()).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 1);
    };
    // Warm up: the workers register, connections open.
    runtime.block_on(async {
        aigrid().await;
        plain().await;
    });
    let (mut plain_times, mut aigrid_times) = (Vec::new(), Vec::new());
    for _ in 0..JOBS {
        let started = Instant::now();
        runtime.block_on(plain());
        plain_times.push(started.elapsed());
        let started = Instant::now();
        runtime.block_on(aigrid());
        aigrid_times.push(started.elapsed());
    }
    let (plain, aigrid) = (median(plain_times), median(aigrid_times));
    println!(
        "trivial job, submit to result, median of {JOBS}: aigrid {:.1} ms, plain Ballista {:.1} ms ({:+.1}%)",
        aigrid.as_secs_f64() * 1e3,
        plain.as_secs_f64() * 1e3,
        (aigrid.as_secs_f64() / plain.as_secs_f64() - 1.0) * 100.0
    );

    let root = env!("CARGO_MANIFEST_DIR");
    let out = std::env::temp_dir().join(format!("aigrid-bench-cluster-{}.csv", std::process::id()));
    let param = format!("out={}", out.display());
    let time = |cluster: Option<&str>| {
        let mut times = Vec::new();
        for _ in 0..RUNS {
            let mut command = Command::new(env!("CARGO_BIN_EXE_aigridc"));
            command.current_dir(root).args([
                "run",
                "-q",
                "--no-cache",
                "examples/churn_features.ag",
            ]);
            command.args(["--param", &param]).stdout(Stdio::null());
            if let Some(url) = cluster {
                command.args(["--cluster", url]);
            }
            let started = Instant::now();
            let status = command.status().unwrap_or_else(|e| panic!("{e}"));
            times.push(started.elapsed());
            assert!(status.success());
        }
        median(times)
    };
    let local = time(None);
    let remote = time(Some(&url));
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_dir_all(&journal);
    println!(
        "examples/churn_features.ag, median of {RUNS}: in-process {:.0} ms, on 2 workers {:.0} ms (+{:.0} ms)",
        local.as_secs_f64() * 1e3,
        remote.as_secs_f64() * 1e3,
        (remote.as_secs_f64() - local.as_secs_f64()) * 1e3
    );
}
