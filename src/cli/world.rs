//! The compiler's [`World`] on the real filesystem: source files, and packages found through
//! `aigrid.toml` manifests.
//!
//! A package is a directory with an `aigrid.toml` whose `[package]` names it; its files are the
//! `.ag` files below it (not those of nested packages) whose header names the package. A file
//! may import its own package and the `[dependencies]` of the manifests in its directory and
//! the directories above it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use aigrid_builtins::{Library, ModelStore};
use aigrid_compiler::{Discovery, NodeDefaults, PackageLookup, World};
use aigrid_discovery::{Card, Matches, Predicate};

use super::discovery::{Remote, Server};
use aigrid_lang::{Diagnostic, FileId, SourceFile, Sources};
use serde::Deserialize;

/// The manifest file name.
const MANIFEST: &str = "aigrid.toml";

/// The lockfile's name.
pub const LOCKFILE: &str = "aigrid.lock";

/// The built-in AIs' cards: those offered, and those that are not, with hints.
#[derive(Debug)]
struct Builtins {
    cards: Vec<Card>,
    missing: Vec<(Card, String)>,
}

/// `aigrid.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    package: Option<PackageSection>,
    #[serde(default)]
    dependencies: BTreeMap<String, Dependency>,
    discovery: Option<DiscoverySection>,
    run: Option<RunSection>,
}

/// `[run]`: how the `ai` nodes of the project's pipelines that do not say fail.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunSection {
    /// More attempts per binding, as `@retry(n)`.
    retry: Option<u32>,
    /// The longest a request may take, as `@timeout(d)`: `30s`, `500ms`, `2m`.
    timeout: Option<String>,
}

/// `[discovery]`: where the cards of the grid AIs come from: a registry or a server.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiscoverySection {
    /// A directory of card files (`*.yaml`, `*.yml`, `*.json`, one card each) or one YAML file
    /// holding a list of cards, relative to the manifest.
    registry: Option<PathBuf>,
    /// A discovery server: `http://host:port` or `https://host:port`.
    url: Option<String>,
    /// For an `https://` server with a private CA: its PEM certificate, relative to the
    /// manifest.
    ca: Option<PathBuf>,
}

/// Where discovery is, for a file or a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiscoverySource {
    /// A registry of card files.
    Registry(PathBuf),
    /// A discovery server.
    Server(Server),
    /// No registry and no server: the built-in AIs only.
    Nowhere,
    /// The manifest that would say is broken (already reported).
    Broken,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(
    dead_code,
    reason = "version and description are checked on load; packaging will read them"
)]
struct PackageSection {
    name: String,
    version: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Dependency {
    /// The package's directory, relative to the manifest.
    path: PathBuf,
}

/// Source files read from disk, and the manifests that say where packages are.
#[derive(Default)]
pub struct FsWorld {
    sources: Sources,
    paths: HashMap<FileId, PathBuf>,
    files: HashMap<PathBuf, FileId>,
    manifests: HashMap<PathBuf, Option<Manifest>>,
    /// The files of each package directory, listed once.
    package_files: HashMap<PathBuf, Vec<FileId>>,
    /// Directories whose manifest could not be read as one.
    broken: HashSet<PathBuf>,
    /// Problems with manifests and package files, reported by the command (status 2).
    errors: Vec<String>,
    /// The cards of the embedded discovery with each registry (the empty path: with none),
    /// built-in AIs included, read once; `None` when the registry could not be read whole.
    registries: HashMap<PathBuf, Option<Vec<Card>>>,
    /// The built-in AIs of this build, looked up once.
    builtins: Option<Builtins>,
    /// The server given on the command line, in place of the manifests' `[discovery]`.
    server: Option<Server>,
    /// Connections to discovery servers, by URL; `None` once one failed (reported once).
    servers: HashMap<String, Option<Remote>>,
}

impl FsWorld {
    /// An empty world.
    pub fn new() -> Self {
        FsWorld::default()
    }

    /// The files read so far.
    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    /// Adds a file read from `path`; bytes that are not UTF-8 are added lossily, with their
    /// diagnostic.
    pub fn add(
        &mut self,
        path: &Path,
        name: String,
        bytes: Vec<u8>,
    ) -> (FileId, Option<Diagnostic>) {
        let (text, invalid) = match aigrid_lang::decode(self.sources.next_id(), bytes) {
            Ok(text) => (text, None),
            Err((text, diagnostic)) => (text, Some(diagnostic)),
        };
        let id = self.sources.add(name, text);
        let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        self.paths.insert(id, key.clone());
        self.files.insert(key, id);
        (id, invalid)
    }

