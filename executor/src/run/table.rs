//! Tables: reads (the declared type enforced by column name), `sql` steps, the table
//! operations and `select`, all planned and run by DataFusion.

use std::path::Path;
use std::sync::Arc;

use aigrid_compiler::{PlanArg, PlanNode, Value as Constant, ValueType};
use aigrid_kernels::Tensor;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::Column;
use datafusion::common::metadata::FieldMetadata;
use datafusion::execution::options::ArrowReadOptions;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::prelude::{CsvReadOptions, JsonReadOptions, ParquetReadOptions};

use super::{Driver, Slot};
use crate::RunError;
use crate::declared::declare;
use crate::gather::GatherExec;
use crate::kernel::{Kernel, nullable};
use crate::store::{Location, Object};

use crate::value::Value;

impl Driver<'_> {
    /// The column `name` of the node's table. A column of tensor type is read as a tensor: the
    /// column, with the `arrow.fixed_shape_tensor` extension of its row shape.
    pub(super) fn column(
        &self,
        node: &PlanNode,
        name: &str,
        ty: &ValueType,
    ) -> Result<LogicalPlan, RunError> {
        let table = self.plan_input(node, "table")?;
        if table.schema().fields().iter().all(|f| f.name() != name) {
            return Err(RunError::Data(format!("the table has no column `{name}`")));
        }
        let column = Expr::Column(Column::new_unqualified(name));
        let column = match ty {
            ValueType::Tensor { dims, .. } => {
                let row: Option<Vec<usize>> =
                    dims.iter().skip(1).map(|d| d.and_then(|n| usize::try_from(n).ok())).collect();
                match row {
                    Some(row) => {
                        let metadata = FieldMetadata::from(Tensor::column_metadata(&row));
                        column.alias_with_metadata(name, Some(metadata))
                    }
                    // A row shape not known here: the column's own metadata says it.
                    None => column,
                }
            }
            _ => column,
        };
        Ok(LogicalPlanBuilder::from(table).project([column])?.build()?)
    }

    pub(super) async fn read(
        &self,
        node: &PlanNode,
        op: &str,
        ty: &ValueType,
    ) -> Result<LogicalPlan, RunError> {
        let path = self.string_arg(node, "src")?;
        let location = Location::parse(&path)?;
        if let Location::Path(local) = &location
            && !local.exists()
        {
            return Err(RunError::Io(format!("{path}: no such file")));
        }
        // A URL of one object: the object and its size, asked once for what follows.
        let object = match &location {
            Location::Url(url) if !url.path().ends_with('/') => {
                let object = Object::at(url, self.stores().as_ref())?;
                let Some(size) = object.size().await? else {
                    return Err(RunError::Io(format!("{path}: no such object")));
                };
                Some((object, size))
            }
            _ => None,
        };
        let declared = match ty {
            ValueType::Table(Some(schema)) if node.declared => Some(schema.clone()),
            _ => None,
        };
        let frame = match op {
            "read_csv" => {
                let schema = match &declared {
                    Some(declared) => {
                        let header = self.csv_header(&path, &location, object).await?;
                        Some(csv_schema(&path, &header, declared)?)
                    }
                    None => None,
                };
                let mut options = CsvReadOptions::new().has_header(true);
                if let Some(schema) = &schema {
                    options = options.schema(schema);
                }
                self.context.read_csv(&path, options).await?
            }
            "read_jsonl" => {
                let schema = declared.as_ref().map(|d| {
                    Schema::new(d.fields().iter().map(|f| nullable(f)).collect::<Vec<_>>())
                });
                let mut options = JsonReadOptions::default().file_extension(extension(&path));
                if let Some(schema) = &schema {
                    options = options.schema(schema);
                }
                self.context.read_json(&path, options).await?
            }
            "read_arrow" => {
                let mut options =
                    ArrowReadOptions { file_extension: extension(&path), ..Default::default() };
                // DataFusion infers the schema of an Arrow file in an object store assuming an
                // 8-byte preamble; arrow-rs writes 64. The footer says it either way.
                let schema = match &object {
                    Some((object, size)) => Some(object.arrow_schema(*size).await?),
                    None => None,
                };
                options.schema = schema.as_ref();
                self.context.read_arrow(&path, options).await?
            }
            _ => {
                let options = ParquetReadOptions::default().file_extension(extension(&path));
                self.context.read_parquet(&path, options).await?
            }
        };
        Ok(frame.into_unoptimized_plan())
    }

    pub(super) async fn select(&self, node: &PlanNode, ty: ValueType) -> Result<Slot, RunError> {
        let named: Vec<&PlanArg> =
            node.args.iter().filter(|a| a.name != "table" && a.name != "columns").collect();
        let ValueType::Table(Some(schema)) = &ty else {
            return Err(RunError::Internal("select without a known result schema".into()));
        };
        if named.is_empty() {
            // select(t, ["a", "b"]): a projection.
            let table = self.plan_input(node, "table")?;
            return Ok(Slot::Pending(ty.clone(), declare(table, schema)?));
        }
        let mut inputs = Vec::with_capacity(named.len());
        for arg in named {
            inputs.push(self.physical_input(node, &arg.name).await?);
        }
        let plan = GatherExec::new(Arc::new(Kernel::Zip(schema.clone())), inputs, schema.clone());
        self.pending(ty.clone(), Arc::new(plan))
    }

    pub(super) async fn sql(
        &self,
        node: &PlanNode,
        query: &str,
        ty: ValueType,
    ) -> Result<Slot, RunError> {
        let tables = node
            .args
            .iter()
            .map(|a| Ok((a.name.clone(), self.plan_arg(a)?)))
            .collect::<Result<Vec<_>, RunError>>()?;
        Ok(Slot::Pending(ty, self.queries.plan(&self.state, tables, query)?))
    }

    /// The string list argument `name` (column names), each quoted for SQL.
    pub(super) fn names_arg(&self, node: &PlanNode, name: &str) -> Result<Vec<String>, RunError> {
        Ok(self.column_names(node, name)?.iter().map(|n| quote(n)).collect())
    }

    /// The string list argument `name` (column names).
    fn column_names(&self, node: &PlanNode, name: &str) -> Result<Vec<String>, RunError> {
        match self.constant(node, name) {
            Some(Constant::List(items)) => items
                .iter()
                .map(|i| match i {
                    Constant::Str(s) => Ok(s.clone()),
                    _ => Err(RunError::Param(format!("`{name}` lists column names"))),
                })
                .collect(),
            _ => Err(RunError::Param(format!("`{name}` is a list of column names"))),
        }
    }

    /// `filter`, `sort`, `limit`, `join` and `group_by`, planned by DataFusion.
    pub(super) fn relational(&self, node: &PlanNode, op: &str) -> Result<LogicalPlan, RunError> {
        let table = |name: &str| -> Result<(String, LogicalPlan), RunError> {
            Ok((name.to_string(), self.plan_input(node, name)?))
        };
        let (tables, query) = match op {
            // Order matters to these, so they are logical operations rather than SQL over a
            // subquery, whose order SQL does not keep.
            "filter" => {
                let table = self.plan_input(node, "table")?;
                let predicate = self
                    .state
                    .create_logical_expr(&self.string_arg(node, "predicate")?, table.schema())?;
                return Ok(LogicalPlanBuilder::from(table).filter(predicate)?.build()?);
            }
            "sort" => {
                let descending =
                    matches!(self.constant(node, "descending"), Some(Constant::Bool(true)));
                let by: Vec<_> = self
                    .column_names(node, "by")?
                    .into_iter()
                    .map(|c| Expr::Column(Column::new_unqualified(c)).sort(!descending, descending))
                    .collect();
                let table = self.plan_input(node, "table")?;
                return Ok(LogicalPlanBuilder::from(table).sort(by)?.build()?);
            }
            "limit" => {
                let n = usize::try_from(self.int_arg(node, "n")?).unwrap_or(0);
                let table = self.plan_input(node, "table")?;
                return Ok(LogicalPlanBuilder::from(table).limit(0, Some(n))?.build()?);
            }
            "join" => {
                let how = match self.string_arg(node, "how")?.as_str() {
                    "inner" => "INNER",
                    "left" => "LEFT",
                    "right" => "RIGHT",
                    "full" => "FULL",
                    other => {
                        return Err(RunError::Param(format!(
                            "join `how` is inner, left, right or full, not `{other}`"
                        )));
                    }
                };
                let on = self.names_arg(node, "on")?;
                let query = format!(
                    "SELECT * FROM \"left\" {how} JOIN \"right\" USING ({})",
                    on.join(", ")
                );
                (vec![table("left")?, table("right")?], query)
            }
            _ => {
                let keys = self.names_arg(node, "keys")?;
                let mut columns = keys.clone();
                for arg in node.args.iter().filter(|a| a.name != "table" && a.name != "keys") {
                    let Some(Constant::Str(aggregate)) = &arg.value else {
                        return Err(RunError::Param(format!(
                            "`{}` is a SQL aggregate, as text",
                            arg.name
                        )));
                    };
                    columns.push(format!("{aggregate} AS {}", quote(&arg.name)));
                }
                let query = format!(
                    "SELECT {} FROM \"table\" GROUP BY {}",
                    columns.join(", "),
                    keys.join(", ")
                );
                (vec![table("table")?], query)
            }
        };
        self.queries.plan(&self.state, tables, &query)
    }
}

