//! `aigridc graph`: the optimised graph of a pipeline as Graphviz dot, a Mermaid flowchart or
//! JSON. Edges are labelled with the type of the value they carry; the nodes inlined from a
//! pipeline call are grouped in a cluster named after it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use aigrid_compiler::{Plan, PlanNode, PlanOp};

use super::ExitStatus;
use super::args::{GraphArgs, GraphFormat, OutputFormat};

pub fn run(args: &GraphArgs) -> ExitStatus {
    let (build, status) = super::build::compile(&args.pipeline, OutputFormat::Human, false);
    let Some(plan) = &build.plan else { return status.max(ExitStatus::Failure) };
    let text = match args.format {
        GraphFormat::Dot => dot(plan),
        GraphFormat::Mermaid => mermaid(plan),
        GraphFormat::Json => json(plan),
    };
    status.max(super::build::write(args.output.as_deref(), &text))
}

/// A node's label: its operation, and the `let` it is bound to.
fn label(node: &PlanNode) -> String {
    let op = match &node.op {
        PlanOp::Param { name } => format!("param {name}"),
        PlanOp::Const { value } => format!("{value:?}"),
        PlanOp::List => "list".into(),
        PlanOp::Column { name } => format!(".{name}"),
        PlanOp::Binary { op } | PlanOp::Unary { op } => op.clone(),
        PlanOp::Std { name } => name.trim_start_matches("std.").to_owned(),
        PlanOp::Ai { name, .. } => format!("ai {name}"),
        PlanOp::Sql { .. } => "sql".into(),
        PlanOp::Fused { steps } => {
            let ops: Vec<&str> =
                steps.iter().map(|s| s.op.rsplit('.').next().unwrap_or(&s.op)).collect();
            format!("fused {}", ops.join(" > "))
        }
        PlanOp::Output => "output".into(),
        PlanOp::Assert { .. } => "assert".into(),
    };
    match &node.name {
        Some(name) => format!("{name} = {op}"),
        None => op,
    }
}

/// The edges: `(from, to, type of the value)`.
fn edges(plan: &Plan) -> Vec<(u32, u32, &str)> {
    let mut edges = Vec::new();
    for node in &plan.nodes {
        for arg in &node.args {
            if let Some(input) = arg.input {
                let ty = plan.nodes.get(input as usize).map_or("", |n| n.ty.as_str());
                edges.push((input, node.id, ty));
            }
        }
    }
    edges
}

/// Nodes grouped by the pipeline call they were inlined through (the innermost).
fn clusters(plan: &Plan) -> BTreeMap<Vec<String>, Vec<&PlanNode>> {
    let mut clusters: BTreeMap<Vec<String>, Vec<&PlanNode>> = BTreeMap::new();
    for node in &plan.nodes {
        let key = node
            .origin
            .iter()
            .map(|c| format!("{}@{}:{}", c.pipeline, c.at.line, c.at.column))
            .collect();
        clusters.entry(key).or_default().push(node);
    }
    clusters
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn dot(plan: &Plan) -> String {
    let mut out = format!(
        "digraph \"{}\" {{\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n",
        escape(&plan.source.pipeline)
    );
    for (index, (chain, nodes)) in clusters(plan).iter().enumerate() {
        let indent = if chain.is_empty() { "  " } else { "    " };
        if let Some(call) = chain.last() {
            let _ = writeln!(out, "  subgraph cluster_{index} {{\n    label=\"{}\";", escape(call));
        }
        for node in nodes {
            let _ = writeln!(out, "{indent}n{} [label=\"{}\"];", node.id, escape(&label(node)));
        }
        if !chain.is_empty() {
            out.push_str("  }\n");
        }
    }
    for (from, to, ty) in edges(plan) {
        let _ = writeln!(out, "  n{from} -> n{to} [label=\"{}\"];", escape(ty));
    }
    out.push_str("}\n");
    out
}

fn mermaid(plan: &Plan) -> String {
    let quote = |text: &str| text.replace('"', "#quot;");
    let mut out = String::from("flowchart TD\n");
    for (index, (chain, nodes)) in clusters(plan).iter().enumerate() {
        if let Some(call) = chain.last() {
            let _ = writeln!(out, "  subgraph c{index} [\"{}\"]", quote(call));
        }
        for node in nodes {
            let _ = writeln!(out, "  n{}[\"{}\"]", node.id, quote(&label(node)));
        }
        if !chain.is_empty() {
            out.push_str("  end\n");
        }
    }
    for (from, to, ty) in edges(plan) {
        let _ = writeln!(out, "  n{from} -->|\"{}\"| n{to}", quote(ty));
    }
    out
}

fn json(plan: &Plan) -> String {
    let nodes: Vec<serde_json::Value> = plan
        .nodes
        .iter()
        .map(|node| {
            let origin: Vec<&str> = node.origin.iter().map(|c| c.pipeline.as_str()).collect();
            serde_json::json!({ "id": node.id, "label": label(node), "type": node.ty, "pipelines": origin })
        })
        .collect();
    let edges: Vec<serde_json::Value> = edges(plan)
        .into_iter()
        .map(|(from, to, ty)| serde_json::json!({ "from": from, "to": to, "type": ty }))
        .collect();
    let mut text =
        serde_json::to_string_pretty(&serde_json::json!({ "nodes": nodes, "edges": edges }))
            .unwrap_or_default();
    text.push('\n');
    text
}
