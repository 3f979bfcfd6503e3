//! What an imported package provides: the standard library's items, or the items of a user
//! package whose files the [`World`] supplies (parsed once per compilation).

use std::collections::HashMap;
use std::rc::Rc;

use aigrid_lang::ast::{AiDecl, Ident, ItemKind, Module, Param};
use aigrid_lang::{FileId, Span};
use ecow::EcoString;

use crate::world::{PackageLookup, World};

/// The parameters of a pipeline or `ai`, for checking calls.
#[derive(Debug)]
pub(crate) struct Signature {
    /// The callee's name.
    pub name: String,
    /// Each parameter's name, and whether a call must pass it (it has no default).
    pub params: Vec<(EcoString, bool)>,
    /// Whether calls may pass named arguments beyond `params` (`select`'s columns).
    pub named_rest: bool,
    /// Where the callee is declared.
    pub file: FileId,
    pub span: Span,
}

impl Signature {
    pub(crate) fn new(name: &str, params: &[Param], file: FileId, span: Span) -> Rc<Signature> {
        let params = params.iter().map(|p| (p.name.name.clone(), p.default.is_none())).collect();
        Rc::new(Signature { name: name.to_owned(), params, named_rest: false, file, span })
    }

    /// The signature of a standard-library operation.
    pub(crate) fn of_std(item: &'static aigrid_stdlib::Item) -> Rc<Signature> {
        let decl = std_decl(item);
        let mut signature = Signature::new(item.name, &decl.params, STD_FILE, decl.name.span);
        if let Some(signature) = Rc::get_mut(&mut signature) {
            signature.named_rest = item.typing.takes_named_rest();
        }
        signature
    }
}

/// The file id of the standard library's signatures: no file of the world has it.
pub(crate) const STD_FILE: FileId = FileId(u32::MAX);

thread_local! {
    static STD_DECLS: std::cell::RefCell<HashMap<&'static str, Rc<AiDecl>>> =
        std::cell::RefCell::new(HashMap::new());
}

/// The parsed signature of a standard-library operation, as an `ai` declaration (parsed once).
pub(crate) fn std_decl(item: &'static aigrid_stdlib::Item) -> Rc<AiDecl> {
    STD_DECLS.with(|decls| {
        decls
            .borrow_mut()
            .entry(item.signature)
            .or_insert_with(|| {
                let parsed = aigrid_lang::parse(STD_FILE, &format!("ai {}\n", item.signature));
                let decl = parsed.module.items.into_iter().find_map(|item| match item.kind {
                    ItemKind::Ai(decl) => Some(decl),
                    _ => None,
                });
                // The signatures are tested to parse (see the tests below); an unparsable one
                // would take no arguments and return a value of unknown type.
                Rc::new(decl.unwrap_or_else(|| AiDecl {
                    name: Ident { name: item.name.into(), span: Span::new(STD_FILE, 0, 0) },
                    params: Vec::new(),
                    ret: aigrid_lang::ast::TypeExpr {
                        kind: aigrid_lang::ast::TypeKind::Table(Vec::new()),
                        span: Span::new(STD_FILE, 0, 0),
                    },
                    predicate: None,
                    prefer: Vec::new(),
                    fallback: None,
                }))
            })
            .clone()
    })
}

/// The name an item declares and what it is; `None` for `use` and `test`, which declare none.
pub(crate) fn declared_item(kind: &ItemKind, file: FileId) -> Option<(&Ident, ItemInfo)> {
    let (name, params) = match kind {
        ItemKind::Type(alias) => return Some((&alias.name, ItemInfo::Type)),
        ItemKind::Pipeline(pipeline) => (&pipeline.name, &pipeline.params),
        ItemKind::Ai(ai) => (&ai.name, &ai.params),
        ItemKind::Use(_) | ItemKind::Test(_) => return None,
    };
    let signature = Signature::new(&name.name, params, file, name.span);
    Some((name, ItemInfo::Callable(Some(signature))))
}

