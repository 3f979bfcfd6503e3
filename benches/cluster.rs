//! The cost of the cluster, on a coordinator and two workers on 127.0.0.1 (real `aigridc`
//! processes):
//!
//! - a trivial job (a one-row plan), submit to result, median of 20: through aigrid's
//!   `Cluster` (its codec before Ballista's), next to plain Ballista (its own codec and client
//!   call, `execute_physical_plan`) on the same cluster;
//! - an example pipeline (`examples/churn_features.ag`), wall time of `aigridc run`, in-process
//!   and with `--cluster`, median of 5;
//! - the 10,000-node no-op DAG of the executor's overhead benchmark (100 chains of 100
//!   `SELECT * FROM t` nodes, then their union), run on the cluster and in-process from the
//!   bound plan, median of 5: µs per node;
//! - a 256 MiB tensor (262,144 rows of 256 `f32`) read by a worker from an Arrow IPC file and
//!   moved to this process over Arrow Flight, next to 256 MiB sent through a loopback TCP
//!   socket in this process (median of 5 each): GB/s. The move is timed alone (the fetch of
//!   the job's output, the call and decoding a worker makes to read another worker's task
//!   output: `BallistaClient::fetch_partition`, file blocks), and with the job (the worker's
//!   scan and its write of the task output file).
//!
//! Run with `cargo bench --bench cluster`; `cargo bench --bench cluster -- transfer` runs only
//! the sections whose name (`job`, `example`, `dag`, `transfer`) contains the argument.

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aigrid_builtins::{Library, ModelStore};
use aigrid_cluster::{Access, Cluster, Security};
use aigrid_compiler::{BuildOptions, MemoryWorld, build};
use aigrid_executor::{RemoteStages, RunOptions};
use ballista_core::execution_plans::execute_physical_plan;
use ballista_core::extension::SessionConfigExt as _;
use ballista_core::serde::BallistaPhysicalExtensionCodec;
use datafusion::arrow::array::{FixedSizeListArray, Float32Array, Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::ipc::writer::FileWriter;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::execution::options::ArrowReadOptions;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_proto::protobuf::PhysicalPlanNode;
use futures::TryStreamExt as _;

const JOBS: usize = 20;
const RUNS: usize = 5;
/// The DAG's chains and their depth.
const CHAINS: usize = 100;
const DEPTH: usize = 100;
/// The tensor's rows and width: 256 MiB of `f32`.
const TENSOR_ROWS: usize = 262_144;
const TENSOR_WIDTH: i32 = 256;

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

/// Whether the section `name` runs: the first argument that is not an option (cargo passes
/// `--bench`) filters them by name, as criterion's does.
fn wanted(name: &str) -> bool {
    std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .is_none_or(|filter| name.contains(&filter))
}

fn main() {
    // The journal and the workers' task outputs (gigabytes, for the transfer), removed at the
    // end: a killed worker leaves its directory behind.
    let scratch = std::env::temp_dir().join(format!("aigrid-bench-cluster-{}", std::process::id()));
    let place = |name: &str| scratch.join(name).to_string_lossy().into_owned();
    let coordinator =
        server(&["coordinator", "--listen", "127.0.0.1:0", "--data", &place("journal")]);
    let url = coordinator.1.clone();
    let workers = [
        server(&["worker", "--coordinator", &url, "--slots", "1", "--work-dir", &place("w1")]),
        server(&["worker", "--coordinator", &url, "--slots", "1", "--work-dir", &place("w2")]),
    ];
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let library = Library::new(&ModelStore::from_env());
    let cluster =
        Cluster::new(&Access { url: url.clone(), security: Security::default() }, library)
            .unwrap_or_else(|e| panic!("{e}"));
    if wanted("job") {
        trivial_job(&runtime, &cluster, &url);
    }
    if wanted("example") {
        example(&url);
    }
    if wanted("dag") {
        dag(&url);
    }
    if wanted("transfer") {
        transfer(&runtime, &cluster);
    }
    drop((workers, coordinator));
    let _ = std::fs::remove_dir_all(&scratch);
}

/// A one-row job, submit to result, through aigrid and through plain Ballista.
fn trivial_job(runtime: &tokio::runtime::Runtime, cluster: &Cluster, url: &str) {
    let config = SessionConfig::new_with_ballista();
    let codec = BallistaPhysicalExtensionCodec::default();
    let plain = || async {
        let stream = execute_physical_plan::<PhysicalPlanNode>(
            url.to_string(),
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
        let batches = cluster.collect(one_row()).await.unwrap_or_else(|e| panic!("{e}")).batches;
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
}

/// `examples/churn_features.ag` through `aigridc run`, in-process and on the cluster at `url`.
fn example(url: &str) {
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
    let remote = time(Some(url));
    let _ = std::fs::remove_file(&out);
    println!(
        "examples/churn_features.ag, median of {RUNS}: in-process {:.0} ms, on 2 workers {:.0} ms (+{:.0} ms)",
        local.as_secs_f64() * 1e3,
        remote.as_secs_f64() * 1e3,
        (remote.as_secs_f64() - local.as_secs_f64()) * 1e3
    );
}

/// The source of the 10,000-node no-op DAG (as `executor/benches/overhead.rs`).
fn dag_source() -> String {
    let mut text = String::from("type Row = table { v: i64 }\n\npipeline main() -> Row {\n");
    for c in 0..CHAINS {
        text.push_str(&format!("    let c{c}_0 = sql(\"SELECT CAST({c} AS BIGINT) AS v\")\n"));
        for d in 1..DEPTH {
            text.push_str(&format!(
                "    let c{c}_{d} = sql(\"SELECT * FROM t\", t = c{c}_{})\n",
                d - 1
            ));
        }
    }
    let union: Vec<String> = (0..CHAINS).map(|c| format!("SELECT * FROM c{c}")).collect();
    let inputs: Vec<String> = (0..CHAINS).map(|c| format!("c{c} = c{c}_{}", DEPTH - 1)).collect();
    text.push_str(&format!(
        "    return sql(\"{} ORDER BY v\", {})\n}}\n",
        union.join(" UNION ALL "),
        inputs.join(", ")
    ));
    text
}

/// Runs the 10,000-node DAG from its bound plan in-process and on the cluster at `url`.
fn dag(url: &str) {
    let mut world = MemoryWorld::new();
    let file = world.add_file("dag.ag", &dag_source());
    let Some(plan) = build(&mut world, file, &BuildOptions::default()).plan else {
        panic!("the generated pipeline does not build")
    };
    let library = Library::new(&ModelStore::at("no-models"));
    let time = |remote: Option<Arc<dyn RemoteStages>>| {
        let options = RunOptions { remote, ..RunOptions::default() };
        let mut times = Vec::new();
        for _ in 0..RUNS {
            let started = Instant::now();
            let run =
                aigrid_executor::run(&plan, &library, &options).unwrap_or_else(|e| panic!("{e}"));
            times.push(started.elapsed());
            let rows = run.output.map_or(0, |value| value.rows());
            assert_eq!(rows, CHAINS);
        }
        median(times)
    };
    let local = time(None);
    let cluster = Cluster::new(
        &Access { url: url.to_string(), security: Security::default() },
        library.clone(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let remote = time(Some(Arc::new(cluster)));
    let nodes = (CHAINS * DEPTH) as f64;
    println!(
        "{} nodes, no-op DAG, median of {RUNS}: on 2 workers {:.0} ms = {:.1} µs per node; in-process {:.0} ms = {:.1} µs per node",
        CHAINS * DEPTH,
        remote.as_secs_f64() * 1e3,
        remote.as_secs_f64() * 1e6 / nodes,
        local.as_secs_f64() * 1e3,
        local.as_secs_f64() * 1e6 / nodes,
    );
}

/// Writes a 256 MiB tensor of pseudo-random `f32` in [-1, 1) (as embeddings are) to an Arrow
/// IPC file: as floats, or with the same bytes as `i32`, whose stage Ballista's LZ4 compresses
/// (aigrid's cluster shuffles a stage of floats uncompressed).
fn tensor_file(as_floats: bool) -> std::path::PathBuf {
    let kind = if as_floats { DataType::Float32 } else { DataType::Int32 };
    let item = Arc::new(Field::new("item", kind, false));
    let schema = Arc::new(Schema::new(vec![Field::new(
        "x",
        DataType::FixedSizeList(item.clone(), TENSOR_WIDTH),
        false,
    )]));
    let path = std::env::temp_dir()
        .join(format!("aigrid-bench-tensor-{}-{as_floats}.arrow", std::process::id()));
    let file = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut writer = FileWriter::try_new(file, &schema).unwrap_or_else(|e| panic!("{e}"));
    let rows_per_batch = 8192;
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    for _ in (0..TENSOR_ROWS).step_by(rows_per_batch) {
        let values: Vec<f32> = (0..rows_per_batch * TENSOR_WIDTH as usize)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect();
        let values: datafusion::arrow::array::ArrayRef = if as_floats {
            Arc::new(Float32Array::from(values))
        } else {
            let bits: Vec<i32> = values.iter().map(|v| v.to_bits() as i32).collect();
            Arc::new(datafusion::arrow::array::Int32Array::from(bits))
        };
        let list = FixedSizeListArray::try_new(item.clone(), TENSOR_WIDTH, values, None)
            .unwrap_or_else(|e| panic!("{e}"));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(list)])
            .unwrap_or_else(|e| panic!("{e}"));
        writer.write(&batch).unwrap_or_else(|e| panic!("{e}"));
    }
    writer.finish().unwrap_or_else(|e| panic!("{e}"));
    path
}

/// Runs the job that reads `path` on a worker and fetches its output here, [`RUNS`] times:
/// the median time of the whole and of the fetch alone.
fn move_from_worker(
    runtime: &tokio::runtime::Runtime,
    cluster: &Cluster,
    path: &std::path::Path,
) -> (Duration, Duration) {
    let context = SessionContext::new();
    runtime.block_on(async {
        let options = ArrowReadOptions { file_extension: ".arrow", ..Default::default() };
        let frame = context
            .read_arrow(path.to_string_lossy().as_ref(), options)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let plan = frame.create_physical_plan().await.unwrap_or_else(|e| panic!("{e}"));
        let (mut times, mut moves) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let started = Instant::now();
            let output = cluster.collect(plan.clone()).await.unwrap_or_else(|e| panic!("{e}"));
            times.push(started.elapsed());
            moves.push(output.fetch_time);
            let rows = output.batches.iter().map(RecordBatch::num_rows).sum::<usize>();
            assert_eq!(rows, TENSOR_ROWS);
        }
        (median(times), median(moves))
    })
}

/// Moves a 256 MiB tensor from a worker to this process, next to loopback TCP.
fn transfer(runtime: &tokio::runtime::Runtime, cluster: &Cluster) {
    let bytes = (TENSOR_ROWS * TENSOR_WIDTH as usize * 4) as f64;
    let floats = tensor_file(true);
    let (flight, moved) = move_from_worker(runtime, cluster, &floats);
    let _ = std::fs::remove_file(&floats);
    let same_bytes = tensor_file(false);
    let (lz4_flight, lz4_moved) = move_from_worker(runtime, cluster, &same_bytes);
    let _ = std::fs::remove_file(&same_bytes);
    let tcp = runtime.block_on(async {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut times = Vec::new();
        for _ in 0..RUNS {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
            let started = Instant::now();
            let sender = tokio::spawn(async move {
                let mut stream =
                    tokio::net::TcpStream::connect(address).await.unwrap_or_else(|e| panic!("{e}"));
                let chunk = vec![7u8; 1 << 20];
                for _ in 0..(bytes as usize >> 20) {
                    stream.write_all(&chunk).await.unwrap_or_else(|e| panic!("{e}"));
                }
            });
            let (mut stream, _) = listener.accept().await.unwrap_or_else(|e| panic!("{e}"));
            let mut buffer = vec![0u8; 1 << 20];
            let mut received = 0usize;
            loop {
                let n = stream.read(&mut buffer).await.unwrap_or_else(|e| panic!("{e}"));
                if n == 0 {
                    break;
                }
                received += n;
            }
            times.push(started.elapsed());
            sender.await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(received, bytes as usize);
        }
        median(times)
    });
    let rate = |time: Duration| bytes / time.as_secs_f64() / 1e9;
    println!(
        "the same bytes shuffled with LZ4 (as i32), median of {RUNS}: moved {:.2} GB/s ({:.0} ms); with the job {:.2} GB/s ({:.0} ms)",
        rate(lz4_moved),
        lz4_moved.as_secs_f64() * 1e3,
        rate(lz4_flight),
        lz4_flight.as_secs_f64() * 1e3,
    );
    println!(
        "256 MiB tensor, median of {RUNS}: moved from a worker over Arrow Flight {:.2} GB/s ({:.0} ms; {:.0}% of TCP); with the job that computes it {:.2} GB/s ({:.0} ms); loopback TCP {:.2} GB/s ({:.0} ms)",
        rate(moved),
        moved.as_secs_f64() * 1e3,
        rate(moved) / rate(tcp) * 100.0,
        rate(flight),
        flight.as_secs_f64() * 1e3,
        rate(tcp),
        tcp.as_secs_f64() * 1e3,
    );
}
