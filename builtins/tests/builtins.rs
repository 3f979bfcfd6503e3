//! The built-in AIs, called as the executor calls them: prepare with the whole arguments, then
//! batches of the streamed one. The MiniLM tests need the model (`aigridc models fetch
//! minilm`); without it they say so and skip, unless `AIGRID_REQUIRE_MODELS=1` (set by CI).

use std::sync::Arc;

use aigrid_builtins::{Args, Library, ModelStore, Prepared, Value};
use aigrid_kernels::Tensor;
use arrow_array::cast::AsArray;
use arrow_array::types::Float32Type;
use arrow_array::{Array, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};

fn library() -> Library {
    Library::new(&ModelStore::from_env())
}

fn texts(values: &[&str]) -> Value {
    Value::list(Arc::new(StringArray::from(values.to_vec())))
}

fn prepare(name: &str, args: Args) -> Box<dyn Prepared> {
    let library = library();
    let Some(builtin) = library.get(name) else { panic!("no builtin:{name}") };
    builtin.prepare(&args).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn labels(value: &Value) -> Vec<String> {
    let Value::Column(_, array) = value else { panic!("not a list: {value:?}") };
    array.as_string::<i32>().iter().map(|s| s.unwrap_or("<null>").to_string()).collect()
}

fn tensor(value: &Value) -> Tensor {
    let Value::Column(field, array) = value else { panic!("not a tensor: {value:?}") };
    Tensor::from_arrow(field, array.as_ref()).unwrap_or_else(|e| panic!("{e}"))
}

fn matrix(rows: &[&[f32]]) -> Value {
    let d = rows[0].len();
    let values = rows.iter().flat_map(|r| r.iter().copied()).collect();
    let tensor = Tensor::f32(vec![rows.len(), d], values).unwrap_or_else(|e| panic!("{e}"));
    Value::tensor(&tensor).unwrap_or_else(|e| panic!("{e}"))
}

fn scalar(v: impl Into<serde_json::Value>) -> Value {
    Value::Scalar(v.into())
}

#[test]
fn hashing_vectors_have_the_card_s_width_and_unit_rows() {
    let call = prepare("hashing-1024", Args::new());
    let out = tensor(&call.call(&texts(&["the grid", "ai grid network", ""])).unwrap());
    assert_eq!(out.shape(), [3, 1024]);
    let v = out.as_f32().unwrap();
    let norm = |r: usize| v[r * 1024..(r + 1) * 1024].iter().map(|x| x * x).sum::<f32>();
    assert!((norm(0) - 1.0).abs() < 1e-6 && (norm(1) - 1.0).abs() < 1e-6);
    assert_eq!(norm(2), 0.0, "a text without words is a zero row");
}

fn classifier_args(k: Option<i64>) -> Args {
    let mut args = Args::new();
    args.insert(
        "examples".into(),
        matrix(&[&[1.0, 0.0], &[0.9, 0.1], &[0.8, 0.3], &[0.0, 1.0], &[0.1, 0.9]]),
    );
    args.insert("labels".into(), texts(&["east", "east", "east", "north", "north"]));
    if let Some(k) = k {
        args.insert("k".into(), scalar(k));
    }
    args
}

#[test]
fn knn_votes_by_similarity_and_reports_the_winner_s_share() {
    let call = prepare("knn", classifier_args(Some(3)));
    let out = call.call(&matrix(&[&[1.0, 0.05], &[0.05, 1.0]])).unwrap();
    let Value::Table(batch) = out else { panic!("knn gives a table") };
    let label = batch.column(0).as_string::<i32>();
    assert_eq!((label.value(0), label.value(1)), ("east", "north"));
    let confidence = batch.column(1).as_primitive::<Float32Type>();
    assert_eq!(confidence.value(0), 1.0, "all three neighbours are east");
    assert!(confidence.value(1) > 0.5 && confidence.value(1) < 1.0);
    let labels_only = prepare("knn-labels", classifier_args(None));
    assert_eq!(labels(&labels_only.call(&matrix(&[&[0.2, 0.9]])).unwrap()), ["north"]);
}

#[test]
fn classifiers_refuse_mismatched_examples_with_the_reason() {
    let library = library();
    let Some(knn) = library.get("knn") else { panic!("no knn") };
    let mut args = classifier_args(None);
    args.insert("labels".into(), texts(&["east"]));
    let error = knn.prepare(&args).err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(error, "bad argument: 5 examples but 1 labels: each example needs one");
    let call = knn.prepare(&classifier_args(None)).unwrap();
    let error = call.call(&matrix(&[&[1.0, 0.0, 0.0]])).err().map(|e| e.to_string());
    assert_eq!(error.as_deref(), Some("bad argument: `x` has 3 columns but the examples have 2"));
}

#[test]
fn logistic_regression_separates_separable_classes() {
    let call = prepare("logreg", classifier_args(None));
    let out = call.call(&matrix(&[&[0.95, 0.0], &[0.0, 0.8], &[0.7, 0.2]])).unwrap();
    assert_eq!(labels(&out), ["east", "north", "east"]);
}

#[test]
fn tabular_logistic_regression_scores_probabilities() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Int64, false),
        Field::new("failed_payments", DataType::Float64, true),
        Field::new("churned", DataType::Boolean, true),
    ]));
    let train = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5, 6])),
            Arc::new(Float64Array::from(vec![0.0, 0.0, 1.0, 3.0, 4.0, 5.0])),
            Arc::new(BooleanArray::from(vec![
                Some(false),
                Some(false),
                Some(false),
                Some(true),
                Some(true),
                None,
            ])),
        ],
    )
    .unwrap();
    let rows = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![7, 8])),
            Arc::new(Float64Array::from(vec![0.0, 6.0])),
            Arc::new(BooleanArray::from(vec![None::<bool>, None])),
        ],
    )
    .unwrap();
    let mut args = Args::new();
    args.insert("train".into(), Value::Table(train));
    args.insert("label".into(), scalar("churned"));
    let out = prepare("logreg-tabular", args).call(&Value::Table(rows)).unwrap();
    let Value::Column(_, scores) = out else { panic!("a list of scores") };
    let scores = scores.as_primitive::<Float32Type>();
    assert!(scores.value(0) < 0.2 && scores.value(1) > 0.8, "{scores:?}");
}

