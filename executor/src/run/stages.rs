//! Stages run concurrently: a node that ends a stage starts its stage on a task of its own and
//! the driver goes on planning the nodes after it. A node that reads the stage's value waits for
//! it first; the run waits for every stage before it ends. So independent stages (two writes,
//! two fan-out values) overlap, and a slow AI in one does not hold up the others.
//!
//! A stage's failure is reported at the node that ended it, when its value is first needed or
//! at the end of the run; stages still running when the run fails or is cancelled are aborted.

use std::sync::Arc;
use std::time::Instant;

use aigrid_compiler::{PlanNode, ValueType};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::{ExecutionPlan, collect_partitioned};
use datafusion_proto::bytes::{
    physical_plan_from_bytes_with_extension_codec, physical_plan_to_bytes_with_extension_codec,
};

use super::journaled::keep;
use super::{Driver, Slot, at, describe};
use crate::RunError;
use crate::cache::Key;
use crate::codec::AigridCodec;
use crate::journal::KeptStage;
use crate::observe::Observer;
use crate::placement::GpuExec;
use crate::remote::{RemoteStages, add_calls};
use crate::value::Value;

/// A stage computing on its own task; aborted when dropped.
pub(super) struct Running {
    ty: ValueType,
    /// Its index in the driver's reports.
    report: usize,
    /// Its cache key, when its value goes into the cache.
    key: Option<Key>,
    started: Instant,
    task: tokio::task::JoinHandle<Result<Finished, RunError>>,
}

/// What a stage's task gives: its value's schema and batches, and with a journal the record
/// of where the value is kept.
type Finished = (SchemaRef, Vec<RecordBatch>, Option<KeptStage>);

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Runs stages' plans where the run's options say: in this process, through the codec first
/// (what a cluster worker would run), or on a cluster.
pub(super) struct Collector {
    context: Arc<TaskContext>,
    codec: Option<AigridCodec>,
    remote: Option<Arc<dyn RemoteStages>>,
    observer: Option<Arc<dyn Observer>>,
}

impl Collector {
    /// Runs `plan` to the end; its batches in partition order.
    pub(super) async fn collect(
        self,
        plan: Arc<dyn ExecutionPlan>,
    ) -> Result<(SchemaRef, Vec<RecordBatch>), RunError> {
        let schema = plan.schema();
        if let Some(remote) = self.remote {
            let output = remote.collect(plan.clone()).await?;
            add_calls(&plan, &output.calls);
            return Ok((schema, output.batches));
        }
        let plan = match self.codec {
            Some(codec) => {
                let bytes = physical_plan_to_bytes_with_extension_codec(plan, &codec)?;
                physical_plan_from_bytes_with_extension_codec(&bytes, &self.context, &codec)?
            }
            None => plan,
        };
        if let Some(observer) = &self.observer {
            observer.stage_started(&plan);
        }
        let partitions = collect_partitioned(plan, self.context).await?;
        Ok((schema, partitions.into_iter().flatten().collect()))
    }
}

impl Driver<'_> {
    /// How this run's stages are run.
    pub(super) fn collector(&self) -> Collector {
        Collector {
            context: self.state.task_ctx(),
            codec: self.options.through_codec.then(|| AigridCodec::new(self.library.clone())),
            remote: self.options.remote.clone(),
            observer: self.options.observer.clone(),
        }
    }

    /// `slot` of `node`, marked to run on a worker with a GPU when the node asks for one
    /// (`@gpu`, `@resources(gpu = N)`) and the run is on a cluster ([`GpuExec`]). A value the
    /// driver computes itself (a constant, a whole-tensor kernel) runs where the driver runs.
    pub(super) async fn placed(&self, node: &PlanNode, slot: Slot) -> Result<Slot, RunError> {
        let gpu = node.attrs.gpu || node.attrs.resources.get("gpu").is_some_and(|n| *n > 0);
        match slot {
            Slot::Pending(ty, plan) if gpu && self.options.remote.is_some() => {
                let plan = self.state.create_physical_plan(&plan).await?;
                self.pending(ty, Arc::new(GpuExec::new(plan)))
            }
            slot => Ok(slot),
        }
    }

    /// Starts the stage `plan` that `node` ends, whose value is of type `ty`; `key` is its
    /// cache key. With a journal, the task writes the value to the work directory and records
    /// it as soon as it has it.
    pub(super) fn start_stage(
        &self,
        node: &PlanNode,
        ty: ValueType,
        plan: Arc<dyn ExecutionPlan>,
        key: Option<Key>,
    ) -> Running {
        let collect = self.collector().collect(plan);
        let journal = self.options.journal.clone().zip(self.keeps(node));
        let (id, what) = (node.id, describe(node));
        let stores = self.stores();
        let run = async move {
            let (schema, batches) = collect.await?;
            let Some((journal, (file, wrote))) = journal else {
                return Ok((schema, batches, None));
            };
            let kept = keep(id, file, stores.as_ref(), (&schema, &batches), wrote)?;
            if let Some(stage) = &kept {
                journal.finished(stage, &what).await?;
            }
            Ok((schema, batches, kept))
        };
        Running {
            ty,
            report: self.reports.len(),
            key,
            started: Instant::now(),
            task: tokio::spawn(run),
        }
    }

    /// Waits for the stage of node `id`, if it is running, and keeps its value.
    pub(super) async fn finish(&mut self, id: u32) -> Result<(), RunError> {
        if !matches!(self.values.get(&id), Some(Slot::Running(_))) {
            return Ok(());
        }
        let Some(Slot::Running(mut running)) = self.values.remove(&id) else { return Ok(()) };
        let node = self
            .plan
            .nodes
            .get(id as usize)
            .ok_or_else(|| RunError::Internal(format!("no node {id}")))?;
        let result = match (&mut running.task).await {
            Ok(result) => result,
            Err(error) => Err(RunError::Internal(format!("the stage's task: {error}"))),
        };
        let (schema, batches, kept) = result.map_err(|error| at(node, error))?;
        if let Some(stage) = kept {
            self.kept.insert(id, stage);
        }
        let value = Value::new(running.ty.clone(), schema, batches);
        if let Some(report) = self.reports.get_mut(running.report) {
            report.rows = Some(value.rows());
            report.batches = Some((value.batches.len(), value.bytes()));
            report.time += running.started.elapsed();
            if let Some(observer) = &self.options.observer {
                observer.node_finished(report);
            }
        }
        if let Some(key) = running.key
            && self.calls.iter().all(|c| c.all_answered())
        {
            self.store(node, key, &value, &describe(node));
        }
        self.values.insert(id, Slot::Ready(value));
        self.spill_past_budget().await
    }

    /// Waits for every stage still running, in the order of their nodes.
    pub(super) async fn finish_all(&mut self) -> Result<(), RunError> {
        let mut running: Vec<u32> = self
            .values
            .iter()
            .filter(|(_, slot)| matches!(slot, Slot::Running(_)))
            .map(|(id, _)| *id)
            .collect();
        running.sort_unstable();
        for id in running {
            self.finish(id).await?;
        }
        Ok(())
    }
}
