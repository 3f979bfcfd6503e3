//! Name resolution: every name used in a file is declared somewhere visible, every import names
//! something that exists, calls to pipelines and `ai`s pass the right arguments, and `return`
//! and `assert` stand where they may.
//!
//! Scopes, innermost first: the `let`s and parameters of a pipeline or test (a `let` is visible
//! after it), the file's items and imports (visible everywhere in the file), the prelude (`sql`).

mod body;

use std::collections::HashMap;
use std::rc::Rc;

use aigrid_lang::ast::{Item, ItemKind, Module, Param, TypeExpr, TypeKind, UseImports};
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

    /// Adds an item's name, or its imports, to the file scope.
    fn declare(&mut self, item: &Item) {
        match &item.kind {
            ItemKind::Type(alias) => {
                self.bind_top(&alias.name.name, alias.name.span, Meaning::Type, None)
            }
            ItemKind::Ai(ai) => {
                let signature = Signature::new(&ai.name.name, &ai.params, self.file, ai.name.span);
                self.bind_top(
                    &ai.name.name,
                    ai.name.span,
                    Meaning::Callable(Some(signature)),
                    None,
                );
            }
            ItemKind::Pipeline(pipeline) => {
                let name = &pipeline.name;
                let signature = Signature::new(&name.name, &pipeline.params, self.file, name.span);
                self.bind_top(&name.name, name.span, Meaning::Callable(Some(signature)), None);
            }
            ItemKind::Use(decl) => {
                let name = decl.path.to_string();
                let package = match self.packages.lookup(self.file, &name) {
                    Ok(Some(package)) => package,
                    Ok(None) => {
                        let help = if name.starts_with("std.") || name == "std" {
                            did_you_mean(&name, aigrid_stdlib::PACKAGES.iter().map(|p| p.name))
                        } else {
                            Some(format!(
                                "a package is imported by its full name; declare `{name}` under [dependencies] in aigrid.toml"
                            ))
                        };
                        let span = decl.path.span;
                        self.errors.push(ResolveError::UnknownPackage { name, span, help });
                        self.bind_imports(
                            &decl.imports,
                            decl.path.segments.last(),
                            Meaning::Poisoned,
                        );
                        return;
                    }
                    Err(()) => {
                        // The world reported a broken manifest; saying more would mislead.
                        self.bind_imports(
                            &decl.imports,
                            decl.path.segments.last(),
                            Meaning::Poisoned,
                        );
                        return;
                    }
                };
                if let Some(own) = self.own_package.clone()
                    && own != name
                    && let Some(cycle) = self.packages.cycle(&own, &name)
                {
                    let span = decl.path.span;
                    self.errors.push(ResolveError::ImportCycle { cycle: cycle.join(" -> "), span });
                }
                match &decl.imports {
                    UseImports::Module { alias } => {
                        let (bound, span) = match alias {
                            Some(alias) => (alias.name.clone(), alias.span),
                            None => match decl.path.segments.last() {
                                Some(last) => (last.name.clone(), last.span),
                                None => return,
                            },
                        };
                        self.bind_top(&bound, span, Meaning::Module(package), Some(Unused::Import));
                    }
                    UseImports::Names(names) => {
                        for imported in names {
                            let item = &imported.name;
                            let Some(info) = package.item(&item.name) else {
                                self.errors.push(ResolveError::UnknownItem {
                                    package: name.clone(),
                                    name: item.name.to_string(),
                                    span: item.span,
                                    help: did_you_mean(
                                        &item.name,
                                        package.names().iter().map(String::as_str),
                                    ),
                                });
                                let bound = imported.alias.as_ref().unwrap_or(item);
                                self.bind_top(&bound.name, bound.span, Meaning::Poisoned, None);
                                continue;
                            };
                            let (bound, span) = match &imported.alias {
                                Some(alias) => (alias.name.clone(), alias.span),
                                None => (item.name.clone(), item.span),
                            };
                            self.bind_top(
                                &bound,
                                span,
                                Meaning::of_item(&info),
                                Some(Unused::Import),
                            );
                        }
                    }
                }
            }
            ItemKind::Test(_) => {}
        }
    }

    /// Reports items of this file that another file of its package also declares.
    fn package_duplicates(&mut self, module: &Module) {
        let Some(own) = self.own_package.clone() else { return };
        let Ok(Some(package)) = self.packages.lookup(self.file, &own) else { return };
        for item in &module.items {
            let name = match &item.kind {
                ItemKind::Type(alias) => &alias.name,
                ItemKind::Ai(ai) => &ai.name,
                ItemKind::Pipeline(pipeline) => &pipeline.name,
                ItemKind::Use(_) | ItemKind::Test(_) => continue,
            };
            let Some(other) = package.origin(&name.name).filter(|&file| file != self.file) else {
                continue;
            };
            let other =
                self.packages.world().source(other).map_or(String::new(), |s| s.name().to_owned());
            self.errors.push(ResolveError::DuplicateInPackage {
                name: name.name.to_string(),
                package: own.clone(),
                other,
                span: name.span,
            });
        }
    }

    /// Binds every name a failed `use` would have bound, so that their uses are not reported.
    fn bind_imports(
        &mut self,
        imports: &UseImports,
        last: Option<&aigrid_lang::ast::Ident>,
        meaning: Meaning,
    ) {
        let names: Vec<&aigrid_lang::ast::Ident> = match imports {
            UseImports::Module { alias } => alias.as_ref().or(last).into_iter().collect(),
            UseImports::Names(names) => {
                names.iter().map(|n| n.alias.as_ref().unwrap_or(&n.name)).collect()
            }
        };
        for name in names {
            self.bind_top(&name.name, name.span, meaning.clone(), None);
        }
    }

    /// Reports type aliases that refer to themselves, directly or through other aliases
    /// (`type A = list<B>`, `type B = A`): such a type has no finite meaning. Each cycle is
    /// reported once, at the alias of the cycle declared first.
    fn alias_cycles(&mut self, module: &Module) {
        let aliases = type_aliases(module);
        let mut reported: Vec<&str> = Vec::new();
        for item in &module.items {
            let ItemKind::Type(alias) = &item.kind else { continue };
            let start = alias.name.name.as_str();
            if reported.contains(&start) {
                continue;
            }
            // Follow the aliases each alias mentions, depth first, looking for `start`.
            let mut stack = vec![vec![start]];
            let mut seen = vec![start];
            while let Some(path) = stack.pop() {
                let Some(ty) = path.last().and_then(|name| aliases.get(name)) else { continue };
                let mut mentioned = Vec::new();
                named_types(ty, &mut mentioned);
                for next in mentioned {
                    if next == start {
                        let mut cycle = path.clone();
                        cycle.push(start);
                        reported.extend(cycle.iter().copied());
                        let cycle = cycle.join(" -> ");
                        self.errors.push(ResolveError::AliasCycle { cycle, span: alias.name.span });
                        stack.clear();
                        break;
                    }
                    if aliases.contains_key(next) && !seen.contains(&next) {
                        seen.push(next);
                        let mut longer = path.clone();
                        longer.push(next);
                        stack.push(longer);
                    }
                }
            }
        }
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

    fn ty(&mut self, ty: &TypeExpr) {
        match &ty.kind {
            TypeKind::Named(path) => {
                let Some(first) = path.segments.first() else { return };
                if path.segments.len() == 1 {
                    if SCALARS.contains(&first.name.as_str()) {
                        return;
                    }
                    match self.lookup(&first.name) {
                        Some(Meaning::Type | Meaning::Poisoned) => {}
                        _ => {
                            let types: Vec<String> = self
                                .top
                                .iter()
                                .filter(|(_, b)| matches!(b.meaning, Meaning::Type))
                                .map(|(n, _)| n.to_string())
                                .chain(SCALARS.iter().map(|s| (*s).to_owned()))
                                .collect();
                            self.errors.push(ResolveError::UnknownName {
                                kind: "type",
                                name: first.name.to_string(),
                                span: first.span,
                                help: did_you_mean(&first.name, types.iter().map(String::as_str)),
                            });
                        }
                    }
                    return;
                }
                if let [module, item] = path.segments.as_slice() {
                    self.qualified(module, item);
                } else {
                    self.errors.push(ResolveError::UnknownName {
                        kind: "type",
                        name: path.to_string(),
                        span: path.span,
                        help: Some("a type is named `Name`, or `module.Name` after `use package as module`".into()),
                    });
                }
            }
            TypeKind::Table(fields) => {
                let mut seen: HashMap<&str, Span> = HashMap::new();
                for field in fields {
                    if let Some(first) = seen.insert(field.name.name.as_str(), field.name.span) {
                        self.errors.push(ResolveError::Duplicate {
                            name: field.name.name.to_string(),
                            span: field.name.span,
                            first,
                        });
                    }
                    self.ty(&field.ty);
                }
            }
            TypeKind::Tensor { dtype, .. } => self.ty(dtype),
            TypeKind::List(inner) | TypeKind::Optional(inner) => self.ty(inner),
        }
    }

    /// Resolves `module.item`, where `module` must be an imported package. Returns what the
    /// item is, or `None` after reporting why it is not known.
    fn qualified(
        &mut self,
        module: &aigrid_lang::ast::Ident,
        item: &aigrid_lang::ast::Ident,
    ) -> Option<ItemInfo> {
        match self.lookup(&module.name) {
            Some(Meaning::Module(package)) => match package.item(&item.name) {
                Some(info) => Some(info),
                None => {
                    self.errors.push(ResolveError::UnknownItem {
                        package: package.name().to_owned(),
                        name: item.name.to_string(),
                        span: item.span,
                        help: did_you_mean(&item.name, package.names().iter().map(String::as_str)),
                    });
                    None
                }
            },
            Some(_) => None,
            None => {
                self.unknown_name(module);
                None
            }
        }
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

/// The file's type aliases by name.
pub(crate) fn type_aliases(module: &Module) -> HashMap<&str, &TypeExpr> {
    module
        .items
        .iter()
        .filter_map(|item| match &item.kind {
            ItemKind::Type(alias) => Some((alias.name.name.as_str(), &alias.ty)),
            _ => None,
        })
        .collect()
}

/// The single-segment type names `ty` mentions.
fn named_types<'t>(ty: &'t TypeExpr, out: &mut Vec<&'t str>) {
    match &ty.kind {
        TypeKind::Named(path) if path.segments.len() == 1 => {
            out.extend(path.segments.first().map(|s| s.name.as_str()))
        }
        TypeKind::Named(_) => {}
        TypeKind::Table(fields) => fields.iter().for_each(|f| named_types(&f.ty, out)),
        TypeKind::Tensor { dtype, .. } => named_types(dtype, out),
        TypeKind::List(inner) | TypeKind::Optional(inner) => named_types(inner, out),
    }
}
