//! Turns pest pairs into the owned AST: files, items, types and statements.
//! Expressions and literals are in `expr.rs`.

use ecow::EcoString;
use pest::iterators::Pair;

use super::error::SyntaxError;
use super::grammar::Rule;
use crate::ast::*;
use crate::span::{FileId, Span, Spanned};

pub(crate) type BuildResult<T> = Result<T, SyntaxError>;

/// What one `top_item` pair becomes.
pub(crate) enum TopItem {
    Package(PackageDecl),
    Item(Item),
}

/// Builds AST nodes from the pairs of one `top_item`, parsed from `text[offset..]`.
pub(crate) struct Builder<'t> {
    pub(super) file: FileId,
    pub(super) offset: usize,
    text: &'t str,
    /// The file's comments, to trim them off the ends of spans.
    comments: &'t [Comment],
}

impl<'t> Builder<'t> {
    pub(crate) fn new(file: FileId, offset: usize, text: &'t str, comments: &'t [Comment]) -> Self {
        Builder { file, offset, text, comments }
    }

    /// The span of a pair, without the whitespace and comments pest includes at the end of a
    /// rule that ends in a repetition.
    pub(super) fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let span = pair.as_span();
        let start = self.offset + span.start();
        let mut end = self.offset + span.end();
        let bytes = self.text.as_bytes();
        loop {
            while end > start && bytes[end - 1].is_ascii_whitespace() {
                end -= 1;
            }
            // A comment that ends here, or whose rest is whitespace (a `//` comment's trailing
            // spaces, the `\r` of a CRLF line end).
            let comment = self.comments.partition_point(|c| (c.span.end as usize) < end);
            match self.comments.get(comment) {
                Some(c)
                    if (c.span.start as usize) < end
                        && c.span.start as usize >= start
                        && bytes[end..c.span.end as usize].iter().all(u8::is_ascii_whitespace) =>
                {
                    end = c.span.start as usize;
                }
                _ => break,
            }
        }
        self.span_of(start, end)
    }

    pub(super) fn span_of(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start as u32, end as u32)
    }

    pub(super) fn ident(&self, pair: Pair<'_, Rule>) -> Ident {
        Ident { name: EcoString::from(pair.as_str()), span: self.span(&pair) }
    }

    pub(crate) fn top_item(&self, pair: Pair<'_, Rule>) -> BuildResult<TopItem> {
        let Some(inner) = pair.into_inner().next() else {
            return Err(self.internal());
        };
        match inner.as_rule() {
            Rule::package_decl => self.package(inner).map(TopItem::Package),
            _ => self.item(inner).map(TopItem::Item),
        }
    }

    /// An error for a pair shape the grammar does not produce: reported as a bug, never
    /// panicked on.
    pub(super) fn internal(&self) -> SyntaxError {
        SyntaxError::Internal {
            what: "unexpected parse tree shape",
            span: self.span_of(self.offset, self.offset),
        }
    }

    fn package(&self, pair: Pair<'_, Rule>) -> BuildResult<PackageDecl> {
        let span = self.span(&pair);
        let mut docs = Vec::new();
        let mut name = None;
        let mut version = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::doc_comment => docs.push(self.doc(part)),
                Rule::module_path => name = Some(self.path(part)),
                Rule::version => {
                    let vspan = self.span(&part);
                    let parsed = semver::Version::parse(part.as_str()).map_err(|e| {
                        SyntaxError::InvalidVersion { reason: e.to_string(), span: vspan }
                    })?;
                    version = Some(Spanned { node: parsed, span: vspan });
                }
                _ => {}
            }
        }
        match (name, version) {
            (Some(name), Some(version)) => Ok(PackageDecl { docs, name, version, span }),
            _ => Err(self.internal()),
        }
    }

    fn doc(&self, pair: Pair<'_, Rule>) -> Spanned<EcoString> {
        let text = pair.as_str().strip_prefix("///").unwrap_or("");
        Spanned { node: EcoString::from(text.trim_end()), span: self.span(&pair) }
    }

    pub(super) fn path(&self, pair: Pair<'_, Rule>) -> Path {
        let span = self.span(&pair);
        Path { segments: pair.into_inner().map(|p| self.ident(p)).collect(), span }
    }

    fn item(&self, pair: Pair<'_, Rule>) -> BuildResult<Item> {
        let span = self.span(&pair);
        let mut docs = Vec::new();
        let mut attrs = Vec::new();
        for part in pair.into_inner() {
            let kind = match part.as_rule() {
                Rule::doc_comment => {
                    docs.push(self.doc(part));
                    continue;
                }
                Rule::attribute => {
                    attrs.push(self.attribute(part)?);
                    continue;
                }
                Rule::use_decl => ItemKind::Use(self.use_decl(part)?),
                Rule::type_alias => {
                    let mut inner = part.into_inner();
                    let (Some(name), Some(ty)) = (inner.next(), inner.next()) else {
                        return Err(self.internal());
                    };
                    ItemKind::Type(TypeAlias { name: self.ident(name), ty: self.type_expr(ty)? })
                }
                Rule::ai_decl => ItemKind::Ai(self.ai_decl(part)?),
                Rule::pipeline_decl => ItemKind::Pipeline(self.pipeline_decl(part)?),
                Rule::test_decl => {
                    let mut inner = part.into_inner();
                    let (Some(name), Some(body)) = (inner.next(), inner.next()) else {
                        return Err(self.internal());
                    };
                    let name = Spanned { node: self.string(&name)?, span: self.span(&name) };
                    ItemKind::Test(TestDecl { name, body: self.block(body)? })
                }
                _ => return Err(self.internal()),
            };
            return Ok(Item { docs, attrs, kind, span });
        }
        Err(self.internal())
    }

    pub(super) fn attribute(&self, pair: Pair<'_, Rule>) -> BuildResult<Attribute> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let Some(name) = inner.next() else {
            return Err(self.internal());
        };
        let args = inner.next().map(|args| self.args(args, 0)).transpose()?;
        Ok(Attribute { name: self.ident(name), args, span })
    }

    fn use_decl(&self, pair: Pair<'_, Rule>) -> BuildResult<UseDecl> {
        let mut inner = pair.into_inner();
        let Some(path) = inner.next() else {
            return Err(self.internal());
        };
        let path = self.path(path);
        let imports = match inner.next() {
            None => UseImports::Module { alias: None },
            Some(tail) if tail.as_rule() == Rule::use_alias => UseImports::Module {
                alias: tail.into_inner().next().map(|alias| self.ident(alias)),
            },
            Some(group) => UseImports::Names(
                group
                    .into_inner()
                    .map(|name| {
                        let mut parts = name.into_inner();
                        let name = parts.next().map(|n| self.ident(n));
                        let alias = parts.next().map(|a| self.ident(a));
                        name.map(|name| UseName { name, alias }).ok_or_else(|| self.internal())
                    })
                    .collect::<BuildResult<_>>()?,
            ),
        };
        Ok(UseDecl { path, imports })
    }

    fn ai_decl(&self, pair: Pair<'_, Rule>) -> BuildResult<AiDecl> {
        let mut inner = pair.into_inner();
        let (Some(name), Some(params), Some(ret)) = (inner.next(), inner.next(), inner.next())
        else {
            return Err(self.internal());
        };
        let mut decl = AiDecl {
            name: self.ident(name),
            params: self.params(params)?,
            ret: self.type_expr(ret)?,
            predicate: None,
            prefer: Vec::new(),
            fallback: None,
        };
        for clause in inner {
            match clause.as_rule() {
                Rule::where_clause => {
                    let Some(expr) = clause.into_inner().next() else {
                        return Err(self.internal());
                    };
                    decl.predicate = Some(self.expr(expr, 0)?);
                }
                Rule::prefer_clause => {
                    for key in clause.into_inner() {
                        let mut parts = key.into_inner();
                        let Some(name) = parts.next() else {
                            return Err(self.internal());
                        };
                        let order = parts.next().map(|order| Spanned {
                            node: if order.as_str() == "desc" {
                                SortOrder::Desc
                            } else {
                                SortOrder::Asc
                            },
                            span: self.span(&order),
                        });
                        decl.prefer.push(PreferKey { key: self.ident(name), order });
                    }
                }
                Rule::fallback_clause => {
                    let Some(count) = clause.into_inner().next() else {
                        return Err(self.internal());
                    };
                    let span = self.span(&count);
                    let node = count.as_str().replace('_', "").parse::<u32>().map_err(|_| {
                        SyntaxError::NumberOutOfRange {
                            what: "fallback count",
                            span,
                            help: format!("`fallback` takes a count up to {}", u32::MAX),
                        }
                    })?;
                    decl.fallback = Some(Spanned { node, span });
                }
                _ => return Err(self.internal()),
            }
        }
        Ok(decl)
    }

    fn pipeline_decl(&self, pair: Pair<'_, Rule>) -> BuildResult<PipelineDecl> {
        let mut inner = pair.into_inner();
        let (Some(name), Some(params)) = (inner.next(), inner.next()) else {
            return Err(self.internal());
        };
        let (mut ret, mut body) = (None, None);
        for part in inner {
            match part.as_rule() {
                Rule::type_expr => ret = Some(self.type_expr(part)?),
                _ => body = Some(self.block(part)?),
            }
        }
        let Some(body) = body else {
            return Err(self.internal());
        };
        Ok(PipelineDecl { name: self.ident(name), params: self.params(params)?, ret, body })
    }

    fn params(&self, pair: Pair<'_, Rule>) -> BuildResult<Vec<Param>> {
        pair.into_inner()
            .map(|param| {
                let span = self.span(&param);
                let mut parts = param.into_inner();
                let (Some(name), Some(ty)) = (parts.next(), parts.next()) else {
                    return Err(self.internal());
                };
                let default = parts.next().map(|e| self.expr(e, 0)).transpose()?;
                Ok(Param { name: self.ident(name), ty: self.type_expr(ty)?, default, span })
            })
            .collect()
    }

    pub(super) fn type_expr(&self, pair: Pair<'_, Rule>) -> BuildResult<TypeExpr> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let Some(base) = inner.next() else {
            return Err(self.internal());
        };
        let base_span = self.span(&base);
        let kind = match base.as_rule() {
            Rule::named_type => TypeKind::Named(Path {
                segments: base.into_inner().map(|p| self.ident(p)).collect(),
                span: base_span,
            }),
            Rule::table_type => TypeKind::Table(
                base.into_inner().map(|field| self.field(field)).collect::<BuildResult<_>>()?,
            ),
            Rule::tensor_type => {
                let mut parts = base.into_inner();
                let Some(dtype) = parts.next() else {
                    return Err(self.internal());
                };
                let dtype = Box::new(self.type_expr(dtype)?);
                let dims = parts.map(|dim| self.dim(dim)).collect::<BuildResult<_>>()?;
                TypeKind::Tensor { dtype, dims }
            }
            Rule::list_type => {
                let Some(element) = base.into_inner().next() else {
                    return Err(self.internal());
                };
                TypeKind::List(Box::new(self.type_expr(element)?))
            }
            _ => return Err(self.internal()),
        };
        let ty = TypeExpr { kind, span: base_span };
        Ok(match inner.next() {
            Some(_optional) => TypeExpr { kind: TypeKind::Optional(Box::new(ty)), span },
            None => ty,
        })
    }

    fn field(&self, pair: Pair<'_, Rule>) -> BuildResult<Field> {
        let span = self.span(&pair);
        let mut docs = Vec::new();
        let mut name = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::doc_comment => docs.push(self.doc(part)),
                Rule::segment => name = Some(self.ident(part)),
                _ => {
                    let Some(name) = name else {
                        return Err(self.internal());
                    };
                    return Ok(Field { docs, name, ty: self.type_expr(part)?, span });
                }
            }
        }
        Err(self.internal())
    }

    fn dim(&self, pair: Pair<'_, Rule>) -> BuildResult<Dim> {
        let span = self.span(&pair);
        let Some(inner) = pair.into_inner().next() else {
            return Err(self.internal());
        };
        let kind = match inner.as_rule() {
            Rule::dim_any => DimKind::Any,
            Rule::dim_size => DimKind::Fixed(inner.as_str().parse().map_err(|_| {
                SyntaxError::NumberOutOfRange {
                    what: "dimension size",
                    span,
                    help: format!("a dimension is at most {}", u64::MAX),
                }
            })?),
            _ => DimKind::Symbol(EcoString::from(inner.as_str())),
        };
        Ok(Dim { kind, span })
    }

    pub(super) fn block(&self, pair: Pair<'_, Rule>) -> BuildResult<Block> {
        let span = self.span(&pair);
        let stmts: Vec<Stmt> =
            pair.into_inner().map(|stmt| self.stmt(stmt)).collect::<BuildResult<_>>()?;
        for pair in stmts.windows(2) {
            let between = &self.text[pair[0].span.end as usize..pair[1].span.start as usize];
            if !between.contains('\n') {
                return Err(SyntaxError::StatementsOnOneLine {
                    span: pair[1].span,
                    previous: pair[0].span,
                });
            }
        }
        Ok(Block { stmts, span })
    }

    fn stmt(&self, pair: Pair<'_, Rule>) -> BuildResult<Stmt> {
        let span = self.span(&pair);
        let mut docs = Vec::new();
        let mut attrs = Vec::new();
        for part in pair.into_inner() {
            let rule = part.as_rule();
            let kind = match rule {
                Rule::doc_comment => {
                    docs.push(self.doc(part));
                    continue;
                }
                Rule::attribute => {
                    attrs.push(self.attribute(part)?);
                    continue;
                }
                Rule::let_stmt => {
                    let mut parts = part.into_inner();
                    let Some(name) = parts.next() else {
                        return Err(self.internal());
                    };
                    let (mut ty, mut value) = (None, None);
                    for p in parts {
                        match p.as_rule() {
                            Rule::type_expr => ty = Some(self.type_expr(p)?),
                            _ => value = Some(self.expr(p, 0)?),
                        }
                    }
                    let Some(value) = value else {
                        return Err(self.internal());
                    };
                    StmtKind::Let { name: self.ident(name), ty, value }
                }
                Rule::return_stmt | Rule::expr_stmt => {
                    let Some(expr) = part.into_inner().next() else {
                        return Err(self.internal());
                    };
                    let expr = self.expr(expr, 0)?;
                    if rule == Rule::return_stmt {
                        StmtKind::Return(expr)
                    } else {
                        StmtKind::Expr(expr)
                    }
                }
                Rule::assert_stmt => {
                    let mut parts = part.into_inner();
                    let Some(cond) = parts.next() else {
                        return Err(self.internal());
                    };
                    let cond = self.expr(cond, 0)?;
                    let message = parts.next().map(|m| self.expr(m, 0)).transpose()?;
                    StmtKind::Assert { cond, message }
                }
                _ => return Err(self.internal()),
            };
            let statement = match kind {
                StmtKind::Return(_) => Some("return"),
                StmtKind::Assert { .. } => Some("assert"),
                _ => None,
            };
            if let (Some(statement), Some(attr)) = (statement, attrs.first()) {
                return Err(SyntaxError::AttributeNotAllowed { statement, span: attr.span });
            }
            return Ok(Stmt { docs, attrs, kind, span });
        }
        Err(self.internal())
    }
}
