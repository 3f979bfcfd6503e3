//! Matching cards to requirements: the `where` predicate evaluated against each card, the
//! `prefer` ranking, `fallback` candidates kept, and, when nothing matches, the funnel that says
//! which clause dropped which cards and why.

use std::cmp::Ordering;

use aigrid_lang::ast::{BinaryOp, Expr, ExprKind, UnaryOp};

use aigrid_lang::ast::ItemKind;

use crate::card::{AttrRef, AttrValue, Card};

/// A value while a predicate is evaluated, borrowed from the card or the predicate.
#[derive(Clone, Debug, PartialEq)]
enum Value<'a> {
    Bool(bool),
    Num(f64),
    Str(&'a str),
    List(Vec<Value<'a>>),
    /// A card without the attribute: every comparison with it is false.
    Missing(&'a str),
}

/// A predicate that cannot be evaluated: it is wrong whatever the cards.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct PredicateError {
    /// What is wrong.
    pub reason: String,
}

fn bad(reason: impl Into<String>) -> PredicateError {
    PredicateError { reason: reason.into() }
}

/// A `where` predicate, parsed: `task == "text-embedding" && dims == 384`.
#[derive(Clone, Debug)]
pub struct Predicate {
    /// The source the expression's spans point into: the predicate inside an `ai` item.
    source: String,
    expr: Expr,
}

/// What the predicate is wrapped in to be parsed as the `where` of an `ai` item.
const WRAP_BEFORE: &str = "ai x() -> i64\n    where ";

impl Predicate {
    /// Parses a predicate in the syntax of `where` (one line or several).
    pub fn parse(text: &str) -> Result<Predicate, PredicateError> {
        if text.trim().is_empty() {
            return Err(bad("the predicate is empty"));
        }
        // Line breaks become spaces, so that a predicate cannot end the item and start another;
        // offsets are kept.
        let flat: String =
            text.chars().map(|c| if c == '\n' || c == '\r' { ' ' } else { c }).collect();
        let source = format!("{WRAP_BEFORE}{flat}\n");
        let parsed = aigrid_lang::parse(aigrid_lang::FileId(0), &source);
        if let Some(diagnostic) = parsed.diagnostics.first() {
            return Err(bad(format!("not a predicate: {}", diagnostic.message)));
        }
        let mut items = parsed.module.items.into_iter();
        let expr = match (items.next().map(|i| i.kind), items.next()) {
            (Some(ItemKind::Ai(ai)), None) if ai.prefer.is_empty() && ai.fallback.is_none() => {
                ai.predicate
            }
            _ => None,
        };
        match expr {
            Some(expr) => Ok(Predicate { source, expr }),
            None => Err(bad("not a predicate: write comparisons joined by `&&` and `||`")),
        }
    }

    /// The predicate as written.
    pub fn as_str(&self) -> &str {
        self.source[WRAP_BEFORE.len()..].trim_end()
    }

    /// Whether `card` satisfies the predicate.
    pub fn matches(&self, card: &impl Attributes) -> Result<bool, PredicateError> {
        satisfies(&self.expr, card)
    }

    /// The top-level `&&` clauses, in order. A card satisfies the predicate when it satisfies
    /// each, and a clause is only evaluated for cards that satisfied those before it (as `&&`
    /// short-circuits), so stores may evaluate them one at a time over a shrinking set.
    pub fn clauses(&self) -> Vec<Clause<'_>> {
        clauses(&self.expr).into_iter().map(Clause::of).collect()
    }

    /// `clause` (one of [`Predicate::clauses`]) as written.
    pub fn clause_text(&self, clause: &Clause<'_>) -> String {
        clause.expr().span.text(&self.source).to_owned()
    }

    /// The task every matching card has, when the first top-level clause is `task == "..."`: stores
    /// use it to look at that task's cards only.
    pub fn required_task(&self) -> Option<&str> {
        // Only the first clause: a store that narrows to the task's cards must not skip a
        // clause before it, which could fail (an error) on a card of another task.
        clauses(&self.expr).into_iter().take(1).find_map(|clause| match &clause.kind {
            ExprKind::Binary { op, lhs, rhs } if op.node == BinaryOp::Eq => {
                match (&lhs.kind, &rhs.kind) {
                    (ExprKind::Name(n), ExprKind::Str { value, .. })
                    | (ExprKind::Str { value, .. }, ExprKind::Name(n))
                        if n.name == "task" =>
                    {
                        Some(value.as_str())
                    }
                    _ => None,
                }
            }
            _ => None,
        })
    }
}

