//! `AiCallExec`: calls of a grid AI as a DataFusion extension node.
//!
//! A built-in AI (`builtin:NAME`) is called in-process. An external one (`grpc://host:port`,
//! `grpc+tls://host:port`) is called over Arrow Flight `DoExchange`: the descriptor's command
//! is JSON, `{"ai": CARD_ID, "args": {NAME: CONSTANT, ...}}` with the constant arguments; the
//! request's batches are the streamed argument (a table's columns, or one column named after
//! the parameter); the answer's batches hold one row per request row (spec/builtins.md).
//!
//! Contract: as many partitions as its input, which is the call's streamed argument. Each input
//! batch is cut into pieces of at most the card's `batch_size` rows, and each piece is answered
//! by the first binding (primary, then fallbacks in rank order) that succeeds within its
//! attempts (`@retry(n)` gives n more, after a backoff of 100 ms doubling to 3.2 s); a binding
//! that failed a piece is tried after the others for later pieces. The output has one row per
//! input row, in order.
//! Streaming: one piece in flight per partition, run on a blocking thread. Errors: when every
//! binding has failed, the stream ends with an error naming each binding and its error, unless
//! the node has `@on_error(null)`: then the piece's rows are null, and the result's last
//! column, `_error`, says why (it is null in the rows that were answered). The whole arguments (fitted
//! examples, constants) are prepared once per binding. Cancellation: dropping the stream stops
//! after the piece in flight. Memory: one input batch and its answer.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use aigrid_builtins::{Args, Builtin, Prepared, Value as AiValue};
use datafusion::arrow::array::{RecordBatch, StringArray, new_null_array};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{Count, Metric, MetricValue, MetricsSet};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};
use futures::{StreamExt as _, TryStreamExt as _};

use crate::RunError;
use crate::cache::Key;
use crate::kernel::conform;
use crate::one_input::one_input;
use crate::remote::metric;
use crate::responses::Responses;

/// How long to wait before attempt `attempt` (1, 2, ...) of a request: 100 ms, doubling up to
/// 3.2 s.
fn backoff(attempt: u32) -> std::time::Duration {
    std::time::Duration::from_millis(100 << attempt.saturating_sub(1).min(5))
}

/// One grid AI bound to the call.
pub struct Binding {
    /// Its card's id.
    pub card: String,
    /// Its card's endpoint: `builtin:NAME`, `grpc://host:port`.
    pub endpoint: String,
    callee: Callee,
    /// Whether it failed a piece after all its attempts: later pieces try it after the others.
    failed: AtomicBool,
    /// Requests it answered.
    pub answered: AtomicU64,
}

/// Who answers a binding's calls.
enum Callee {
    /// A built-in AI, prepared once.
    Builtin(Arc<dyn Builtin>, OnceLock<Result<Arc<dyn Prepared>, String>>),
    /// An Arrow Flight service, connected once.
    Flight(String, tokio::sync::OnceCell<tonic::transport::Channel>),
    /// A built-in AI this process does not offer: every call fails, saying why.
    Unavailable(String),
}

impl Binding {
    /// The binding of card `card` to a built-in AI.
    pub fn builtin(card: String, builtin: Arc<dyn Builtin>) -> Binding {
        let endpoint = builtin.card().endpoint.clone();
        let callee = Callee::Builtin(builtin, OnceLock::new());
        let (failed, answered) = (AtomicBool::new(false), AtomicU64::new(0));
        Binding { card, endpoint, callee, failed, answered }
    }

    /// The binding of card `card` to a built-in AI at `endpoint` that this process does not
    /// offer (a worker without the model): its calls fail with `why`, and the call fails over
    /// to the next binding. A process that only plans (a cluster's coordinator) needs no model.
    pub fn unavailable(card: String, endpoint: String, why: String) -> Binding {
        let (failed, answered) = (AtomicBool::new(false), AtomicU64::new(0));
        Binding { card, endpoint, callee: Callee::Unavailable(why), failed, answered }
    }

    /// The binding of card `card` to the Flight service at `endpoint` (`grpc://host:port`).
    pub fn flight(card: String, endpoint: String) -> Binding {
        let callee = Callee::Flight(endpoint.clone(), tokio::sync::OnceCell::new());
        let (failed, answered) = (AtomicBool::new(false), AtomicU64::new(0));
        Binding { card, endpoint, callee, failed, answered }
    }
}

impl fmt::Debug for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Binding").field("card", &self.card).finish_non_exhaustive()
    }
}

