//! Object stores: files written as URLs (`s3://bucket/key`, `gs://`, `az://`, `http(s)://`) in
//! `std.io` reads and writes and as work directories, next to local paths.
//!
//! A store is made on first use from its URL and the process's environment, as each store's
//! builder reads it (`AWS_*`, `GOOGLE_*`, `AZURE_*`: credentials, region, endpoint), and kept in
//! a registry ([`Stores`]) that DataFusion's scans use too: one per run, and one per worker. A
//! store's connections belong to the Tokio runtime it was first used on, so a registry never
//! outlives its runtime. A cluster worker makes its own stores from its own environment:
//! credentials never travel in plans.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use futures::{StreamExt as _, TryStreamExt as _};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt as _, ObjectStoreScheme, WriteMultipart};
use url::Url;

use crate::RunError;

/// Where a file (or a directory of files) is: a local path or an object-store URL.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Location {
    /// A path on this machine (`file://` URLs become paths).
    Path(PathBuf),
    /// An object in an object store.
    Url(Url),
}

impl Location {
    /// The location `text` names: a URL when it starts with `SCHEME://`, else a path.
    pub fn parse(text: &str) -> Result<Location, RunError> {
        if !looks_like_url(text) {
            return Ok(Location::Path(PathBuf::from(text)));
        }
        let url = Url::parse(text).map_err(|e| RunError::Io(format!("`{text}`: {e}")))?;
        match ObjectStoreScheme::parse(&url) {
            Ok((ObjectStoreScheme::Local, _)) => url
                .to_file_path()
                .map(Location::Path)
                .map_err(|()| RunError::Io(format!("`{text}` is not a path of this machine"))),
            Ok((ObjectStoreScheme::Memory, _)) | Err(_) => Err(RunError::Io(format!(
                "`{text}`: aigrid reads and writes local paths and s3://, gs://, az://, \
                 abfs://, http:// and https:// URLs, not {}://",
                url.scheme()
            ))),
            Ok(_) => Ok(Location::Url(url)),
        }
    }

    /// The same location with a relative path made absolute against the current directory (a
    /// cluster worker then writes where the run was started).
    pub fn absolute(self) -> Result<Location, RunError> {
        match self {
            Location::Path(path) => std::path::absolute(&path)
                .map(Location::Path)
                .map_err(|e| RunError::Io(format!("`{}`: {e}", path.display()))),
            url => Ok(url),
        }
    }

    /// The extension of the last part of the name, without its dot.
    pub fn extension(&self) -> Option<&str> {
        match self {
            Location::Path(path) => path.extension()?.to_str(),
            Location::Url(url) => {
                let name = url.path().rsplit('/').next()?;
                name.rsplit_once('.').map(|(_, extension)| extension)
            }
        }
    }

    /// The location of `name` inside this one, a directory.
    pub fn join(&self, name: &str) -> Location {
        match self {
            Location::Path(path) => Location::Path(path.join(name)),
            Location::Url(url) => {
                let mut url = url.clone();
                let path = format!("{}/{name}", url.path().trim_end_matches('/'));
                url.set_path(&path);
                Location::Url(url)
            }
        }
    }

    /// The local path, if it is one.
    pub fn as_path(&self) -> Option<&Path> {
        match self {
            Location::Path(path) => Some(path),
            Location::Url(_) => None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Path(path) => write!(f, "{}", path.display()),
            Location::Url(url) => write!(f, "{url}"),
        }
    }
}

impl From<Location> for String {
    fn from(location: Location) -> String {
        match location {
            Location::Path(path) => path.to_string_lossy().into_owned(),
            Location::Url(url) => url.into(),
        }
    }
}

impl TryFrom<String> for Location {
    type Error = RunError;

    fn try_from(text: String) -> Result<Location, RunError> {
        Location::parse(&text)
    }
}

impl From<PathBuf> for Location {
    fn from(path: PathBuf) -> Location {
        Location::Path(path)
    }
}

