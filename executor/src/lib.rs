//! The aigrid executor: runs a bound plan (spec/plan.md) with DataFusion.
//!
//! Reads and `sql` steps are DataFusion's own plans; aigrid's operators are DataFusion
//! extension nodes: [`AiCallExec`] calls the grid AIs bound to an `ai` node, batch by batch,
//! with retries and fail-over, [`WriteExec`] streams its input into a file, a
//! `TensorKernelExec` runs a row-wise tensor kernel batch by batch, and [`GatherExec`]
//! runs operations that need whole inputs (kernels, `select`'s zip). [`PlanTable`] lets SQL read
//! an operator's output. The plan is a DAG and DataFusion plans are trees, so the executor cuts
//! the DAG into stages: a result with one reader streams into that reader's plan, and a result
//! with several readers (or the pipeline's output, or a `@cache` node) is computed once and
//! kept until its last reader has run; with a [`Cache`], stage outputs of earlier runs with
//! the same key are taken from it instead of computed (spec/run.md).
//!
//! ```
//! use aigrid_compiler::{BuildOptions, MemoryWorld, build};
//!
//! let mut world = MemoryWorld::new();
//! let file = world.add_file("p.ag", "pipeline main(k: i64 = 41) -> i64 {\n    return k + 1\n}\n");
//! let plan = build(&mut world, file, &BuildOptions::default()).plan.unwrap();
//! let library = aigrid_builtins::Library::new(&aigrid_builtins::ModelStore::at("no-models"));
//! let run = aigrid_executor::run(&plan, &library, &Default::default()).unwrap();
//! assert_eq!(run.output.unwrap().to_json().unwrap(), 42);
//! ```

mod ai_call;
mod allocator;
mod cache;
mod codec;
mod counted;
mod declared;
mod elements;
mod gather;
mod journal;
mod kernel;
mod observe;
mod one_input;
mod placement;
mod plan_table;
mod query;
mod remote;
mod responses;
mod run;
mod store;
mod tensor_exec;
mod value;
mod write;
mod write_exec;

pub use ai_call::{AiCall, AiCallExec, Binding, TaskStop};
pub use allocator::{Allocator, configure_allocator};
pub use cache::{Cache, EntryInfo};
pub use codec::AigridCodec;
pub use gather::{GatherExec, Gathered};
pub use journal::{Journal, KeptStage};
pub use observe::{Observer, rows_read};
pub use placement::{GpuExec, needs_gpu};
pub use plan_table::PlanTable;
pub use remote::{CallCounts, RemoteOutput, RemoteStages, recount_ai_calls};
pub use responses::Responses;
pub use run::{CallReport, NodeReport, Run, RunOptions, run};
pub use store::{Location, Object, ObjectSink, Stores};
pub use value::Value;
pub use write::{Destination, Format, PartialFile, destination, write_file};
pub use write_exec::WriteExec;

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A node failed: where it is in the source, and why.
    #[error("{file}:{line}:{column}: {what}: {error}")]
    Node {
        /// The source file.
        file: String,
        /// The line.
        line: u32,
        /// The column.
        column: u32,
        /// The node's operation (`std.io.read_csv`, `ai embed`).
        what: String,
        /// Why it failed.
        error: Box<RunError>,
    },
    /// Every grid AI bound to an `ai` call failed.
    #[error("every grid AI bound to `{name}` failed: {}", tried.join("; "))]
    Ai {
        /// The requirement.
        name: String,
        /// Each binding tried and its error.
        tried: Vec<String>,
    },
    /// Data that does not fit: a missing column, a null where none may be, wrong lengths.
    #[error("{0}")]
    Data(String),
    /// A parameter without a value, or with a bad one.
    #[error("{0}")]
    Param(String),
    /// The plan asks for something this executor cannot do.
    #[error("{0}")]
    Unsupported(String),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// A kernel refused its input.
    #[error(transparent)]
    Kernel(#[from] aigrid_kernels::KernelError),
    /// Arrow refused data.
    #[error("{0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// Parquet refused data.
    #[error("{0}")]
    Parquet(#[from] datafusion::parquet::errors::ParquetError),
    /// DataFusion failed.
    #[error("{0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// The cluster that runs the stages failed them, or could not be reached.
    #[error("cluster at {0}")]
    Cluster(String),
    /// The run was cancelled (Ctrl-C).
    #[error("cancelled")]
    Cancelled,
    /// A bug in aigrid.
    #[error("internal error (a bug in aigrid): {0}")]
    Internal(String),
}
