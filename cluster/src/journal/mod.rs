//! The run journal: the coordinator keeps a record of every run on the cluster and of each of
//! its finished stages (`store.rs`), serves it over gRPC next to Ballista's scheduler
//! (`service.rs`), and a run's driver writes it and reads it back to resume (`client.rs`).

mod client;
mod service;
mod store;

pub use client::{Heartbeat, JournalClient, RunJournal};
pub use service::{JournalService, Scheduling};
pub use store::{DRIVER_SILENCE, JOURNAL_FILE, JournalError, Store};

/// The journal's messages and gRPC service (`proto/journal.proto`).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto {
    tonic::include_proto!("aigrid.cluster.v1");
}
