//! The canonical layout of `.ag` source (`aigridc fmt`).
//!
//! The formatter prints the AST, not the text: layout is decided here alone, so formatting is
//! idempotent. Literals are printed as written. Comments are put back by position: a comment
//! is printed before the first node that starts after it, or at the end of the line of the
//! node it follows on the same line; none is ever dropped. Blank lines between statements
//! (at most one) are kept.

mod doc;

use self::doc::Doc;
use crate::ast::*;
use crate::parse::Parsed;
use crate::span::{Span, Spanned};

/// Formats a parsed file whose source is `text`. Call it only on a file without syntax
/// errors: items that failed to parse are not in the AST and would be lost.
pub fn format(parsed: &Parsed, text: &str) -> String {
    let mut f = Formatter { text, comments: &parsed.comments, next: 0 };
    let doc = f.module(&parsed.module);
    let mut out = doc::print(&doc);
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

struct Formatter<'a> {
    text: &'a str,
    comments: &'a [Comment],
    /// The first comment not printed yet.
    next: usize,
}

impl Formatter<'_> {
    fn source(&self, span: Span) -> &str {
        span.text(self.text)
    }

    /// The comments that start before `offset`, each on its own line.
    fn leading(&mut self, offset: u32) -> Doc {
        let mut docs = Vec::new();
        while let Some(comment) = self.comments.get(self.next).filter(|c| c.span.start < offset) {
            docs.push(Doc::text(self.source(comment.span).trim_end()));
            docs.push(Doc::HardLine);
            self.next += 1;
        }
        Doc::Concat(docs)
    }

    /// A comment that follows `end` on the same line, printed after a space.
    fn trailing(&mut self, end: u32) -> Doc {
        let Some(comment) = self.comments.get(self.next) else {
            return Doc::Concat(vec![]);
        };
        let between = self.text.get(end as usize..comment.span.start as usize).unwrap_or("\n");
        if comment.span.start < end || !between.chars().all(|c| c == ',' || c == ' ' || c == '\t') {
            return Doc::Concat(vec![]);
        }
        self.next += 1;
        let text = self.source(comment.span).trim_end();
        let after = if comment.block { Doc::Concat(vec![]) } else { Doc::BreakParent };
        Doc::Concat(vec![Doc::text(format!(" {text}")), after])
    }

    /// Whether the source has a line break between the end of the operand before `rhs_start`
    /// (at or after `floor`) and `rhs_start`: the author broke the chain there.
    fn line_break_before(&self, rhs_start: u32, floor: u32) -> bool {
        let before = self.text.get(floor as usize..rhs_start as usize).unwrap_or("");
        // The operator and the spaces around it directly precede the operand.
        let before = before.trim_end().trim_end_matches("|>").trim_end_matches([' ', '\t']);
        before.ends_with('\n')
    }

    /// Whether the source has a blank line between `start` and `end`.
    fn blank_between(&self, start: u32, end: u32) -> bool {
        let between = self.text.get(start as usize..end as usize).unwrap_or("");
        let mut lines = between.split('\n').skip(1);
        let last = between.split('\n').count().saturating_sub(2);
        lines.by_ref().take(last).any(|line| line.trim().is_empty())
    }

    fn module(&mut self, module: &Module) -> Doc {
        let mut docs = Vec::new();
        let mut prev: Option<(&Item, u32)> = None;
        if let Some(package) = &module.package {
            docs.push(self.leading(package.span.start));
            docs.push(docs_lines(&package.docs));
            docs.push(Doc::text(format!(
                "package {} @ {}",
                package.name,
                self.source(package.version.span)
            )));
            docs.push(self.trailing(package.span.end));
            docs.push(Doc::HardLine);
        }
        for item in &module.items {
            let start = item.span.start;
            match prev {
                // Runs of `use` or of `type` lines keep the blank lines they have.
                Some((prev, end))
                    if same_one_line_kind(&prev.kind, &item.kind)
                        && !self.blank_between(end, start) => {}
                None if module.package.is_none() => {}
                _ => docs.push(Doc::EmptyLine),
            }
            docs.push(self.leading(start));
            docs.push(self.item(item));
            docs.push(self.trailing(item.span.end));
            docs.push(Doc::HardLine);
            prev = Some((item, item.span.end));
        }
        docs.push(self.leading(u32::MAX));
        Doc::Concat(docs)
    }

    fn item(&mut self, item: &Item) -> Doc {
        let mut docs = vec![docs_lines(&item.docs)];
        if !item.attrs.is_empty() {
            docs.push(self.attributes(&item.attrs));
            docs.push(Doc::HardLine);
        }
        docs.push(match &item.kind {
            ItemKind::Use(decl) => self.use_decl(decl),
            ItemKind::Type(alias) => Doc::Concat(vec![
                Doc::text(format!("type {} = ", alias.name.name)),
                self.ty(&alias.ty),
            ]),
            ItemKind::Ai(ai) => self.ai(ai),
            ItemKind::Pipeline(pipeline) => {
                let mut head = vec![Doc::text(format!("pipeline {}", pipeline.name.name))];
                head.push(self.params(&pipeline.params));
                if let Some(ret) = &pipeline.ret {
                    head.push(Doc::text(" -> "));
                    head.push(self.ty(ret));
                }
                head.push(Doc::text(" "));
                head.push(self.block(&pipeline.body));
                Doc::Concat(head)
            }
            ItemKind::Test(test) => Doc::Concat(vec![
                Doc::text(format!("test {} ", self.source(test.name.span))),
                self.block(&test.body),
            ]),
        });
        Doc::Concat(docs)
    }

    fn attributes(&mut self, attrs: &[Attribute]) -> Doc {
        let mut docs = Vec::new();
        for (i, attr) in attrs.iter().enumerate() {
            if i > 0 {
                docs.push(Doc::text(" "));
            }
            docs.push(Doc::text(format!("@{}", attr.name.name)));
            if let Some(args) = &attr.args {
                docs.push(self.args(args));
            }
        }
        Doc::Concat(docs)
    }

    fn use_decl(&mut self, decl: &UseDecl) -> Doc {
        let mut text = format!("use {}", decl.path);
        match &decl.imports {
            UseImports::Module { alias: Some(alias) } => text += &format!(" as {}", alias.name),
            UseImports::Module { alias: None } => {}
            UseImports::Names(names) => {
                let list = self.list(
                    ("{", "}"),
                    names,
                    false,
                    |name| {
                        name.alias.as_ref().map_or(name.name.span, |a| name.name.span.to(a.span))
                    },
                    |_, name| match &name.alias {
                        Some(alias) => Doc::text(format!("{} as {}", name.name.name, alias.name)),
                        None => Doc::text(name.name.name.as_str()),
                    },
                );
                return Doc::Concat(vec![Doc::text(text + "."), list]);
            }
        }
        Doc::text(text)
    }

    fn ai(&mut self, ai: &AiDecl) -> Doc {
        let end = ai.ret.span.end;
        let mut docs = vec![
            Doc::text(format!("ai {}", ai.name.name)),
            self.params(&ai.params),
            Doc::text(" -> "),
            self.ty(&ai.ret),
            self.trailing(end),
        ];
        let mut clauses = Vec::new();
        if let Some(predicate) = &ai.predicate {
            clauses.push(Doc::HardLine);
            clauses.push(self.leading(predicate.span.start));
            clauses.push(Doc::text("where "));
            clauses.push(self.expr(predicate).group());
            clauses.push(self.trailing(predicate.span.end));
        }
        if !ai.prefer.is_empty() {
            clauses.push(Doc::HardLine);
            clauses.push(Doc::text("prefer "));
            let keys: Vec<String> = ai
                .prefer
                .iter()
                .map(|key| match &key.order {
                    Some(order) => format!("{} {}", key.key.name, self.source(order.span)),
                    None => key.key.name.to_string(),
                })
                .collect();
            clauses.push(Doc::text(keys.join(", ")));
            if let Some(last) = ai.prefer.last() {
                let end = last.order.as_ref().map_or(last.key.span.end, |o| o.span.end);
                clauses.push(self.trailing(end));
            }
        }
        if let Some(fallback) = &ai.fallback {
            clauses.push(Doc::HardLine);
            clauses.push(Doc::text(format!("fallback {}", self.source(fallback.span))));
        }
        docs.push(Doc::Concat(clauses).nest());
        Doc::Concat(docs)
    }

    fn params(&mut self, params: &[Param]) -> Doc {
        self.list(
            ("(", ")"),
            params,
            false,
            |param| param.span,
            |f, param| {
                let mut doc = vec![Doc::text(format!("{}: ", param.name.name)), f.ty(&param.ty)];
                if let Some(default) = &param.default {
                    doc.push(Doc::text(" = "));
                    doc.push(f.expr(default));
                }
                Doc::Concat(doc)
            },
        )
    }

    /// A bracketed, comma-separated list: flat, or one element per line with a trailing comma.
    /// Elements are built in order, after their leading comments are taken.
    fn list<T>(
        &mut self,
        (open, close): (&str, &str),
        items: &[T],
        spaced: bool,
        span: impl Fn(&T) -> Span,
        mut build: impl FnMut(&mut Self, &T) -> Doc,
    ) -> Doc {
        if items.is_empty() {
            return Doc::text(format!("{open}{close}"));
        }
        let edge = if spaced { Doc::Line } else { Doc::SoftLine };
        let mut inner = vec![edge.clone()];
        for (i, item) in items.iter().enumerate() {
            let last = i + 1 == items.len();
            inner.push(self.leading(span(item).start));
            inner.push(build(self, item));
            inner.push(if last { Doc::IfBreak(",") } else { Doc::text(",") });
            inner.push(self.trailing(span(item).end));
            if !last {
                inner.push(Doc::Line);
            }
        }
        Doc::Concat(vec![Doc::text(open), Doc::Concat(inner).nest(), edge, Doc::text(close)])
            .group()
    }

    fn ty(&mut self, ty: &TypeExpr) -> Doc {
        match &ty.kind {
            TypeKind::Named(name) => Doc::text(name.to_string()),
            TypeKind::Optional(inner) => Doc::Concat(vec![self.ty(inner), Doc::text("?")]),
            TypeKind::List(inner) => {
                Doc::Concat(vec![Doc::text("list<"), self.ty(inner), Doc::text(">")])
            }
            TypeKind::Tensor { dtype, dims } => {
                let dims: Vec<String> =
                    dims.iter().map(|d| self.source(d.span).to_owned()).collect();
                Doc::Concat(vec![
                    Doc::text("tensor<"),
                    self.ty(dtype),
                    Doc::text(format!(", [{}]>", dims.join(", "))),
                ])
            }
            TypeKind::Table(fields) => {
                let list = self.list(
                    ("{", "}"),
                    fields,
                    true,
                    |field| field.span,
                    |f, field| {
                        Doc::Concat(vec![
                            docs_lines(&field.docs),
                            Doc::text(format!("{}: ", field.name.name)),
                            f.ty(&field.ty),
                        ])
                    },
                );
                Doc::Concat(vec![Doc::text("table "), list])
            }
        }
    }

    fn block(&mut self, block: &Block) -> Doc {
        let close = block.span.end.saturating_sub(1);
        let has_comments = self.comments.get(self.next).is_some_and(|c| c.span.start < close);
        if block.stmts.is_empty() && !has_comments {
            return Doc::text("{}");
        }
        let mut inner = Vec::new();
        let mut prev_end = None;
        for stmt in &block.stmts {
            if let Some(end) = prev_end
                && self.blank_between(end, stmt.span.start)
            {
                inner.push(Doc::EmptyLine);
            }
            inner.push(Doc::HardLine);
            inner.push(self.leading(stmt.span.start));
            inner.push(self.stmt(stmt));
            inner.push(self.trailing(stmt.span.end));
            prev_end = Some(stmt.span.end);
        }
        if let Doc::Concat(mut rest) = self.leading(close)
            && !rest.is_empty()
        {
            // `leading` ends each comment with a line break; the closing brace adds its own.
            rest.pop();
            inner.push(Doc::HardLine);
            inner.extend(rest);
        }
        Doc::Concat(vec![Doc::text("{"), Doc::Concat(inner).nest(), Doc::HardLine, Doc::text("}")])
    }

    fn stmt(&mut self, stmt: &Stmt) -> Doc {
        let mut docs = vec![docs_lines(&stmt.docs)];
        if !stmt.attrs.is_empty() {
            docs.push(self.attributes(&stmt.attrs));
            docs.push(Doc::text(" "));
        }
        docs.push(match &stmt.kind {
            StmtKind::Let { name, ty, value } => {
                let mut doc = vec![Doc::text(format!("let {}", name.name))];
                if let Some(ty) = ty {
                    doc.push(Doc::text(": "));
                    doc.push(self.ty(ty));
                }
                doc.push(Doc::text(" = "));
                doc.push(self.expr(value));
                Doc::Concat(doc)
            }
            StmtKind::Return(value) => Doc::Concat(vec![Doc::text("return "), self.expr(value)]),
            StmtKind::Assert { cond, message } => {
                let mut doc = vec![Doc::text("assert "), self.expr(cond)];
                if let Some(message) = message {
                    doc.push(Doc::text(", "));
                    doc.push(self.expr(message));
                }
                Doc::Concat(doc)
            }
            StmtKind::Expr(value) => self.expr(value),
        });
        Doc::Concat(docs)
    }

    fn expr(&mut self, expr: &Expr) -> Doc {
        let leading = self.leading(expr.span.start);
        let doc = match &expr.kind {
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Str { .. }
            | ExprKind::Duration(_)
            | ExprKind::Bool(_)
            | ExprKind::Null => Doc::text(self.source(expr.span)),
            ExprKind::Name(name) => Doc::text(name.name.as_str()),
            ExprKind::Field { base, name } => {
                Doc::Concat(vec![self.expr(base), Doc::text(format!(".{}", name.name))])
            }
            ExprKind::Call { callee, args } => {
                Doc::Concat(vec![self.expr(callee), self.args(args)])
            }
            ExprKind::Unary { op, operand } => {
                let op = match op.node {
                    UnaryOp::Not => "!",
                    UnaryOp::Neg => "-",
                };
                Doc::Concat(vec![Doc::text(op), self.expr(operand)])
            }
            ExprKind::Paren(inner) => {
                Doc::Concat(vec![Doc::text("("), self.expr(inner), Doc::text(")")])
            }
            ExprKind::List(items) => {
                self.list(("[", "]"), items, false, |item| item.span, |f, item| f.expr(item))
            }
            ExprKind::Binary { op, .. } => {
                // A chain of operators of one precedence breaks before each operator.
                let precedence = op.node.precedence();
                let mut operands = Vec::new();
                let mut spine = expr;
                while let ExprKind::Binary { op, lhs, rhs } = &spine.kind {
                    if op.node.precedence() != precedence {
                        break;
                    }
                    operands.push((op.node, rhs));
                    spine = lhs;
                }
                let mut rest = Vec::new();
                // A pipe chain the author wrote across lines stays one step per line.
                if op.node == BinaryOp::Pipe
                    && operands
                        .iter()
                        .any(|(_, rhs)| self.line_break_before(rhs.span.start, spine.span.end))
                {
                    rest.push(Doc::BreakParent);
                }
                let first = self.expr(spine);
                for (op, rhs) in operands.into_iter().rev() {
                    rest.push(Doc::Line);
                    rest.push(Doc::text(format!("{} ", op.as_str())));
                    rest.push(self.expr(rhs));
                }
                Doc::Concat(vec![first, Doc::Concat(rest).nest()]).group()
            }
        };
        Doc::Concat(vec![leading, doc])
    }

    fn args(&mut self, args: &[Arg]) -> Doc {
        self.list(
            ("(", ")"),
            args,
            false,
            |arg| arg.span,
            |f, arg| {
                let value = f.expr(&arg.value);
                match &arg.name {
                    Some(name) => Doc::Concat(vec![Doc::text(format!("{} = ", name.name)), value]),
                    None => value,
                }
            },
        )
    }
}

fn docs_lines(docs: &[Spanned<ecow::EcoString>]) -> Doc {
    Doc::Concat(
        docs.iter()
            .flat_map(|line| [Doc::text(format!("///{}", line.node)), Doc::HardLine])
            .collect(),
    )
}

fn same_one_line_kind(a: &ItemKind, b: &ItemKind) -> bool {
    matches!((a, b), (ItemKind::Use(_), ItemKind::Use(_)) | (ItemKind::Type(_), ItemKind::Type(_)))
}
