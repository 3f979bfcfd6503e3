//! The fast path: a hand-written recursive-descent parser for files without syntax errors.
//!
//! The pest grammar (`grammar/aigrid.pest`) defines the language and reports every error.
//! This parser transcribes its `file` rule, rule by rule (same ordered choices, same places
//! where trivia may stand, same backtracking), and builds the same AST with the same spans.
//! It gives up at the first thing it does not accept, or at anything the AST builder would
//! report, and `parse` then runs pest. So a file it accepts is one pest accepts, with the same
//! tree; the differential tests in `fast_path/tests.rs` hold the two equal on the corpus, on
//! generated programs and on mutations of both. It exists for speed: pest spends most of its
//! time in per-rule bookkeeping.

mod body;
mod expr;
#[cfg(test)]
mod tests;

use ecow::EcoString;

use crate::ast::*;
use crate::span::{FileId, Span, Spanned};

/// Parses the whole of `text` from `start` (past a byte-order mark) as the grammar's `file`
/// rule, or `None` if that fails or the AST builder would report an error.
pub(super) fn module(file: FileId, text: &str, start: usize) -> Option<Module> {
    let mut module = Module::default();
    let mut parser = Parser { file, text, pos: start, rejected: false };
    loop {
        parser.skip();
        if parser.pos >= text.len() {
            return Some(module);
        }
        match parser.top_item().filter(|_| !parser.rejected)? {
            TopItem::Package(package) if module.package.is_none() && module.items.is_empty() => {
                module.package = Some(package);
            }
            TopItem::Package(_) => return None,
            TopItem::Item(item) => module.items.push(item),
        }
    }
}

enum TopItem {
    Package(PackageDecl),
    Item(Item),
}

/// A position in `text`. Every rule starts at its first token and, when it succeeds, leaves
/// `pos` just past its last token; a rule that fails may leave `pos` anywhere, and optional
/// parts restore it.
pub(super) struct Parser<'t> {
    file: FileId,
    text: &'t str,
    pos: usize,
    /// Set where pest would parse but the AST builder would report an error (a number out of
    /// range, a bad escape, nesting too deep): the file goes to the pest path whatever else
    /// parses, since backtracking here could otherwise find another reading.
    rejected: bool,
}

/// Whether `b` may continue a name (`ident_char`).
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The grammar's keywords (`keyword`), which `ident` does not take.
fn is_keyword(word: &[u8]) -> bool {
    // Most names are not keywords: rule them out by length and first letter before comparing.
    if !(2..=8).contains(&word.len())
        || !matches!(word[0], b'a' | b'f' | b'i' | b'l' | b'n' | b'p' | b'r' | b't' | b'u' | b'w')
    {
        return false;
    }
    matches!(
        word,
        b"package"
            | b"use"
            | b"as"
            | b"type"
            | b"ai"
            | b"pipeline"
            | b"test"
            | b"let"
            | b"return"
            | b"assert"
            | b"where"
            | b"prefer"
            | b"fallback"
            | b"true"
            | b"false"
            | b"null"
            | b"in"
    )
}

impl<'t> Parser<'t> {
    // --- Tokens --------------------------------------------------------------------------