/// What an AI call needs besides its input.
#[derive(Debug)]
pub struct AiCall {
    /// The `ai` requirement's name.
    pub name: String,
    /// The bindings, primary first.
    pub bindings: Vec<Binding>,
    /// The whole arguments.
    pub whole: Args,
    /// Whether the streamed argument is a table (else a column).
    pub streams_table: bool,
    /// More attempts per binding.
    pub retry: u32,
    /// Give nulls when every binding fails.
    pub on_error_null: bool,
    /// The most rows per request.
    pub batch_size: usize,
    /// The result's schema.
    pub schema: SchemaRef,
    /// The streamed parameter's name.
    pub streamed: String,
    /// The constant arguments, sent to Flight services in the descriptor.
    pub constants: serde_json::Map<String, serde_json::Value>,
    /// How long one request may take.
    pub timeout: Option<std::time::Duration>,
    /// Requests answered, over all bindings.
    pub calls: AtomicU64,
    /// Rows that became null after every binding failed.
    pub null_rows: AtomicU64,
    /// Attempts that failed (each then retried, or passed to the next binding).
    pub failed_attempts: AtomicU64,
    /// Where answers are kept for a task that runs again (on a cluster), and looked up first.
    pub responses: Option<Responses>,
    /// Requests answered from `responses` instead of an AI.
    pub reused: AtomicU64,
    /// Whether some of its requests were made elsewhere (on a cluster) and their counts did
    /// not come back: its null rows are then not known.
    pub uncounted: AtomicBool,
}

/// The column that says why a row is null under `@on_error(null)`.
pub const ERROR_COLUMN: &str = "_error";

impl AiCall {
    /// Whether every row it was given was answered, as far as is known: no row made null by
    /// `@on_error(null)`, and no counts missing. Only then may its results be cached.
    pub fn all_answered(&self) -> bool {
        self.null_rows.load(Ordering::Relaxed) == 0 && !self.uncounted.load(Ordering::Relaxed)
    }
    /// The columns the AI answers: the result's, but `_error`, which the call adds.
    fn answered(&self) -> SchemaRef {
        match self.schema.fields().split_last() {
            Some((last, rest)) if self.on_error_null && last.name() == ERROR_COLUMN => {
                Arc::new(datafusion::arrow::datatypes::Schema::new(rest.to_vec()))
            }
            _ => self.schema.clone(),
        }
    }

    /// `batch` of the answered columns with the `_error` column after them, if the result has
    /// one: `error` in every row, or null.
    fn with_error(&self, batch: RecordBatch, error: Option<&str>) -> Result<RecordBatch, RunError> {
        if self.schema.fields().len() == batch.num_columns() {
            return Ok(batch);
        }
        let rows = batch.num_rows();
        let mut columns = batch.columns().to_vec();
        columns.push(Arc::new(StringArray::from(vec![error; rows])));
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }

    /// Answers one piece of input: with the answer kept for it, if there is one; otherwise
    /// by calling the bindings, keeping the answer. What happened is counted in the call's
    /// totals and in `tally`.
    fn answer(&self, rows: &RecordBatch, tally: &Tally) -> Result<RecordBatch, RunError> {
        let Some(responses) = &self.responses else { return self.ask(rows, None, tally) };
        let key = responses.key(rows);
        if let Some(kept) = key.and_then(|key| responses.get(key, &self.answered())) {
            self.reused.fetch_add(1, Ordering::Relaxed);
            tally.reused.fetch_add(1, Ordering::Relaxed);
            return self.with_error(kept, None);
        }
        self.ask(rows, key.map(|key| (responses, key)), tally)
    }

