//! The journal's records in an embedded database (redb, one file under the coordinator's data
//! directory): a record per run (prost-encoded) and the run's plan. Every change is one durable
//! transaction, so a coordinator killed at any moment loses no finished stage. When the
//! coordinator starts, runs that were running become interrupted. Heartbeats of drivers live
//! in memory only: a running run whose driver is not heard from for [`DRIVER_SILENCE`] is shown
//! as interrupted and can be resumed.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use prost::Message as _;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use super::proto::{RunRecord, RunState, Stage, StartRunRequest};

/// Run id -> its record.
const RUNS: TableDefinition<u64, &[u8]> = TableDefinition::new("runs");
/// Run id -> its plan (JSON).
const PLANS: TableDefinition<u64, &str> = TableDefinition::new("plans");

/// The database's file under the data directory.
pub const JOURNAL_FILE: &str = "journal.redb";

/// How long a running run's driver may go unheard before the run counts as interrupted.
pub const DRIVER_SILENCE: Duration = Duration::from_secs(20);

/// Why the journal refused a request.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// No run has this id.
    #[error("the coordinator has no run {0}")]
    NoRun(u64),
    /// The request does not fit the run's state.
    #[error("{0}")]
    Refused(String),
    /// The database failed.
    #[error("the journal's database: {0}")]
    Database(String),
}

macro_rules! database_errors {
    ($($error:ty),*) => {$(
        impl From<$error> for JournalError {
            fn from(error: $error) -> Self {
                JournalError::Database(error.to_string())
            }
        }
    )*};
}
database_errors!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    prost::DecodeError
);

