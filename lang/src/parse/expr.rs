//! Expressions: operator precedence over the grammar's flat `expr` sequence, postfix calls
//! and field access, and literal values (escapes, number ranges, durations).

use std::iter::Peekable;
use std::time::Duration;

use ecow::EcoString;
use pest::iterators::Pair;

use super::build::{BuildResult, Builder};
use super::error::SyntaxError;
use super::grammar::Rule;
use crate::ast::*;
use crate::span::{FileId, Span, Spanned};

/// How deep an expression tree may be: keeps every recursive pass over the AST within stack.
pub(crate) const MAX_EXPR_DEPTH: usize = 256;

impl Builder<'_> {
    /// Builds an `expr` pair; `depth` bounds the depth of the enclosing expression tree.
    pub(super) fn expr(&self, pair: Pair<'_, Rule>, depth: usize) -> BuildResult<Expr> {
        let span = self.span(&pair);
        let parts: Vec<_> = pair.into_inner().collect();
        // Every operator, call and field access adds at most one level to the tree.
        let local: usize = parts
            .iter()
            .map(|p| match p.as_rule() {
                Rule::postfix => p.clone().into_inner().count().saturating_sub(1),
                _ => 1,
            })
            .sum();
        let depth = depth + local;
        if depth > MAX_EXPR_DEPTH {
            return Err(SyntaxError::TooDeep { what: "expressions", limit: MAX_EXPR_DEPTH, span });
        }
        let mut parts = parts.into_iter().peekable();
        self.climb(&mut parts, 0, depth)
    }

    /// Precedence climbing: parses operands joined by operators of at least `min` precedence.
    fn climb<'i>(
        &self,
        parts: &mut Peekable<impl Iterator<Item = Pair<'i, Rule>>>,
        min: u8,
        depth: usize,
    ) -> BuildResult<Expr> {
        let mut lhs = self.operand(parts, depth)?;
        while let Some(op) = parts.peek().and_then(|p| binary_op(p.as_rule())) {
            if op.precedence() < min {
                break;
            }
            let Some(op_pair) = parts.next() else { break };
            let op = Spanned { node: op, span: self.span(&op_pair) };
            let rhs = self.climb(parts, op.node.precedence() + 1, depth)?;
            let span = lhs.span.to(rhs.span);
            lhs = Expr {
                kind: ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) },
                span,
            };
        }
        Ok(lhs)
    }

    /// Prefix operators, then a postfix expression.
    fn operand<'i>(
        &self,
        parts: &mut Peekable<impl Iterator<Item = Pair<'i, Rule>>>,
        depth: usize,
    ) -> BuildResult<Expr> {
        let mut prefixes = Vec::new();
        while let Some(op) = parts.peek().and_then(|p| match p.as_rule() {
            Rule::not => Some(UnaryOp::Not),
            Rule::neg => Some(UnaryOp::Neg),
            _ => None,
        }) {
            if let Some(pair) = parts.next() {
                prefixes.push(Spanned { node: op, span: self.span(&pair) });
            }
        }
        let Some(postfix) = parts.next() else {
            return Err(self.internal());
        };
        let mut expr = self.postfix(postfix, depth)?;
        for op in prefixes.into_iter().rev() {
            let span = op.span.to(expr.span);
            expr = Expr { kind: ExprKind::Unary { op, operand: Box::new(expr) }, span };
        }
        Ok(expr)
    }

    fn postfix(&self, pair: Pair<'_, Rule>, depth: usize) -> BuildResult<Expr> {
        let mut parts = pair.into_inner();
        let Some(primary) = parts.next() else {
            return Err(self.internal());
        };
        let mut expr = self.primary(primary, depth)?;
        for part in parts {
            let span = expr.span.to(self.span(&part));
            let kind = match part.as_rule() {
                Rule::paren_args => {
                    ExprKind::Call { callee: Box::new(expr), args: self.args(part, depth)? }
                }
                _ => {
                    let Some(name) = part.into_inner().next() else {
                        return Err(self.internal());
                    };
                    ExprKind::Field { base: Box::new(expr), name: self.ident(name) }
                }
            };
            expr = Expr { kind, span };
        }
        Ok(expr)
    }

    fn primary(&self, pair: Pair<'_, Rule>, depth: usize) -> BuildResult<Expr> {
        let span = self.span(&pair);
        let text = pair.as_str();
        let kind = match pair.as_rule() {
            Rule::ident => ExprKind::Name(self.ident(pair)),
            Rule::int => {
                ExprKind::Int(int_value(text).ok_or_else(|| SyntaxError::NumberOutOfRange {
                    what: "integer literal",
                    span,
                    help: format!("integers are 64-bit: at most {}", i64::MAX),
                })?)
            }
            Rule::float => {
                ExprKind::Float(float_value(text).ok_or_else(|| SyntaxError::NumberOutOfRange {
                    what: "float literal",
                    span,
                    help: format!("floats are 64-bit: at most {:e}", f64::MAX),
                })?)
            }
            Rule::duration => {
                ExprKind::Duration(duration(text).ok_or(SyntaxError::NumberOutOfRange {
                    what: "duration",
                    span,
                    help: "durations are at most about 584 million years".into(),
                })?)
            }
            Rule::boolean => ExprKind::Bool(text == "true"),
            Rule::null => ExprKind::Null,
            Rule::string => ExprKind::Str { value: self.string(&pair)?, raw: false },
            Rule::raw_string => {
                let value = text.get(3..text.len().saturating_sub(3)).unwrap_or("");
                ExprKind::Str { value: EcoString::from(value), raw: true }
            }
            Rule::list => ExprKind::List(
                pair.into_inner().map(|e| self.expr(e, depth + 1)).collect::<BuildResult<_>>()?,
            ),
            Rule::paren => {
                let Some(inner) = pair.into_inner().next() else {
                    return Err(self.internal());
                };
                ExprKind::Paren(Box::new(self.expr(inner, depth + 1)?))
            }
            _ => return Err(self.internal()),
        };
        Ok(Expr { kind, span })
    }

    /// The arguments of `paren_args`; positional ones must come before named ones.
    pub(super) fn args(&self, pair: Pair<'_, Rule>, depth: usize) -> BuildResult<Vec<Arg>> {
        let mut args: Vec<Arg> = Vec::new();
        for arg in pair.into_inner() {
            let span = self.span(&arg);
            let mut name = None;
            let mut value = None;
            for part in arg.into_inner() {
                match part.as_rule() {
                    Rule::arg_name => name = part.into_inner().next().map(|n| self.ident(n)),
                    _ => value = Some(self.expr(part, depth + 1)?),
                }
            }
            let Some(value) = value else {
                return Err(self.internal());
            };
            if name.is_none()
                && let Some(named) = args.iter().find(|a| a.name.is_some())
            {
                return Err(SyntaxError::PositionalAfterNamed { span, named: named.span });
            }
            args.push(Arg { name, value, span });
        }
        Ok(args)
    }

    /// Decodes a one-line string literal's escapes.
    pub(super) fn string(&self, pair: &Pair<'_, Rule>) -> BuildResult<EcoString> {
        string_value(pair.as_str(), self.offset + pair.as_span().start(), self.file)
    }
}

