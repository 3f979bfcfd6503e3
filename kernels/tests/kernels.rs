//! Tensors round-trip through Arrow, Arrow IPC files and Parquet files with their shape; the
//! kernels agree with naive definitions (broadcasting by index arithmetic, matmul by the triple
//! loop) on generated inputs, on both sides of the multithreading threshold.

use std::sync::Arc;

use aigrid_kernels::{
    Binary, PARALLEL_MIN, Tensor, Unary, binary, broadcast_shape, matmul, scale, unary,
};
use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::Schema;
use proptest::prelude::*;

fn tensor(shape: &[usize], seed: u32) -> Tensor {
    let n = shape.iter().product::<usize>();
    let values = (0..n)
        .map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 100.0 - 5.0)
        .collect();
    Tensor::f32(shape.to_vec(), values).unwrap_or_else(|e| panic!("{e}"))
}

fn values(t: &Tensor) -> &[f32] {
    t.as_f32().unwrap_or_else(|| panic!("not f32"))
}

#[test]
fn tensors_round_trip_through_arrow_ipc_and_parquet() {
    let t = tensor(&[5, 2, 3], 7);
    let (field, array) = t.to_arrow("x").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(field.extension_type_name(), Some("arrow.fixed_shape_tensor"));
    assert_eq!(field.extension_type_metadata(), Some(r#"{"shape":[2,3]}"#));
    assert_eq!(Tensor::from_arrow(&field, array.as_ref()), Ok(t.clone()));
    // A slice of the column is the slice of the tensor.
    let sliced =
        Tensor::from_arrow(&field, array.slice(1, 2).as_ref()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sliced.shape(), [2, 2, 3]);
    assert_eq!(values(&sliced), &values(&t)[6..18]);

    let schema = Arc::new(Schema::new(vec![field]));
    let batch = RecordBatch::try_new(schema.clone(), vec![array]).unwrap_or_else(|e| panic!("{e}"));
    let ipc_path = scratch_file("x.arrow");
    let parquet_path = scratch_file("x.parquet");
    let create =
        |path: &std::path::Path| std::fs::File::create(path).unwrap_or_else(|e| panic!("{e}"));
    let open = |path: &std::path::Path| std::fs::File::open(path).unwrap_or_else(|e| panic!("{e}"));
    {
        let mut writer = arrow_ipc::writer::FileWriter::try_new(create(&ipc_path), &schema)
            .unwrap_or_else(|e| panic!("{e}"));
        writer.write(&batch).unwrap_or_else(|e| panic!("{e}"));
        writer.finish().unwrap_or_else(|e| panic!("{e}"));
    }
    let reader = arrow_ipc::reader::FileReader::try_new(open(&ipc_path), None)
        .unwrap_or_else(|e| panic!("{e}"));
    let schema_read = reader.schema();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap_or_else(|e| panic!("{e}"))).collect();
    let read = Tensor::from_arrow(schema_read.field(0), batches[0].column(0).as_ref());
    assert_eq!(read, Ok(t.clone()), "Arrow IPC");

    {
        let mut writer = parquet::arrow::ArrowWriter::try_new(create(&parquet_path), schema, None)
            .unwrap_or_else(|e| panic!("{e}"));
        writer.write(&batch).unwrap_or_else(|e| panic!("{e}"));
        writer.close().unwrap_or_else(|e| panic!("{e}"));
    }
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(open(&parquet_path))
            .and_then(|b| b.build())
            .unwrap_or_else(|e| panic!("{e}"));
    let schema_read = reader.schema();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap_or_else(|e| panic!("{e}"))).collect();
    let read = Tensor::from_arrow(schema_read.field(0), batches[0].column(0).as_ref());
    assert_eq!(read, Ok(t), "Parquet");
    let _ = std::fs::remove_file(ipc_path);
    let _ = std::fs::remove_file(parquet_path);
}

