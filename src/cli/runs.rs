//! The run journal from the command line: `aigridc runs` and `aigridc status`, and how
//! `aigridc run --cluster` records a run (or goes on with one, `--resume`) in it.

use std::collections::BTreeMap;
use std::sync::Arc;

use aigrid_cluster::journal::proto::{RunRecord, RunState, StartRunRequest};
use aigrid_cluster::journal::{Heartbeat, JournalClient, RunJournal};
use aigrid_cluster::{Access, ClusterError, block_on};
use aigrid_compiler::Plan;
use aigrid_executor::Location;

use super::ExitStatus;
use super::args::{CardsFormat, RunsArgs, StatusArgs};
use super::output;

/// A run recorded in the journal while this process drives it.
pub struct Journaled {
    /// The cluster.
    pub access: Access,
    /// The run's record when this attempt started.
    pub record: RunRecord,
    /// What the executor records the stages in.
    pub journal: Arc<RunJournal>,
    /// Keeps telling the coordinator that the driver is alive.
    _heartbeat: Heartbeat,
}

/// `host:pid` of this process, for the journal.
fn driver() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| String::from("localhost"));
    format!("{host}:{}", std::process::id())
}

impl Journaled {
    /// Records a new run of `plan` at the cluster's coordinator; its work directory goes under
    /// `work_parent` (by default the system's temporary directory).
    pub fn start(
        access: &Access,
        plan: &Plan,
        params: &BTreeMap<String, String>,
        work_parent: Option<&Location>,
        source: &str,
        output: Option<&Location>,
    ) -> Result<Journaled, ClusterError> {
        let absolute = |location: Location| {
            location.absolute().map_err(|e| ClusterError::Io(std::io::Error::other(e.to_string())))
        };
        let parent = work_parent.cloned().unwrap_or_else(|| Location::Path(std::env::temp_dir()));
        let parent = absolute(parent)?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let work_dir = parent.join(&format!("aigrid-run-{}-{nanos}", std::process::id()));
        let request = StartRunRequest {
            plan: plan.to_json(),
            params: params.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            work_dir: work_dir.to_string(),
            source: source.to_string(),
            driver: driver(),
            nodes: u32::try_from(plan.nodes.len()).unwrap_or(u32::MAX),
            output: match output {
                Some(location) => absolute(location.clone())?.to_string(),
                None => String::new(),
            },
        };
        let record =
            block_on(async { JournalClient::connect(access).await?.start(request).await })??;
        Ok(Journaled::of(access, record))
    }

    /// Starts another attempt of run `id`: the run, its plan and its parameters.
    pub fn resume(
        access: &Access,
        id: u64,
    ) -> Result<(Journaled, Plan, BTreeMap<String, String>), ClusterError> {
        let (record, plan) =
            block_on(async { JournalClient::connect(access).await?.resume(id).await })??;
        let plan = Plan::from_json(&plan).map_err(|error| {
            ClusterError::Journal(format!("the journal's plan of run {id} does not load: {error}"))
        })?;
        let params = record.params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        Ok((Journaled::of(access, record), plan, params))
    }

    fn of(access: &Access, record: RunRecord) -> Journaled {
        Journaled {
            access: access.clone(),
            journal: Arc::new(RunJournal::new(access, &record)),
            _heartbeat: Heartbeat::start(access, record.id),
            record,
        }
    }

    /// Records how the run ended. A coordinator that cannot be reached then marks the run
    /// interrupted when it starts again: the error is not the run's.
    pub fn end(&self, result: Result<(), String>) -> Option<RunRecord> {
        let id = self.record.id;
        block_on(async { JournalClient::connect(&self.access).await?.end(id, result).await })
            .ok()?
            .ok()
    }
}