/// The run journal.
pub struct Store {
    db: redb::Database,
    /// When each running run's driver was last heard from (milliseconds since the epoch).
    heard: Mutex<HashMap<u64, i64>>,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Store {
    /// Opens (or creates) the journal in `dir`; runs left running become interrupted.
    pub fn open(dir: &Path) -> Result<Store, JournalError> {
        std::fs::create_dir_all(dir).map_err(|error| {
            JournalError::Database(format!("cannot create `{}`: {error}", dir.display()))
        })?;
        let db = redb::Database::create(dir.join(JOURNAL_FILE))?;
        let store = Store { db, heard: Mutex::new(HashMap::new()) };
        let txn = store.db.begin_write()?;
        {
            txn.open_table(PLANS)?;
            let mut runs = txn.open_table(RUNS)?;
            let mut interrupted = Vec::new();
            for row in runs.iter()? {
                let (id, bytes) = row?;
                let mut record = RunRecord::decode(bytes.value())?;
                if record.state() == RunState::Running {
                    record.set_state(RunState::Interrupted);
                    record.error = "the coordinator stopped while it ran".into();
                    interrupted.push((id.value(), record));
                }
            }
            for (id, record) in interrupted {
                runs.insert(id, record.encode_to_vec().as_slice())?;
            }
        }
        txn.commit()?;
        Ok(store)
    }

    /// Records a new run and gives it the next id.
    pub fn start(&self, request: StartRunRequest) -> Result<RunRecord, JournalError> {
        let now = now_ms();
        let txn = self.db.begin_write()?;
        let record = {
            let mut runs = txn.open_table(RUNS)?;
            let id = runs.last()?.map_or(1, |(id, _)| id.value() + 1);
            let mut record = RunRecord {
                id,
                source: request.source,
                driver: request.driver,
                work_dir: request.work_dir,
                params: request.params,
                nodes: request.nodes,
                output: request.output,
                attempts: 1,
                started_ms: now,
                heard_ms: now,
                ..RunRecord::default()
            };
            record.set_state(RunState::Running);
            runs.insert(id, record.encode_to_vec().as_slice())?;
            txn.open_table(PLANS)?.insert(id, request.plan.as_str())?;
            record
        };
        txn.commit()?;
        self.hear(record.id);
        Ok(record)
    }

    /// Starts another attempt of run `id`: its record and plan.
    pub fn resume(&self, id: u64) -> Result<(RunRecord, String), JournalError> {
        let record = self.update(id, |record| {
            match record.state() {
                RunState::Succeeded => {
                    return Err(JournalError::Refused(format!("run {id} has already succeeded")));
                }
                RunState::Running => {
                    return Err(JournalError::Refused(format!(
                        "run {id} is running (its driver {} was heard from less than {} s ago)",
                        record.driver,
                        DRIVER_SILENCE.as_secs()
                    )));
                }
                _ => {}
            }
            record.set_state(RunState::Running);
            record.attempts += 1;
            record.error.clear();
            record.ended_ms = 0;
            record.heard_ms = now_ms();
            Ok(())
        })?;
        self.hear(id);
        let txn = self.db.begin_read()?;
        let plan = txn.open_table(PLANS)?.get(id)?.map(|plan| plan.value().to_string());
        let plan = plan.ok_or_else(|| JournalError::Database(format!("run {id} has no plan")))?;
        Ok((record, plan))
    }

    /// Records a finished stage of run `id`.
    pub fn stage_finished(&self, id: u64, mut stage: Stage) -> Result<(), JournalError> {
        self.update(id, |record| {
            if record.state() != RunState::Running {
                return Err(JournalError::Refused(format!("run {id} is not running")));
            }
            stage.attempt = record.attempts;
            stage.finished_ms = now_ms();
            record.heard_ms = stage.finished_ms;
            record.stages.retain(|kept| kept.node != stage.node);
            record.stages.push(stage);
            Ok(())
        })?;
        self.hear(id);
        Ok(())
    }

    /// Notes that the driver of run `id` is alive.
    pub fn heartbeat(&self, id: u64) -> Result<(), JournalError> {
        match self.get(id)?.state() {
            RunState::Running => {
                self.hear(id);
                Ok(())
            }
            _ => Err(JournalError::Refused(format!("run {id} is not running"))),
        }
    }

    /// Records how run `id` ended.
    pub fn end(&self, id: u64, succeeded: bool, error: String) -> Result<RunRecord, JournalError> {
        let record = self.update(id, |record| {
            record.set_state(if succeeded { RunState::Succeeded } else { RunState::Failed });
            record.error = error;
            record.ended_ms = now_ms();
            record.heard_ms = record.ended_ms;
            Ok(())
        })?;
        if let Ok(mut heard) = self.heard.lock() {
            heard.remove(&id);
        }
        Ok(record)
    }

    /// Run `id`, as it stands now.
    pub fn get(&self, id: u64) -> Result<RunRecord, JournalError> {
        let txn = self.db.begin_read()?;
        let runs = txn.open_table(RUNS)?;
        let bytes = runs.get(id)?.ok_or(JournalError::NoRun(id))?;
        Ok(self.as_now(RunRecord::decode(bytes.value())?))
    }

    /// The latest `limit` runs, newest first.
    pub fn list(&self, limit: usize) -> Result<Vec<RunRecord>, JournalError> {
        let txn = self.db.begin_read()?;
        let runs = txn.open_table(RUNS)?;
        let mut list = Vec::new();
        for row in runs.iter()?.rev().take(limit) {
            let (_, bytes) = row?;
            list.push(self.as_now(RunRecord::decode(bytes.value())?));
        }
        Ok(list)
    }

    /// How many runs are running, succeeded, failed and interrupted, in that order.
    pub fn count_by_state(&self) -> Result<[usize; 4], JournalError> {
        let txn = self.db.begin_read()?;
        let runs = txn.open_table(RUNS)?;
        let mut counts = [0; 4];
        for row in runs.iter()? {
            let (_, bytes) = row?;
            let index = match self.as_now(RunRecord::decode(bytes.value())?).state() {
                RunState::Running => 0,
                RunState::Succeeded => 1,
                RunState::Failed => 2,
                RunState::Interrupted => 3,
                RunState::Unspecified => continue,
            };
            counts[index] += 1;
        }
        Ok(counts)
    }

    /// Changes run `id`'s record with `change` in one transaction; the record after.
    fn update(
        &self,
        id: u64,
        change: impl FnOnce(&mut RunRecord) -> Result<(), JournalError>,
    ) -> Result<RunRecord, JournalError> {
        let txn = self.db.begin_write()?;
        let record = {
            let mut runs = txn.open_table(RUNS)?;
            let bytes = runs.get(id)?.ok_or(JournalError::NoRun(id))?.value().to_vec();
            let mut record = self.as_now(RunRecord::decode(bytes.as_slice())?);
            change(&mut record)?;
            runs.insert(id, record.encode_to_vec().as_slice())?;
            record
        };
        txn.commit()?;
        Ok(record)
    }

    fn hear(&self, id: u64) {
        if let Ok(mut heard) = self.heard.lock() {
            heard.insert(id, now_ms());
        }
    }

    /// `record` with its driver's last heartbeat, and interrupted if that is too long ago.
    fn as_now(&self, mut record: RunRecord) -> RunRecord {
        if record.state() != RunState::Running {
            return record;
        }
        let heard = self.heard.lock().ok().and_then(|heard| heard.get(&record.id).copied());
        record.heard_ms = record.heard_ms.max(heard.unwrap_or(0));
        let silence = now_ms().saturating_sub(record.heard_ms);
        if silence > DRIVER_SILENCE.as_millis() as i64 {
            record.set_state(RunState::Interrupted);
            record.error = format!(
                "its driver {} has not been heard from for {} s",
                record.driver,
                silence / 1000
            );
        }
        record
    }
}

#[cfg(test)]
mod tests {
    use super::{JournalError, RunState, Stage, StartRunRequest, Store};

