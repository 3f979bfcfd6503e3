//! Answers of AI requests kept in the run's work directory. On a cluster a task runs again
//! when its worker dies; its AI calls then find the answers their pieces got the first time
//! and do not ask the AI again (an external AI may charge per call, or not be idempotent).
//! Answers are keyed by the `ai` node and the piece's bytes (Arrow IPC), and written whole or
//! not at all: in a local directory with a checksum ([`Cache`]), or as objects under a prefix
//! of an object store (an upload appears whole or not at all; one that does not decode is not
//! taken).

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::FileReader;
use datafusion::arrow::ipc::writer::{FileWriter, StreamWriter};
use datafusion::execution::object_store::ObjectStoreRegistry;

use crate::cache::{Cache, Key, KeyHasher};
use crate::store::{Location, Object, wait};

/// The kept answers of one `ai` node.
#[derive(Clone, Debug)]
pub struct Responses {
    dir: Location,
    node: u32,
    /// The object stores of the runtime the answers are kept from (given when its task runs).
    stores: Arc<OnceLock<Arc<dyn ObjectStoreRegistry>>>,
}

impl Responses {
    /// The answers of node `node`, kept under `dir`.
    pub fn new(dir: Location, node: u32) -> Responses {
        Responses { dir, node, stores: Arc::default() }
    }

    /// Where the answers are kept.
    pub fn dir(&self) -> &Location {
        &self.dir
    }

    /// Keeps answers in an object store through `stores` (the first stores given are kept).
    pub fn use_stores(&self, stores: Arc<dyn ObjectStoreRegistry>) {
        let _ = self.stores.set(stores);
    }

    /// The object of `key`, when the answers are kept in an object store.
    fn object(&self, key: Key) -> Option<Object> {
        let Location::Url(url) = self.dir.join(&format!("{}.arrow", key.hex())) else {
            return None;
        };
        Object::at(&url, self.stores.get()?.as_ref()).ok()
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

    /// The kept answer of `key`, if there is a whole one of `schema`. Blocks: call it from a
    /// thread that may.
    pub fn get(&self, key: Key, schema: &SchemaRef) -> Option<RecordBatch> {
        let (schema_read, batches) = match &self.dir {
            Location::Path(dir) => {
                let entry = Cache::at(dir.clone()).get(key)?;
                (entry.schema, entry.batches)
            }
            Location::Url(_) => {
                let bytes = wait(self.object(key)?.read()).ok()?;
                let reader = FileReader::try_new(std::io::Cursor::new(bytes), None).ok()?;
                (reader.schema(), reader.collect::<Result<Vec<_>, _>>().ok()?)
            }
        };
        let batch = datafusion::arrow::compute::concat_batches(&schema_read, &batches).ok()?;
        (batch.schema().fields() == schema.fields()).then_some(batch)
    }

    /// Keeps `answer` under `key`. A failure to keep it costs only a repeated call later.
    /// Blocks: call it from a thread that may.
    pub fn put(&self, key: Key, answer: &RecordBatch) {
        match &self.dir {
            Location::Path(dir) => {
                let what = format!("answer of node {}", self.node);
                let answers = std::slice::from_ref(answer);
                let _ = Cache::at(dir.clone()).put(key, &what, &answer.schema(), answers, None);
            }
            Location::Url(_) => {
                let Some(object) = self.object(key) else { return };
                let mut bytes = Vec::new();
                let Ok(mut writer) = FileWriter::try_new(&mut bytes, &answer.schema()) else {
                    return;
                };
                if writer.write(answer).and_then(|()| writer.finish()).is_err() {
                    return;
                }
                drop(writer);
                let _ = wait(object.write(bytes));
            }
        }
    }
}
