//! Values as JSON, both ways: a `--param` that is a tensor, a list or a table is given as JSON
//! (`[[1, 2], [3, 4]]`, `["a", "b"]`, `[{"id": 1}]`), and the standard library's examples state
//! their results as JSON.
//!
//! A tensor is nested arrays, one level per dimension; a list is an array of its elements; a
//! table is an array of rows, each an object of its columns; a scalar is itself.

use aigrid_compiler::ValueType;
use aigrid_kernels::{Data, Tensor};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::json::ReaderBuilder;
use datafusion::arrow::json::writer::{ArrayWriter, JsonArray, WriterBuilder};
use serde_json::{Map, Value as Json};
use std::sync::Arc;

use super::Value;
use crate::RunError;
use crate::elements::{cast_column, computed};

/// The column name of a list's or a scalar's one column.
const COLUMN: &str = "value";

impl Value {
    /// The value of type `ty` written as `json`; an error says what does not fit the type.
    pub fn from_json(ty: ValueType, json: &Json) -> Result<Value, RunError> {
        match &ty {
            ValueType::Tensor { elem, dims } => {
                let tensor = tensor_from_json(elem, dims, json)?;
                let (field, array) = tensor.to_arrow("tensor")?;
                // Other element types are read as the kernels' and cast to theirs.
                let (field, array) = cast_column(&field, &array, elem)?;
                Value::with_field(ty, field, array)
            }
            ValueType::Table(Some(schema)) => {
                let Json::Array(rows) = json else {
                    return Err(bad("a table is an array of rows, each an object"));
                };
                if let Some(row) = rows.iter().find(|r| !r.is_object()) {
                    return Err(bad(&format!("a table's row is an object, not {row}")));
                }
                for (i, row) in rows.iter().enumerate() {
                    for field in schema.fields().iter().filter(|f| !f.is_nullable()) {
                        if row.get(field.name()).is_none_or(Json::is_null) {
                            return Err(bad(&format!(
                                "row {i} has no value for column `{}`, which may not be null",
                                field.name()
                            )));
                        }
                    }
                }
                let schema = schema.clone();
                let batch = decode(schema.clone(), rows, false)?;
                Ok(Value::new(ty, schema, vec![batch]))
            }
            ValueType::Table(None) => {
                Err(bad("a table whose columns are not declared cannot be given as JSON"))
            }
            ValueType::List(elem, nullable) => {
                let Json::Array(items) = json else {
                    return Err(bad("a list is a JSON array"));
                };
                if !nullable && items.iter().any(Json::is_null) {
                    return Err(bad("this list's elements may not be null (that is `list<T?>`)"));
                }
                one_column(ty.clone(), elem, *nullable, items)
            }
            ValueType::Scalar(elem, nullable) => {
                if json.is_null() && !nullable {
                    return Err(bad("null is not allowed here"));
                }
                one_column(ty.clone(), elem, *nullable, std::slice::from_ref(json))
            }
            ValueType::Nothing => Ok(Value::new(ty, Arc::new(Schema::empty()), Vec::new())),
        }
    }

    /// The value as JSON, in the form [`Value::from_json`] reads. A tensor column inside a
    /// table is written as a flat array of each row's elements.
    pub fn to_json(&self) -> Result<Json, RunError> {
        match &self.ty {
            ValueType::Tensor { elem, .. } if computed(elem) => {
                Ok(tensor_to_json(&self.to_tensor()?))
            }
            ValueType::Tensor { elem, .. } => {
                let (field, array) = self.array()?;
                let wide = if elem.is_floating() { DataType::Float64 } else { DataType::Int64 };
                let (field, array) = cast_column(&field, &array, &wide)?;
                let json = tensor_to_json(&Tensor::from_arrow(&field, array.as_ref())?);
                Ok(if *elem == DataType::Boolean { booleans(json) } else { json })
            }
            ValueType::Table(_) => rows(&self.batch()?),
            ValueType::List(..) => Ok(Json::Array(column(&self.batch()?)?)),
            ValueType::Scalar(..) => {
                Ok(column(&self.batch()?)?.into_iter().next().unwrap_or(Json::Null))
            }
            ValueType::Nothing => Ok(Json::Null),
        }
    }
}

fn bad(reason: &str) -> RunError {
    RunError::Param(reason.to_owned())
}

