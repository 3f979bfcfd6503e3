//! Tensors written by aigrid (as `arrow.fixed_shape_tensor` columns) are read by pyarrow as
//! tensors with their shape, element type and values, from Arrow IPC and from Parquet files.
//! Skipped, saying so, only without Python.

use std::sync::Arc;

use aigrid_kernels::Tensor;
use arrow_array::RecordBatch;
use arrow_schema::Schema;

mod support;

use support::{Scratch, run};

const READ: &str = r#"
import json, sys
import pyarrow as pa, pyarrow.ipc, pyarrow.parquet as pq
for table in (pa.ipc.open_file(sys.argv[1]).read_all(), pq.read_table(sys.argv[2])):
    out = []
    for name in ("x", "y"):
        column = table.column(name).combine_chunks()
        assert isinstance(column.type, pa.FixedShapeTensorType), column.type
        array = column.to_numpy_ndarray()
        out.append([name, list(array.shape), str(array.dtype), array.ravel().tolist()[:4]])
    print(json.dumps(out))
"#;

#[test]
fn pyarrow_reads_tensors_with_their_shape() {
    let Some(python) = support::python_with_pyarrow() else {
        println!("skipped: no Python (python3 or $AIGRID_PYTHON) to read the files with pyarrow");
        return;
    };
    let scratch = Scratch::new("tensors-pyarrow");
    let x = Tensor::f32(vec![4, 2, 3], (0..24).map(|i| i as f32 * 0.5).collect());
    let y = Tensor::f64(vec![4, 5], (0..20).map(|i| -(i as f64)).collect());
    let (Ok(x), Ok(y)) = (x, y) else { panic!("bad tensors") };
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (name, tensor) in [("x", &x), ("y", &y)] {
        let (field, array) = tensor.to_arrow(name).unwrap_or_else(|e| panic!("{e}"));
        fields.push(field);
        columns.push(array);
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap_or_else(|e| panic!("{e}"));
    let ipc = scratch.path().join("t.arrow");
    let parquet = scratch.path().join("t.parquet");
    let create =
        |path: &std::path::Path| std::fs::File::create(path).unwrap_or_else(|e| panic!("{e}"));
    let mut writer = arrow_ipc::writer::FileWriter::try_new(create(&ipc), &schema)
        .unwrap_or_else(|e| panic!("{e}"));
    writer.write(&batch).unwrap_or_else(|e| panic!("{e}"));
    writer.finish().unwrap_or_else(|e| panic!("{e}"));
    let mut writer = parquet::arrow::ArrowWriter::try_new(create(&parquet), schema, None)
        .unwrap_or_else(|e| panic!("{e}"));
    writer.write(&batch).unwrap_or_else(|e| panic!("{e}"));
    writer.close().unwrap_or_else(|e| panic!("{e}"));

    let (code, stdout, stderr) =
        run(std::process::Command::new(&python).args(["-c", READ]).arg(&ipc).arg(&parquet));
    assert_eq!(code, 0, "{stderr}");
    let expected = r#"[["x", [4, 2, 3], "float32", [0.0, 0.5, 1.0, 1.5]], ["y", [4, 5], "float64", [-0.0, -1.0, -2.0, -3.0]]]"#;
    assert_eq!(stdout, format!("{expected}\n{expected}\n"), "IPC, then Parquet");
}
