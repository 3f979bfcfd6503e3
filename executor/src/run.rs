//! The driver: runs the nodes of a plan in dependency order, each as a DataFusion physical plan
//! over the values of the nodes it reads, and keeps each value until its last reader has run.

mod args;
mod call;
mod table;
mod tensor;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aigrid_builtins::Library;
use aigrid_compiler::{Plan, PlanNode, PlanOp, Value as Constant, ValueType, value_type};
use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::physical_plan::{ExecutionPlan, collect};
use datafusion::prelude::SessionContext;

use crate::RunError;
use crate::gather::GatherExec;
use crate::kernel::{Kernel, conform};
use crate::value::Value;
use crate::write::{Format, Write, rows_written_schema};
use table::literal;

/// How to run a plan.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Values of the parameters the plan leaves open, as written on the command line.
    pub params: BTreeMap<String, String>,
    /// Stop the run when the process gets Ctrl-C (SIGINT): in-flight AI calls are dropped and
    /// the run ends with [`RunError::Cancelled`].
    pub cancel_on_ctrl_c: bool,
}

/// What one node did.
#[derive(Clone, Debug)]
pub struct NodeReport {
    /// The node.
    pub id: u32,
    /// What it is: `std.io.read_csv`, `ai embed`, `sql`.
    pub what: String,
    /// Rows of its value.
    pub rows: usize,
    /// How long it took.
    pub time: Duration,
    /// For an AI call: requests answered, and rows that became null.
    pub calls: Option<(u64, u64)>,
}

/// A finished run.
#[derive(Debug)]
pub struct Run {
    /// The pipeline's result, if it has one.
    pub output: Option<Value>,
    /// Each node that ran, in order.
    pub nodes: Vec<NodeReport>,
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
    // Kernels and AI calls still running on blocking threads are not waited for.
    runtime.shutdown_background();
    result
}

struct Driver<'a> {
    plan: &'a Plan,
    library: &'a Library,
    options: &'a RunOptions,
    context: SessionContext,
    values: HashMap<u32, Value>,
    /// How many readers of each node have yet to run.
    readers: HashMap<u32, usize>,
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