/// What an item of a package is.
#[derive(Clone, Debug)]
pub(crate) enum ItemInfo {
    Type,
    /// A pipeline, `ai` or standard-library operation; the signature when it is known.
    Callable(Option<Rc<Signature>>),
}

/// A user package: its items by name, and the user packages its files import.
#[derive(Debug)]
pub(crate) struct UserPackage {
    name: String,
    items: HashMap<EcoString, ItemInfo>,
    /// Where each item is declared.
    origins: HashMap<EcoString, FileId>,
    imports: Vec<String>,
    /// A file of the package, to look its own imports up from.
    file: FileId,
    /// The names of the package's files that have syntax errors: their broken items are missing.
    broken: Vec<String>,
}

/// An imported package.
#[derive(Clone, Debug)]
pub(crate) enum PackageRef {
    Std(&'static aigrid_stdlib::Package),
    User(Rc<UserPackage>),
}

impl PackageRef {
    pub(crate) fn name(&self) -> &str {
        match self {
            PackageRef::Std(package) => package.name,
            PackageRef::User(package) => &package.name,
        }
    }

    pub(crate) fn item(&self, name: &str) -> Option<ItemInfo> {
        match self {
            PackageRef::Std(package) => {
                package.item(name).map(|item| ItemInfo::Callable(Some(Signature::of_std(item))))
            }
            PackageRef::User(package) => package.items.get(name).cloned(),
        }
    }

    /// The file that declares item `name`, for a user package.
    pub(crate) fn origin(&self, name: &str) -> Option<FileId> {
        match self {
            PackageRef::Std(_) => None,
            PackageRef::User(package) => package.origins.get(name).copied(),
        }
    }

    /// The files of a user package that have syntax errors.
    pub(crate) fn broken_files(&self) -> &[String] {
        match self {
            PackageRef::Std(_) => &[],
            PackageRef::User(package) => &package.broken,
        }
    }

    /// The item names, sorted, for suggestions.
    pub(crate) fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = match self {
            PackageRef::Std(package) => package.items.iter().map(|i| i.name.to_owned()).collect(),
            PackageRef::User(package) => package.items.keys().map(|n| n.to_string()).collect(),
        };
        names.sort();
        names
    }
}

/// The packages of one compilation, loaded through the world on first use.
pub(crate) struct Packages<'w> {
    world: &'w mut dyn World,
    loaded: HashMap<(String, Vec<FileId>), Rc<UserPackage>>,
    /// Every file parsed so far: files whose syntax is broken keep the items that parsed.
    modules: HashMap<FileId, Rc<Module>>,
    /// The files parsed so far that have syntax errors.
    broken: std::collections::HashSet<FileId>,
}

impl<'w> Packages<'w> {
    pub(crate) fn new(world: &'w mut dyn World) -> Self {
        Packages {
            world,
            loaded: HashMap::new(),
            modules: HashMap::new(),
            broken: std::collections::HashSet::new(),
        }
    }

    pub(crate) fn world(&self) -> &dyn World {
        &*self.world
    }

    pub(crate) fn world_mut(&mut self) -> &mut dyn World {
        &mut *self.world
    }

    /// The parsed module of `file`, parsed on first use.
    pub(crate) fn module(&mut self, file: FileId) -> Option<Rc<Module>> {
        if let Some(module) = self.modules.get(&file) {
            return Some(module.clone());
        }
        let source = self.world.source(file)?;
        let parsed = aigrid_lang::parse(file, source.text());
        if !parsed.is_ok() {
            self.broken.insert(file);
        }
        let module = Rc::new(parsed.module);
        self.modules.insert(file, module.clone());
        Some(module)
    }

    /// Records the module of a file parsed by the caller, so it is not parsed again.
    pub(crate) fn insert_module(&mut self, file: FileId, module: Rc<Module>) {
        self.modules.insert(file, module);
    }

