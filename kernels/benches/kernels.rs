//! CPU kernels against their baselines, in one run: l2_normalize and a fused 3-op chain over
//! 256 MiB next to a memcpy of the same size (bandwidth in GB/s), and a 2048x2048 f32 matmul
//! next to NumPy's (OpenBLAS) on the same machine, when a Python with NumPy is found
//! (`$AIGRID_PYTHON`, else `python3`).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use aigrid_kernels::{
    Binary, Operand, Step, Tensor, Unary, fused, fused_into, l2_normalize, l2_normalize_into,
    matmul,
};

/// 256 MiB of f32.
const ELEMENTS: usize = 64 * 1024 * 1024;
const WIDTH: usize = 256;
const MATMUL: usize = 2048;

fn input(n: usize) -> Vec<f32> {
    (0..n).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect()
}

/// The best of `runs` timings of `f`, in seconds.
fn best(runs: usize, mut f: impl FnMut()) -> f64 {
    f();
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let bytes = (ELEMENTS * 4) as f64;
    let values = input(ELEMENTS);
    let mut copy = vec![0f32; ELEMENTS];
    let memcpy = best(5, || {
        copy.copy_from_slice(std::hint::black_box(&values));
        std::hint::black_box(&mut copy);
    });
    // Kernels return new tensors: the fair baseline copies into fresh memory too.
    let fresh = best(5, || drop(std::hint::black_box(std::hint::black_box(&values).to_vec())));
    let normalize_into = best(5, || {
        l2_normalize_into(std::hint::black_box(&values), WIDTH, &mut copy).unwrap();
        std::hint::black_box(&mut copy);
    });
    let chain = [
        Step::Binary(Binary::Mul, Operand::Input(0), Operand::Const(2.0)),
        Step::Binary(Binary::Add, Operand::Step(0), Operand::Const(1.0)),
        Step::Unary(Unary::Relu, Operand::Step(1)),
    ];
    let fused_chain_into = best(5, || {
        fused_into(&chain, &[std::hint::black_box(&values)], &mut copy).unwrap();
        std::hint::black_box(&mut copy);
    });
    let x = Tensor::f32(vec![ELEMENTS / WIDTH, WIDTH], values).unwrap();
    let normalize = best(5, || drop(std::hint::black_box(l2_normalize(&x).unwrap())));
    let fused_chain = best(5, || drop(std::hint::black_box(fused(&chain, &[&x]).unwrap())));
    // A kernel reads 256 MiB and writes 256 MiB, as memcpy does: GB/s of data moved.
    let rate = |seconds: f64| 2.0 * bytes / seconds / 1e9;
    let into = |name: &str, seconds: f64| {
        println!(
            "  {name:<22} {:>7.2} ms  {:>6.2} GB/s  ({:.0}% of memcpy)",
            seconds * 1e3,
            rate(seconds),
            100.0 * memcpy / seconds
        )
    };
    println!("256 MiB f32, best of 5 (GB/s of reads + writes):");
    println!("  memcpy                 {:>7.2} ms  {:>6.2} GB/s", memcpy * 1e3, rate(memcpy));
    println!("  memcpy to new memory   {:>7.2} ms  {:>6.2} GB/s", fresh * 1e3, rate(fresh));
    println!(
        "  l2_normalize [N, 256]  {:>7.2} ms  {:>6.2} GB/s  ({:.0}% of memcpy, {:.0}% to new memory)",
        normalize * 1e3,
        rate(normalize),
        100.0 * memcpy / normalize,
        100.0 * fresh / normalize
    );
    println!(
        "  fused relu(2x + 1)     {:>7.2} ms  {:>6.2} GB/s  ({:.0}% of memcpy, {:.0}% to new memory)",
        fused_chain * 1e3,
        rate(fused_chain),
        100.0 * memcpy / fused_chain,
        100.0 * fresh / fused_chain
    );

    println!("Into a reused buffer:");
    into("l2_normalize", normalize_into);
    into("fused relu(2x + 1)", fused_chain_into);

    let a = Tensor::f32(vec![MATMUL, MATMUL], input(MATMUL * MATMUL)).unwrap();
    let b = Tensor::f32(vec![MATMUL, MATMUL], input(MATMUL * MATMUL)).unwrap();
    let product = best(5, || drop(std::hint::black_box(matmul(&a, &b).unwrap())));
    let flops = 2.0 * (MATMUL as f64).powi(3);
    println!("matmul {MATMUL}x{MATMUL} f32, best of 5:");
    println!(
        "  aigrid (gemm)          {:>7.2} ms  {:>6.1} GFLOP/s",
        product * 1e3,
        flops / product / 1e9
    );
    match numpy_matmul() {
        Some(seconds) => println!(
            "  numpy (OpenBLAS)       {:>7.2} ms  {:>6.1} GFLOP/s  (aigrid at {:.0}%)",
            seconds * 1e3,
            flops / seconds / 1e9,
            100.0 * seconds / product
        ),
        None => println!("  numpy                  not measured: no Python with NumPy"),
    }
}

/// NumPy's best of 5 for the same product, if a Python with NumPy runs.
fn numpy_matmul() -> Option<f64> {
    let python = std::env::var("AIGRID_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = format!(
        "import time, numpy as np\n\
         a = np.random.rand({MATMUL}, {MATMUL}).astype(np.float32)\n\
         b = np.random.rand({MATMUL}, {MATMUL}).astype(np.float32)\n\
         a @ b\n\
         best = min((lambda s: (a @ b, time.perf_counter() - s)[1])(time.perf_counter()) for _ in range(5))\n\
         print(best)"
    );
    let output = std::process::Command::new(python).args(["-c", &script]).output().ok()?;
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}