/// A file under the temporary directory, for this test only.
fn scratch_file(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("aigrid-kernels-{}-{name}", std::process::id()))
}

#[test]
fn columns_that_are_not_tensors_are_refused_with_the_reason() {
    let t = tensor(&[2, 2], 1);
    let (field, array) = t.to_arrow("x").unwrap_or_else(|e| panic!("{e}"));
    let plain = arrow_schema::Field::new("x", field.data_type().clone(), false);
    let error =
        Tensor::from_arrow(&plain, array.as_ref()).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("column `x` is not a tensor"), "{error}");
    assert!(Tensor::f32(vec![2, 2], vec![1.0; 3]).is_err(), "3 elements for a 2x2 tensor");
    assert!(
        Tensor::f32(vec![], vec![1.0]).and_then(|t| t.to_arrow("s")).is_err(),
        "a scalar is no column"
    );
}

/// The value at `index` of `shape` read through broadcasting from `t`.
fn at(t: &Tensor, out_shape: &[usize], index: &[usize]) -> f32 {
    let shape = t.shape();
    let offset = out_shape.len() - shape.len();
    let mut flat = 0;
    for (d, &n) in shape.iter().enumerate() {
        let i = if n == 1 { 0 } else { index[d + offset] };
        flat = flat * n + i;
    }
    values(t)[flat]
}

fn indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let mut all = vec![vec![]];
    for &n in shape {
        all = all
            .into_iter()
            .flat_map(|prefix| (0..n).map(move |i| [prefix.clone(), vec![i]].concat()))
            .collect();
    }
    all
}

fn shapes() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    prop::collection::vec((1usize..5, any::<bool>(), any::<bool>()), 1..4).prop_flat_map(|dims| {
        let a: Vec<usize> = dims.iter().map(|&(n, one, _)| if one { 1 } else { n }).collect();
        let b: Vec<usize> = dims.iter().map(|&(n, _, one)| if one { 1 } else { n }).collect();
        (0..=b.len()).prop_map(move |drop| (a.clone(), b[drop.min(b.len() - 1)..].to_vec()))
    })
}

proptest! {
    #[test]
    fn broadcasting_matches_index_arithmetic((a_shape, b_shape) in shapes(), seed in any::<u32>()) {
        let (a, b) = (tensor(&a_shape, seed), tensor(&b_shape, seed ^ 0xabcd));
        let out_shape = broadcast_shape(&a_shape, &b_shape).unwrap_or_else(|e| panic!("{e}"));
        for op in [Binary::Add, Binary::Sub, Binary::Mul, Binary::Div] {
            let out = binary(op, &a, &b).unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(out.shape(), out_shape.as_slice());
            for (flat, index) in indices(&out_shape).iter().enumerate() {
                let expected = op.apply(at(&a, &out_shape, index), at(&b, &out_shape, index));
                prop_assert_eq!(values(&out)[flat].to_bits(), expected.to_bits(), "{:?} at {:?}", op, index);
            }
        }
    }
}

#[test]
fn shapes_that_do_not_broadcast_are_errors() {
    let error =
        binary(Binary::Add, &tensor(&[2, 3], 0), &tensor(&[4, 3], 0)).err().map(|e| e.to_string());
    assert_eq!(
        error.as_deref(),
        Some("shapes [2, 3] and [4, 3] do not broadcast: 2 and 4 in dimension 0")
    );
}

