//! Compile time: generated programs of 1,000, 10,000 and 100,000 steps, from source text to the
//! optimised plan (parse, resolve, type-check with SQL planned by DataFusion, lower, optimise,
//! write the plan). Peak memory is reported by divan's allocation profiler. Run with
//! `cargo bench -p aigrid-compiler`.

use aigrid_compiler::{BuildOptions, MemoryWorld, build};

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

fn main() {
    divan::main();
}

/// `steps / 100` pipelines of 100 steps each, called in a chain by the entry pipeline: tensor
/// kernels (some fusable), an `ai` call, table columns and one SQL step in ten.
fn generate(steps: usize) -> String {
    let mut text = String::from(
        "use std.table.{count, select}\nuse std.tensor.{add, l2_normalize, matmul, relu, scale, sum, transpose}\n\n",
    );
    text += "type Doc = table { id: i64, body: utf8 }\n\n";
    text += "ai embed(text: list<utf8>) -> tensor<f32, [N, 64]>\n    where task == \"text-embedding\" && dims == 64\n\n";
    let pipelines = (steps / 100).max(1);
    for p in 0..pipelines {
        text += &format!(
            "pipeline stage_{p}(docs: Doc, x: tensor<f32, [N, 64]>, k: i64 = 3) -> tensor<f32, [N, 64]> {{\n"
        );
        text += "    let v0 = x\n    let d0 = docs\n";
        let (mut v, mut d) = (0, 0);
        for s in 1..100 {
            let line = match s % 10 {
                0 => {
                    d += 1;
                    format!(
                        "let d{d} = sql(\"SELECT id, body FROM t WHERE id > {s}\", t = d{})",
                        d - 1
                    )
                }
                1 => format!("let v{} = embed(d{d}.body) |> l2_normalize", v + 1),
                2 => format!("let v{} = matmul(v{v}, matmul(transpose(v{v}), v{v}))", v + 1),
                3..=5 => format!("let v{} = scale(v{v}, 0.{s}) |> relu", v + 1),
                6 => format!("let v{} = add(v{v}, sum(v{v}, axis = 0))", v + 1),
                7 => format!("let _n{s} = count(d{d}) + k"),
                8 => format!("let _t{s} = select(d{d}, id = d{d}.id)"),
                _ => format!("let v{} = add(v{v}, v{})", v + 1, v.max(1) - 1),
            };
            if !line.starts_with("let _") && !line.starts_with("let d") {
                v += 1;
            }
            text += "    ";
            text += &line;
            text += "\n";
        }
        text += &format!("    let _last = count(d{d})\n    return v{v}\n}}\n\n");
    }
    text += "pipeline main(docs: Doc, x: tensor<f32, [N, 64]>) -> tensor<f32, [N, 64]> {\n    let v0 = x\n";
    for p in 0..pipelines {
        text += &format!("    let v{} = stage_{p}(docs, v{p})\n", p + 1);
    }
    text += &format!("    return v{pipelines}\n}}\n");
    text
}

/// The grid AI the generated `embed` binds to.
fn card() -> aigrid_discovery::Card {
    let card = aigrid_discovery::Card::from_yaml(
        "id: embed-64\nname: embeddings\nversion: 1.0.0\nowner: bench\ntask: text-embedding\n\
         signature: \"(text: list<utf8>) -> tensor<f32, [N, 64]>\"\nattributes: { dims: 64 }\n\
         endpoint: \"builtin:embed\"\n",
    );
    card.unwrap_or_else(|e| panic!("{e}"))
}

#[divan::bench(args = [1_000, 10_000, 100_000], sample_count = 5)]
fn compile(bencher: divan::Bencher, steps: usize) {
    let text = generate(steps);
    bencher.bench_local(|| {
        let mut world = MemoryWorld::new();
        world.add_card(card());
        let file = world.add_file("generated.ag", &text);
        let options = BuildOptions { pipeline: Some("main".into()), ..BuildOptions::default() };
        let built = build(&mut world, file, &options);
        assert!(built.plan.is_some(), "{:?}", built.diagnostics.first());
        built
    });
}
