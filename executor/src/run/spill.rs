//! Spilling: when the stage outputs kept in memory for later readers exceed the run's memory
//! budget, the largest are written to Arrow IPC files under the run's work directory. Readers
//! that stream a spilled value scan its file; readers that need it whole load it. A file is
//! removed when its value's last reader has run, and the work directory when the run ends.
//! The work directory may be an object-store URL (a prefix every worker of a cluster reaches);
//! its files are then objects.

use std::sync::Arc;

use aigrid_compiler::ValueType;
use datafusion::arrow::ipc::reader::FileReader;
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::execution::options::ArrowReadOptions;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;

use super::journaled::write_ipc;
use super::{Driver, Slot};
use crate::RunError;
use crate::responses::Responses;
use crate::store::{Location, Object, wait};
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
    location: Location,
    stores: Arc<dyn ObjectStoreRegistry>,
    /// Whether the file goes with this (else it is the journal's).
    owned: bool,
}

impl Spill {
    /// The value of type `ty` and `rows` rows in the kept file at `location`, which stays.
    pub async fn open(
        context: &SessionContext,
        ty: ValueType,
        location: Location,
        rows: usize,
    ) -> Result<Spill, RunError> {
        let options = ArrowReadOptions { file_extension: ".arrow", ..Default::default() };
        let plan = context.read_arrow(location.to_string(), options).await?.into_unoptimized_plan();
        let stores = context.runtime_env().object_store_registry.clone();
        Ok(Spill { ty, plan, rows, location, stores, owned: false })
    }

    /// The value, read back whole.
    pub fn load(&self) -> Result<Value, RunError> {
        let (schema, batches) = match &self.location {
            Location::Path(path) => {
                let io = |e: std::io::Error| RunError::Io(format!("{}: {e}", path.display()));
                let file = std::fs::File::open(path).map_err(io)?;
                read_ipc(FileReader::try_new(std::io::BufReader::new(file), None)?)?
            }
            Location::Url(url) => {
                let object = Object::at(url, self.stores.as_ref())?;
                let bytes = wait(object.read())?;
                read_ipc(FileReader::try_new(std::io::Cursor::new(bytes), None)?)?
            }
        };
        Ok(Value::new(self.ty.clone(), schema, batches))
    }
}

impl Drop for Spill {
    fn drop(&mut self) {
        if self.owned {
            remove(&self.location, self.stores.as_ref());
        }
    }
}

/// The schema and batches of an Arrow IPC file.
fn read_ipc<R: std::io::Read + std::io::Seek>(
    reader: FileReader<R>,
) -> Result<
    (datafusion::arrow::datatypes::SchemaRef, Vec<datafusion::arrow::array::RecordBatch>),
    RunError,
> {
    let schema = reader.schema();
    Ok((schema, reader.collect::<Result<Vec<_>, _>>()?))
}

/// Removes the file at `location`, without waiting for an object's removal (what is left is
/// removed with the work directory).
fn remove(location: &Location, stores: &dyn ObjectStoreRegistry) {
    match location {
        Location::Path(path) => drop(std::fs::remove_file(path)),
        Location::Url(url) => {
            if let (Ok(object), Ok(runtime)) =
                (Object::at(url, stores), tokio::runtime::Handle::try_current())
            {
                drop(runtime.spawn(async move { object.remove().await }));
            }
        }
    }
}

/// The run's work directory, removed with everything in it when the run ends; with a journal
/// only when the run succeeds (the kept stages are in it). A local one is removed when this is
/// dropped; one at a URL by [`WorkDir::close`], which the run awaits.
pub(super) struct WorkDir {
    location: Location,
    /// Whether it stays when the run ends.
    pub keep: bool,
}

impl WorkDir {
    /// A new directory for this run under `parent`.
    fn create(parent: &Location) -> Result<WorkDir, RunError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        WorkDir::at(parent.join(&format!("aigrid-run-{}-{nanos}", std::process::id())), false)
    }

    /// The directory at `location`, made if it is not there (an object-store prefix needs no
    /// making).
    fn at(location: Location, keep: bool) -> Result<WorkDir, RunError> {
        if let Location::Path(path) = &location {
            std::fs::create_dir_all(path)
                .map_err(|e| RunError::Io(format!("work directory {}: {e}", path.display())))?;
        }
        Ok(WorkDir { location, keep })
    }

    /// Where it is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Removes a work directory at a URL with every object under it, unless it is kept.
    pub async fn close(&mut self, stores: &dyn ObjectStoreRegistry) -> Result<(), RunError> {
        if let (Location::Url(url), false) = (&self.location, self.keep) {
            self.keep = true;
            let mut prefix = url.clone();
            prefix.set_path(&format!("{}/", url.path().trim_end_matches('/')));
            Object::at(&prefix, stores)?.remove_all().await?;
        }
        Ok(())
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if let (Location::Path(path), false) = (&self.location, self.keep) {
            let _ = std::fs::remove_dir_all(path);
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
    pub(super) fn work_dir(&mut self) -> Result<Location, RunError> {
        let work_dir = match self.work_dir.take() {
            Some(work_dir) => work_dir,
            None => match &self.options.journal {
                Some(journal) => WorkDir::at(journal.work_dir().clone(), true)?,
                None => {
                    let temporary = || Location::Path(std::env::temp_dir());
                    WorkDir::create(self.options.work_dir.as_ref().unwrap_or(&temporary()))?
                }
            },
        };
        let location = work_dir.location.clone();
        self.work_dir = Some(work_dir);
        Ok(location)
    }

    /// Where the answers of `ai` node `id` are kept: on a cluster, in the work directory (a
    /// task run again finds them); in-process, nowhere (no task runs twice).
    pub(super) fn responses(&self, id: u32) -> Option<Responses> {
        self.options.remote.as_ref()?;
        let dir = self.work_dir.as_ref()?.location.join("responses");
        Some(Responses::new(dir, id))
    }

    /// The run's object stores.
    pub(super) fn stores(&self) -> Arc<dyn ObjectStoreRegistry> {
        self.context.runtime_env().object_store_registry.clone()
    }

    /// Writes the value of node `id` to a file of the work directory (or takes the file the
    /// journal keeps it in).
    async fn spill(&mut self, id: u32, value: Value) -> Result<Spill, RunError> {
        if let Some(stage) = self.kept.get(&id) {
            let file = stage.file.clone();
            let rows = value.rows();
            return Spill::open(&self.context, value.ty, file, rows).await;
        }
        let file = self.work_dir()?.join(&format!("node-{id}.arrow"));
        write_ipc(&file, self.stores().as_ref(), &value.schema, &value.batches)?;
        let rows = value.rows();
        let mut spill = Spill::open(&self.context, value.ty, file, rows).await?;
        spill.owned = true;
        Ok(spill)
    }
}
