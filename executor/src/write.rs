//! Writes of tables and tensors to files (`std.io.write_*`, `aigridc run --output`): the file is
//! written under a temporary name beside its destination and renamed when complete, so a
//! failed or cancelled run never leaves a file that looks complete.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::parquet::arrow::ArrowWriter;

use crate::RunError;
use crate::gather::Gathered;

/// A file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// CSV with a header row.
    Csv,
    /// One JSON object per line.
    JsonLines,
    /// Apache Parquet.
    Parquet,
    /// The Arrow IPC file format.
    Arrow,
}

impl Format {
    /// The format a file name's extension says.
    pub fn of(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()? {
            "csv" => Some(Format::Csv),
            "json" | "jsonl" | "ndjson" => Some(Format::JsonLines),
            "parquet" => Some(Format::Parquet),
            "arrow" | "ipc" | "feather" => Some(Format::Arrow),
            _ => None,
        }
    }
}

/// A write of its one input to `path`; its result is the number of rows written.
#[derive(Debug)]
pub struct Write {
    /// The destination.
    pub path: PathBuf,
    /// The format.
    pub format: Format,
}

/// The schema of a write's result: the rows written.
pub fn rows_written_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("value", DataType::Int64, false)]))
}

impl Gathered for Write {
    fn name(&self) -> &str {
        match self.format {
            Format::Csv => "write_csv",
            Format::JsonLines => "write_jsonl",
            Format::Parquet => "write_parquet",
            Format::Arrow => "write_arrow",
        }
    }

    fn run(&self, inputs: Vec<Vec<RecordBatch>>) -> Result<Vec<RecordBatch>, RunError> {
        let batches = inputs.into_iter().next().unwrap_or_default();
        let rows = write_file(&self.path, self.format, &batches)?;
        let count = Int64Array::from(vec![i64::try_from(rows).unwrap_or(i64::MAX)]);
        Ok(vec![RecordBatch::try_new(rows_written_schema(), vec![Arc::new(count)])?])
    }
}

/// Writes `batches` to `path` in `format` (temporary name, then rename); the rows written.
pub fn write_file(path: &Path, format: Format, batches: &[RecordBatch]) -> Result<usize, RunError> {
    let io = |error: std::io::Error| RunError::Io(format!("{}: {error}", path.display()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let partial = path.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    let result = write_to(&partial, format, batches);
    match result {
        Ok(rows) => {
            std::fs::rename(&partial, path).map_err(io)?;
            Ok(rows)
        }
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            Err(error)
        }
    }
}

fn write_to(path: &Path, format: Format, batches: &[RecordBatch]) -> Result<usize, RunError> {
    let io = |error: std::io::Error| RunError::Io(format!("{}: {error}", path.display()));
    let file = BufWriter::new(File::create(path).map_err(io)?);
    let rows = batches.iter().map(RecordBatch::num_rows).sum();
    let schema = batches.first().map(RecordBatch::schema);
    match format {
        Format::Csv => {
            let mut writer =
                datafusion::arrow::csv::WriterBuilder::new().with_header(true).build(file);
            for batch in batches {
                writer.write(batch)?;
            }
        }
        Format::JsonLines => {
            let mut writer = datafusion::arrow::json::LineDelimitedWriter::new(file);
            for batch in batches {
                writer.write(batch)?;
            }
            writer.finish()?;
        }
        Format::Parquet => {
            let schema = schema.unwrap_or_else(|| Arc::new(Schema::empty()));
            let mut writer = ArrowWriter::try_new(file, schema, None)?;
            for batch in batches {
                writer.write(batch)?;
            }
            writer.close()?;
        }
        Format::Arrow => {
            let schema = schema.unwrap_or_else(|| Arc::new(Schema::empty()));
            let mut writer = datafusion::arrow::ipc::writer::FileWriter::try_new(file, &schema)?;
            for batch in batches {
                writer.write(batch)?;
            }
            writer.finish()?;
        }
    }
    Ok(rows)
}
