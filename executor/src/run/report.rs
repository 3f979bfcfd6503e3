//! What a run reports: each node's rows, batches, time and AI requests, and the run's result.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::ai_call::AiCall;
use crate::value::Value;

/// What one node did.
#[derive(Clone, Debug)]
pub struct NodeReport {
    /// The node.
    pub id: u32,
    /// What it is: `std.io.read_csv`, `ai embed`, `sql`.
    pub what: String,
    /// Rows of its value, when it was computed on its own; `None` when it streamed into the
    /// node that reads it.
    pub rows: Option<usize>,
    /// How long it took, with the streamed nodes before it.
    pub time: Duration,
    /// The batches and bytes of its value, when it was computed on its own.
    pub batches: Option<(usize, usize)>,
    /// For an operator of aigrid's (an AI call, a kernel, a write) that streamed into its
    /// reader in this process: the rows it gave.
    pub streamed_rows: Option<u64>,
    /// For an AI call: what its requests did.
    pub calls: Option<CallReport>,
    /// Whether its value came from the cache, computed by an earlier run.
    pub cached: bool,
    /// Whether an earlier attempt of this run made it (`aigridc run --resume`): its value was
    /// kept in the journal, or it only fed kept values.
    pub kept: bool,
}

/// What the requests of an AI node did.
#[derive(Clone, Debug, Default)]
pub struct CallReport {
    /// Requests answered.
    pub requests: u64,
    /// Rows that became null after every binding failed (`@on_error(null)`).
    pub null_rows: u64,
    /// Attempts that failed, each then retried or passed to the next binding.
    pub failed_attempts: u64,
    /// The requests each binding answered, by card id, in rank order.
    pub served: Vec<(String, u64)>,
}

impl CallReport {
    pub(super) fn of(call: &AiCall) -> CallReport {
        CallReport {
            requests: call.calls.load(Ordering::Relaxed),
            null_rows: call.null_rows.load(Ordering::Relaxed),
            failed_attempts: call.failed_attempts.load(Ordering::Relaxed),
            served: call
                .bindings
                .iter()
                .map(|b| (b.card.clone(), b.answered.load(Ordering::Relaxed)))
                .collect(),
        }
    }
}

/// A finished run.
#[derive(Debug)]
pub struct Run {
    /// The pipeline's result, if it has one.
    pub output: Option<Value>,
    /// Each node that ran, in order.
    pub nodes: Vec<NodeReport>,
    /// Bytes of stage outputs written to the work directory to stay within the memory budget.
    pub spilled_bytes: u64,
}