#[test]
fn large_inputs_split_across_threads_give_the_same_results() {
    let n = PARALLEL_MIN * 3 + 17;
    let x = tensor(&[n], 3);
    let row = tensor(&[1], 9);
    for op in [Unary::Neg, Unary::Exp, Unary::Log, Unary::Relu, Unary::Gelu, Unary::Sigmoid] {
        let out = unary(op, &x).unwrap_or_else(|e| panic!("{e}"));
        for (o, &v) in values(&out).iter().zip(values(&x)) {
            assert_eq!(o.to_bits(), op.apply(v).to_bits(), "{op:?}({v})");
        }
    }
    let sum = binary(Binary::Add, &x, &x).unwrap_or_else(|e| panic!("{e}"));
    assert!(values(&sum).iter().zip(values(&x)).all(|(s, v)| *s == v + v));
    let shifted = binary(Binary::Sub, &x, &row).unwrap_or_else(|e| panic!("{e}"));
    let r = values(&row)[0];
    assert!(values(&shifted).iter().zip(values(&x)).all(|(s, v)| *s == v - r));
    let scaled = scale(&x, 0.5).unwrap_or_else(|e| panic!("{e}"));
    assert!(values(&scaled).iter().zip(values(&x)).all(|(s, v)| *s == v * 0.5));
}

#[test]
fn unary_functions_match_their_definitions() {
    let x = Tensor::f64(vec![5], vec![-2.0, -0.5, 0.0, 0.5, 2.0]).unwrap_or_else(|e| panic!("{e}"));
    let get = |op| {
        unary(op, &x).map(|t| t.as_f64().map(<[f64]>::to_vec)).ok().flatten().unwrap_or_default()
    };
    assert_eq!(get(Unary::Relu), [0.0, 0.0, 0.0, 0.5, 2.0]);
    let sigmoid = get(Unary::Sigmoid);
    assert!(
        (sigmoid[2] - 0.5).abs() < 1e-15 && (sigmoid[4] - 0.880_797_077_977_882_3).abs() < 1e-12
    );
    // GELU (tanh approximation) against reference values of the exact GELU: within 1e-3.
    let exact = [-0.045_500_263_9, -0.154_268_736_5, 0.0, 0.345_731_263_5, 1.954_499_736_1];
    for (g, e) in get(Unary::Gelu).iter().zip(exact) {
        assert!((g - e).abs() < 1e-3, "gelu {g} vs {e}");
    }
    let i = Tensor::new(vec![1], aigrid_kernels::Data::I64(vec![1i64].into()))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(unary(Unary::Exp, &i).is_err());
}

#[test]
fn matmul_matches_the_triple_loop() {
    for (m, k, n) in [(1, 1, 1), (3, 4, 5), (17, 33, 9), (64, 128, 96), (1, 300, 1)] {
        let a = tensor(&[m, k], 11);
        let b = tensor(&[k, n], 13);
        let c = matmul(&a, &b).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.shape(), [m, n]);
        for i in 0..m {
            for j in 0..n {
                let expected: f64 = (0..k)
                    .map(|p| values(&a)[i * k + p] as f64 * values(&b)[p * n + j] as f64)
                    .sum();
                let got = values(&c)[i * n + j] as f64;
                // f32 accumulation over k terms of magnitude up to 25.
                assert!(
                    (got - expected).abs() <= 1e-4 * (k as f64) * 25.0,
                    "[{m}x{k}x{n}] ({i},{j}): {got} vs {expected}"
                );
            }
        }
    }
    let error = matmul(&tensor(&[2, 3], 0), &tensor(&[4, 2], 0)).err().map(|e| e.to_string());
    assert_eq!(
        error.as_deref(),
        Some("matmul of [2, 3] and [4, 2]: the inner dimensions differ (3 and 4)")
    );
}

