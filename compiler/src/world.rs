//! How the compiler reaches the outside world: source files and packages come through the
//! [`World`] trait, so that compiling does no IO of its own and tests can pass a fake.

use std::collections::HashMap;

use aigrid_discovery::{Card, Matches, Predicate};
use aigrid_lang::{FileId, SourceFile, Sources};

/// Everything the compiler needs from outside: source text and where packages are.
pub trait World {
    /// A source file the world has loaded.
    fn source(&self, file: FileId) -> Option<&SourceFile>;

    /// The files of the package called `name` as seen from `from`: the package `from` belongs
    /// to, or a package it may import (a dependency). The standard library (`std.*`) is the
    /// compiler's own and is never asked for.
    fn package(&mut self, from: FileId, name: &str) -> PackageLookup;

    /// Asks the discovery that serves `from` (the registry or server its manifest names) for
    /// the cards satisfying `predicate` (every card without one), with the funnel. A world
    /// without discovery offers no card.
    fn discover(&mut self, from: FileId, predicate: Option<&Predicate>) -> Discovery {
        let _ = (from, predicate);
        Discovery::Found(Matches::default())
    }
}

/// What discovery answers to a requirement's `where`.
#[derive(Clone, Debug, PartialEq)]
pub enum Discovery {
    /// The cards that satisfy it, and the funnel.
    Found(Matches),
    /// The predicate cannot be evaluated against the cards: why.
    BadPredicate(String),
    /// Discovery could not be asked (a broken registry, a server that does not answer). The
    /// world reports why itself; the compiler stays quiet about the requirement.
    Unavailable,
}

impl Discovery {
    /// The answer of a registry holding `cards`, searched in memory.
    pub fn over(cards: &[Card], predicate: Option<&Predicate>) -> Discovery {
        match aigrid_discovery::query(predicate, cards) {
            Ok(matches) => Discovery::Found(matches),
            Err(error) => Discovery::BadPredicate(error.reason),
        }
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

    fn discover(&mut self, _from: FileId, predicate: Option<&Predicate>) -> Discovery {
        Discovery::over(&self.cards, predicate)
    }
}
