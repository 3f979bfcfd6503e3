//! The formatter's contract (idempotent, AST unchanged, every comment kept) on the examples,
//! the spec and generated programs; and the canonical layout of each construct.

// Tests read the examples from disk; the library itself does no IO.
#![allow(clippy::disallowed_methods)]

mod common;

use expect_test::{Expect, expect};
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

fn check(input: &str, expected: Expect) {
    expected.assert_eq(&common::assert_format_contract("input", input));
}

#[test]
fn every_example_keeps_its_contract_and_is_formatted() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut files = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "ag") {
                files.push(path);
            }
        }
    }
    assert!(files.len() >= 6, "examples/ should hold at least 6 pipelines");
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let formatted = common::assert_format_contract(&path.display().to_string(), &text);
        assert_eq!(
            formatted,
            text,
            "{} is not formatted (run `aigridc fmt examples`)",
            path.display()
        );
    }
}

#[test]
fn layout_of_items() {
    check(
        "/// doc\npackage  acme.search@1.2.0\nuse std.io.{read_csv,write_csv as w}\nuse std.tensor as t\ntype Doc=table{id:i64,body:utf8?}\ntype V = tensor<f32,[N,384,_]>\n@retry(3)@timeout(30s)\nai embed(text:table{body:utf8})->tensor<f32,[N,384]> where task==\"e\"&&gpu prefer latency_ms asc,cost fallback 2\n",
        expect![[r#"
            /// doc
            package acme.search @ 1.2.0

            use std.io.{read_csv, write_csv as w}
            use std.tensor as t

            type Doc = table { id: i64, body: utf8? }
            type V = tensor<f32, [N, 384, _]>

            @retry(3) @timeout(30s)
            ai embed(text: table { body: utf8 }) -> tensor<f32, [N, 384]>
                where task == "e" && gpu
                prefer latency_ms asc, cost
                fallback 2
        "#]],
    );
}

#[test]
fn layout_of_pipelines_and_comments() {
    check(
        "pipeline index(src:path,top:i64=10)->list<i64>{ // header note\nlet docs:Doc=read(src) // trailing\n\n\n  // before vecs\n@cache let vecs=embed(docs)|>t.l2_normalize\n  write(vecs,out=\"a.parquet\")\nreturn t.topk(vecs,k=top) /* end */\n// last\n}\ntest \"it works\"{assert index(\"a\")!=null,\"msg\"}\n",
        expect![[r#"
            pipeline index(src: path, top: i64 = 10) -> list<i64> {
                // header note
                let docs: Doc = read(src) // trailing

                // before vecs
                @cache let vecs = embed(docs) |> t.l2_normalize
                write(vecs, out = "a.parquet")
                return t.topk(vecs, k = top) /* end */
                // last
            }

            test "it works" {
                assert index("a") != null, "msg"
            }
        "#]],
    );
}

#[test]
fn long_lines_break_one_element_per_line() {
    check(
        "pipeline p(first_parameter: table { id: i64, body: utf8, label: utf8 }, second: tensor<f32, [N, 384]>) {\n    let x = some_function(first_argument_value, second_argument_value, named_argument = 1234567890123)\n    let y = source |> step_one(alpha = 1) |> step_two(beta = 2) |> step_three(gamma = 3) |> step_four\n}\n",
        expect![[r#"
            pipeline p(
                first_parameter: table { id: i64, body: utf8, label: utf8 },
                second: tensor<f32, [N, 384]>,
            ) {
                let x = some_function(
                    first_argument_value,
                    second_argument_value,
                    named_argument = 1234567890123,
                )
                let y = source
                    |> step_one(alpha = 1)
                    |> step_two(beta = 2)
                    |> step_three(gamma = 3)
                    |> step_four
            }
        "#]],
    );
}

#[test]
fn pipe_chains_broken_by_the_author_stay_broken() {
    check(
        "pipeline p() {\n    let y = a\n        |> f\n}\n",
        expect![[r#"
            pipeline p() {
                let y = a
                    |> f
            }
        "#]],
    );
}

#[test]
fn raw_strings_and_literals_are_kept_verbatim() {
    check(
        "pipeline p() {\n    let q = sql(\"\"\"\n  SELECT *\n    FROM t\"\"\", t = x)\n    let n = [1_000, 2.5e3, 30s, \"a\\tb\", true, null]\n}\n",
        expect![[r#"
            pipeline p() {
                let q = sql(
                    """
              SELECT *
                FROM t""",
                    t = x,
                )
                let n = [1_000, 2.5e3, 30s, "a\tb", true, null]
            }
        "#]],
    );
}

// Generated programs: valid by construction, with comments in many places.

fn name() -> impl Strategy<Value = String> {
    proptest::sample::select(vec!["a", "docs", "vecs", "t", "f", "g", "x1", "_tmp", "top"])
        .prop_map(str::to_owned)
}

fn literal() -> impl Strategy<Value = String> {
    proptest::sample::select(vec![
        "0",
        "42",
        "1_000",
        "1.5",
        "2e-3",
        "\"text\"",
        "\"a\\n\\\"b\\\"\"",
        "\"\"\"SELECT 1\"\"\"",
        "30s",
        "100ms",
        "true",
        "false",
        "null",
    ])
    .prop_map(str::to_owned)
}

fn expr() -> BoxedStrategy<String> {
    let leaf = prop_oneof![name(), literal()];
    leaf.prop_recursive(4, 32, 4, |inner| {
        let op = proptest::sample::select(vec![
            "|>", "||", "&&", "==", "!=", "<", "<=", ">", ">=", "in", "+", "-", "*", "/", "%",
        ]);
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.clone().prop_map(|a| format!("!{a}")),
            (inner.clone(), name()).prop_map(|(a, n)| format!("({a}).{n}")),
            (
                name(),
                proptest::collection::vec(inner.clone(), 0..4),
                proptest::option::of((name(), inner.clone()))
            )
                .prop_map(|(f, args, named)| {
                    let mut args = args;
                    if let Some((n, v)) = named {
                        args.push(format!("{n} = {v}"));
                    }
                    format!("{f}({})", args.join(", /* arg */ "))
                }),
            proptest::collection::vec(inner, 0..4)
                .prop_map(|items| format!("[{}]", items.join(", "))),
        ]
    })
    .boxed()
}

fn ty() -> BoxedStrategy<String> {
    let scalar = proptest::sample::select(vec![
        "i64",
        "utf8",
        "f32",
        "bool",
        "path",
        "Doc",
        "acme.text.Doc",
    ])
    .prop_map(str::to_owned);
    scalar
        .prop_recursive(3, 12, 3, |inner| {
            prop_oneof![
                inner.clone().prop_map(|t| if t.ends_with('?') { t } else { format!("{t}?") }),
                inner.clone().prop_map(|t| format!("list<{t}>")),
                proptest::collection::vec((name(), inner), 0..4).prop_map(|fields| {
                    let fields: Vec<_> = fields.iter().map(|(n, t)| format!("{n}: {t}")).collect();
                    format!("table {{ {} }}", fields.join(", "))
                }),
                Just("tensor<f32, [N, 384, _]>".to_owned()),
            ]
        })
        .boxed()
}

fn stmt() -> impl Strategy<Value = String> {
    prop_oneof![
        (name(), proptest::option::of(ty()), expr()).prop_map(|(n, t, e)| match t {
            Some(t) => format!("let {n}: {t} = {e}"),
            None => format!("let {n} = {e}"),
        }),
        (name(), expr()).prop_map(|(n, e)| format!("@cache @retry(2) let {n} = {e} // trailing")),
        expr().prop_map(|e| format!("return {e}")),
        expr().prop_map(|e| format!("assert {e}, \"message\"")),
        (name(), expr()).prop_map(|(f, e)| format!("{f}({e})")),
        Just("// a comment on its own line".to_owned()),
    ]
}

fn item() -> impl Strategy<Value = String> {
    let params = proptest::collection::vec((name(), ty(), proptest::option::of(literal())), 0..4)
        .prop_map(|ps| {
            ps.iter()
                .map(|(n, t, d)| match d {
                    Some(d) => format!("{n}: {t} = {d}"),
                    None => format!("{n}: {t}"),
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .boxed();
    prop_oneof![
        (name(), params.clone(), proptest::option::of(ty()), proptest::collection::vec(stmt(), 0..6)).prop_map(
            |(n, ps, ret, body)| {
                let ret = ret.map(|r| format!(" -> {r}")).unwrap_or_default();
                format!("/// Docs.\npipeline {n}({ps}){ret} {{\n{}\n}}", body.join("\n\n"))
            }
        ),
        (name(), params, ty(), expr(), proptest::option::of(0u32..5)).prop_map(|(n, ps, ret, pred, fallback)| {
            let fallback = fallback.map(|f| format!("\n fallback {f}")).unwrap_or_default();
            format!("@retry(3) @timeout(30s)\nai {n}({ps}) -> {ret}\n where {pred} // why\n prefer latency_ms asc, cost{fallback}")
        }),
        (name(), ty()).prop_map(|(n, t)| format!("type {n} = {t} /* alias */")),
        name().prop_map(|n| format!("use std.io.{{read_csv, {n} as other}}")),
        proptest::collection::vec(stmt(), 0..4).prop_map(|body| format!("test \"t\" {{\n{}\n}}", body.join("\n"))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::cases(256), ..ProptestConfig::default() })]

    #[test]
    fn generated_programs_keep_the_format_contract(items in proptest::collection::vec(item(), 0..6)) {
        let text = format!("// leading comment\n{}\n// final comment\n", items.join("\n\n"));
        common::assert_format_contract(&text, &text);
    }
}