/// Whether `text` starts with `SCHEME://` (a Windows path such as `C:\x` does not).
fn looks_like_url(text: &str) -> bool {
    text.split_once("://").is_some_and(|(scheme, _)| {
        scheme.len() > 1
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// An object: its store and its path there, named by `url`.
#[derive(Clone, Debug)]
pub struct Object {
    /// The URL it was named by.
    pub url: Url,
    /// The store that holds it.
    pub store: Arc<dyn ObjectStore>,
    /// Its path in the store.
    pub path: ObjectPath,
}

impl Object {
    /// The object `url` names, with its store from `stores`.
    pub fn at(url: &Url, stores: &dyn ObjectStoreRegistry) -> Result<Object, RunError> {
        let store = stores.get_store(url).map_err(|e| RunError::Io(format!("{url}: {e}")))?;
        let (_, path) =
            ObjectStoreScheme::parse(url).map_err(|e| RunError::Io(format!("{url}: {e}")))?;
        Ok(Object { url: url.clone(), store, path })
    }

    /// An error of the store, said of this object.
    pub fn error(&self, error: object_store::Error) -> RunError {
        match error {
            object_store::Error::NotFound { .. } => {
                RunError::Io(format!("{}: no such object", self.url))
            }
            error => RunError::Io(format!("{}: {error}", self.url)),
        }
    }

    /// The object's size in bytes; `None` when it is not there.
    pub async fn size(&self) -> Result<Option<u64>, RunError> {
        match self.store.head(&self.path).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(self.error(error)),
        }
    }

    /// The object's bytes.
    pub async fn read(&self) -> Result<bytes::Bytes, RunError> {
        let got = self.store.get(&self.path).await.map_err(|e| self.error(e))?;
        got.bytes().await.map_err(|e| self.error(e))
    }

    /// Up to `limit` bytes from the start of the object, which holds `size`.
    pub async fn read_start(&self, size: u64, limit: u64) -> Result<bytes::Bytes, RunError> {
        self.store.get_range(&self.path, 0..size.min(limit)).await.map_err(|e| self.error(e))
    }

    /// The first object (in name order) under this one, a prefix, whose name ends with
    /// `suffix`, and its size.
    pub async fn first_under(&self, suffix: &str) -> Result<Option<(Object, u64)>, RunError> {
        let listed: Vec<_> =
            self.store.list(Some(&self.path)).try_collect().await.map_err(|e| self.error(e))?;
        let first = listed
            .into_iter()
            .filter(|meta| meta.location.as_ref().ends_with(suffix))
            .min_by(|a, b| a.location.cmp(&b.location));
        Ok(first.map(|meta| {
            let mut url = self.url.clone();
            url.set_path(&format!("/{}", meta.location));
            (Object { url, store: self.store.clone(), path: meta.location }, meta.size)
        }))
    }

    /// The schema in the footer of the Arrow IPC file this object is, of `size` bytes.
    pub async fn arrow_schema(
        &self,
        size: u64,
    ) -> Result<datafusion::arrow::datatypes::Schema, RunError> {
        use datafusion::arrow::ipc;
        let bad =
            |why: String| RunError::Data(format!("{}: not an Arrow IPC file: {why}", self.url));
        let tail = self
            .store
            .get_range(&self.path, size.saturating_sub(10)..size)
            .await
            .map_err(|e| self.error(e))?;
        let tail: [u8; 10] = tail[..].try_into().map_err(|_| bad("too short".into()))?;
        let footer_len = ipc::reader::read_footer_length(tail).map_err(|e| bad(e.to_string()))?;
        let start = size
            .checked_sub(10 + footer_len as u64)
            .ok_or_else(|| bad("the footer is longer than the file".into()))?;
        let footer =
            self.store.get_range(&self.path, start..size - 10).await.map_err(|e| self.error(e))?;
        let footer = ipc::root_as_footer(&footer).map_err(|e| bad(e.to_string()))?;
        let schema = footer.schema().ok_or_else(|| bad("its footer has no schema".into()))?;
        Ok(ipc::convert::fb_to_schema(schema))
    }

    /// Replaces the object with `bytes`, whole or not at all.
    pub async fn write(&self, bytes: Vec<u8>) -> Result<(), RunError> {
        self.store.put(&self.path, bytes.into()).await.map_err(|e| self.error(e))?;
        Ok(())
    }

    /// Removes the object; one that is not there is no error.
    pub async fn remove(&self) -> Result<(), RunError> {
        match self.store.delete(&self.path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(self.error(error)),
        }
    }

    /// Removes every object under this one, a directory.
    pub async fn remove_all(&self) -> Result<(), RunError> {
        let listed = self.store.list(Some(&self.path)).map_ok(|meta| meta.location).boxed();
        self.store
            .delete_stream(listed)
            .try_for_each(|_| async { Ok(()) })
            .await
            .map_err(|e| self.error(e))
    }
}

/// Object stores made on first use from a URL and the environment: give one registry to a
/// DataFusion runtime, so that its scans and aigrid's own reads and writes share the stores and
/// their connections.
#[derive(Debug, Default)]
pub struct Stores {
    made: DefaultObjectStoreRegistry,
}

impl ObjectStoreRegistry for Stores {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.made.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        self.made.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        if let Ok(store) = self.made.get_store(url) {
            return Ok(store);
        }
        let store = make_store(url)?;
        self.made.register_store(url, store.clone());
        Ok(store)
    }
}

/// A new store for the bucket (or host) of `url`, configured from the environment.
fn make_store(url: &Url) -> object_store::Result<Arc<dyn ObjectStore>> {
    let (scheme, _) = ObjectStoreScheme::parse(url)?;
    let root = &url[..url::Position::BeforePath];
    Ok(match scheme {
        ObjectStoreScheme::AmazonS3 => {
            Arc::new(object_store::aws::AmazonS3Builder::from_env().with_url(root).build()?)
        }
        ObjectStoreScheme::GoogleCloudStorage => Arc::new(
            object_store::gcp::GoogleCloudStorageBuilder::from_env().with_url(root).build()?,
        ),
        ObjectStoreScheme::MicrosoftAzure => Arc::new(
            object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_url(url.as_str())
                .build()?,
        ),
        ObjectStoreScheme::Http => {
            Arc::new(object_store::http::HttpBuilder::new().with_url(root).build()?)
        }
        ObjectStoreScheme::Local => Arc::new(object_store::local::LocalFileSystem::new()),
        _ => {
            return Err(object_store::Error::NotSupported {
                source: format!("no object store for {}://", url.scheme()).into(),
            });
        }
    })
}

/// Runs `future`, an object store's, to completion from synchronous code on a thread of a
/// multi-threaded Tokio runtime (a task's or a blocking one), whose IO it uses.
pub fn wait<T>(
    future: impl std::future::Future<Output = Result<T, RunError>>,
) -> Result<T, RunError> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => tokio::task::block_in_place(|| handle.block_on(future)),
        Err(_) => Err(RunError::Internal("an object store used outside of a runtime".into())),
    }
}

