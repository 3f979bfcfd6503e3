//! Tensor operations of `std.tensor` and fused chains, run on aigrid's kernels: row-wise ones
//! stream through a [`TensorKernelExec`], the others run over whole tensors.

use std::sync::Arc;

use aigrid_compiler::{PlanArg, PlanNode, PlanStep, PlanStepArg, Value as Constant, ValueType};
use aigrid_kernels::{Binary, Operand, Reduce, Unary};

use super::{Driver, Slot};
use crate::RunError;
use crate::kernel::TensorOp;
use crate::tensor_exec::TensorKernelExec;
use crate::value::Value;

impl Driver<'_> {
    /// A fused chain of elementwise steps.
    pub(super) async fn fused(
        &self,
        node: &PlanNode,
        steps: &[PlanStep],
        ty: ValueType,
    ) -> Result<Slot, RunError> {
        let mut chain = Vec::with_capacity(steps.len());
        for step in steps {
            // The step read as a node of its own: its constants are its arguments, so the
            // operation is chosen as for an unfused node; its inputs become operands.
            let op = step.op.rsplit('.').next().unwrap_or(&step.op);
            let constants = step.args.iter().filter_map(|a| {
                let value = a.value.clone()?;
                Some(PlanArg { name: a.name.clone(), input: None, value: Some(value) })
            });
            let step_node = PlanNode { args: constants.collect(), ..node.clone() };
            let Some((tensor_op, inputs)) = self.tensor_op(&step_node, op)? else {
                return Err(RunError::Unsupported(format!("`{}` in a fused chain", step.op)));
            };
            let operands = inputs
                .iter()
                .map(|name| match step.args.iter().find(|a| a.name == *name) {
                    Some(PlanStepArg { input: Some(i), .. }) => Ok(Operand::Input(*i as usize)),
                    Some(PlanStepArg { step: Some(i), .. }) => Ok(Operand::Step(*i as usize)),
                    Some(PlanStepArg { value: Some(Constant::Float(f)), .. }) => {
                        Ok(Operand::Const(*f))
                    }
                    Some(PlanStepArg { value: Some(Constant::Int(i)), .. }) => {
                        Ok(Operand::Const(*i as f64))
                    }
                    _ => Err(RunError::Unsupported(format!(
                        "argument `{name}` of `{}` in a fused chain",
                        step.op
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()?;
            chain.push((tensor_op, operands));
        }
        let args: Vec<&PlanArg> = node.args.iter().collect();
        self.tensor_node(TensorOp::Fused(chain), &args, ty).await
    }

    /// Runs tensor operation `op` on the arguments `args`: streaming the rows of its one input
    /// through a [`TensorKernelExec`] when the operation is row-wise, else on whole tensors.
    pub(super) async fn tensor_node(
        &self,
        op: TensorOp,
        args: &[&PlanArg],
        ty: ValueType,
    ) -> Result<Slot, RunError> {
        if let [arg] = args {
            let slot = arg.input.and_then(|id| self.values.get(&id));
            let input = match slot {
                Some(Slot::Pending(_, plan)) => self.state.create_physical_plan(plan).await?,
                Some(Slot::Spilled(spill)) => self.state.create_physical_plan(&spill.plan).await?,
                _ => Self::source(&self.arg_value(arg)?)?,
            };
            if let Some(exec) = TensorKernelExec::row_wise(op.clone(), input.clone())? {
                return self.pending(ty, Arc::new(exec));
            }
            if let Some(Slot::Pending(input_ty, _)) = slot {
                let (schema, batches) = self.collect(input).await?;
                let value = Value::new(input_ty.clone(), schema, batches);
                return Ok(Slot::Ready(self.run_tensor_op(op, vec![value], ty).await?));
            }
        }
        let values = args.iter().map(|a| self.arg_value(a)).collect::<Result<Vec<_>, _>>()?;
        Ok(Slot::Ready(self.run_tensor_op(op, values, ty).await?))
    }

    /// Runs a tensor operation on whole tensors, on a blocking thread.
    pub(super) async fn run_tensor_op(
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
    pub(super) fn tensor_op(
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
                    let factor = self.input(node, "factor")?.scalar_json()?.as_f64();
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
            "cast" => Some((TensorOp::Cast(self.string_arg(node, "dtype")?), vec!["x"])),
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
                        Constant::Int(n) if *n >= -1 => Some(*n),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        RunError::Param("reshape takes sizes of at least 0, or -1".into())
                    })?;
                Some((TensorOp::Reshape(dims), vec!["x"]))
            }
            _ => None,
        })
    }
}
