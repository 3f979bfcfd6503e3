//! A declared table type enforced on a DataFusion logical plan, as a logical projection: each declared
//! column in order, cast to its type, and checked for nulls when its type is not nullable
//! (by [`not_null`], which fails the query naming the column). Being logical, it is optimised
//! with the rest of the query: projections and filters still reach a Parquet scan below it.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::Array;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, SchemaRef};
use datafusion::common::{Column, ScalarValue, exec_err};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, Expr, LogicalPlan, LogicalPlanBuilder, ReturnFieldArgs, ScalarFunctionArgs,
    ScalarUDF, ScalarUDFImpl, Signature, Volatility, cast, lit,
};

use crate::RunError;

/// `plan` with the declared table type `schema`; a missing column is an error that names it.
pub fn declare(plan: LogicalPlan, schema: &SchemaRef) -> Result<LogicalPlan, RunError> {
    let names: Vec<String> = plan.schema().fields().iter().map(|f| f.name().clone()).collect();
    let mut exprs = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        if !names.contains(field.name()) {
            return Err(RunError::Data(format!(
                "column `{}` of the declared type is missing; the columns are {}",
                field.name(),
                names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            )));
        }
        let column = Expr::Column(Column::new_unqualified(field.name()));
        let typed = cast(column, field.data_type().clone());
        let checked = if field.is_nullable() {
            typed
        } else {
            not_null().call(vec![typed, lit(field.name().as_str())])
        };
        exprs.push(checked.alias(field.name()));
    }
    Ok(LogicalPlanBuilder::from(plan).project(exprs)?.build()?)
}

/// `aigrid_not_null(value, name)`: `value`, or an error naming column `name` when it holds a
/// null. Its result is not nullable.
pub fn not_null() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> =
        LazyLock::new(|| Arc::new(ScalarUDF::new_from_impl(NotNull::default())));
    UDF.clone()
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct NotNull {
    signature: Signature,
}

impl Default for NotNull {
    fn default() -> NotNull {
        NotNull { signature: Signature::any(2, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for NotNull {
    fn name(&self) -> &str {
        "aigrid_not_null"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args.first().cloned().unwrap_or(DataType::Null))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let ty = args.arg_fields.first().map_or(DataType::Null, |f| f.data_type().clone());
        Ok(Arc::new(Field::new(self.name(), ty, false)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = match args.args.get(1) {
            Some(ColumnarValue::Scalar(ScalarValue::Utf8(Some(name)))) => name.clone(),
            _ => String::from("?"),
        };
        let Some(value) = args.args.into_iter().next() else {
            return exec_err!("aigrid_not_null takes a value and a column name");
        };
        let nulls = match &value {
            ColumnarValue::Array(array) => array.null_count(),
            ColumnarValue::Scalar(scalar) => usize::from(scalar.is_null()) * args.number_rows,
        };
        if nulls > 0 {
            return exec_err!("column `{name}` has {nulls} nulls but its type is not nullable");
        }
        Ok(value)
    }
}
