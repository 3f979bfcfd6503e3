//! Binding: each `ai` node of the graph gets the grid AIs that serve it, from the cards that
//! discovery offers. A card qualifies when it satisfies the requirement's `where`, is not down,
//! and has a compatible signature; the qualifying cards are ranked by `prefer`, the first is the
//! primary and `fallback N` keeps the next `N` (spec/discovery.md).

use std::collections::HashMap;

use aigrid_discovery::{Card, funnel, rank};
use aigrid_lang::Span;
use aigrid_lang::ast::ItemKind;

use crate::dag::{Dag, NodeId, Op, Requirement};
use crate::plan::{BoundCard, PlanBinding};

/// Why an `ai` node could not be bound.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum BindError {
    /// No card qualifies; the help is the funnel.
    #[error("no grid AI matches `{name}`")]
    #[diagnostic(code(AG0601))]
    NoMatch {
        name: String,
        #[label("this call needs one")]
        span: Span,
        #[help]
        help: String,
    },
    /// The `where` predicate cannot be evaluated whatever the card.
    #[error("the `where` of `{name}` cannot be evaluated: {reason}")]
    #[diagnostic(code(AG0602), help("compare card attributes with literals of the same kind"))]
    BadPredicate {
        name: String,
        reason: String,
        #[label("in this call's requirement")]
        span: Span,
    },
}

/// Binds every `ai` node of `dag` to `cards`.
pub(crate) fn bind(dag: &Dag, cards: &[Card]) -> (HashMap<NodeId, PlanBinding>, Vec<BindError>) {
    let mut bound = HashMap::new();
    let mut errors = Vec::new();
    let mut done: HashMap<String, Result<PlanBinding, String>> = HashMap::new();
    for node_id in dag.order() {
        let node = &dag.graph[node_id];
        let Op::Ai(requirement) = &node.op else { continue };
        let key = format!("{requirement:?}");
        let result = match done.get(&key) {
            Some(known) => known.clone(),
            None => {
                let result = select(requirement, cards);
                if let Err(reason) = &result {
                    errors.push(match reason.strip_prefix("predicate: ") {
                        Some(reason) => BindError::BadPredicate {
                            name: requirement.name.to_string(),
                            reason: reason.to_owned(),
                            span: node.span,
                        },
                        None => BindError::NoMatch {
                            name: requirement.name.to_string(),
                            span: node.span,
                            help: reason.clone(),
                        },
                    });
                }
                done.insert(key, result.clone());
                result
            }
        };
        if let Ok(binding) = result {
            bound.insert(node_id, binding);
        }
    }
    (bound, errors)
}

/// The binding of one requirement, or why there is none (`predicate: ...` for a predicate
/// that cannot be evaluated, else the funnel).
fn select(requirement: &Requirement, cards: &[Card]) -> Result<PlanBinding, String> {
    let text = format!(
        "ai x() -> i64\n    where {}\n",
        requirement.predicate.as_deref().unwrap_or("true")
    );
    let parsed = aigrid_lang::parse(aigrid_lang::FileId(0), &text);
    let predicate = parsed.module.items.first().and_then(|item| match &item.kind {
        ItemKind::Ai(ai) => ai.predicate.clone(),
        _ => None,
    });
    let mut lines =
        vec![format!("{} card{} offered", cards.len(), if cards.len() == 1 { "" } else { "s" })];
    let (left, stages) =
        funnel(predicate.as_ref().filter(|_| requirement.predicate.is_some()), &text, cards)
            .map_err(|e| format!("predicate: {e}"))?;
    for stage in &stages {
        if !stage.dropped.is_empty() {
            lines.push(format!(
                "{} of {} dropped by `{}`{}",
                stage.dropped.len(),
                stage.before,
                stage.clause,
                if stage.why.is_empty() { String::new() } else { format!(": {}", stage.why) }
            ));
        }
    }
    let before = left.len();
    let (up, down): (Vec<&Card>, Vec<&Card>) =
        left.into_iter().partition(|c| c.health.status != "down");
    if !down.is_empty() {
        lines.push(format!("{} of {before} dropped because they are down", down.len()));
    }
    let before = up.len();
    let mut fitting = Vec::with_capacity(up.len());
    let mut misfits = Vec::new();
    for card in up {
        match crate::typeck::signatures_compatible(&card.signature, &requirement.signature) {
            Ok(()) => fitting.push(card),
            Err(reason) => misfits.push(format!("`{}`: {reason}", card.id)),
        }
    }
    if !misfits.is_empty() {
        lines.push(format!(
            "{} of {before} dropped by the signature `{}`: {}",
            misfits.len(),
            requirement.signature,
            misfits.join("; ")
        ));
    }
    let prefer: Vec<(String, bool)> =
        requirement.prefer.iter().map(|(k, d)| (k.to_string(), *d)).collect();
    let ranked = rank(fitting, &prefer);
    let mut chosen = ranked.iter().map(|card| BoundCard {
        id: card.id.clone(),
        version: card.version.clone(),
        endpoint: card.endpoint.clone(),
    });
    let Some(primary) = chosen.next() else { return Err(lines.join("\n")) };
    let fallbacks = chosen.take(requirement.fallback as usize).collect();
    Ok(PlanBinding { primary, fallbacks })
}