#[test]
fn batched_matmul_multiplies_each_broadcast_pair_of_matrices() {
    // (a, b, result): batch dimensions broadcast as in NumPy's matmul.
    for (a_shape, b_shape, shape) in [
        (vec![3, 2, 4], vec![3, 4, 5], vec![3, 2, 5]),
        (vec![3, 2, 4], vec![4, 5], vec![3, 2, 5]),
        (vec![2, 4], vec![3, 4, 5], vec![3, 2, 5]),
        (vec![2, 1, 2, 4], vec![3, 4, 5], vec![2, 3, 2, 5]),
        // Many small products, enough work in all to be spread over threads pair by pair.
        (vec![8192, 2, 4], vec![4, 5], vec![8192, 2, 5]),
        (vec![8192, 2, 4], vec![8192, 4, 5], vec![8192, 2, 5]),
    ] {
        let (a, b) = (tensor(&a_shape, 5), tensor(&b_shape, 7));
        let c = matmul(&a, &b).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.shape(), shape.as_slice());
        let (m, k, n) = (a_shape[a_shape.len() - 2], 4, 5);
        for index in indices(&shape[..shape.len() - 2]) {
            // Each matrix of the result is the product of the matrices the index picks.
            let pick = |t: &Tensor, rows: usize, cols: usize| -> Tensor {
                let own = &t.shape()[..t.shape().len() - 2];
                let offset = index.len() - own.len();
                let flat = own
                    .iter()
                    .enumerate()
                    .fold(0, |f, (d, &size)| f * size + index[d + offset].min(size - 1));
                let v = values(t)[flat * rows * cols..(flat + 1) * rows * cols].to_vec();
                Tensor::f32(vec![rows, cols], v).unwrap_or_else(|e| panic!("{e}"))
            };
            let expected =
                matmul(&pick(&a, m, k), &pick(&b, k, n)).unwrap_or_else(|e| panic!("{e}"));
            let flat = index.iter().zip(&shape).fold(0, |f, (&i, &size)| f * size + i);
            assert_eq!(
                &values(&c)[flat * m * n..(flat + 1) * m * n],
                values(&expected),
                "{index:?}"
            );
        }
    }
    let error = matmul(&tensor(&[2, 2, 3], 0), &tensor(&[3, 3, 2], 0)).err().map(|e| e.to_string());
    assert!(error.is_some_and(|e| e.contains("broadcast")), "batches of 2 and 3 do not broadcast");
    assert!(matmul(&tensor(&[3], 0), &tensor(&[3, 2], 0)).is_err(), "a vector is not a matrix");
}

#[test]
fn reductions_match_loops_over_each_axis() {
    use aigrid_kernels::{Reduce, reduce};
    let x = tensor(&[3, 4, 5], 21);
    let v = values(&x);
    let at = |i: usize, j: usize, l: usize| v[(i * 4 + j) * 5 + l] as f64;
    for axis in 0..3 {
        let dims = [3, 4, 5];
        for op in [Reduce::Sum, Reduce::Mean, Reduce::Max, Reduce::Min, Reduce::Argmax] {
            let out = reduce(op, &x, axis).unwrap_or_else(|e| panic!("{e}"));
            let mut kept: Vec<usize> = dims.to_vec();
            kept.remove(axis);
            assert_eq!(out.shape(), kept.as_slice());
            for (flat, index) in indices(&kept).iter().enumerate() {
                let along: Vec<f64> = (0..dims[axis])
                    .map(|p| {
                        let mut full = index.clone();
                        full.insert(axis, p);
                        at(full[0], full[1], full[2])
                    })
                    .collect();
                let (best, arg) = along
                    .iter()
                    .enumerate()
                    .fold((f64::MIN, 0), |(b, a), (i, &x)| if x > b { (x, i) } else { (b, a) });
                let expected = match op {
                    Reduce::Sum => along.iter().sum::<f64>(),
                    Reduce::Mean => along.iter().sum::<f64>() / along.len() as f64,
                    Reduce::Max => best,
                    Reduce::Min => along.iter().copied().fold(f64::MAX, f64::min),
                    Reduce::Argmax => arg as f64,
                };
                let got = match out.data() {
                    aigrid_kernels::Data::I64(i) => i[flat] as f64,
                    _ => values(&out)[flat] as f64,
                };
                assert!(
                    (got - expected).abs() < 1e-4,
                    "{op:?} axis {axis} at {index:?}: {got} vs {expected}"
                );
            }
        }
    }
    assert!(reduce(Reduce::Sum, &x, 3).is_err(), "axis 3 of a rank-3 tensor");
}

