//! Binding: each `ai` node of the graph gets the grid AIs that serve it, from the cards that
//! discovery offers. A card qualifies when it satisfies the requirement's `where`, is not down,
//! and has a compatible signature; the qualifying cards are ranked by `prefer`, the first is the
//! primary and `fallback N` keeps the next `N` (spec/discovery.md).

use std::collections::HashMap;

use aigrid_discovery::{AttrValue, Card, Matches, Predicate, rank};
use aigrid_lang::Span;

use crate::dag::{Dag, NodeId, Op, Requirement};
use crate::lock::{Lock, LockedAi};
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
    /// A grid AI the lockfile pins is gone or has changed.
    #[error("a grid AI pinned for `{name}` in aigrid.lock is no longer offered")]
    #[diagnostic(code(AG0603))]
    Pinned {
        name: String,
        #[label("bound through aigrid.lock")]
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
    /// Pinned cards that are gone or changed, in lines.
    Pinned(String),
    /// Discovery did not answer; the world has said why.
    Unavailable,
}

/// Binds every `ai` node of `dag`: to the cards `lock` pins for its requirement, checked
/// against discovery, or (when `lock` has none, or `rebind`) to the best cards `discover`
/// finds for its `where`, which `lock` then pins.
pub(crate) fn bind(
    dag: &Dag,
    lock: &mut Lock,
    rebind: bool,
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
                let fingerprint = crate::lock::fingerprint(requirement);
                let pinned = lock.get(&fingerprint).filter(|_| !rebind);
                let result = match pinned {
                    Some(pinned) => check_pinned(requirement, pinned, &mut discover),
                    None => {
                        let result = select(requirement, &mut discover);
                        if let Ok(binding) = &result {
                            lock.pin(&requirement.name, fingerprint, binding);
                        }
                        result
                    }
                };
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
                    Err(Unbound::Pinned(help)) => {
                        errors.push(BindError::Pinned { name, span: node.span, help: help.clone() })
                    }
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

/// The pinned binding of a requirement, if discovery still offers every pinned card at its
/// pinned version with a signature that fits.
fn check_pinned(
    requirement: &Requirement,
    pinned: &LockedAi,
    discover: &mut impl FnMut(Option<&Predicate>) -> Discovery,
) -> Result<PlanBinding, Unbound> {
    let refresh = format!("run `aigridc bind --update` to bind `{}` again", requirement.name);
    let ids: Vec<String> = pinned.cards().map(|card| format!("{:?}", card.id)).collect();
    let Ok(predicate) = Predicate::parse(&format!("id in [{}]", ids.join(", "))) else {
        return Err(Unbound::Pinned(format!("aigrid.lock holds an id that is not one\n{refresh}")));
    };
    let offered = match discover(Some(&predicate)) {
        Discovery::Found(matches) => matches.cards,
        Discovery::BadPredicate(reason) => return Err(Unbound::BadPredicate(reason)),
        Discovery::Unavailable => return Err(Unbound::Unavailable),
    };
    let mut problems = Vec::new();
    for card in pinned.cards() {
        match offered.iter().find(|offer| offer.id == card.id) {
            None => problems.push(format!("`{}` {} is gone from discovery", card.id, card.version)),
            Some(offer) if offer.version != card.version => problems.push(format!(
                "`{}` is pinned at {}, discovery offers {}",
                card.id, card.version, offer.version
            )),
            Some(offer) => {
                if let Err(reason) =
                    crate::typeck::signatures_compatible(&offer.signature, &requirement.signature)
                {
                    problems.push(format!("`{}` no longer fits: {reason}", card.id));
                }
            }
        }
    }
    if problems.is_empty() {
        // The pin fixes the card and its version; where and how it is called is discovery's
        // to say.
        let mut binding = pinned.binding();
        for card in std::iter::once(&mut binding.primary).chain(&mut binding.fallbacks) {
            if let Some(offer) = offered.iter().find(|offer| offer.id == card.id) {
                *card = bound(offer);
            }
        }
        return Ok(binding);
    }
    problems.push(refresh);
    Err(Unbound::Pinned(problems.join("\n")))
}

/// What a plan keeps of a card it binds.
fn bound(card: &Card) -> BoundCard {
    BoundCard {
        id: card.id.clone(),
        version: card.version.clone(),
        endpoint: card.endpoint.clone(),
        batch_size: match card.attributes.get("batch_size") {
            Some(AttrValue::Int(n)) => u32::try_from(*n).ok().filter(|n| *n > 0),
            _ => None,
        },
    }
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
    let Matches { offered, stages, cards, hints } = match discover(predicate.as_ref()) {
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
    let mut chosen = ranked.iter().map(|card| bound(card));
    let Some(primary) = chosen.next() else {
        lines.extend(hints.iter().map(|hint| format!("not offered here: {hint}")));
        return Err(Unbound::NoMatch(lines.join("\n")));
    };
    let fallbacks = chosen.take(requirement.fallback as usize).collect();
    Ok(PlanBinding { primary, fallbacks })
}
