//! The latency of one call of each built-in AI with `batch_size` rows (the `latency_ms` of its
//! card), and MiniLM's embeddings per second over 1,000 sentences.
//!
//! `cargo bench -p aigrid-builtins` (MiniLM needs `aigridc models fetch minilm`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use aigrid_builtins::{Args, Library, ModelStore, Value};
use aigrid_discovery::AttrValue;
use aigrid_kernels::Tensor;
use arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};

/// Sentences of support tickets and news, 8 to 30 words, varied by a counter.
fn sentences(n: usize) -> Vec<String> {
    const PARTS: [&str; 8] = [
        "I cannot log in to my account since the last update",
        "The invoice for March was sent to the wrong billing address and nobody answered my emails",
        "Please add an export to CSV for the quarterly report",
        "The harbour council approved a new budget for the northern piers on Tuesday",
        "Our team loves the new dashboard but the loading time is still slow on mobile",
        "Refunds are processed within five business days after the return arrives",
        "Analysts expect the central bank to hold interest rates steady this quarter",
        "The app crashes when I upload a photo larger than ten megabytes",
    ];
    (0..n).map(|i| format!("{} (ticket {i}).", PARTS[i % PARTS.len()])).collect()
}

fn texts(n: usize) -> Value {
    Value::list(Arc::new(StringArray::from(sentences(n))))
}

/// Articles of 12 sentences.
fn articles(n: usize) -> Value {
    let s = sentences(12);
    Value::list(Arc::new(StringArray::from(vec![s.join(" "); n])))
}

fn vectors(n: usize, d: usize) -> Value {
    let values = (0..n * d).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
    Value::tensor(&Tensor::f32(vec![n, d], values).unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn table(n: usize) -> Value {
    let schema = Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Int64, false),
        Field::new("fee", DataType::Float64, false),
        Field::new("tickets", DataType::Float64, false),
        Field::new("label", DataType::Int64, false),
    ]));
    let ids: Vec<i64> = (0..n as i64).collect();
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(ids.clone())),
            Arc::new(Float64Array::from_iter_values(ids.iter().map(|i| (i % 17) as f64 * 10.0))),
            Arc::new(Float64Array::from_iter_values(ids.iter().map(|i| (i % 5) as f64))),
            Arc::new(Int64Array::from_iter_values(ids.iter().map(|i| i % 2))),
        ],
    );
    Value::Table(batch.unwrap_or_else(|e| panic!("{e}")))
}

/// The median of `runs` timings of `f` (after one warm-up call).
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let library = Library::new(&ModelStore::from_env());
    for missing in library.missing() {
        println!("{:<26} not offered: {}", missing.card.id, missing.hint);
    }
    println!("{:<26} {:>10} {:>12}", "card", "batch_size", "latency_ms");
    for builtin in library.offered() {
        let card = builtin.card();
        let batch = match card.attributes.get("batch_size") {
            Some(AttrValue::Int(n)) => *n as usize,
            _ => 64,
        };
        let name = card.endpoint.trim_start_matches("builtin:");
        let mut args = Args::new();
        let rows = match name {
            "knn" | "knn-labels" | "logreg" => {
                args.insert("examples".into(), vectors(200, 384));
                let labels: Vec<&str> = (0..200).map(|i| ["pos", "neg", "neu"][i % 3]).collect();
                args.insert("labels".into(), Value::list(Arc::new(StringArray::from(labels))));
                vectors(batch, 384)
            }
            "logreg-tabular" => {
                args.insert("train".into(), table(1000));
                table(batch)
            }
            "lead" | "summarize" | "summarize-minilm" => articles(batch),
            _ => texts(batch),
        };
        let call = builtin.prepare(&args).unwrap_or_else(|e| panic!("{name}: {e}"));
        let runs = if name.contains("minilm") { 5 } else { 21 };
        let time = median(runs, || {
            call.call(&rows).unwrap_or_else(|e| panic!("{name}: {e}"));
        });
        println!("{:<26} {batch:>10} {:>12.2}", card.id, time.as_secs_f64() * 1e3);
    }
    if let Some(minilm) = library.get("minilm") {
        let call = minilm.prepare(&Args::new()).unwrap_or_else(|e| panic!("{e}"));
        let rows = texts(1000);
        let time = median(3, || {
            call.call(&rows).unwrap_or_else(|e| panic!("{e}"));
        });
        println!(
            "minilm: 1,000 sentences in {:.2} s, {:.0} embeddings/s",
            time.as_secs_f64(),
            1000.0 / time.as_secs_f64()
        );
    }
}
