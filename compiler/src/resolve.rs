//! Name resolution: every name used in a file is declared somewhere visible, every import names
//! something that exists, calls to pipelines and `ai`s pass the right arguments, and `return`
//! and `assert` stand where they may.
//!
//! Scopes, innermost first: the `let`s and parameters of a pipeline or test (a `let` is visible
//! after it), the file's items and imports (visible everywhere in the file), the prelude (`sql`).

mod attrs;
mod body;
mod declare;
mod types;

use std::collections::HashMap;
use std::rc::Rc;

use aigrid_lang::ast::{Item, ItemKind, Module, Param};
use aigrid_lang::{FileId, Span};
use ecow::EcoString;

use crate::error::{ResolveError, did_you_mean};
use crate::packages::{ItemInfo, PackageRef, Packages, Signature};

/// The scalar type names.
const SCALARS: &[&str] = &[
    "bool",
    "i8",
    "i16",
    "i32",
    "i64",
    "u8",
    "u16",
    "u32",
    "u64",
    "f16",
    "bf16",
    "f32",
    "f64",
    "utf8",
    "binary",
    "date",
    "timestamp",
    "path",
    "duration",
];

/// What a name in scope stands for.
#[derive(Clone, Debug)]
enum Meaning {
    /// A type alias.
    Type,
    /// A pipeline or `ai`, with its parameters when known.
    Callable(Option<Rc<Signature>>),
    /// An imported package, used as `module.item`.
    Module(PackageRef),
    /// A parameter or `let` binding.
    Value,
    /// A prelude operation (`sql`).
    Prelude,
    /// A name whose import failed (already reported): uses of it are not reported again.
    Poisoned,
}

impl Meaning {
    fn of_item(item: &ItemInfo) -> Meaning {
        match item {
            ItemInfo::Type => Meaning::Type,
            ItemInfo::Callable(signature) => Meaning::Callable(signature.clone()),
        }
    }
}

/// A name in scope.
#[derive(Debug)]
struct Binding {
    meaning: Meaning,
    /// Where it was declared (in this file).
    span: Span,
    /// Whether anything used it; imports and `let`s that stay unused are reported.
    used: bool,
    /// Imports and `let`s are reported when unused; items and parameters are not.
    report_unused: Option<Unused>,
}

#[derive(Clone, Copy, Debug)]
enum Unused {
    Import,
    Let,
}

/// Resolves one parsed file.
pub(crate) struct Resolver<'p, 'w> {
    file: FileId,
    /// The package the file declares, if it has a header.
    own_package: Option<String>,
    packages: &'p mut Packages<'w>,
    errors: Vec<ResolveError>,
    /// The file's items and imports.
    top: HashMap<EcoString, Binding>,
    /// Parameters and `let`s of the body being resolved, in order.
    locals: Vec<(EcoString, Binding)>,
}

impl<'p, 'w> Resolver<'p, 'w> {
    pub(crate) fn new(file: FileId, packages: &'p mut Packages<'w>) -> Self {
        Resolver {
            file,
            own_package: None,
            packages,
            errors: Vec::new(),
            top: HashMap::new(),
            locals: Vec::new(),
        }
    }

    /// Resolves `module` and returns what was found, in source order of discovery.
    pub(crate) fn resolve(mut self, module: &Module) -> Vec<ResolveError> {
        self.own_package = module.package.as_ref().map(|p| p.name.to_string());
        for item in &module.items {
            self.declare(item);
        }
        self.package_duplicates(module);
        for item in &module.items {
            self.item(item);
        }
        self.alias_cycles(module);
        let mut unused: Vec<_> = self
            .top
            .iter()
            .filter(|(_, b)| !b.used && matches!(b.report_unused, Some(Unused::Import)))
            .map(|(name, b)| (b.span, name.to_string()))
            .collect();
        unused.sort_by_key(|(span, _)| span.start);
        self.errors.extend(
            unused.into_iter().map(|(span, name)| ResolveError::UnusedImport { name, span }),
        );
        self.errors
    }

