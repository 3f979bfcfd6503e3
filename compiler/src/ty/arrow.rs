//! Types in Arrow terms: the schemas of table types (and back, for SQL results), tensor columns
//! as `arrow.fixed_shape_tensor`, and [`ValueType`], the run-time view of a plan's types.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema};

use super::{Column, Dim, Elem, Scalar, Tensor, Type, family, from_written};

impl Type {
    /// The table type of an Arrow schema.
    pub(crate) fn from_schema(schema: &Schema) -> Type {
        let columns: Vec<Column> = schema
            .fields()
            .iter()
            .map(|f| Column { name: f.name().as_str().into(), ty: Type::from_field(f) })
            .collect();
        Type::Table(Some(columns.into()))
    }

    fn from_field(field: &Field) -> Type {
        let ty = match field.data_type() {
            // A tensor column: its row shape from the extension's metadata, else the list's
            // length.
            DataType::FixedSizeList(item, size) => match Scalar::from_arrow(item.data_type()) {
                Some(elem) if elem.is_element() => {
                    let dims = tensor_row_shape(field)
                        .unwrap_or_else(|| vec![u64::try_from(*size).unwrap_or(0)]);
                    let dims = dims.into_iter().map(Dim::Fixed).collect();
                    Type::Tensor(Tensor { elem: Elem::Scalar(elem), dims: Some(dims) })
                }
                _ => Type::from_arrow(field.data_type()),
            },
            other => Type::from_arrow(other),
        };
        if field.is_nullable() { ty.nullable() } else { ty }
    }

    fn from_arrow(data_type: &DataType) -> Type {
        if let Some(scalar) = Scalar::from_arrow(data_type) {
            return Type::Scalar(scalar);
        }
        match data_type {
            DataType::List(item) | DataType::LargeList(item) | DataType::ListView(item) => {
                Type::List(Box::new(Type::from_field(item)))
            }
            DataType::Null => Type::Null,
            other => Type::Arrow(other.to_string().into()),
        }
    }

    /// The Arrow schema of a table type, if every column maps to an Arrow type.
    pub(crate) fn to_schema(columns: &[Column]) -> Option<Schema> {
        let fields: Option<Vec<Field>> = columns
            .iter()
            .map(|c| {
                let (data_type, nullable) = c.ty.to_arrow()?;
                let field = Field::new(c.name.as_str(), data_type, nullable);
                Some(match &c.ty {
                    Type::Tensor(Tensor { dims: Some(dims), .. }) => {
                        field.with_metadata(tensor_metadata(dims))
                    }
                    _ => field,
                })
            })
            .collect();
        Some(Schema::new(fields?))
    }

    /// The Arrow type of a column type and whether it is nullable.
    fn to_arrow(&self) -> Option<(DataType, bool)> {
        match self {
            Type::Scalar(s) => Some((s.to_arrow(), false)),
            Type::Optional(inner) => inner.to_arrow().map(|(t, _)| (t, true)),
            Type::List(item) => {
                let (item, nullable) = item.to_arrow()?;
                Some((DataType::List(Arc::new(Field::new("item", item, nullable))), false))
            }
            Type::Tensor(Tensor { elem: Elem::Scalar(s), dims: Some(dims) }) => {
                // One row of a tensor column: a fixed-size list of its elements.
                let size = dims.iter().try_fold(1u64, |n, d| match d {
                    Dim::Fixed(k) => n.checked_mul(*k),
                    _ => None,
                })?;
                let size = i32::try_from(size).ok()?;
                // The canonical storage of `arrow.fixed_shape_tensor` has a nullable item.
                let item = Arc::new(Field::new("item", s.to_arrow(), true));
                Some((DataType::FixedSizeList(item, size), false))
            }
            _ => None,
        }
    }
}

