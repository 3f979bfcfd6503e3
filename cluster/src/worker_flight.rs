//! The worker's Arrow Flight server: Ballista's Flight service, which serves task outputs to
//! other workers and to the run's driver, with each fetch counted, and the worker's Prometheus
//! metrics at `/metrics` on the same port. Fetches of whole task output files skip the
//! service's copies (`worker_blocks`). It replaces Ballista's own Flight server through
//! `ExecutorProcessConfig::override_arrow_flight_service`, with the same gRPC settings.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use arrow_flight::flight_service_server::{FlightService, FlightServiceServer};
use arrow_flight::{
    Action, ActionType, Criteria, Empty, FlightData, FlightDescriptor, FlightInfo,
    HandshakeRequest, HandshakeResponse, PollInfo, PutResult, SchemaResult, Ticket,
};
use axum::http::header;
use axum::routing::{get, post};
use ballista_core::error::BallistaError;
use ballista_core::utils::create_grpc_server;
use ballista_executor::ArrowFlightServerProvider;
use ballista_executor::flight_service::BallistaFlightService;
use futures::{Stream, StreamExt as _};
use tonic::transport::ServerTlsConfig;
use tonic::{Request, Response, Status, Streaming};

use crate::MAX_MESSAGE;
use crate::auth::{RequireToken, Token};
use crate::metrics::CONTENT_TYPE;
use crate::worker_blocks::{Blocks, DO_ACTION};
use crate::worker_metrics::{Fetch, WorkerMetrics};

/// The Flight server of a worker that counts into `metrics`; with a `token`, only calls that
/// carry it are served; with `tls`, only over TLS.
pub fn flight_server(
    metrics: Arc<WorkerMetrics>,
    token: Option<Token>,
    tls: Option<ServerTlsConfig>,
) -> Arc<ArrowFlightServerProvider> {
    Arc::new(move |work_dir, address, mut shutdown, config| {
        let metrics = metrics.clone();
        let token = token.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let flight = Counted { inner: BallistaFlightService::new(work_dir.clone()), metrics };
            let scrape = flight.metrics.clone();
            let flight = FlightServiceServer::new(flight)
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE);
            let blocks = Blocks { flight: flight.clone(), work_dir, metrics: scrape.clone() };
            let mut services = tonic::service::RoutesBuilder::default();
            services.add_service(flight);
            let routes = services
                .routes()
                .into_axum_router()
                .route(
                    DO_ACTION,
                    post(move |request: axum::extract::Request| blocks.clone().answer(request)),
                )
                .route(
                    "/metrics",
                    get(move || async move {
                        ([(header::CONTENT_TYPE, CONTENT_TYPE)], scrape.encode())
                    }),
                )
                .layer(RequireToken(token));
            // HTTP/1 too, for the Prometheus scraper.
            let mut server = create_grpc_server(&config).accept_http1(true);
            if let Some(tls) = tls {
                server = server.tls_config(tls).map_err(BallistaError::TonicError)?;
            }
            server
                .add_routes(routes.into())
                .serve_with_shutdown(address, shutdown.recv())
                .await
                .map_err(BallistaError::TonicError)
        })
    })
}

/// Ballista's Flight service, each fetch counted.
#[derive(Clone)]
struct Counted {
    inner: BallistaFlightService,
    metrics: Arc<WorkerMetrics>,
}

type Boxed<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// Observes a fetch's time when its answer ends (or its client goes away).
pub(crate) struct FetchTimer {
    pub started: Instant,
    pub metrics: Arc<WorkerMetrics>,
}

impl Drop for FetchTimer {
    fn drop(&mut self) {
        self.metrics.fetch_seconds.observe(self.started.elapsed().as_secs_f64());
    }
}

impl Counted {
    /// Counts a fetch of `kind` and the bytes of its answer, `size` each.
    fn count<T: Send + 'static>(
        &self,
        kind: &'static str,
        answer: Result<Response<Boxed<T>>, Status>,
        size: fn(&T) -> usize,
    ) -> Result<Response<Boxed<T>>, Status> {
        self.metrics.fetches.get_or_create(&Fetch { kind }).inc();
        let stream = match answer {
            Ok(stream) => stream.into_inner(),
            Err(status) => {
                self.metrics.failed.inc();
                return Err(status);
            }
        };
        let timer = FetchTimer { started: Instant::now(), metrics: self.metrics.clone() };
        let counted = stream.map(move |item| {
            let _ = match &item {
                Ok(message) => timer.metrics.bytes.inc_by(size(message) as u64),
                Err(_) => timer.metrics.failed.inc(),
            };
            item
        });
        Ok(Response::new(Box::pin(counted)))
    }
}

#[tonic::async_trait]
impl FlightService for Counted {
    type HandshakeStream = Boxed<HandshakeResponse>;
    type ListFlightsStream = Boxed<FlightInfo>;
    type DoGetStream = Boxed<FlightData>;
    type DoPutStream = Boxed<PutResult>;
    type DoActionStream = Boxed<arrow_flight::Result>;
    type ListActionsStream = Boxed<ActionType>;
    type DoExchangeStream = Boxed<FlightData>;

    async fn handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Self::HandshakeStream>, Status> {
        self.inner.handshake(request).await
    }

    async fn list_flights(
        &self,
        request: Request<Criteria>,
    ) -> Result<Response<Self::ListFlightsStream>, Status> {
        self.inner.list_flights(request).await
    }

    async fn get_flight_info(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.inner.get_flight_info(request).await
    }

    async fn poll_flight_info(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<PollInfo>, Status> {
        self.inner.poll_flight_info(request).await
    }

    async fn get_schema(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<SchemaResult>, Status> {
        self.inner.get_schema(request).await
    }

    async fn do_get(
        &self,
        request: Request<Ticket>,
    ) -> Result<Response<Self::DoGetStream>, Status> {
        let answer = self.inner.do_get(request).await;
        self.count("do_get", answer, |data| data.data_header.len() + data.data_body.len())
    }

    async fn do_put(
        &self,
        request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoPutStream>, Status> {
        self.inner.do_put(request).await
    }

    async fn do_exchange(
        &self,
        request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoExchangeStream>, Status> {
        self.inner.do_exchange(request).await
    }

    async fn do_action(
        &self,
        request: Request<Action>,
    ) -> Result<Response<Self::DoActionStream>, Status> {
        let answer = self.inner.do_action(request).await;
        self.count("do_action", answer, |result| result.body.len())
    }

    async fn list_actions(
        &self,
        request: Request<Empty>,
    ) -> Result<Response<Self::ListActionsStream>, Status> {
        self.inner.list_actions(request).await
    }
}
