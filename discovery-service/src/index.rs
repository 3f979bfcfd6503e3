//! The registered cards in memory, arranged for queries: each card is a row, and each field
//! and attribute a column of values over the rows. A query runs its top-level `&&` clauses one
//! at a time over a shrinking set of rows; a clause `name OP literal` reads one column, without
//! touching the cards (a scan of 100,000 cards reads a few contiguous arrays instead of chasing
//! 100,000 maps), and any other clause is evaluated row by row through the same columns.
//! Semantics stay in `aigrid_discovery`: the index only decides the order of the work.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use aigrid_discovery::{
    AttrRef, AttrValue, Attributes, Card, Clause, Predicate, PredicateError, Stage,
};

use crate::store::Entry;

/// One value of a column.
#[derive(Clone, Debug, Default)]
enum Cell {
    #[default]
    Missing,
    Bool(bool),
    Num(f64),
    Str(Arc<str>),
}

impl Cell {
    fn get(&self) -> Option<AttrRef<'_>> {
        match self {
            Cell::Missing => None,
            Cell::Bool(b) => Some(AttrRef::Bool(*b)),
            Cell::Num(x) => Some(AttrRef::Num(*x)),
            Cell::Str(s) => Some(AttrRef::Str(s)),
        }
    }
}

/// The card fields predicates read, as columns.
const FIELDS: [&str; 5] = ["id", "name", "version", "owner", "task"];

/// Whether a row holds a card, and until when.
#[derive(Clone, Copy, Debug)]
enum Lifetime {
    Free,
    Forever,
    Until(Instant),
}

#[derive(Default)]
pub(crate) struct Index {
    /// The card of each row; `None` for a free row.
    rows: Vec<Option<Arc<Entry>>>,
    /// The lifetime of each row's card, beside the rows so that a scan reads no card.
    lifetimes: Vec<Lifetime>,
    free: Vec<u32>,
    /// Card id -> row, in id order.
    row_of: BTreeMap<String, u32>,
    by_task: HashMap<String, BTreeSet<u32>>,
    columns: HashMap<String, Vec<Cell>>,
    /// The leased cards by deadline, soonest first: the reaper looks at the front only.
    deadlines: BTreeSet<(Instant, String)>,
}

/// The matching cards, the funnel, and how many live cards were looked at.
pub(crate) type Funnel = (Vec<Arc<Entry>>, Vec<Stage>, usize);

/// A row, as predicates see it.
struct Row<'a> {
    index: &'a Index,
    row: usize,
}

impl Attributes for Row<'_> {
    fn attr(&self, name: &str) -> Option<AttrRef<'_>> {
        self.index.columns.get(name).and_then(|column| column.get(self.row)).and_then(Cell::get)
    }
}

impl Index {
    /// How many cards are indexed (live or not yet reaped).
    pub(crate) fn len(&self) -> usize {
        self.row_of.len()
    }

