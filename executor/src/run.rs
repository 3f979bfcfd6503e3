//! The driver: runs the nodes of a plan in dependency order, each as a DataFusion physical plan
//! over the values of the nodes it reads, and keeps each value until its last reader has run.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aigrid_builtins::{Args, Library};
use aigrid_compiler::{
    Plan, PlanArg, PlanNode, PlanOp, PlanStep, Value as Constant, ValueType, value_type,
};
use aigrid_discovery::AttrValue;
use datafusion::arrow::array::{ArrayRef, Int64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::execution::options::ArrowReadOptions;
use datafusion::physical_plan::{ExecutionPlan, collect};
use datafusion::prelude::{CsvReadOptions, JsonReadOptions, ParquetReadOptions, SessionContext};

use crate::RunError;
use crate::ai_call::{AiCall, AiCallExec, Binding};
use crate::gather::GatherExec;
use crate::kernel::{Kernel, TensorOp, conform, nullable, tensor_schema};
use crate::value::Value;
use crate::write::{Format, Write, rows_written_schema};
use aigrid_kernels::{Binary, Operand, Reduce, Unary};

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

    /// The value of the node argument `name`.
    fn input(&self, node: &PlanNode, name: &str) -> Result<Value, RunError> {
        let arg = node
            .args
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| RunError::Internal(format!("no argument `{name}`")))?;
        self.arg_value(arg)
    }

    fn arg_value(&self, arg: &PlanArg) -> Result<Value, RunError> {
        match (arg.input, &arg.value) {
            (Some(id), _) => self
                .values
                .get(&id)
                .cloned()
                .ok_or_else(|| RunError::Internal(format!("node {id} has no value yet"))),
            (None, Some(constant)) => Value::constant(constant, constant_type(constant)),
            (None, None) => {
                Err(RunError::Internal(format!("argument `{}` has no value", arg.name)))
            }
        }
    }

    /// The constant argument `name`, if it is one.
    fn constant<'n>(&self, node: &'n PlanNode, name: &str) -> Option<&'n Constant> {
        node.args.iter().find(|a| a.name == name).and_then(|a| a.value.as_ref())
    }

    fn string_arg(&self, node: &PlanNode, name: &str) -> Result<String, RunError> {
        match self.constant(node, name) {
            Some(Constant::Str(s)) => Ok(s.clone()),
            Some(_) => Err(RunError::Param(format!("`{name}` is not a string"))),
            None => match self.input(node, name)?.to_json()? {
                serde_json::Value::String(s) => Ok(s),
                other => Err(RunError::Param(format!("`{name}` is {other}, not a string"))),
            },
        }
    }

    fn int_arg(&self, node: &PlanNode, name: &str) -> Result<i64, RunError> {
        match self.constant(node, name) {
            Some(Constant::Int(i)) => Ok(*i),
            Some(_) => Err(RunError::Param(format!("`{name}` is not an integer"))),
            None => self
                .input(node, name)?
                .to_json()?
                .as_i64()
                .ok_or_else(|| RunError::Param(format!("`{name}` is not an integer"))),
        }
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
    ) -> Result<(SchemaRef, Vec<ArrayBatch>), RunError> {
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

    fn param(&self, name: &str, ty: ValueType) -> Result<Value, RunError> {
        let Some(text) = self.options.params.get(name) else {
            return Err(RunError::Param(format!(
                "parameter `{name}` has no value: give it with --param {name}=VALUE"
            )));
        };
        let constant = match &ty {
            ValueType::Scalar(DataType::Int64 | DataType::Int32, _) => {
                text.parse().map(Constant::Int).map_err(|_| {
                    RunError::Param(format!("parameter `{name}`: `{text}` is not an integer"))
                })?
            }
            ValueType::Scalar(DataType::Float64 | DataType::Float32, _) => {
                text.parse().map(Constant::Float).map_err(|_| {
                    RunError::Param(format!("parameter `{name}`: `{text}` is not a number"))
                })?
            }
            ValueType::Scalar(DataType::Boolean, _) => {
                text.parse().map(Constant::Bool).map_err(|_| {
                    RunError::Param(format!("parameter `{name}`: `{text}` is not true or false"))
                })?
            }
            ValueType::Scalar(DataType::Utf8, _) => Constant::Str(text.clone()),
            _ => {
                return Err(RunError::Param(format!(
                    "parameter `{name}` is a table, tensor or list: it cannot be given on the command line"
                )));
            }
        };
        Value::constant(&constant, ty)
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

    /// A fused chain of elementwise steps.
    async fn fused(
        &self,
        node: &PlanNode,
        steps: &[PlanStep],
        ty: ValueType,
    ) -> Result<Value, RunError> {
        let mut chain = Vec::with_capacity(steps.len());
        for step in steps {
            let op = step.op.rsplit('.').next().unwrap_or(&step.op);
            let factor =
                step.args.iter().find(|a| a.name == "factor").and_then(|a| a.value.as_ref());
            let scratch = PlanNode { args: Vec::new(), ..node.clone() };
            let tensor_op = match (op, factor) {
                ("scale", Some(Constant::Float(f))) => TensorOp::Scale(*f),
                ("scale", Some(Constant::Int(i))) => TensorOp::Scale(*i as f64),
                _ => match self.tensor_op(&scratch, op)? {
                    Some((tensor_op, _)) => tensor_op,
                    None => {
                        return Err(RunError::Unsupported(format!(
                            "`{}` in a fused chain",
                            step.op
                        )));
                    }
                },
            };
            let operands = step
                .args
                .iter()
                .filter(|a| a.name != "factor")
                .map(|a| match (a.input, a.step, &a.value) {
                    (Some(i), _, _) => Ok(Operand::Input(i as usize)),
                    (_, Some(i), _) => Ok(Operand::Step(i as usize)),
                    (_, _, Some(Constant::Float(f))) => Ok(Operand::Const(*f)),
                    (_, _, Some(Constant::Int(i))) => Ok(Operand::Const(*i as f64)),
                    _ => Err(RunError::Unsupported(format!(
                        "an argument of `{}` in a fused chain",
                        step.op
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()?;
            chain.push((tensor_op, operands));
        }
        let values = node.args.iter().map(|a| self.arg_value(a)).collect::<Result<Vec<_>, _>>()?;
        self.run_tensor_op(TensorOp::Fused(chain), values, ty).await
    }

    /// Runs a tensor operation on whole tensors, on a blocking thread.
    async fn run_tensor_op(
        &self,
        op: TensorOp,
        values: Vec<Value>,
        ty: ValueType,
    ) -> Result<Value, RunError> {
        let result = tokio::task::spawn_blocking(move || {
            let tensors = values.iter().map(Value::to_tensor).collect::<Result<Vec<_>, _>>()?;
            op.run(&tensors)
        })
        .await
        .map_err(|e| RunError::Internal(e.to_string()))??;
        Value::from_tensor(ty, &result)
    }

    /// The tensor operation `op` of `std.tensor` and the parameters that are its inputs.
    fn tensor_op(
        &self,
        node: &PlanNode,
        op: &str,
    ) -> Result<Option<(TensorOp, Vec<&'static str>)>, RunError> {
        let unary_op = |u| Some((TensorOp::Unary(u), vec!["x"]));
        let binary_op = |b| Some((TensorOp::Binary(b), vec!["a", "b"]));
        let count = |name: &str| -> Result<usize, RunError> {
            let n = self.int_arg(node, name)?;
            usize::try_from(n)
                .map_err(|_| RunError::Param(format!("`{name}` is {n}; it must be at least 0")))
        };
        let axis = |name: &str| -> Result<Option<i64>, RunError> {
            match self.constant(node, name) {
                Some(Constant::Null) | None => Ok(None),
                _ => self.int_arg(node, name).map(Some),
            }
        };
        let reduce_op = |r| -> Result<_, RunError> {
            Ok(Some((TensorOp::Reduce(r, axis("axis")?), vec!["x"])))
        };
        Ok(match op {
            "neg" => unary_op(Unary::Neg),
            "exp" => unary_op(Unary::Exp),
            "log" => unary_op(Unary::Log),
            "relu" => unary_op(Unary::Relu),
            "gelu" => unary_op(Unary::Gelu),
            "sigmoid" => unary_op(Unary::Sigmoid),
            "add" => binary_op(Binary::Add),
            "sub" => binary_op(Binary::Sub),
            "mul" => binary_op(Binary::Mul),
            "div" => binary_op(Binary::Div),
            "scale" => match self.constant(node, "factor") {
                Some(Constant::Float(f)) => Some((TensorOp::Scale(*f), vec!["x"])),
                Some(Constant::Int(i)) => Some((TensorOp::Scale(*i as f64), vec!["x"])),
                _ => {
                    let factor = self.input(node, "factor")?.to_json()?.as_f64();
                    let factor =
                        factor.ok_or_else(|| RunError::Param("`factor` is not a number".into()))?;
                    Some((TensorOp::Scale(factor), vec!["x"]))
                }
            },
            "sum" => reduce_op(Reduce::Sum)?,
            "mean" => reduce_op(Reduce::Mean)?,
            "max" => reduce_op(Reduce::Max)?,
            "min" => reduce_op(Reduce::Min)?,
            "argmax" => Some((
                TensorOp::Reduce(Reduce::Argmax, Some(axis("axis")?.unwrap_or(-1))),
                vec!["x"],
            )),
            "softmax" => {
                if !matches!(axis("axis")?, None | Some(-1)) {
                    return Err(RunError::Unsupported(
                        "softmax over an axis other than the last".into(),
                    ));
                }
                Some((TensorOp::Softmax, vec!["x"]))
            }
            "l2_normalize" => Some((TensorOp::L2Normalize, vec!["x"])),
            "cosine_similarity" => Some((TensorOp::Cosine, vec!["a", "b"])),
            "transpose" => Some((TensorOp::Transpose, vec!["x"])),
            "matmul" => Some((TensorOp::Matmul, vec!["a", "b"])),
            "topk" => Some((TensorOp::Topk(count("k")?), vec!["x"])),
            "topk_indices" => Some((TensorOp::TopkIndices(count("k")?), vec!["x"])),
            "slice" => Some((TensorOp::Slice(count("start")?, count("end")?), vec!["x"])),
            "concat" => {
                let a = self.int_arg(node, "axis")?;
                let a = usize::try_from(a)
                    .map_err(|_| RunError::Unsupported("a negative concat axis".into()))?;
                Some((TensorOp::Concat(a), vec!["a", "b"]))
            }
            "reshape" => {
                let Some(Constant::List(dims)) = self.constant(node, "shape") else {
                    return Err(RunError::Unsupported("a reshape to a computed shape".into()));
                };
                let dims = dims
                    .iter()
                    .map(|d| match d {
                        Constant::Int(n) => usize::try_from(*n).ok(),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| RunError::Param("reshape takes sizes of at least 0".into()))?;
                Some((TensorOp::Reshape(dims), vec!["x"]))
            }
            _ => None,
        })
    }

    async fn read(&self, node: &PlanNode, op: &str, ty: ValueType) -> Result<Value, RunError> {
        let path = self.string_arg(node, "src")?;
        if !Path::new(&path).exists() {
            return Err(RunError::Io(format!("{path}: no such file")));
        }
        let declared = match &ty {
            ValueType::Table(Some(schema)) if node.declared => Some(schema.clone()),
            _ => None,
        };
        let frame = match op {
            "read_csv" => {
                let schema = match &declared {
                    Some(declared) => Some(csv_schema(&path, declared)?),
                    None => None,
                };
                let mut options = CsvReadOptions::new().has_header(true);
                if let Some(schema) = &schema {
                    options = options.schema(schema);
                }
                self.context.read_csv(&path, options).await?
            }
            "read_jsonl" => {
                let schema = declared.as_ref().map(|d| {
                    Schema::new(d.fields().iter().map(|f| nullable(f)).collect::<Vec<_>>())
                });
                let mut options = JsonReadOptions::default().file_extension(extension(&path));
                if let Some(schema) = &schema {
                    options = options.schema(schema);
                }
                self.context.read_json(&path, options).await?
            }
            "read_arrow" => {
                let options =
                    ArrowReadOptions { file_extension: extension(&path), ..Default::default() };
                self.context.read_arrow(&path, options).await?
            }
            _ => {
                let options = ParquetReadOptions::default().file_extension(extension(&path));
                self.context.read_parquet(&path, options).await?
            }
        };
        let plan = frame.create_physical_plan().await?;
        let (schema, batches) = self.collect(plan).await?;
        Ok(Value::new(ty, schema, batches))
    }

    async fn select(&self, node: &PlanNode, ty: ValueType) -> Result<Value, RunError> {
        let table = self.input(node, "table")?;
        let named: Vec<&PlanArg> =
            node.args.iter().filter(|a| a.name != "table" && a.name != "columns").collect();
        let ValueType::Table(Some(schema)) = &ty else {
            return Err(RunError::Internal("select without a known result schema".into()));
        };
        if named.is_empty() {
            // select(t, ["a", "b"]): a projection.
            let batch = table.batch()?;
            let columns = schema
                .fields()
                .iter()
                .map(|f| {
                    batch.column_by_name(f.name()).cloned().ok_or_else(|| {
                        RunError::Data(format!("the table has no column `{}`", f.name()))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let batch = conform(schema, columns)?;
            return Ok(Value::new(ty.clone(), schema.clone(), vec![batch]));
        }
        let inputs = named
            .iter()
            .map(|a| self.arg_value(a).and_then(|v| Self::source(&v)))
            .collect::<Result<Vec<_>, _>>()?;
        let plan = GatherExec::new(Arc::new(Kernel::Zip(schema.clone())), inputs, schema.clone());
        let (schema, batches) = self.collect(Arc::new(plan)).await?;
        Ok(Value::new(ty.clone(), schema, batches))
    }

    async fn sql(&self, node: &PlanNode, query: &str, ty: ValueType) -> Result<Value, RunError> {
        let tables = node
            .args
            .iter()
            .map(|a| Ok((a.name.clone(), self.arg_value(a)?)))
            .collect::<Result<Vec<_>, RunError>>()?;
        self.sql_over(&tables, query, ty).await
    }

    /// `query` planned and run by DataFusion over `tables`, each registered under its name.
    async fn sql_over(
        &self,
        tables: &[(String, Value)],
        query: &str,
        ty: ValueType,
    ) -> Result<Value, RunError> {
        let context = SessionContext::new_with_config(self.context.copied_config());
        for (name, value) in tables {
            let table = MemTable::try_new(value.schema.clone(), vec![value.batches.clone()])?;
            context.register_table(name.as_str(), Arc::new(table))?;
        }
        let plan = context.sql(query).await?.create_physical_plan().await?;
        let (schema, batches) = self.collect(plan).await?;
        Ok(Value::new(ty, schema, batches))
    }

    /// The string list argument `name` (column names).
    fn names_arg(&self, node: &PlanNode, name: &str) -> Result<Vec<String>, RunError> {
        match self.constant(node, name) {
            Some(Constant::List(items)) => items
                .iter()
                .map(|i| match i {
                    Constant::Str(s) => Ok(quote(s)),
                    _ => Err(RunError::Param(format!("`{name}` lists column names"))),
                })
                .collect(),
            _ => Err(RunError::Param(format!("`{name}` is a list of column names"))),
        }
    }

    /// `filter`, `sort`, `limit`, `join` and `group_by`, as SQL run by DataFusion.
    async fn relational(
        &self,
        node: &PlanNode,
        op: &str,
        ty: ValueType,
    ) -> Result<Value, RunError> {
        let table = |name: &str| -> Result<(String, Value), RunError> {
            Ok((name.to_string(), self.input(node, name)?))
        };
        let (tables, query) = match op {
            "filter" => {
                let predicate = self.string_arg(node, "predicate")?;
                (vec![table("table")?], format!("SELECT * FROM \"table\" WHERE {predicate}"))
            }
            "sort" => {
                let order =
                    if matches!(self.constant(node, "descending"), Some(Constant::Bool(true))) {
                        " DESC"
                    } else {
                        ""
                    };
                let by: Vec<String> = self
                    .names_arg(node, "by")?
                    .into_iter()
                    .map(|c| format!("{c}{order}"))
                    .collect();
                (
                    vec![table("table")?],
                    format!("SELECT * FROM \"table\" ORDER BY {}", by.join(", ")),
                )
            }
            "limit" => {
                let n = self.int_arg(node, "n")?;
                (vec![table("table")?], format!("SELECT * FROM \"table\" LIMIT {}", n.max(0)))
            }
            "join" => {
                let how = match self.string_arg(node, "how")?.as_str() {
                    "inner" => "INNER",
                    "left" => "LEFT",
                    "right" => "RIGHT",
                    "full" => "FULL",
                    other => {
                        return Err(RunError::Param(format!(
                            "join `how` is inner, left, right or full, not `{other}`"
                        )));
                    }
                };
                let on = self.names_arg(node, "on")?;
                let query = format!(
                    "SELECT * FROM \"left\" {how} JOIN \"right\" USING ({})",
                    on.join(", ")
                );
                (vec![table("left")?, table("right")?], query)
            }
            _ => {
                let keys = self.names_arg(node, "keys")?;
                let mut columns = keys.clone();
                for arg in node.args.iter().filter(|a| a.name != "table" && a.name != "keys") {
                    let Some(Constant::Str(aggregate)) = &arg.value else {
                        return Err(RunError::Param(format!(
                            "`{}` is a SQL aggregate, as text",
                            arg.name
                        )));
                    };
                    columns.push(format!("{aggregate} AS {}", quote(&arg.name)));
                }
                let query = format!(
                    "SELECT {} FROM \"table\" GROUP BY {}",
                    columns.join(", "),
                    keys.join(", ")
                );
                (vec![table("table")?], query)
            }
        };
        self.sql_over(&tables, &query, ty).await
    }

    async fn ai(
        &self,
        node: &PlanNode,
        name: &str,
        ty: ValueType,
    ) -> Result<(Value, (u64, u64)), RunError> {
        let Some(binding) = self.plan.bindings.get(&node.id.to_string()) else {
            return Err(RunError::Unsupported(format!(
                "`{name}` is not bound to a grid AI: build the plan with discovery (aigridc bind)"
            )));
        };
        let mut bindings = Vec::new();
        let mut missing = Vec::new();
        let mut streamed = None;
        let mut batch_size = None;
        for card in std::iter::once(&binding.primary).chain(&binding.fallbacks) {
            if let Some(builtin_name) = card.endpoint.strip_prefix("builtin:") {
                match self.library.get(builtin_name) {
                    Some(builtin) => {
                        streamed.get_or_insert(builtin.streamed());
                        if let Some(AttrValue::Int(n)) = builtin.card().attributes.get("batch_size")
                        {
                            batch_size.get_or_insert(usize::try_from(*n).unwrap_or(1).max(1));
                        }
                        bindings.push(Binding::builtin(card.id.clone(), builtin.clone()));
                    }
                    None => missing.push(format!("`{}` ({})", card.id, card.endpoint)),
                }
            } else {
                bindings.push(Binding::flight(card.id.clone(), card.endpoint.clone()));
            }
        }
        if bindings.is_empty() {
            return Err(RunError::Unsupported(format!(
                "no binding of `{name}` can be called here: the built-in AIs {} are not offered \
                 (run `aigridc models ls`)",
                missing.join(", ")
            )));
        }
        // The streamed argument: the built-in's choice, else the first parameter.
        let streamed =
            streamed.or_else(|| node.args.first().map(|a| a.name.as_str())).unwrap_or("");
        let mut whole = Args::new();
        let mut constants = serde_json::Map::new();
        for arg in node.args.iter().filter(|a| a.name != streamed) {
            let value = match (&arg.value, arg.input) {
                (Some(constant), _) => {
                    let json = serde_json::to_value(constant).unwrap_or(serde_json::Value::Null);
                    constants.insert(arg.name.clone(), json.clone());
                    aigrid_builtins::Value::Scalar(json)
                }
                (None, Some(_)) => self.arg_value(arg)?.to_ai()?,
                (None, None) => continue,
            };
            whole.insert(arg.name.clone(), value);
        }
        let input = self.input(node, streamed)?;
        let schema = result_schema(&ty)?;
        let batch_size = batch_size.unwrap_or(1024);
        let call = Arc::new(AiCall {
            name: name.to_string(),
            bindings,
            whole,
            streams_table: matches!(input.ty, ValueType::Table(_)),
            retry: node.attrs.retry.unwrap_or(0),
            on_error_null: node.attrs.on_error_null,
            batch_size,
            schema: schema.clone(),
            streamed: streamed.to_string(),
            constants,
            timeout: node.attrs.timeout_ms.map(Duration::from_millis),
            calls: AtomicU64::new(0),
            null_rows: AtomicU64::new(0),
        });
        let plan = AiCallExec::new(call.clone(), Self::source(&input)?);
        let (schema, batches) = self.collect(Arc::new(plan)).await?;
        let calls = (call.calls.load(Ordering::Relaxed), call.null_rows.load(Ordering::Relaxed));
        Ok((Value::new(ty, schema, batches), calls))
    }
}

type ArrayBatch = datafusion::arrow::array::RecordBatch;

/// A scalar value as a SQL literal.
fn literal(value: &Value) -> Result<String, RunError> {
    if !matches!(value.ty, ValueType::Scalar(..)) {
        return Err(RunError::Unsupported("operators on tables, tensors or lists".into()));
    }
    Ok(match value.to_json()? {
        serde_json::Value::Null => "NULL".into(),
        serde_json::Value::Bool(b) => if b { "TRUE" } else { "FALSE" }.into(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => format!("'{}'", s.replace('\'', "''")),
        other => return Err(RunError::Unsupported(format!("an operator on {other}"))),
    })
}

/// A SQL identifier, quoted.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The type of a constant argument.
fn constant_type(constant: &Constant) -> ValueType {
    match constant {
        Constant::Int(_) | Constant::Duration { .. } => ValueType::Scalar(DataType::Int64, false),
        Constant::Float(_) => ValueType::Scalar(DataType::Float64, false),
        Constant::Bool(_) => ValueType::Scalar(DataType::Boolean, false),
        Constant::Str(_) => ValueType::Scalar(DataType::Utf8, false),
        Constant::Null => ValueType::Scalar(DataType::Int64, true),
        Constant::List(items) => match items.first() {
            Some(Constant::Str(_)) => ValueType::List(DataType::Utf8, false),
            Some(Constant::Int(_)) => ValueType::List(DataType::Int64, false),
            _ => ValueType::List(DataType::Float64, true),
        },
    }
}

/// The file extension of `path` with its dot (DataFusion filters files by it), `""` if none.
fn extension(path: &str) -> &str {
    Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .map_or("", |e| &path[path.len() - e.len() - 1..])
}

/// The schema to parse a CSV file with: its columns in file order, declared ones with their
/// declared types (nullable: a missing value is checked afterwards), the others as text.
fn csv_schema(path: &str, declared: &SchemaRef) -> Result<Schema, RunError> {
    let file = std::fs::File::open(path).map_err(|e| RunError::Io(format!("{path}: {e}")))?;
    let format = datafusion::arrow::csv::reader::Format::default().with_header(true);
    let (header, _) = format.infer_schema(std::io::BufReader::new(file), Some(0))?;
    let names: Vec<&String> = header.fields().iter().map(|f| f.name()).collect();
    for field in declared.fields() {
        if !names.contains(&field.name()) {
            return Err(RunError::Data(format!(
                "{path}: column `{}` of the declared type is not in the file, whose columns are {}",
                field.name(),
                names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    let fields: Vec<Field> = header
        .fields()
        .iter()
        .map(|f| match declared.field_with_name(f.name()) {
            Ok(d) => nullable(d),
            Err(_) => Field::new(f.name(), DataType::Utf8, true),
        })
        .collect();
    Ok(Schema::new(fields))
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

/// The schema of an AI call's result.
fn result_schema(ty: &ValueType) -> Result<SchemaRef, RunError> {
    match ty {
        ValueType::Table(Some(schema)) => Ok(Arc::new(Schema::new(
            schema.fields().iter().map(|f| nullable(f)).collect::<Vec<_>>(),
        ))),
        ValueType::List(item, _) => {
            Ok(Arc::new(Schema::new(vec![Field::new("list", item.clone(), true)])))
        }
        ValueType::Tensor { elem: DataType::Float32, dims }
            if dims.len() >= 2 && dims[1..].iter().all(Option::is_some) =>
        {
            let mut shape: Vec<usize> = vec![0];
            shape.extend(dims[1..].iter().flatten().map(|d| *d as usize));
            tensor_schema(&aigrid_kernels::Tensor::f32(shape, Vec::new())?)
        }
        other => {
            Err(RunError::Unsupported(format!("an AI result of type {other:?} does not run yet")))
        }
    }
}