/// What a value of a plan type is at run time, in Arrow terms: the view of types that the
/// executor needs (spec/plan.md §4.1 gives types as `.ag` text).
#[derive(Clone, Debug, PartialEq)]
pub enum ValueType {
    /// A table: its schema, when the columns are known.
    Table(Option<datafusion::arrow::datatypes::SchemaRef>),
    /// A tensor: its element type, and its dimensions (`None` where symbolic or unknown).
    Tensor {
        /// The element type.
        elem: DataType,
        /// The dimensions, outermost first.
        dims: Vec<Option<u64>>,
    },
    /// A list: the Arrow type of its elements and whether they may be null.
    List(DataType, bool),
    /// A scalar: its Arrow type and whether it may be null.
    Scalar(DataType, bool),
    /// No value (a pipeline without a result), or a type with no run-time form.
    Nothing,
}

/// The run-time form of the type written `text` in a plan (`table { id: i64 }`,
/// `tensor<f32, [N, 384]>`, `list<utf8>?`); `None` when it does not parse.
pub fn value_type(text: &str) -> Option<ValueType> {
    // The types shown without a written form: a table whose columns come from the data, any
    // tensor, and nothing.
    match text.trim() {
        "table" => return Some(ValueType::Table(None)),
        "tensor" => return Some(Type::any_tensor().value_type()),
        "nothing" => return Some(ValueType::Nothing),
        _ => {}
    }
    let parsed = aigrid_lang::parse(crate::packages::STD_FILE, &format!("type T = {text}\n"));
    let written = parsed.module.items.into_iter().find_map(|item| match item.kind {
        aigrid_lang::ast::ItemKind::Type(alias) => Some(alias.ty),
        _ => None,
    })?;
    let ty = from_written(&written, &mut family);
    Some(ty.value_type())
}

impl Type {
    fn value_type(&self) -> ValueType {
        match self {
            Type::Table(columns) => {
                ValueType::Table(columns.as_deref().and_then(Type::to_schema).map(Arc::new))
            }
            Type::Tensor(Tensor { elem: Elem::Scalar(s), dims }) => ValueType::Tensor {
                elem: s.to_arrow(),
                dims: dims
                    .iter()
                    .flatten()
                    .map(|d| match d {
                        Dim::Fixed(n) => Some(*n),
                        _ => None,
                    })
                    .collect(),
            },
            Type::Tensor(_) => ValueType::Tensor { elem: DataType::Float32, dims: Vec::new() },
            Type::List(item) => match item.to_arrow() {
                Some((t, nullable)) => ValueType::List(t, nullable),
                None => ValueType::Nothing,
            },
            Type::Optional(inner) => match inner.value_type() {
                ValueType::Scalar(t, _) => ValueType::Scalar(t, true),
                other => other,
            },
            Type::Scalar(s) => ValueType::Scalar(s.to_arrow(), false),
            _ => ValueType::Nothing,
        }
    }
}

/// The name and metadata keys of Arrow's canonical tensor extension type.
const TENSOR_EXTENSION: &str = "arrow.fixed_shape_tensor";
const EXTENSION_NAME: &str = "ARROW:extension:name";
const EXTENSION_METADATA: &str = "ARROW:extension:metadata";

/// The field metadata of a tensor column whose rows have the fixed dimensions `dims`.
fn tensor_metadata(dims: &[Dim]) -> std::collections::HashMap<String, String> {
    let shape: Vec<String> = dims
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => n.to_string(),
            _ => "0".to_owned(),
        })
        .collect();
    std::collections::HashMap::from([
        (EXTENSION_NAME.to_owned(), TENSOR_EXTENSION.to_owned()),
        (EXTENSION_METADATA.to_owned(), format!("{{\"shape\":[{}]}}", shape.join(","))),
    ])
}

/// The row shape of a tensor column, from its extension metadata.
fn tensor_row_shape(field: &Field) -> Option<Vec<u64>> {
    #[derive(serde::Deserialize)]
    struct Shape {
        shape: Vec<u64>,
    }
    if field.metadata().get(EXTENSION_NAME).map(String::as_str) != Some(TENSOR_EXTENSION) {
        return None;
    }
    let metadata = field.metadata().get(EXTENSION_METADATA)?;
    serde_json::from_str::<Shape>(metadata).ok().map(|s| s.shape)
}
