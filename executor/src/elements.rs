//! Tensor element types. Every type the language allows in a tensor is stored, read, written
//! and given as JSON; the kernels compute on `f32`, `f64` and `i64`, and `cast` converts between
//! any two of them on the Arrow column, so that `tensor<i32, ...>` or `tensor<bool, ...>` data
//! read from a file reaches the kernels through one `cast`.

use std::sync::Arc;

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::arrow::util::display::FormatOptions;

use crate::RunError;

/// The Arrow type of the tensor element type called `name` in `.ag` source, if it is one that
/// `cast` converts (`bf16`, stored as its bits, is not).
pub fn element_type(name: &str) -> Option<DataType> {
    Some(match name {
        "bool" => DataType::Boolean,
        "i8" => DataType::Int8,
        "i16" => DataType::Int16,
        "i32" => DataType::Int32,
        "i64" => DataType::Int64,
        "u8" => DataType::UInt8,
        "u16" => DataType::UInt16,
        "u32" => DataType::UInt32,
        "u64" => DataType::UInt64,
        "f16" => DataType::Float16,
        "f32" => DataType::Float32,
        "f64" => DataType::Float64,
        _ => return None,
    })
}

/// Whether the kernels compute on elements of type `ty`.
pub fn computed(ty: &DataType) -> bool {
    matches!(ty, DataType::Float32 | DataType::Float64 | DataType::Int64)
}

/// A tensor column (`arrow.fixed_shape_tensor`) with its elements converted to `to`; the field
/// keeps its name and shape. A float becomes an integer rounded toward zero; a value the target
/// cannot hold (`300` as `i8`, `NaN` or `1e30` as `i64`) is an error, not a wrapped or null
/// element.
pub fn cast_column(
    field: &Field,
    array: &ArrayRef,
    to: &DataType,
) -> Result<(Field, ArrayRef), RunError> {
    let DataType::FixedSizeList(item, size) = field.data_type() else {
        return Err(RunError::Internal(format!("a tensor column of {}", field.data_type())));
    };
    if item.data_type() == to {
        return Ok((field.clone(), array.clone()));
    }
    let item = Arc::new(Field::new_list_field(to.clone(), true));
    let target = DataType::FixedSizeList(item, *size);
    let options = CastOptions { safe: false, format_options: FormatOptions::default() };
    let cast = cast_with_options(array, &target, &options).map_err(|e| {
        RunError::Data(format!("cast of a tensor of {} to {to}: {e}", item_name(field)))
    })?;
    let field = Field::new(field.name(), target, field.is_nullable())
        .with_metadata(field.metadata().clone());
    Ok((field, cast))
}

fn item_name(field: &Field) -> String {
    match field.data_type() {
        DataType::FixedSizeList(item, _) => item.data_type().to_string(),
        other => other.to_string(),
    }
}
