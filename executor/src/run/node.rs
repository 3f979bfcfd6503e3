//! A node by its operation: the plan of its value (or the value itself), before the driver
//! decides whether it streams on or ends a stage.

use std::sync::Arc;

use aigrid_compiler::{PlanNode, PlanOp, Value as Constant, ValueType};

use super::table::literal;
use super::{Driver, Slot};
use crate::RunError;
use crate::ai_call::AiCall;
use crate::declared::declare;
use crate::value::Value;

impl Driver<'_> {
    /// Plans `node` (or computes it, for constants and kernels over whole values); an `ai`
    /// node also gives its call, whose counters the run reports.
    pub(super) async fn node(
        &self,
        node: &PlanNode,
    ) -> Result<(Slot, Option<Arc<AiCall>>), RunError> {
        let ty =
            self.types.get(node.ty.as_str()).cloned().ok_or_else(|| {
                RunError::Internal(format!("the type `{}` does not parse", node.ty))
            })?;
        let ready = |value: Value| Ok::<_, RunError>(Slot::Ready(value));
        let slot = match &node.op {
            PlanOp::Const { value } => ready(Value::constant(value, ty.clone())?)?,
            PlanOp::Param { name } => ready(self.param(name, ty.clone())?)?,
            PlanOp::List => {
                let items: Option<Vec<Constant>> =
                    node.args.iter().map(|a| a.value.clone()).collect();
                match items {
                    Some(items) => ready(Value::constant(&Constant::List(items), ty.clone())?)?,
                    None => return Err(RunError::Unsupported("a list of computed values".into())),
                }
            }
            PlanOp::Column { name } => Slot::Pending(ty.clone(), self.column(node, name, &ty)?),
            PlanOp::Std { name } => self.std(node, name, ty.clone()).await?,
            PlanOp::Ai { name, .. } => {
                let (slot, call) = self.ai(node, name, ty.clone()).await?;
                return Ok((slot, Some(call)));
            }
            PlanOp::Sql { query } => self.sql(node, query, ty.clone()).await?,
            PlanOp::Check | PlanOp::Output => match self.slot(node, "value") {
                Ok(Slot::Pending(_, plan)) => Slot::Pending(ty.clone(), plan.clone()),
                _ => Slot::Ready(Value { ty: ty.clone(), ..self.input(node, "value")? }),
            },
            PlanOp::Fused { steps } => self.fused(node, steps, ty.clone()).await?,
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
                Slot::Pending(ty.clone(), self.queries.plan(&self.state, Vec::new(), &query)?)
            }
            PlanOp::Unary { op } => {
                let sql_op = if op == "!" { "NOT" } else { "-" };
                let operand = literal(&self.input(node, "operand")?)?;
                let query = format!("SELECT {sql_op} ({operand}) AS value");
                Slot::Pending(ty.clone(), self.queries.plan(&self.state, Vec::new(), &query)?)
            }
            PlanOp::Assert { message } => {
                let holds = self.input(node, "cond")?.scalar_json()?;
                if holds != serde_json::Value::Bool(true) {
                    return Err(RunError::Data(format!(
                        "assertion failed{}",
                        message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
                    )));
                }
                ready(Value::constant(&Constant::Bool(true), ty.clone())?)?
            }
        };
        let slot = match (&ty, matches!(node.op, PlanOp::Check) || node.declared) {
            (ValueType::Table(Some(schema)), true) => {
                let plan = match slot {
                    Slot::Pending(_, plan) => plan,
                    Slot::Spilled(spill) => spill.plan.clone(),
                    Slot::Ready(value) => self.plan_of(&value)?,
                    Slot::Running(_) => {
                        return Err(RunError::Internal("a running stage's value was read".into()));
                    }
                };
                Slot::Pending(ty.clone(), declare(plan, schema)?)
            }
            (_, _) => slot,
        };
        Ok((slot, None))
    }
}
