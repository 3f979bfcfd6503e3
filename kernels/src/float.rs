//! The element types kernels compute in.

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::tensor::{Data, KernelError, Tensor};

/// `f32` or `f64`.
pub trait Float:
    Copy
    + Send
    + Sync
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + 'static
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// The nearest value to `x`.
    fn from_f64(x: f64) -> Self;
    /// `e^self`.
    fn exp(self) -> Self;
    /// The natural logarithm.
    fn ln(self) -> Self;
    /// The hyperbolic tangent.
    fn tanh(self) -> Self;
    /// The square root.
    fn sqrt(self) -> Self;
    /// A tensor of these elements.
    fn tensor(shape: Vec<usize>, values: Vec<Self>) -> Result<Tensor, KernelError>;
}

macro_rules! float {
    ($t:ty, $data:ident) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            fn tensor(shape: Vec<usize>, values: Vec<Self>) -> Result<Tensor, KernelError> {
                Tensor::new(shape, Data::$data(values.into()))
            }
        }
    };
}

float!(f32, F32);
float!(f64, F64);
