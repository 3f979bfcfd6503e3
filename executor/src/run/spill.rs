//! Spilling: when the stage outputs kept in memory for later readers exceed the run's memory
//! budget, the largest are written to Arrow IPC files under the run's work directory. Readers
//! that stream a spilled value scan its file; readers that need it whole load it. A file is
//! removed when its value's last reader has run, and the work directory when the run ends.

use std::path::{Path, PathBuf};

use aigrid_compiler::ValueType;
use datafusion::arrow::ipc::reader::FileReader;
use datafusion::execution::options::ArrowReadOptions;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;

use super::journaled::write_ipc;
use super::{Driver, Slot};
use crate::RunError;
use crate::responses::Responses;
use crate::value::Value;

/// Values smaller than this stay in memory: writing them saves nothing.
const SMALLEST_SPILLED: usize = 64 << 10;

/// A stage output in an Arrow IPC file; the file is removed when this is dropped, unless the
/// run's journal keeps it.
pub(super) struct Spill {
    /// What the value is.
    pub ty: ValueType,
    /// A scan of the file.
    pub plan: LogicalPlan,
    /// Its rows.
    pub rows: usize,
    path: PathBuf,
    /// Whether the file goes with this (else it is the journal's).
    owned: bool,
}

impl Spill {
    /// The value of type `ty` and `rows` rows in the kept file `path`, which stays.
    pub async fn open(
        context: &SessionContext,
        ty: ValueType,
        path: PathBuf,
        rows: usize,
    ) -> Result<Spill, RunError> {
        let source = path.to_string_lossy().into_owned();
        let options = ArrowReadOptions { file_extension: ".arrow", ..Default::default() };
        let plan = context.read_arrow(&source, options).await?.into_unoptimized_plan();
        Ok(Spill { ty, plan, rows, path, owned: false })
    }

    /// The value, read back whole.
    pub fn load(&self) -> Result<Value, RunError> {
        let io = |e: std::io::Error| RunError::Io(format!("{}: {e}", self.path.display()));
        let file = std::fs::File::open(&self.path).map_err(io)?;
        let reader = FileReader::try_new(std::io::BufReader::new(file), None)?;
        let schema = reader.schema();
        let batches = reader.collect::<Result<Vec<_>, _>>()?;
        Ok(Value::new(self.ty.clone(), schema, batches))
    }
}

impl Drop for Spill {
    fn drop(&mut self) {
        if self.owned {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The run's work directory, removed with everything in it when the run ends; with a journal
/// only when the run succeeds (the kept stages are in it).
pub(super) struct WorkDir {
    path: PathBuf,
    /// Whether it stays when dropped.
    pub keep: bool,
}

impl WorkDir {
    /// A new directory for this run under `parent`.
    fn create(parent: &Path) -> Result<WorkDir, RunError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        WorkDir::at(parent.join(format!("aigrid-run-{}-{nanos}", std::process::id())), false)
    }

    /// The directory `path`, made if it is not there.
    fn at(path: PathBuf, keep: bool) -> Result<WorkDir, RunError> {
        std::fs::create_dir_all(&path)
            .map_err(|e| RunError::Io(format!("work directory {}: {e}", path.display())))?;
        Ok(WorkDir { path, keep })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

impl Driver<'_> {
    /// Writes kept values to files, largest first, while those in memory exceed the budget.
    /// When the stages run on a cluster every value but the smallest goes to a file, which the
    /// workers read from the work directory they share with this process: the plans sent to
    /// the cluster carry no bulk data.
    pub(super) async fn spill_past_budget(&mut self) -> Result<(), RunError> {
        let budget = match (&self.options.remote, self.options.memory_budget) {
            (Some(_), _) => 0,
            (None, Some(budget)) => budget,
            (None, None) => return Ok(()),
        };
        loop {
            let sizes: Vec<(u32, usize)> = self
                .values
                .iter()
                .filter_map(|(id, slot)| match slot {
                    Slot::Ready(value) => Some((*id, value.bytes())),
                    _ => None,
                })
                .collect();
            if sizes.iter().map(|(_, bytes)| bytes).sum::<usize>() <= budget {
                return Ok(());
            }
            let largest = sizes.iter().filter(|(_, bytes)| *bytes >= SMALLEST_SPILLED);
            let Some(&(id, bytes)) = largest.max_by_key(|(_, bytes)| *bytes) else {
                return Ok(());
            };
            let Some(Slot::Ready(value)) = self.values.remove(&id) else { return Ok(()) };
            let spill = self.spill(id, value).await?;
            self.spilled_bytes += bytes as u64;
            self.values.insert(id, Slot::Spilled(spill));
        }
    }

    /// The run's work directory, made on first use.
    pub(super) fn work_dir(&mut self) -> Result<PathBuf, RunError> {
        if self.work_dir.is_none() {
            self.work_dir = Some(match &self.options.journal {
                Some(journal) => WorkDir::at(journal.work_dir().to_path_buf(), true)?,
                None => {
                    let parent = self.options.work_dir.clone().unwrap_or_else(std::env::temp_dir);
                    WorkDir::create(&parent)?
                }
            });
        }
        Ok(self.work_dir.as_ref().map(|w| w.path.clone()).unwrap_or_default())
    }

    /// Where the answers of `ai` node `id` are kept: on a cluster, in the work directory (a
    /// task run again finds them); in-process, nowhere (no task runs twice).
    pub(super) fn responses(&self, id: u32) -> Option<Responses> {
        self.options.remote.as_ref()?;
        let dir = self.work_dir.as_ref()?.path.join("responses");
        Some(Responses::new(dir, id))
    }

    /// Writes the value of node `id` to a file of the work directory (or takes the file the
    /// journal keeps it in).
    async fn spill(&mut self, id: u32, value: Value) -> Result<Spill, RunError> {
        if let Some(stage) = self.kept.get(&id) {
            let path = stage.file.clone();
            let rows = value.rows();
            return Spill::open(&self.context, value.ty, path, rows).await;
        }
        let path = self.work_dir()?.join(format!("node-{id}.arrow"));
        write_ipc(&path, &value.schema, &value.batches)?;
        let rows = value.rows();
        let mut spill = Spill::open(&self.context, value.ty, path, rows).await?;
        spill.owned = true;
        Ok(spill)
    }
}
