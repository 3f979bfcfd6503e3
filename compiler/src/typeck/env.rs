//! What the names of a file mean to the type checker: the file's own items, its imports (from
//! the standard library or user packages, whose items are typed in their own files' scopes),
//! and the types and signatures of those items, lowered once per compilation.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use aigrid_lang::FileId;
use aigrid_lang::ast::{ItemKind, Module, Param, TypeExpr, UseImports};
use ecow::EcoString;

use crate::packages::{PackageRef, Packages, STD_FILE, std_decl};
use crate::ty::{Type, family, from_written};

/// What a name at the top of a file stands for.
#[derive(Clone, Debug)]
pub(super) enum Def {
    /// A type alias, pipeline or `ai` declared in `file`.
    Item(FileId, EcoString),
    /// A standard-library operation.
    Std(&'static aigrid_stdlib::Item),
    /// An imported package, used as `module.item`.
    Module(PackageRef),
}

/// A pipeline's or `ai`'s signature, with dimension symbols and element variables as written.
#[derive(Debug)]
pub(super) struct Callable {
    pub name: EcoString,
    pub kind: CallableKind,
    pub params: Vec<ParamType>,
    /// `None` for a pipeline without a result type.
    pub ret: Option<Type>,
    pub file: FileId,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum CallableKind {
    Pipeline,
    Ai,
    Std(&'static aigrid_stdlib::Item),
}

/// One parameter of a [`Callable`].
#[derive(Debug)]
pub(super) struct ParamType {
    pub name: EcoString,
    pub ty: Type,
    /// Where the parameter's type is written.
    pub span: aigrid_lang::Span,
}

/// The names of every file of the compilation, and the types of their items.
pub(super) struct Env<'p, 'w> {
    pub packages: &'p mut Packages<'w>,
    scopes: HashMap<FileId, Rc<HashMap<EcoString, Def>>>,
    aliases: HashMap<(FileId, EcoString), Type>,
    /// Aliases being lowered: one met again is a cycle (reported by the resolver).
    lowering: HashSet<(FileId, EcoString)>,
    callables: HashMap<(FileId, EcoString), Option<Rc<Callable>>>,
    std_callables: HashMap<&'static str, Rc<Callable>>,
}

impl<'p, 'w> Env<'p, 'w> {
    pub(super) fn new(packages: &'p mut Packages<'w>) -> Self {
        Env {
            packages,
            scopes: HashMap::new(),
            aliases: HashMap::new(),
            lowering: HashSet::new(),
            callables: HashMap::new(),
            std_callables: HashMap::new(),
        }
    }

    /// The top-level names of `file`: its items and imports.
    pub(super) fn scope(&mut self, file: FileId) -> Rc<HashMap<EcoString, Def>> {
        if let Some(scope) = self.scopes.get(&file) {
            return scope.clone();
        }
        let mut names = HashMap::new();
        if let Some(module) = self.packages.module(file) {
            for item in &module.items {
                match &item.kind {
                    ItemKind::Type(alias) => {
                        names
                            .entry(alias.name.name.clone())
                            .or_insert(Def::Item(file, alias.name.name.clone()));
                    }
                    ItemKind::Pipeline(p) => {
                        names
                            .entry(p.name.name.clone())
                            .or_insert(Def::Item(file, p.name.name.clone()));
                    }
                    ItemKind::Ai(ai) => {
                        names
                            .entry(ai.name.name.clone())
                            .or_insert(Def::Item(file, ai.name.name.clone()));
                    }
                    ItemKind::Use(decl) => {
                        let path = decl.path.to_string();
                        let Ok(Some(package)) = self.packages.lookup(file, &path) else { continue };
                        match &decl.imports {
                            UseImports::Module { alias } => {
                                let bound = alias.as_ref().or(decl.path.segments.last());
                                if let Some(bound) = bound {
                                    names.entry(bound.name.clone()).or_insert(Def::Module(package));
                                }
                            }
                            UseImports::Names(imported) => {
                                for name in imported {
                                    let bound = name.alias.as_ref().unwrap_or(&name.name);
                                    if let Some(def) = imported_def(&package, &name.name.name) {
                                        names.entry(bound.name.clone()).or_insert(def);
                                    }
                                }
                            }
                        }
                    }
                    ItemKind::Test(_) => {}
                }
            }
        }
        let scope = Rc::new(names);
        self.scopes.insert(file, scope.clone());
        scope
    }

    /// What `name` means at the top of `file`.
    pub(super) fn lookup(&mut self, file: FileId, name: &str) -> Option<Def> {
        self.scope(file).get(name).cloned()
    }

    /// The item `name` of the package imported as module `module` in `file`.
    pub(super) fn qualified(&mut self, file: FileId, module: &str, name: &str) -> Option<Def> {
        match self.lookup(file, module)? {
            Def::Module(package) => imported_def(&package, name),
            _ => None,
        }
    }

    /// The signature of the pipeline or `ai` a definition names.
    pub(super) fn callable(&mut self, def: &Def) -> Option<Rc<Callable>> {
        match def {
            Def::Std(item) => Some(self.std_callable(item)),
            Def::Module(_) => None,
            Def::Item(file, name) => {
                let key = (*file, name.clone());
                if let Some(known) = self.callables.get(&key) {
                    return known.clone();
                }
                let callable = self.item_callable(*file, name).map(Rc::new);
                self.callables.insert(key, callable.clone());
                callable
            }
        }
    }

    fn item_callable(&mut self, file: FileId, name: &str) -> Option<Callable> {
        let module = self.packages.module(file)?;
        module.items.iter().find_map(|item| {
            let (decl_name, kind, params, ret) = match &item.kind {
                ItemKind::Pipeline(p) => {
                    (&p.name, CallableKind::Pipeline, &p.params, p.ret.as_ref())
                }
                ItemKind::Ai(ai) => (&ai.name, CallableKind::Ai, &ai.params, Some(&ai.ret)),
                _ => return None,
            };
            if decl_name.name != name {
                return None;
            }
            let on_error_null = item.attrs.iter().any(|a| a.name.name == "on_error");
            let params = self.params(file, params, false);
            let mut ret = ret.map(|ty| self.lower(file, ty, false));
            if on_error_null && matches!(kind, CallableKind::Ai) {
                ret = ret.map(Type::on_error_null);
            }
            Some(Callable { name: decl_name.name.clone(), kind, params, ret, file })
        })
    }

    fn std_callable(&mut self, item: &'static aigrid_stdlib::Item) -> Rc<Callable> {
        if let Some(known) = self.std_callables.get(item.name) {
            return known.clone();
        }
        let decl = std_decl(item);
        let params = self.params(STD_FILE, &decl.params, true);
        let ret = Some(self.lower(STD_FILE, &decl.ret, true));
        let callable = Rc::new(Callable {
            name: item.name.into(),
            kind: CallableKind::Std(item),
            params,
            ret,
            file: STD_FILE,
        });
        self.std_callables.insert(item.name, callable.clone());
        callable
    }

    fn params(&mut self, file: FileId, params: &[Param], std: bool) -> Vec<ParamType> {
        params
            .iter()
            .map(|p| ParamType {
                name: p.name.name.clone(),
                ty: self.lower(file, &p.ty, std),
                span: p.ty.span,
            })
            .collect()
    }

    /// The type a written type stands for in `file`. Standard-library signatures (`std`) also
    /// use `Table`, `Tensor` and the element variable `T` (see `aigrid_stdlib`).
    pub(super) fn lower(&mut self, file: FileId, ty: &TypeExpr, std: bool) -> Type {
        if std {
            return from_written(ty, &mut family);
        }
        from_written(ty, &mut |path| {
            let found = match path.segments.as_slice() {
                [name] => self.lookup(file, &name.name),
                [module, name] => self.qualified(file, &module.name, &name.name),
                _ => None,
            };
            Some(match found {
                Some(Def::Item(origin, alias)) => self.alias(origin, &alias),
                _ => Type::Unknown,
            })
        })
    }

    /// The type the alias `name` of `file` stands for.
    fn alias(&mut self, file: FileId, name: &EcoString) -> Type {
        let key = (file, name.clone());
        if let Some(known) = self.aliases.get(&key) {
            return known.clone();
        }
        if !self.lowering.insert(key.clone()) {
            return Type::Unknown;
        }
        let module: Option<Rc<Module>> = self.packages.module(file);
        let aliased = module.as_ref().and_then(|m| {
            m.items.iter().find_map(|item| match &item.kind {
                ItemKind::Type(alias) if alias.name.name == *name => Some(alias.ty.clone()),
                _ => None,
            })
        });
        let ty = match aliased {
            Some(aliased) => self.lower(file, &aliased, false),
            None => Type::Unknown,
        };
        self.lowering.remove(&key);
        self.aliases.insert(key, ty.clone());
        ty
    }
}

/// What importing item `name` of `package` binds.
fn imported_def(package: &PackageRef, name: &str) -> Option<Def> {
    match package {
        PackageRef::Std(std) => std.item(name).map(Def::Std),
        PackageRef::User(_) => {
            package.item(name)?;
            Some(Def::Item(package.origin(name)?, name.into()))
        }
    }
}
