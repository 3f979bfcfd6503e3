//! Tensors: a shape and a contiguous, row-major buffer of elements, shared with Arrow without
//! copying. A tensor of shape `[N, d1, ..., dk]` is an Arrow column of `N` rows of the canonical
//! extension type `arrow.fixed_shape_tensor` with shape `[d1, ..., dk]`, so pyarrow and other
//! Arrow tools read it as a tensor.

use std::sync::Arc;

use arrow_array::types::{Float32Type, Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, FixedSizeListArray, PrimitiveArray};
use arrow_buffer::ScalarBuffer;
use arrow_schema::extension::{
    EXTENSION_TYPE_METADATA_KEY as EXTENSION_METADATA, EXTENSION_TYPE_NAME_KEY as EXTENSION_NAME,
};
use arrow_schema::{DataType, Field};

/// Why a tensor cannot be made or read, or a kernel cannot run on its arguments.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    /// The element count does not match the shape.
    #[error("a tensor of shape {shape:?} has {expected} elements, not {found}")]
    Size {
        /// The shape.
        shape: Vec<usize>,
        /// Its element count.
        expected: usize,
        /// The buffer's length.
        found: usize,
    },
    /// An Arrow column that is not a tensor this library reads.
    #[error("column `{column}` is not a tensor: {reason}")]
    NotATensor {
        /// The column's name.
        column: String,
        /// Why.
        reason: String,
    },
    /// Operands that do not fit together.
    #[error("{0}")]
    Shape(String),
    /// An operation on an element type it does not support.
    #[error("{0}")]
    Type(String),
    /// The GPU failed, or there is no GPU to use (the reason says which).
    #[error("GPU: {0}")]
    Device(String),
    /// An argument out of its range: a bad pattern, a separator that is empty.
    #[error("{0}")]
    Argument(String),
}

/// The elements of a tensor.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// 32-bit floats.
    F32(ScalarBuffer<f32>),
    /// 64-bit floats.
    F64(ScalarBuffer<f64>),
    /// 64-bit integers.
    I64(ScalarBuffer<i64>),
}

impl Data {
    /// The number of elements.
    pub fn len(&self) -> usize {
        match self {
            Data::F32(b) => b.len(),
            Data::F64(b) => b.len(),
            Data::I64(b) => b.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element type, as the language writes it.
    pub fn dtype(&self) -> &'static str {
        match self {
            Data::F32(_) => "f32",
            Data::F64(_) => "f64",
            Data::I64(_) => "i64",
        }
    }

    fn arrow_type(&self) -> DataType {
        match self {
            Data::F32(_) => DataType::Float32,
            Data::F64(_) => DataType::Float64,
            Data::I64(_) => DataType::Int64,
        }
    }
}

/// A dense tensor in row-major order.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Data,
}

impl Tensor {
    /// A tensor of `shape` over `data` (row-major); the sizes must agree.
    pub fn new(shape: Vec<usize>, data: Data) -> Result<Tensor, KernelError> {
        let expected = shape.iter().product::<usize>();
        if expected != data.len() {
            return Err(KernelError::Size { shape, expected, found: data.len() });
        }
        Ok(Tensor { shape, data })
    }

    /// An `f32` tensor.
    pub fn f32(shape: Vec<usize>, values: Vec<f32>) -> Result<Tensor, KernelError> {
        Tensor::new(shape, Data::F32(values.into()))
    }