impl<'a> Driver<'a> {
    fn new(plan: &'a Plan, library: &'a Library, options: &'a RunOptions) -> Driver<'a> {
        let mut readers = HashMap::new();
        for node in &plan.nodes {
            for input in node.args.iter().filter_map(|a| a.input) {
                *readers.entry(input).or_insert(0) += 1;
            }
        }
        Driver {
            plan,
            library,
            options,
            context: SessionContext::new(),
            values: HashMap::new(),
            readers,
        }
    }

    async fn run(mut self) -> Result<Run, RunError> {
        let mut reports = Vec::with_capacity(self.plan.nodes.len());
        for node in &self.plan.nodes {
            let started = Instant::now();
            let (value, calls) = self.node(node).await.map_err(|error| RunError::Node {
                file: node.span.file.clone(),
                line: node.span.line,
                column: node.span.column,
                what: describe(node),
                error: Box::new(error),
            })?;
            reports.push(NodeReport {
                id: node.id,
                what: describe(node),
                rows: value.rows(),
                time: started.elapsed(),
                calls,
            });
            for input in node.args.iter().filter_map(|a| a.input) {
                if let Some(left) = self.readers.get_mut(&input) {
                    *left -= 1;
                    if *left == 0 && Some(input) != self.plan.output {
                        self.values.remove(&input);
                    }
                }
            }
            self.values.insert(node.id, value);
        }
        let output = match self.plan.output {
            Some(id) => self.values.remove(&id),
            None => None,
        };
        Ok(Run { output, nodes: reports })
    }

    /// A physical plan that yields `value`'s batches.
    fn source(value: &Value) -> Result<Arc<dyn ExecutionPlan>, RunError> {
        Ok(MemorySourceConfig::try_new_exec(
            std::slice::from_ref(&value.batches),
            value.schema.clone(),
            None,
        )?)
    }

    async fn collect(
        &self,
        plan: Arc<dyn ExecutionPlan>,
    ) -> Result<(SchemaRef, Vec<RecordBatch>), RunError> {
        let schema = plan.schema();
        let batches = collect(plan, self.context.task_ctx()).await?;
        Ok((schema, batches))
    }

    async fn node(&self, node: &PlanNode) -> Result<(Value, Option<(u64, u64)>), RunError> {
        let ty = value_type(&node.ty)
            .ok_or_else(|| RunError::Internal(format!("the type `{}` does not parse", node.ty)))?;
        let value = match &node.op {
            PlanOp::Const { value } => Value::constant(value, ty)?,
            PlanOp::Param { name } => self.param(name, ty)?,
            PlanOp::List => {
                let items: Option<Vec<Constant>> =
                    node.args.iter().map(|a| a.value.clone()).collect();
                match items {
                    Some(items) => Value::constant(&Constant::List(items), ty)?,
                    None => return Err(RunError::Unsupported("a list of computed values".into())),
                }
            }
            PlanOp::Column { name } => {
                let table = self.input(node, "table")?;
                let index = table
                    .schema
                    .index_of(name)
                    .map_err(|_| RunError::Data(format!("the table has no column `{name}`")))?;
                let field = table.schema.field(index).clone();
                let schema = Arc::new(Schema::new(vec![field]));
                let batches = table
                    .batches
                    .iter()
                    .map(|b| b.project(&[index]))
                    .collect::<Result<Vec<_>, _>>()?;
                Value::new(ty, schema, batches)
            }
            PlanOp::Std { name } => self.std(node, name, ty).await?,
            PlanOp::Ai { name, .. } => {
                return self.ai(node, name, ty).await.map(|(v, c)| (v, Some(c)));
            }
            PlanOp::Sql { query } => self.sql(node, query, ty).await?,
            PlanOp::Check => declared(self.input(node, "value")?, &ty)?,
            PlanOp::Output => {
                let value = self.input(node, "value")?;
                if node.declared { declared(value, &ty)? } else { value }
            }
            PlanOp::Fused { steps } => self.fused(node, steps, ty).await?,
            PlanOp::Binary { op } => {
                let sql_op = match op.as_str() {
                    "==" => "=",
                    "!=" => "<>",
                    "&&" => "AND",
                    "||" => "OR",
                    other => other,
                };
                let lhs = literal(&self.input(node, "lhs")?)?;
                let rhs = literal(&self.input(node, "rhs")?)?;
                let query = format!("SELECT ({lhs}) {sql_op} ({rhs}) AS value");
                self.sql_over(&[], &query, ty).await?
            }
            PlanOp::Unary { op } => {
                let sql_op = if op == "!" { "NOT" } else { "-" };
                let operand = literal(&self.input(node, "operand")?)?;
                self.sql_over(&[], &format!("SELECT {sql_op} ({operand}) AS value"), ty).await?
            }
            PlanOp::Assert { message } => {
                let holds = self.input(node, "cond")?.to_json()?;
                if holds != serde_json::Value::Bool(true) {
                    return Err(RunError::Data(format!(
                        "assertion failed{}",
                        message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
                    )));
                }
                Value::constant(&Constant::Bool(true), ty)?
            }
        };
        let value = if node.declared && !matches!(node.op, PlanOp::Output | PlanOp::Check) {
            declared(value, &value_type(&node.ty).unwrap_or(ValueType::Nothing))?
        } else {
            value
        };
        Ok((value, None))
    }

    async fn std(&self, node: &PlanNode, name: &str, ty: ValueType) -> Result<Value, RunError> {
        let op = name.rsplit('.').next().unwrap_or(name);
        match op {
            "read_csv" | "read_jsonl" | "read_parquet" | "read_arrow" => {
                self.read(node, op, ty).await
            }
            "write_csv" | "write_jsonl" | "write_parquet" | "write_arrow" => {
                let path = PathBuf::from(self.string_arg(node, "dst")?);
                let format = match op {
                    "write_csv" => Format::Csv,
                    "write_jsonl" => Format::JsonLines,
                    "write_parquet" => Format::Parquet,
                    _ => Format::Arrow,
                };
                let input = Self::source(&self.input(node, "value")?)?;
                let write = GatherExec::new(
                    Arc::new(Write { path, format }),
                    vec![input],
                    rows_written_schema(),
                );
                let (schema, batches) = self.collect(Arc::new(write)).await?;
                Ok(Value::new(ty, schema, batches))
            }
            "chunk" => {
                let input = self.input(node, "input")?;
                let ValueType::Table(Some(schema)) = &ty else {
                    return Err(RunError::Unsupported("chunk of a list does not run yet".into()));
                };
                let column = self.string_arg(node, "column")?;
                let size = usize::try_from(self.int_arg(node, "size")?).unwrap_or(0);
                let overlap = usize::try_from(self.int_arg(node, "overlap")?).unwrap_or(usize::MAX);
                let kernel = Kernel::Chunk { column, size, overlap, schema: schema.clone() };
                let plan =
                    GatherExec::new(Arc::new(kernel), vec![Self::source(&input)?], schema.clone());
                let (schema, batches) = self.collect(Arc::new(plan)).await?;
                Ok(Value::new(ty, schema, batches))
            }
            "select" => self.select(node, ty).await,
            "filter" | "sort" | "limit" | "join" | "group_by" => {
                self.relational(node, op, ty).await
            }
            "count" => {
                let rows = self.input(node, "table")?.rows();
                let array: ArrayRef = Arc::new(Int64Array::from(vec![rows as i64]));
                Value::column(ty, "value", array)
            }
            _ => match self.tensor_op(node, op)? {
                Some((tensor_op, params)) => {
                    let values: Vec<Value> =
                        params.iter().map(|n| self.input(node, n)).collect::<Result<_, _>>()?;
                    self.run_tensor_op(tensor_op, values, ty).await
                }
                None => Err(RunError::Unsupported(format!("`{name}` does not run yet"))),
            },
        }
    }
}

/// `value` with the declared type `ty`: a table's declared columns, in order, each cast to its
/// type; a missing column or a null in a non-null column is an error that names it.
fn declared(value: Value, ty: &ValueType) -> Result<Value, RunError> {
    let ValueType::Table(Some(schema)) = ty else { return Ok(Value { ty: ty.clone(), ..value }) };
    let batch = value.batch()?;
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            batch.column_by_name(f.name()).cloned().ok_or_else(|| {
                RunError::Data(format!(
                    "column `{}` of the declared type is missing; the columns are {}",
                    f.name(),
                    value
                        .schema
                        .fields()
                        .iter()
                        .map(|f| format!("`{}`", f.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let batch = conform(schema, columns)?;
    Ok(Value::new(ty.clone(), schema.clone(), vec![batch]))
}
