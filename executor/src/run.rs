//! The driver: runs the nodes of a plan in dependency order as DataFusion plans.
//!
//! A node whose result has exactly one reader is not computed on its own: its frame (a
//! DataFusion logical plan, with aigrid's operators inside as [`PlanTable`] scans) streams into
//! its reader's plan, so a chain of reads, SQL steps, AI calls and writes runs as one pipeline
//! of record batches. The DAG is cut into stages where a result must be whole: at a fan-out (a
//! result with several readers, computed once), at the pipeline's output, at `@cache` nodes,
//! before the operations that take whole values (tensor kernels, constants), and on a cluster
//! after each AI call (so that it is asked once, whatever its reader's tasks run). A stage runs on a
//! task of its own while the driver goes on (`stages.rs`); its output is kept until its last
//! reader has run, in memory or, past the memory budget, in a file (`spill.rs`).

mod args;
mod cached;
mod call;
mod journaled;
mod node;
mod report;
mod spill;
mod stages;
mod std_ops;
mod table;
mod tensor;
mod text;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use aigrid_builtins::Library;
use aigrid_compiler::{Plan, PlanNode, PlanOp, ValueType, value_type};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::{MemTable, provider_as_source};
use datafusion::execution::SessionState;
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder, UNNAMED_TABLE};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::RunError;
use crate::ai_call::AiCall;
use crate::cache::{Cache, Key};
use crate::counted::{CountedExec, RowCount};
use crate::journal::{Journal, KeptStage};
use crate::observe::Observer;
use crate::plan_table::PlanTable;
use crate::query::QueryPlanner;
use crate::remote::RemoteStages;
use crate::value::Value;
use spill::{Spill, WorkDir};
use stages::Running;

pub use report::{CallReport, NodeReport, Run};

/// How to run a plan.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Values of the parameters the plan leaves open, as written on the command line.
    pub params: BTreeMap<String, String>,
    /// Stop the run when the process gets Ctrl-C (SIGINT): in-flight AI calls are dropped and
    /// the run ends with [`RunError::Cancelled`].
    pub cancel_on_ctrl_c: bool,
    /// Encode every stage's physical plan with [`AigridCodec`](crate::AigridCodec), decode it,
    /// and run the decoded copy: what a cluster worker would run.
    pub through_codec: bool,
    /// Hears of nodes and stages as they run (a progress display, a log).
    pub observer: Option<Arc<dyn Observer>>,
    /// Takes the stage outputs of earlier runs from this cache and puts new ones into it.
    pub cache: Option<Cache>,
    /// The most bytes of stage outputs kept in memory for later readers; past it the largest
    /// are written to Arrow IPC files in the work directory. `None`: no limit.
    pub memory_budget: Option<usize>,
    /// Where spilled stage outputs go (a directory per run inside it, removed at the end): a
    /// path, or on a cluster an object-store URL every worker reaches; `None`: the system's
    /// temporary directory.
    pub work_dir: Option<crate::store::Location>,
    /// Runs the stages somewhere else (a cluster) instead of in this process.
    pub remote: Option<Arc<dyn RemoteStages>>,
    /// Records each finished stage, and gives the stages an earlier attempt of the run kept;
    /// the run's work directory is then the journal's, kept until the run succeeds.
    pub journal: Option<Arc<dyn Journal>>,
}

/// Runs `plan`, calling the built-in AIs of `library`.
pub fn run(plan: &Plan, library: &Library, options: &RunOptions) -> Result<Run, RunError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| RunError::Internal(format!("cannot start the runtime: {e}")))?;
    let result = runtime.block_on(async {
        let driver = Driver::new(plan, library, options).run();
        if options.cancel_on_ctrl_c {
            tokio::select! {
                result = driver => result,
                _ = tokio::signal::ctrl_c() => Err(RunError::Cancelled),
            }
        } else {
            driver.await
        }
    });
    // Stages still running elsewhere are stopped, for up to a few seconds.
    if let (Err(_), Some(remote)) = (&result, &options.remote) {
        runtime.block_on(async {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), remote.cancel()).await;
        });
    }
    // Kernels and AI calls still running on blocking threads are not waited for.
    runtime.shutdown_background();
    result
}

/// A node's result while the run goes on.
enum Slot {
    /// Computed: its batches.
    Ready(Value),
    /// Not computed: a logical plan that yields it, streamed into the plan of its one reader.
    Pending(ValueType, LogicalPlan),
    /// Computed and written to a file, past the memory budget.
    Spilled(Spill),
    /// Being computed by its stage, on a task of its own.
    Running(Running),
}