/// `aigridc runs`.
pub fn runs(args: &RunsArgs) -> ExitStatus {
    let access = match args.cluster.access() {
        Ok(access) => access,
        Err(error) => {
            output::error(&error);
            return ExitStatus::Error;
        }
    };
    let runs = block_on(async { JournalClient::connect(&access).await?.list(args.limit).await });
    let runs = match runs {
        Ok(Ok(runs)) => runs,
        Ok(Err(error)) | Err(error) => {
            output::error(&error.to_string());
            return ExitStatus::Error;
        }
    };
    if args.format == CardsFormat::Json {
        let list: Vec<serde_json::Value> = runs.iter().map(json).collect();
        return output::print(&format!("{}\n", serde_json::Value::Array(list)));
    }
    let mut text = format!(
        "{:<6} {:<12} {:<8} {:<8} {:<25} {}\n",
        "run", "state", "attempts", "stages", "started", "source"
    );
    for run in &runs {
        text.push_str(&format!(
            "{:<6} {:<12} {:<8} {:<8} {:<25} {}\n",
            run.id,
            state(run),
            run.attempts,
            run.stages.len(),
            time(run.started_ms),
            run.source
        ));
    }
    text.push_str(&format!("{} runs\n", runs.len()));
    output::print(&text)
}

/// `aigridc status`.
pub fn status(args: &StatusArgs) -> ExitStatus {
    let access = match args.cluster.access() {
        Ok(access) => access,
        Err(error) => {
            output::error(&error);
            return ExitStatus::Error;
        }
    };
    let record = block_on(async {
        let client = JournalClient::connect(&access).await?;
        match args.run {
            Some(id) => client.get(id).await,
            None => client.list(1).await?.into_iter().next().ok_or_else(|| {
                ClusterError::Journal(format!("the coordinator at {} has no run yet", client.url()))
            }),
        }
    });
    let run = match record {
        Ok(Ok(run)) => run,
        Ok(Err(error)) | Err(error) => {
            output::error(&error.to_string());
            return ExitStatus::Error;
        }
    };
    if args.format == CardsFormat::Json {
        return output::print(&format!("{}\n", json(&run)));
    }
    let mut text = format!(
        "run {}: {}{}\n  source:   {}\n  driver:   {}\n  attempts: {}\n  started:  {}\n",
        run.id,
        state(&run),
        if run.error.is_empty() { String::new() } else { format!(" ({})", run.error) },
        run.source,
        run.driver,
        run.attempts,
        time(run.started_ms),
    );
    if run.ended_ms > 0 {
        text.push_str(&format!("  ended:    {}\n", time(run.ended_ms)));
    }
    text.push_str(&format!(
        "  work dir: {}\n  stages finished: {}\n",
        run.work_dir,
        run.stages.len()
    ));
    for stage in &run.stages {
        text.push_str(&format!(
            "    %{:<5} {:>10} rows  attempt {}  {}\n",
            stage.node, stage.rows, stage.attempt, stage.what
        ));
    }
    output::print(&text)
}

/// A run's state in words.
pub fn state(run: &RunRecord) -> &'static str {
    match run.state() {
        RunState::Running => "running",
        RunState::Succeeded => "succeeded",
        RunState::Failed => "failed",
        RunState::Interrupted => "interrupted",
        RunState::Unspecified => "unknown",
    }
}

/// Milliseconds since the epoch, as an RFC 3339 time (UTC, to the second).
fn time(ms: i64) -> String {
    jiff::Timestamp::from_second(ms / 1000).map_or_else(|_| ms.to_string(), |t| t.to_string())
}

/// A run as JSON.
fn json(run: &RunRecord) -> serde_json::Value {
    let stages: Vec<serde_json::Value> = run
        .stages
        .iter()
        .map(|stage| {
            serde_json::json!({
                "node": stage.node,
                "what": stage.what,
                "rows": stage.rows,
                "file": stage.file,
                "hash": stage.hash,
                "wrote": (!stage.wrote.is_empty()).then_some(&stage.wrote),
                "attempt": stage.attempt,
                "finished_ms": stage.finished_ms,
            })
        })
        .collect();
    serde_json::json!({
        "id": run.id,
        "state": state(run),
        "source": run.source,
        "driver": run.driver,
        "work_dir": run.work_dir,
        "output": (!run.output.is_empty()).then_some(&run.output),
        "params": run.params,
        "nodes": run.nodes,
        "attempts": run.attempts,
        "started_ms": run.started_ms,
        "heard_ms": run.heard_ms,
        "ended_ms": run.ended_ms,
        "error": run.error,
        "stages": stages,
    })
}