    fn bind_top(
        &mut self,
        name: &EcoString,
        span: Span,
        meaning: Meaning,
        report_unused: Option<Unused>,
    ) {
        if let Some(first) = self.top.get(name) {
            let first = first.span;
            self.errors.push(ResolveError::Duplicate { name: name.to_string(), span, first });
            return;
        }
        self.top.insert(name.clone(), Binding { meaning, span, used: false, report_unused });
    }

    /// Resolves what an item refers to.
    fn item(&mut self, item: &Item) {
        let place = match &item.kind {
            ItemKind::Use(_) => attrs::Place::Use,
            ItemKind::Type(_) => attrs::Place::Type,
            ItemKind::Ai(_) => attrs::Place::Ai,
            ItemKind::Pipeline(_) => attrs::Place::Pipeline,
            ItemKind::Test(_) => attrs::Place::Test,
        };
        self.attributes(&item.attrs, place);
        match &item.kind {
            ItemKind::Type(alias) => self.ty(&alias.ty),
            ItemKind::Ai(ai) => {
                self.params(&ai.params);
                self.locals.clear();
                self.ty(&ai.ret);
                // `where` and `prefer` name attributes of grid AIs' cards, not program names.
            }
            ItemKind::Pipeline(pipeline) => {
                self.params(&pipeline.params);
                if let Some(ret) = &pipeline.ret {
                    self.ty(ret);
                }
                self.body(&pipeline.body.stmts, body::Context::Pipeline(pipeline));
            }
            ItemKind::Test(test) => {
                self.locals.clear();
                self.body(&test.body.stmts, body::Context::Test);
            }
            ItemKind::Use(_) => {}
        }
    }

    /// Resolves parameter types and defaults, and binds the parameters as locals.
    fn params(&mut self, params: &[Param]) {
        self.locals.clear();
        for param in params {
            self.ty(&param.ty);
            if let Some(default) = &param.default {
                // Defaults may not refer to other parameters: resolve them before binding any.
                let bound = std::mem::take(&mut self.locals);
                self.expr(default);
                self.locals = bound;
            }
        }
        for param in params {
            self.bind_local(&param.name.name, param.name.span, None);
        }
    }

    fn bind_local(&mut self, name: &EcoString, span: Span, report_unused: Option<Unused>) {
        if let Some((_, first)) = self.locals.iter().find(|(n, _)| n == name) {
            let first = first.span;
            self.errors.push(ResolveError::Duplicate { name: name.to_string(), span, first });
            return;
        }
        let report_unused = report_unused.filter(|_| !name.starts_with('_'));
        self.locals.push((
            name.clone(),
            Binding { meaning: Meaning::Value, span, used: false, report_unused },
        ));
    }

    /// Looks `name` up, innermost scope first, and marks it used.
    fn lookup(&mut self, name: &str) -> Option<Meaning> {
        if let Some((_, binding)) = self.locals.iter_mut().rev().find(|(n, _)| n == name) {
            binding.used = true;
            return Some(binding.meaning.clone());
        }
        if let Some(binding) = self.top.get_mut(name) {
            binding.used = true;
            return Some(binding.meaning.clone());
        }
        aigrid_stdlib::PRELUDE.iter().any(|item| item.name == name).then_some(Meaning::Prelude)
    }

    /// The names visible here, for suggestions.
    fn visible(&self) -> Vec<String> {
        let locals = self.locals.iter().map(|(n, _)| n.to_string());
        let top = self.top.keys().map(|n| n.to_string());
        let prelude = aigrid_stdlib::PRELUDE.iter().map(|i| i.name.to_owned());
        locals.chain(top).chain(prelude).collect()
    }

    /// Reports `name` as unknown, suggesting a visible name close to it.
    pub(super) fn unknown_name(&mut self, name: &aigrid_lang::ast::Ident) {
        let visible = self.visible();
        self.errors.push(ResolveError::UnknownName {
            kind: "name",
            name: name.name.to_string(),
            span: name.span,
            help: did_you_mean(&name.name, visible.iter().map(String::as_str)),
        });
    }
}
