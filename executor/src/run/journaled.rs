//! The driver's side of a [`Journal`]: each finished stage's value goes to an Arrow IPC file in
//! the work directory and into the journal; a run that goes on from an earlier attempt takes
//! the intact kept values and skips every node that only fed them.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use aigrid_compiler::{PlanNode, PlanOp};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::writer::FileWriter;
use xxhash_rust::xxh3::Xxh3;

use super::cached::{absolute, is_read, is_write};
use super::spill::Spill;
use super::{Driver, NodeReport, Slot, describe};
use crate::RunError;
use crate::cache::file_hash;
use crate::journal::KeptStage;

/// Writes a stage's value to `file` and says what to record of it: `None` when a write's
/// destination cannot be hashed (the stage is then not kept: it runs again on resume).
pub(super) fn keep(
    node: u32,
    file: PathBuf,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    wrote: Option<PathBuf>,
) -> Result<Option<KeptStage>, RunError> {
    let hash = write_ipc(&file, schema, batches)?;
    let wrote = match wrote {
        Some(path) => match file_hash(&path) {
            Ok(hash) => Some((path, hash)),
            Err(_) => return Ok(None),
        },
        None => None,
    };
    let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
    Ok(Some(KeptStage { node, hash, file, rows, wrote }))
}

/// Writes `batches` to the Arrow IPC file `path`; the XXH3-128 of what it wrote (as
/// [`file_hash`] would give it, without reading the file again).
pub(super) fn write_ipc(
    path: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<u128, RunError> {
    let io = |e: std::io::Error| RunError::Io(format!("{}: {e}", path.display()));
    let file = std::fs::File::create(path).map_err(io)?;
    let hashed = Hashed { inner: std::io::BufWriter::new(file), hasher: Xxh3::new() };
    let mut writer = FileWriter::try_new(hashed, schema)?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.finish()?;
    let mut hashed = writer.into_inner()?;
    std::io::Write::flush(&mut hashed.inner).map_err(io)?;
    Ok(hashed.hasher.digest128())
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
fn intact(stage: &KeptStage) -> bool {
    let same = |path: &Path, hash: u128| file_hash(path).is_ok_and(|now| now == hash);
    same(&stage.file, stage.hash)
        && stage.wrote.as_ref().is_none_or(|(path, hash)| same(path, *hash))
}

impl Driver<'_> {
    /// Takes the intact stages an earlier attempt kept, and marks the nodes that need not run:
    /// the kept ones, and those that only feed nodes that need not run.
    pub(super) fn plan_resume(&mut self) {
        let Some(journal) = &self.options.journal else { return };
        let count = self.plan.nodes.len();
        self.kept = journal
            .kept()
            .into_iter()
            .filter(|stage| (stage.node as usize) < count && intact(stage))
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
    pub(super) fn keeps(&self, node: &PlanNode) -> Option<(PathBuf, Option<PathBuf>)> {
        self.options.journal.as_ref()?;
        if !journals(node) {
            return None;
        }
        let dir = self.work_dir.as_ref()?.path();
        let file = dir.join(format!("stage-{}.arrow", node.id));
        let wrote = match is_write(node) {
            true => Some(absolute(&self.string_arg(node, "dst").ok()?)),
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
        if let Some(stage) = keep(node.id, file, schema, batches, wrote)? {
            journal.finished(&stage, &describe(node)).await?;
            self.kept.insert(node.id, stage);
        }
        Ok(())
    }
}
