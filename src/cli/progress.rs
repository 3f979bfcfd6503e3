//! What `aigridc run` shows while a pipeline runs: a progress bar on a terminal (nodes done of
//! all, the node running, rows read by the running stage and their rate), or one JSON object
//! per event on standard error with `--log-format json`. Nothing in CI, without a terminal, or
//! with `--quiet`.

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aigrid_executor::{NodeReport, Observer, Run, rows_read};
use datafusion::physical_plan::ExecutionPlan;
use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::args::LogFormat;
use super::output;

/// How often the bar reads the running stage's metrics.
const TICK: Duration = Duration::from_millis(200);

/// What shows a run's progress, if anything does; dropped, it clears the bar.
pub enum Progress {
    /// Nothing.
    Hidden,
    /// JSON lines on standard error.
    Json(Arc<JsonLog>),
    /// A bar on the terminal, redrawn by a thread.
    Bar(Arc<Bar>, Option<JoinHandle<()>>),
}

impl Progress {
    /// The display `--log-format` and `--quiet` ask for, where standard error can show it.
    pub fn new(format: LogFormat, quiet: bool) -> Progress {
        match format {
            LogFormat::Json => Progress::Json(Arc::new(JsonLog)),
            LogFormat::Text if quiet || in_ci() || !std::io::stderr().is_terminal() => {
                Progress::Hidden
            }
            LogFormat::Text => {
                let bar = Arc::new(Bar::new());
                let ticking = bar.clone();
                let ticker = std::thread::spawn(move || {
                    while !ticking.done.load(Ordering::Relaxed) {
                        ticking.tick();
                        std::thread::sleep(TICK);
                    }
                });
                Progress::Bar(bar, Some(ticker))
            }
        }
    }

    /// The observer to hand the run.
    pub fn observer(&self) -> Option<Arc<dyn Observer>> {
        match self {
            Progress::Hidden => None,
            Progress::Json(log) => Some(log.clone()),
            Progress::Bar(bar, _) => Some(bar.clone()),
        }
    }

    /// Logs the end of the run (JSON only: the text summary is the caller's).
    pub fn finished(&self, run: &Run, time: Duration, requests: u64, null_rows: u64) {
        if let Progress::Json(_) = self {
            line(serde_json::json!({
                "event": "run_finished",
                "nodes": run.nodes.len(),
                "time_ms": millis(time),
                "requests": requests,
                "null_rows": null_rows,
                "cached": run.nodes.iter().filter(|n| n.cached).count(),
                "spilled_bytes": run.spilled_bytes,
            }));
        }
    }

    /// Logs a failed run (JSON only).
    pub fn failed(&self, error: &str) {
        if let Progress::Json(_) = self {
            line(serde_json::json!({ "event": "run_failed", "error": error }));
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Progress::Bar(bar, ticker) = self {
            bar.done.store(true, Ordering::Relaxed);
            if let Some(ticker) = ticker.take() {
                let _ = ticker.join();
            }
            bar.bar.finish_and_clear();
        }
    }
}

/// Whether this looks like a CI job (they set `CI`).
fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// One JSON object per event, each on its own line of standard error.
#[derive(Debug)]
pub struct JsonLog;

fn line(event: serde_json::Value) {
    let at = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut event = event;
    if let Some(object) = event.as_object_mut() {
        object.insert("ts_ms".into(), millis(at).into());
    }
    output::note(&format!("{event}\n"));
}

fn millis(time: Duration) -> u64 {
    u64::try_from(time.as_millis()).unwrap_or(u64::MAX)
}

impl Observer for JsonLog {
    fn run_started(&self, nodes: usize) {
        line(serde_json::json!({ "event": "run_started", "nodes": nodes }));
    }

    fn node_started(&self, id: u32, what: &str) {
        line(serde_json::json!({ "event": "node_started", "node": id, "what": what }));
    }

    fn node_finished(&self, report: &NodeReport) {
        line(serde_json::json!({
            "event": "node_finished",
            "node": report.id,
            "what": report.what,
            "rows": report.rows,
            "streamed": report.rows.is_none(),
            "cached": report.cached,
            "time_ms": millis(report.time),
        }));
    }
}

/// The terminal bar.
#[derive(Debug)]
pub struct Bar {
    bar: ProgressBar,
    /// The node running, and the stage plan running with it (if any) since when.
    running: Mutex<Running>,
    done: AtomicBool,
}

#[derive(Debug, Default)]
struct Running {
    what: String,
    stage: Option<(Arc<dyn ExecutionPlan>, Instant)>,
}

impl Bar {
    fn new() -> Bar {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "[{elapsed_precise}] {bar:24.cyan/blue} {pos}/{len} nodes  {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        Bar { bar, running: Mutex::new(Running::default()), done: AtomicBool::new(false) }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, Running> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Redraws the message: the node running and how many rows its stage has read.
    fn tick(&self) {
        let message = {
            let running = self.running();
            match &running.stage {
                Some((plan, since)) => {
                    let rows = rows_read(plan.as_ref());
                    let seconds = since.elapsed().as_secs_f64().max(1e-3);
                    format!(
                        "{}: {} rows read, {}/s",
                        running.what,
                        HumanCount(rows as u64),
                        HumanCount((rows as f64 / seconds) as u64)
                    )
                }
                None => running.what.clone(),
            }
        };
        self.bar.set_message(message);
    }
}

impl Observer for Bar {
    fn run_started(&self, nodes: usize) {
        self.bar.set_length(nodes as u64);
    }

    fn node_started(&self, _: u32, what: &str) {
        *self.running() = Running { what: what.to_string(), stage: None };
    }

    fn stage_started(&self, plan: &Arc<dyn ExecutionPlan>) {
        self.running().stage = Some((plan.clone(), Instant::now()));
    }

    fn node_finished(&self, _: &NodeReport) {
        self.bar.inc(1);
    }
}
