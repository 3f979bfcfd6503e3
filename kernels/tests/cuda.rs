//! Every CUDA operation against the CPU kernel on the same inputs (values in [-2, 2)).
//! Tolerances:
//! - exact: arithmetic and `scale` (no fused multiply-add on either side), maxima, minima,
//!   arg-maxima, top-k and layout;
//! - elementwise functions and fused chains: 1e-6 (f32) and 1e-14 (f64) of `max(1, |cpu|)`,
//!   since only CUDA's `expf`/`logf`/`tanhf` differ from the host's, by a few ulp;
//! - softmax, norms and cosine similarity: 1e-4 (f32) and 1e-12 (f64) of `max(1, |cpu|)`;
//! - sums, means and matrix products, which the GPU adds in another order: 1e-6 (f32) and
//!   1e-14 (f64) of the largest sum of magnitudes the result can have (2n for a sum of n
//!   values, 4k for a product over k).
//!
//! Where no GPU is usable (no CUDA driver, no device) each test says so and passes: the CPU
//! kernels have their own tests.

use aigrid_kernels::cuda::{Gpu, GpuTensor};
use aigrid_kernels::{
    Binary, Data, KernelError, Operand, Reduce, Step, Tensor, Unary, binary, concat,
    cosine_similarity, fused, l2_normalize, matmul, reduce, reshape, scale, slice, softmax, topk,
    transpose, unary,
};

/// The NVIDIA wheel of NVRTC, the CUDA release of the GPU machines (13.0).
const NVRTC_WHEEL: &str = "nvidia-cuda-nvrtc==13.0.88";

/// NVRTC needs no device, so the kernels' source compiles on every machine with Python: with
/// the system's NVRTC, else with [`NVRTC_WHEEL`] from PyPI, unpacked under Cargo's target
/// directory and loaded from there (CUDA then finds it loaded by its name).
#[test]
fn the_kernels_compile_with_nvrtc() {
    if aigrid_kernels::cuda::compile_kernels().is_ok() {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("nvrtc");
    let lib = dir.join("nvidia/cu13/lib");
    if !lib.join("libnvrtc.so.13").exists() {
        let python = std::env::var("AIGRID_PYTHON").unwrap_or_else(|_| "python3".into());
        let run = |args: &[&str]| {
            let output = std::process::Command::new(&python).args(args).output();
            output.map(|o| (o.status.success(), String::from_utf8_lossy(&o.stderr).into_owned()))
        };
        let Ok((true, _)) = run(&["--version"]) else {
            eprintln!("skipped: no Python to install NVRTC with");
            return;
        };
        let wheels = dir.join("wheel");
        let wheels = wheels.to_string_lossy();
        let (done, why) =
            run(&["-m", "pip", "download", "--quiet", "--no-deps", "-d", &wheels, NVRTC_WHEEL])
                .unwrap_or_else(|e| panic!("{e}"));
        assert!(done, "cannot download {NVRTC_WHEEL}: {why}");
        let script = format!(
            "import glob, zipfile; zipfile.ZipFile(glob.glob('{wheels}/*.whl')[0]).extractall('{}')",
            dir.to_string_lossy()
        );
        let (done, why) = run(&["-c", &script]).unwrap_or_else(|e| panic!("{e}"));
        assert!(done, "cannot unpack NVRTC: {why}");
    }
    for name in ["libnvrtc-builtins.so.13.0", "libnvrtc.so.13"] {
        // SAFETY: NVIDIA's NVRTC libraries, whose initialisers only set up the library.
        #[allow(unsafe_code)]
        let library = unsafe { libloading::Library::new(lib.join(name)) };
        // Kept loaded for the rest of the process.
        std::mem::forget(library.unwrap_or_else(|e| panic!("{name}: {e}")));
    }
    aigrid_kernels::cuda::compile_kernels().unwrap_or_else(|e| panic!("{e}"));
}

/// The GPU, or `None` after printing why there is none.
fn gpu() -> Option<std::sync::Arc<Gpu>> {
    match Gpu::shared() {
        Ok(gpu) => Some(gpu),
        Err(why) => {
            eprintln!("skipped: no GPU ({why})");
            None
        }
    }
}

/// Values in [-2, 2), the same for a seed on every machine.
fn values(count: usize, seed: u64) -> Vec<f64> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..count)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) * 4.0 - 2.0
        })
        .collect()
}

