//! Per-node overhead of the executor: a generated pipeline of 10,000 no-op nodes (100
//! independent chains of 100, each node `SELECT * FROM t` over the one-row table before it,
//! each chain written to a CSV file), run in process. Compilation is excluded; the time is the
//! whole run, from the bound plan to the last file written. Prints µs per source node.
//!
//! Run with `cargo bench -p aigrid-executor --bench overhead`.

use std::time::Instant;

use aigrid_builtins::{Library, ModelStore};
use aigrid_compiler::{BuildOptions, MemoryWorld, build};

const CHAINS: usize = 100;
const DEPTH: usize = 100;
const RUNS: usize = 5;

fn source() -> String {
    let mut text = String::from("use std.io.{write_csv}\n\npipeline main() {\n");
    for c in 0..CHAINS {
        text.push_str(&format!("    let c{c}_0 = sql(\"SELECT {c} AS v\")\n"));
        for d in 1..DEPTH {
            let before = d - 1;
            text.push_str(&format!(
                "    let c{c}_{d} = sql(\"SELECT * FROM t\", t = c{c}_{before})\n"
            ));
        }
        text.push_str(&format!("    write_csv(c{c}_{}, \"out/c{c}.csv\")\n", DEPTH - 1));
    }
    text.push_str("}\n");
    text
}

fn main() {
    let dir = std::env::temp_dir().join(format!("aigrid-overhead-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    std::env::set_current_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut world = MemoryWorld::new();
    let file = world.add_file("overhead.ag", &source());
    let started = Instant::now();
    let built = build(&mut world, file, &BuildOptions::default());
    let Some(plan) = built.plan else { panic!("the generated pipeline does not build") };
    let nodes = CHAINS * DEPTH;
    println!(
        "compiled {nodes} source nodes into {} plan nodes in {:.2} s (not counted)",
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
    }
    let written = std::fs::read_to_string(dir.join("out/c42.csv")).unwrap_or_default();
    assert_eq!(written, "v\n42\n");
    times.sort_by(f64::total_cmp);
    let median = times[RUNS / 2];
    println!(
        "run: median {:.1} ms of {RUNS} = {:.2} µs per source node ({:.2} µs per plan node)",
        median * 1e3,
        median * 1e6 / nodes as f64,
        median * 1e6 / plan.nodes.len() as f64
    );
    let _ = std::fs::remove_dir_all(&dir);
}
