//! The registry's state: every registered card in an embedded database (redb, one file under
//! the data directory) so that a restart loses nothing, and an index of them in memory that
//! answers queries.
//!
//! A write goes to the database first (one transaction per request, committed durably), then
//! to the index, then to the watchers, under one lock, so the three agree on the order of
//! changes. Leases live in memory: heartbeats are not written, and a restarted server gives
//! every leased card a full lease from the moment it starts, so that AIs have the time to
//! notice the restart and heartbeat again (as etcd does for its leases).

use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use aigrid_discovery::{Card, Predicate, Stage};

use crate::index::Index;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// Card id -> the stored record (JSON).
const CARDS: TableDefinition<&str, &str> = TableDefinition::new("cards");

/// The file under the data directory.
pub const DATABASE_FILE: &str = "discovery.redb";

/// What the server accepts; requests beyond these get a clear error.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Cards the registry holds at most.
    pub max_cards: usize,
    /// Distinct attribute names (and card fields) the registry holds at most.
    pub max_attribute_names: usize,
    /// Bytes of one card document.
    pub max_card_bytes: usize,
    /// Cards (or ids) in one request.
    pub max_batch: usize,
    /// Bytes of a predicate.
    pub max_predicate_bytes: usize,
    /// Cards in one answer.
    pub max_results: usize,
    /// Watches open at once.
    pub max_watchers: usize,
    /// The shortest and longest lease.
    pub lease_range: (Duration, Duration),
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_cards: 1_000_000,
            max_attribute_names: 4_096,
            max_card_bytes: 64 * 1024,
            max_batch: 1_000,
            max_predicate_bytes: 4 * 1024,
            max_results: 10_000,
            max_watchers: 1_024,
            lease_range: (Duration::from_millis(500), Duration::from_secs(24 * 3600)),
        }
    }
}

/// Why a request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The request is wrong: a bad card, a bad predicate, too many items.
    #[error("{0}")]
    Invalid(String),
    /// The registry is full, or too many watches are open.
    #[error("{0}")]
    Full(String),
    /// The database failed.
    #[error("the registry's database failed: {0}")]
    Database(String),
}

impl From<redb::Error> for StoreError {
    fn from(error: redb::Error) -> Self {
        StoreError::Database(error.to_string())
    }
}

macro_rules! database_errors {
    ($($error:ty),*) => {$(
        impl From<$error> for StoreError {
            fn from(error: $error) -> Self {
                StoreError::Database(error.to_string())
            }
        }
    )*};
}
database_errors!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// A change to the registry, as watchers see it.
#[derive(Clone, Debug)]
pub enum Event {
    /// A card was registered or replaced.
    Registered(Arc<Entry>),
    /// A card was deregistered.
    Removed(String),
    /// A card's lease expired.
    Expired(String),
}

/// A registered card.
#[derive(Debug)]
pub struct Entry {
    /// The card, its health as the server knows it.
    pub card: Card,
    /// The card as JSON, ready to send.
    pub json: Arc<str>,
    lease: Option<Duration>,
    pub(crate) deadline: Option<Instant>,
}

impl Entry {
    fn new(mut card: Card, lease: Option<Duration>, now: Instant) -> Entry {
        if lease.is_some() {
            card.health.status = "up".into();
            card.health.last_heartbeat = Some(jiff::Timestamp::now().to_string());
        }
        let json = card.to_json().into();
        Entry { card, json, lease, deadline: lease.map(|lease| now + lease) }
    }

    pub(crate) fn live(&self, now: Instant) -> bool {
        self.deadline.is_none_or(|deadline| deadline > now)
    }
}

/// A card as the database keeps it.
#[derive(Serialize, Deserialize)]
struct Record {
    card: Card,
    /// 0: no lease.
    lease_ms: u64,
}

/// The answer to a query.
#[derive(Clone, Debug, Default)]
pub struct Matched {
    /// The matching cards, by id, at most the limit.
    pub cards: Vec<Arc<Entry>>,
    /// How many matched.
    pub total: usize,
    /// How many cards the registry holds.
    pub offered: usize,
    /// The funnel, when asked for.
    pub stages: Vec<Stage>,
}

/// The registered cards: persisted, indexed, watched.
pub struct Store {
    db: redb::Database,
    index: RwLock<Index>,
    /// Serialises writers, so the database, the index and the events agree on the order.
    write: Mutex<()>,
    events: broadcast::Sender<Event>,
    limits: Limits,
}

