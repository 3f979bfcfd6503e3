//! Type names: scalars, aliases, qualified names through imported packages, table columns, and
//! cycles among aliases.

use std::collections::HashMap;

use aigrid_lang::Span;
use aigrid_lang::ast::{ItemKind, Module, TypeExpr, TypeKind};

use super::{Meaning, Resolver, SCALARS};
use crate::error::{ResolveError, did_you_mean};
use crate::packages::ItemInfo;

impl Resolver<'_, '_> {
    /// Reports type aliases that refer to themselves, directly or through other aliases
    /// (`type A = list<B>`, `type B = A`): such a type has no finite meaning. Each cycle is
    /// reported once, at the alias of the cycle declared first.
    pub(super) fn alias_cycles(&mut self, module: &Module) {
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

    pub(super) fn ty(&mut self, ty: &TypeExpr) {
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
    pub(super) fn qualified(
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
}

/// The file's type aliases by name.
fn type_aliases(module: &Module) -> HashMap<&str, &TypeExpr> {
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
