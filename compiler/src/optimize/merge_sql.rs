//! Merging of adjacent SQL steps: a query whose only reader is another query becomes a common
//! table expression of that query, under the name the reader gives it, so that DataFusion
//! plans and optimises both as one. The merged query is planned before it replaces the two:
//! when the input schemas are unknown, names clash, or the result would differ, nothing changes.

use petgraph::Direction;

use super::Context;
use crate::dag::{Arg, Dag, Node, NodeId, Op, Port};
use crate::ty::Type;

/// The most queries merged into one.
const MAX_MERGED: usize = 8;

pub(super) fn run(dag: &mut Dag, context: &mut Context) {
    // One sweep in topological order: a query's inputs were merged as far as they go before
    // the query itself is looked at.
    for reader in dag.order() {
        let mut current = reader;
        while dag.graph.contains_node(current) && matches!(dag.graph[current].op, Op::Sql(_)) {
            let merged = dag
                .inputs(current)
                .into_iter()
                .find_map(|(port, source)| try_merge(dag, context, source, current, port));
            match merged {
                Some(node) => current = node,
                None => break,
            }
        }
    }
}

/// The table name each input port of a `sql` node has in its query.
fn tables(dag: &Dag, node: NodeId) -> Vec<(String, Port, NodeId)> {
    let inputs = dag.inputs(node);
    dag.graph[node]
        .args
        .iter()
        .filter_map(|(name, arg)| match arg {
            Arg::Input(port) => {
                let source = inputs.iter().find(|(p, _)| p == port)?.1;
                Some((name.to_string(), *port, source))
            }
            _ => None,
        })
        .collect()
}

/// Merges query `inner` into `outer`, which reads it at `port`; returns the merged node.
fn try_merge(
    dag: &mut Dag,
    context: &mut Context,
    inner: NodeId,
    outer: NodeId,
    port: Port,
) -> Option<NodeId> {
    let (Op::Sql(inner_query), Op::Sql(outer_query)) = (&dag.graph[inner].op, &dag.graph[outer].op)
    else {
        return None;
    };
    if !dag.graph[inner].attrs.is_empty()
        || dag.graph[inner].declared
        || dag.consumers(inner) != [outer]
        || Some(inner) == dag.output
    {
        return None;
    }
    if dag.graph.edges_directed(inner, Direction::Outgoing).count() != 1 {
        return None;
    }
    let outer_tables = tables(dag, outer);
    let (cte, _, _) = outer_tables.iter().find(|(_, p, _)| *p == port).cloned()?;
    let mut merged_tables: Vec<(String, NodeId)> = outer_tables
        .iter()
        .filter(|(_, p, _)| *p != port)
        .map(|(name, _, source)| (name.clone(), *source))
        .collect();
    for (name, _, source) in tables(dag, inner) {
        if name.eq_ignore_ascii_case(&cte) {
            return None;
        }
        match merged_tables.iter().find(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            Some((_, other)) if *other != source => return None,
            Some(_) => {}
            None => merged_tables.push((name, source)),
        }
    }
    // DataFusion's planning time grows exponentially with the depth of nested `WITH`s: a long
    // chain of queries is merged in runs of at most `MAX_MERGED` steps.
    if inner_query.matches("WITH \"").count() >= MAX_MERGED {
        return None;
    }
    let inner_sql = inner_query.trim().trim_end_matches(';');
    let outer_sql = outer_query.trim().trim_end_matches(';');
    let query = match strip_with(outer_sql) {
        Some(rest) => format!("WITH \"{cte}\" AS (\n{inner_sql}\n),\n{rest}"),
        None => format!("WITH \"{cte}\" AS (\n{inner_sql}\n)\n{outer_sql}"),
    };
    // Plan it: the schemas of every input must be known, and the result must be the outer one's.
    let mut inputs = Vec::with_capacity(merged_tables.len());
    for (name, source) in &merged_tables {
        let Type::Table(Some(columns)) = &dag.graph[*source].ty else { return None };
        let schema = Type::to_schema(columns)?;
        inputs.push((name.clone(), std::sync::Arc::new(schema)));
    }
    // The inner node must carry the type its query gives: a declared type (a `let` annotation)
    // is enforced on the inner result, which merging would skip.
    let inner_inputs: Option<Vec<_>> = tables(dag, inner)
        .into_iter()
        .map(|(name, _, source)| {
            let Type::Table(Some(columns)) = &dag.graph[source].ty else { return None };
            Some((name, std::sync::Arc::new(Type::to_schema(columns)?)))
        })
        .collect();
    let inner_inputs = inner_inputs?;
    match context.sql.schema(inner_query, &inner_inputs) {
        Some(schema) if Type::from_schema(&schema) == dag.graph[inner].ty => {}
        _ => return None,
    }
    let schema = context.sql.schema(&query, &inputs)?;
    if Type::from_schema(&schema) != dag.graph[outer].ty {
        return None;
    }
    let old = &dag.graph[outer];
    let mut node = Node::new(Op::Sql(query), old.ty.clone(), old.span, &old.origin);
    node.attrs = old.attrs.clone();
    node.declared = old.declared;
    node.name = old.name.clone();
    for (index, (name, source)) in merged_tables.iter().enumerate() {
        node.args.push((name.as_str().into(), Arg::Input(index as Port)));
        node.expects.push(dag.graph[*source].ty.clone());
    }
    let sources: Vec<NodeId> = merged_tables.iter().map(|(_, source)| *source).collect();
    Some(dag.replace(&[outer, inner], node, &sources))
}

/// The query after its leading `WITH` keyword, if it starts with one (not `WITH RECURSIVE`).
fn strip_with(query: &str) -> Option<&str> {
    let head = query.get(..5)?;
    if !head.eq_ignore_ascii_case("with ") && !head.eq_ignore_ascii_case("with\n") {
        return None;
    }
    let rest = query[5..].trim_start();
    let recursive = rest.get(..9).is_some_and(|w| w.eq_ignore_ascii_case("recursive"));
    if recursive { None } else { Some(rest) }
}