/// What predicates read: a card's fields and attributes, by name.
pub trait Attributes {
    /// The value under `name`, if there is one.
    fn attr(&self, name: &str) -> Option<AttrRef<'_>>;
}

impl Attributes for Card {
    fn attr(&self, name: &str) -> Option<AttrRef<'_>> {
        Card::attr(self, name)
    }
}

impl<T: Attributes + ?Sized> Attributes for &T {
    fn attr(&self, name: &str) -> Option<AttrRef<'_>> {
        (**self).attr(name)
    }
}

/// A top-level clause of a predicate.
#[derive(Clone, Debug)]
pub enum Clause<'p> {
    /// `name OP literal` (or `literal OP name`) with a comparison: a store can test one
    /// attribute's values without walking the expression.
    Compare(Comparison<'p>),
    /// Anything else.
    Other(&'p Expr),
}

impl<'p> Clause<'p> {
    fn of(expr: &'p Expr) -> Clause<'p> {
        let ExprKind::Binary { op, lhs, rhs } = &expr.kind else { return Clause::Other(expr) };
        let comparison = matches!(
            op.node,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
        );
        if !comparison {
            return Clause::Other(expr);
        }
        let literal = |e: &'p Expr| match &e.kind {
            ExprKind::Int(n) => Some(Value::Num(*n as f64)),
            ExprKind::Float(x) => Some(Value::Num(*x)),
            ExprKind::Str { value, .. } => Some(Value::Str(value.as_str())),
            ExprKind::Bool(b) => Some(Value::Bool(*b)),
            _ => None,
        };
        match (&lhs.kind, &rhs.kind) {
            (ExprKind::Name(name), _) => match literal(rhs) {
                Some(literal) => Clause::Compare(Comparison {
                    name: &name.name,
                    op: op.node,
                    literal,
                    expr,
                    flipped: false,
                }),
                None => Clause::Other(expr),
            },
            (_, ExprKind::Name(name)) => match literal(lhs) {
                Some(literal) => Clause::Compare(Comparison {
                    name: &name.name,
                    op: op.node,
                    literal,
                    expr,
                    flipped: true,
                }),
                None => Clause::Other(expr),
            },
            _ => Clause::Other(expr),
        }
    }

    fn expr(&self) -> &'p Expr {
        match self {
            Clause::Compare(comparison) => comparison.expr,
            Clause::Other(expr) => expr,
        }
    }

    /// Why the cards of `dropped` fail the clause, for the funnel: `they have 768`.
    pub fn why(&self, dropped: &[&Card]) -> String {
        explain(self.expr(), dropped)
    }

    /// Whether `card` satisfies the clause.
    pub fn matches(&self, card: &impl Attributes) -> Result<bool, PredicateError> {
        match self {
            Clause::Compare(comparison) => comparison.test(card.attr(comparison.name)),
            Clause::Other(expr) => satisfies(expr, card),
        }
    }
}

/// `name OP literal`.
#[derive(Clone, Debug)]
pub struct Comparison<'p> {
    /// The attribute (or card field) compared.
    pub name: &'p str,
    op: BinaryOp,
    literal: Value<'p>,
    expr: &'p Expr,
    /// Written `literal OP name`: `op` is flipped, and errors name the operands as written.
    flipped: bool,
}