fn tensor(dtype: &str, shape: &[usize], seed: u64) -> Tensor {
    let v = values(shape.iter().product(), seed);
    match dtype {
        "f32" => Tensor::f32(shape.to_vec(), v.iter().map(|&x| x as f32).collect()),
        _ => Tensor::f64(shape.to_vec(), v),
    }
    .unwrap_or_else(|e| panic!("{e}"))
}

fn positive(t: &Tensor) -> Tensor {
    match t.data() {
        Data::F32(v) => Tensor::f32(t.shape().to_vec(), v.iter().map(|x| x.abs() + 0.1).collect()),
        Data::F64(v) => Tensor::f64(t.shape().to_vec(), v.iter().map(|x| x.abs() + 0.1).collect()),
        Data::I64(_) => Ok(t.clone()),
    }
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Tolerance classes.
#[derive(Clone, Copy)]
enum Tol {
    Exact,
    Functions,
    Rows,
    /// Absolute, for sums whose magnitudes add up to at most this.
    Sums(f64),
}

/// The largest difference allowed from `want`, of element type `dtype`.
fn bound(dtype: &str, tol: Tol, want: f64) -> f64 {
    let unit = if dtype == "f32" { 1e-6 } else { 1e-14 };
    match tol {
        Tol::Exact => 0.0,
        Tol::Functions => unit * want.abs().max(1.0),
        Tol::Rows => unit * 100.0 * want.abs().max(1.0),
        Tol::Sums(magnitude) => unit * magnitude,
    }
}

fn up(gpu: &Gpu, t: &Tensor) -> GpuTensor {
    gpu.upload(t).unwrap_or_else(|e| panic!("{e}"))
}

/// Checks the GPU result against the CPU's: shape, element type, values within `tol`.
#[track_caller]
fn same(
    gpu: &Gpu,
    got: Result<GpuTensor, KernelError>,
    want: Result<Tensor, KernelError>,
    tol: Tol,
    what: &str,
) {
    let (got, want) = match (got, want) {
        (Ok(got), Ok(want)) => (got, want),
        (Err(g), Err(w)) => {
            assert_eq!(g, w, "{what}: the same error");
            return;
        }
        (got, want) => panic!("{what}: GPU gave {got:?}, CPU {want:?}"),
    };
    let got = gpu.download(&got).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let as_f64 = |t: &Tensor| -> Vec<f64> {
        match t.data() {
            Data::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            Data::F64(v) => v.to_vec(),
            Data::I64(v) => v.iter().map(|&x| x as f64).collect(),
        }
    };
    assert_eq!(got.data().dtype(), want.data().dtype(), "{what}: element type");
    for (i, (g, w)) in as_f64(&got).iter().zip(as_f64(&want)).enumerate() {
        let close =
            (g - w).abs() <= bound(want.data().dtype(), tol, w) || (g.is_nan() && w.is_nan());
        assert!(close, "{what}: element {i} is {g} on the GPU and {w} on the CPU");
    }
}

const DTYPES: [&str; 2] = ["f32", "f64"];

#[test]
fn elementwise_functions_scale_and_arithmetic_match_the_cpu() {
    let Some(gpu) = gpu() else { return };
    for dtype in DTYPES {
        let x = tensor(dtype, &[37, 129], 1);
        let (gx, gp, p) = (up(&gpu, &x), up(&gpu, &positive(&x)), positive(&x));
        for op in [Unary::Neg, Unary::Exp, Unary::Log, Unary::Relu, Unary::Gelu, Unary::Sigmoid] {
            let (input, on_gpu) = if op == Unary::Log { (&p, &gp) } else { (&x, &gx) };
            let tol =
                if matches!(op, Unary::Neg | Unary::Relu) { Tol::Exact } else { Tol::Functions };
            same(&gpu, gpu.unary(op, on_gpu), unary(op, input), tol, &format!("{op:?} {dtype}"));
        }
        same(&gpu, gpu.scale(&gx, 0.3), scale(&x, 0.3), Tol::Exact, "scale");
        for shape in
            [vec![37, 129], vec![129], vec![37, 1], vec![1, 129], vec![1], vec![2, 37, 129]]
        {
            let y = positive(&tensor(dtype, &shape, 2));
            let gy = up(&gpu, &y);
            for op in [Binary::Add, Binary::Sub, Binary::Mul, Binary::Div] {
                let what = format!("{op:?} {dtype} {shape:?}");
                same(&gpu, gpu.binary(op, &gx, &gy), binary(op, &x, &y), Tol::Exact, &what);
                same(&gpu, gpu.binary(op, &gy, &gx), binary(op, &y, &x), Tol::Exact, &what);
            }
        }
        let empty = tensor(dtype, &[0, 5], 3);
        same(
            &gpu,
            gpu.unary(Unary::Exp, &up(&gpu, &empty)),
            unary(Unary::Exp, &empty),
            Tol::Exact,
            "empty",
        );
    }
}

#[test]
fn a_fused_chain_matches_the_cpu() {
    let Some(gpu) = gpu() else { return };
    let steps = [
        Step::Unary(Unary::Gelu, Operand::Input(0)),
        Step::Binary(Binary::Mul, Operand::Step(0), Operand::Const(0.1)),
        Step::Binary(Binary::Sub, Operand::Const(-2.5), Operand::Input(1)),
        Step::Binary(Binary::Div, Operand::Step(1), Operand::Step(2)),
        Step::Unary(Unary::Sigmoid, Operand::Step(3)),
    ];
    for dtype in DTYPES {
        let (a, b) = (tensor(dtype, &[100, 1000], 4), tensor(dtype, &[100, 1000], 5));
        let (ga, gb) = (up(&gpu, &a), up(&gpu, &b));
        let what = format!("fused {dtype}");
        same(&gpu, gpu.fused(&steps, &[&ga, &gb]), fused(&steps, &[&a, &b]), Tol::Functions, &what);
    }
    let bad = [Step::Unary(Unary::Exp, Operand::Input(2))];
    let a = tensor("f32", &[4], 6);
    same(&gpu, gpu.fused(&bad, &[&up(&gpu, &a)]), fused(&bad, &[&a]), Tol::Exact, "bad chain");
}

#[test]
fn reductions_match_the_cpu() {
    let Some(gpu) = gpu() else { return };
    let ops = [Reduce::Sum, Reduce::Mean, Reduce::Max, Reduce::Min, Reduce::Argmax];
    for dtype in DTYPES {
        // Strided axes, short rows (a thread each) and long rows (a block each).
        for shape in [vec![7, 300, 5], vec![1000, 8], vec![64, 1000], vec![3, 100_003]] {
            let x = tensor(dtype, &shape, 7);
            let gx = up(&gpu, &x);
            for axis in 0..shape.len() {
                for op in ops {
                    let tol = match op {
                        Reduce::Sum => Tol::Sums(2.0 * shape[axis] as f64),
                        Reduce::Mean => Tol::Sums(2.0),
                        _ => Tol::Exact,
                    };
                    let what = format!("{op:?} {dtype} {shape:?} axis {axis}");
                    same(&gpu, gpu.reduce(op, &gx, axis), reduce(op, &x, axis), tol, &what);
                }
            }
        }
        let empty = tensor(dtype, &[4, 0], 8);
        let ge = up(&gpu, &empty);
        for op in ops {
            same(&gpu, gpu.reduce(op, &ge, 1), reduce(op, &empty, 1), Tol::Exact, "empty axis");
        }
    }
}

#[test]
fn reductions_pass_over_nans_as_the_cpu_does() {
    let Some(gpu) = gpu() else { return };
    let mut v = values(2 * 500, 9);
    v[0] = f64::NAN; // a NaN first: the row's max and min
    v[500 + 17] = f64::NAN; // a NaN later: passed over
    let x = Tensor::f64(vec![2, 500], v).unwrap_or_else(|e| panic!("{e}"));
    let gx = up(&gpu, &x);
    for op in [Reduce::Max, Reduce::Min, Reduce::Argmax] {
        same(&gpu, gpu.reduce(op, &gx, 1), reduce(op, &x, 1), Tol::Exact, &format!("{op:?}"));
    }
}

#[test]
fn row_operations_match_the_cpu() {
    let Some(gpu) = gpu() else { return };
    for dtype in DTYPES {
        for shape in [vec![100, 384], vec![3, 5000], vec![10, 1], vec![0, 4]] {
            let x = tensor(dtype, &shape, 10);
            let gx = up(&gpu, &x);
            let what = format!("{dtype} {shape:?}");
            same(&gpu, gpu.softmax(&gx), softmax(&x), Tol::Rows, &format!("softmax {what}"));
            same(&gpu, gpu.l2_normalize(&gx), l2_normalize(&x), Tol::Rows, &format!("l2 {what}"));
        }
        let zero_row = Tensor::f64(vec![2, 3], vec![0.0, 0.0, 0.0, 1.0, 2.0, 2.0]);
        let zero_row = zero_row.unwrap_or_else(|e| panic!("{e}"));
        same(
            &gpu,
            gpu.l2_normalize(&up(&gpu, &zero_row)),
            l2_normalize(&zero_row),
            Tol::Rows,
            "zero row",
        );
        let x = tensor(dtype, &[50, 200], 11);
        let gx = up(&gpu, &x);
        for k in [0, 1, 5, 200] {
            let (gv, gi) = gpu.topk(&gx, k).unwrap_or_else(|e| panic!("{e}"));
            let (v, i) = topk(&x, k).unwrap_or_else(|e| panic!("{e}"));
            same(&gpu, Ok(gv), Ok(v), Tol::Exact, &format!("topk {k} values"));
            same(&gpu, Ok(gi), Ok(i), Tol::Exact, &format!("topk {k} indices"));
        }
        let ties = Tensor::f32(vec![1, 6], vec![1.0, 3.0, 2.0, 3.0, 1.0, 3.0]);
        let ties = ties.unwrap_or_else(|e| panic!("{e}"));
        let (gv, gi) = gpu.topk(&up(&gpu, &ties), 4).unwrap_or_else(|e| panic!("{e}"));
        let (v, i) = topk(&ties, 4).unwrap_or_else(|e| panic!("{e}"));
        same(&gpu, Ok(gv), Ok(v), Tol::Exact, "ties");
        same(&gpu, Ok(gi), Ok(i), Tol::Exact, "ties: the lower index first");
        assert!(gpu.topk(&gx, 201).is_err(), "k beyond the row");
    }
}

#[test]
fn matrix_products_match_the_cpu() {
    let Some(gpu) = gpu() else { return };
    let shapes: [(&[usize], &[usize]); 7] = [
        (&[64, 96], &[96, 48]),
        (&[1, 300], &[300, 1]),
        (&[3, 20, 30], &[30, 10]),    // one b for every a: one strided call
        (&[20, 30], &[3, 30, 10]),    // one a for every b
        (&[3, 20, 30], &[3, 30, 10]), // pairwise
        (&[2, 1, 4, 5], &[3, 5, 6]),  // broadcast both ways: a call per pair
        (&[4, 0], &[0, 7]),           // an empty inner dimension: zeros
    ];
    for dtype in DTYPES {
        for (i, (sa, sb)) in shapes.iter().enumerate() {
            let (a, b) = (tensor(dtype, sa, 12 + i as u64), tensor(dtype, sb, 40 + i as u64));
            let what = format!("matmul {dtype} {sa:?} {sb:?}");
            let tol = Tol::Sums(4.0 * sb[sb.len() - 2] as f64);
            same(&gpu, gpu.matmul(&up(&gpu, &a), &up(&gpu, &b)), matmul(&a, &b), tol, &what);
        }
        let (a, b) = (tensor(dtype, &[40, 64], 20), tensor(dtype, &[30, 64], 21));
        let got = gpu.cosine_similarity(&up(&gpu, &a), &up(&gpu, &b));
        same(&gpu, got, cosine_similarity(&a, &b), Tol::Rows, "cosine");
    }
    let (a, b) = (tensor("f32", &[2, 3], 22), tensor("f32", &[4, 5], 23));
    same(&gpu, gpu.matmul(&up(&gpu, &a), &up(&gpu, &b)), matmul(&a, &b), Tol::Exact, "mismatch");
    let c = tensor("f64", &[3, 5], 24);
    same(&gpu, gpu.matmul(&up(&gpu, &a), &up(&gpu, &c)), matmul(&a, &c), Tol::Exact, "types");
}

#[test]
fn layout_matches_the_cpu_for_every_element_type() {
    let Some(gpu) = gpu() else { return };
    let integers = Tensor::new(vec![4, 5, 6], Data::I64((0..120).collect::<Vec<i64>>().into()));
    let integers = integers.unwrap_or_else(|e| panic!("{e}"));
    for x in [tensor("f32", &[4, 5, 6], 30), tensor("f64", &[4, 5, 6], 31), integers] {
        let gx = up(&gpu, &x);
        for perm in [[2, 0, 1], [0, 2, 1], [0, 1, 2]] {
            same(&gpu, gpu.transpose(&gx, &perm), transpose(&x, &perm), Tol::Exact, "transpose");
        }
        same(
            &gpu,
            gpu.transpose(&gx, &[0, 0, 1]),
            transpose(&x, &[0, 0, 1]),
            Tol::Exact,
            "bad perm",
        );
        same(&gpu, gpu.reshape(&gx, &[20, 6]), reshape(&x, &[20, 6]), Tol::Exact, "reshape");
        same(&gpu, gpu.reshape(&gx, &[7]), reshape(&x, &[7]), Tol::Exact, "bad reshape");
        for axis in 0..3 {
            let (end, what) = (x.shape()[axis], format!("slice axis {axis}"));
            same(
                &gpu,
                gpu.slice(&gx, axis, 1, end - 1),
                slice(&x, axis, 1, end - 1),
                Tol::Exact,
                &what,
            );
            let part = slice(&x, axis, 0, 2).unwrap_or_else(|e| panic!("{e}"));
            let gpart = up(&gpu, &part);
            let what = format!("concat axis {axis}");
            let got = gpu.concat(&[&gx, &gpart, &gx], axis);
            same(&gpu, got, concat(&[&x, &part, &x], axis), Tol::Exact, &what);
        }
        same(&gpu, gpu.slice(&gx, 1, 3, 2), slice(&x, 1, 3, 2), Tol::Exact, "bad slice");
    }
}

#[test]
fn integers_are_refused_with_the_cpu_errors_and_a_round_trip_is_exact() {
    let Some(gpu) = gpu() else { return };
    let x =
        Tensor::new(vec![3], Data::I64(vec![1, -2, 3].into())).unwrap_or_else(|e| panic!("{e}"));
    let gx = up(&gpu, &x);
    same(&gpu, gpu.unary(Unary::Exp, &gx), unary(Unary::Exp, &x), Tol::Exact, "exp of i64");
    same(&gpu, gpu.softmax(&gx), softmax(&x), Tol::Exact, "softmax of i64");
    same(
        &gpu,
        gpu.reduce(Reduce::Sum, &gx, 0),
        reduce(Reduce::Sum, &x, 0),
        Tol::Exact,
        "sum of i64",
    );
    let back = gpu.download(&gx).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, x);
}
