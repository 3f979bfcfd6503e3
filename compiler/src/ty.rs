//! The types the checker computes: scalars, lists, nullable types, tables with their columns
//! and tensors with their element types and dimensions; `ty/arrow.rs` maps them to Arrow.

mod arrow;

use std::fmt;
use std::rc::Rc;

use aigrid_lang::ast::{DimKind, Path, TypeExpr, TypeKind};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use ecow::EcoString;

pub use arrow::{ValueType, value_type};

/// A scalar type (spec/language.md §5.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Scalar {
    Bool,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F16,
    Bf16,
    F32,
    F64,
    Utf8,
    Binary,
    Date,
    Timestamp,
    Path,
    Duration,
}

impl Scalar {
    const ALL: [Scalar; 19] = [
        Scalar::Bool,
        Scalar::I8,
        Scalar::I16,
        Scalar::I32,
        Scalar::I64,
        Scalar::U8,
        Scalar::U16,
        Scalar::U32,
        Scalar::U64,
        Scalar::F16,
        Scalar::Bf16,
        Scalar::F32,
        Scalar::F64,
        Scalar::Utf8,
        Scalar::Binary,
        Scalar::Date,
        Scalar::Timestamp,
        Scalar::Path,
        Scalar::Duration,
    ];

    /// The scalar type called `name` in `.ag` source.
    pub(crate) fn from_name(name: &str) -> Option<Scalar> {
        Scalar::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The name as written in `.ag` source.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Scalar::Bool => "bool",
            Scalar::I8 => "i8",
            Scalar::I16 => "i16",
            Scalar::I32 => "i32",
            Scalar::I64 => "i64",
            Scalar::U8 => "u8",
            Scalar::U16 => "u16",
            Scalar::U32 => "u32",
            Scalar::U64 => "u64",
            Scalar::F16 => "f16",
            Scalar::Bf16 => "bf16",
            Scalar::F32 => "f32",
            Scalar::F64 => "f64",
            Scalar::Utf8 => "utf8",
            Scalar::Binary => "binary",
            Scalar::Date => "date",
            Scalar::Timestamp => "timestamp",
            Scalar::Path => "path",
            Scalar::Duration => "duration",
        }
    }

    pub(crate) fn is_int(self) -> bool {
        matches!(
            self,
            Scalar::I8
                | Scalar::I16
                | Scalar::I32
                | Scalar::I64
                | Scalar::U8
                | Scalar::U16
                | Scalar::U32
                | Scalar::U64
        )
    }

    pub(crate) fn is_float(self) -> bool {
        matches!(self, Scalar::F16 | Scalar::Bf16 | Scalar::F32 | Scalar::F64)
    }

    pub(crate) fn is_numeric(self) -> bool {
        self.is_int() || self.is_float()
    }

    /// Whether tensors may hold it: numbers and `bool`.
    pub(crate) fn is_element(self) -> bool {
        self.is_numeric() || self == Scalar::Bool
    }

    /// Whether `<`, `<=`, `>` and `>=` compare it.
    pub(crate) fn is_ordered(self) -> bool {
        self.is_numeric()
            || matches!(
                self,
                Scalar::Utf8 | Scalar::Path | Scalar::Date | Scalar::Timestamp | Scalar::Duration
            )
    }

    /// The SQL type to `CAST` a column to, to get this type from DataFusion.
    pub(crate) fn sql_name(self) -> &'static str {
        match self {
            Scalar::Bool => "BOOLEAN",
            Scalar::I8 => "TINYINT",
            Scalar::I16 => "SMALLINT",
            Scalar::I32 => "INT",
            Scalar::I64 => "BIGINT",
            Scalar::U8 => "TINYINT UNSIGNED",
            Scalar::U16 | Scalar::Bf16 => "SMALLINT UNSIGNED",
            Scalar::U32 => "INT UNSIGNED",
            Scalar::U64 => "BIGINT UNSIGNED",
            Scalar::F16 | Scalar::F32 => "REAL",
            Scalar::F64 => "DOUBLE",
            Scalar::Utf8 | Scalar::Path => "VARCHAR",
            Scalar::Binary => "BYTEA",
            Scalar::Date => "DATE",
            Scalar::Timestamp => "TIMESTAMP",
            Scalar::Duration => "INTERVAL",
        }
    }

    /// The Arrow type of the scalar (spec/language.md §5.1).
    pub(crate) fn to_arrow(self) -> DataType {
        match self {
            Scalar::Bool => DataType::Boolean,
            Scalar::I8 => DataType::Int8,
            Scalar::I16 => DataType::Int16,
            Scalar::I32 => DataType::Int32,
            Scalar::I64 => DataType::Int64,
            Scalar::U8 => DataType::UInt8,
            Scalar::U16 | Scalar::Bf16 => DataType::UInt16,
            Scalar::U32 => DataType::UInt32,
            Scalar::U64 => DataType::UInt64,
            Scalar::F16 => DataType::Float16,
            Scalar::F32 => DataType::Float32,
            Scalar::F64 => DataType::Float64,
            Scalar::Utf8 | Scalar::Path => DataType::Utf8,
            Scalar::Binary => DataType::Binary,
            Scalar::Date => DataType::Date32,
            Scalar::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            Scalar::Duration => DataType::Duration(TimeUnit::Millisecond),
        }
    }

    /// The scalar an Arrow type maps back to, if one does.
    fn from_arrow(data_type: &DataType) -> Option<Scalar> {
        Some(match data_type {
            DataType::Boolean => Scalar::Bool,
            DataType::Int8 => Scalar::I8,
            DataType::Int16 => Scalar::I16,
            DataType::Int32 => Scalar::I32,
            DataType::Int64 => Scalar::I64,
            DataType::UInt8 => Scalar::U8,
            DataType::UInt16 => Scalar::U16,
            DataType::UInt32 => Scalar::U32,
            DataType::UInt64 => Scalar::U64,
            DataType::Float16 => Scalar::F16,
            DataType::Float32 => Scalar::F32,
            DataType::Float64 => Scalar::F64,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Scalar::Utf8,
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView => Scalar::Binary,
            DataType::Date32 | DataType::Date64 => Scalar::Date,
            DataType::Timestamp(_, _) => Scalar::Timestamp,
            DataType::Duration(_) => Scalar::Duration,
            _ => return None,
        })
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A type.
#[derive(Clone, PartialEq, Debug)]
pub(crate) enum Type {
    Scalar(Scalar),
    /// An integer literal: becomes any integer or float type.
    IntLit,
    /// A float literal: becomes any float type.
    FloatLit,
    /// `null`: becomes any nullable type.
    Null,
    List(Box<Type>),
    /// `T?`.
    Optional(Box<Type>),
    /// A table; `None` when its columns are known only from the data at run time.
    Table(Option<Rc<[Column]>>),
    Tensor(Tensor),
    /// An Arrow type with no `.ag` spelling, from SQL (e.g. a decimal); it is shown as Arrow
    /// writes it.
    Arrow(Rc<str>),
    /// What a call to a pipeline without a result type gives: no value.
    Nothing,
    /// Nothing can be said (an error was reported already): every check passes.
    Unknown,
}

/// A column of a table type; a nullable column has an `Optional` type.
#[derive(Clone, PartialEq, Debug)]
pub(crate) struct Column {
    pub name: EcoString,
    pub ty: Type,
}

/// A tensor type.
#[derive(Clone, PartialEq, Debug)]
pub(crate) struct Tensor {
    pub elem: Elem,
    /// The dimensions, outermost first; `None` when even the rank is not known.
    pub dims: Option<Vec<Dim>>,
}

/// A tensor's element type.
#[derive(Clone, PartialEq, Debug)]
pub(crate) enum Elem {
    Scalar(Scalar),
    /// A variable of a standard-library signature (`T`), bound by a call.
    Var(EcoString),
    Unknown,
}

/// One tensor dimension.
#[derive(Clone, PartialEq, Debug)]
pub(crate) enum Dim {
    Fixed(u64),
    /// A symbol as written in a signature; calls and bodies replace it by a variable.
    Symbol(EcoString),
    /// A variable of the checker's dimension table.
    Var(u32),
    /// `_`, or a size nothing constrains.
    Any,
}

/// The type a written type stands for. `named` gives the type of a name that is not a scalar
/// (an alias, `Table`), or `None` when the name is an element variable (`T` in
/// `tensor<T, [N]>`; elsewhere such a name is unknown).
pub(crate) fn from_written(ty: &TypeExpr, named: &mut dyn FnMut(&Path) -> Option<Type>) -> Type {
    let scalar_or_named = |path: &Path, named: &mut dyn FnMut(&Path) -> Option<Type>| match path
        .segments
        .as_slice()
    {
        [one] => Scalar::from_name(&one.name).map(Type::Scalar).or_else(|| named(path)),
        _ => named(path),
    };
    match &ty.kind {
        TypeKind::Named(path) => scalar_or_named(path, named).unwrap_or(Type::Unknown),
        TypeKind::Table(fields) => {
            let columns: Vec<Column> = fields
                .iter()
                .map(|f| Column { name: f.name.name.clone(), ty: from_written(&f.ty, named) })
                .collect();
            Type::Table(Some(columns.into()))
        }
        TypeKind::Tensor { dtype, dims } => {
            let elem = match &dtype.kind {
                TypeKind::Named(path) => match scalar_or_named(path, named) {
                    Some(Type::Scalar(s)) if s.is_element() => Elem::Scalar(s),
                    None => Elem::Var(path.to_string().into()),
                    Some(_) => Elem::Unknown,
                },
                _ => Elem::Unknown,
            };
            let dims = dims
                .iter()
                .map(|d| match &d.kind {
                    DimKind::Fixed(n) => Dim::Fixed(*n),
                    DimKind::Symbol(name) => Dim::Symbol(name.clone()),
                    DimKind::Any => Dim::Any,
                })
                .collect();
            Type::Tensor(Tensor { elem, dims: Some(dims) })
        }
        TypeKind::List(item) => Type::List(Box::new(from_written(item, named))),
        TypeKind::Optional(inner) => from_written(inner, named).nullable(),
    }
}

/// The names of the families of types in standard-library signatures and cards: `Table` (any
/// table) and `Tensor` (any tensor); any other name is an element variable.
pub(crate) fn family(path: &Path) -> Option<Type> {
    match path.to_string().as_str() {
        "Table" => Some(Type::Table(None)),
        "Tensor" => Some(Type::any_tensor()),
        _ => None,
    }
}

impl Type {
    pub(crate) fn is_unknown(&self) -> bool {
        matches!(self, Type::Unknown)
    }

    /// The type without a top-level `?`.
    pub(crate) fn non_null(&self) -> &Type {
        match self {
            Type::Optional(inner) => inner,
            other => other,
        }
    }

    /// `T?`, unless the type is nullable already.
    pub(crate) fn nullable(self) -> Type {
        match self {
            Type::Optional(_) | Type::Null | Type::Unknown => self,
            other => Type::Optional(Box::new(other)),
        }
    }

    /// The type of an `ai` call's result under `@on_error(null)`, where the rows of a failed
    /// request are null: a table's columns become nullable, with a last column `_error: utf8?`
    /// that says why a row is null (spec/language.md §11); any other type becomes nullable.
    pub(crate) fn on_error_null(self) -> Type {
        match self {
            Type::Table(Some(columns)) => {
                let mut columns: Vec<Column> = columns
                    .iter()
                    .filter(|c| c.name != "_error")
                    .map(|c| Column { name: c.name.clone(), ty: c.ty.clone().nullable() })
                    .collect();
                let why = Type::Optional(Box::new(Type::Scalar(Scalar::Utf8)));
                columns.push(Column { name: "_error".into(), ty: why });
                Type::Table(Some(columns.into()))
            }
            Type::Optional(inner) if matches!(*inner, Type::Table(Some(_))) => {
                inner.on_error_null()
            }
            other => other.nullable(),
        }
    }

    /// A tensor whose element type and shape are unknown.
    pub(crate) fn any_tensor() -> Type {
        Type::Tensor(Tensor { elem: Elem::Unknown, dims: None })
    }
}

/// Shows a type with its dimensions as they are (variables as `_`); the checker shows them
/// with what it has learnt about them.
impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Scalar(s) => f.write_str(s.name()),
            Type::IntLit => f.write_str("integer literal"),
            Type::FloatLit => f.write_str("float literal"),
            Type::Null => f.write_str("null"),
            Type::List(item) => write!(f, "list<{item}>"),
            Type::Optional(inner) => write!(f, "{inner}?"),
            Type::Table(None) => f.write_str("table"),
            Type::Table(Some(columns)) => {
                f.write_str("table {")?;
                for (i, column) in columns.iter().enumerate() {
                    let sep = if i == 0 { " " } else { ", " };
                    write!(f, "{sep}{}: {}", column.name, column.ty)?;
                }
                f.write_str(if columns.is_empty() { "}" } else { " }" })
            }
            Type::Tensor(Tensor { elem: Elem::Unknown, dims: None }) => f.write_str("tensor"),
            Type::Tensor(tensor) => {
                let elem = match &tensor.elem {
                    Elem::Scalar(s) => s.name(),
                    Elem::Var(name) => name.as_str(),
                    Elem::Unknown => "_",
                };
                match &tensor.dims {
                    None => write!(f, "tensor<{elem}, [..]>"),
                    Some(dims) => {
                        write!(f, "tensor<{elem}, [")?;
                        for (i, dim) in dims.iter().enumerate() {
                            if i > 0 {
                                f.write_str(", ")?;
                            }
                            match dim {
                                Dim::Fixed(n) => write!(f, "{n}")?,
                                Dim::Symbol(name) => f.write_str(name)?,
                                Dim::Var(_) | Dim::Any => f.write_str("_")?,
                            }
                        }
                        f.write_str("]>")
                    }
                }
            }
            Type::Arrow(name) => write!(f, "{name} (Arrow)"),
            Type::Nothing => f.write_str("nothing"),
            Type::Unknown => f.write_str("_"),
        }
    }
}
