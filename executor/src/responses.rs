//! Answers of AI requests kept in the run's work directory. On a cluster a task runs again
//! when its worker dies; its AI calls then find the answers their pieces got the first time
//! and do not ask the AI again (an external AI may charge per call, or not be idempotent).
//! Answers are keyed by the `ai` node and the piece's bytes (Arrow IPC), and written whole or
//! not at all, with a checksum ([`Cache`]).

use std::path::{Path, PathBuf};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::writer::StreamWriter;

use crate::cache::{Cache, Key, KeyHasher};

/// The kept answers of one `ai` node.
#[derive(Clone, Debug)]
pub struct Responses {
    cache: Cache,
    node: u32,
}

impl Responses {
    /// The answers of node `node`, kept under `dir`.
    pub fn new(dir: PathBuf, node: u32) -> Responses {
        Responses { cache: Cache::at(dir), node }
    }

    /// Where the answers are kept.
    pub fn dir(&self) -> &Path {
        self.cache.dir()
    }

    /// The node whose answers these are.
    pub fn node(&self) -> u32 {
        self.node
    }

    /// The key of the request for `rows`; `None` when they cannot be encoded (then nothing is
    /// kept for them).
    pub fn key(&self, rows: &RecordBatch) -> Option<Key> {
        let mut bytes = Vec::new();
        let mut writer = StreamWriter::try_new(&mut bytes, &rows.schema()).ok()?;
        writer.write(rows).ok()?;
        writer.finish().ok()?;
        drop(writer);
        let mut hasher = KeyHasher::new();
        hasher.part(b"ai-response").part(&self.node.to_le_bytes()).part(&bytes);
        Some(hasher.key())
    }

    /// The kept answer of `key`, if there is a whole one of `schema`.
    pub fn get(&self, key: Key, schema: &SchemaRef) -> Option<RecordBatch> {
        let entry = self.cache.get(key)?;
        let batch =
            datafusion::arrow::compute::concat_batches(&entry.schema, &entry.batches).ok()?;
        (batch.schema().fields() == schema.fields()).then_some(batch)
    }

    /// Keeps `answer` under `key`. A failure to keep it costs only a repeated call later.
    pub fn put(&self, key: Key, answer: &RecordBatch) {
        let what = format!("answer of node {}", self.node);
        let _ = self.cache.put(key, &what, &answer.schema(), std::slice::from_ref(answer), None);
    }
}
