//! The arguments of a node: values of the nodes it reads, constants, and parameters given on
//! the command line.

use aigrid_compiler::{PlanArg, PlanNode, PlanOp, Value as Constant, ValueType};
use datafusion::arrow::datatypes::DataType;

use std::sync::Arc;

use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::ExecutionPlan;

use super::{Driver, Slot};
use crate::RunError;
use crate::value::Value;

impl Driver<'_> {
    /// The value of the node argument `name`.
    pub(super) fn input(&self, node: &PlanNode, name: &str) -> Result<Value, RunError> {
        let arg = node
            .args
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| RunError::Internal(format!("no argument `{name}`")))?;
        self.arg_value(arg)
    }

    /// The arguments `node` takes as a stream of batches rather than whole.
    pub(super) fn streamed_args<'n>(&self, node: &'n PlanNode) -> Vec<&'n str> {
        match &node.op {
            PlanOp::Std { name } => match name.rsplit('.').next().unwrap_or(name) {
                "write_csv" | "write_jsonl" | "write_parquet" | "write_arrow" => vec!["value"],
                "chunk" => vec!["input"],
                // `select`'s columns stream into its zip, which gathers them.
                "select" => node
                    .args
                    .iter()
                    .filter(|a| a.input.is_some() && a.name != "columns")
                    .map(|a| a.name.as_str())
                    .collect(),
                "filter" | "sort" | "limit" | "group_by" => vec!["table"],
                "join" => vec!["left", "right"],
                // Row-wise tensor operations stream their one tensor (`tensor_node`).
                "neg" | "exp" | "log" | "relu" | "gelu" | "sigmoid" | "scale" | "softmax"
                | "l2_normalize" | "topk" | "topk_indices" | "sum" | "mean" | "max" | "min"
                | "argmax"
                    if name.starts_with("std.tensor.") =>
                {
                    vec!["x"]
                }
                _ => Vec::new(),
            },
            PlanOp::Fused { .. } => {
                let inputs: Vec<&str> = node
                    .args
                    .iter()
                    .filter(|a| a.input.is_some())
                    .map(|a| a.name.as_str())
                    .collect();
                if inputs.len() == 1 { inputs } else { Vec::new() }
            }
            PlanOp::Sql { .. } => node
                .args
                .iter()
                .filter(|a| a.input.is_some())
                .filter_map(|a| {
                    let ty = self.plan.nodes.get(a.input? as usize).map(|n| n.ty.as_str())?;
                    matches!(self.types.get(ty), Some(ValueType::Table(_)))
                        .then_some(a.name.as_str())
                })
                .collect(),
            PlanOp::Column { .. } => vec!["table"],
            PlanOp::Check | PlanOp::Output => vec!["value"],
            PlanOp::Ai { .. } => vec![self.streamed_param(node)],
            _ => Vec::new(),
        }
    }

    /// The node argument `name` as it stands: computed, or a frame not yet computed.
    pub(super) fn slot(&self, node: &PlanNode, name: &str) -> Result<&Slot, RunError> {
        let arg = node
            .args
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| RunError::Internal(format!("no argument `{name}`")))?;
        let id = arg.input.ok_or_else(|| {
            RunError::Internal(format!("argument `{name}` is not a node's value"))
        })?;
        self.values
            .get(&id)
            .ok_or_else(|| RunError::Internal(format!("node {id} has no value yet")))
    }

    /// The node argument `name` as a logical plan, to stream into the node's plan.
    pub(super) fn plan_input(&self, node: &PlanNode, name: &str) -> Result<LogicalPlan, RunError> {
        let arg = node
            .args
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| RunError::Internal(format!("no argument `{name}`")))?;
        self.plan_arg(arg)
    }

    /// The argument `arg` as a logical plan.
    pub(super) fn plan_arg(&self, arg: &PlanArg) -> Result<LogicalPlan, RunError> {
        match arg.input.and_then(|id| self.values.get(&id)) {
            Some(Slot::Pending(_, plan)) => Ok(plan.clone()),
            Some(Slot::Spilled(spill)) => Ok(spill.plan.clone()),
            _ => self.plan_of(&self.arg_value(arg)?),
        }
    }

    /// The node argument `name` as a physical plan, to stream into the node's plan.
    pub(super) async fn physical_input(
        &self,
        node: &PlanNode,
        name: &str,
    ) -> Result<Arc<dyn ExecutionPlan>, RunError> {
        match self.slot(node, name) {
            Ok(Slot::Pending(_, plan)) => Ok(self.state.create_physical_plan(plan).await?),
            Ok(Slot::Spilled(spill)) => Ok(self.state.create_physical_plan(&spill.plan).await?),
            _ => Self::source(&self.input(node, name)?),
        }
    }

    /// The type of the node argument `name`.
    pub(super) fn input_type(&self, node: &PlanNode, name: &str) -> Result<ValueType, RunError> {
        Ok(match self.slot(node, name) {
            Ok(Slot::Pending(ty, _)) => ty.clone(),
            Ok(Slot::Spilled(spill)) => spill.ty.clone(),
            _ => self.input(node, name)?.ty,
        })
    }

    pub(super) fn arg_value(&self, arg: &PlanArg) -> Result<Value, RunError> {
        match (arg.input, &arg.value) {
            (Some(id), _) => match self.values.get(&id) {
                Some(Slot::Ready(value)) => Ok(value.clone()),
                Some(Slot::Spilled(spill)) => spill.load(),
                Some(Slot::Pending(..) | Slot::Running(_)) => {
                    Err(RunError::Internal(format!("node {id} was not computed before its use")))
                }
                None => Err(RunError::Internal(format!("node {id} has no value yet"))),
            },
            (None, Some(constant)) => Value::constant(constant, constant_type(constant)),
            (None, None) => {
                Err(RunError::Internal(format!("argument `{}` has no value", arg.name)))
            }
        }
    }

    /// The constant argument `name`, if it is one.
    pub(super) fn constant<'n>(&self, node: &'n PlanNode, name: &str) -> Option<&'n Constant> {
        node.args.iter().find(|a| a.name == name).and_then(|a| a.value.as_ref())
    }

    pub(super) fn string_arg(&self, node: &PlanNode, name: &str) -> Result<String, RunError> {
        match self.constant(node, name) {
            Some(Constant::Str(s)) => Ok(s.clone()),
            Some(_) => Err(RunError::Param(format!("`{name}` is not a string"))),
            None => match self.input(node, name)?.scalar_json()? {
                serde_json::Value::String(s) => Ok(s),
                other => Err(RunError::Param(format!("`{name}` is {other}, not a string"))),
            },
        }
    }

    pub(super) fn int_arg(&self, node: &PlanNode, name: &str) -> Result<i64, RunError> {
        match self.constant(node, name) {
            Some(Constant::Int(i)) => Ok(*i),
            Some(_) => Err(RunError::Param(format!("`{name}` is not an integer"))),
            None => self
                .input(node, name)?
                .scalar_json()?
                .as_i64()
                .ok_or_else(|| RunError::Param(format!("`{name}` is not an integer"))),
        }
    }

    pub(super) fn param(&self, name: &str, ty: ValueType) -> Result<Value, RunError> {
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
            // Tensors, lists and tables are written as JSON.
            _ => {
                let json: serde_json::Value = serde_json::from_str(text)
                    .map_err(|e| RunError::Param(format!("`{text}` is not JSON: {e}")))?;
                return Value::from_json(ty, &json);
            }
        };
        Value::constant(&constant, ty)
    }
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
