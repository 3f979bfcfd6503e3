//! The fast path's expressions and literals: the grammar's flat `expr` sequence, structured
//! by the same precedence climbing as the AST builder, with the builder's depth limit.

use ecow::EcoString;

use super::{Parser, is_keyword, is_word_byte};
use crate::ast::*;
use crate::parse::expr::{MAX_EXPR_DEPTH, duration, float_value, int_value, string_value};
use crate::span::Spanned;

/// The deepest expression tree the builder accepts.
pub(super) const MAX_DEPTH: usize = MAX_EXPR_DEPTH;

/// What an expression adds to the builder's depth count: one per operator, call and field
/// access of its own (`local`), plus the deepest nested expression (list element, argument or
/// parenthesised expression) counted one deeper (`nested`).
#[derive(Clone, Copy, Default)]
struct Depth {
    local: usize,
    nested: usize,
}

impl Depth {
    fn nest(&mut self, inner: usize) {
        self.nested = self.nested.max(inner + 1);
    }

    fn total(self) -> usize {
        self.local + self.nested
    }
}

impl Parser<'_> {
    /// An expression that starts a depth count (a statement's, a default, a `where`).
    pub(super) fn top_expr(&mut self) -> Option<Expr> {
        let (expr, depth) = self.expr()?;
        if depth > MAX_DEPTH {
            return self.reject();
        }
        Some(expr)
    }

    /// `expr`: `prefix* ~ postfix ~ (infix ~ prefix* ~ postfix)*`, with its depth.
    fn expr(&mut self) -> Option<(Expr, usize)> {
        let mut depth = Depth::default();
        let first = self.operand(&mut depth)?;
        let mut rest = Vec::new();
        loop {
            let save = self.pos;
            let saved = depth;
            self.skip();
            let Some(op) = self.infix() else {
                self.pos = save;
                break;
            };
            match self.operand(&mut depth) {
                Some(rhs) => {
                    self.deeper(&mut depth)?;
                    rest.push((op, rhs));
                }
                None => {
                    (self.pos, depth) = (save, saved);
                    break;
                }
            }
        }
        let expr =
            if rest.is_empty() { first } else { climb(first, &mut rest.into_iter().peekable(), 0) };
        Some((expr, depth.total()))
    }

    /// Counts one more level in `depth`; past the limit the builder reports the expression,
    /// so the file is rejected before a tree too deep to drop safely is built.
    fn deeper(&mut self, depth: &mut Depth) -> Option<()> {
        depth.local += 1;
        if depth.total() > MAX_DEPTH {
            return self.reject();
        }
        Some(())
    }

    /// `prefix* ~ postfix`, the prefixes applied innermost last.
    fn operand(&mut self, depth: &mut Depth) -> Option<Expr> {
        let mut prefixes = Vec::new();
        loop {
            let save = self.pos;
            self.skip();
            let start = self.pos;
            // `not = "!" ~ !"="`, `neg = "-" ~ !">"`, with trivia allowed before the lookahead.
            let (op, blocker) = match self.peek() {
                Some(b'!') => (UnaryOp::Not, b'='),
                Some(b'-') => (UnaryOp::Neg, b'>'),
                _ => {
                    self.pos = save;
                    break;
                }
            };
            self.pos += 1;
            if self.followed_by(blocker) {
                self.pos = save;
                break;
            }
            prefixes.push(Spanned { node: op, span: self.span(start, self.pos) });
            self.deeper(depth)?;
        }
        self.skip();
        let mut expr = self.postfix(depth)?;
        for op in prefixes.into_iter().rev() {
            let span = op.span.to(expr.span);
            expr = Expr { kind: ExprKind::Unary { op, operand: Box::new(expr) }, span };
        }
        Some(expr)
    }

    /// Whether `byte` comes next after trivia (a lookahead: nothing is consumed).
    fn followed_by(&mut self, byte: u8) -> bool {
        let save = self.pos;
        self.skip();
        let found = self.peek() == Some(byte);
        self.pos = save;
        found
    }

    /// An infix operator, tried in the grammar's order.
    fn infix(&mut self) -> Option<Spanned<BinaryOp>> {
        let start = self.pos;
        let next = self.peek_at(1);
        let (op, len) = match self.peek()? {
            b'|' if next == Some(b'>') => (BinaryOp::Pipe, 2),
            b'|' if next == Some(b'|') => (BinaryOp::Or, 2),
            b'&' if next == Some(b'&') => (BinaryOp::And, 2),
            b'=' if next == Some(b'=') => (BinaryOp::Eq, 2),
            b'!' if next == Some(b'=') => (BinaryOp::Ne, 2),
            b'<' if next == Some(b'=') => (BinaryOp::Le, 2),
            b'>' if next == Some(b'=') => (BinaryOp::Ge, 2),
            b'<' => (BinaryOp::Lt, 1),
            b'>' => (BinaryOp::Gt, 1),
            b'i' if next == Some(b'n') && !self.peek_at(2).is_some_and(is_word_byte) => {
                (BinaryOp::In, 2)
            }
            b'+' => (BinaryOp::Add, 1),
            b'-' => {
                self.pos += 1;
                let arrow = self.followed_by(b'>');
                self.pos = start;
                if arrow {
                    return None;
                }
                (BinaryOp::Sub, 1)
            }
            b'*' => (BinaryOp::Mul, 1),
            b'/' => (BinaryOp::Div, 1),
            b'%' => (BinaryOp::Rem, 1),
            _ => return None,
        };
        self.pos += len;
        Some(Spanned { node: op, span: self.span(start, self.pos) })
    }

    /// `postfix`: a primary, then calls and field accesses with no trivia before them.
    fn postfix(&mut self, depth: &mut Depth) -> Option<Expr> {
        let mut expr = self.primary(depth)?;
        loop {
            let (save, start) = (self.pos, expr.span.start as usize);
            let kind = match self.peek() {
                Some(b'(') => {
                    let Some((args, nested)) = self.paren_args() else {
                        self.pos = save;
                        return Some(expr);
                    };
                    depth.nested = depth.nested.max(nested);
                    ExprKind::Call { callee: Box::new(expr), args }
                }
                Some(b'.') => {
                    self.pos += 1;
                    let Some(name) = self.segment() else {
                        self.pos = save;
                        return Some(expr);
                    };
                    ExprKind::Field { base: Box::new(expr), name }
                }
                _ => return Some(expr),
            };
            self.deeper(depth)?;
            expr = Expr { kind, span: self.span(start, self.pos) };
        }
    }

    /// `paren_args`: the arguments of a call or an attribute, positional ones first, with the
    /// depth they add (the deepest argument, one deeper).
    pub(super) fn paren_args(&mut self) -> Option<(Vec<Arg>, usize)> {
        self.eat(b"(").then_some(())?;
        self.skip();
        let mut depth = Depth::default();
        let args = self.comma_list(|p| {
            let (arg, inner) = p.arg()?;
            depth.nest(inner);
            Some(arg)
        });
        self.expect(b")")?;
        let mut named = false;
        for arg in &args {
            if named && arg.name.is_none() {
                return self.reject();
            }
            named |= arg.name.is_some();
        }
        Some((args, depth.nested))
    }

    /// `arg`: `arg_name? ~ expr`, where `arg_name = segment ~ "=" ~ !"="`.
    fn arg(&mut self) -> Option<(Arg, usize)> {
        let start = self.pos;
        let name = self.segment().and_then(|name| {
            self.skip();
            (self.eat(b"=") && !self.followed_by(b'=')).then_some(name)
        });
        if name.is_none() {
            self.pos = start;
        }
        self.skip();
        let (value, depth) = self.expr()?;
        Some((Arg { name, value, span: self.span(start, self.pos) }, depth))
    }

    /// `primary`: a name, literal, list or parenthesised expression.
    fn primary(&mut self, depth: &mut Depth) -> Option<Expr> {
        let start = self.pos;
        let kind = match self.peek()? {
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => match self.word() {
                b"true" | b"false" => {
                    let value = self.word() == b"true";
                    self.pos += if value { 4 } else { 5 };
                    ExprKind::Bool(value)
                }
                b"null" => {
                    self.pos += 4;
                    ExprKind::Null
                }
                word if is_keyword(word) => return None,
                word => ExprKind::Name(self.take_word(word)),
            },
            b'"' => {
                let raw = match self.text.as_bytes()[start..].starts_with(b"\"\"\"") {
                    true => find(&self.text.as_bytes()[start + 3..], b"\"\"\""),
                    false => None,
                };
                match raw {
                    Some(close) => {
                        self.pos = start + 3 + close + 3;
                        let value = EcoString::from(&self.text[start + 3..start + 3 + close]);
                        ExprKind::Str { value, raw: true }
                    }
                    None => ExprKind::Str { value: self.string()?, raw: false },
                }
            }
            b'0'..=b'9' => self.number()?,
            b'[' => {
                self.pos += 1;
                self.skip();
                let mut inner = Depth::default();
                let items = self.comma_list(|p| {
                    let (item, item_depth) = p.expr()?;
                    inner.nest(item_depth);
                    Some(item)
                });
                self.expect(b"]")?;
                depth.nested = depth.nested.max(inner.nested);
                ExprKind::List(items)
            }
            b'(' => {
                self.pos += 1;
                self.skip();
                let (inner, inner_depth) = self.expr()?;
                self.expect(b")")?;
                depth.nest(inner_depth);
                ExprKind::Paren(Box::new(inner))
            }
            _ => return None,
        };
        Some(Expr { kind, span: self.span(start, self.pos) })
    }

    /// `string`: a one-line string literal, its escapes decoded.
    pub(super) fn string(&mut self) -> Option<EcoString> {
        let start = self.pos;
        if self.peek() != Some(b'"') {
            return None;
        }
        let bytes = self.text.as_bytes();
        let mut at = start + 1;
        loop {
            match bytes.get(at)? {
                b'"' => break,
                b'\\' if bytes.get(at + 1).is_some_and(|&b| b != b'\n') => at += 2,
                b'\\' | b'\n' => return None,
                _ => at += 1,
            }
        }
        self.pos = at + 1;
        match string_value(&self.text[start..self.pos], start, self.file) {
            Ok(value) => Some(value),
            Err(_) => self.reject(),
        }
    }

    /// `int`: digits and `_`, not followed by a name character; its text.
    pub(super) fn int_token(&mut self) -> Option<&str> {
        let start = self.pos;
        let end = self.digits_from(start, true)?;
        if self.text.as_bytes().get(end).is_some_and(|&b| is_word_byte(b)) {
            return None;
        }
        self.pos = end;
        Some(&self.text[start..end])
    }

    /// The end of `ASCII_DIGIT ~ (ASCII_DIGIT | "_")*` (or `ASCII_DIGIT+` without
    /// `underscores`) starting at `at`.
    fn digits_from(&self, at: usize, underscores: bool) -> Option<usize> {
        let bytes = self.text.as_bytes();
        if !bytes.get(at)?.is_ascii_digit() {
            return None;
        }
        let more = bytes[at + 1..]
            .iter()
            .take_while(|&&b| b.is_ascii_digit() || (underscores && b == b'_'))
            .count();
        Some(at + 1 + more)
    }

    /// `duration | float | int`, in that order.
    fn number(&mut self) -> Option<ExprKind> {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        let ends_word = |at: usize| !bytes.get(at).is_some_and(|&b| is_word_byte(b));
        // duration: digits, then `ms`, `s`, `m`, `h` or `d` (the first that matches).
        let digits = self.digits_from(start, false)?;
        let unit = match (bytes.get(digits), bytes.get(digits + 1)) {
            (Some(b'm'), Some(b's')) => 2,
            (Some(b's' | b'm' | b'h' | b'd'), _) => 1,
            _ => 0,
        };
        if unit > 0 && ends_word(digits + unit) {
            self.pos = digits + unit;
            return match duration(&self.text[start..self.pos]) {
                Some(value) => Some(ExprKind::Duration(value)),
                None => self.reject(),
            };
        }
        // float: a fraction and/or an exponent.
        let whole = self.digits_from(start, true)?;
        let fraction = match bytes.get(whole) {
            Some(b'.') => self.digits_from(whole + 1, true),
            _ => None,
        };
        let end = match fraction {
            Some(end) => Some(self.exponent(end).unwrap_or(end)),
            None => self.exponent(whole),
        };
        if let Some(end) = end.filter(|&end| ends_word(end)) {
            self.pos = end;
            return match float_value(&self.text[start..end]) {
                Some(value) => Some(ExprKind::Float(value)),
                None => self.reject(),
            };
        }
        let text = self.int_token()?;
        match int_value(text) {
            Some(value) => Some(ExprKind::Int(value)),
            None => self.reject(),
        }
    }

    /// The end of `("e" | "E") ~ ("+" | "-")? ~ ASCII_DIGIT+` at `at`.
    fn exponent(&self, at: usize) -> Option<usize> {
        let bytes = self.text.as_bytes();
        if !matches!(bytes.get(at), Some(b'e' | b'E')) {
            return None;
        }
        let sign = usize::from(matches!(bytes.get(at + 1), Some(b'+' | b'-')));
        self.digits_from(at + 1 + sign, false)
    }
}

/// Precedence climbing over `first (op operand)*`, exactly as the AST builder does it: all
/// operators are left-associative.
fn climb(
    mut lhs: Expr,
    rest: &mut std::iter::Peekable<std::vec::IntoIter<(Spanned<BinaryOp>, Expr)>>,
    min: u8,
) -> Expr {
    while let Some((op, _)) = rest.peek() {
        if op.node.precedence() < min {
            break;
        }
        let Some((op, rhs)) = rest.next() else { break };
        let rhs = climb(rhs, rest, op.node.precedence() + 1);
        let span = lhs.span.to(rhs.span);
        lhs = Expr { kind: ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }, span };
    }
    lhs
}

/// The offset of the first `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
