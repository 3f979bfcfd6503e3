//! Writes of tables and tensors to files (`std.io.write_*`, `aigridc run --output`): the file is
//! written under a temporary name beside its destination and renamed when complete, so a
//! failed or cancelled run never leaves a file that looks complete. A destination that is not a
//! regular file (`/dev/null`, `/dev/stdout`, a named pipe) is written in place: renaming over
//! it would replace the device with a file ([`destination`]). A symbolic link is followed, so
//! the file it names is replaced and the link stays.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::properties::WriterProperties;

use crate::RunError;

/// The most bytes a Parquet row group written by aigrid holds.
const ROW_GROUP_BYTES: usize = 64 << 20;

/// A file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

/// The schema of a write's result: the rows written.
pub fn rows_written_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("value", DataType::Int64, false)]))
}

/// Writes `batches` to `path` in `format` (temporary name, then rename); the rows written.
pub fn write_file(path: &Path, format: Format, batches: &[RecordBatch]) -> Result<usize, RunError> {
    let schema = batches.first().map_or_else(|| Arc::new(Schema::empty()), RecordBatch::schema);
    let mut file = PartialFile::create(path, format, &schema)?;
    for batch in batches {
        file.write(batch)?;
    }
    file.commit()
}

/// Where a write to a path goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Destination {
    /// The path itself, written in place: a device, a pipe, a socket, or a path under `/dev`
    /// or `/proc` (`/dev/stdout` names whatever standard output is, a file to append to too).
    InPlace,
    /// This file (the path with its symbolic links followed, even to a file that does not exist
    /// yet), replaced by renaming a finished temporary file over it.
    Replace(PathBuf),
}

/// Where a write to `path` goes (see [`Destination`]).
pub fn destination(path: &Path) -> std::io::Result<Destination> {
    if path.starts_with("/dev") || path.starts_with("/proc") {
        return Ok(Destination::InPlace);
    }
    let mut path = path.to_path_buf();
    // As the kernel does, give up after 40 links.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&path)?;
                path = match path.parent() {
                    Some(dir) => dir.join(target),
                    None => target,
                };
            }
            Ok(meta) if meta.is_file() || meta.is_dir() => return Ok(Destination::Replace(path)),
            Ok(_) => return Ok(Destination::InPlace),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Destination::Replace(path));
            }
            Err(error) => return Err(error),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

/// A file being written under a temporary name beside its destination: [`PartialFile::commit`]
/// finishes it and renames it into place; dropped before that, it is removed. A destination
/// that is a device or a pipe is written in place.
pub struct PartialFile {
    path: PathBuf,
    /// The temporary file; `None` once renamed, or when the destination is written in place.
    partial: Option<PathBuf>,
    writer: Option<Writer>,
    rows: usize,
}

enum Writer {
    Csv(datafusion::arrow::csv::Writer<BufWriter<File>>),
    JsonLines(datafusion::arrow::json::LineDelimitedWriter<BufWriter<File>>),
    Parquet(Box<ArrowWriter<BufWriter<File>>>),
    Arrow(datafusion::arrow::ipc::writer::FileWriter<BufWriter<File>>),
}

impl PartialFile {
    /// Starts writing rows of `schema` to `path` in `format`.
    pub fn create(
        path: &Path,
        format: Format,
        schema: &SchemaRef,
    ) -> Result<PartialFile, RunError> {
        let io = |error: std::io::Error| RunError::Io(format!("{}: {error}", path.display()));
        let (file, path, partial) = match destination(path).map_err(io)? {
            Destination::InPlace => {
                let file = std::fs::OpenOptions::new().write(true).open(path).map_err(io)?;
                (file, path.to_path_buf(), None)
            }
            Destination::Replace(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                let name =
                    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                // Unique to this writer: two writers of one destination (a task run again while
                // its first attempt still runs) never share a partial file; the last to finish
                // wins.
                static WRITERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
                let writer = WRITERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let partial =
                    path.with_file_name(format!(".{name}.partial-{}-{writer}", std::process::id()));
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&partial)
                    .map_err(io)?;
                (file, path, Some(partial))
            }
        };
        let file = BufWriter::new(file);
        // From here on, dropping `this` removes the partial file.
        let mut this = PartialFile { path, partial, writer: None, rows: 0 };
        this.writer = Some(match format {
            Format::Csv => Writer::Csv(
                datafusion::arrow::csv::WriterBuilder::new().with_header(true).build(file),
            ),
            Format::JsonLines => {
                Writer::JsonLines(datafusion::arrow::json::LineDelimitedWriter::new(file))
            }
            Format::Parquet => {
                // A row group is buffered until it is complete: bounded in bytes as well as
                // rows (1Mi rows of embeddings would be gigabytes).
                let properties = WriterProperties::builder()
                    .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
                    .build();
                let writer = ArrowWriter::try_new(file, schema.clone(), Some(properties))?;
                Writer::Parquet(Box::new(writer))
            }
            Format::Arrow => {
                Writer::Arrow(datafusion::arrow::ipc::writer::FileWriter::try_new(file, schema)?)
            }
        });
        Ok(this)
    }

    /// Appends `batch`.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), RunError> {
        match &mut self.writer {
            Some(Writer::Csv(w)) => w.write(batch)?,
            Some(Writer::JsonLines(w)) => w.write(batch)?,
            Some(Writer::Parquet(w)) => w.write(batch)?,
            Some(Writer::Arrow(w)) => w.write(batch)?,
            None => return Err(RunError::Internal("a write after the file was finished".into())),
        }
        self.rows += batch.num_rows();
        Ok(())
    }

    /// Finishes the file and renames it into place; the rows written.
    pub fn commit(mut self) -> Result<usize, RunError> {
        let io = |error: std::io::Error| RunError::Io(format!("{}: {error}", self.path.display()));
        let mut file = match self.writer.take() {
            Some(Writer::Csv(w)) => w.into_inner(),
            Some(Writer::JsonLines(mut w)) => {
                w.finish()?;
                w.into_inner()
            }
            Some(Writer::Parquet(w)) => w.into_inner()?,
            Some(Writer::Arrow(mut w)) => {
                w.finish()?;
                w.into_inner()?
            }
            None => return Err(RunError::Internal("a file committed twice".into())),
        };
        std::io::Write::flush(&mut file).map_err(io)?;
        drop(file);
        if let Some(partial) = self.partial.take() {
            std::fs::rename(&partial, &self.path).map_err(io)?;
        }
        Ok(self.rows)
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if let Some(partial) = self.partial.take() {
            self.writer = None;
            let _ = std::fs::remove_file(partial);
        }
    }
}