    /// Where the lockfile of `file` is: beside the nearest `aigrid.toml` above it, else beside
    /// the file.
    pub fn lock_path(&mut self, file: &Path) -> PathBuf {
        let file = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
        let start = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let project = start.ancestors().find(|dir| dir.join(MANIFEST).is_file());
        project.unwrap_or(&start).join(LOCKFILE)
    }

    /// What `ai` nodes of the files of `dir` get when they have no `@retry` or `@timeout`: the
    /// nearest manifest's `[run]` section. A timeout that is not a duration is reported.
    pub fn node_defaults(&mut self, dir: &Path) -> NodeDefaults {
        let section = dir.ancestors().find_map(|dir| {
            let run = self.manifest(dir)?.run.as_ref()?;
            Some((dir.to_path_buf(), run.retry, run.timeout.clone()))
        });
        let Some((dir, retry, timeout)) = section else { return NodeDefaults::default() };
        let timeout_ms = timeout.and_then(|text| {
            let ms = aigrid_lang::duration(&text).and_then(|d| u64::try_from(d.as_millis()).ok());
            if ms.is_none() {
                self.errors.push(format!(
                    "invalid `{}`: [run] timeout `{text}` is not a duration such as `30s`, `500ms` \
                     or `2m`",
                    dir.join(MANIFEST).display()
                ));
            }
            ms
        });
        NodeDefaults { retry, timeout_ms }
    }

    /// Asks `server` for the cards, whatever the manifests say (`--discovery URL`).
    pub fn use_server(&mut self, server: Server) {
        self.server = Some(server);
    }

    /// Where discovery is for the files of `dir`: the command line's server, else the nearest
    /// manifest with a `[discovery]` section.
    pub fn discovery_source(&mut self, dir: &Path) -> DiscoverySource {
        if let Some(server) = &self.server {
            return DiscoverySource::Server(server.clone());
        }
        for dir in dir.ancestors() {
            let section = self
                .manifest(dir)
                .and_then(|m| m.discovery.as_ref())
                .map(|d| (d.registry.clone(), d.url.clone(), d.ca.clone()));
            if self.broken.contains(dir) {
                return DiscoverySource::Broken;
            }
            let Some((registry, url, ca)) = section else { continue };
            return match (registry, url) {
                (Some(registry), None) => DiscoverySource::Registry(dir.join(registry)),
                (None, Some(url)) => DiscoverySource::Server(Server {
                    url,
                    ca: ca.map(|ca| dir.join(ca)),
                    token: None,
                }),
                _ => {
                    self.errors.push(format!(
                        "invalid `{}`: `[discovery]` has either `registry` or `url`",
                        dir.join(MANIFEST).display()
                    ));
                    self.broken.insert(dir.to_path_buf());
                    DiscoverySource::Broken
                }
            };
        }
        DiscoverySource::Nowhere
    }

    /// The cards of the embedded discovery: the built-in AIs and the cards of the registry at
    /// `registry` (which replace built-in ones of the same id), read once; `None` if the
    /// registry cannot be read whole (the problems are reported).
    pub fn embedded(&mut self, registry: Option<&Path>) -> Option<&[Card]> {
        let key = registry.map(Path::to_path_buf).unwrap_or_default();
        if !self.registries.contains_key(&key) {
            let errors = self.errors.len();
            let mut cards = match registry {
                Some(path) => self.read_registry(path),
                None => Vec::new(),
            };
            let ids: HashSet<String> = cards.iter().map(|c| c.id.clone()).collect();
            let builtins = self.builtins().cards.iter().filter(|c| !ids.contains(&c.id));
            cards.splice(0..0, builtins.cloned().collect::<Vec<_>>());
            let cards = (self.errors.len() == errors).then_some(cards);
            self.registries.insert(key.clone(), cards);
        }
        self.registries.get(&key).and_then(|cards| cards.as_deref())
    }

    /// The built-in AIs of this build.
    fn builtins(&mut self) -> &Builtins {
        self.builtins.get_or_insert_with(|| {
            let library = Library::new(&ModelStore::from_env());
            Builtins {
                cards: library.cards(),
                missing: library
                    .missing()
                    .iter()
                    .map(|m| (m.card.clone(), m.hint.clone()))
                    .collect(),
            }
        })
    }