    /// An `f64` tensor.
    pub fn f64(shape: Vec<usize>, values: Vec<f64>) -> Result<Tensor, KernelError> {
        Tensor::new(shape, Data::F64(values.into()))
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The elements.
    pub fn data(&self) -> &Data {
        &self.data
    }

    /// The `f32` elements, if that is the element type.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            Data::F32(b) => Some(b),
            _ => None,
        }
    }

    /// The `f64` elements, if that is the element type.
    pub fn as_f64(&self) -> Option<&[f64]> {
        match &self.data {
            Data::F64(b) => Some(b),
            _ => None,
        }
    }

    /// The `i64` elements, if that is the element type.
    pub fn as_i64(&self) -> Option<&[i64]> {
        match &self.data {
            Data::I64(b) => Some(b),
            _ => None,
        }
    }

    /// The tensor as an Arrow column named `name`: one row per entry of the leading dimension,
    /// each a `fixed_shape_tensor` of the remaining dimensions. The buffer is shared, not
    /// copied. A tensor needs at least one dimension.
    pub fn to_arrow(&self, name: &str) -> Result<(Field, ArrayRef), KernelError> {
        let Some((_, inner)) = self.shape.split_first() else {
            return Err(KernelError::Shape("a tensor column needs at least one dimension".into()));
        };
        let size = inner.iter().product::<usize>();
        // The item is nullable in the canonical storage type (pyarrow checks it); a tensor has
        // no nulls all the same.
        let item = Arc::new(Field::new_list_field(self.data.arrow_type(), true));
        let values: ArrayRef = match &self.data {
            Data::F32(b) => Arc::new(PrimitiveArray::<Float32Type>::new(b.clone(), None)),
            Data::F64(b) => Arc::new(PrimitiveArray::<Float64Type>::new(b.clone(), None)),
            Data::I64(b) => Arc::new(PrimitiveArray::<Int64Type>::new(b.clone(), None)),
        };
        let list_size = i32::try_from(size)
            .map_err(|_| KernelError::Shape(format!("a row of {size} elements is too large")))?;
        let array = FixedSizeListArray::try_new(item.clone(), list_size, values, None)
            .map_err(|e| KernelError::Shape(e.to_string()))?;
        let field = Field::new(name, DataType::FixedSizeList(item, list_size), false)
            .with_metadata(Tensor::column_metadata(inner));
        Ok((field, Arc::new(array)))
    }

    /// The field metadata of a `fixed_shape_tensor` column whose rows have `row_shape`.
    pub fn column_metadata(row_shape: &[usize]) -> std::collections::HashMap<String, String> {
        // Written here rather than by arrow-rs, which also writes `"dim_names":null`: the
        // canonical form has only the keys it uses.
        let shape: Vec<String> = row_shape.iter().map(usize::to_string).collect();
        std::collections::HashMap::from([
            (EXTENSION_NAME.to_owned(), TENSOR_EXTENSION.to_owned()),
            (EXTENSION_METADATA.to_owned(), format!("{{\"shape\":[{}]}}", shape.join(","))),
        ])
    }

    /// The shape of one row of the `fixed_shape_tensor` column `field` (the tensor's shape
    /// without its leading dimension), from its extension metadata.
    pub fn row_shape(field: &Field) -> Result<Vec<usize>, KernelError> {
        let not = |reason: &str| KernelError::NotATensor {
            column: field.name().clone(),
            reason: reason.to_owned(),
        };
        if field.extension_type_name() != Some(TENSOR_EXTENSION) {
            return Err(not(&format!("it is not of type {TENSOR_EXTENSION}")));
        }
        let metadata: ShapeMetadata = field
            .extension_type_metadata()
            .and_then(|text| serde_json::from_str(text).ok())
            .ok_or_else(|| not("its extension metadata has no shape"))?;
        if metadata.permutation.is_some_and(|p| p.iter().enumerate().any(|(i, &d)| i != d)) {
            return Err(not("permuted dimensions are not supported"));
        }
        Ok(metadata.shape)
    }

    /// Reads a `fixed_shape_tensor` column (without nulls) as a tensor, sharing its buffer.
    pub fn from_arrow(field: &Field, array: &dyn Array) -> Result<Tensor, KernelError> {
        let not = |reason: String| KernelError::NotATensor { column: field.name().clone(), reason };
        // arrow-rs's own FixedShapeTensor insists on a non-nullable item, which pyarrow (and
        // the canonical storage type) does not have: the extension is checked here.
        let row_shape = Tensor::row_shape(field)?;
        let size = row_shape.iter().product::<usize>();
        match field.data_type() {
            DataType::FixedSizeList(_, n) if usize::try_from(*n).ok() == Some(size) => {}
            other => {
                return Err(not(format!(
                    "its storage is {other}, not a fixed-size list of {size} elements"
                )));
            }
        }
        let list = array.as_any().downcast_ref::<FixedSizeListArray>().ok_or_else(|| {
            not(format!("its data is {}, not a fixed-size list", array.data_type()))
        })?;
        if list.null_count() > 0 || list.values().null_count() > 0 {
            return Err(not("it has nulls".into()));
        }
        // Slicing a fixed-size list slices its values: they are exactly this column's rows.
        let rows = list.len();
        let values = list.values();
        if values.len() != rows * size {
            return Err(not(format!(
                "{rows} rows of {size} elements, but {} values",
                values.len()
            )));
        }
        let data = match values.data_type() {
            DataType::Float32 => Data::F32(primitive::<Float32Type>(values)?),
            DataType::Float64 => Data::F64(primitive::<Float64Type>(values)?),
            DataType::Int64 => Data::I64(primitive::<Int64Type>(values)?),
            other => {
                return Err(not(format!("its elements are {other}: f32, f64 or i64 are read")));
            }
        };
        let mut shape = vec![rows];
        shape.extend(row_shape);
        Tensor::new(shape, data).map_err(|e| not(e.to_string()))
    }
}

/// The name of the canonical tensor extension type.
pub const TENSOR_EXTENSION: &str = "arrow.fixed_shape_tensor";

/// The part of `arrow.fixed_shape_tensor`'s metadata read here.
#[derive(serde::Deserialize)]
struct ShapeMetadata {
    shape: Vec<usize>,
    #[serde(default, rename = "permutations")]
    permutation: Option<Vec<usize>>,
}

fn primitive<T: arrow_array::ArrowPrimitiveType>(
    values: &ArrayRef,
) -> Result<ScalarBuffer<T::Native>, KernelError> {
    values
        .as_any()
        .downcast_ref::<PrimitiveArray<T>>()
        .map(|a| a.values().clone())
        .ok_or_else(|| KernelError::Type("the tensor's values are not a primitive array".into()))
}
