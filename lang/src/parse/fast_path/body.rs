//! The fast path's types, blocks and statements.

use super::Parser;
use crate::ast::*;

impl Parser<'_> {
    /// `type_expr`: a named, table, tensor or list type, then an optional `?`.
    pub(super) fn type_expr(&mut self) -> Option<TypeExpr> {
        let start = self.pos;
        let kind = match self.word() {
            b"table" => {
                self.pos += 5;
                self.expect(b"{")?;
                self.skip();
                let fields = self.comma_list(Self::field);
                self.expect(b"}")?;
                TypeKind::Table(fields)
            }
            b"tensor" => {
                self.pos += 6;
                self.expect(b"<")?;
                self.skip();
                let dtype = Box::new(self.type_expr()?);
                self.expect(b",")?;
                self.expect(b"[")?;
                self.skip();
                let dims = self.comma_list(Self::dim);
                self.expect(b"]")?;
                self.expect(b">")?;
                TypeKind::Tensor { dtype, dims }
            }
            b"list" => {
                self.pos += 4;
                self.expect(b"<")?;
                self.skip();
                let element = Box::new(self.type_expr()?);
                self.expect(b">")?;
                TypeKind::List(element)
            }
            _ => {
                let first = self.ident()?;
                TypeKind::Named(self.dotted(first))
            }
        };
        let ty = TypeExpr { kind, span: self.span(start, self.pos) };
        Some(match self.optional(|p| p.eat(b"?").then_some(())) {
            Some(()) => TypeExpr {
                kind: TypeKind::Optional(Box::new(ty)),
                span: self.span(start, self.pos),
            },
            None => ty,
        })
    }

    /// `field`: `doc_comment* ~ segment ~ ":" ~ type_expr`.
    fn field(&mut self) -> Option<Field> {
        let start = self.pos;
        let docs = self.docs();
        self.skip();
        let name = self.segment()?;
        self.expect(b":")?;
        self.skip();
        let ty = self.type_expr()?;
        Some(Field { docs, name, ty, span: self.span(start, self.pos) })
    }

    /// `dim`: `_`, a size, or a symbol.
    fn dim(&mut self) -> Option<Dim> {
        let start = self.pos;
        let word = self.word();
        let kind = if word == b"_" {
            DimKind::Any
        } else if !word.is_empty() && word.iter().all(u8::is_ascii_digit) {
            let Ok(size) = self.text[start..start + word.len()].parse() else {
                return self.reject();
            };
            DimKind::Fixed(size)
        } else {
            let symbol = self.ident()?;
            return Some(Dim { kind: DimKind::Symbol(symbol.name), span: symbol.span });
        };
        self.pos += word.len();
        Some(Dim { kind, span: self.span(start, self.pos) })
    }

    /// `block`: `"{" ~ stmt* ~ "}"`, one statement per line.
    pub(super) fn block(&mut self) -> Option<Block> {
        let start = self.pos;
        self.eat(b"{").then_some(())?;
        let mut stmts: Vec<Stmt> = Vec::new();
        loop {
            self.skip();
            if self.eat(b"}") {
                return Some(Block { stmts, span: self.span(start, self.pos) });
            }
            let stmt = self.stmt()?;
            if let Some(previous) = stmts.last() {
                let between =
                    &self.text.as_bytes()[previous.span.end as usize..stmt.span.start as usize];
                if !between.contains(&b'\n') {
                    return self.reject();
                }
            }
            stmts.push(stmt);
        }
    }

    /// `stmt`: docs and attributes, then `let`, `return`, `assert` or an expression.
    fn stmt(&mut self) -> Option<Stmt> {
        let start = self.pos;
        let docs = self.docs();
        let attrs = self.attributes()?;
        self.skip();
        let kind = match self.word() {
            b"let" => {
                self.pos += 3;
                self.skip();
                let name = self.ident()?;
                let ty = self.optional(|p| {
                    p.eat(b":").then_some(())?;
                    p.skip();
                    p.type_expr()
                });
                self.expect(b"=")?;
                self.skip();
                StmtKind::Let { name, ty, value: self.top_expr()? }
            }
            b"return" => {
                self.pos += 6;
                self.skip();
                StmtKind::Return(self.top_expr()?)
            }
            b"assert" => {
                self.pos += 6;
                self.skip();
                let cond = self.top_expr()?;
                let message = self.optional(|p| {
                    p.eat(b",").then_some(())?;
                    p.skip();
                    p.top_expr()
                });
                StmtKind::Assert { cond, message }
            }
            _ => StmtKind::Expr(self.top_expr()?),
        };
        if !attrs.is_empty() && matches!(kind, StmtKind::Return(_) | StmtKind::Assert { .. }) {
            return self.reject();
        }
        Some(Stmt { docs, attrs, kind, span: self.span(start, self.pos) })
    }
}