/// A list's or a scalar's items as one column named [`COLUMN`].
fn one_column(
    ty: ValueType,
    elem: &DataType,
    nullable: bool,
    items: &[Json],
) -> Result<Value, RunError> {
    let schema = Arc::new(Schema::new(vec![Field::new(COLUMN, elem.clone(), nullable)]));
    let rows: Vec<Json> = items
        .iter()
        .map(|item| Json::Object(Map::from_iter([(COLUMN.to_owned(), item.clone())])))
        .collect();
    let batch = decode(schema.clone(), &rows, true)?;
    Ok(Value::new(ty, schema, vec![batch]))
}

/// JSON objects as one batch of `schema`, through Arrow's JSON decoder (which checks each value
/// against its column's type). `items` says the rows are a list's items, for the errors.
fn decode(schema: SchemaRef, rows: &[Json], items: bool) -> Result<RecordBatch, RunError> {
    for (i, row) in rows.iter().enumerate() {
        for field in schema.fields() {
            if let Some(value) = row.get(field.name()) {
                whole_numbers(field.data_type(), value).map_err(|found| {
                    let at = match items {
                        true => format!("element {i}"),
                        false => format!("row {i}, column `{}`", field.name()),
                    };
                    bad(&format!(
                        "{at}: {found} is not an integer, and {} holds integers",
                        field.data_type()
                    ))
                })?;
            }
        }
    }
    let describe = |e: datafusion::arrow::error::ArrowError| bad(&e.to_string());
    let mut decoder = ReaderBuilder::new(schema.clone())
        .with_batch_size(rows.len().max(1))
        .with_strict_mode(true)
        .build_decoder()
        .map_err(describe)?;
    decoder.serialize(rows).map_err(describe)?;
    Ok(decoder.flush().map_err(describe)?.unwrap_or_else(|| RecordBatch::new_empty(schema)))
}

/// Checks that the numbers in `json` that go into integer columns are whole: Arrow's decoder
/// would cut `1.5` to `1` without a word. The error is the first number that is not.
fn whole_numbers<'a>(ty: &DataType, json: &'a Json) -> Result<(), &'a Json> {
    match (ty, json) {
        (ty, Json::Number(n)) if ty.is_integer() => {
            if n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|x| x.fract() == 0.0) {
                Ok(())
            } else {
                Err(json)
            }
        }
        (
            DataType::List(item) | DataType::LargeList(item) | DataType::FixedSizeList(item, _),
            Json::Array(items),
        ) => items.iter().try_for_each(|x| whole_numbers(item.data_type(), x)),
        (DataType::Struct(fields), Json::Object(object)) => fields.iter().try_for_each(|f| {
            object.get(f.name()).map_or(Ok(()), |x| whole_numbers(f.data_type(), x))
        }),
        _ => Ok(()),
    }
}

/// A batch as JSON rows, each an object of its columns (nulls written as `null`).
fn rows(batch: &RecordBatch) -> Result<Json, RunError> {
    let mut writer: ArrayWriter<Vec<u8>> =
        WriterBuilder::new().with_explicit_nulls(true).build::<_, JsonArray>(Vec::new());
    writer.write(batch)?;
    writer.finish()?;
    let bytes = writer.into_inner();
    if bytes.is_empty() {
        return Ok(Json::Array(Vec::new()));
    }
    serde_json::from_slice(&bytes).map_err(|e| RunError::Internal(format!("JSON of a batch: {e}")))
}

/// The first column of a batch, as JSON values.
fn column(batch: &RecordBatch) -> Result<Vec<Json>, RunError> {
    let Some(field) = batch.schema().fields().first().cloned() else {
        return Ok(Vec::new());
    };
    let one = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new(COLUMN, field.data_type().clone(), true)])),
        vec![batch.column(0).clone()],
    )?;
    let Json::Array(rows) = rows(&one)? else {
        return Err(RunError::Internal("JSON rows that are not an array".into()));
    };
    Ok(rows
        .into_iter()
        .map(|mut row| row.get_mut(COLUMN).map(Json::take).unwrap_or(Json::Null))
        .collect())
}

