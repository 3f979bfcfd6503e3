//! Elementwise operations on the GPU: functions, `scale`, arithmetic with NumPy broadcasting,
//! and fused chains generated as one kernel.

use cudarc::driver::{CudaSlice, DeviceRepr, PushKernelArg};

use super::tensor::{Element, GpuData, GpuTensor};
use super::{Gpu, SOURCE, over_elements};
use crate::elementwise::{Binary, Unary, broadcast_shape, strides};
use crate::fused::{Operand, Step, check};
use crate::tensor::KernelError;

/// Matches a float tensor's data, naming `$v` its buffer, or refuses an integer one.
macro_rules! on_floats {
    ($data:expr, $refuse:expr, $v:ident => $body:expr) => {
        match $data {
            GpuData::F32($v) => $body,
            GpuData::F64($v) => $body,
            GpuData::I64(_) => Err(KernelError::Type($refuse)),
        }
    };
}
pub(crate) use on_floats;

/// The code of `op` in `source.cu`.
fn unary_code(op: Unary) -> i32 {
    match op {
        Unary::Neg => 0,
        Unary::Exp => 1,
        Unary::Log => 2,
        Unary::Relu => 3,
        Unary::Gelu => 4,
        Unary::Sigmoid => 5,
    }
}

/// The code of `op` in `source.cu`.
fn binary_code(op: Binary) -> i32 {
    match op {
        Binary::Add => 0,
        Binary::Sub => 1,
        Binary::Mul => 2,
        Binary::Div => 3,
    }
}

impl Gpu {
    /// `op` of every element of `x` (a float tensor).
    pub fn unary(&self, op: Unary, x: &GpuTensor) -> Result<GpuTensor, KernelError> {
        let refuse = format!("{op:?} needs a float tensor, not i64");
        on_floats!(&*x.data, refuse, v => self.map_of("unary", v, &x.shape, unary_code(op)))
    }

    /// `x * factor`.
    pub fn scale(&self, x: &GpuTensor, factor: f64) -> Result<GpuTensor, KernelError> {
        let refuse = "scale needs a float tensor, not i64".to_owned();
        match &*x.data {
            GpuData::F32(v) => self.map_of("scale", v, &x.shape, factor as f32),
            GpuData::F64(v) => self.map_of("scale", v, &x.shape, factor),
            GpuData::I64(_) => Err(KernelError::Type(refuse)),
        }
    }

    /// Runs the elementwise kernel `name`, `(x, out, n, extra)`, over every element of `x`.
    fn map_of<T: Element, A: DeviceRepr>(
        &self,
        name: &str,
        x: &CudaSlice<T>,
        shape: &[usize],
        extra: A,
    ) -> Result<GpuTensor, KernelError> {
        let n = x.len();
        let mut out = self.output::<T>(n)?;
        if n > 0 {
            let function = self.function(&format!("{name}_{}", T::SUFFIX))?;
            let count = n as u64;
            let mut args = self.stream.launch_builder(&function);
            args.arg(x).arg(&mut out).arg(&count).arg(&extra);
            self.launch(args, over_elements(n))?;
        }
        Ok(GpuTensor::new(shape.to_vec(), T::wrap(out)))
    }

    /// `a op b`, broadcasting as NumPy does (as [`crate::binary`]).
    pub fn binary(
        &self,
        op: Binary,
        a: &GpuTensor,
        b: &GpuTensor,
    ) -> Result<GpuTensor, KernelError> {
        let shape = broadcast_shape(&a.shape, &b.shape)?;
        match (&*a.data, &*b.data) {
            (GpuData::F32(x), GpuData::F32(y)) => {
                self.binary_of(op, (x, &a.shape), (y, &b.shape), shape)
            }
            (GpuData::F64(x), GpuData::F64(y)) => {
                self.binary_of(op, (x, &a.shape), (y, &b.shape), shape)
            }
            _ => Err(KernelError::Type(format!(
                "{op:?} needs two float tensors of one element type, not {} and {}",
                a.dtype(),
                b.dtype()
            ))),
        }
    }

    fn binary_of<T: Element>(
        &self,
        op: Binary,
        (a, a_shape): (&CudaSlice<T>, &[usize]),
        (b, b_shape): (&CudaSlice<T>, &[usize]),
        shape: Vec<usize>,
    ) -> Result<GpuTensor, KernelError> {
        let n = shape.iter().product::<usize>();
        let mut out = self.output::<T>(n)?;
        if n > 0 {
            let (code, count) = (binary_code(op), n as u64);
            if a_shape == b_shape {
                let function = self.function(&format!("binary_{}", T::SUFFIX))?;
                let mut args = self.stream.launch_builder(&function);
                args.arg(a).arg(b).arg(&mut out).arg(&count).arg(&code);
                self.launch(args, over_elements(n))?;
            } else {
                let mut dims = shape.clone();
                dims.extend(strides(a_shape, &shape));
                dims.extend(strides(b_shape, &shape));
                let dims = self.sizes(&dims)?;
                let rank = i32::try_from(shape.len()).map_err(|_| {
                    KernelError::Shape(format!("{} axes are too many", shape.len()))
                })?;
                let function = self.function(&format!("broadcast_{}", T::SUFFIX))?;
                let mut args = self.stream.launch_builder(&function);
                args.arg(a).arg(b).arg(&mut out).arg(&count).arg(&code).arg(&dims).arg(&rank);
                self.launch(args, over_elements(n))?;
            }
        }
        Ok(GpuTensor::new(shape, T::wrap(out)))
    }