impl Store {
    /// Opens (or creates) the registry under `dir`, loading every card; leased cards get a full
    /// lease from now.
    pub fn open(dir: &Path, limits: Limits) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|error| {
            StoreError::Database(format!("cannot create `{}`: {error}", dir.display()))
        })?;
        let db = redb::Database::create(dir.join(DATABASE_FILE))?;
        Store::load(db, limits)
    }

    /// A registry held in memory only: for tests and benchmarks.
    pub fn in_memory(limits: Limits) -> Result<Store, StoreError> {
        let db =
            redb::Database::builder().create_with_backend(redb::backends::InMemoryBackend::new())?;
        Store::load(db, limits)
    }

    fn load(db: redb::Database, limits: Limits) -> Result<Store, StoreError> {
        let txn = db.begin_write()?;
        txn.open_table(CARDS)?;
        txn.commit()?;
        let now = Instant::now();
        let mut index = Index::default();
        {
            let txn = db.begin_read()?;
            let table = txn.open_table(CARDS)?;
            for row in table.iter()? {
                let (id, record) = row?;
                let record: Record = serde_json::from_str(record.value()).map_err(|error| {
                    StoreError::Database(format!(
                        "the record of `{}` is corrupt: {error}",
                        id.value()
                    ))
                })?;
                let lease = (record.lease_ms > 0).then(|| Duration::from_millis(record.lease_ms));
                index.insert(Arc::new(Entry::new(record.card, lease, now)));
            }
        }
        let (events, _) = broadcast::channel(4096);
        Ok(Store { db, index: RwLock::new(index), write: Mutex::new(()), events, limits })
    }

    /// The limits the store enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// How many cards are registered (live or not yet reaped).
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether no card is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        // A panic while the lock was held left the index whole (every change is one insert or
        // remove), so a poisoned lock is still usable.
        self.index.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_index(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_writes(&self) -> std::sync::MutexGuard<'_, ()> {
        self.write.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Validates and registers card documents (JSON), replacing cards with the same ids, in one
    /// transaction; `lease` of `None` registers them for good.
    pub fn register(
        &self,
        documents: &[String],
        lease: Option<Duration>,
    ) -> Result<Vec<String>, StoreError> {
        self.check_batch(documents.len(), "cards")?;
        if let Some(lease) = lease {
            let (short, long) = self.limits.lease_range;
            if lease < short || lease > long {
                return Err(StoreError::Invalid(format!(
                    "a lease is {} ms to {} ms, not {} ms",
                    short.as_millis(),
                    long.as_millis(),
                    lease.as_millis()
                )));
            }
        }
        let mut cards = Vec::with_capacity(documents.len());
        for (position, document) in documents.iter().enumerate() {
            if document.len() > self.limits.max_card_bytes {
                return Err(StoreError::Invalid(format!(
                    "card {position} is {} bytes; a card is at most {} bytes",
                    document.len(),
                    self.limits.max_card_bytes
                )));
            }
            let card = Card::from_json(document).map_err(|error| {
                StoreError::Invalid(format!("card {position} is invalid: {error}"))
            })?;
            if cards.iter().any(|c: &Card| c.id == card.id) {
                return Err(StoreError::Invalid(format!(
                    "card {position}: the id `{}` is registered twice in one request",
                    card.id
                )));
            }
            cards.push(card);
        }
        let _writing = self.lock_writes();
        let (new, new_columns, columns) = {
            let index = self.read();
            let names = cards.iter().flat_map(|c| c.attributes.keys().map(String::as_str));
            (
                cards.iter().filter(|c| index.get(&c.id).is_none()).count(),
                index.new_columns(names),
                index.columns(),
            )
        };
        // Each attribute name is a column over every card: their number is bounded.
        if columns + new_columns > self.limits.max_attribute_names {
            return Err(StoreError::Full(format!(
                "the registry knows {columns} attribute names, its limit is {}",
                self.limits.max_attribute_names
            )));
        }
        if self.len() + new > self.limits.max_cards {
            return Err(StoreError::Full(format!(
                "the registry holds {} cards, its limit is {}",
                self.len(),
                self.limits.max_cards
            )));
        }
        let lease_ms = lease.map_or(0, |l| u64::try_from(l.as_millis()).unwrap_or(u64::MAX));
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(CARDS)?;
            for card in &cards {
                let record = Record { card: card.clone(), lease_ms };
                let json = serde_json::to_string(&record)
                    .map_err(|error| StoreError::Database(error.to_string()))?;
                table.insert(card.id.as_str(), json.as_str())?;
            }
        }
        txn.commit()?;
        let now = Instant::now();
        let ids: Vec<String> = cards.iter().map(|c| c.id.clone()).collect();
        let mut index = self.write_index();
        for card in cards {
            let entry = Arc::new(Entry::new(card, lease, now));
            index.insert(entry.clone());
            // No watcher is not an error.
            let _ = self.events.send(Event::Registered(entry));
        }
        Ok(ids)
    }

    /// Renews the leases of `ids`; returns the ids that are not registered (or expired).
    pub fn heartbeat(&self, ids: &[String]) -> Result<Vec<String>, StoreError> {
        self.check_batch(ids.len(), "ids")?;
        let now = Instant::now();
        let mut unknown = Vec::new();
        let _writing = self.lock_writes();
        let mut index = self.write_index();
        for id in ids {
            match index.get(id) {
                Some(entry) if entry.live(now) => {
                    if entry.lease.is_some() {
                        let renewed = Entry::new(entry.card.clone(), entry.lease, now);
                        index.insert(Arc::new(renewed));
                    }
                }
                _ => unknown.push(id.clone()),
            }
        }
        Ok(unknown)
    }

    /// Removes `ids`; returns how many were registered.
    pub fn deregister(&self, ids: &[String]) -> Result<usize, StoreError> {
        self.check_batch(ids.len(), "ids")?;
        let _writing = self.lock_writes();
        let removed = self.delete(ids)?;
        for id in &removed {
            let _ = self.events.send(Event::Removed(id.clone()));
        }
        Ok(removed.len())
    }

    /// Removes the cards whose lease ran out; returns their ids.
    pub fn expire(&self) -> Result<Vec<String>, StoreError> {
        let now = Instant::now();
        let _writing = self.lock_writes();
        let expired = self.read().expired(now);
        if expired.is_empty() {
            return Ok(expired);
        }
        let removed = self.delete(&expired)?;
        for id in &removed {
            let _ = self.events.send(Event::Expired(id.clone()));
        }
        Ok(removed)
    }

    /// Deletes `ids` from the database and the index; the caller holds the write lock.
    fn delete(&self, ids: &[String]) -> Result<Vec<String>, StoreError> {
        let txn = self.db.begin_write()?;
        let mut removed = Vec::new();
        {
            let mut table = txn.open_table(CARDS)?;
            for id in ids {
                if table.remove(id.as_str())?.is_some() {
                    removed.push(id.clone());
                }
            }
        }
        txn.commit()?;
        let mut index = self.write_index();
        for id in &removed {
            index.remove(id);
        }
        Ok(removed)
    }

    /// The live cards satisfying `predicate`, by id, at most `limit` (0: the store's limit);
    /// with `explain`, the funnel over every live card.
    pub fn query(
        &self,
        predicate: Option<&Predicate>,
        explain: bool,
        limit: usize,
    ) -> Result<Matched, StoreError> {
        let limit =
            if limit == 0 { self.limits.max_results } else { limit.min(self.limits.max_results) };
        let now = Instant::now();
        let index = self.read();
        // The columns meet a card that makes the predicate fail in row order; the error is the
        // one card-by-card evaluation in id order meets first, so that it does not depend on
        // the order cards were registered in.
        let invalid = |_| {
            let live = index.entries().filter(|e| e.live(now)).map(|e| &e.card);
            match aigrid_discovery::funnel(predicate, live) {
                Err(error) => StoreError::Invalid(error.reason),
                Ok(_) => StoreError::Invalid("the predicate cannot be evaluated".into()),
            }
        };
        let (matching, stages, offered) = if explain {
            index.funnel(predicate, now).map_err(invalid)?
        } else {
            // Without the funnel, cards whose lease ran out but are not reaped yet (for at
            // most the reaper's period) are counted as offered: counting exactly costs a scan.
            (index.select(predicate, now).map_err(invalid)?, Vec::new(), index.len())
        };
        let total = matching.len();
        let cards = matching.into_iter().take(limit).collect();
        Ok(Matched { cards, total, offered, stages })
    }

    /// Every live card satisfying `predicate`, by id, with no limit: where a watch starts.
    pub fn snapshot(&self, predicate: Option<&Predicate>) -> Result<Vec<Arc<Entry>>, StoreError> {
        let index = self.read();
        index.select(predicate, Instant::now()).map_err(|e| StoreError::Invalid(e.reason))
    }

    /// Changes from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// How many watches are open.
    pub fn watchers(&self) -> usize {
        self.events.receiver_count()
    }

    fn check_batch(&self, len: usize, what: &str) -> Result<(), StoreError> {
        if len > self.limits.max_batch {
            return Err(StoreError::Invalid(format!(
                "{len} {what} in one request; the limit is {}",
                self.limits.max_batch
            )));
        }
        Ok(())
    }
}