    /// Gives up on the file: the AST builder reports an error here.
    fn reject<T>(&mut self) -> Option<T> {
        self.rejected = true;
        None
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start as u32, end as u32)
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.text.as_bytes().get(self.pos + ahead).copied()
    }

    /// Skips `WHITESPACE`: spaces, tabs, line breaks, `//` and `/* */` comments (not `///`).
    fn skip(&mut self) {
        let bytes = self.text.as_bytes();
        loop {
            match bytes.get(self.pos) {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.pos += 1,
                Some(b'/') => match bytes.get(self.pos + 1) {
                    Some(b'/') => {
                        let doc = bytes.get(self.pos + 2) == Some(&b'/')
                            && bytes.get(self.pos + 3) != Some(&b'/');
                        if doc {
                            return;
                        }
                        self.pos = bytes[self.pos..]
                            .iter()
                            .position(|&b| b == b'\n')
                            .map_or(bytes.len(), |at| self.pos + at);
                    }
                    Some(b'*') => match bytes[self.pos + 2..].windows(2).position(|w| w == b"*/") {
                        Some(at) => self.pos += 2 + at + 2,
                        None => return,
                    },
                    _ => return,
                },
                _ => return,
            }
        }
    }

    /// Consumes `literal` if it is next (compared byte by byte: the literals are one or two
    /// bytes, too short for `memcmp`).
    #[inline]
    fn eat(&mut self, literal: &[u8]) -> bool {
        let found = literal
            .iter()
            .enumerate()
            .all(|(i, &b)| self.text.as_bytes().get(self.pos + i) == Some(&b));
        if found {
            self.pos += literal.len();
            true
        } else {
            false
        }
    }

    /// Skips trivia, then consumes `literal` or fails.
    fn expect(&mut self, literal: &[u8]) -> Option<()> {
        self.skip();
        self.eat(literal).then_some(())
    }

    /// The word (`[A-Za-z0-9_]*`) starting here, not consumed.
    fn word(&self) -> &'t [u8] {
        let bytes = self.text.as_bytes();
        let rest = &bytes[self.pos..];
        let len = rest.iter().position(|&b| !is_word_byte(b)).unwrap_or(rest.len());
        &rest[..len]
    }

    /// Consumes keyword `keyword` (`kw_*`): the word, not followed by a name character.
    fn keyword(&mut self, keyword: &[u8]) -> Option<()> {
        self.skip();
        (self.word() == keyword).then(|| self.pos += keyword.len())
    }

    /// `segment`: any word that starts with a letter or `_`, keywords included.
    fn segment(&mut self) -> Option<Ident> {
        let word = self.word();
        if word.first().is_none_or(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(self.take_word(word))
    }

    /// `ident`: a segment that is not a keyword.
    fn ident(&mut self) -> Option<Ident> {
        let word = self.word();
        if word.first().is_none_or(|b| b.is_ascii_digit()) || is_keyword(word) {
            return None;
        }
        Some(self.take_word(word))
    }

    fn take_word(&mut self, word: &[u8]) -> Ident {
        let start = self.pos;
        self.pos += word.len();
        Ident {
            name: EcoString::from(&self.text[start..self.pos]),
            span: self.span(start, self.pos),
        }
    }

    /// `a ~ ("," ~ a)* ~ ","?` inside an optional: the elements of a bracketed list.
    fn comma_list<T>(&mut self, mut element: impl FnMut(&mut Self) -> Option<T>) -> Vec<T> {
        let mut elements = Vec::new();
        let save = self.pos;
        match element(self) {
            Some(first) => elements.push(first),
            None => {
                self.pos = save;
                return elements;
            }
        }
        loop {
            let save = self.pos;
            self.skip();
            if !self.eat(b",") {
                self.pos = save;
                return elements;
            }
            self.skip();
            match element(self) {
                Some(next) => elements.push(next),
                None => {
                    // The trailing comma.
                    self.pos = save;
                    self.skip();
                    self.eat(b",");
                    return elements;
                }
            }
        }
    }

    /// Runs `rule` after trivia; if it fails, puts `pos` back (an optional part, `rule?`).
    fn optional<T>(&mut self, rule: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let save = self.pos;
        self.skip();
        let result = rule(self);
        if result.is_none() {
            self.pos = save;
        }
        result
    }

    /// `doc_comment*` (then trivia); each line without its `///` and trailing whitespace.
    fn docs(&mut self) -> Vec<Spanned<EcoString>> {
        let mut docs = Vec::new();
        loop {
            let save = self.pos;
            self.skip();
            let bytes = self.text.as_bytes();
            if !(bytes[self.pos..].starts_with(b"///") && bytes.get(self.pos + 3) != Some(&b'/')) {
                self.pos = save;
                return docs;
            }
            let start = self.pos;
            let line =
                bytes[start..].iter().position(|&b| b == b'\n').unwrap_or(bytes.len() - start);
            self.pos = start + line;
            let mut end = self.pos;
            while end > start && bytes[end - 1].is_ascii_whitespace() {
                end -= 1;
            }
            let text = self.text[start + 3..self.pos].trim_end();
            docs.push(Spanned { node: EcoString::from(text), span: self.span(start, end) });
        }
    }

    /// `attribute*`: `@name` or `@name(args)`, with no trivia inside but the arguments.
    fn attributes(&mut self) -> Option<Vec<Attribute>> {
        let mut attrs = Vec::new();
        loop {
            let save = self.pos;
            self.skip();
            let start = self.pos;
            if !self.eat(b"@") {
                self.pos = save;
                return Some(attrs);
            }
            let Some(name) = self.ident() else {
                self.pos = save;
                return Some(attrs);
            };
            let args = match self.peek() {
                Some(b'(') => match self.paren_args()? {
                    (args, depth) if depth <= expr::MAX_DEPTH => Some(args),
                    _ => return self.reject(),
                },
                _ => None,
            };
            attrs.push(Attribute { name, args, span: self.span(start, self.pos) });
        }
    }

    // --- Items ---------------------------------------------------------------------------

    fn top_item(&mut self) -> Option<TopItem> {
        let start = self.pos;
        let docs = self.docs();
        self.skip();
        if self.word() == b"package" {
            self.pos += 7;
            self.skip();
            let name = self.module_path()?;
            self.expect(b"@")?;
            self.skip();
            let version = self.version()?;
            let span = self.span(start, self.pos);
            return Some(TopItem::Package(PackageDecl { docs, name, version, span }));
        }
        let attrs = self.attributes()?;
        self.skip();
        let kind = match self.word() {
            b"use" => ItemKind::Use(self.use_decl()?),
            b"type" => {
                self.keyword(b"type")?;
                self.skip();
                let name = self.ident()?;
                self.expect(b"=")?;
                self.skip();
                ItemKind::Type(TypeAlias { name, ty: self.type_expr()? })
            }
            b"ai" => ItemKind::Ai(self.ai_decl()?),
            b"pipeline" => ItemKind::Pipeline(self.pipeline_decl()?),
            b"test" => {
                self.keyword(b"test")?;
                self.skip();
                let name_start = self.pos;
                let name = self.string()?;
                let name = Spanned { node: name, span: self.span(name_start, self.pos) };
                self.skip();
                ItemKind::Test(TestDecl { name, body: self.block()? })
            }
            _ => return None,
        };
        Some(TopItem::Item(Item { docs, attrs, kind, span: self.span(start, self.pos) }))
    }

    /// `version`: `1.2.3`, `1.2.3-rc.1+build`, checked by semver.
    fn version(&mut self) -> Option<Spanned<semver::Version>> {
        let start = self.pos;
        for part in 0..3 {
            if part > 0 && !self.eat(b".") {
                return None;
            }
            let digits =
                self.text.as_bytes()[self.pos..].iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                return None;
            }
            self.pos += digits;
        }
        for marker in [b"-", b"+"] {
            if self.eat(marker) {
                let rest = &self.text.as_bytes()[self.pos..];
                let len = rest
                    .iter()
                    .take_while(|&&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                    .count();
                if len == 0 {
                    return None;
                }
                self.pos += len;
            }
        }
        if self.peek().is_some_and(is_word_byte) {
            return None;
        }
        let Ok(node) = semver::Version::parse(&self.text[start..self.pos]) else {
            return self.reject();
        };
        Some(Spanned { node, span: self.span(start, self.pos) })
    }

    /// `module_path`: `segment ~ ("." ~ segment)*`.
    fn module_path(&mut self) -> Option<Path> {
        let first = self.segment()?;
        Some(self.dotted(first))
    }

    /// The rest of a dotted name after its first part: `("." ~ segment)*`, trivia allowed.
    fn dotted(&mut self, first: Ident) -> Path {
        let start = first.span.start as usize;
        let mut segments = vec![first];
        while let Some(next) = self.optional(|p| {
            p.eat(b".").then_some(())?;
            p.skip();
            p.segment()
        }) {
            segments.push(next);
        }
        Path { segments, span: self.span(start, self.pos) }
    }

    fn use_decl(&mut self) -> Option<UseDecl> {
        self.keyword(b"use")?;
        self.skip();
        let path = self.module_path()?;
        let imports = self
            .optional(|p| match p.peek() {
                Some(b'.') => {
                    p.eat(b".");
                    p.expect(b"{")?;
                    p.skip();
                    let names = p.comma_list(|p| {
                        let name = p.segment()?;
                        let alias = p.optional(|p| {
                            p.keyword(b"as")?;
                            p.skip();
                            p.ident()
                        });
                        Some(UseName { name, alias })
                    });
                    p.expect(b"}")?;
                    Some(UseImports::Names(names))
                }
                _ => {
                    p.keyword(b"as")?;
                    p.skip();
                    Some(UseImports::Module { alias: Some(p.ident()?) })
                }
            })
            .unwrap_or(UseImports::Module { alias: None });
        Some(UseDecl { path, imports })
    }

    fn ai_decl(&mut self) -> Option<AiDecl> {
        self.keyword(b"ai")?;
        self.skip();
        let name = self.ident()?;
        self.skip();
        let params = self.params()?;
        self.expect(b"->")?;
        self.skip();
        let ret = self.type_expr()?;
        let predicate = self.optional(|p| {
            p.keyword(b"where")?;
            p.skip();
            p.top_expr()
        });
        let prefer = self
            .optional(|p| {
                p.keyword(b"prefer")?;
                p.skip();
                let mut keys = vec![p.prefer_key()?];
                while let Some(key) = p.optional(|p| {
                    p.eat(b",").then_some(())?;
                    p.skip();
                    p.prefer_key()
                }) {
                    keys.push(key);
                }
                Some(keys)
            })
            .unwrap_or_default();
        let fallback = self.optional(|p| {
            p.keyword(b"fallback")?;
            p.skip();
            let start = p.pos;
            let count = p.int_token()?;
            match super::expr::int_value(count).and_then(|count| u32::try_from(count).ok()) {
                Some(node) => Some(Spanned { node, span: p.span(start, p.pos) }),
                None => p.reject(),
            }
        });
        Some(AiDecl { name, params, ret, predicate, prefer, fallback })
    }

    fn prefer_key(&mut self) -> Option<PreferKey> {
        let key = self.ident()?;
        let order = self.optional(|p| {
            let start = p.pos;
            let node = match p.word() {
                b"asc" => SortOrder::Asc,
                b"desc" => SortOrder::Desc,
                _ => return None,
            };
            p.pos += if node == SortOrder::Asc { 3 } else { 4 };
            Some(Spanned { node, span: p.span(start, p.pos) })
        });
        Some(PreferKey { key, order })
    }

    fn pipeline_decl(&mut self) -> Option<PipelineDecl> {
        self.keyword(b"pipeline")?;
        self.skip();
        let name = self.ident()?;
        self.skip();
        let params = self.params()?;
        let ret = self.optional(|p| {
            p.eat(b"->").then_some(())?;
            p.skip();
            p.type_expr()
        });
        self.skip();
        Some(PipelineDecl { name, params, ret, body: self.block()? })
    }

    /// `params`: `"(" ~ (param ~ ("," ~ param)* ~ ","?)? ~ ")"`.
    fn params(&mut self) -> Option<Vec<Param>> {
        self.eat(b"(").then_some(())?;
        self.skip();
        let params = self.comma_list(|p| {
            let name = p.ident()?;
            p.expect(b":")?;
            p.skip();
            let ty = p.type_expr()?;
            let default = p.optional(|p| {
                p.eat(b"=").then_some(())?;
                p.skip();
                p.top_expr()
            });
            let span = p.span(name.span.start as usize, p.pos);
            Some(Param { name, ty, default, span })
        });
        self.expect(b")")?;
        Some(params)
    }
}
