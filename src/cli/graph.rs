//! `aigridc graph`: the optimised graph of a pipeline as Graphviz dot, a Mermaid flowchart or
//! JSON. Edges are labelled with the type of the value they carry; the nodes inlined from a
//! pipeline call are grouped in a cluster named after it.

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
        PlanOp::Check => "check".into(),
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

/// The pipeline calls a node was inlined through, outermost first, as cluster keys.
fn chain(node: &PlanNode) -> Vec<String> {
    node.origin.iter().map(|c| format!("{} (line {})", c.pipeline, c.at.line)).collect()
}

/// How a graph syntax writes nodes and clusters.
trait Draw {
    fn node(&self, out: &mut String, indent: &str, node: &PlanNode);
    fn open(&self, out: &mut String, indent: &str, number: usize, call: &str);
    fn close(&self, out: &mut String, indent: &str);
}

/// Writes the nodes inlined through exactly `prefix`, then a nested cluster per call below it.
fn clusters(
    plan: &Plan,
    prefix: &[String],
    out: &mut String,
    counter: &mut usize,
    draw: &dyn Draw,
) {
    let indent = "  ".repeat(prefix.len() + 1);
    for node in plan.nodes.iter().filter(|n| chain(n) == prefix) {
        draw.node(out, &indent, node);
    }
    let mut children: Vec<String> = Vec::new();
    for node_chain in plan.nodes.iter().map(chain) {
        if node_chain.len() > prefix.len()
            && node_chain.starts_with(prefix)
            && !children.contains(&node_chain[prefix.len()])
        {
            children.push(node_chain[prefix.len()].clone());
        }
    }
    for child in children {
        *counter += 1;
        draw.open(out, &indent, *counter, &child);
        let mut longer = prefix.to_vec();
        longer.push(child);
        clusters(plan, &longer, out, counter, draw);
        draw.close(out, &indent);
    }
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

struct Dot;

impl Draw for Dot {
    fn node(&self, out: &mut String, indent: &str, node: &PlanNode) {
        let _ = writeln!(out, "{indent}n{} [label=\"{}\"];", node.id, escape(&label(node)));
    }

    fn open(&self, out: &mut String, indent: &str, number: usize, call: &str) {
        let _ = writeln!(
            out,
            "{indent}subgraph cluster_{number} {{\n{indent}  label=\"{}\";",
            escape(call)
        );
    }

    fn close(&self, out: &mut String, indent: &str) {
        let _ = writeln!(out, "{indent}}}");
    }
}

fn dot(plan: &Plan) -> String {
    let mut out = format!(
        "digraph \"{}\" {{\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n",
        escape(&plan.source.pipeline)
    );
    clusters(plan, &[], &mut out, &mut 0, &Dot);
    for (from, to, ty) in edges(plan) {
        let _ = writeln!(out, "  n{from} -> n{to} [label=\"{}\"];", escape(ty));
    }
    out.push_str("}\n");
    out
}

struct Mermaid;

/// Mermaid has no escape for `"` inside a label but its entity.
fn quote(text: &str) -> String {
    text.replace('"', "#quot;")
}

impl Draw for Mermaid {
    fn node(&self, out: &mut String, indent: &str, node: &PlanNode) {
        let _ = writeln!(out, "{indent}n{}[\"{}\"]", node.id, quote(&label(node)));
    }

    fn open(&self, out: &mut String, indent: &str, number: usize, call: &str) {
        let _ = writeln!(out, "{indent}subgraph c{number} [\"{}\"]", quote(call));
    }

    fn close(&self, out: &mut String, indent: &str) {
        let _ = writeln!(out, "{indent}end");
    }
}

fn mermaid(plan: &Plan) -> String {
    let mut out = String::from("flowchart TD\n");
    clusters(plan, &[], &mut out, &mut 0, &Mermaid);
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
