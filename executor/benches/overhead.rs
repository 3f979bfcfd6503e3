//! Per-node overhead of the executor: a generated pipeline of 10,000 no-op nodes (100
//! independent chains of 100, each node `SELECT * FROM t` over the one-row table before it),
//! whose result is the union of the chains' last tables (one more node), run in process.
//! Compilation is excluded; the time is the whole run, from the bound plan to the result, which
//! is checked. Prints µs per source node.
//!
//! The executor sees that `SELECT * FROM t` yields its input, so a second pipeline of the same
//! shape whose nodes do work (`SELECT v + 1 AS v FROM t`) shows the cost of a node that is
//! planned, optimised and run.
//!
//! Run with `cargo bench -p aigrid-executor --bench overhead`.

use std::time::Instant;

use aigrid_builtins::{Library, ModelStore};
use aigrid_compiler::{BuildOptions, MemoryWorld, build};
use datafusion::arrow::array::{Array, Int64Array};

const CHAINS: usize = 100;
const DEPTH: usize = 100;
const RUNS: usize = 5;

fn source(step: &str) -> String {
    let mut text = String::from("type Row = table { v: i64 }\n\npipeline main() -> Row {\n");
    for c in 0..CHAINS {
        text.push_str(&format!("    let c{c}_0 = sql(\"SELECT CAST({c} AS BIGINT) AS v\")\n"));
        for d in 1..DEPTH {
            let before = d - 1;
            text.push_str(&format!("    let c{c}_{d} = sql(\"{step}\", t = c{c}_{before})\n"));
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

fn main() {
    measure("SELECT * FROM t", 0);
    measure("SELECT v + 1 AS v FROM t", DEPTH as i64 - 1);
}

/// Runs the pipeline whose nodes are `step`, `RUNS` times; checks that chain `c` gave
/// `c + added`.
fn measure(step: &str, added: i64) {
    let mut world = MemoryWorld::new();
    let file = world.add_file("overhead.ag", &source(step));
    let started = Instant::now();
    let built = build(&mut world, file, &BuildOptions::default());
    let Some(plan) = built.plan else { panic!("the generated pipeline does not build") };
    let nodes = CHAINS * DEPTH;
    println!(
        "`{step}`: compiled {nodes} source nodes into {} plan nodes in {:.2} s (not counted)",
        plan.nodes.len(),
        started.elapsed().as_secs_f64()
    );
    let library = Library::new(&ModelStore::at("no-models"));
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        let run = aigrid_executor::run(&plan, &library, &Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        times.push(started.elapsed().as_secs_f64());
        assert_eq!(run.nodes.len(), plan.nodes.len());
        let Some(output) = run.output else { panic!("the pipeline returned nothing") };
        let batch = output.batch().unwrap_or_else(|e| panic!("{e}"));
        let values = batch.column(0).as_any().downcast_ref::<Int64Array>().map(|a| a.values());
        let expected: Vec<i64> = (0..CHAINS as i64).map(|c| c + added).collect();
        assert_eq!(values.map(|v| v.to_vec()), Some(expected));
        assert_eq!(batch.column(0).null_count(), 0);
    }
    times.sort_by(f64::total_cmp);
    let median = times[RUNS / 2];
    println!(
        "  run: median {:.1} ms of {RUNS} = {:.2} µs per source node ({:.2} µs per plan node)",
        median * 1e3,
        median * 1e6 / nodes as f64,
        median * 1e6 / plan.nodes.len() as f64
    );
}
