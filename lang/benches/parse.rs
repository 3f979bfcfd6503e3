//! Parse throughput: a generated file of about 1 MB holding 10,000 pipeline steps, parsed into
//! the AST (by `parse`, and by pest alone, the reference parser, for comparison); and
//! formatting the same file. Run with `cargo bench -p aigrid-lang`. The allocator is
//! `aigridc`'s, mimalloc: most of a parse's memory traffic is the AST's allocations.

use aigrid_lang::FileId;
use divan::counter::BytesCount;

/// The allocator of `aigridc`, whose parses this measures.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

/// 100 pipelines of 100 steps each, with the variety of real code: calls with named
/// arguments, pipes, attributes, strings, durations, comments and typed parameters.
fn generate() -> String {
    let mut text = String::from("package bench.generated @ 1.0.0\n\nuse std.tensor as t\n\n");
    text += "type Doc = table { id: i64, body: utf8, score: f64? }\n\n";
    text +=
        "@retry(3) @timeout(30s)\nai embed(text: table { body: utf8 }) -> tensor<f32, [N, 384]>\n";
    text += "    where task == \"text-embedding\" && dims == 384 && (gpu || region in [\"eu\", \"us\"])\n";
    text += "    prefer latency_ms asc, cost desc\n    fallback 2\n\n";
    for p in 0..100 {
        text += &format!(
            "/// Pipeline number {p}.\npipeline stage_{p}(src: path, top: i64 = 10, label: utf8 = \"x\") -> Doc {{\n"
        );
        text += "    let step_0: Doc = read_parquet(src)\n";
        for s in 1..100 {
            let prev = s - 1;
            text += &match s % 5 {
                0 => format!(
                    "    // Step {s}: keep rows with a long enough body.\n    let step_{s} = sql(\"SELECT id, body FROM t WHERE length(body) > {s}\", t = step_{prev})\n"
                ),
                1 => format!(
                    "    @cache let step_{s} = embed(step_{prev}) |> t.l2_normalize |> t.scale(factor = 0.{s})\n"
                ),
                2 => format!(
                    "    let step_{s} = t.topk_indices(t.matmul(step_{prev}, t.transpose(step_{prev})), k = top + {s})\n"
                ),
                3 => format!(
                    "    let step_{s}: tensor<f32, [N, 384]> = t.add(step_{prev}, [1.5, 2.5, {s}e-3], axis = -1)\n"
                ),
                _ => format!(
                    "    @retry(2) @timeout({s}s) let step_{s} = filter(step_{prev}, score >= 0.{s} && label != \"skip-{s}\")\n"
                ),
            };
        }
        text += "    write_parquet(step_99, \"out.parquet\")\n    return step_99\n}\n\n";
    }
    text
}

#[divan::bench]
fn parse_10k_steps(bencher: divan::Bencher) {
    let text = generate();
    let parsed = aigrid_lang::parse(FileId(0), &text);
    assert!(parsed.is_ok(), "{:?}", parsed.diagnostics.first());
    assert_eq!(parsed.module.items.len(), 103);
    bencher
        .counter(BytesCount::of_str(&text))
        .bench(|| aigrid_lang::parse(FileId(0), divan::black_box(&text)));
}

#[divan::bench]
fn parse_10k_steps_with_pest_only(bencher: divan::Bencher) {
    let text = generate();
    assert!(aigrid_lang::parse_with_pest_only(FileId(0), &text).is_ok());
    bencher
        .counter(BytesCount::of_str(&text))
        .bench(|| aigrid_lang::parse_with_pest_only(FileId(0), divan::black_box(&text)));
}

#[divan::bench]
fn format_10k_steps(bencher: divan::Bencher) {
    let text = generate();
    let parsed = aigrid_lang::parse(FileId(0), &text);
    bencher
        .counter(BytesCount::of_str(&text))
        .bench(|| aigrid_lang::format(divan::black_box(&parsed), &text));
}
