//! The driver's side of the journal: [`JournalClient`] speaks to the coordinator's journal,
//! [`RunJournal`] is the executor's [`Journal`] for one run, and [`Heartbeat`] tells the
//! coordinator that the run's driver is alive.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use aigrid_executor::{Journal, KeptStage, Location, RunError};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use super::proto::journal_client::JournalClient as Grpc;
use super::proto::{
    Empty, EndRunRequest, ListRunsRequest, RunRecord, RunRef, SessionRef, Stage,
    StageFinishedRequest, StartRunRequest, Worker,
};
use crate::auth::Bearer;
use crate::{Access, ClusterError, MAX_MESSAGE, causes, coordinator_address};

/// How often a run's driver says it is alive.
const DRIVER_HEARTBEAT: Duration = Duration::from_secs(5);

/// A connection to a coordinator's run journal.
#[derive(Clone, Debug)]
pub struct JournalClient {
    grpc: Grpc<InterceptedService<Channel, Bearer>>,
    url: String,
    /// Whether it speaks TLS.
    tls: bool,
}

impl JournalClient {
    /// Connects to the journal of the coordinator that `access` names.
    pub async fn connect(access: &Access) -> Result<JournalClient, ClusterError> {
        let (host, port) = coordinator_address(&access.url)?;
        let security = &access.security;
        let url = format!("{}://{host}:{port}", security.scheme());
        let mut endpoint = Endpoint::from_shared(url.clone())
            .map_err(|error| ClusterError::Address(format!("`{url}`: {error}")))?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .tcp_nodelay(true);
        if let Some(tls) = &security.tls {
            endpoint =
                endpoint.tls_config(tls.client()).map_err(|e| ClusterError::Tls(e.to_string()))?;
        }
        let channel = endpoint.connect().await.map_err(|error| {
            ClusterError::Journal(format!(
                "cannot reach the coordinator at {url}: {}",
                causes(&error)
            ))
        })?;
        let grpc = Grpc::with_interceptor(channel, Bearer::new(security.token.as_ref()))
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE);
        Ok(JournalClient { grpc, url, tls: security.tls.is_some() })
    }

    /// The coordinator's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Records a new run.
    pub async fn start(&self, request: StartRunRequest) -> Result<RunRecord, ClusterError> {
        self.answer(self.grpc.clone().start_run(request).await)
    }

    /// Starts another attempt of run `id`: its record and plan.
    pub async fn resume(&self, id: u64) -> Result<(RunRecord, String), ClusterError> {
        let resumed = self.answer(self.grpc.clone().resume_run(RunRef { id }).await)?;
        let run = resumed.run.ok_or_else(|| {
            ClusterError::Journal(format!("the coordinator at {} sent no run", self.url))
        })?;
        Ok((run, resumed.plan))
    }

    /// Records that a stage of run `run` finished.
    pub async fn stage_finished(&self, run: u64, stage: Stage) -> Result<(), ClusterError> {
        let request = StageFinishedRequest { run, stage: Some(stage) };
        self.answer(self.grpc.clone().stage_finished(request).await).map(drop)
    }

    /// Says that the driver of run `id` is alive.
    pub async fn heartbeat(&self, id: u64) -> Result<(), ClusterError> {
        self.answer(self.grpc.clone().heartbeat(RunRef { id }).await).map(drop)
    }

    /// Records how run `id` ended: `Err` with why it failed.
    pub async fn end(
        &self,
        id: u64,
        result: Result<(), String>,
    ) -> Result<RunRecord, ClusterError> {
        let request = EndRunRequest {
            run: id,
            succeeded: result.is_ok(),
            error: result.err().unwrap_or_default(),
        };
        self.answer(self.grpc.clone().end_run(request).await)
    }

    /// Run `id`.
    pub async fn get(&self, id: u64) -> Result<RunRecord, ClusterError> {
        self.answer(self.grpc.clone().get_run(RunRef { id }).await)
    }

    /// Cancels the running jobs of Ballista session `session`; how many.
    pub async fn cancel_session(&self, session: String) -> Result<u32, ClusterError> {
        let request = SessionRef { session };
        Ok(self.answer(self.grpc.clone().cancel_session(request).await)?.jobs)
    }

    /// The workers registered now.
    pub async fn workers(&self) -> Result<Vec<Worker>, ClusterError> {
        Ok(self.answer(self.grpc.clone().list_workers(Empty {}).await)?.workers)
    }

    /// The latest `limit` runs, newest first.
    pub async fn list(&self, limit: u32) -> Result<Vec<RunRecord>, ClusterError> {
        let request = ListRunsRequest { limit };
        Ok(self.answer(self.grpc.clone().list_runs(request).await)?.runs)
    }

    fn answer<T>(
        &self,
        answer: Result<tonic::Response<T>, tonic::Status>,
    ) -> Result<T, ClusterError> {
        answer.map(tonic::Response::into_inner).map_err(|status| match status.code() {
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded => ClusterError::Journal(
                format!("cannot reach the coordinator at {}: {}", self.url, status.message()),
            ),
            tonic::Code::Unimplemented => ClusterError::Journal(format!(
                "the server at {} has no run journal: is it an aigrid coordinator?",
                self.url
            )),
            tonic::Code::Unauthenticated => ClusterError::Refused(format!(
                "the coordinator at {} refused the call: {}",
                self.url,
                status.message()
            )),
            // A server that speaks TLS to a client that does not: HTTP/2 breaks.
            tonic::Code::Internal | tonic::Code::Unknown if !self.tls => {
                ClusterError::Journal(format!(
                    "the coordinator at {} did not answer: {} (if the cluster serves TLS, give \
                     --tls-dir)",
                    self.url,
                    status.message()
                ))
            }
            _ => ClusterError::Journal(status.message().to_string()),
        })
    }
}