/// A scalar value as a SQL literal.
pub(super) fn literal(value: &Value) -> Result<String, RunError> {
    if !matches!(value.ty, ValueType::Scalar(..)) {
        return Err(RunError::Unsupported("operators on tables, tensors or lists".into()));
    }
    Ok(match value.scalar_json()? {
        serde_json::Value::Null => "NULL".into(),
        serde_json::Value::Bool(b) => if b { "TRUE" } else { "FALSE" }.into(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => format!("'{}'", s.replace('\'', "''")),
        other => return Err(RunError::Unsupported(format!("an operator on {other}"))),
    })
}

/// A SQL identifier, quoted.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The file extension of `path` with its dot (DataFusion filters files by it), `""` if none.
fn extension(path: &str) -> &str {
    Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .map_or("", |e| &path[path.len() - e.len() - 1..])
}

/// The longest CSV header line read from an object.
const LONGEST_HEADER: u64 = 1 << 20;

impl Driver<'_> {
    /// The header line of the CSV file at `location` (`object` and its size, when it is one);
    /// of a directory or a prefix ending in `/`, of its first `.csv` file in name order
    /// (DataFusion reads them all, in that order).
    async fn csv_header(
        &self,
        path: &str,
        location: &Location,
        object: Option<(Object, u64)>,
    ) -> Result<Vec<u8>, RunError> {
        let io = |e: std::io::Error| RunError::Io(format!("{path}: {e}"));
        let none = || RunError::Io(format!("{path}: no .csv file in it"));
        match location {
            Location::Path(local) => {
                let file = if local.is_dir() {
                    let mut names: Vec<_> = std::fs::read_dir(local)
                        .map_err(io)?
                        .filter_map(|entry| Some(entry.ok()?.path()))
                        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "csv"))
                        .collect();
                    names.sort();
                    names.into_iter().next().ok_or_else(none)?
                } else {
                    local.clone()
                };
                let file = std::fs::File::open(file).map_err(io)?;
                let mut line = Vec::new();
                std::io::BufRead::read_until(&mut std::io::BufReader::new(file), b'\n', &mut line)
                    .map_err(io)?;
                Ok(line)
            }
            Location::Url(url) => {
                let (object, size) = match object {
                    Some(object) => object,
                    None => Object::at(url, self.stores().as_ref())?
                        .first_under(".csv")
                        .await?
                        .ok_or_else(none)?,
                };
                let start = object.read_start(size, LONGEST_HEADER + 1).await?;
                match start.iter().position(|b| *b == b'\n') {
                    Some(end) => Ok(start[..=end].to_vec()),
                    None if start.len() as u64 <= LONGEST_HEADER => Ok(start.to_vec()),
                    None => Err(RunError::Data(format!("{path}: the header line is over 1 MiB"))),
                }
            }
        }
    }
}

/// The schema to parse a CSV file with: its columns in file order, declared ones with their
/// declared types (nullable: a missing value is checked afterwards), the others as text.
fn csv_schema(path: &str, header: &[u8], declared: &SchemaRef) -> Result<Schema, RunError> {
    let format = datafusion::arrow::csv::reader::Format::default().with_header(true);
    let (header, _) = format.infer_schema(header, Some(0))?;
    let names: Vec<&String> = header.fields().iter().map(|f| f.name()).collect();
    for field in declared.fields() {
        if !names.contains(&field.name()) {
            return Err(RunError::Data(format!(
                "{path}: column `{}` of the declared type is not in the file, whose columns are {}",
                field.name(),
                names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    let fields: Vec<Field> = header
        .fields()
        .iter()
        .map(|f| match declared.field_with_name(f.name()) {
            Ok(d) => nullable(d),
            Err(_) => Field::new(f.name(), DataType::Utf8, true),
        })
        .collect();
    Ok(Schema::new(fields))
}
