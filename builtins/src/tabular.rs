//! `logreg-tabular`: binary logistic regression over the numeric columns of a table,
//! `(train: Table, rows: Table, label: utf8 = "label") -> list<f32>`, the probability that
//! `label` is true for each of `rows`.
//!
//! The features are the numeric columns of `train` other than the label and keys (`id` and
//! names ending in `_id`), standardised with the mean and deviation of `train`; a null feature
//! counts as the mean. Training rows whose label is null are skipped. The label is a boolean
//! or a number (non-zero is true). The fit is full-batch gradient descent from zero weights, a
//! fixed number of steps with a small L2 penalty: the same data always gives the same model.

use std::sync::Arc;

use aigrid_discovery::Card;
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, Float32Array, RecordBatch};
use arrow_schema::DataType;

use crate::value::Reader;
use crate::{Args, Builtin, BuiltinError, Prepared, Value};

pub(crate) struct LogregTabular {
    card: Card,
}

impl LogregTabular {
    pub(crate) fn new(card: Card) -> LogregTabular {
        LogregTabular { card }
    }
}

const STEPS: usize = 2000;
const RATE: f64 = 0.5;
const PENALTY: f64 = 1e-3;

struct Fitted {
    features: Vec<String>,
    mean: Vec<f64>,
    scale: Vec<f64>,
    weights: Vec<f64>,
    bias: f64,
}

impl Builtin for LogregTabular {
    fn card(&self) -> &Card {
        &self.card
    }

    fn streamed(&self) -> &'static str {
        "rows"
    }

    fn prepare(&self, args: &Args) -> Result<Box<dyn Prepared>, BuiltinError> {
        let args = Reader::new(args);
        let train = args.table("train")?;
        let label = args.string("label", "label")?;
        let Some(label_column) = train.column_by_name(label) else {
            return Err(BuiltinError::Argument(format!("`train` has no column `{label}`")));
        };
        let targets = label_values(label, label_column)?;
        let features: Vec<String> = train
            .schema()
            .fields()
            .iter()
            .filter(|f| f.name() != label && f.name() != "id" && !f.name().ends_with("_id"))
            .filter(|f| f.data_type().is_numeric())
            .map(|f| f.name().clone())
            .collect();
        if features.is_empty() {
            return Err(BuiltinError::Argument("`train` has no numeric feature column".into()));
        }
        let columns = features.iter().map(|f| numbers(train, f)).collect::<Result<Vec<_>, _>>()?;
        let mut mean = Vec::new();
        let mut scale = Vec::new();
        for column in &columns {
            let present: Vec<f64> = column.iter().flatten().copied().collect();
            let m = if present.is_empty() {
                0.0
            } else {
                present.iter().sum::<f64>() / present.len() as f64
            };
            let var = if present.is_empty() {
                0.0
            } else {
                present.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / present.len() as f64
            };
            mean.push(m);
            scale.push(if var > 0.0 { 1.0 / var.sqrt() } else { 0.0 });
        }
        let rows: Vec<(Vec<f64>, f64)> = (0..train.num_rows())
            .filter_map(|r| {
                let target = targets[r]?;
                let x = columns
                    .iter()
                    .zip(mean.iter().zip(&scale))
                    .map(|(c, (m, s))| c[r].map_or(0.0, |v| (v - m) * s))
                    .collect();
                Some((x, target))
            })
            .collect();
        if rows.is_empty() {
            return Err(BuiltinError::Argument(format!("no row of `train` has a `{label}`")));
        }
        let mut weights = vec![0.0; features.len()];
        let mut bias = 0.0;
        let n = rows.len() as f64;
        for _ in 0..STEPS {
            let mut gradient = vec![0.0; weights.len()];
            let mut bias_gradient = 0.0;
            for (x, y) in &rows {
                let error = sigmoid(dot(&weights, x) + bias) - y;
                for (g, v) in gradient.iter_mut().zip(x) {
                    *g += error * v;
                }
                bias_gradient += error;
            }
            for (w, g) in weights.iter_mut().zip(&gradient) {
                *w -= RATE * (g / n + PENALTY * *w);
            }
            bias -= RATE * bias_gradient / n;
        }
        Ok(Box::new(Fitted { features, mean, scale, weights, bias }))
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The label of each row as 1 or 0, `None` when null.
fn label_values(name: &str, column: &ArrayRef) -> Result<Vec<Option<f64>>, BuiltinError> {
    if let Some(bools) = column.as_boolean_opt() {
        return Ok(bools.iter().map(|b| b.map(|b| if b { 1.0 } else { 0.0 })).collect());
    }
    let values = cast_numbers(name, column)?;
    Ok(values.into_iter().map(|v| v.map(|v| if v != 0.0 { 1.0 } else { 0.0 })).collect())
}

/// Column `name` of `batch` as numbers.
fn numbers(batch: &RecordBatch, name: &str) -> Result<Vec<Option<f64>>, BuiltinError> {
    match batch.column_by_name(name) {
        Some(column) => cast_numbers(name, column),
        None => Err(BuiltinError::Argument(format!(
            "`rows` has no column `{name}`, a feature of `train`"
        ))),
    }
}

fn cast_numbers(name: &str, column: &ArrayRef) -> Result<Vec<Option<f64>>, BuiltinError> {
    if !column.data_type().is_numeric() {
        return Err(BuiltinError::Argument(format!(
            "column `{name}` is {}, not a number",
            column.data_type()
        )));
    }
    let cast = arrow_cast::cast(column, &DataType::Float64)
        .map_err(|e| BuiltinError::Argument(format!("column `{name}`: {e}")))?;
    Ok(cast.as_primitive::<arrow_array::types::Float64Type>().iter().collect())
}

impl Prepared for Fitted {
    fn call(&self, rows: &Value) -> Result<Value, BuiltinError> {
        let Value::Table(batch) = rows else {
            return Err(BuiltinError::Argument("`rows` is not a table".into()));
        };
        let columns =
            self.features.iter().map(|f| numbers(batch, f)).collect::<Result<Vec<_>, _>>()?;
        let scores: Float32Array = (0..batch.num_rows())
            .map(|r| {
                let x: Vec<f64> = columns
                    .iter()
                    .zip(self.mean.iter().zip(&self.scale))
                    .map(|(c, (m, s))| c[r].map_or(0.0, |v| (v - m) * s))
                    .collect();
                Some(sigmoid(dot(&self.weights, &x) + self.bias) as f32)
            })
            .collect();
        Ok(Value::list(Arc::new(scores)))
    }
}
