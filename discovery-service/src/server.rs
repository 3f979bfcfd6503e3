//! The gRPC server: the `Discovery` service of `proto/discovery.proto` over a [`Store`].
//!
//! Writes (register, heartbeat, deregister) need `authorization: Bearer TOKEN` when the server
//! has a token; reads are open. Every request is bounded (message size, cards per request,
//! bytes per card, predicate length, cards per answer, open watches, the registry's size, a
//! deadline per request), and a request beyond a bound gets `INVALID_ARGUMENT` or
//! `RESOURCE_EXHAUSTED` with the bound in words: no request can take the server down.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use aigrid_discovery::Predicate;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use crate::proto::discovery_server::{Discovery, DiscoveryServer};
use crate::proto::{self, watch_event::Kind};
use crate::store::{Event, Store, StoreError};

/// The largest request the server decodes.
const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// How the server runs.
#[derive(Clone, Debug, Default)]
pub struct ServerConfig {
    /// The bearer token that writes must carry; `None` leaves writes open.
    pub token: Option<String>,
    /// A PEM certificate chain and private key: serve over TLS.
    pub tls: Option<(Vec<u8>, Vec<u8>)>,
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The TLS certificate or key is unusable.
    #[error("cannot use the TLS certificate and key: {0}")]
    Tls(String),
    /// The transport failed.
    #[error("the server failed: {0}")]
    Transport(String),
}

/// Serves `store` on `listener` until `shutdown` completes, expiring leases as they run out.
pub async fn serve(
    store: Arc<Store>,
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let mut builder = tonic::transport::Server::builder()
        .timeout(Duration::from_secs(30))
        .concurrency_limit_per_connection(256)
        .max_concurrent_streams(Some(1024))
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)));
    if let Some((cert, key)) = &config.tls {
        let identity = tonic::transport::Identity::from_pem(cert, key);
        builder = builder
            .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
            .map_err(|error| ServeError::Tls(error.to_string()))?;
    }
    // Without TCP_NODELAY, a small answer waits for the peer's delayed ACK (40 ms on Linux).
    let incoming = tonic::transport::server::TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .with_keepalive(Some(Duration::from_secs(60)));
    let reaper = tokio::spawn(reap(store.clone()));
    // Watches never end by themselves, and a graceful shutdown waits for every stream: they
    // end when shutdown begins.
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        let _ = stopping.send(true);
    };
    let service = DiscoveryServer::new(Service { store, token: config.token, stopped })
        .max_decoding_message_size(MAX_MESSAGE_BYTES);
    let result = builder
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(|error| ServeError::Transport(error.to_string()));
    reaper.abort();
    result
}

/// Drops expired cards every 100 ms (queries never return them even between passes).
async fn reap(store: Arc<Store>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let store = store.clone();
        // A failed pass is tried again at the next tick; the cards stay hidden meanwhile.
        let _ = tokio::task::spawn_blocking(move || store.expire()).await;
    }
}

struct Service {
    store: Arc<Store>,
    token: Option<String>,
    /// Becomes `true` when the server begins to shut down.
    stopped: tokio::sync::watch::Receiver<bool>,
}

impl Service {
    /// Checks the bearer token of a write.
    fn authorize<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let Some(token) = &self.token else { return Ok(()) };
        let given = request
            .metadata()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        match given {
            Some(given) if bool::from(given.as_bytes().ct_eq(token.as_bytes())) => Ok(()),
            Some(_) => Err(Status::unauthenticated("the bearer token is wrong")),
            None => Err(Status::unauthenticated(
                "this server needs a bearer token for writes (`authorization: Bearer TOKEN`)",
            )),
        }
    }

    fn predicate(&self, text: &str) -> Result<Option<Predicate>, Status> {
        let limit = self.store.limits().max_predicate_bytes;
        if text.len() > limit {
            return Err(Status::invalid_argument(format!(
                "the predicate is {} bytes; the limit is {limit}",
                text.len()
            )));
        }
        if text.trim().is_empty() {
            return Ok(None);
        }
        Predicate::parse(text)
            .map(Some)
            .map_err(|error| Status::invalid_argument(format!("bad predicate: {error}")))
    }

    /// Runs a write on the blocking pool: it commits to disk.
    async fn blocking<T: Send + 'static>(
        &self,
        write: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, Status> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || write(&store))
            .await
            .map_err(|error| Status::internal(format!("the write failed: {error}")))?
            .map_err(status)
    }
}

