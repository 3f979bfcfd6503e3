//! aigrid on a Ballista cluster: when a run outgrows one machine, its stages run as jobs of
//! Apache DataFusion Ballista. The coordinator is Ballista's scheduler and each worker is a
//! Ballista executor; both decode aigrid's extension nodes with [`AigridCodec`] (in front of
//! Ballista's own codec, which carries its shuffle nodes), so the plans that run in-process run
//! unchanged on the cluster. The run's driver stays on the client: [`Cluster`] is the
//! [`RemoteStages`](aigrid_executor::RemoteStages) that sends each stage to the coordinator and
//! fetches its output from the workers over Arrow Flight.
//!
//! A dead worker is noticed by its missing heartbeats within [`EXECUTOR_TIMEOUT`], and its tasks
//! run again elsewhere. spec/cluster.md has the whole picture.

mod auth;
mod client;
mod coordinator;
mod job;
pub mod journal;
mod metrics;
mod placement;
mod tls;
mod worker;
mod worker_blocks;
mod worker_flight;
mod worker_metrics;

use std::sync::Arc;
use std::time::Duration;

use aigrid_builtins::Library;
use aigrid_executor::AigridCodec;
use ballista_core::serde::BallistaPhysicalExtensionCodec;
use datafusion_proto::physical_plan::PhysicalExtensionCodec;

pub use auth::{Token, check_exposure};
pub use client::Cluster;
pub use coordinator::serve_coordinator;
pub use tls::Tls;
pub use worker::{WorkerOptions, WorkerPorts, detect_gpus, serve_worker, worker_ports};

/// How often a worker tells the coordinator it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(3);

/// How long the coordinator waits for a heartbeat before it takes a worker for dead and runs
/// its tasks elsewhere (Ballista's default is 180 s).
pub const EXECUTOR_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest gRPC message between client, coordinator and workers: a plan, or one record
/// batch of a result.
const MAX_MESSAGE: usize = 256 << 20;

/// Why a cluster process could not start or went on no longer.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A coordinator's URL or a listening address that does not parse.
    #[error("{0}")]
    Address(String),
    /// Ballista's scheduler or executor failed.
    #[error("{0}")]
    Ballista(#[from] ballista_core::error::BallistaError),
    /// A file or socket.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The coordinator's run journal failed, refused a request, or could not be reached.
    #[error("{0}")]
    Journal(String),
    /// A server of the cluster refused a call without the cluster's token.
    #[error("{0}")]
    Refused(String),
    /// The cluster's TLS material is missing or does not load.
    #[error("{0}")]
    Tls(String),
}

/// How the processes of a cluster trust each other: the token that every call carries, and
/// the TLS that every connection speaks. Every process of a cluster is given the same.
#[derive(Clone, Debug, Default)]
pub struct Security {
    /// The cluster's shared token.
    pub token: Option<Token>,
    /// The cluster's TLS material.
    pub tls: Option<Tls>,
}

impl Security {
    /// The scheme of the cluster's URLs: `https` with TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }
}

/// How to reach a cluster: its coordinator's URL, and how to prove oneself to it.
#[derive(Clone, Debug)]
pub struct Access {
    /// The coordinator, `HOST:PORT` or `http(s)://HOST:PORT`.
    pub url: String,
    /// The cluster's token and TLS.
    pub security: Security,
}

/// `error` and its causes, as one line.
pub(crate) fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(&format!(": {next}"));
        cause = next.source();
    }
    text
}

/// Runs `future` to the end on a runtime of its own, for callers that are not async.
pub fn block_on<T>(future: impl std::future::Future<Output = T>) -> Result<T, ClusterError> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    Ok(runtime.block_on(future))
}

/// The physical codec of every process of a cluster: aigrid's nodes, then Ballista's.
fn physical_codec(library: Library) -> Arc<dyn PhysicalExtensionCodec> {
    Arc::new(AigridCodec::before(library, Arc::new(BallistaPhysicalExtensionCodec::default())))
}

/// `host` and `port` of a coordinator given as `http(s)://HOST:PORT` or `HOST:PORT` (whether
/// it speaks TLS is the cluster's [`Security`], not the scheme's).
pub fn coordinator_address(url: &str) -> Result<(String, u16), ClusterError> {
    let bad = || {
        ClusterError::Address(format!(
            "`{url}` is not a coordinator address: expected HOST:PORT or http(s)://HOST:PORT"
        ))
    };
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")).unwrap_or(url);
    let rest = rest.trim_end_matches('/');
    let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
    let port = port.parse::<u16>().map_err(|_| bad())?;
    if host.is_empty() || port == 0 || rest.contains('/') {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::coordinator_address;

    #[test]
    fn coordinator_addresses_parse_with_or_without_scheme() {
        assert_eq!(
            coordinator_address("http://127.0.0.1:50050").ok(),
            Some(("127.0.0.1".into(), 50050))
        );
        assert_eq!(coordinator_address("localhost:7").ok(), Some(("localhost".into(), 7)));
        for bad in ["127.0.0.1", "http://h:0", ":80", "h:port", "https://h:1/x"] {
            assert!(coordinator_address(bad).is_err(), "{bad}");
        }
    }
}
