//! The file scope: items, imports (with their packages, cycles and duplicates across the files
//! of a package).

use aigrid_lang::ast::{Item, ItemKind, Module, UseImports};

use super::{Meaning, Resolver, Unused};
use crate::error::{ResolveError, did_you_mean};
use crate::packages::declared_item;

impl Resolver<'_, '_> {
    /// Adds an item's name, or its imports, to the file scope.
    pub(super) fn declare(&mut self, item: &Item) {
        match &item.kind {
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
                                    help: match package.broken_files() {
                                        [] => did_you_mean(
                                            &item.name,
                                            package.names().iter().map(String::as_str),
                                        ),
                                        broken => Some(format!(
                                            "it may be in {}, which {} syntax errors: fix {} first",
                                            broken
                                                .iter()
                                                .map(|f| format!("`{f}`"))
                                                .collect::<Vec<_>>()
                                                .join(", "),
                                            if broken.len() == 1 { "has" } else { "have" },
                                            if broken.len() == 1 { "it" } else { "them" },
                                        )),
                                    },
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
            kind => {
                if let Some((name, info)) = declared_item(kind, self.file) {
                    self.bind_top(&name.name, name.span, Meaning::of_item(&info), None);
                }
            }
        }
    }

    /// Reports items of this file that another file of its package also declares.
    pub(super) fn package_duplicates(&mut self, module: &Module) {
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
    pub(super) fn bind_imports(
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
}