struct Driver<'a> {
    plan: &'a Plan,
    library: &'a Library,
    options: &'a RunOptions,
    /// Makes the plans of reads (file formats, listing tables).
    context: SessionContext,
    /// Plans and runs everything else: one session for the run, never copied per node.
    state: SessionState,
    values: HashMap<u32, Slot>,
    /// How many readers of each node have yet to run.
    readers: HashMap<u32, usize>,
    /// Plans the queries of `sql` steps.
    queries: QueryPlanner,
    /// The run-time type of each type written in the plan, parsed once.
    types: HashMap<&'a str, ValueType>,
    /// The cache key of each node's result, with a cache.
    keys: HashMap<u32, Key>,
    /// The AI calls so far: a result made while one of them gave nulls is not cached.
    calls: Vec<Arc<AiCall>>,
    /// Where spilled values go, made on the first spill.
    work_dir: Option<WorkDir>,
    /// Bytes spilled so far.
    spilled_bytes: u64,
    /// What each node did, in order.
    reports: Vec<NodeReport>,
    /// With a journal: the stages whose values are kept in the work directory, by node.
    kept: HashMap<u32, KeptStage>,
    /// Nodes an earlier attempt of the run made unneeded: kept, or only feeding kept ones.
    skipped: HashSet<u32>,
    /// The counter of the rows of the operator the node being run made, when it streams into
    /// its reader (`pending`).
    streamed: std::sync::Mutex<Option<Arc<RowCount>>>,
}

/// What a node is, for reports and errors.
fn describe(node: &PlanNode) -> String {
    match &node.op {
        PlanOp::Std { name } => name.clone(),
        PlanOp::Ai { name, .. } => format!("ai {name}"),
        PlanOp::Column { name } => format!("column {name}"),
        PlanOp::Param { name } => format!("parameter {name}"),
        PlanOp::Sql { .. } => "sql".into(),
        PlanOp::Const { .. } => "constant".into(),
        PlanOp::List => "list".into(),
        PlanOp::Binary { op } | PlanOp::Unary { op } => format!("operator {op}"),
        PlanOp::Fused { .. } => "fused".into(),
        PlanOp::Check => "check".into(),
        PlanOp::Output => "output".into(),
        PlanOp::Assert { .. } => "assert".into(),
    }
}

/// `error` at `node`, unless it already names the node it happened at.
fn at(node: &PlanNode, error: RunError) -> RunError {
    match error {
        RunError::Node { .. } => error,
        error => RunError::Node {
            file: node.span.file.clone(),
            line: node.span.line,
            column: node.span.column,
            what: describe(node),
            error: Box::new(error),
        },
    }
}

/// The session every plan of a run is made in. Round-robin repartitioning is off so that rows
/// keep their order: partitions are read back in order, and an AI call answers row by row. So
/// is the file scans' work stealing (a partition that goes idle reading a sibling's byte
/// ranges): with it, the first partition of a large CSV sometimes held its second half.
/// For a cluster (`remote`), joins get no dynamic filters: Ballista's scheduler may swap a
/// join's inputs once it knows their sizes, which a join with dynamic filters refuses.
pub(crate) fn session(remote: bool) -> SessionContext {
    let mut config = SessionConfig::new().with_round_robin_repartition(false);
    config.options_mut().execution.enable_file_stream_work_stealing = false;
    if remote {
        let optimizer = &mut config.options_mut().optimizer;
        optimizer.enable_dynamic_filter_pushdown = false;
        optimizer.enable_join_dynamic_filter_pushdown = false;
        optimizer.enable_aggregate_dynamic_filter_pushdown = false;
    }
    // Reads of object-store URLs go through the process's stores.
    let runtime = datafusion::execution::runtime_env::RuntimeEnvBuilder::new()
        .with_object_store_registry(Arc::new(crate::store::Stores::default()))
        .build_arc();
    match runtime {
        Ok(runtime) => SessionContext::new_with_config_rt(config, runtime),
        Err(_) => SessionContext::new_with_config(config),
    }
}

