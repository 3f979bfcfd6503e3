//! `ai` nodes: the bound grid AIs of a call, its whole and streamed arguments, and the
//! [`AiCallExec`] that answers it.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use aigrid_builtins::Args;
use aigrid_compiler::{PlanNode, ValueType};
use aigrid_discovery::AttrValue;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use super::{Driver, Slot};
use crate::RunError;
use crate::ai_call::{AiCall, AiCallExec, Binding, ERROR_COLUMN};
use crate::kernel::{nullable, tensor_schema};

impl Driver<'_> {
    pub(super) async fn ai(
        &self,
        node: &PlanNode,
        name: &str,
        ty: ValueType,
    ) -> Result<(Slot, Arc<AiCall>), RunError> {
        let Some(binding) = self.plan.bindings.get(&node.id.to_string()) else {
            return Err(RunError::Unsupported(format!(
                "`{name}` is not bound to a grid AI: build the plan with discovery (aigridc bind)"
            )));
        };
        let mut bindings = Vec::new();
        let mut missing = Vec::new();
        // Pieces are cut once, to a size every binding takes: the smallest `batch_size`.
        let mut batch_size: Option<usize> = None;
        let mut takes = |n: usize| batch_size = Some(batch_size.map_or(n, |b| b.min(n)).max(1));
        for card in std::iter::once(&binding.primary).chain(&binding.fallbacks) {
            if let Some(n) = card.batch_size {
                takes(n as usize);
            }
            if let Some(builtin_name) = card.endpoint.strip_prefix("builtin:") {
                match self.library.get(builtin_name) {
                    Some(builtin) => {
                        if let Some(AttrValue::Int(n)) = builtin.card().attributes.get("batch_size")
                        {
                            takes(usize::try_from(*n).unwrap_or(1));
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
        let streamed = self.streamed_param(node);
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
        let input_type = self.input_type(node, streamed)?;
        let mut schema = result_schema(&ty)?;
        // `@on_error(null)`: a last column says why a row is null (a table's type has it).
        if node.attrs.on_error_null && schema.fields().iter().all(|f| f.name() != ERROR_COLUMN) {
            let mut fields = schema.fields().to_vec();
            fields.push(Arc::new(Field::new(ERROR_COLUMN, DataType::Utf8, true)));
            schema = Arc::new(Schema::new(fields));
        }
        let batch_size = batch_size.unwrap_or(1024);
        let call = Arc::new(AiCall {
            name: name.to_string(),
            bindings,
            whole,
            streams_table: matches!(input_type, ValueType::Table(_)),
            retry: node.attrs.retry.unwrap_or(0),
            on_error_null: node.attrs.on_error_null,
            batch_size,
            schema: schema.clone(),
            streamed: streamed.to_string(),
            constants,
            timeout: node.attrs.timeout_ms.map(Duration::from_millis),
            calls: AtomicU64::new(0),
            null_rows: AtomicU64::new(0),
            failed_attempts: AtomicU64::new(0),
            responses: self.responses(node.id),
            reused: AtomicU64::new(0),
            uncounted: Default::default(),
        });
        let input = self.physical_input(node, streamed).await?;
        let plan = AiCallExec::new(call.clone(), input);
        Ok((self.pending(ty, Arc::new(plan))?, call))
    }
}

impl Driver<'_> {
    /// The argument of an `ai` node that streams, row batch by row batch, through the call:
    /// the choice of the first bound built-in AI, else the first parameter.
    pub(super) fn streamed_param<'n>(&self, node: &'n PlanNode) -> &'n str {
        let builtin = self.plan.bindings.get(&node.id.to_string()).and_then(|binding| {
            std::iter::once(&binding.primary).chain(&binding.fallbacks).find_map(|card| {
                let name = card.endpoint.strip_prefix("builtin:")?;
                Some(self.library.get(name)?.streamed())
            })
        });
        let name = builtin.and_then(|b| node.args.iter().find(|a| a.name == b));
        name.or_else(|| node.args.first()).map_or("", |a| a.name.as_str())
    }
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