fn status(error: StoreError) -> Status {
    match error {
        StoreError::Invalid(message) => Status::invalid_argument(message),
        StoreError::Full(message) => Status::resource_exhausted(message),
        StoreError::Database(message) => Status::internal(message),
    }
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<proto::WatchEvent, Status>> + Send>>;

#[tonic::async_trait]
impl Discovery for Service {
    async fn register(
        &self,
        request: Request<proto::RegisterRequest>,
    ) -> Result<Response<proto::RegisterResponse>, Status> {
        self.authorize(&request)?;
        let request = request.into_inner();
        let lease = (request.lease_ms > 0).then(|| Duration::from_millis(request.lease_ms));
        let ids = self.blocking(move |store| store.register(&request.cards, lease)).await?;
        Ok(Response::new(proto::RegisterResponse { ids }))
    }

    async fn heartbeat(
        &self,
        request: Request<proto::HeartbeatRequest>,
    ) -> Result<Response<proto::HeartbeatResponse>, Status> {
        self.authorize(&request)?;
        let ids = request.into_inner().ids;
        let unknown = self.blocking(move |store| store.heartbeat(&ids)).await?;
        Ok(Response::new(proto::HeartbeatResponse { unknown }))
    }

    async fn deregister(
        &self,
        request: Request<proto::DeregisterRequest>,
    ) -> Result<Response<proto::DeregisterResponse>, Status> {
        self.authorize(&request)?;
        let ids = request.into_inner().ids;
        let removed = self.blocking(move |store| store.deregister(&ids)).await?;
        Ok(Response::new(proto::DeregisterResponse { removed: removed as u64 }))
    }

    async fn query(
        &self,
        request: Request<proto::QueryRequest>,
    ) -> Result<Response<proto::QueryResponse>, Status> {
        let request = request.into_inner();
        let predicate = self.predicate(&request.predicate)?;
        let answer = self
            .store
            .query(predicate.as_ref(), request.explain, request.limit as usize)
            .map_err(status)?;
        Ok(Response::new(proto::QueryResponse {
            cards: answer.cards.iter().map(|entry| entry.json.to_string()).collect(),
            total: answer.total as u64,
            offered: answer.offered as u64,
            stages: answer
                .stages
                .into_iter()
                .map(|stage| proto::FunnelStage {
                    clause: stage.clause,
                    before: stage.before as u64,
                    dropped: stage.dropped as u64,
                    why: stage.why,
                })
                .collect(),
        }))
    }

    type WatchStream = WatchStream;

    async fn watch(
        &self,
        request: Request<proto::WatchRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        let predicate = self.predicate(&request.into_inner().predicate)?;
        let limit = self.store.limits().max_watchers;
        if self.store.watchers() >= limit {
            return Err(Status::resource_exhausted(format!(
                "{limit} watches are open, the server's limit"
            )));
        }
        // Subscribe before the snapshot, so that no change falls between the two.
        let changes = tokio_stream::wrappers::BroadcastStream::new(self.store.subscribe());
        let snapshot = self.store.snapshot(predicate.as_ref()).map_err(status)?;
        let first: Vec<Result<proto::WatchEvent, Status>> =
            snapshot.iter().map(|entry| Ok(registered(&entry.card.id, &entry.json))).collect();
        // The ids the watcher has been told of: removals of other cards are not its business.
        let mut seen: std::collections::HashSet<String> =
            snapshot.iter().map(|entry| entry.card.id.clone()).collect();
        let changes = changes.filter_map(move |event| match event {
            Ok(Event::Registered(entry)) => {
                let id = &entry.card.id;
                let matches = match &predicate {
                    Some(predicate) => predicate.matches(&entry.card).unwrap_or(false),
                    None => true,
                };
                if matches {
                    seen.insert(id.clone());
                    Some(Ok(registered(id, &entry.json)))
                } else {
                    // A replaced card that no longer matches leaves the watcher's view.
                    seen.remove(id).then(|| Ok(change(Kind::Removed, id)))
                }
            }
            Ok(Event::Removed(id)) => seen.remove(&id).then(|| Ok(change(Kind::Removed, &id))),
            Ok(Event::Expired(id)) => seen.remove(&id).then(|| Ok(change(Kind::Expired, &id))),
            Err(tokio_stream::wrappers::errors::BroadcastStreamRecvError::Lagged(missed)) => {
                Some(Err(Status::data_loss(format!(
                    "the watch fell {missed} changes behind; query again and watch anew"
                ))))
            }
        });
        // After a lag error the stream ends: the watcher's view can no longer be trusted.
        let mut failed = false;
        let stream = tokio_stream::iter(first).chain(changes).take_while(move |item| {
            let go = !failed;
            failed |= item.is_err();
            go
        });
        let stop = tokio_stream::wrappers::WatchStream::new(self.stopped.clone())
            .filter(|stopped| *stopped)
            .map(|_| None);
        let stream = stream.map(Some).merge(stop).take_while(Option::is_some).filter_map(|e| e);
        Ok(Response::new(Box::pin(stream)))
    }
}

fn registered(id: &str, json: &str) -> proto::WatchEvent {
    proto::WatchEvent { kind: Kind::Registered as i32, id: id.to_owned(), card: json.to_owned() }
}

fn change(kind: Kind, id: &str) -> proto::WatchEvent {
    proto::WatchEvent { kind: kind as i32, id: id.to_owned(), card: String::new() }
}