impl Comparison<'_> {
    /// Whether a card whose `name` is `value` satisfies the comparison.
    pub fn test(&self, value: Option<AttrRef<'_>>) -> Result<bool, PredicateError> {
        let value = match value {
            // Numbers are finite (cards and literals), so this is `compare`'s answer, sooner:
            // stores test a clause over every card.
            Some(AttrRef::Num(value)) if let Value::Num(literal) = self.literal => {
                let (x, y) = if self.flipped { (literal, value) } else { (value, literal) };
                return Ok(match self.op {
                    BinaryOp::Eq => x == y,
                    BinaryOp::Ne => x != y,
                    BinaryOp::Lt => x < y,
                    BinaryOp::Le => x <= y,
                    BinaryOp::Gt => x > y,
                    _ => x >= y,
                });
            }
            Some(value) => attr_value(value),
            None => return Ok(false),
        };
        let result = if self.flipped {
            compare(self.op, self.literal.clone(), value)?
        } else {
            compare(self.op, value, self.literal.clone())?
        };
        Ok(result == Value::Bool(true))
    }
}

fn attr_value(value: AttrRef<'_>) -> Value<'_> {
    match value {
        AttrRef::Bool(b) => Value::Bool(b),
        AttrRef::Num(x) => Value::Num(x),
        AttrRef::Str(s) => Value::Str(s),
    }
}

/// Whether `card` satisfies `predicate`.
fn satisfies(predicate: &Expr, card: &impl Attributes) -> Result<bool, PredicateError> {
    match eval(predicate, card)? {
        Value::Bool(b) => Ok(b),
        Value::Missing(_) => Ok(false),
        other => Err(bad(format!("a predicate is true or false, not {}", describe(&other)))),
    }
}

fn describe(value: &Value<'_>) -> String {
    match value {
        Value::Bool(_) => "a boolean".into(),
        Value::Num(_) => "a number".into(),
        Value::Str(_) => "a string".into(),
        Value::List(_) => "a list".into(),
        Value::Missing(name) => format!("`{name}`"),
    }
}

fn eval<'a, A: Attributes>(expr: &'a Expr, card: &'a A) -> Result<Value<'a>, PredicateError> {
    Ok(match &expr.kind {
        ExprKind::Int(n) => Value::Num(*n as f64),
        ExprKind::Float(x) => Value::Num(*x),
        ExprKind::Str { value, .. } => Value::Str(value.as_str()),
        ExprKind::Bool(b) => Value::Bool(*b),
        ExprKind::List(items) => {
            Value::List(items.iter().map(|i| eval(i, card)).collect::<Result<_, _>>()?)
        }
        ExprKind::Name(name) => match card.attr(&name.name) {
            Some(value) => attr_value(value),
            None => Value::Missing(name.name.as_str()),
        },
        ExprKind::Paren(inner) => eval(inner, card)?,
        ExprKind::Unary { op, operand } => match (op.node, eval(operand, card)?) {
            (UnaryOp::Not, Value::Bool(b)) => Value::Bool(!b),
            (UnaryOp::Not, Value::Missing(_)) => Value::Bool(false),
            (UnaryOp::Neg, Value::Num(x)) => Value::Num(-x),
            (UnaryOp::Neg, missing @ Value::Missing(_)) => missing,
            (_, other) => {
                return Err(bad(format!(
                    "`{}` cannot apply to {}",
                    op_str(op.node),
                    describe(&other)
                )));
            }
        },
        ExprKind::Binary { op, lhs, rhs } => {
            let op = op.node;
            match op {
                BinaryOp::And | BinaryOp::Or => {
                    let a = truth(eval(lhs, card)?)?;
                    // Short-circuit, as in the language.
                    if (op == BinaryOp::And && !a) || (op == BinaryOp::Or && a) {
                        return Ok(Value::Bool(a));
                    }
                    Value::Bool(truth(eval(rhs, card)?)?)
                }
                _ => compare(op, eval(lhs, card)?, eval(rhs, card)?)?,
            }
        }
        _ => return Err(bad("a predicate compares card attributes with literals")),
    })
}

fn truth(value: Value<'_>) -> Result<bool, PredicateError> {
    match value {
        Value::Bool(b) => Ok(b),
        Value::Missing(_) => Ok(false),
        other => Err(bad(format!("`&&`, `||` and `!` take booleans, not {}", describe(&other)))),
    }
}

fn op_str(op: UnaryOp) -> &'static str {
    match op {
        UnaryOp::Not => "!",
        UnaryOp::Neg => "-",
    }
}

