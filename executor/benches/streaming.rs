//! Streaming: SQL filter → row-wise tensor operation → Parquet write, over a Parquet file of
//! 2 GiB (`id: i64`, `emb: tensor<f32, [128]>`, rows of 520 bytes), through `aigrid_executor::run`,
//! next to the same SQL and write through plain DataFusion in the same run. Prints each one's
//! throughput (input bytes per second) and peak resident memory (reset before each).
//!
//! The input is generated once under the system's temporary directory (`aigrid-bench/`);
//! `AIGRID_STREAM_MIB` sets its size (default 2048). Outputs are removed after each run.
//!
//! Run with `cargo bench -p aigrid-executor --bench streaming`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use aigrid_builtins::{Library, ModelStore};
use aigrid_compiler::{BuildOptions, MemoryWorld, build};
use aigrid_kernels::Tensor;
use datafusion::arrow::array::{Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

/// The allocator of `aigridc`, whose runs this measures.
#[global_allocator]
static ALLOCATOR: aigrid_executor::Allocator = aigrid_executor::Allocator;

const WIDTH: usize = 128;
const BATCH: usize = 65_536;
const ROW_GROUP_ROWS: usize = 131_072;
const RUNS: usize = 3;

/// Writes the input, unless a file of that size is there already.
fn input(mib: usize) -> PathBuf {
    let dir = std::env::temp_dir().join("aigrid-bench");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(format!("stream-{mib}MiB-rg{ROW_GROUP_ROWS}.parquet"));
    if path.exists() {
        return path;
    }
    let rows = mib * (1 << 20) / (8 + 4 * WIDTH);
    let partial = path.with_extension("partial");
    let file = std::fs::File::create(&partial).unwrap_or_else(|e| panic!("{e}"));
    let mut writer = None;
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for start in (0..rows).step_by(BATCH) {
        let n = BATCH.min(rows - start);
        let values: Vec<f32> = (0..n * WIDTH)
            .map(|_| {
                // xorshift: values that do not compress, like real embeddings.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect();
        let emb = Tensor::f32(vec![n, WIDTH], values).unwrap_or_else(|e| panic!("{e}"));
        let (field, array) = emb.to_arrow("emb").unwrap_or_else(|e| panic!("{e}"));
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false), field]));
        let ids = Arc::new(Int64Array::from_iter_values(start as i64..(start + n) as i64));
        let batch = RecordBatch::try_new(schema.clone(), vec![ids, array])
            .unwrap_or_else(|e| panic!("{e}"));
        let writer = writer.get_or_insert_with(|| {
            // Row groups of 64 MiB, as Spark and most writers of large files make them.
            let properties = WriterProperties::builder()
                .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
                .build();
            let file = file.try_clone().unwrap_or_else(|e| panic!("{e}"));
            ArrowWriter::try_new(file, schema, Some(properties)).unwrap_or_else(|e| panic!("{e}"))
        });
        writer.write(&batch).unwrap_or_else(|e| panic!("{e}"));
    }
    if let Some(writer) = writer {
        writer.close().unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::rename(&partial, &path).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// Resets the peak resident memory of this process (Linux), so each measurement has its own.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The peak resident memory since the last reset, in MiB (Linux; 0 elsewhere).
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

const QUERY: &str = "SELECT emb FROM docs WHERE id % 2 = 0";

fn main() {
    aigrid_executor::configure_allocator();
    let mib = std::env::var("AIGRID_STREAM_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(2048);
    let started = Instant::now();
    let path = input(mib);
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64;
    println!(
        "input: {} ({:.0} MiB, ready in {:.1} s)",
        path.display(),
        bytes / (1 << 20) as f64,
        started.elapsed().as_secs_f64()
    );
    let out = path.with_file_name("stream-out.parquet");
    let mut plain = Vec::new();
    let mut aigrid = Vec::new();
    for _ in 0..RUNS {
        plain.push(datafusion_alone(&path, &out));
        aigrid.push(through_aigrid(&path, &out));
    }
    let report = |name: &str, runs: &mut Vec<(f64, f64)>| {
        runs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (seconds, _) = runs[RUNS / 2];
        let peak = runs.iter().map(|r| r.1).fold(0.0, f64::max);
        println!(
            "{name}: median {seconds:.2} s of {RUNS} = {:.0} MiB/s; peak RSS {peak:.0} MiB",
            bytes / seconds / (1 << 20) as f64
        );
        seconds
    };
    let plain = report("plain DataFusion (SQL, Parquet write)", &mut plain);
    let ours = report("aigrid run (SQL, l2_normalize, Parquet write)", &mut aigrid);
    println!("aigrid's throughput is {:.0}% of plain DataFusion's", 100.0 * plain / ours);
}

/// The query and the write through DataFusion alone: seconds and peak RSS in MiB.
fn datafusion_alone(input: &Path, out: &Path) -> (f64, f64) {
    reset_peak();
    let started = Instant::now();
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(async {
        let context = SessionContext::new();
        let source = input.to_string_lossy();
        context
            .register_parquet("docs", source.as_ref(), ParquetReadOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let frame = context.sql(QUERY).await.unwrap_or_else(|e| panic!("{e}"));
        let options = DataFrameWriteOptions::new().with_single_file_output(true);
        frame
            .write_parquet(&out.to_string_lossy(), options, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    });
    let seconds = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(out);
    (seconds, peak_mib())
}

/// The pipeline through aigrid: seconds (compile excluded) and peak RSS in MiB.
fn through_aigrid(input: &Path, out: &Path) -> (f64, f64) {
    let source = format!(
        "use std.io.{{read_parquet, write_parquet}}\nuse std.tensor.{{l2_normalize}}\n\n\
         type Docs = table {{ id: i64, emb: tensor<f32, [{WIDTH}]> }}\n\n\
         pipeline main() {{\n    let docs: Docs = read_parquet({input:?})\n    \
         let kept = sql(\"{QUERY}\", docs = docs)\n    \
         write_parquet(kept.emb |> l2_normalize, {out:?})\n}}\n",
    );
    let mut world = MemoryWorld::new();
    let file = world.add_file("stream.ag", &source);
    let built = build(&mut world, file, &BuildOptions::default());
    let Some(plan) = built.plan else { panic!("the pipeline does not build: {source}") };
    let library = Library::new(&ModelStore::at("no-models"));
    reset_peak();
    let started = Instant::now();
    aigrid_executor::run(&plan, &library, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let seconds = started.elapsed().as_secs_f64();
    let written = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    assert!(written > 0, "aigrid wrote nothing");
    let _ = std::fs::remove_file(out);
    (seconds, peak_mib())
}
