//! Random well-formed programs (chains of tensor and table steps, with repeated expressions,
//! unused steps and parameters) compile to a plan without errors; the plan is deterministic and
//! reads back from JSON and YAML unchanged.

// PROPTEST_CASES comes from the environment, as in proptest itself; the compiler reads none.
#![allow(clippy::disallowed_methods)]

use aigrid_compiler::{BuildOptions, MemoryWorld, Plan, build};
use proptest::prelude::*;

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// One step of a generated pipeline; operands are indexes into the values made so far.
#[derive(Clone, Debug)]
enum Step {
    Unary(&'static str, usize),
    Binary(&'static str, usize, usize),
    Scale(usize, i32),
    Softmax(usize),
    Query(usize, i64),
    Count(usize),
    Write(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (
            proptest::sample::select(vec!["exp", "relu", "sigmoid", "neg", "gelu", "l2_normalize"]),
            0..64usize
        )
            .prop_map(|(op, a)| Step::Unary(op, a)),
        (proptest::sample::select(vec!["add", "sub", "mul", "div"]), 0..64usize, 0..64usize)
            .prop_map(|(op, a, b)| Step::Binary(op, a, b)),
        (0..64usize, -4..4i32).prop_map(|(a, k)| Step::Scale(a, k)),
        (0..64usize).prop_map(Step::Softmax),
        (0..64usize, 0..100i64).prop_map(|(a, n)| Step::Query(a, n)),
        (0..64usize).prop_map(Step::Count),
        (0..64usize).prop_map(Step::Write),
    ]
}

/// The program: tensors `t0..` start from `x`, tables `s0..` from `docs`.
fn program(steps: &[Step]) -> String {
    let mut text = String::from(
        "use std.io.{write_parquet}\nuse std.table.{count}\nuse std.tensor.{add, div, exp, gelu, l2_normalize, mul, neg, relu, scale, sigmoid, softmax, sub}\n\n",
    );
    text.push_str("pipeline p(x: tensor<f32, [N, 8]>, docs: table { id: i64, body: utf8 }, k: i64 = 3) -> tensor<f32, [N, 8]> {\n");
    text.push_str("    let t0 = x\n    let s0 = docs\n");
    let (mut tensors, mut tables) = (1, 1);
    for (index, step) in steps.iter().enumerate() {
        let t = |i: usize| format!("t{}", i % tensors);
        let s = |i: usize| format!("s{}", i % tables);
        let line = match step {
            Step::Unary(op, a) => format!("let t{tensors} = {op}({})", t(*a)),
            Step::Binary(op, a, b) => format!("let t{tensors} = {op}({}, {})", t(*a), t(*b)),
            Step::Scale(a, k) => format!("let t{tensors} = {} |> scale({k}.5)", t(*a)),
            Step::Softmax(a) => format!("let t{tensors} = softmax({}, axis = -1)", t(*a)),
            Step::Query(a, n) => format!(
                "let s{tables} = sql(\"SELECT id, body FROM q WHERE id > {n} + k\", q = {})",
                s(*a)
            )
            .replace(" + k", ""),
            Step::Count(a) => format!("let _n{index} = count({}) + k", s(*a)),
            Step::Write(a) => format!("write_parquet({}, \"target/t{index}.parquet\")", s(*a)),
        };
        match step {
            Step::Unary(..) | Step::Binary(..) | Step::Scale(..) | Step::Softmax(_) => tensors += 1,
            Step::Query(..) => tables += 1,
            _ => {}
        }
        text.push_str("    ");
        text.push_str(&line);
        text.push('\n');
    }
    // Every value is used: the tables by a count, the tensors summed into the result.
    for i in 0..tables {
        text.push_str(&format!("    let _c{i} = count(s{i})\n"));
    }
    let mut result = String::from("t0");
    for i in 1..tensors {
        result = format!("add({result}, t{i})");
    }
    text.push_str(&format!("    return {result}\n}}\n"));
    text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(48)))]

    #[test]
    fn well_formed_programs_compile_deterministically(steps in proptest::collection::vec(step(), 0..24)) {
        let text = program(&steps);
        let mut world = MemoryWorld::new();
        let file = world.add_file("generated.ag", &text);
        let built = build(&mut world, file, &BuildOptions::default());
        let errors: Vec<_> = built.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.message.clone()).collect();
        prop_assert!(errors.is_empty(), "{errors:?}\n{text}");
        let Some(plan) = built.plan else { return Err(TestCaseError::fail("no plan")) };
        // The same inputs give the same bytes.
        let mut again_world = MemoryWorld::new();
        let again_file = again_world.add_file("generated.ag", &text);
        let again = build(&mut again_world, again_file, &BuildOptions::default());
        prop_assert_eq!(again.plan.map(|p| p.to_json()), Some(plan.to_json()));
        // JSON and YAML read back unchanged.
        let json = Plan::from_json(&plan.to_json());
        prop_assert!(json.is_ok(), "{json:?}");
        prop_assert_eq!(json.ok(), Some(plan.clone()));
        let yaml = Plan::from_yaml(&plan.to_yaml());
        prop_assert!(yaml.is_ok(), "{yaml:?}");
        prop_assert_eq!(yaml.ok(), Some(plan));
    }
}