    /// Asks the bindings for the answer of one piece of input, and keeps it under `keep`.
    fn ask(
        &self,
        rows: &RecordBatch,
        keep: Option<(&Responses, Key)>,
        tally: &Tally,
    ) -> Result<RecordBatch, RunError> {
        let input = if self.streams_table {
            AiValue::Table(rows.clone())
        } else {
            AiValue::Column(rows.schema().fields()[0].clone(), rows.column(0).clone())
        };
        let mut tried = Vec::new();
        // In rank order, those that have not failed yet first: a binding that went away is
        // not waited for again on every piece, but is still tried when the others fail.
        let (fresh, failed): (Vec<_>, Vec<_>) =
            self.bindings.iter().enumerate().partition(|(_, b)| !b.failed.load(Ordering::Relaxed));
        for (index, binding) in fresh.into_iter().chain(failed) {
            let mut last = String::new();
            for attempt in 0..=self.retry {
                if attempt > 0 {
                    std::thread::sleep(backoff(attempt));
                }
                if tally.stop.raised() {
                    return Err(RunError::Cancelled);
                }
                let answer = match &binding.callee {
                    Callee::Builtin(builtin, prepared) => {
                        let prepared = prepared.get_or_init(|| {
                            builtin.prepare(&self.whole).map(Arc::from).map_err(|e| e.to_string())
                        });
                        match prepared {
                            Ok(prepared) => {
                                prepared.call(&input).map_err(|e| e.to_string()).and_then(|out| {
                                    self.conform(out, rows.num_rows()).map_err(|e| e.to_string())
                                })
                            }
                            // Preparing fails the same way every time: no retry.
                            Err(error) => {
                                last = error.clone();
                                break;
                            }
                        }
                    }
                    Callee::Flight(endpoint, channel) => {
                        self.exchange(&binding.card, endpoint, channel, rows)
                    }
                    // Fails the same way every time: no retry.
                    Callee::Unavailable(why) => {
                        last = why.clone();
                        break;
                    }
                };
                match answer {
                    Ok(batch) => {
                        if let Some((responses, key)) = keep {
                            responses.put(key, &batch);
                        }
                        self.calls.fetch_add(1, Ordering::Relaxed);
                        binding.answered.fetch_add(1, Ordering::Relaxed);
                        tally.calls.fetch_add(1, Ordering::Relaxed);
                        if let Some(answered) = tally.answered.get(index) {
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        binding.failed.store(false, Ordering::Relaxed);
                        return self.with_error(batch, None);
                    }
                    Err(error) => {
                        self.failed_attempts.fetch_add(1, Ordering::Relaxed);
                        tally.failed_attempts.fetch_add(1, Ordering::Relaxed);
                        last = error;
                    }
                }
            }
            binding.failed.store(true, Ordering::Relaxed);
            tried.push(format!("`{}`: {last}", binding.card));
        }
        if self.on_error_null {
            self.null_rows.fetch_add(rows.num_rows() as u64, Ordering::Relaxed);
            tally.null_rows.fetch_add(rows.num_rows() as u64, Ordering::Relaxed);
            let answered = self.answered();
            let columns = answered
                .fields()
                .iter()
                .map(|f| new_null_array(f.data_type(), rows.num_rows()))
                .collect();
            let nulls = RecordBatch::try_new(answered, columns)?;
            let why = RunError::Ai { name: self.name.clone(), tried }.to_string();
            return self.with_error(nulls, Some(&why));
        }
        Err(RunError::Ai { name: self.name.clone(), tried })
    }

    /// One `DoExchange` with a Flight service, from a blocking thread of the runtime.
    fn exchange(
        &self,
        card: &str,
        endpoint: &str,
        channel: &tokio::sync::OnceCell<tonic::transport::Channel>,
        rows: &RecordBatch,
    ) -> Result<RecordBatch, String> {
        let request = async {
            let channel = channel
                .get_or_try_init(|| connect(endpoint))
                .await
                .map_err(|e| format!("cannot reach {endpoint}: {e}"))?;
            let mut client = arrow_flight::FlightClient::new(channel.clone());
            let command = serde_json::json!({ "ai": card, "args": self.constants }).to_string();
            let batch = if self.streams_table {
                rows.clone()
            } else {
                let field = rows.schema().field(0).clone().with_name(self.streamed.as_str());
                let schema = Arc::new(datafusion::arrow::datatypes::Schema::new(vec![field]));
                RecordBatch::try_new(schema, vec![rows.column(0).clone()])
                    .map_err(|e| e.to_string())?
            };
            let data = arrow_flight::encode::FlightDataEncoderBuilder::new()
                .with_flight_descriptor(Some(arrow_flight::FlightDescriptor::new_cmd(command)))
                .build(futures::stream::iter([Ok(batch)]));
            let answer = client.do_exchange(data).await.map_err(|e| e.to_string())?;
            let batches: Vec<RecordBatch> =
                answer.try_collect().await.map_err(|e| e.to_string())?;
            let columns = match batches.first() {
                Some(first) => {
                    let all = datafusion::arrow::compute::concat_batches(&first.schema(), &batches)
                        .map_err(|e| e.to_string())?;
                    all.columns().to_vec()
                }
                None => return Err("the AI answered nothing".to_string()),
            };
            let answered = self.answered();
            for (column, field) in columns.iter().zip(answered.fields()) {
                if !compatible(column.data_type(), field.data_type()) {
                    return Err(format!(
                        "its answer: column `{}` is {}, not {}",
                        field.name(),
                        column.data_type(),
                        field.data_type()
                    ));
                }
            }
            let batch = conform(&answered, columns).map_err(|e| format!("its answer: {e}"))?;
            if batch.num_rows() != rows.num_rows() {
                return Err(format!(
                    "it answered {} rows for {}",
                    batch.num_rows(),
                    rows.num_rows()
                ));
            }
            Ok(batch)
        };
        let handle = tokio::runtime::Handle::current();
        match self.timeout {
            Some(limit) => handle.block_on(async {
                tokio::time::timeout(limit, request)
                    .await
                    .unwrap_or_else(|_| Err(format!("no answer within {} ms", limit.as_millis())))
            }),
            None => handle.block_on(request),
        }
    }

    /// The AI's answer as rows of the result's schema.
    fn conform(&self, out: AiValue, rows: usize) -> Result<RecordBatch, RunError> {
        let columns = match out {
            AiValue::Column(_, array) => vec![array],
            AiValue::Table(batch) => batch.columns().to_vec(),
            AiValue::Scalar(_) => {
                return Err(RunError::Data("the AI answered a scalar, not rows".into()));
            }
        };
        let batch = conform(&self.answered(), columns)?;
        if batch.num_rows() != rows {
            return Err(RunError::Data(format!(
                "the AI answered {} rows for {rows}",
                batch.num_rows()
            )));
        }
        Ok(batch)
    }
}

/// Whether a peer's column of type `found` can stand for `expected`: the same type, or one of
/// the same kind that converts without changing what it says (strings of any layout, numbers,
/// lists of such items). Arrow would also cast a list to its text: a wrong answer, refused.
fn compatible(found: &DataType, expected: &DataType) -> bool {
    use DataType::*;
    let string = |t: &DataType| matches!(t, Utf8 | LargeUtf8 | Utf8View);
    let item = |t: &DataType| match t {
        List(f) | LargeList(f) | ListView(f) | FixedSizeList(f, _) => Some(f.data_type().clone()),
        _ => None,
    };
    found == expected
        || matches!(found, Null)
        || (string(found) && string(expected))
        || (found.is_numeric() && expected.is_numeric())
        || matches!((item(found), item(expected)), (Some(a), Some(b)) if compatible(&a, &b))
}

/// A channel to a Flight endpoint: `grpc://` is plain HTTP/2, `grpc+tls://` TLS.
async fn connect(endpoint: &str) -> Result<tonic::transport::Channel, String> {
    let url = if let Some(rest) = endpoint.strip_prefix("grpc+tls://") {
        format!("https://{rest}")
    } else if let Some(rest) = endpoint.strip_prefix("grpc://") {
        format!("http://{rest}")
    } else {
        return Err(format!("`{endpoint}` is not a Flight endpoint (grpc:// or grpc+tls://)"));
    };
    let mut builder = tonic::transport::Endpoint::from_shared(url)
        .map_err(|e| e.to_string())?
        .connect_timeout(std::time::Duration::from_secs(5));
    if endpoint.starts_with("grpc+tls://") {
        builder = builder
            .tls_config(tonic::transport::ClientTlsConfig::new().with_webpki_roots())
            .map_err(|e| e.to_string())?;
    }
    builder.connect().await.map_err(|e| e.to_string())
}

/// What the requests of one [`AiCallExec`] did, as its metrics report it. On a cluster each
/// task gets an exec of its own (`remote::recount_ai_calls`), so that its metrics are its own
/// requests: tasks that share a decoded plan would otherwise report the sum of all of theirs.
#[derive(Debug)]
struct Tally {
    calls: AtomicU64,
    null_rows: AtomicU64,
    failed_attempts: AtomicU64,
    reused: AtomicU64,
    /// By binding, as the call's.
    answered: Vec<AtomicU64>,
    /// Raised when the task is dropped (its job cancelled): no more requests are made.
    stop: TaskStop,
}

/// Stops the AI calls of a task: a worker raises it when Ballista drops the task (its job was
/// cancelled). Ballista's shuffle writer runs a task's plan on a detached tokio task that goes
/// on after the task is aborted; with this raised, its AI calls make no new request (the one in
/// flight finishes) and fail as cancelled.
#[derive(Clone, Debug, Default)]
pub struct TaskStop(Arc<std::sync::atomic::AtomicBool>);

impl TaskStop {
    /// Stops the calls.
    pub fn raise(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether the calls are stopped.
    pub fn raised(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The extension node of an AI call.
#[derive(Debug)]
pub struct AiCallExec {
    call: Arc<AiCall>,
    input: Arc<dyn ExecutionPlan>,
    properties: Arc<PlanProperties>,
    tally: Arc<Tally>,
}

impl AiCallExec {
    /// `call` over the batches of `input`.
    pub fn new(call: Arc<AiCall>, input: Arc<dyn ExecutionPlan>) -> AiCallExec {
        AiCallExec::stopped_by(call, input, TaskStop::default())
    }

    /// `call` over the batches of `input`, asking no more once `stop` is raised.
    fn stopped_by(call: Arc<AiCall>, input: Arc<dyn ExecutionPlan>, stop: TaskStop) -> AiCallExec {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(call.schema.clone()),
            input.properties().partitioning.clone(),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        let tally = Tally {
            calls: AtomicU64::new(0),
            null_rows: AtomicU64::new(0),
            failed_attempts: AtomicU64::new(0),
            reused: AtomicU64::new(0),
            answered: call.bindings.iter().map(|_| AtomicU64::new(0)).collect(),
            stop,
        };
        AiCallExec { call, input, properties: Arc::new(properties), tally: Arc::new(tally) }
    }

    /// The same call over the same input, its metrics counted from zero, asking no more once
    /// `stop` is raised.
    pub fn recounted(&self, stop: &TaskStop) -> AiCallExec {
        AiCallExec::stopped_by(self.call.clone(), self.input.clone(), stop.clone())
    }

    /// The call.
    pub fn call(&self) -> &Arc<AiCall> {
        &self.call
    }
}

impl DisplayAs for AiCallExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let cards: Vec<&str> = self.call.bindings.iter().map(|b| b.card.as_str()).collect();
        write!(f, "AiCallExec: {} [{}]", self.call.name, cards.join(", "))?;
        // On a cluster: the node whose counts its metrics are (`CallCounts::node_of`).
        match &self.call.responses {
            Some(responses) => write!(f, "{}{}", metric::NODE, responses.node()),
            None => Ok(()),
        }
    }
}

impl AiCallExec {
    /// This exec's counts as metrics, which Ballista sends from a worker to the coordinator
    /// with the task's status, and the driver reads back
    /// ([`CallCounts::add`](crate::CallCounts::add)).
    fn counted(&self) -> MetricsSet {
        let tally = &self.tally;
        let mut counts = vec![
            (metric::REQUESTS.to_string(), &tally.calls),
            (metric::NULL_ROWS.to_string(), &tally.null_rows),
            (metric::FAILED_ATTEMPTS.to_string(), &tally.failed_attempts),
            (metric::REUSED.to_string(), &tally.reused),
        ];
        for (binding, answered) in self.call.bindings.iter().zip(&tally.answered) {
            counts.push((format!("{}{}", metric::ANSWERED, binding.card), answered));
        }
        let mut set = MetricsSet::new();
        for (name, value) in counts {
            let count = Count::new();
            count.add(usize::try_from(value.load(Ordering::Relaxed)).unwrap_or(usize::MAX));
            set.push(Arc::new(Metric::new(MetricValue::Count { name: name.into(), count }, None)));
        }
        set
    }
}

impl ExecutionPlan for AiCallExec {
    fn name(&self) -> &str {
        "AiCallExec"
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.counted())
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        inputs: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = one_input(inputs, "AiCallExec")?;
        Ok(Arc::new(AiCallExec::new(self.call.clone(), input)))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if let Some(responses) = &self.call.responses {
            responses.use_stores(context.runtime_env().object_store_registry.clone());
        }
        let input = self.input.execute(partition, context)?;
        let (call, tally) = (self.call.clone(), self.tally.clone());
        let size = call.batch_size.max(1);
        let pieces = input.flat_map(move |batch| {
            let pieces: Vec<Result<RecordBatch>> = match batch {
                Ok(batch) => (0..batch.num_rows())
                    .step_by(size)
                    .map(|start| Ok(batch.slice(start, size.min(batch.num_rows() - start))))
                    .collect(),
                Err(error) => vec![Err(error)],
            };
            futures::stream::iter(pieces)
        });
        let answers = pieces.then(move |piece| {
            let (call, tally) = (call.clone(), tally.clone());
            async move {
                let piece = piece?;
                if tally.stop.raised() {
                    return Err(DataFusionError::External(Box::new(RunError::Cancelled)));
                }
                tokio::task::spawn_blocking(move || call.answer(&piece, &tally))
                    .await
                    .map_err(|e| DataFusionError::External(Box::new(e)))?
                    .map_err(|e| DataFusionError::External(Box::new(e)))
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(self.schema(), answers)))
    }
}