impl<'a> Driver<'a> {
    fn new(plan: &'a Plan, library: &'a Library, options: &'a RunOptions) -> Driver<'a> {
        let mut readers = HashMap::new();
        for node in &plan.nodes {
            for input in node.args.iter().filter_map(|a| a.input) {
                *readers.entry(input).or_insert(0) += 1;
            }
        }
        let mut types = HashMap::new();
        for node in &plan.nodes {
            if !types.contains_key(node.ty.as_str())
                && let Some(ty) = value_type(&node.ty)
            {
                types.insert(node.ty.as_str(), ty);
            }
        }
        let context = session(options.remote.is_some());
        let state = context.state();
        Driver {
            plan,
            library,
            options,
            context,
            state,
            values: HashMap::new(),
            readers,
            queries: QueryPlanner::default(),
            types,
            keys: HashMap::new(),
            calls: Vec::new(),
            work_dir: None,
            spilled_bytes: 0,
            reports: Vec::with_capacity(plan.nodes.len()),
            kept: HashMap::new(),
            skipped: HashSet::new(),
            streamed: std::sync::Mutex::new(None),
        }
    }

    /// Runs the plan; a work directory at a URL is then removed (kept after a failure with a
    /// journal), whatever the outcome. A cancelled run leaves its objects behind.
    async fn run(mut self) -> Result<Run, RunError> {
        let result = self.run_nodes().await;
        // Values spilled to the work directory go first.
        self.values.clear();
        let stores = self.stores();
        if let Some(work_dir) = &mut self.work_dir {
            let closed = work_dir.close(stores.as_ref()).await;
            if result.is_ok() {
                closed?;
            }
        }
        result
    }

    async fn run_nodes(&mut self) -> Result<Run, RunError> {
        let mut calls: Vec<(usize, Arc<AiCall>)> = Vec::new();
        let mut streamed: Vec<(usize, Arc<RowCount>)> = Vec::new();
        let observer = self.options.observer.clone();
        if let Some(observer) = &observer {
            observer.run_started(self.plan.nodes.len());
        }
        if self.options.remote.is_some() || self.options.journal.is_some() {
            // The workers keep AI answers there (responses.rs) from the first stage on, and
            // the journal the stages' values.
            self.work_dir()?;
        }
        self.plan_resume();
        for node in &self.plan.nodes {
            if self.skipped.contains(&node.id) {
                self.skip(node).await.map_err(|error| at(node, error))?;
                self.release_inputs(node);
                continue;
            }
            let started = Instant::now();
            if let Some(observer) = &observer {
                observer.node_started(node.id, &describe(node));
            }
            let (slot, call, cached) = self.step(node).await.map_err(|error| at(node, error))?;
            let counter = self.streamed.lock().ok().and_then(|mut s| s.take());
            if let (Some(counter), Slot::Pending(..)) = (counter, &slot) {
                streamed.push((self.reports.len(), counter));
            }
            if let (Slot::Ready(value), false) = (&slot, cached) {
                self.keep_ready(node, &value.schema, &value.batches)
                    .await
                    .map_err(|error| at(node, error))?;
            }
            if let Some(call) = call {
                calls.push((self.reports.len(), call));
            }
            self.reports.push(NodeReport {
                id: node.id,
                what: describe(node),
                rows: match &slot {
                    Slot::Ready(value) => Some(value.rows()),
                    Slot::Spilled(spill) => Some(spill.rows),
                    Slot::Pending(..) | Slot::Running(_) => None,
                },
                time: started.elapsed(),
                batches: match &slot {
                    Slot::Ready(value) => Some((value.batches.len(), value.bytes())),
                    _ => None,
                },
                calls: None,
                streamed_rows: None,
                cached,
                kept: false,
            });
            // A running stage's node finishes with its stage.
            if let (Some(observer), Some(report), false) =
                (&observer, self.reports.last(), matches!(slot, Slot::Running(_)))
            {
                observer.node_finished(report);
            }
            self.release_inputs(node);
            self.values.insert(node.id, slot);
            self.spill_past_budget().await?;
        }
        self.finish_all().await?;
        // The calls of streamed AI nodes finished with the stage that read them.
        let mut reports = std::mem::take(&mut self.reports);
        for (index, call) in calls {
            reports[index].calls = Some(CallReport::of(&call));
        }
        for (index, rows) in streamed {
            reports[index].streamed_rows = rows.rows();
        }
        let output = match self.plan.output.and_then(|id| self.values.remove(&id)) {
            Some(Slot::Ready(value)) => Some(value),
            Some(Slot::Pending(ty, plan)) => Some(self.materialize(ty, &plan).await?),
            Some(Slot::Spilled(spill)) => Some(spill.load()?),
            Some(Slot::Running(_)) => {
                return Err(RunError::Internal("the output's stage did not finish".into()));
            }
            None => None,
        };
        if let (Some(work_dir), Some(_)) = (&mut self.work_dir, &self.options.journal) {
            // The run succeeded: its kept stages are no longer needed.
            work_dir.keep = false;
        }
        Ok(Run { output, nodes: reports, spilled_bytes: self.spilled_bytes })
    }

    /// One reader of each input of `node` has run: an input without readers left is dropped.
    fn release_inputs(&mut self, node: &PlanNode) {
        for input in node.args.iter().filter_map(|a| a.input) {
            if let Some(left) = self.readers.get_mut(&input) {
                *left -= 1;
                if *left == 0 && Some(input) != self.plan.output {
                    self.values.remove(&input);
                }
            }
        }
    }

    /// Runs `node`: makes whole the inputs it does not stream, plans it, and computes its
    /// result now when it ends a stage (or takes it from the cache: then `true`).
    async fn step(
        &mut self,
        node: &PlanNode,
    ) -> Result<(Slot, Option<Arc<AiCall>>, bool), RunError> {
        for id in node.args.iter().filter_map(|a| a.input) {
            self.finish(id).await?;
        }
        let readers = self.readers.get(&node.id).copied().unwrap_or(0);
        // On a cluster an AI call's result is a stage of its own: streamed into a reader,
        // every task that runs the reader's subtree (a join's build side) would ask again.
        let asks_once = self.options.remote.is_some() && matches!(node.op, PlanOp::Ai { .. });
        let streams_on =
            readers == 1 && !node.attrs.cache && Some(node.id) != self.plan.output && !asks_once;
        let key = self.key(node);
        if let Some(key) = key {
            self.keys.insert(node.id, key);
        }
        let cached = key.filter(|_| !streams_on && self.caches(node));
        if let Some(key) = cached
            && let Some(ty) = self.types.get(node.ty.as_str())
            && let Some(slot) = self.cached_slot(key, ty)
        {
            return Ok((slot, None, true));
        }
        let streamed = self.streamed_args(node);
        for arg in node.args.iter().filter(|a| !streamed.contains(&a.name.as_str())) {
            let Some(id) = arg.input else { continue };
            if matches!(self.values.get(&id), Some(Slot::Pending(..)))
                && let Some(Slot::Pending(ty, plan)) = self.values.remove(&id)
            {
                let value = self.materialize(ty, &plan).await?;
                self.values.insert(id, Slot::Ready(value));
            }
        }
        let (slot, call) = self.node(node).await?;
        let slot = self.placed(node, slot).await?;
        if let Some(call) = &call {
            self.calls.push(call.clone());
        }
        // A stage ends here: it runs on while the next nodes are planned.
        let slot = match slot {
            Slot::Pending(ty, plan) if !streams_on => {
                let plan = self.state.create_physical_plan(&plan).await?;
                let running = self.start_stage(node, ty, plan, cached);
                return Ok((Slot::Running(running), call, false));
            }
            slot => slot,
        };
        if let (Some(key), Slot::Ready(value)) = (cached, &slot)
            && self.calls.iter().all(|c| c.all_answered())
        {
            self.store(node, key, value, &describe(node));
        }
        Ok((slot, call, false))
    }

    /// Computes the rows of `plan` now.
    async fn materialize(&self, ty: ValueType, plan: &LogicalPlan) -> Result<Value, RunError> {
        let plan = self.state.create_physical_plan(plan).await?;
        let (schema, batches) = self.collect(plan).await?;
        Ok(Value::new(ty, schema, batches))
    }

    /// A physical plan that yields `value`'s batches.
    fn source(value: &Value) -> Result<Arc<dyn ExecutionPlan>, RunError> {
        Ok(MemorySourceConfig::try_new_exec(
            std::slice::from_ref(&value.batches),
            value.schema.clone(),
            None,
        )?)
    }

    /// A logical plan over `value`'s batches.
    fn plan_of(&self, value: &Value) -> Result<LogicalPlan, RunError> {
        let table = MemTable::try_new(value.schema.clone(), vec![value.batches.clone()])?;
        Ok(LogicalPlanBuilder::scan(UNNAMED_TABLE, provider_as_source(Arc::new(table)), None)?
            .build()?)
    }

    /// A slot for the rows of `plan`, not computed yet.
    fn pending(&self, ty: ValueType, plan: Arc<dyn ExecutionPlan>) -> Result<Slot, RunError> {
        // In process, the rows it gives its reader are counted for the report.
        let plan: Arc<dyn ExecutionPlan> =
            if self.options.remote.is_none() && !self.options.through_codec {
                let count = Arc::new(RowCount::default());
                if let Ok(mut streamed) = self.streamed.lock() {
                    *streamed = Some(count.clone());
                }
                Arc::new(CountedExec::new(plan, count))
            } else {
                plan
            };
        let table = provider_as_source(Arc::new(PlanTable::new(plan)));
        Ok(Slot::Pending(ty, LogicalPlanBuilder::scan(UNNAMED_TABLE, table, None)?.build()?))
    }

    /// Runs `plan` to the end; its batches in partition order.
    async fn collect(
        &self,
        plan: Arc<dyn ExecutionPlan>,
    ) -> Result<(SchemaRef, Vec<RecordBatch>), RunError> {
        self.collector().collect(plan).await
    }
}
