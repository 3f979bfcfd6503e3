//! The journal's gRPC service (`aigrid.cluster.v1.Journal`) over a [`Store`]. Each request is
//! one short transaction, run on a blocking thread.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::proto::journal_server::{Journal, JournalServer};
use super::proto::{
    CancelledJobs, Empty, EndRunRequest, ListRunsRequest, ResumedRun, RunList, RunRecord, RunRef,
    SessionRef, StageFinishedRequest, StartRunRequest, Worker, WorkerList,
};
use super::store::{JournalError, Store};
use crate::MAX_MESSAGE;

/// Runs listed when a request names no limit, and the most listed.
const DEFAULT_LIST: usize = 100;
const MAX_LIST: usize = 10_000;

/// The cluster's scheduler, as the journal's service reaches it.
#[tonic::async_trait]
pub trait Scheduling: Send + Sync {
    /// Cancels the running jobs of `session`; how many.
    async fn cancel(&self, session: &str) -> u32;

    /// The workers registered now.
    async fn workers(&self) -> Result<Vec<Worker>, String>;
}

/// The journal's gRPC service.
pub struct JournalService {
    store: Arc<Store>,
    jobs: Arc<dyn Scheduling>,
}

impl JournalService {
    /// The service over `store`, cancelling sessions' `jobs`, ready to mount on a gRPC server.
    pub fn server(store: Arc<Store>, jobs: Arc<dyn Scheduling>) -> JournalServer<JournalService> {
        JournalServer::new(JournalService { store, jobs })
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }

    /// Runs `work` on the store on a blocking thread.
    async fn with_store<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, JournalError> + Send + 'static,
    ) -> Result<Response<T>, Status> {
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || work(&store)).await {
            Ok(Ok(answer)) => Ok(Response::new(answer)),
            Ok(Err(error)) => Err(status(error)),
            Err(error) => Err(Status::internal(format!("the journal's task failed: {error}"))),
        }
    }
}

fn status(error: JournalError) -> Status {
    match error {
        JournalError::NoRun(_) => Status::not_found(error.to_string()),
        JournalError::Refused(_) => Status::failed_precondition(error.to_string()),
        JournalError::Database(_) => Status::internal(error.to_string()),
    }
}

#[tonic::async_trait]
impl Journal for JournalService {
    async fn start_run(
        &self,
        request: Request<StartRunRequest>,
    ) -> Result<Response<RunRecord>, Status> {
        let request = request.into_inner();
        self.with_store(move |store| store.start(request)).await
    }

    async fn resume_run(&self, request: Request<RunRef>) -> Result<Response<ResumedRun>, Status> {
        let id = request.into_inner().id;
        self.with_store(move |store| {
            let (run, plan) = store.resume(id)?;
            Ok(ResumedRun { run: Some(run), plan })
        })
        .await
    }

    async fn stage_finished(
        &self,
        request: Request<StageFinishedRequest>,
    ) -> Result<Response<Empty>, Status> {
        let StageFinishedRequest { run, stage } = request.into_inner();
        let stage = stage.ok_or_else(|| Status::invalid_argument("no stage"))?;
        self.with_store(move |store| store.stage_finished(run, stage).map(|()| Empty {})).await
    }

    async fn heartbeat(&self, request: Request<RunRef>) -> Result<Response<Empty>, Status> {
        let id = request.into_inner().id;
        self.with_store(move |store| store.heartbeat(id).map(|()| Empty {})).await
    }

    async fn end_run(
        &self,
        request: Request<EndRunRequest>,
    ) -> Result<Response<RunRecord>, Status> {
        let EndRunRequest { run, succeeded, error } = request.into_inner();
        self.with_store(move |store| store.end(run, succeeded, error)).await
    }

    async fn get_run(&self, request: Request<RunRef>) -> Result<Response<RunRecord>, Status> {
        let id = request.into_inner().id;
        self.with_store(move |store| store.get(id)).await
    }

    async fn list_runs(
        &self,
        request: Request<ListRunsRequest>,
    ) -> Result<Response<RunList>, Status> {
        let limit = match request.into_inner().limit as usize {
            0 => DEFAULT_LIST,
            n => n.min(MAX_LIST),
        };
        self.with_store(move |store| store.list(limit).map(|runs| RunList { runs })).await
    }

    async fn cancel_session(
        &self,
        request: Request<SessionRef>,
    ) -> Result<Response<CancelledJobs>, Status> {
        let session = request.into_inner().session;
        if session.is_empty() {
            return Err(Status::invalid_argument("no session"));
        }
        Ok(Response::new(CancelledJobs { jobs: self.jobs.cancel(&session).await }))
    }

    async fn list_workers(&self, _: Request<Empty>) -> Result<Response<WorkerList>, Status> {
        let workers = self.jobs.workers().await.map_err(Status::internal)?;
        Ok(Response::new(WorkerList { workers }))
    }
}
