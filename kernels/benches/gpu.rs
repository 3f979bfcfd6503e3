//! The CUDA kernels against the device's own limits, in one run: softmax, l2_normalize and a
//! fused 3-op chain over 256 MiB next to a copy kernel of the same size (device memory
//! bandwidth, GB/s of reads + writes), f32 and f64 matrix products in TFLOP/s (cuBLAS; compare
//! with the device's datasheet peak), a batched product, and the host-device copies. Without
//! a usable GPU it says why and measures nothing.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use aigrid_kernels::cuda::{Gpu, GpuTensor};
use aigrid_kernels::{Binary, Operand, Step, Tensor, Unary};

/// 256 MiB of f32.
const ELEMENTS: usize = 64 * 1024 * 1024;
const WIDTH: usize = 256;

fn input(n: usize) -> Vec<f32> {
    (0..n).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect()
}

/// The best of 5 timings of `f` on the GPU (each waits for the device), in seconds.
fn best(gpu: &Gpu, mut f: impl FnMut() -> GpuTensor) -> f64 {
    drop(f());
    gpu.synchronize().unwrap();
    (0..5)
        .map(|_| {
            let start = Instant::now();
            let out = f();
            gpu.synchronize().unwrap();
            let seconds = start.elapsed().as_secs_f64();
            drop(out);
            seconds
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let gpu = match Gpu::open(0) {
        Ok(gpu) => gpu,
        Err(why) => {
            println!("no GPU, nothing measured: {why}");
            return;
        }
    };
    println!("{}", gpu.name());
    let host = Tensor::f32(vec![ELEMENTS / WIDTH, WIDTH], input(ELEMENTS)).unwrap();
    let bytes = (ELEMENTS * 4) as f64;
    let start = Instant::now();
    let x = gpu.upload(&host).unwrap();
    gpu.synchronize().unwrap();
    let upload = start.elapsed().as_secs_f64();
    let start = Instant::now();
    drop(gpu.download(&x).unwrap());
    let download = start.elapsed().as_secs_f64();
    println!(
        "256 MiB f32 host to device {:.2} GB/s, back {:.2} GB/s",
        bytes / upload / 1e9,
        bytes / download / 1e9
    );

    // A slice of a whole axis of one block is a plain copy kernel: the bandwidth baseline.
    let rows = ELEMENTS / WIDTH;
    let copy = best(&gpu, || gpu.slice(&x, 0, 0, rows).unwrap());
    let chain = [
        Step::Binary(Binary::Mul, Operand::Input(0), Operand::Const(2.0)),
        Step::Binary(Binary::Add, Operand::Step(0), Operand::Const(1.0)),
        Step::Unary(Unary::Relu, Operand::Step(1)),
    ];
    let rate = |seconds: f64| 2.0 * bytes / seconds / 1e9;
    println!("256 MiB f32 [N, {WIDTH}], best of 5 (GB/s of reads + writes):");
    println!("  copy kernel            {:>7.3} ms  {:>7.1} GB/s", copy * 1e3, rate(copy));
    let measured: [(&str, f64); 3] = [
        ("softmax", best(&gpu, || gpu.softmax(&x).unwrap())),
        ("l2_normalize", best(&gpu, || gpu.l2_normalize(&x).unwrap())),
        ("fused relu(2x + 1)", best(&gpu, || gpu.fused(&chain, &[&x]).unwrap())),
    ];
    for (name, seconds) in measured {
        println!(
            "  {name:<22} {:>7.3} ms  {:>7.1} GB/s  ({:.0}% of the copy)",
            seconds * 1e3,
            rate(seconds),
            100.0 * copy / seconds
        );
    }
    drop(x);

    println!("matrix products (cuBLAS), best of 5:");
    for n in [4096, 8192] {
        let a = gpu.upload(&Tensor::f32(vec![n, n], input(n * n)).unwrap()).unwrap();
        let seconds = best(&gpu, || gpu.matmul(&a, &a).unwrap());
        let tflops = 2.0 * (n as f64).powi(3) / seconds / 1e12;
        println!("  {n}x{n} f32              {:>8.3} ms  {tflops:>6.1} TFLOP/s", seconds * 1e3);
    }
    let n = 4096;
    let values: Vec<f64> = input(n * n).into_iter().map(f64::from).collect();
    let a = gpu.upload(&Tensor::f64(vec![n, n], values).unwrap()).unwrap();
    let seconds = best(&gpu, || gpu.matmul(&a, &a).unwrap());
    let tflops = 2.0 * (n as f64).powi(3) / seconds / 1e12;
    println!("  {n}x{n} f64              {:>8.3} ms  {tflops:>6.1} TFLOP/s", seconds * 1e3);
    let (batch, m) = (64, 512);
    let a = gpu.upload(&Tensor::f32(vec![batch, m, m], input(batch * m * m)).unwrap()).unwrap();
    let b = gpu.upload(&Tensor::f32(vec![m, m], input(m * m)).unwrap()).unwrap();
    let seconds = best(&gpu, || gpu.matmul(&a, &b).unwrap());
    let tflops = 2.0 * batch as f64 * (m as f64).powi(3) / seconds / 1e12;
    println!(
        "  [{batch}, {m}, {m}] @ [{m}, {m}] f32 {:>6.3} ms  {tflops:>6.1} TFLOP/s",
        seconds * 1e3
    );
}
