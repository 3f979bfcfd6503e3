//! How the compiler reaches the outside world: source files and packages come through the
//! [`World`] trait, so that compiling does no IO of its own and tests can pass a fake.

use std::collections::HashMap;

use aigrid_discovery::Card;
use aigrid_lang::{FileId, SourceFile, Sources};

/// Everything the compiler needs from outside: source text and where packages are.
pub trait World {
    /// A source file the world has loaded.
    fn source(&self, file: FileId) -> Option<&SourceFile>;

    /// The files of the package called `name` as seen from `from`: the package `from` belongs
    /// to, or a package it may import (a dependency). The standard library (`std.*`) is the
    /// compiler's own and is never asked for.
    fn package(&mut self, from: FileId, name: &str) -> PackageLookup;

    /// The cards of the grid AIs that discovery offers to `from` (its package's registry and
    /// the built-in AIs). A world without discovery offers none.
    fn cards(&mut self, from: FileId) -> Vec<Card> {
        let _ = from;
        Vec::new()
    }
}

/// What a [`World`] knows about a package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PackageLookup {
    /// The package's files.
    Found(Vec<FileId>),
    /// No visible package has that name.
    NotFound,
    /// Whether the package exists cannot be told: a manifest on the way is broken. The world
    /// reports that itself; the compiler stays quiet about the import, so as not to mislead.
    Unknown,
}

/// A world held in memory: for tests, and for tools that embed the compiler.
#[derive(Debug, Default)]
pub struct MemoryWorld {
    sources: Sources,
    packages: HashMap<String, Vec<FileId>>,
    cards: Vec<Card>,
}

impl MemoryWorld {
    /// An empty world.
    pub fn new() -> Self {
        MemoryWorld::default()
    }

    /// Adds a file, belonging to no package, and returns its id.
    pub fn add_file(&mut self, name: &str, text: &str) -> FileId {
        self.sources.add(name, text)
    }

    /// Adds a file of package `package` (visible from every file) and returns its id.
    pub fn add_package_file(&mut self, package: &str, name: &str, text: &str) -> FileId {
        let id = self.sources.add(name, text);
        self.packages.entry(package.to_owned()).or_default().push(id);
        id
    }

    /// Adds a card that discovery offers to every file.
    pub fn add_card(&mut self, card: Card) {
        self.cards.push(card);
    }

    /// The files, for rendering diagnostics.
    pub fn sources(&self) -> &Sources {
        &self.sources
    }
}

impl World for MemoryWorld {
    fn source(&self, file: FileId) -> Option<&SourceFile> {
        self.sources.get(file)
    }

    fn package(&mut self, _from: FileId, name: &str) -> PackageLookup {
        match self.packages.get(name) {
            Some(files) => PackageLookup::Found(files.clone()),
            None => PackageLookup::NotFound,
        }
    }

    fn cards(&mut self, _from: FileId) -> Vec<Card> {
        self.cards.clone()
    }
}
