//! GPU-aware task placement. Ballista places a task on any worker with a free slot; aigrid's
//! coordinator replaces that with [`GpuAware`], Ballista's own packing ("bias": each stage onto
//! the worker with the most free slots) with one rule added: a stage with a node marked `@gpu`
//! in it ([`needs_gpu`]) goes only to workers that have a GPU, and other stages go to workers
//! without one first, keeping GPU workers' slots for the stages that need them.
//!
//! A worker says it has GPUs in its executor id, which ends in `-gpuN` ([`executor_id`]): the
//! one thing Ballista's scheduler keeps of a worker that it hands to a placement policy.

use std::collections::HashMap;
use std::sync::Arc;

use aigrid_executor::needs_gpu;
use ballista_core::JobId;
use ballista_core::config::BallistaConfig;
use ballista_core::execution_plans::{RangeShuffleReaderExec, ShuffleReaderExec};
use ballista_core::serde::protobuf::{AvailableVcores, job_status};
use ballista_core::serde::scheduler::TaskKey;
use ballista_scheduler::cluster::{BoundTask, DistributionPolicy};
use ballista_scheduler::state::execution_graph::{TaskDescription, create_task_info};
use ballista_scheduler::state::execution_stage::RunningStage;
use ballista_scheduler::state::task_manager::JobInfoCache;
use datafusion::physical_plan::ExecutionPlan;

/// The executor id of a worker with `gpus` GPUs: `base` (Ballista's own, a UUID), with
/// `-gpuN` after it when it has any.
pub fn executor_id(base: &str, gpus: usize) -> String {
    match gpus {
        0 => base.to_string(),
        n => format!("{base}-gpu{n}"),
    }
}

/// How many GPUs the worker with executor id `id` has.
pub fn gpus_of(id: &str) -> usize {
    id.rsplit_once("-gpu").and_then(|(_, n)| n.parse().ok()).unwrap_or(0)
}

/// Ballista's bias placement with GPU stages kept to GPU workers (see the module's docs).
#[derive(Debug, Default)]
pub struct GpuAware;

#[async_trait::async_trait]
impl DistributionPolicy for GpuAware {
    async fn bind_tasks(
        &self,
        mut budgets: Vec<&mut AvailableVcores>,
        running_jobs: Arc<HashMap<JobId, JobInfoCache>>,
    ) -> datafusion::error::Result<Vec<BoundTask>> {
        let mut bound = Vec::new();
        // Workers without GPUs first, each group with the most free slots first.
        budgets.sort_by_key(|b| (gpus_of(&b.executor_id) > 0, std::cmp::Reverse(b.vcores)));
        for (job_id, job) in running_jobs.iter() {
            if !matches!(job.status, Some(job_status::Status::Running(_))) {
                continue;
            }
            let mut graph = job.execution_graph.write().await;
            let session_id = graph.session_id().to_string();
            let mut passed = Vec::new();
            while let Some(stage) = graph.fetch_running_stage(&passed) {
                let gpu = needs_gpu(&stage.plan);
                let fits = budgets.iter_mut().filter(|b| !gpu || gpus_of(&b.executor_id) > 0);
                // Ballista packs a stage onto one worker until its slots run out.
                for budget in fits {
                    while budget.vcores > 0 {
                        match bind_one(stage, &session_id, job_id, budget) {
                            Some(task) => bound.push(task),
                            None => break,
                        }
                    }
                    if stage.pending.is_empty() {
                        break;
                    }
                }
                // A stage left with partitions to place waits for the next round.
                passed.push(stage.stage_id);
            }
        }
        Ok(bound)
    }

    fn name(&self) -> &str {
        "aigrid-gpu-aware"
    }
}

/// Binds the next partitions of `stage` to the worker of `budget`, as Ballista's own `bind_one`
/// (ballista-scheduler 55, `cluster/mod.rs`, Apache-2.0), which is not public: a slice of
/// partitions as large as the worker's free slots (at most `max_partitions_per_task`), all of
/// them when the stage collapses its input into one partition; `None` when none are left.
fn bind_one(
    stage: &mut RunningStage,
    session_id: &str,
    job_id: &JobId,
    budget: &mut AvailableVcores,
) -> Option<BoundTask> {
    let collapses = collapses_input(&stage.plan);
    let cap = stage
        .session_config
        .options()
        .extensions
        .get::<BallistaConfig>()
        .map(BallistaConfig::max_partitions_per_task)
        .filter(|&n| n > 0)
        .unwrap_or(usize::MAX);
    let most = if collapses { usize::MAX } else { (budget.vcores as usize).min(cap) };
    let partitions = stage.pending.next_slice(most);
    if partitions.is_empty() {
        return None;
    }
    // One slot for a collapsing stage: its one output partition keeps one thread busy.
    let vcores = if collapses { 1 } else { u32::try_from(partitions.len()).unwrap_or(u32::MAX) };
    let vcores = vcores.min(budget.vcores);
    let executor_id = budget.executor_id.clone();
    let task_id = stage.task_infos.len();
    let attempt = partitions
        .iter()
        .filter_map(|p| stage.task_failure_numbers.get(*p))
        .max()
        .copied()
        .unwrap_or(0);
    let mut info = create_task_info(executor_id.clone(), task_id);
    info.global_input_partition_ids = partitions.clone();
    info.vcores_consumed = vcores;
    stage.task_infos.push(info);
    let task = TaskDescription {
        session_id: session_id.to_string(),
        key: TaskKey { job_id: job_id.clone(), stage_id: stage.stage_id, task_id },
        stage_attempt_num: stage.stage_attempt_num,
        task_attempt: attempt,
        global_input_partition_ids: partitions,
        vcores_consumed: vcores,
        plan: stage.plan.clone(),
        session_config: stage.session_config.clone(),
    };
    budget.vcores -= vcores;
    Some((executor_id, task))
}

/// Whether the stage `root` narrows its input to one partition on the way up (Ballista's
/// `stage_has_input_collapse`): such a stage's partitions must all go into one task.
fn collapses_input(root: &Arc<dyn ExecutionPlan>) -> bool {
    fn walk(node: &Arc<dyn ExecutionPlan>) -> bool {
        if node.downcast_ref::<ShuffleReaderExec>().is_some()
            || node.downcast_ref::<RangeShuffleReaderExec>().is_some()
        {
            return false;
        }
        if node.properties().output_partitioning().partition_count() == 1 {
            return true;
        }
        match node.children().as_slice() {
            [child] => walk(child),
            _ => false,
        }
    }
    match root.children().as_slice() {
        [child] => walk(child),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_executor_id_carries_its_gpus() {
        let base = "6f1c0b6e-2a4e-4c8e-9d2b-0a1b2c3d4e5f";
        assert_eq!(executor_id(base, 0), base);
        assert_eq!(gpus_of(base), 0);
        assert_eq!(gpus_of(&executor_id(base, 2)), 2);
        assert_eq!(gpus_of("worker-gpux"), 0);
    }
}