    /// What would make the built-in AIs that satisfy `predicate` but are not offered here
    /// available (a model to fetch).
    fn builtin_hints(&mut self, predicate: Option<&Predicate>) -> Vec<String> {
        let builtins = self.builtins();
        builtins
            .missing
            .iter()
            .filter(|(card, _)| {
                aigrid_discovery::query(predicate, std::slice::from_ref(card))
                    .is_ok_and(|m| !m.cards.is_empty())
            })
            .map(|(card, hint)| format!("`{}`: {hint}", card.id))
            .collect()
    }

    /// A connection to `server`, made once; `None` if it failed (reported once).
    pub fn remote(&mut self, server: &Server) -> Option<&mut Remote> {
        if !self.servers.contains_key(&server.url) {
            let remote = match Remote::connect(server) {
                Ok(remote) => Some(remote),
                Err(error) => {
                    self.errors.push(error);
                    None
                }
            };
            self.servers.insert(server.url.clone(), remote);
        }
        self.servers.get_mut(&server.url).and_then(Option::as_mut)
    }

    /// Problems found with manifests and package files.
    pub fn take_errors(&mut self) -> Vec<String> {
        std::mem::take(&mut self.errors)
    }

    /// The manifest in `dir`, read once.
    fn manifest(&mut self, dir: &Path) -> Option<&Manifest> {
        if !self.manifests.contains_key(dir) {
            let path = dir.join(MANIFEST);
            let manifest = match std::fs::read_to_string(&path) {
                Ok(text) => match toml::from_str::<Manifest>(&text) {
                    Ok(manifest) => Some(manifest),
                    Err(error) => {
                        self.errors.push(format!(
                            "invalid `{}`: {}",
                            path.display(),
                            error.message()
                        ));
                        self.broken.insert(dir.to_path_buf());
                        None
                    }
                },
                Err(_) => None,
            };
            self.manifests.insert(dir.to_path_buf(), manifest);
        }
        self.manifests.get(dir).and_then(Option::as_ref)
    }

    /// The cards of a registry: a directory of card files, or one file holding a list. A card
    /// that does not validate is reported (status 2) and left out.
    fn read_registry(&mut self, path: &Path) -> Vec<Card> {
        let mut cards = Vec::new();
        if path.is_dir() {
            let files = card_files(path).unwrap_or_else(|error| {
                self.errors.push(format!("cannot read registry `{}`: {error}", shown(path)));
                Vec::new()
            });
            for file in files {
                match std::fs::read_to_string(&file) {
                    Ok(text) => match Card::from_yaml(&text) {
                        Ok(card) => cards.push(card),
                        Err(error) => {
                            self.errors.push(format!("invalid card `{}`: {error}", shown(&file)))
                        }
                    },
                    Err(error) => {
                        self.errors.push(format!("cannot read `{}`: {error}", shown(&file)))
                    }
                }
            }
        } else {
            match std::fs::read_to_string(path) {
                Ok(text) => match Card::list_from_yaml(&text) {
                    Ok(list) => cards = list,
                    Err(error) => {
                        self.errors.push(format!("invalid registry `{}`: {error}", shown(path)))
                    }
                },
                Err(error) => {
                    self.errors.push(format!("cannot read registry `{}`: {error}", shown(path)))
                }
            }
        }
        let mut seen = HashSet::new();
        for card in &cards {
            if !seen.insert(card.id.clone()) {
                self.errors.push(format!(
                    "registry `{}`: two cards have the id `{}`",
                    shown(path),
                    card.id
                ));
            }
        }
        cards
    }

    /// The embedded discovery's answer to `predicate`, with hints about built-in AIs that
    /// would match if their models were fetched.
    fn embedded_discovery(
        &mut self,
        registry: Option<&Path>,
        predicate: Option<&Predicate>,
    ) -> Discovery {
        let Some(cards) = self.embedded(registry) else { return Discovery::Unavailable };
        match Discovery::over(cards, predicate) {
            Discovery::Found(mut matches) => {
                matches.hints = self.builtin_hints(predicate);
                Discovery::Found(matches)
            }
            other => other,
        }
    }

    /// The `.ag` files of the package in `dir` (skipping nested packages), loaded once.
    fn package_files(&mut self, dir: &Path) -> Vec<FileId> {
        if let Some(files) = self.package_files.get(dir) {
            return files.clone();
        }
        let files = self.list_package_files(dir);
        self.package_files.insert(dir.to_path_buf(), files.clone());
        files
    }

