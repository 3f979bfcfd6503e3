//! [`Journal`]: where a run records each stage it finishes, so that a run that stopped half-way
//! (its coordinator or its driver killed) can go on later without computing them again. With a
//! journal in [`RunOptions`](crate::RunOptions), every stage's value is written to the run's
//! work directory as an Arrow IPC file and recorded; the work directory outlives a failed run
//! and is removed when the run succeeds. A run given the stages an earlier attempt kept
//! ([`Journal::kept`]) takes the value of each whose file is intact instead of computing it,
//! and skips the nodes that only fed kept stages.

use std::fmt;
use std::path::PathBuf;

use crate::RunError;
use crate::store::Location;

/// A finished stage whose value is kept in the run's work directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptStage {
    /// The node that ended the stage.
    pub node: u32,
    /// Its value, an Arrow IPC file in the work directory.
    pub file: Location,
    /// The XXH3-128 of that file.
    pub hash: u128,
    /// Rows of the value.
    pub rows: u64,
    /// For a write: the file it wrote, and that file's XXH3-128 when the stage finished (the
    /// stage is kept only while the file is unchanged).
    pub wrote: Option<(PathBuf, u128)>,
}

/// Records the stages of one run as they finish.
#[async_trait::async_trait]
pub trait Journal: Send + Sync + fmt::Debug {
    /// The run's work directory (a path, or an object-store URL): the kept stages are in it.
    /// It outlives a failed run.
    fn work_dir(&self) -> &Location;

    /// The stages an earlier attempt of this run finished (none for a new run).
    fn kept(&self) -> Vec<KeptStage>;

    /// Records that `stage` finished; `what` is its node's operation (`ai embed`, `sql`).
    async fn finished(&self, stage: &KeptStage, what: &str) -> Result<(), RunError>;
}