fn compare<'a>(op: BinaryOp, a: Value<'a>, b: Value<'a>) -> Result<Value<'a>, PredicateError> {
    if matches!(a, Value::Missing(_)) || matches!(b, Value::Missing(_)) {
        return Ok(Value::Bool(false));
    }
    let ordering = |a: &Value<'_>, b: &Value<'_>| match (a, b) {
        (Value::Num(x), Value::Num(y)) => x.partial_cmp(y),
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    };
    Ok(Value::Bool(match op {
        BinaryOp::Eq | BinaryOp::Ne => {
            let same = match ordering(&a, &b) {
                Some(o) => o == Ordering::Equal,
                None => {
                    return Err(bad(format!(
                        "cannot compare {} with {}",
                        describe(&a),
                        describe(&b)
                    )));
                }
            };
            same == (op == BinaryOp::Eq)
        }
        BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            let Some(o) = ordering(&a, &b).filter(|_| !matches!(a, Value::Bool(_))) else {
                return Err(bad(format!("cannot order {} and {}", describe(&a), describe(&b))));
            };
            match op {
                BinaryOp::Lt => o.is_lt(),
                BinaryOp::Le => o.is_le(),
                BinaryOp::Gt => o.is_gt(),
                _ => o.is_ge(),
            }
        }
        BinaryOp::In => match b {
            Value::List(items) => {
                items.iter().any(|item| ordering(&a, item) == Some(Ordering::Equal))
            }
            other => {
                return Err(bad(format!(
                    "`in` needs a list on its right, not {}",
                    describe(&other)
                )));
            }
        },
        _ => return Err(bad(format!("`{}` is not allowed in a predicate", op.as_str()))),
    }))
}

/// The top-level `&&` clauses of a predicate, in order.
fn clauses(predicate: &Expr) -> Vec<&Expr> {
    match &predicate.kind {
        ExprKind::Binary { op, lhs, rhs } if op.node == BinaryOp::And => {
            let mut out = clauses(lhs);
            out.extend(clauses(rhs));
            out
        }
        ExprKind::Paren(inner) => clauses(inner),
        _ => vec![predicate],
    }
}

/// One step of the funnel: a clause and the cards it dropped.
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    /// The clause as written.
    pub clause: String,
    /// How many cards were left before it.
    pub before: usize,
    /// How many cards it dropped.
    pub dropped: usize,
    /// Why, in words: `they have 768`, `they have no \`dims\``.
    pub why: String,
}

/// Evaluates `predicate` clause by clause over `cards`: the cards that pass every clause, and
/// the funnel of what each clause dropped.
pub fn funnel<'c>(
    predicate: Option<&Predicate>,
    cards: impl IntoIterator<Item = &'c Card>,
) -> Result<(Vec<&'c Card>, Vec<Stage>), PredicateError> {
    let mut left: Vec<&Card> = cards.into_iter().collect();
    let mut stages = Vec::new();
    let Some(predicate) = predicate else { return Ok((left, stages)) };
    for clause in clauses(&predicate.expr) {
        let before = left.len();
        let mut kept = Vec::with_capacity(left.len());
        let mut dropped = Vec::new();
        for card in left {
            if satisfies(clause, card)? {
                kept.push(card);
            } else {
                dropped.push(card);
            }
        }
        let written = clause.span.text(&predicate.source).to_owned();
        let why = explain(clause, &dropped);
        stages.push(Stage { clause: written, before, dropped: dropped.len(), why });
        left = kept;
    }
    Ok((left, stages))
}