#[test]
fn keywords_and_summaries_work_row_by_row() {
    let mut args = Args::new();
    args.insert("top".into(), scalar(2));
    let call = prepare("keywords", args);
    let out = call.call(&texts(&["Solar panels, solar farms and wind farms.", "Rain."])).unwrap();
    let Value::Column(_, lists) = out else { panic!("a list of lists") };
    let lists = lists.as_list::<i32>();
    let first: Vec<_> =
        lists.value(0).as_string::<i32>().iter().flatten().map(str::to_string).collect();
    assert_eq!(first, ["solar", "farms"]);
    assert_eq!(lists.value(1).len(), 1);
    let lead = prepare("lead", Args::new());
    let out = lead.call(&texts(&["One. Two. Three."])).unwrap();
    assert_eq!(labels(&out), ["One. Two."]);
}

/// The MiniLM model, or `None` (with the reason printed) when it has not been fetched.
fn minilm() -> Option<Box<dyn Prepared>> {
    let library = library();
    match library.get("minilm") {
        Some(builtin) => Some(builtin.prepare(&Args::new()).unwrap_or_else(|e| panic!("{e}"))),
        None => {
            let hint = library
                .missing()
                .iter()
                .find(|m| m.card.id == "minilm-l6-v2.cpu")
                .map(|m| m.hint.clone());
            if std::env::var("AIGRID_REQUIRE_MODELS").as_deref() == Ok("1") {
                panic!("AIGRID_REQUIRE_MODELS=1 but MiniLM is missing: {hint:?}");
            }
            println!("skipped: {}", hint.unwrap_or_default());
            None
        }
    }
}

#[test]
fn minilm_embeddings_put_paraphrases_closer_than_unrelated_sentences() {
    let Some(model) = minilm() else { return };
    let sentences = [
        "How do I reset my password?",
        "I forgot my password and need to change it.",
        "The invoice for March has not arrived yet.",
        "Penguins live in the southern hemisphere.",
    ];
    let out = tensor(&model.call(&texts(&sentences)).unwrap());
    assert_eq!(out.shape(), [4, 384]);
    let v = out.as_f32().unwrap();
    let row = |i: usize| &v[i * 384..(i + 1) * 384];
    let cos = |a: usize, b: usize| row(a).iter().zip(row(b)).map(|(x, y)| x * y).sum::<f32>();
    for i in 0..4 {
        assert!((cos(i, i) - 1.0).abs() < 1e-5, "row {i} is not unit length");
    }
    assert!(cos(0, 1) > 0.6, "paraphrases: {}", cos(0, 1));
    assert!(cos(0, 1) > cos(0, 2) + 0.3 && cos(0, 1) > cos(0, 3) + 0.3);
    // Batching does not change a row: alone or among others, the same vector.
    let alone = tensor(&model.call(&texts(&sentences[3..])).unwrap());
    let drift =
        alone.as_f32().unwrap().iter().zip(row(3)).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(drift < 1e-5, "a row changed with its batch by {drift}");
}
