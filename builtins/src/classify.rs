//! Classifiers over vectors, fitted from labelled examples given once per call site:
//!
//! - `knn`: the `k` examples most similar by cosine vote for their labels, each with its
//!   similarity as weight; `(x, examples, labels, k = 7) -> table { label, confidence }`,
//!   where confidence is the winner's share of the votes. `knn-labels` gives the labels only.
//! - `logreg`: multinomial logistic regression, `(x, examples, labels) -> list<utf8>`, fitted by
//!   full-batch gradient descent from zero weights (a fixed number of steps, so the same data
//!   always gives the same model), with a small L2 penalty.
//!
//! Ties go to the label that sorts first, so results never depend on the order of the examples
//! beyond their content.

use std::collections::BTreeMap;
use std::sync::Arc;

use aigrid_discovery::Card;
use aigrid_kernels::{Tensor, l2_normalize, matmul, transpose};
use arrow_array::{Array, ArrayRef, Float32Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};

use crate::value::Reader;
use crate::{Args, Builtin, BuiltinError, Prepared, Value};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Knn { table: bool },
    Logreg,
}

pub(crate) struct Classifier {
    card: Card,
    method: Method,
}

impl Classifier {
    pub(crate) fn new(card: Card) -> Classifier {
        let method = match card.endpoint.as_str() {
            "builtin:knn" => Method::Knn { table: true },
            "builtin:knn-labels" => Method::Knn { table: false },
            _ => Method::Logreg,
        };
        Classifier { card, method }
    }
}

impl Builtin for Classifier {
    fn card(&self) -> &Card {
        &self.card
    }

    fn streamed(&self) -> &'static str {
        "x"
    }

    fn prepare(&self, args: &Args) -> Result<Box<dyn Prepared>, BuiltinError> {
        let args = Reader::new(args);
        let examples = args.tensor("examples")?;
        let labels = args.texts("labels")?;
        let &[m, d] = examples.shape() else {
            return Err(BuiltinError::Argument(format!(
                "`examples` is a matrix, not a tensor of shape {:?}",
                examples.shape()
            )));
        };
        if labels.len() != m {
            return Err(BuiltinError::Argument(format!(
                "{m} examples but {} labels: each example needs one",
                labels.len()
            )));
        }
        if m == 0 {
            return Err(BuiltinError::Argument("no examples to learn from".into()));
        }
        let classes: Vec<String> = {
            let mut all = Vec::with_capacity(m);
            for (i, label) in labels.iter().enumerate() {
                let label = label.ok_or_else(|| {
                    BuiltinError::Argument(format!("label {i} is null: every example needs one"))
                })?;
                all.push(label.to_string());
            }
            all.sort();
            all.dedup();
            all
        };
        let class_of: BTreeMap<&str, usize> =
            classes.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
        let targets: Vec<usize> = labels.iter().map(|l| class_of[l.unwrap_or_default()]).collect();
        let examples = as_f32(&examples, "examples")?;
        let model = match self.method {
            Method::Knn { table } => {
                let k = args.int("k", 7, 1..=1_000_000)? as usize;
                let unit = l2_normalize(&examples)?;
                let transposed = transpose(&unit, &[1, 0])?;
                Model::Knn { transposed, targets, k: k.min(m), table }
            }
            Method::Logreg => Model::Logreg(Logreg::fit(&examples, &targets, classes.len())),
        };
        Ok(Box::new(Fitted { classes: Arc::new(classes), dims: d, model }))
    }
}

/// A tensor with `f32` elements; `f64` ones are converted.
fn as_f32(t: &Tensor, name: &str) -> Result<Tensor, BuiltinError> {
    if t.as_f32().is_some() {
        return Ok(t.clone());
    }
    match t.as_f64() {
        Some(values) => {
            Ok(Tensor::f32(t.shape().to_vec(), values.iter().map(|&v| v as f32).collect())?)
        }
        None => Err(BuiltinError::Argument(format!("`{name}` is not a float tensor"))),
    }
}

enum Model {
    Knn { transposed: Tensor, targets: Vec<usize>, k: usize, table: bool },
    Logreg(Logreg),
}

struct Fitted {
    classes: Arc<Vec<String>>,
    dims: usize,
    model: Model,
}

