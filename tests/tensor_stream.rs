//! Row-wise tensor operations on a tensor column stream through the table's batches
//! (`TensorKernelExec`) and give exactly what the kernels give on the whole tensor.

use std::path::Path;
use std::sync::Arc;

use aigrid_kernels::{Tensor, Unary, l2_normalize, reduce, scale, softmax, unary};
use arrow_array::cast::AsArray;
use arrow_array::types::Float32Type;
use arrow_array::{Array, Int64Array, RecordBatch};
use arrow_schema::{Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

mod support;

use support::{Scratch, run};

const ROWS: usize = 20_000;
const WIDTH: usize = 8;

/// Writes `docs.parquet`: `id` 0..ROWS and `emb`, a tensor<f32, [WIDTH]> column, in row groups
/// of 3,000 rows. Returns the whole `emb` tensor.
fn write_docs(path: &Path) -> Tensor {
    let values: Vec<f32> =
        (0..ROWS * WIDTH).map(|i| ((i * 7919) % 1000) as f32 / 100.0 - 5.0).collect();
    let emb = Tensor::f32(vec![ROWS, WIDTH], values).unwrap_or_else(|e| panic!("{e}"));
    let (field, array) = emb.to_arrow("emb").unwrap_or_else(|e| panic!("{e}"));
    let schema =
        Arc::new(Schema::new(vec![Field::new("id", arrow_schema::DataType::Int64, false), field]));
    let ids = Arc::new(Int64Array::from_iter_values(0..ROWS as i64));
    let batch =
        RecordBatch::try_new(schema.clone(), vec![ids, array]).unwrap_or_else(|e| panic!("{e}"));
    let file = std::fs::File::create(path).unwrap_or_else(|e| panic!("{e}"));
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(3_000))
        .build();
    let mut writer =
        ArrowWriter::try_new(file, schema, Some(props)).unwrap_or_else(|e| panic!("{e}"));
    writer.write(&batch).unwrap_or_else(|e| panic!("{e}"));
    writer.close().unwrap_or_else(|e| panic!("{e}"));
    emb
}

/// The tensor in the one column of a Parquet file: its row shape and its values.
fn read_tensor(path: &Path) -> (Vec<usize>, usize, Vec<f32>) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap_or_else(|e| panic!("{e}"));
    let field = builder.schema().field(0).clone();
    let row_shape = Tensor::row_shape(&field).unwrap_or_else(|e| panic!("{e}"));
    let mut rows = 0;
    let mut values = Vec::new();
    for batch in builder.build().unwrap_or_else(|e| panic!("{e}")) {
        let batch = batch.unwrap_or_else(|e| panic!("{e}"));
        let list = batch.column(0).as_fixed_size_list();
        rows += list.len();
        let items = list.values().slice(
            list.offset() * list.value_length() as usize,
            list.len() * list.value_length() as usize,
        );
        values.extend_from_slice(items.as_primitive::<Float32Type>().values());
    }
    (row_shape, rows, values)
}

/// The rows of `x` whose index is not a multiple of 3 (the pipeline's SQL filter).
fn kept(x: &Tensor) -> Tensor {
    let data = x.as_f32().unwrap_or_else(|| panic!("not f32"));
    let values: Vec<f32> = data
        .chunks(WIDTH)
        .enumerate()
        .filter(|(i, _)| i % 3 != 0)
        .flat_map(|(_, row)| row.iter().copied())
        .collect();
    let rows = values.len() / WIDTH;
    Tensor::f32(vec![rows, WIDTH], values).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn row_wise_tensor_operations_on_a_tensor_column_stream_with_the_kernels_results() {
    let scratch = Scratch::new("tensor-stream");
    let emb = write_docs(&scratch.path().join("docs.parquet"));
    scratch.write(
        "stream.ag",
        "use std.io.{read_parquet, write_parquet}\n\
         use std.tensor.{l2_normalize, relu, scale, softmax, sum}\n\n\
         type Docs = table { id: i64, emb: tensor<f32, [8]> }\n\n\
         pipeline main() {\n    \
         let docs: Docs = read_parquet(\"docs.parquet\")\n    \
         let kept = sql(\"SELECT id, emb FROM docs WHERE id % 3 <> 0\", docs = docs)\n    \
         write_parquet(kept.emb |> scale(2.0) |> relu |> l2_normalize, \"unit.parquet\")\n    \
         let again: Docs = read_parquet(\"docs.parquet\")\n    \
         let rest = sql(\"SELECT id, emb FROM again WHERE id % 3 <> 0\", again = again)\n    \
         write_parquet(sum(softmax(rest.emb), axis = 1), \"sums.parquet\")\n}\n",
    );
    let (status, _, stderr) =
        run(scratch.aigridc().args(["run", "stream.ag", "-q", "--log-format", "json"]));
    assert_eq!(status, 0, "{stderr}");
    // The tensor steps streamed into the writes: none of them was computed on its own.
    for line in stderr.lines().filter(|l| l.contains("\"node_finished\"")) {
        let event: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let what = event["what"].as_str().unwrap_or_default();
        if what.starts_with("std.tensor.") || what == "fused" {
            assert_eq!(event["streamed"], true, "{line}");
        }
    }

    let step = |r: Result<Tensor, aigrid_kernels::KernelError>| r.unwrap_or_else(|e| panic!("{e}"));
    let kept = kept(&emb);
    let unit = step(l2_normalize(&step(unary(Unary::Relu, &step(scale(&kept, 2.0))))));
    let (row_shape, rows, values) = read_tensor(&scratch.path().join("unit.parquet"));
    assert_eq!((row_shape, rows), (vec![WIDTH], kept.shape()[0]));
    // Rows are independent: batch by batch is bit for bit the whole tensor's result.
    assert_eq!(values, unit.as_f32().unwrap_or_default());

    let sums = step(reduce(aigrid_kernels::Reduce::Sum, &step(softmax(&kept)), 1));
    let (row_shape, rows, values) = read_tensor(&scratch.path().join("sums.parquet"));
    assert_eq!((row_shape, rows), (Vec::<usize>::new(), kept.shape()[0]));
    assert_eq!(values, sums.as_f32().unwrap_or_default());
}