    fn list_package_files(&mut self, dir: &Path) -> Vec<FileId> {
        let walk = walkdir::WalkDir::new(dir).sort_by_file_name().into_iter().filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            e.depth() == 0
                || !(name.starts_with('.')
                    || name == "target"
                    || (e.file_type().is_dir() && e.path().join(MANIFEST).exists()))
        });
        let mut ids = Vec::new();
        for entry in walk.flatten() {
            let path = entry.path();
            if !entry.file_type().is_file() || path.extension().is_none_or(|e| e != "ag") {
                continue;
            }
            let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
            if let Some(&id) = self.files.get(&key) {
                ids.push(id);
                continue;
            }
            match std::fs::read(path) {
                Ok(bytes) => ids.push(self.add(path, display_name(&key), bytes).0),
                Err(error) => {
                    self.errors.push(format!("cannot read `{}`: {error}", path.display()))
                }
            }
        }
        ids
    }
}

impl World for FsWorld {
    fn source(&self, file: FileId) -> Option<&SourceFile> {
        self.sources.get(file)
    }

    fn discover(&mut self, from: FileId, predicate: Option<&Predicate>) -> Discovery {
        let Some(dir) = self.paths.get(&from).and_then(|p| p.parent()).map(Path::to_path_buf)
        else {
            return Discovery::Found(Matches::default());
        };
        match self.discovery_source(&dir) {
            DiscoverySource::Registry(path) => self.embedded_discovery(Some(&path), predicate),
            DiscoverySource::Server(server) => {
                let Some(remote) = self.remote(&server) else { return Discovery::Unavailable };
                match remote.matches(predicate) {
                    Ok(discovery) => discovery,
                    Err(error) => {
                        self.errors.push(error);
                        Discovery::Unavailable
                    }
                }
            }
            DiscoverySource::Nowhere => self.embedded_discovery(None, predicate),
            DiscoverySource::Broken => Discovery::Unavailable,
        }
    }

    fn package(&mut self, from: FileId, name: &str) -> PackageLookup {
        let Some(start) = self.paths.get(&from).and_then(|p| p.parent()).map(Path::to_path_buf)
        else {
            return PackageLookup::NotFound;
        };
        for dir in start.ancestors() {
            let Some(manifest) = self.manifest(dir) else {
                if self.broken.contains(dir) {
                    // This manifest might have declared the package: the import cannot be judged.
                    return PackageLookup::Unknown;
                }
                continue;
            };
            if manifest.package.as_ref().is_some_and(|p| p.name == name) {
                return PackageLookup::Found(self.package_files(dir));
            }
            if let Some(dependency) = manifest.dependencies.get(name).map(|d| d.path.clone()) {
                let target = dir.join(&dependency);
                let target = target.canonicalize().unwrap_or(target);
                let declared =
                    self.manifest(&target).and_then(|m| m.package.as_ref()).map(|p| p.name.clone());
                if declared.as_deref() != Some(name) {
                    self.errors.push(format!(
                        "dependency `{name}` in `{}` points to `{}`, which holds no package `{name}` (no {MANIFEST} naming it)",
                        dir.join(MANIFEST).display(),
                        dependency.display()
                    ));
                    return PackageLookup::Unknown;
                }
                return PackageLookup::Found(self.package_files(&target));
            }
        }
        PackageLookup::NotFound
    }
}

/// The card files of a directory (`*.yaml`, `*.yml`, `*.json`), sorted.
pub fn card_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .map(|entry| entry.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml" || x == "json"))
        .collect();
    files.sort();
    Ok(files)
}

/// A path as messages show it: relative to the current directory when below it.
pub fn shown(path: &Path) -> String {
    display_name(&path.canonicalize().unwrap_or_else(|_| path.to_path_buf()))
}

/// How a package file is named in diagnostics and plans: relative to the current directory when
/// it is below it (`examples/textkit/clean.ag`), so that nothing shows where the project lives.
fn display_name(path: &Path) -> String {
    let cwd = std::env::current_dir().ok().and_then(|d| d.canonicalize().ok());
    match cwd.as_deref().and_then(|cwd| path.strip_prefix(cwd).ok()) {
        Some(relative) => relative.display().to_string(),
        None => path.display().to_string(),
    }
}
