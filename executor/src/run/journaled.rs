//! The driver's side of a [`Journal`]: each finished stage's value goes to an Arrow IPC file in
//! the work directory and into the journal; a run that goes on from an earlier attempt takes
//! the intact kept values and skips every node that only fed them.

use std::collections::{HashMap, HashSet};

use aigrid_compiler::{PlanNode, PlanOp};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::MetadataVersion;
use datafusion::arrow::ipc::writer::{FileWriter, IpcWriteOptions};
use datafusion::execution::object_store::ObjectStoreRegistry;
use xxhash_rust::xxh3::Xxh3;

use super::cached::{is_read, is_write};
use super::spill::Spill;
use super::{Driver, NodeReport, Slot, describe};
use crate::RunError;
use crate::cache::file_hash;
use crate::journal::KeptStage;
use crate::store::{Location, Object, ObjectSink, wait};

/// Writes a stage's value to `file` and says what to record of it: `None` when a write's
/// destination cannot be hashed (an object, or a file gone; the stage is then not kept: it
/// runs again on resume).
pub(super) fn keep(
    node: u32,
    file: Location,
    stores: &dyn ObjectStoreRegistry,
    (schema, batches): (&SchemaRef, &[RecordBatch]),
    wrote: Option<Location>,
) -> Result<Option<KeptStage>, RunError> {
    let wrote = match wrote {
        Some(Location::Path(path)) => match file_hash(&path) {
            Ok(hash) => Some((path, hash)),
            Err(_) => return Ok(None),
        },
        Some(Location::Url(_)) => return Ok(None),
        None => None,
    };
    let hash = write_ipc(&file, stores, schema, batches)?;
    let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
    Ok(Some(KeptStage { node, hash, file, rows, wrote }))
}