#[test]
fn row_operations_match_their_definitions() {
    use aigrid_kernels::{cosine_similarity, l2_normalize, softmax, topk};
    let x = tensor(&[6, 7], 5);
    let s = softmax(&x).unwrap_or_else(|e| panic!("{e}"));
    let n = l2_normalize(&x).unwrap_or_else(|e| panic!("{e}"));
    for r in 0..6 {
        let row = &values(&x)[r * 7..r * 7 + 7];
        let exp: Vec<f64> = row.iter().map(|&v| (v as f64).exp()).collect();
        let total: f64 = exp.iter().sum();
        for (c, e) in exp.iter().enumerate() {
            assert!((values(&s)[r * 7 + c] as f64 - e / total).abs() < 1e-6);
        }
        let norm: f64 = row.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt();
        for (c, &v) in row.iter().enumerate() {
            assert!((values(&n)[r * 7 + c] as f64 - v as f64 / norm).abs() < 1e-6);
        }
    }
    // Large values do not overflow: softmax subtracts the row's maximum.
    let big = Tensor::f32(vec![1, 2], vec![1000.0, 1000.0]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(softmax(&big).ok().map(|t| values(&t).to_vec()), Some(vec![0.5, 0.5]));
    let zero = Tensor::f32(vec![1, 2], vec![0.0, 0.0]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(l2_normalize(&zero).ok().map(|t| values(&t).to_vec()), Some(vec![0.0, 0.0]));

    let b = tensor(&[4, 7], 8);
    let c = cosine_similarity(&x, &b).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.shape(), [6, 4]);
    for i in 0..6 {
        for j in 0..4 {
            let (p, q) = (&values(&x)[i * 7..i * 7 + 7], &values(&b)[j * 7..j * 7 + 7]);
            let dot: f64 = p.iter().zip(q).map(|(a, b)| *a as f64 * *b as f64).sum();
            let norms = p.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt()
                * q.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
            assert!((values(&c)[i * 4 + j] as f64 - dot / norms).abs() < 1e-5);
        }
    }

    let t = Tensor::f32(vec![2, 5], vec![3.0, 1.0, 3.0, 9.0, 0.0, -1.0, -2.0, -3.0, -4.0, -5.0])
        .unwrap_or_else(|e| panic!("{e}"));
    let (top, index) = topk(&t, 3).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(values(&top), [9.0, 3.0, 3.0, -1.0, -2.0, -3.0]);
    assert_eq!(
        index.data(),
        &aigrid_kernels::Data::I64(vec![3i64, 0, 2, 0, 1, 2].into()),
        "ties: lower index first"
    );
    assert!(topk(&t, 6).is_err());
}

#[test]
fn fused_chains_equal_their_steps_run_one_by_one() {
    use aigrid_kernels::{Operand, Step, fused};
    for n in [5, 1000, PARALLEL_MIN * 2 + 333] {
        let (x, y) = (tensor(&[n], 1), tensor(&[n], 2));
        // relu(x * 2 + y) - sigmoid(y)
        let steps = [
            Step::Binary(Binary::Mul, Operand::Input(0), Operand::Const(2.0)),
            Step::Binary(Binary::Add, Operand::Step(0), Operand::Input(1)),
            Step::Unary(Unary::Relu, Operand::Step(1)),
            Step::Unary(Unary::Sigmoid, Operand::Input(1)),
            Step::Binary(Binary::Sub, Operand::Step(2), Operand::Step(3)),
        ];
        let got = fused(&steps, &[&x, &y]).unwrap_or_else(|e| panic!("{e}"));
        let one_by_one = {
            let a = scale(&x, 2.0).and_then(|a| binary(Binary::Add, &a, &y));
            let a = a.and_then(|a| unary(Unary::Relu, &a));
            let s = unary(Unary::Sigmoid, &y);
            a.and_then(|a| s.and_then(|s| binary(Binary::Sub, &a, &s)))
        };
        assert_eq!(Ok(got), one_by_one, "n = {n}");
    }
    let x = tensor(&[3], 0);
    let bad = [Step::Unary(Unary::Exp, Operand::Step(0))];
    assert!(fused(&bad, &[&x]).is_err(), "a step reading itself");
    let bad = [Step::Unary(Unary::Exp, Operand::Input(1))];
    assert!(fused(&bad, &[&x]).is_err(), "a missing input");
    assert!(
        fused(&[Step::Unary(Unary::Exp, Operand::Input(1))], &[&x, &tensor(&[4], 0)]).is_err(),
        "two shapes"
    );
}

#[test]
fn kernels_into_a_buffer_equal_those_that_allocate() {
    use aigrid_kernels::{Operand, Step, fused, fused_into, l2_normalize, l2_normalize_into};
    for rows in [3, PARALLEL_MIN / 8 + 5] {
        let x = tensor(&[rows, 16], 4);
        let mut out = vec![f32::NAN; rows * 16];
        l2_normalize_into(values(&x), 16, &mut out).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Some(out.as_slice()), l2_normalize(&x).ok().as_ref().map(values));
        let steps = [
            Step::Binary(Binary::Sub, Operand::Const(1.0), Operand::Input(0)),
            Step::Binary(Binary::Div, Operand::Step(0), Operand::Const(3.0)),
            Step::Unary(Unary::Gelu, Operand::Step(1)),
        ];
        fused_into(&steps, &[values(&x)], &mut out).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Some(out.as_slice()), fused(&steps, &[&x]).ok().as_ref().map(values));
    }
    let mut short = vec![0f32; 3];
    assert!(l2_normalize_into(&[1.0, 2.0, 3.0, 4.0], 2, &mut short).is_err());
    assert!(l2_normalize_into(&[1.0, 2.0, 3.0], 2, &mut short).is_err(), "3 is not rows of 2");
    let steps = [Step::Unary(Unary::Exp, Operand::Input(0))];
    assert!(fused_into(&steps, &[&[1.0, 2.0]], &mut short).is_err());
}