    /// Runs `steps` over `inputs` (tensors of one shape and one float element type) as one
    /// kernel, generated for the chain and compiled on its first use; the result is the last
    /// step's (as [`crate::fused`]).
    pub fn fused(&self, steps: &[Step], inputs: &[&GpuTensor]) -> Result<GpuTensor, KernelError> {
        check(steps, inputs.len())?;
        let Some(first) = inputs.first() else {
            return Err(KernelError::Shape("a fused chain needs an input".into()));
        };
        if let Some(other) = inputs.iter().find(|t| t.shape != first.shape) {
            return Err(KernelError::Shape(format!(
                "a fused chain's inputs have one shape, not {:?} and {:?}",
                first.shape, other.shape
            )));
        }
        let refuse = "a fused chain needs float tensors, not i64".to_owned();
        on_floats!(&*first.data, refuse, v => {
            let mut slices = vec![v];
            for input in &inputs[1..] {
                slices.push(Element::of(&input.data).ok_or_else(|| {
                    KernelError::Type("a fused chain's inputs have one element type".into())
                })?);
            }
            self.fused_of(steps, &slices, &first.shape)
        })
    }

    fn fused_of<T: Element>(
        &self,
        steps: &[Step],
        inputs: &[&CudaSlice<T>],
        shape: &[usize],
    ) -> Result<GpuTensor, KernelError> {
        let n = shape.iter().product::<usize>();
        let mut out = self.output::<T>(n)?;
        if n > 0 {
            let function = self.generated("fused_chain", fused_source::<T>(steps, inputs.len()))?;
            let count = n as u64;
            let mut args = self.stream.launch_builder(&function);
            args.arg(&mut out);
            for input in inputs {
                args.arg(*input);
            }
            args.arg(&count);
            self.launch(args, over_elements(n))?;
        }
        Ok(GpuTensor::new(shape.to_vec(), T::wrap(out)))
    }
}

/// The CUDA source of one kernel, `fused_chain(out, in0, ..., n)`, that runs `steps` over
/// `inputs` inputs element by element, each step's value in a register.
pub(super) fn fused_source<T: Element>(steps: &[Step], inputs: usize) -> String {
    let c = T::C_TYPE;
    let operand = |operand: Operand| match operand {
        Operand::Input(i) => format!("in{i}[i]"),
        Operand::Step(j) => format!("s{j}"),
        // The number's exact bits, rounded to the element type as on the CPU.
        Operand::Const(value) => format!("(({c})__longlong_as_double({:#x}LL))", value.to_bits()),
    };
    let parameters: Vec<String> = (0..inputs).map(|i| format!("const {c}* in{i}")).collect();
    let mut body = String::new();
    for (k, step) in steps.iter().enumerate() {
        let value = match *step {
            Step::Unary(op, a) => format!("unary_op({}, {})", unary_code(op), operand(a)),
            Step::Binary(op, a, b) => {
                format!("binary_op({}, {}, {})", binary_code(op), operand(a), operand(b))
            }
        };
        body.push_str(&format!("        {c} s{k} = {value};\n"));
    }
    format!(
        "#define AG_FUSED_ONLY\n{SOURCE}\nextern \"C\" __global__ void fused_chain({c}* out, {}, u64 n) {{\n    EACH(i, n) {{\n{body}        out[i] = s{};\n    }}\n}}\n",
        parameters.join(", "),
        steps.len() - 1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fused_chain_is_one_kernel_with_exact_constants() {
        let steps = [
            Step::Unary(Unary::Relu, Operand::Input(0)),
            Step::Binary(Binary::Mul, Operand::Step(0), Operand::Const(0.1)),
            Step::Binary(Binary::Add, Operand::Step(1), Operand::Input(1)),
        ];
        let source = fused_source::<f32>(&steps, 2);
        let kernel = &source[source.rfind("extern \"C\"").unwrap_or(0)..];
        assert_eq!(
            kernel,
            "extern \"C\" __global__ void fused_chain(float* out, const float* in0, const float* in1, u64 n) {\n    \
             EACH(i, n) {\n        \
             float s0 = unary_op(3, in0[i]);\n        \
             float s1 = binary_op(2, s0, ((float)__longlong_as_double(0x3fb999999999999aLL)));\n        \
             float s2 = binary_op(0, s1, in1[i]);\n        \
             out[i] = s2;\n    }\n}\n"
        );
        assert!(source.starts_with("#define AG_FUSED_ONLY\n"));
    }
}