/// The journal of one run, as the executor uses it: the stages earlier attempts kept, and a
/// record of each stage this attempt finishes.
#[derive(Debug)]
pub struct RunJournal {
    access: Access,
    run: u64,
    work_dir: Location,
    kept: Vec<KeptStage>,
    /// Connected on first use, inside the run's runtime.
    client: tokio::sync::OnceCell<JournalClient>,
}

impl RunJournal {
    /// The journal of `run` at the coordinator that `access` names.
    pub fn new(access: &Access, run: &RunRecord) -> RunJournal {
        let kept = run.stages.iter().filter_map(kept_stage).collect();
        RunJournal {
            access: access.clone(),
            run: run.id,
            // Recorded by `aigridc run` from a path or a URL it parsed.
            work_dir: Location::parse(&run.work_dir)
                .unwrap_or_else(|_| Location::Path(PathBuf::from(&run.work_dir))),
            kept,
            client: tokio::sync::OnceCell::new(),
        }
    }
}

/// A recorded stage as the executor takes it; `None` if the record does not parse.
fn kept_stage(stage: &Stage) -> Option<KeptStage> {
    let wrote = match stage.wrote.is_empty() {
        true => None,
        false => {
            Some((PathBuf::from(&stage.wrote), u128::from_str_radix(&stage.wrote_hash, 16).ok()?))
        }
    };
    Some(KeptStage {
        node: stage.node,
        file: Location::parse(&stage.file).ok()?,
        hash: u128::from_str_radix(&stage.hash, 16).ok()?,
        rows: stage.rows,
        wrote,
    })
}

#[async_trait::async_trait]
impl Journal for RunJournal {
    fn work_dir(&self) -> &Location {
        &self.work_dir
    }

    fn kept(&self) -> Vec<KeptStage> {
        self.kept.clone()
    }

    async fn finished(&self, stage: &KeptStage, what: &str) -> Result<(), RunError> {
        let journal =
            |error: ClusterError| RunError::Cluster(format!("{}: {error}", self.access.url));
        let client = self
            .client
            .get_or_try_init(|| JournalClient::connect(&self.access))
            .await
            .map_err(journal)?;
        let (wrote, wrote_hash) = match &stage.wrote {
            Some((path, hash)) => (path.to_string_lossy().into_owned(), format!("{hash:032x}")),
            None => (String::new(), String::new()),
        };
        let record = Stage {
            node: stage.node,
            what: what.to_string(),
            file: stage.file.to_string(),
            hash: format!("{:032x}", stage.hash),
            rows: stage.rows,
            wrote,
            wrote_hash,
            ..Stage::default()
        };
        client.stage_finished(self.run, record).await.map_err(journal)
    }
}

/// Tells the coordinator every few seconds that a run's driver is alive, on a thread of its
/// own, until dropped.
pub struct Heartbeat {
    /// Dropped to stop the thread (which is not waited for: a beat may be in flight).
    _stop: mpsc::Sender<()>,
}

impl Heartbeat {
    /// Starts the heartbeat of run `id` to the coordinator that `access` names. A heartbeat
    /// that fails is tried again at the next beat: the run itself finds out if the coordinator
    /// is gone.
    pub fn start(access: &Access, id: u64) -> Heartbeat {
        let (stop, stopped) = mpsc::channel::<()>();
        let access = access.clone();
        let _thread =
            std::thread::Builder::new().name("aigrid-heartbeat".into()).spawn(move || {
                let Ok(runtime) =
                    tokio::runtime::Builder::new_current_thread().enable_all().build()
                else {
                    return;
                };
                let mut client = None;
                while let Err(mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(DRIVER_HEARTBEAT)
                {
                    runtime.block_on(async {
                        if client.is_none() {
                            client = JournalClient::connect(&access).await.ok();
                        }
                        if let Some(journal) = &client {
                            let _ = journal.heartbeat(id).await;
                        }
                    });
                }
            });
        Heartbeat { _stop: stop }
    }
}