/// Writes `batches` to the Arrow IPC file at `location` (an object through `stores`); the
/// XXH3-128 of what it wrote (as [`file_hash`] would give it, without reading it again).
pub(super) fn write_ipc(
    location: &Location,
    stores: &dyn ObjectStoreRegistry,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<u128, RunError> {
    let io = |e: std::io::Error| RunError::Io(format!("{location}: {e}"));
    let encode = |sink: &mut dyn std::io::Write| -> Result<u128, RunError> {
        let hashed =
            Hashed { inner: std::io::BufWriter::with_capacity(1 << 20, sink), hasher: Xxh3::new() };
        // Aligned to 8 bytes, not arrow-rs's default 64: DataFusion infers the schema of an
        // Arrow file in an object store assuming the 8-byte preamble ("ARROW1" and 2 bytes).
        let options = IpcWriteOptions::try_new(8, false, MetadataVersion::V5)?;
        let mut writer = FileWriter::try_new_with_options(hashed, schema, options)?;
        for batch in batches {
            writer.write(batch)?;
        }
        writer.finish()?;
        let mut hashed = writer.into_inner()?;
        std::io::Write::flush(&mut hashed.inner).map_err(io)?;
        Ok(hashed.hasher.digest128())
    };
    match location {
        Location::Path(path) => encode(&mut std::fs::File::create(path).map_err(io)?),
        // Uploaded as it is encoded; the object appears when the upload completes.
        Location::Url(url) => tokio::task::block_in_place(|| {
            let mut sink = ObjectSink::create(url, Some(stores))?;
            let hash = encode(&mut sink)?;
            sink.finish()?;
            Ok(hash)
        }),
    }
}

/// The content hash of the file at `location` (an object through `stores`).
fn location_hash(location: &Location, stores: &dyn ObjectStoreRegistry) -> Result<u128, RunError> {
    match location {
        Location::Path(path) => file_hash(path),
        Location::Url(url) => {
            let bytes = wait(Object::at(url, stores)?.read())?;
            Ok(xxhash_rust::xxh3::xxh3_128(&bytes))
        }
    }
}

/// A writer that hashes what goes through it.
struct Hashed<W> {
    inner: W,
    hasher: Xxh3,
}

impl<W: std::io::Write> std::io::Write for Hashed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Whether the journal keeps the value of `node` when it ends a stage: computed values, not
/// reads (as cheap to read again), constants, parameters or pass-throughs.
pub(super) fn journals(node: &PlanNode) -> bool {
    matches!(
        node.op,
        PlanOp::Std { .. } | PlanOp::Ai { .. } | PlanOp::Sql { .. } | PlanOp::Fused { .. }
    ) && !is_read(node)
}

/// Whether `stage`'s files are as the journal recorded them.
fn intact(stage: &KeptStage, stores: &dyn ObjectStoreRegistry) -> bool {
    location_hash(&stage.file, stores).is_ok_and(|now| now == stage.hash)
        && stage
            .wrote
            .as_ref()
            .is_none_or(|(path, hash)| file_hash(path).is_ok_and(|now| now == *hash))
}

impl Driver<'_> {
    /// Takes the intact stages an earlier attempt kept, and marks the nodes that need not run:
    /// the kept ones, and those that only feed nodes that need not run.
    pub(super) fn plan_resume(&mut self) {
        let Some(journal) = &self.options.journal else { return };
        let count = self.plan.nodes.len();
        let stores = self.stores();
        self.kept = journal
            .kept()
            .into_iter()
            .filter(|stage| (stage.node as usize) < count && intact(stage, stores.as_ref()))
            .map(|stage| (stage.node, stage))
            .collect();
        if self.kept.is_empty() {
            return;
        }
        let mut readers: HashMap<u32, Vec<u32>> = HashMap::new();
        for node in &self.plan.nodes {
            for input in node.args.iter().filter_map(|a| a.input) {
                readers.entry(input).or_default().push(node.id);
            }
        }
        // Readers come after the nodes they read: one pass from the end decides every node.
        let mut runs = HashSet::new();
        for node in self.plan.nodes.iter().rev() {
            let read_by = readers.get(&node.id).map_or(&[][..], Vec::as_slice);
            let wanted = read_by.is_empty()
                || Some(node.id) == self.plan.output
                || read_by.iter().any(|r| runs.contains(r));
            if wanted && !self.kept.contains_key(&node.id) {
                runs.insert(node.id);
            } else {
                self.skipped.insert(node.id);
            }
        }
    }

    /// A node that need not run: its kept value becomes its slot.
    pub(super) async fn skip(&mut self, node: &PlanNode) -> Result<(), RunError> {
        let kept = self.kept.get(&node.id).cloned();
        self.reports.push(NodeReport {
            id: node.id,
            what: describe(node),
            rows: kept.as_ref().map(|k| k.rows as usize),
            time: std::time::Duration::ZERO,
            batches: None,
            calls: None,
            streamed_rows: None,
            cached: false,
            kept: true,
        });
        if let (Some(observer), Some(report)) = (&self.options.observer, self.reports.last()) {
            observer.node_finished(report);
        }
        let (Some(stage), Some(ty)) = (kept, self.types.get(node.ty.as_str())) else {
            return Ok(());
        };
        let spill = Spill::open(&self.context, ty.clone(), stage.file, stage.rows as usize).await?;
        self.values.insert(node.id, Slot::Spilled(spill));
        Ok(())
    }

    /// Where the journal keeps the value of `node`, if it does, and the file a write wrote.
    pub(super) fn keeps(&self, node: &PlanNode) -> Option<(Location, Option<Location>)> {
        self.options.journal.as_ref()?;
        if !journals(node) {
            return None;
        }
        let dir = self.work_dir.as_ref()?.location();
        let file = dir.join(&format!("stage-{}.arrow", node.id));
        let wrote = match is_write(node) {
            true => {
                Some(Location::parse(&self.string_arg(node, "dst").ok()?).ok()?.absolute().ok()?)
            }
            false => None,
        };
        Some((file, wrote))
    }

    /// Keeps the value of `node`, computed by the driver, in the journal.
    pub(super) async fn keep_ready(
        &mut self,
        node: &PlanNode,
        schema: &SchemaRef,
        batches: &[RecordBatch],
    ) -> Result<(), RunError> {
        let (Some((file, wrote)), Some(journal)) = (self.keeps(node), self.options.journal.clone())
        else {
            return Ok(());
        };
        let stores = self.stores();
        if let Some(stage) = keep(node.id, file, stores.as_ref(), (schema, batches), wrote)? {
            journal.finished(&stage, &describe(node)).await?;
            self.kept.insert(node.id, stage);
        }
        Ok(())
    }
}
