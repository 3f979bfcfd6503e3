//! The cache of stage outputs: a directory of Arrow IPC files named by content-addressed keys
//! (`$AIGRID_HOME/cache`).
//!
//! A node's key ([`KeyHasher`]) hashes what its result depends on: its operation (with the
//! bound cards' ids and versions, for an AI), its constants, the keys of the nodes it reads,
//! the parameters' values, and the content of the files it reads, so that a changed input file
//! or parameter gives new keys exactly where it matters. An entry is `KEY.arrow` (the value's
//! batches) and `KEY.json` ([`EntryInfo`]: a checksum of the Arrow file, what made it, and for
//! a write the content hash of the file it wrote). Both are written under temporary names and
//! renamed, the description last, so an entry is whole or absent. A file whose checksum does
//! not match is corrupt: [`Cache::get`] removes it and answers nothing, so it is recomputed.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::FileReader;
use datafusion::arrow::ipc::writer::FileWriter;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{Xxh3, xxh3_128};

use crate::RunError;

/// A content-addressed key: 128 bits of XXH3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key(pub u128);

impl Key {
    /// The key as 32 hexadecimal digits, its entry's file name.
    pub fn hex(self) -> String {
        format!("{:032x}", self.0)
    }
}

/// Builds a [`Key`] from the parts a result depends on, each framed by its length so that
/// different sequences of parts never hash alike.
pub struct KeyHasher(Xxh3);

impl KeyHasher {
    /// A hasher for the cache format of this version of aigrid.
    pub fn new() -> KeyHasher {
        let mut hasher = KeyHasher(Xxh3::new());
        hasher.part(concat!("aigrid-cache/1/", env!("CARGO_PKG_VERSION")).as_bytes());
        hasher
    }

    /// Adds one part.
    pub fn part(&mut self, bytes: &[u8]) -> &mut KeyHasher {
        self.0.update(&(bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    /// The key.
    pub fn key(&self) -> Key {
        Key(self.0.digest128())
    }
}

impl Default for KeyHasher {
    fn default() -> KeyHasher {
        KeyHasher::new()
    }
}

/// The content hash of the file at `path`.
pub fn file_hash(path: &Path) -> Result<u128, RunError> {
    let io = |e: std::io::Error| RunError::Io(format!("{}: {e}", path.display()));
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Xxh3::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer).map_err(io)?;
        if n == 0 {
            return Ok(hasher.digest128());
        }
        hasher.update(&buffer[..n]);
    }
}

/// The description of an entry, beside its Arrow file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EntryInfo {
    /// The entry's key, in hexadecimal.
    #[serde(default)]
    pub key: String,
    /// What made it (`sql`, `ai embed`, `std.io.write_parquet`).
    pub what: String,
    /// Its rows.
    pub rows: usize,
    /// The size of its Arrow file, in bytes.
    pub bytes: u64,
    /// XXH3-128 of its Arrow file, in hexadecimal.
    pub checksum: String,
    /// Seconds since the Unix epoch when it was written.
    pub created: u64,
    /// For a write: the file written and its content hash then, in hexadecimal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrote: Option<(PathBuf, String)>,
}

/// A cached value: its batches and its description.
pub struct Entry {
    /// The value's schema.
    pub schema: SchemaRef,
    /// The value's batches.
    pub batches: Vec<RecordBatch>,
    /// The description.
    pub info: EntryInfo,
}

/// The cache directory.
#[derive(Clone, Debug)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// The cache in directory `dir` (created when the first entry is written).
    pub fn at(dir: impl Into<PathBuf>) -> Cache {
        Cache { dir: dir.into() }
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn paths(&self, key: Key) -> (PathBuf, PathBuf) {
        let hex = key.hex();
        (self.dir.join(format!("{hex}.arrow")), self.dir.join(format!("{hex}.json")))
    }

    /// The entry of `key`, if there is a whole one whose checksum matches; a corrupt entry is
    /// removed.
    pub fn get(&self, key: Key) -> Option<Entry> {
        let (data, info) = self.paths(key);
        let text = std::fs::read(&info).ok()?;
        let entry = serde_json::from_slice::<EntryInfo>(&text).ok().and_then(|info| {
            let bytes = std::fs::read(&data).ok()?;
            if format!("{:032x}", xxh3_128(&bytes)) != info.checksum {
                return None;
            }
            let reader = FileReader::try_new(std::io::Cursor::new(bytes), None).ok()?;
            let schema = reader.schema();
            let batches = reader.collect::<Result<Vec<_>, _>>().ok()?;
            Some(Entry { schema, batches, info })
        });
        if entry.is_none() {
            let _ = std::fs::remove_file(&data);
            let _ = std::fs::remove_file(&info);
        }
        entry
    }

    /// Stores the batches of a value made by `what` under `key`; `wrote` is the file a write
    /// made and its content hash.
    pub fn put(
        &self,
        key: Key,
        what: &str,
        schema: &SchemaRef,
        batches: &[RecordBatch],
        wrote: Option<(PathBuf, u128)>,
    ) -> Result<(), RunError> {
        let io = |e: std::io::Error| RunError::Io(format!("cache {}: {e}", self.dir.display()));
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let mut bytes = Vec::new();
        let mut writer = FileWriter::try_new(&mut bytes, schema)?;
        for batch in batches {
            writer.write(batch)?;
        }
        writer.finish()?;
        drop(writer);
        let info = EntryInfo {
            key: key.hex(),
            what: what.to_owned(),
            rows: batches.iter().map(RecordBatch::num_rows).sum(),
            bytes: bytes.len() as u64,
            checksum: format!("{:032x}", xxh3_128(&bytes)),
            created: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            wrote: wrote.map(|(path, hash)| (path, format!("{hash:032x}"))),
        };
        let text =
            serde_json::to_vec_pretty(&info).map_err(|e| RunError::Internal(e.to_string()))?;
        let (data, described) = self.paths(key);
        // Whole or absent: each file under a temporary name first, the description last.
        for (path, content) in [(&data, &bytes), (&described, &text)] {
            let partial = path.with_extension(format!("partial-{}", std::process::id()));
            std::fs::write(&partial, content).map_err(io)?;
            std::fs::rename(&partial, path).map_err(io)?;
        }
        Ok(())
    }

    /// The descriptions of every entry, oldest first.
    pub fn list(&self) -> Result<Vec<EntryInfo>, RunError> {
        let read = match std::fs::read_dir(&self.dir) {
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(RunError::Io(format!("{}: {e}", self.dir.display()))),
        };
        let mut entries = Vec::new();
        for item in read.flatten() {
            let path = item.path();
            if path.extension().is_some_and(|e| e == "json")
                && let Ok(text) = std::fs::read(&path)
                && let Ok(mut info) = serde_json::from_slice::<EntryInfo>(&text)
            {
                if info.key.is_empty() {
                    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
                    info.key = stem.unwrap_or_default();
                }
                entries.push(info);
            }
        }
        entries.sort_by(|a, b| (a.created, &a.key).cmp(&(b.created, &b.key)));
        Ok(entries)
    }

    /// Removes every entry: how many, and their bytes.
    pub fn clear(&self) -> Result<(usize, u64), RunError> {
        let entries = self.list()?;
        let bytes = entries.iter().map(|e| e.bytes).sum();
        if self.dir.exists() {
            std::fs::remove_dir_all(&self.dir)
                .map_err(|e| RunError::Io(format!("{}: {e}", self.dir.display())))?;
        }
        Ok((entries.len(), bytes))
    }
}