    fn stage(node: u32) -> Stage {
        Stage { node, what: "sql".into(), file: format!("stage-{node}.arrow"), ..Stage::default() }
    }

    #[test]
    fn a_run_survives_a_restart_as_interrupted_and_resumes_with_its_stages() {
        let dir = std::env::temp_dir().join(format!("aigrid-journal-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (first, second) = {
            let store = Store::open(&dir).unwrap_or_else(|e| panic!("{e}"));
            let request = StartRunRequest { plan: "{}".into(), nodes: 3, ..Default::default() };
            let first = store.start(request.clone()).unwrap_or_else(|e| panic!("{e}"));
            let second = store.start(request).unwrap_or_else(|e| panic!("{e}"));
            for node in [1, 2, 1] {
                store.stage_finished(first.id, stage(node)).unwrap_or_else(|e| panic!("{e}"));
            }
            store.end(second.id, true, String::new()).unwrap_or_else(|e| panic!("{e}"));
            (first.id, second.id)
        };
        assert_eq!((first, second), (1, 2));
        let store = Store::open(&dir).unwrap_or_else(|e| panic!("{e}"));
        let run = store.get(first).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(run.state(), RunState::Interrupted);
        // A stage finished twice is recorded once, as it finished last.
        assert_eq!(run.stages.iter().map(|s| s.node).collect::<Vec<_>>(), [2, 1]);
        let listed: Vec<u64> =
            store.list(10).unwrap_or_else(|e| panic!("{e}")).iter().map(|r| r.id).collect();
        assert_eq!(listed, [2, 1]);
        let (resumed, plan) = store.resume(first).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (resumed.state(), resumed.attempts, plan.as_str()),
            (RunState::Running, 2, "{}")
        );
        // A running run and a succeeded one cannot be resumed; an unknown one is named.
        assert!(matches!(store.resume(first), Err(JournalError::Refused(_))));
        assert!(matches!(store.resume(second), Err(JournalError::Refused(_))));
        assert!(matches!(store.resume(9), Err(JournalError::NoRun(9))));
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