    /// The package `name` as seen from file `from`: `Ok(None)` when there is none, `Err(())`
    /// when the world cannot tell (and has reported why).
    pub(crate) fn lookup(&mut self, from: FileId, name: &str) -> Result<Option<PackageRef>, ()> {
        if name == "std" || name.starts_with("std.") {
            return Ok(aigrid_stdlib::package(name).map(PackageRef::Std));
        }
        // Which package a name means depends on where it is asked from (each file sees its own
        // package and its manifests' dependencies): cache by the files the world answers.
        let files = match self.world.package(from, name) {
            PackageLookup::Found(files) => files,
            PackageLookup::NotFound => return Ok(None),
            PackageLookup::Unknown => return Err(()),
        };
        let key = (name.to_owned(), files.clone());
        if let Some(loaded) = self.loaded.get(&key) {
            return Ok(Some(PackageRef::User(loaded.clone())));
        }
        let package = Rc::new(self.load(name, files, from));
        self.loaded.insert(key, package.clone());
        Ok(Some(PackageRef::User(package)))
    }

    /// Parses the package's files and collects the items of those that declare `name`.
    /// Syntax errors in them are reported when those files themselves are checked.
    fn load(&mut self, name: &str, files: Vec<FileId>, from: FileId) -> UserPackage {
        let mut items = HashMap::new();
        let mut origins = HashMap::new();
        let mut imports = Vec::new();
        let mut broken = Vec::new();
        let first = files.first().copied().unwrap_or(from);
        for file in files {
            let Some(module) = self.module(file) else { continue };
            let header = module.package.as_ref().map(|p| p.name.to_string());
            if self.broken.contains(&file) {
                // A file whose header did not parse may still belong to the package.
                if header.is_none() || header.as_deref() == Some(name) {
                    let file_name = self.world.source(file).map(|s| s.name().to_owned());
                    broken.extend(file_name);
                }
            }
            if header.as_deref() != Some(name) {
                continue;
            }
            for item in &module.items {
                if let ItemKind::Use(decl) = &item.kind {
                    let imported = decl.path.to_string();
                    if !imported.starts_with("std.")
                        && imported != name
                        && !imports.contains(&imported)
                    {
                        imports.push(imported);
                    }
                }
                let Some((item_name, info)) = declared_item(&item.kind, file) else { continue };
                items.insert(item_name.name.clone(), info);
                origins.entry(item_name.name.clone()).or_insert(file);
            }
        }
        UserPackage { name: name.to_owned(), items, origins, imports, file: first, broken }
    }

    /// If importing package `target` from package `own` closes a cycle, the cycle as
    /// `own -> target -> ... -> own`.
    pub(crate) fn cycle(&mut self, own: &str, target: &str) -> Option<Vec<String>> {
        // Depth-first over the import graph, from `target`, looking for `own`.
        let mut stack = vec![vec![target.to_owned()]];
        let mut seen = vec![target.to_owned()];
        while let Some(path) = stack.pop() {
            let current = path.last()?.clone();
            let Some(PackageRef::User(package)) = self.lookup_loaded(&current) else { continue };
            for next in package.imports.clone() {
                let mut longer = path.clone();
                longer.push(next.clone());
                if next == own {
                    let mut cycle = vec![own.to_owned()];
                    cycle.extend(longer);
                    return Some(cycle);
                }
                if !seen.contains(&next) {
                    seen.push(next.clone());
                    // Load it if needed, from a file of the package that imports it.
                    let _ = self.lookup(package.file, &next);
                    stack.push(longer);
                }
            }
        }
        None
    }

    fn lookup_loaded(&self, name: &str) -> Option<PackageRef> {
        self.loaded.iter().find(|((n, _), _)| n == name).map(|(_, p)| PackageRef::User(p.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::std_decl;

    #[test]
    fn every_std_signature_parses() {
        let items =
            aigrid_stdlib::PACKAGES.iter().flat_map(|p| p.items).chain(aigrid_stdlib::PRELUDE);
        for item in items {
            let parsed = aigrid_lang::parse(super::STD_FILE, &format!("ai {}\n", item.signature));
            assert!(parsed.is_ok(), "{}: {:?}", item.signature, parsed.diagnostics);
            assert_eq!(std_decl(item).name.name, item.name);
        }
    }
}