#[test]
fn layout_operations_move_elements_where_indices_say() {
    use aigrid_kernels::{concat, reshape, slice, transpose};
    let x = tensor(&[2, 3, 4], 6);
    let v = values(&x);
    let at = |i: usize, j: usize, k: usize| v[(i * 3 + j) * 4 + k];
    let t = transpose(&x, &[2, 0, 1]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.shape(), [4, 2, 3]);
    for (flat, index) in indices(&[4, 2, 3]).iter().enumerate() {
        assert_eq!(values(&t)[flat], at(index[1], index[2], index[0]));
    }
    assert!(transpose(&x, &[0, 0, 1]).is_err());
    let r = reshape(&x, &[6, 4]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((r.shape(), values(&r)), (&[6, 4][..], v));
    assert!(reshape(&x, &[5, 5]).is_err());
    let y = tensor(&[2, 1, 4], 9);
    let c = concat(&[&x, &y], 1).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.shape(), [2, 4, 4]);
    for (flat, index) in indices(&[2, 4, 4]).iter().enumerate() {
        let expected = if index[1] < 3 {
            at(index[0], index[1], index[2])
        } else {
            values(&y)[index[0] * 4 + index[2]]
        };
        assert_eq!(values(&c)[flat], expected);
    }
    assert!(concat(&[&x, &tensor(&[2, 3, 5], 0)], 1).is_err());
    let s = slice(&x, 1, 1, 3).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.shape(), [2, 2, 4]);
    for (flat, index) in indices(&[2, 2, 4]).iter().enumerate() {
        assert_eq!(values(&s)[flat], at(index[0], index[1] + 1, index[2]));
    }
    let first = slice(&x, 0, 1, 2).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(values(&first), &v[12..24]);
    assert!(slice(&x, 1, 2, 4).is_err());
}