/// A tensor from nested arrays: its shape is read from the nesting and checked against `dims`.
fn tensor_from_json(
    elem: &DataType,
    dims: &[Option<u64>],
    json: &Json,
) -> Result<Tensor, RunError> {
    let mut shape = Vec::new();
    let mut level = json;
    while let Json::Array(items) = level {
        shape.push(items.len());
        match items.first() {
            Some(first) => level = first,
            None => {
                // An empty array: the dimensions below it are as declared, or 0.
                let below = dims.iter().skip(shape.len()).map(|d| d.unwrap_or(0) as usize);
                shape.extend(below);
                break;
            }
        }
    }
    if shape.len() != dims.len() {
        return Err(bad(&format!(
            "a tensor of {} dimensions is written as {} levels of arrays, not {}",
            dims.len(),
            dims.len(),
            shape.len()
        )));
    }
    for (axis, (&found, declared)) in shape.iter().zip(dims).enumerate() {
        if let Some(declared) = declared.filter(|&d| d != found as u64) {
            return Err(bad(&format!(
                "dimension {axis} of the tensor is declared {declared}, but the JSON has {found}"
            )));
        }
    }
    // No capacity from the shape: it is read from the first element of each level only, and
    // `flatten` checks the rest.
    let mut numbers = Vec::new();
    flatten(json, &shape, *elem == DataType::Boolean, &mut numbers)?;
    let tensor = match elem {
        DataType::Boolean => {
            Tensor::new(shape, Data::I64(numbers.iter().map(|n| n.0 as i64).collect()))
        }
        DataType::Float32 => Tensor::f32(shape, numbers.iter().map(|n| n.0 as f32).collect()),
        DataType::Float64 | DataType::Float16 => {
            Tensor::f64(shape, numbers.iter().map(|n| n.0).collect())
        }
        ty if ty.is_integer() => {
            let ints =
                numbers.iter().map(|n| n.1).collect::<Option<Vec<i64>>>().ok_or_else(|| {
                    bad("an integer tensor's elements are integers, without a fraction")
                })?;
            Tensor::new(shape, Data::I64(ints.into()))
        }
        other => {
            return Err(RunError::Unsupported(format!(
                "tensors of {other} cannot be given as JSON; f32, f64 and i64 can"
            )));
        }
    };
    Ok(tensor?)
}

/// The numbers of nested arrays of `shape`, row-major: each as a float, and as an integer when
/// it is one. With `booleans`, the elements are `true` and `false`, read as 1 and 0.
fn flatten(
    json: &Json,
    shape: &[usize],
    booleans: bool,
    out: &mut Vec<(f64, Option<i64>)>,
) -> Result<(), RunError> {
    let Some((&size, inner)) = shape.split_first() else {
        match json {
            Json::Bool(b) if booleans => out.push((f64::from(u8::from(*b)), Some(i64::from(*b)))),
            Json::Number(n) if !booleans => out.push((n.as_f64().unwrap_or(f64::NAN), n.as_i64())),
            _ if booleans => {
                return Err(bad(&format!("a bool tensor's element is true or false, not {json}")));
            }
            _ => return Err(bad(&format!("a tensor's element is a number, not {json}"))),
        }
        return Ok(());
    };
    match json {
        Json::Array(items) if items.len() == size => {
            items.iter().try_for_each(|item| flatten(item, inner, booleans, out))
        }
        Json::Array(items) => Err(bad(&format!(
            "the arrays of one level of a tensor must have one length, not {size} and {}",
            items.len()
        ))),
        other => Err(bad(&format!("expected an array in a tensor, found {other}"))),
    }
}

/// A tensor as nested arrays, one level per dimension.
fn tensor_to_json(tensor: &Tensor) -> Json {
    let numbers: Vec<Json> = match tensor.data() {
        // Through its shortest decimal form, so that 0.1f32 is written 0.1.
        Data::F32(v) => {
            v.iter().map(|&x| number(x.to_string().parse().unwrap_or(f64::NAN))).collect()
        }
        Data::F64(v) => v.iter().map(|&x| number(x)).collect(),
        Data::I64(v) => v.iter().map(|&x| Json::from(x)).collect(),
    };
    nest(&numbers, tensor.shape())
}

/// Nested arrays of 0 and 1 as nested arrays of `false` and `true`.
fn booleans(json: Json) -> Json {
    match json {
        Json::Array(items) => Json::Array(items.into_iter().map(booleans).collect()),
        Json::Number(n) => Json::Bool(n.as_i64() != Some(0)),
        other => other,
    }
}

/// A float as JSON: `null` when it is not finite (JSON has no NaN).
fn number(x: f64) -> Json {
    serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number)
}

fn nest(numbers: &[Json], shape: &[usize]) -> Json {
    match shape.split_first() {
        None => numbers.first().cloned().unwrap_or(Json::Null),
        Some((&size, inner)) => {
            let step = inner.iter().product::<usize>();
            if step == 0 {
                return Json::Array((0..size).map(|_| nest(&[], inner)).collect());
            }
            Json::Array(numbers.chunks(step).map(|chunk| nest(chunk, inner)).collect())
        }
    }
}