/// What discovery answers to a query: the matching cards and, when asked, the funnel.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Matches {
    /// How many cards were looked at.
    pub offered: usize,
    /// What each top-level clause dropped; empty unless the funnel was asked for.
    pub stages: Vec<Stage>,
    /// The cards that satisfy the predicate, in the order they were offered.
    pub cards: Vec<Card>,
    /// Cards that would satisfy the predicate but are not offered here, each with what would
    /// make it so: "the minilm model is not in ...; run `aigridc models fetch minilm`".
    pub hints: Vec<String>,
}

/// The cards of `cards` that satisfy `predicate` (all of them without one), with the funnel.
pub fn query(predicate: Option<&Predicate>, cards: &[Card]) -> Result<Matches, PredicateError> {
    let (left, stages) = funnel(predicate, cards)?;
    let cards_left = left.into_iter().cloned().collect();
    Ok(Matches { offered: cards.len(), stages, cards: cards_left, hints: Vec::new() })
}

/// How many distinct values the funnel shows for a clause before it says how many more.
const SHOWN_VALUES: usize = 8;

/// Why the cards of `dropped` failed `clause`: the values they have for the attribute it reads.
fn explain(clause: &Expr, dropped: &[&Card]) -> String {
    let name = match &clause.kind {
        ExprKind::Binary { lhs, rhs, .. } => match (&lhs.kind, &rhs.kind) {
            (ExprKind::Name(n), _) | (_, ExprKind::Name(n)) => Some(n.name.to_string()),
            _ => None,
        },
        ExprKind::Name(n) => Some(n.name.to_string()),
        ExprKind::Unary { operand, .. } => match &operand.kind {
            ExprKind::Name(n) => Some(n.name.to_string()),
            _ => None,
        },
        _ => None,
    };
    let Some(name) = name else { return String::new() };
    let mut values = std::collections::BTreeSet::new();
    let mut missing = 0;
    for card in dropped {
        match card.lookup(&name) {
            Some(value) => {
                values.insert(value.to_string());
            }
            None => missing += 1,
        }
    }
    let mut parts = Vec::new();
    if !values.is_empty() {
        let shown: Vec<&str> = values.iter().take(SHOWN_VALUES).map(String::as_str).collect();
        let more = match values.len().saturating_sub(SHOWN_VALUES) {
            0 => String::new(),
            n => format!(" and {n} other value{}", if n == 1 { "" } else { "s" }),
        };
        parts.push(format!("they have {}{more}", shown.join(", ")));
    }
    if missing > 0 {
        parts.push(format!("{missing} {} no `{name}`", if missing == 1 { "has" } else { "have" }));
    }
    parts.join("; ")
}

/// Orders candidates by the `prefer` keys (`(attribute, descending)`): a card without the
/// attribute comes after those with it; ties are broken by id, so the order is stable.
pub fn rank<'c>(mut cards: Vec<&'c Card>, prefer: &[(String, bool)]) -> Vec<&'c Card> {
    cards.sort_by(|a, b| {
        for (key, descending) in prefer {
            let order = match (a.lookup(key), b.lookup(key)) {
                (Some(x), Some(y)) => {
                    let o = order(&x, &y);
                    if *descending { o.reverse() } else { o }
                }
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            };
            if order != Ordering::Equal {
                return order;
            }
        }
        a.id.cmp(&b.id)
    });
    cards
}

fn order(a: &AttrValue, b: &AttrValue) -> Ordering {
    let number = |v: &AttrValue| match v {
        AttrValue::Int(n) => Some(*n as f64),
        AttrValue::Float(x) => Some(*x),
        _ => None,
    };
    match (a, b) {
        (AttrValue::Bool(x), AttrValue::Bool(y)) => x.cmp(y),
        (AttrValue::Str(x), AttrValue::Str(y)) => x.cmp(y),
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            // Values of different kinds: a stable, if arbitrary, order.
            _ => a.to_string().cmp(&b.to_string()),
        },
    }
}
