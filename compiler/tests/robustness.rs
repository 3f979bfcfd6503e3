//! Whatever the input, `check` (parsing, name resolution, type checking, SQL planning by
//! DataFusion) and `build` (lowering, optimisation, the plan) return diagnostics and never
//! panic: token soups, the examples with lines deleted or repeated, and `sql` steps holding
//! random SQL over known schemas.

// The examples are read from disk; the compiler itself does no IO.
#![allow(clippy::disallowed_methods)]

use aigrid_compiler::{BuildOptions, MemoryWorld, build, check};
use proptest::prelude::*;

fn run(text: &str) {
    let mut world = MemoryWorld::new();
    world.add_package_file("acme.textkit", "textkit.ag", "package acme.textkit @ 0.3.0\n\ntype Doc = table { id: i64, body: utf8 }\n\npipeline tidy(docs: Doc) -> Doc {\n    return docs\n}\n");
    let file = world.add_file("input.ag", text);
    let _ = check(&mut world, &[file]);
    let _ = build(&mut world, file, &BuildOptions::default());
}

fn examples() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut texts: Vec<String> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "ag"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect();
    texts.sort();
    texts
}

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const TOKENS: &[&str] = &[
    "use",
    "std.io.{read_csv}",
    "std.tensor",
    "as",
    "t",
    "type",
    "Doc",
    "=",
    "table",
    "{",
    "}",
    "id:",
    "i64",
    ",",
    "ai",
    "pipeline",
    "test",
    "\"t\"",
    "p",
    "(",
    ")",
    "->",
    "let",
    "x",
    "return",
    "assert",
    "sql(\"SELECT id FROM d\", d = x)",
    "|>",
    "t.softmax",
    "read_csv(\"a\")",
    "\n",
    "@cache",
    "x.id",
];

const SQL: &[&str] = &[
    "SELECT",
    "id",
    "body",
    "FROM",
    "docs",
    "WHERE",
    "length(body)",
    ">",
    "0",
    "GROUP",
    "BY",
    "ORDER",
    "COUNT(*)",
    "OVER",
    "(",
    ")",
    "PARTITION",
    "JOIN",
    "ON",
    "=",
    ",",
    "*",
    "'x'",
    "NULL",
    "AS",
    "n",
    "UNION",
    "ALL",
    "WITH",
    "t",
    "CAST",
    "INT",
    "CASE",
    "WHEN",
    "THEN",
    "END",
    ";",
    "--",
    "\"",
    "\\",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(128), ..ProptestConfig::default() })]

    #[test]
    fn token_soups(tokens in proptest::collection::vec(proptest::sample::select(TOKENS), 0..120)) {
        run(&tokens.join(" "));
    }

    #[test]
    fn examples_with_lines_deleted_or_repeated(
        pick in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<bool>()), 1..6),
    ) {
        let examples = examples();
        prop_assume!(!examples.is_empty());
        let mut lines: Vec<&str> = pick.get(&examples).lines().collect();
        for (at, delete) in edits {
            if lines.is_empty() {
                break;
            }
            let i = at.index(lines.len());
            if delete { lines.remove(i); } else { lines.insert(i, lines[i]); }
        }
        run(&lines.join("\n"));
    }

    #[test]
    fn random_sql_over_known_schemas(words in proptest::collection::vec(proptest::sample::select(SQL), 0..40)) {
        let query = words.join(" ").replace('"', "\\\"");
        run(&format!(
            "type Doc = table {{ id: i64, body: utf8 }}\n\npipeline p(docs: Doc) -> Doc {{\n    return sql(\"\"\"{}\"\"\", docs = docs)\n}}\n",
            words.join(" ").replace("\"\"\"", "")
        ));
        run(&format!(
            "type Doc = table {{ id: i64, body: utf8 }}\n\npipeline p(docs: Doc) -> Doc {{\n    return sql(\"{query}\", docs = docs)\n}}\n"
        ));
    }
}

/// A long chain of `sql` steps builds: merging stops at runs of a few queries, since
/// DataFusion's planning time grows exponentially with nested `WITH`s (a chain of 40 once took
/// minutes).
#[test]
fn a_long_chain_of_queries_is_merged_in_runs() {
    let mut text = String::from(
        "pipeline main() -> table { v: i64 } {\n    let c0 = sql(\"SELECT 1 AS v\")\n",
    );
    for d in 1..40 {
        text.push_str(&format!("    let c{d} = sql(\"SELECT * FROM t\", t = c{})\n", d - 1));
    }
    text.push_str("    return c39\n}\n");
    let mut world = aigrid_compiler::MemoryWorld::new();
    let file = world.add_file("chain.ag", &text);
    let built = aigrid_compiler::build(&mut world, file, &aigrid_compiler::BuildOptions::default());
    let plan = built.plan.unwrap_or_else(|| panic!("the chain does not build"));
    let queries = plan.nodes.iter().filter(|n| matches!(n.op, aigrid_compiler::PlanOp::Sql { .. }));
    // 40 queries in runs of at most 8 merged ones: 5 or more remain.
    assert!((5..40).contains(&queries.count()));
}
