//! MiniLM embeddings per second for 10,000 sentences through `aigrid_executor::run` (read a CSV,
//! call the built-in AI, write Parquet), next to the model called directly on the same
//! sentences in requests of the card's batch size (64), in the same run.
//!
//! Needs the weights (`aigridc models fetch minilm`); without them it says so and stops.
//! Run with `cargo bench -p aigrid-executor --bench minilm`.

use std::time::Instant;

use aigrid_builtins::{Library, ModelStore};
use aigrid_compiler::{BuildOptions, MemoryWorld, build};

/// The allocator of `aigridc`, whose runs this measures.
#[global_allocator]
static ALLOCATOR: aigrid_executor::Allocator = aigrid_executor::Allocator;

const SENTENCES: usize = 10_000;
const BATCH: usize = 64;

/// Sentences of support tickets and news, varied by a counter (as the builtins' bench).
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
    (0..n).map(|i| format!("{} (ticket {i})", PARTS[i % PARTS.len()])).collect()
}

fn main() {
    aigrid_executor::configure_allocator();
    let store = ModelStore::from_env();
    let model = match store.minilm() {
        Ok(model) => model,
        Err(error) => {
            println!("skipped: {error}");
            return;
        }
    };
    let texts = sentences(SENTENCES);
    let dir = std::env::temp_dir().join(format!("aigrid-bench-minilm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let csv = dir.join("sentences.csv");
    let mut text = String::from("text\n");
    for sentence in &texts {
        text.push_str(sentence);
        text.push('\n');
    }
    std::fs::write(&csv, text).unwrap_or_else(|e| panic!("{e}"));
    let out = dir.join("vectors.parquet");

    // Directly: the model on requests of 64 sentences.
    let started = Instant::now();
    let mut values = 0;
    for chunk in texts.chunks(BATCH) {
        let batch: Vec<Option<&str>> = chunk.iter().map(|s| Some(s.as_str())).collect();
        values += model.embed(&batch).unwrap_or_else(|e| panic!("{e}")).len();
    }
    let direct = started.elapsed().as_secs_f64();
    assert_eq!(values, SENTENCES * 384);

    // Through the executor: the pipeline's plan, built once (not counted).
    let source = format!(
        "use std.io.{{read_csv, write_parquet}}\n\n\
         ai embed(text: list<utf8>) -> tensor<f32, [N, 384]>\n    \
         where task == \"text-embedding\" && dims == 384\n\n\
         pipeline main() {{\n    let docs: table {{ text: utf8 }} = read_csv({csv:?})\n    \
         write_parquet(embed(docs.text), {out:?})\n}}\n"
    );
    let library = Library::new(&store);
    let mut world = MemoryWorld::new();
    for card in library.cards() {
        world.add_card(card);
    }
    let file = world.add_file("minilm.ag", &source);
    let built = build(&mut world, file, &BuildOptions::default());
    let Some(plan) = built.plan else {
        panic!("the pipeline does not build: {:?}", built.diagnostics)
    };
    let started = Instant::now();
    aigrid_executor::run(&plan, &library, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let through_run = started.elapsed().as_secs_f64();
    let written = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    assert!(written > (SENTENCES * 384 * 4) as u64 / 2, "{written} bytes written");
    let _ = std::fs::remove_dir_all(&dir);

    let rate = |seconds: f64| SENTENCES as f64 / seconds;
    println!("model called directly: {:.1} s = {:.1} sentences/s", direct, rate(direct));
    println!(
        "through aigrid run (CSV read, AI call, Parquet write): {:.1} s = {:.1} sentences/s",
        through_run,
        rate(through_run)
    );
    println!("aigrid run gives {:.1}% of the direct rate", 100.0 * direct / through_run);
}
