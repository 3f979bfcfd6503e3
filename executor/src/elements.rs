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
use aigrid_compiler::ValueType;

/// The Arrow type of the tensor element type called `name` in `.ag` source, if it is one that
/// `cast` converts (`bf16`, stored as its bits, is not).
pub fn element_type(name: &str) -> Option<DataType> {
    match aigrid_compiler::value_type(name)? {
        ValueType::Scalar(ty, _)
            if name != "bf16" && (ty.is_numeric() || ty == DataType::Boolean) =>
        {
            Some(ty)
        }
        _ => None,
    }
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
    let target = cast_field(field, to)?;
    if target == *field {
        return Ok((target, array.clone()));
    }
    let options = CastOptions { safe: false, format_options: FormatOptions::default() };
    let cast = cast_with_options(array, target.data_type(), &options).map_err(|e| {
        RunError::Data(format!("cast of a tensor of {} to {to}: {e}", item_type(field)))
    })?;
    Ok((target, cast))
}

/// The field of a tensor column `field` with its elements of type `to`: its name, shape and
/// nullability kept.
pub fn cast_field(field: &Field, to: &DataType) -> Result<Field, RunError> {
    let DataType::FixedSizeList(item, size) = field.data_type() else {
        return Err(RunError::Internal(format!("a tensor column of {}", field.data_type())));
    };
    if item.data_type() == to {
        return Ok(field.clone());
    }
    let item = Arc::new(Field::new_list_field(to.clone(), true));
    Ok(Field::new(field.name(), DataType::FixedSizeList(item, *size), field.is_nullable())
        .with_metadata(field.metadata().clone()))
}

/// The element type of a tensor column's field.
pub fn item_type(field: &Field) -> DataType {
    match field.data_type() {
        DataType::FixedSizeList(item, _) => item.data_type().clone(),
        other => other.clone(),
    }
}
