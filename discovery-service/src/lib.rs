//! The AIGrid discovery service: grid AIs register their cards with a server, and pipelines ask
//! it for the cards that meet their requirements (spec/discovery.md §7).
//!
//! - [`Store`]: the registered cards, persisted in an embedded database under the server's
//!   data directory, indexed in memory, with leases and watchers.
//! - [`serve`]: the gRPC server (`proto/discovery.proto`) over a store.
//! - [`Client`]: its client.

mod client;
mod index;
mod server;
mod store;

/// The gRPC messages and service, generated from `proto/discovery.proto`.
#[allow(missing_docs, clippy::all)]
pub mod proto {
    tonic::include_proto!("aigrid.discovery.v1");
}

pub use client::{Answer, Change, Client, ClientError, ClientOptions};
pub use server::{ServeError, ServerConfig, serve};
pub use store::{DATABASE_FILE, Entry, Event, Limits, Matched, Store, StoreError};