impl Prepared for Fitted {
    fn call(&self, rows: &Value) -> Result<Value, BuiltinError> {
        let x = match rows {
            Value::Column(field, array) => Tensor::from_arrow(field, array.as_ref())
                .map_err(|e| BuiltinError::Argument(format!("`x`: {e}")))?,
            _ => return Err(BuiltinError::Argument("`x` is not a tensor".into())),
        };
        let x = as_f32(&x, "x")?;
        let &[n, d] = x.shape() else {
            return Err(BuiltinError::Argument(format!(
                "`x` has shape {:?}, not [N, D]",
                x.shape()
            )));
        };
        if d != self.dims {
            return Err(BuiltinError::Argument(format!(
                "`x` has {d} columns but the examples have {}",
                self.dims
            )));
        }
        let (winners, confidence) = match &self.model {
            Model::Knn { transposed, targets, k, .. } => {
                let similarity = matmul(&l2_normalize(&x)?, transposed)?;
                let similarity = similarity.as_f32().unwrap_or_default();
                let m = targets.len();
                (0..n)
                    .map(|row| {
                        vote(&similarity[row * m..(row + 1) * m], targets, *k, self.classes.len())
                    })
                    .unzip()
            }
            Model::Logreg(model) => {
                let values = x.as_f32().unwrap_or_default();
                (0..n)
                    .map(|row| model.predict(&values[row * d..(row + 1) * d]))
                    .unzip::<_, _, Vec<_>, Vec<_>>()
            }
        };
        let labels: ArrayRef = Arc::new(StringArray::from_iter_values(
            winners.iter().map(|&c: &usize| self.classes[c].as_str()),
        ));
        if !matches!(self.model, Model::Knn { table: true, .. }) {
            return Ok(Value::list(labels));
        }
        let schema = Schema::new(vec![
            Field::new("label", DataType::Utf8, false),
            Field::new("confidence", DataType::Float32, false),
        ]);
        let confidence: ArrayRef = Arc::new(Float32Array::from(confidence));
        RecordBatch::try_new(Arc::new(schema), vec![labels, confidence])
            .map(Value::Table)
            .map_err(|e| BuiltinError::Argument(e.to_string()))
    }
}

/// The k-NN vote of one row: its `k` most similar examples (the earlier one on a tie), each
/// weighing its similarity (at least a small positive amount, so dissimilar neighbours still
/// count); the winning class and its share of the weight.
fn vote(similarity: &[f32], targets: &[usize], k: usize, classes: usize) -> (usize, f32) {
    let mut order: Vec<usize> = (0..similarity.len()).collect();
    let by_similarity =
        |&a: &usize, &b: &usize| similarity[b].total_cmp(&similarity[a]).then(a.cmp(&b));
    if k < order.len() {
        order.select_nth_unstable_by(k - 1, by_similarity);
        order.truncate(k);
    }
    let mut weights = vec![0f64; classes];
    for &i in &order {
        weights[targets[i]] += f64::from(similarity[i].max(1e-3));
    }
    let total: f64 = weights.iter().sum();
    let mut best = 0;
    for (class, &weight) in weights.iter().enumerate() {
        if weight > weights[best] {
            best = class;
        }
    }
    (best, (weights[best] / total) as f32)
}

/// Multinomial logistic regression: `softmax(x W + b)`.
struct Logreg {
    weights: Vec<f64>,
    bias: Vec<f64>,
    classes: usize,
}

/// Gradient steps of a fit.
const STEPS: usize = 500;
/// The step size; the features of embeddings and hashed vectors have unit-scale rows.
const RATE: f64 = 1.0;
/// The L2 penalty on the weights.
const PENALTY: f64 = 1e-4;

impl Logreg {
    fn fit(examples: &Tensor, targets: &[usize], classes: usize) -> Logreg {
        let (m, d) = (examples.shape()[0], examples.shape()[1]);
        let x = examples.as_f32().unwrap_or_default();
        let mut model =
            Logreg { weights: vec![0.0; d * classes], bias: vec![0.0; classes], classes };
        let mut gradient = vec![0.0; d * classes];
        let mut probabilities = vec![0.0; classes];
        for _ in 0..STEPS {
            gradient.iter_mut().for_each(|g| *g = 0.0);
            let mut bias_gradient = vec![0.0; classes];
            for (row, &target) in x.chunks_exact(d).zip(targets) {
                model.probabilities(row, &mut probabilities);
                probabilities[target] -= 1.0;
                for (j, &v) in row.iter().enumerate() {
                    let v = f64::from(v);
                    if v != 0.0 {
                        for (c, &p) in probabilities.iter().enumerate() {
                            gradient[j * classes + c] += v * p;
                        }
                    }
                }
                for (b, &p) in bias_gradient.iter_mut().zip(&probabilities) {
                    *b += p;
                }
            }
            let scale = RATE / m as f64;
            for (w, g) in model.weights.iter_mut().zip(&gradient) {
                *w -= scale * g + RATE * PENALTY * *w;
            }
            for (b, g) in model.bias.iter_mut().zip(&bias_gradient) {
                *b -= scale * g;
            }
        }
        model
    }

    fn probabilities(&self, row: &[f32], out: &mut [f64]) {
        out.copy_from_slice(&self.bias);
        for (j, &v) in row.iter().enumerate() {
            let v = f64::from(v);
            if v != 0.0 {
                for (o, w) in
                    out.iter_mut().zip(&self.weights[j * self.classes..(j + 1) * self.classes])
                {
                    *o += v * w;
                }
            }
        }
        let max = out.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut total = 0.0;
        for o in out.iter_mut() {
            *o = (*o - max).exp();
            total += *o;
        }
        out.iter_mut().for_each(|o| *o /= total);
    }

    /// The most probable class and its probability.
    fn predict(&self, row: &[f32]) -> (usize, f32) {
        let mut p = vec![0.0; self.classes];
        self.probabilities(row, &mut p);
        let mut best = 0;
        for c in 1..self.classes {
            if p[c] > p[best] {
                best = c;
            }
        }
        (best, p[best] as f32)
    }
}
