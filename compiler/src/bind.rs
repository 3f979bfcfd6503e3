//! Binding: each `ai` node of the graph gets the grid AIs that serve it, from the cards that
//! discovery offers. A card qualifies when it satisfies the requirement's `where`, is not down,
//! and has a compatible signature; the qualifying cards are ranked by `prefer`, the first is the
//! primary and `fallback N` keeps the next `N` (spec/discovery.md).

use std::collections::HashMap;

use aigrid_discovery::{Card, Matches, Predicate, rank};
use aigrid_lang::Span;

use crate::dag::{Dag, NodeId, Op, Requirement};
use crate::plan::{BoundCard, PlanBinding};
use crate::world::Discovery;

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

/// Why one requirement has no binding.
#[derive(Clone, Debug)]
enum Unbound {
    /// The funnel, in lines.
    NoMatch(String),
    BadPredicate(String),
    /// Discovery did not answer; the world has said why.
    Unavailable,
}

/// Binds every `ai` node of `dag` to the cards `discover` finds for its `where`.
pub(crate) fn bind(
    dag: &Dag,
    mut discover: impl FnMut(Option<&Predicate>) -> Discovery,
) -> (HashMap<NodeId, PlanBinding>, Vec<BindError>) {
    let mut bound = HashMap::new();
    let mut errors = Vec::new();
    let mut done: HashMap<String, Result<PlanBinding, Unbound>> = HashMap::new();
    for node_id in dag.order() {
        let node = &dag.graph[node_id];
        let Op::Ai(requirement) = &node.op else { continue };
        let key = format!("{requirement:?}");
        let result = match done.get(&key) {
            Some(known) => known.clone(),
            None => {
                let result = select(requirement, &mut discover);
                let name = requirement.name.to_string();
                match &result {
                    Err(Unbound::NoMatch(help)) => errors.push(BindError::NoMatch {
                        name,
                        span: node.span,
                        help: help.clone(),
                    }),
                    Err(Unbound::BadPredicate(reason)) => errors.push(BindError::BadPredicate {
                        name,
                        reason: reason.clone(),
                        span: node.span,
                    }),
                    Err(Unbound::Unavailable) | Ok(_) => {}
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

/// The binding of one requirement, or why there is none.
fn select(
    requirement: &Requirement,
    discover: &mut impl FnMut(Option<&Predicate>) -> Discovery,
) -> Result<PlanBinding, Unbound> {
    let predicate = match requirement.predicate.as_deref().map(Predicate::parse).transpose() {
        Ok(predicate) => predicate,
        Err(error) => return Err(Unbound::BadPredicate(error.reason)),
    };
    let Matches { offered, stages, cards } = match discover(predicate.as_ref()) {
        Discovery::Found(matches) => matches,
        Discovery::BadPredicate(reason) => return Err(Unbound::BadPredicate(reason)),
        Discovery::Unavailable => return Err(Unbound::Unavailable),
    };
    let mut lines = vec![format!("{offered} card{} offered", if offered == 1 { "" } else { "s" })];
    for stage in &stages {
        if stage.dropped > 0 {
            lines.push(format!(
                "{} of {} dropped by `{}`{}",
                stage.dropped,
                stage.before,
                stage.clause,
                if stage.why.is_empty() { String::new() } else { format!(": {}", stage.why) }
            ));
        }
    }
    let before = cards.len();
    let (up, down): (Vec<&Card>, Vec<&Card>) =
        cards.iter().partition(|c| c.health.status != "down");
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
    let Some(primary) = chosen.next() else { return Err(Unbound::NoMatch(lines.join("\n"))) };
    let fallbacks = chosen.take(requirement.fallback as usize).collect();
    Ok(PlanBinding { primary, fallbacks })
}
