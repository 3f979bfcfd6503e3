//! Writes of tables and tensors to files (`std.io.write_*`, `aigridc run --output`): the file is
//! written under a temporary name beside its destination and renamed when complete, so a
//! failed or cancelled run never leaves a file that looks complete. A destination that is not a
//! regular file (`/dev/null`, `/dev/stdout`, a named pipe) is written in place: renaming over
//! it would replace the device with a file ([`destination`]). A symbolic link is followed, so
//! the file it names is replaced and the link stays. An object-store URL is uploaded in parts as
//! it is written, and the object appears when the upload completes ([`ObjectSink`]).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::properties::WriterProperties;

use crate::RunError;
use crate::store::{Location, ObjectSink};
use datafusion::execution::object_store::ObjectStoreRegistry;

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
    pub fn of(location: &Location) -> Option<Format> {
        match location.extension()? {
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

/// Writes `batches` to `location` in `format` (temporary name, then rename); the rows written.
/// Call it outside of an async runtime: an object is uploaded on a runtime of its own.
pub fn write_file(
    location: &Location,
    format: Format,
    batches: &[RecordBatch],
) -> Result<usize, RunError> {
    let schema = batches.first().map_or_else(|| Arc::new(Schema::empty()), RecordBatch::schema);
    let mut file = PartialFile::create(location, format, &schema, None)?;
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
/// that is a device or a pipe is written in place; an object is uploaded. Writes to an object
/// block: use it from a thread that may block.
pub struct PartialFile {
    location: Location,
    /// The temporary file and the file it becomes (the destination with its links followed);
    /// `None` once renamed, or when the destination is written in place or uploaded.
    partial: Option<Partial>,
    writer: Option<Writer>,
    rows: usize,
}

/// A temporary file and the file it is renamed to when complete.
struct Partial {
    temporary: PathBuf,
    target: PathBuf,
}

/// Where the bytes go.
enum Sink {
    File(File),
    Object(Box<ObjectSink>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::File(file) => file.write(buf),
            Sink::Object(object) => object.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::File(file) => file.flush(),
            Sink::Object(object) => object.flush(),
        }
    }
}

/// Buffered writes to an object go in 1 MiB pieces (its parts are larger).
const OBJECT_BUFFER: usize = 1 << 20;

enum Writer {
    Csv(datafusion::arrow::csv::Writer<BufWriter<Sink>>),
    JsonLines(datafusion::arrow::json::LineDelimitedWriter<BufWriter<Sink>>),
    Parquet(Box<ArrowWriter<BufWriter<Sink>>>),
    Arrow(datafusion::arrow::ipc::writer::FileWriter<BufWriter<Sink>>),
}

impl PartialFile {
    /// Starts writing rows of `schema` to `location` in `format`; an object through `stores`
    /// (the caller's runtime's), or through stores of its own when `None`.
    pub fn create(
        location: &Location,
        format: Format,
        schema: &SchemaRef,
        stores: Option<&dyn ObjectStoreRegistry>,
    ) -> Result<PartialFile, RunError> {
        let (file, partial) = match location {
            Location::Path(path) => {
                let (file, partial) = partial_file(path)?;
                (BufWriter::new(Sink::File(file)), partial)
            }
            Location::Url(url) => {
                let sink = Sink::Object(Box::new(ObjectSink::create(url, stores)?));
                (BufWriter::with_capacity(OBJECT_BUFFER, sink), None)
            }
        };
        // From here on, dropping `this` removes the partial file.
        let mut this = PartialFile { location: location.clone(), partial, writer: None, rows: 0 };
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
        let location = &self.location;
        let io = |error: std::io::Error| RunError::Io(format!("{location}: {error}"));
        let file = match self.writer.take() {
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
        let sink = file.into_inner().map_err(|e| io(e.into_error()))?;
        match sink {
            Sink::File(file) => {
                drop(file);
                if let Some(partial) = self.partial.take() {
                    std::fs::rename(&partial.temporary, &partial.target).map_err(io)?;
                }
            }
            Sink::Object(object) => object.finish()?,
        }
        Ok(self.rows)
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if let Some(partial) = self.partial.take() {
            self.writer = None;
            let _ = std::fs::remove_file(partial.temporary);
        }
    }
}

/// The file to write for destination `path`: a new temporary file beside it, or the
/// destination itself when it is written in place (then no temporary file).
fn partial_file(path: &Path) -> Result<(File, Option<Partial>), RunError> {
    let io = |error: std::io::Error| RunError::Io(format!("{}: {error}", path.display()));
    match destination(path).map_err(io)? {
        Destination::InPlace => {
            let file = std::fs::OpenOptions::new().write(true).open(path).map_err(io)?;
            Ok((file, None))
        }
        Destination::Replace(target) => {
            let path = &target;
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
            Ok((file, Some(Partial { temporary: partial, target })))
        }
    }
}
