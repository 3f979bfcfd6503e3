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

/// A tensor of any element type is given as JSON, cast to one the kernels compute on and back,
/// and written with its type; a value that does not fit the target type is an error, not a
/// wrapped or rounded element.
#[test]
fn tensors_of_other_element_types_are_cast_to_and_from_the_kernels_types() {
    let scratch = Scratch::new("tensors-elements");
    scratch.write(
        "p.ag",
        "use std.tensor.{cast, mul}\n\n\
         pipeline main(x: tensor<i32, [N, 2]>, keep: tensor<bool, [N, 2]>) -> tensor<i32, [N, 2]> {\n    \
         let y = cast(x, \"f64\")\n    \
         return cast(mul(mul(y, y), cast(keep, \"f64\")), \"i32\")\n}\n\n\
         pipeline flags(x: tensor<u8, [N]>) -> tensor<bool, [N]> {\n    \
         return cast(x, \"bool\")\n}\n\n\
         pipeline wide(x: tensor<i64, [N]>) -> tensor<i64, [N]> {\n    \
         return mul(x, x)\n}\n",
    );
    let out = scratch.path().join("out.json");
    let main = |x: &str| {
        let mut command = scratch.aigridc();
        command.args(["run", "p.ag", "--pipeline", "main", "--output"]).arg(&out);
        command.args([
            "--param",
            &format!("x={x}"),
            "--param",
            "keep=[[true, false], [true, true]]",
        ]);
        run(&mut command)
    };
    let (code, _, stderr) = main("[[1, -2], [3, 40000]]");
    assert_eq!(code, 0, "{stderr}");
    let written = std::fs::read_to_string(&out).unwrap_or_default();
    assert_eq!(written, "{\"tensor\":[1,0]}\n{\"tensor\":[9,1600000000]}\n");

    // 50000² is over i32's largest value.
    let (code, _, stderr) = main("[[1, -2], [3, 50000]]");
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("Can't cast value 2500000000"), "{stderr}");

    let flags = |x: &str| {
        let mut command = scratch.aigridc();
        command.args(["run", "p.ag", "--pipeline", "flags", "--output"]).arg(&out);
        run(command.args(["--param", &format!("x={x}")]))
    };
    let (code, _, stderr) = flags("[0, 7, 1]");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap_or_default(),
        "{\"tensor\":[false]}\n{\"tensor\":[true]}\n{\"tensor\":[true]}\n"
    );
    let (code, _, stderr) = flags("[0, 300]");
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("300"), "{stderr}");

    // i64 goes through the f64 kernel only where that is exact: up to 2^53 (94906265² is
    // under it, 94906266² over it).
    let mut command = scratch.aigridc();
    command.args(["run", "p.ag", "--pipeline", "wide", "--param", "x=[3, 94906265]"]);
    let (code, stdout, stderr) = run(&mut command);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("9007199136250225"), "{stdout}");
    let mut command = scratch.aigridc();
    command.args(["run", "p.ag", "--pipeline", "wide", "--param", "x=[3, 94906266]"]);
    let (code, _, stderr) = run(&mut command);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("too large to compute on exactly"), "{stderr}");
}
