//! Attributes (spec/language.md §11): each is known, allowed where it is written, written once,
//! and given the arguments it takes.

use aigrid_lang::ast::{Attribute, ExprKind};

use super::Resolver;
use crate::error::{ResolveError, did_you_mean};

/// Where an attribute is written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Place {
    Use,
    Type,
    Ai,
    Pipeline,
    Test,
    Step,
}

impl Place {
    fn describe(self) -> &'static str {
        match self {
            Place::Use => "a `use`",
            Place::Type => "a `type`",
            Place::Ai => "an `ai`",
            Place::Pipeline => "a pipeline",
            Place::Test => "a test",
            Place::Step => "a step",
        }
    }
}

/// What an attribute takes.
#[derive(Clone, Copy)]
enum Takes {
    Nothing,
    /// One integer literal, 0 or more.
    Count,
    /// One duration literal.
    Duration,
    /// `null`.
    Null,
    /// `name = integer`, at least one.
    Resources,
}

/// The attributes: name, where they apply, what they take.
const ATTRIBUTES: &[(&str, &[Place], Takes)] = &[
    ("cache", &[Place::Step], Takes::Nothing),
    ("gpu", &[Place::Step], Takes::Nothing),
    ("on_error", &[Place::Ai, Place::Step], Takes::Null),
    ("resources", &[Place::Step], Takes::Resources),
    ("retry", &[Place::Ai, Place::Step], Takes::Count),
    ("timeout", &[Place::Ai, Place::Step, Place::Pipeline, Place::Test], Takes::Duration),
];

impl Resolver<'_, '_> {
    /// Checks the attributes written on an item or statement at `place`.
    pub(super) fn attributes(&mut self, attrs: &[Attribute], place: Place) {
        for (index, attr) in attrs.iter().enumerate() {
            let name = attr.name.name.as_str();
            let Some((_, places, takes)) = ATTRIBUTES.iter().find(|(n, _, _)| *n == name) else {
                self.errors.push(ResolveError::UnknownAttribute {
                    name: name.to_owned(),
                    span: attr.name.span,
                    help: did_you_mean(name, ATTRIBUTES.iter().map(|(n, _, _)| *n)).or_else(|| {
                        let names: Vec<String> =
                            ATTRIBUTES.iter().map(|(n, _, _)| format!("@{n}")).collect();
                        Some(format!("the attributes are {}", names.join(", ")))
                    }),
                });
                continue;
            };
            if let Some(first) = attrs[..index].iter().find(|a| a.name.name == attr.name.name) {
                self.errors.push(ResolveError::AttributeTwice {
                    name: name.to_owned(),
                    span: attr.span,
                    first: first.span,
                });
                continue;
            }
            if !places.contains(&place) {
                let allowed: Vec<&str> = places.iter().map(|p| p.describe()).collect();
                self.errors.push(ResolveError::MisplacedAttribute {
                    name: name.to_owned(),
                    place: place.describe(),
                    span: attr.span,
                    help: format!("`@{name}` applies to {}", allowed.join(", ")),
                });
                continue;
            }
            if let Some(expected) = bad_arguments(attr, *takes) {
                self.errors.push(ResolveError::AttributeArguments {
                    name: name.to_owned(),
                    expected,
                    span: attr.span,
                });
            }
        }
    }
}

/// What the attribute should have been given, if its arguments are wrong.
fn bad_arguments(attr: &Attribute, takes: Takes) -> Option<&'static str> {
    let args = attr.args.as_deref().unwrap_or_default();
    let single = match args {
        [arg] if arg.name.is_none() => Some(&arg.value.kind),
        _ => None,
    };
    let ok = match takes {
        Takes::Nothing => args.is_empty(),
        Takes::Count => matches!(single, Some(ExprKind::Int(n)) if *n >= 0),
        Takes::Duration => matches!(single, Some(ExprKind::Duration(_))),
        Takes::Null => matches!(single, Some(ExprKind::Null)),
        Takes::Resources => {
            !args.is_empty()
                && args
                    .iter()
                    .all(|a| a.name.is_some() && matches!(a.value.kind, ExprKind::Int(n) if n >= 0))
        }
    };
    if ok {
        return None;
    }
    Some(match takes {
        Takes::Nothing => "no arguments",
        Takes::Count => "one whole number, e.g. `@retry(3)`",
        Takes::Duration => "one duration, e.g. `@timeout(30s)`",
        Takes::Null => "`null`: `@on_error(null)`",
        Takes::Resources => "named whole numbers, e.g. `@resources(gpu = 1)`",
    })
}