    /// How many of `names` have no column yet.
    pub(crate) fn new_columns<'n>(&self, names: impl Iterator<Item = &'n str>) -> usize {
        let mut new: Vec<&str> = names.filter(|name| !self.columns.contains_key(*name)).collect();
        new.sort_unstable();
        new.dedup();
        new.len()
    }

    /// How many columns there are.
    pub(crate) fn columns(&self) -> usize {
        self.columns.len()
    }

    /// The card with `id`.
    pub(crate) fn get(&self, id: &str) -> Option<&Arc<Entry>> {
        let row = *self.row_of.get(id)?;
        self.rows.get(row as usize).and_then(Option::as_ref)
    }

    /// The cards, in id order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = &Arc<Entry>> {
        self.row_of.values().filter_map(|row| self.rows.get(*row as usize).and_then(Option::as_ref))
    }

    /// Adds a card, replacing the one with its id.
    pub(crate) fn insert(&mut self, entry: Arc<Entry>) {
        self.remove(&entry.card.id);
        let row = match self.free.pop() {
            Some(row) => row,
            None => {
                self.rows.push(None);
                self.lifetimes.push(Lifetime::Free);
                for column in self.columns.values_mut() {
                    column.push(Cell::Missing);
                }
                (self.rows.len() - 1) as u32
            }
        };
        let card = &entry.card;
        let fields = [&card.id, &card.name, &card.version, &card.owner, &card.task];
        let cells = FIELDS
            .iter()
            .zip(fields)
            .map(|(name, value)| (*name, Cell::Str(value.as_str().into())));
        let attributes = card.attributes.iter().map(|(name, value)| {
            let cell = match value {
                AttrValue::Bool(b) => Cell::Bool(*b),
                AttrValue::Int(n) => Cell::Num(*n as f64),
                AttrValue::Float(x) => Cell::Num(*x),
                AttrValue::Str(s) => Cell::Str(s.as_str().into()),
            };
            (name.as_str(), cell)
        });
        let rows = self.rows.len();
        for (name, cell) in cells.chain(attributes) {
            let column =
                self.columns.entry(name.to_owned()).or_insert_with(|| vec![Cell::Missing; rows]);
            column[row as usize] = cell;
        }
        self.by_task.entry(card.task.clone()).or_default().insert(row);
        if let Some(deadline) = entry.deadline {
            self.deadlines.insert((deadline, card.id.clone()));
        }
        self.row_of.insert(card.id.clone(), row);
        self.lifetimes[row as usize] = entry.deadline.map_or(Lifetime::Forever, Lifetime::Until);
        self.rows[row as usize] = Some(entry);
    }

    /// Removes the card with `id`.
    pub(crate) fn remove(&mut self, id: &str) -> Option<Arc<Entry>> {
        let row = self.row_of.remove(id)?;
        let entry = self.rows.get_mut(row as usize)?.take()?;
        let card = &entry.card;
        for name in FIELDS.iter().copied().chain(card.attributes.keys().map(String::as_str)) {
            if let Some(cell) = self.columns.get_mut(name).and_then(|c| c.get_mut(row as usize)) {
                *cell = Cell::Missing;
            }
        }
        if let Some(rows) = self.by_task.get_mut(&card.task) {
            rows.remove(&row);
            if rows.is_empty() {
                self.by_task.remove(&card.task);
            }
        }
        if let Some(deadline) = entry.deadline {
            self.deadlines.remove(&(deadline, id.to_owned()));
        }
        self.lifetimes[row as usize] = Lifetime::Free;
        self.free.push(row);
        Some(entry)
    }

    /// The ids whose deadline has passed.
    pub(crate) fn expired(&self, now: Instant) -> Vec<String> {
        self.deadlines
            .iter()
            .take_while(|(deadline, _)| *deadline <= now)
            .map(|(_, id)| id.clone())
            .collect()
    }

    /// The rows of `rows` that satisfy `clause`, and those that do not.
    fn filter(
        &self,
        clause: &Clause<'_>,
        rows: Vec<u32>,
    ) -> Result<(Vec<u32>, Vec<u32>), PredicateError> {
        let mut kept = Vec::with_capacity(rows.len());
        let mut dropped = Vec::new();
        match clause {
            Clause::Compare(comparison) => {
                let column = self.columns.get(comparison.name);
                for row in rows {
                    let value = column.and_then(|c| c.get(row as usize)).and_then(Cell::get);
                    if comparison.test(value)? { kept.push(row) } else { dropped.push(row) }
                }
            }
            Clause::Other(_) => {
                for row in rows {
                    if clause.matches(&Row { index: self, row: row as usize })? {
                        kept.push(row);
                    } else {
                        dropped.push(row);
                    }
                }
            }
        }
        Ok((kept, dropped))
    }

    /// The live cards satisfying `predicate` in id order, and the funnel over every live card:
    /// what each top-level clause dropped, and what those cards had instead.
    pub(crate) fn funnel(
        &self,
        predicate: Option<&Predicate>,
        now: Instant,
    ) -> Result<Funnel, PredicateError> {
        let mut rows: Vec<u32> =
            (0..self.rows.len() as u32).filter(|row| self.live(*row, now)).collect();
        let offered = rows.len();
        let mut stages = Vec::new();
        if let Some(predicate) = predicate {
            for clause in predicate.clauses() {
                let before = rows.len();
                let (kept, dropped) = self.filter(&clause, rows)?;
                let cards: Vec<&Card> = dropped
                    .iter()
                    .filter_map(|row| self.rows[*row as usize].as_ref())
                    .map(|e| &e.card)
                    .collect();
                stages.push(Stage {
                    clause: predicate.clause_text(&clause),
                    before,
                    dropped: dropped.len(),
                    why: clause.why(&cards),
                });
                rows = kept;
            }
        }
        Ok((self.entries_of(&rows), stages, offered))
    }

    fn live(&self, row: u32, now: Instant) -> bool {
        match self.lifetimes[row as usize] {
            Lifetime::Free => false,
            Lifetime::Forever => true,
            Lifetime::Until(deadline) => deadline > now,
        }
    }

    /// The cards of `rows`, in id order.
    fn entries_of(&self, rows: &[u32]) -> Vec<Arc<Entry>> {
        let mut entries: Vec<Arc<Entry>> =
            rows.iter().filter_map(|row| self.rows[*row as usize].clone()).collect();
        entries.sort_by(|a, b| a.card.id.cmp(&b.card.id));
        entries
    }

    /// The live cards satisfying `predicate`, in id order.
    pub(crate) fn select(
        &self,
        predicate: Option<&Predicate>,
        now: Instant,
    ) -> Result<Vec<Arc<Entry>>, PredicateError> {
        let live = |row: &u32| self.live(*row, now);
        // A required task narrows the search to that task's rows.
        let mut rows: Vec<u32> = match predicate.and_then(Predicate::required_task) {
            Some(task) => match self.by_task.get(task) {
                Some(rows) => rows.iter().copied().filter(live).collect(),
                None => Vec::new(),
            },
            None => (0..self.rows.len() as u32).filter(live).collect(),
        };
        for clause in predicate.map(Predicate::clauses).unwrap_or_default() {
            rows = self.filter(&clause, rows)?.0;
        }
        Ok(self.entries_of(&rows))
    }
}