#[test]
fn text_operations_keep_nulls_and_count_characters() {
    use aigrid_kernels::{chunk, lower, regex_extract, split};
    use arrow_array::{Array, ListArray, StringArray};
    let texts = StringArray::from(vec![Some("Héllo World"), None, Some("a,b,,c"), Some("")]);
    let lowered = lower(&texts);
    assert_eq!(
        lowered.iter().collect::<Vec<_>>(),
        [Some("héllo world"), None, Some("a,b,,c"), Some("")]
    );
    let lists = |l: &ListArray| -> Vec<Option<Vec<String>>> {
        (0..l.len())
            .map(|i| {
                l.is_valid(i).then(|| {
                    let v = l.value(i);
                    let s = v
                        .as_any()
                        .downcast_ref::<StringArray>()
                        .map(|s| s.iter().map(|x| x.unwrap_or_default().to_owned()).collect());
                    s.unwrap_or_default()
                })
            })
            .collect()
    };
    let parts = split(&texts, ",").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        lists(&parts),
        [
            Some(vec!["Héllo World".into()]),
            None,
            Some(vec!["a".into(), "b".into(), "".into(), "c".into()]),
            Some(vec!["".into()])
        ]
    );
    assert!(split(&texts, "").is_err());
    let found = regex_extract(&texts, r"(\w)o (\w+)", 2).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(found.iter().collect::<Vec<_>>(), [Some("World"), None, None, None]);
    assert!(regex_extract(&texts, "(", 0).is_err(), "a bad pattern");
    assert!(regex_extract(&texts, "(a)", 2).is_err(), "no group 2");
    // Windows of 4 characters (not bytes: é is two bytes), 1 shared with the next.
    let windows = chunk(&texts, 4, 1).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        lists(&windows)[0],
        Some(vec!["Héll".into(), "lo W".into(), "Worl".into(), "ld".into()])
    );
    assert_eq!(lists(&windows)[1], None);
    assert_eq!(lists(&windows)[3], Some(vec![]), "an empty text has no window");
    assert!(chunk(&texts, 4, 4).is_err());
}

#[test]
fn hashed_rows_are_unit_length_deterministic_and_closer_for_shared_words() {
    use aigrid_kernels::{cosine_similarity, hash_vectorize};
    use arrow_array::StringArray;
    let texts = StringArray::from(vec![
        Some("The invoice was paid twice"),
        Some("twice PAID, the invoice was!"),
        Some("Payment for the invoice failed"),
        Some("Weather in Lisbon is sunny"),
        Some("a ! ?"),
        None,
    ]);
    let rows = hash_vectorize(&texts, 256).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows.shape(), [6, 256]);
    let v = values(&rows);
    let norm = |r: usize| v[r * 256..(r + 1) * 256].iter().map(|x| x * x).sum::<f32>().sqrt();
    for r in 0..4 {
        assert!((norm(r) - 1.0).abs() < 1e-6, "row {r} has norm {}", norm(r));
    }
    assert_eq!((norm(4), norm(5)), (0.0, 0.0), "no token of two characters, and a null");
    assert_eq!(&v[0..256], &v[256..512], "case, order and punctuation do not matter");
    assert_eq!(hash_vectorize(&texts, 256).ok(), Some(rows.clone()), "deterministic");
    let first = aigrid_kernels::slice(&rows, 0, 0, 4).unwrap_or_else(|e| panic!("{e}"));
    let similarity = cosine_similarity(&first, &first).unwrap_or_else(|e| panic!("{e}"));
    let s = values(&similarity);
    assert!(
        s[2] > s[3],
        "a text shares more with one on the same invoice ({}) than with the weather ({})",
        s[2],
        s[3]
    );
    assert!(hash_vectorize(&texts, 0).is_err());
}