/// How many parts of an upload are sent at once: with parts of 5 MiB, at most 40 MiB wait in
/// memory.
const PARTS_IN_FLIGHT: usize = 8;

/// A file being uploaded to an object store in parts as it is written: [`ObjectSink::finish`]
/// completes it; dropped before that, the upload is aborted and no object appears (an object
/// store shows an upload whole or not at all). Writes block: use it from a thread that may
/// block, not from an async task.
pub struct ObjectSink {
    object: Object,
    upload: Option<WriteMultipart>,
    runtime: Runtime,
}

/// The runtime a sink's uploads run on.
enum Runtime {
    /// The caller's.
    Caller(tokio::runtime::Handle),
    /// Its own, outside of any.
    Own(tokio::runtime::Runtime),
}

impl Runtime {
    fn handle(&self) -> &tokio::runtime::Handle {
        match self {
            Runtime::Caller(handle) => handle,
            Runtime::Own(runtime) => runtime.handle(),
        }
    }
}

impl ObjectSink {
    /// Starts an upload to `url`, with its store from `stores` (from a new registry when called
    /// outside of a runtime: the new runtime it starts then has its own connections).
    pub fn create(
        url: &Url,
        stores: Option<&dyn ObjectStoreRegistry>,
    ) -> Result<ObjectSink, RunError> {
        let made;
        let (runtime, stores) = match (tokio::runtime::Handle::try_current(), stores) {
            (Ok(handle), Some(stores)) => (Runtime::Caller(handle), stores),
            _ => {
                // Multi-threaded: a current-thread runtime's IO is driven only by its own
                // `block_on`, not by its handle's, which every write here uses.
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .map_err(|e| RunError::Internal(format!("cannot start a runtime: {e}")))?;
                made = Stores::default();
                (Runtime::Own(runtime), &made as &dyn ObjectStoreRegistry)
            }
        };
        let object = Object::at(url, stores)?;
        let upload = match runtime.handle().block_on(object.store.put_multipart(&object.path)) {
            Ok(upload) => upload,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(RunError::Io(format!("{url}: no such bucket")));
            }
            Err(error) => return Err(object.error(error)),
        };
        Ok(ObjectSink { object, upload: Some(WriteMultipart::new(upload)), runtime })
    }

    /// Completes the upload: the object appears, whole.
    pub fn finish(mut self) -> Result<(), RunError> {
        let upload = self.upload.take().ok_or_else(|| self.closed())?;
        self.runtime.handle().block_on(upload.finish()).map_err(|e| self.object.error(e))?;
        Ok(())
    }

    fn closed(&self) -> RunError {
        RunError::Internal(format!("{}: a write after the upload ended", self.object.url))
    }
}

impl Write for ObjectSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let handle = self.runtime.handle().clone();
        let Some(upload) = self.upload.as_mut() else {
            return Err(std::io::Error::other(self.closed()));
        };
        // Parts are sent on tasks of the runtime.
        let _entered = handle.enter();
        upload.write(buf);
        handle
            .block_on(upload.wait_for_capacity(PARTS_IN_FLIGHT))
            .map_err(|e| std::io::Error::other(self.object.error(e)))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for ObjectSink {
    fn drop(&mut self) {
        if let Some(upload) = self.upload.take() {
            match &self.runtime {
                Runtime::Caller(handle) => drop(handle.spawn(upload.abort())),
                Runtime::Own(runtime) => drop(runtime.block_on(upload.abort())),
            }
        }
    }
}