/// The value of the one-line string literal `text` (quotes included), which starts at offset
/// `start` of `file`: its escapes decoded, or the first bad escape.
pub(super) fn string_value(text: &str, start: usize, file: FileId) -> BuildResult<EcoString> {
    let span_of = |start: usize, end: usize| Span::new(file, start as u32, end as u32);
    let body = text.get(1..text.len().saturating_sub(1)).unwrap_or("");
    if !body.contains('\\') {
        return Ok(EcoString::from(body));
    }
    let mut out = EcoString::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let bad = |len: usize| SyntaxError::InvalidEscape {
            escape: body[i..(i + len).min(body.len())].to_owned(),
            span: span_of(start + 1 + i, start + 1 + (i + len).min(body.len())),
        };
        let Some((_, e)) = chars.next() else {
            return Err(bad(1));
        };
        out.push(match e {
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            '0' => '\0',
            '\\' => '\\',
            '"' => '"',
            'u' => {
                let rest = &body[i + 2..];
                let close = rest.find('}').filter(|_| rest.starts_with('{'));
                let Some(close) = close else {
                    return Err(bad(2));
                };
                let hex = &rest[1..close];
                let decoded = (1..=6)
                    .contains(&hex.len())
                    .then(|| u32::from_str_radix(hex, 16).ok())
                    .flatten()
                    .and_then(char::from_u32);
                let Some(decoded) = decoded else {
                    return Err(bad(close + 3));
                };
                for _ in 0..close + 1 {
                    chars.next();
                }
                decoded
            }
            other => return Err(bad(1 + other.len_utf8())),
        });
    }
    Ok(out)
}

/// The value of an `int` literal (digits with optional `_`), or `None` past `i64::MAX`.
pub(super) fn int_value(text: &str) -> Option<i64> {
    if text.contains('_') { text.replace('_', "").parse().ok() } else { text.parse().ok() }
}

/// The value of a `float` literal, or `None` if it is not finite.
pub(super) fn float_value(text: &str) -> Option<f64> {
    let value: f64 =
        if text.contains('_') { text.replace('_', "").parse().ok()? } else { text.parse().ok()? };
    value.is_finite().then_some(value)
}

fn binary_op(rule: Rule) -> Option<BinaryOp> {
    Some(match rule {
        Rule::pipe => BinaryOp::Pipe,
        Rule::or => BinaryOp::Or,
        Rule::and => BinaryOp::And,
        Rule::eq => BinaryOp::Eq,
        Rule::ne => BinaryOp::Ne,
        Rule::lt => BinaryOp::Lt,
        Rule::le => BinaryOp::Le,
        Rule::gt => BinaryOp::Gt,
        Rule::ge => BinaryOp::Ge,
        Rule::in_op => BinaryOp::In,
        Rule::add => BinaryOp::Add,
        Rule::sub => BinaryOp::Sub,
        Rule::mul => BinaryOp::Mul,
        Rule::div => BinaryOp::Div,
        Rule::rem => BinaryOp::Rem,
        _ => return None,
    })
}

/// `30s`, `100ms`, `5m`, `2h`, `1d` as a duration (the language's duration literals); `None`
/// for anything else, or on overflow.
pub fn duration(text: &str) -> Option<Duration> {
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let value: u64 = text[..digits].parse().ok()?;
    let millis = match &text[digits..] {
        "ms" => Some(value),
        "s" => value.checked_mul(1_000),
        "m" => value.checked_mul(60_000),
        "h" => value.checked_mul(3_600_000),
        "d" => value.checked_mul(86_400_000),
        _ => None,
    }?;
    Some(Duration::from_millis(millis))
}
