//! `aigridc run`: compiles and binds a pipeline (or loads a plan), runs it in-process, and
//! prints its result or writes it to `--output`.

use std::collections::BTreeMap;

use aigrid_builtins::{Library, ModelStore};
use aigrid_cluster::Access;
use aigrid_compiler::{Plan, ValueType};
use aigrid_executor::{Cache, Format, Location, RunError, RunOptions, Value};
use datafusion::arrow::util::pretty::pretty_format_batches;

use super::ExitStatus;
use super::args::{OutputFormat, RunArgs};
use super::build::compile_with;
use super::cluster::security;
use super::output;
use super::progress::Progress;
use super::runs::Journaled;

/// Rows of a table result printed before the count.
const SHOWN_ROWS: usize = 20;

pub fn run(args: &RunArgs) -> ExitStatus {
    let access = match &args.cluster {
        Some(url) => match security(args.token_file.as_deref(), args.tls_dir.as_deref()) {
            Ok(security) => Some(Access { url: url.clone(), security }),
            Err(error) => {
                output::error(&error);
                return ExitStatus::Error;
            }
        },
        None => None,
    };
    let mut journaled = None;
    let (plan, params) = match (args.resume, &access) {
        (Some(id), Some(access)) => match Journaled::resume(access, id) {
            Ok((run, plan, params)) => {
                journaled = Some(run);
                (plan, params)
            }
            Err(error) => {
                output::error(&error.to_string());
                return ExitStatus::Failure;
            }
        },
        _ => match load(args) {
            Ok(loaded) => loaded,
            Err(status) => return status,
        },
    };
    // A resumed run writes its result where its first attempt was to (unless told otherwise).
    let recorded = journaled.as_ref().map(|run| run.record.output.clone());
    let output_location = match args.output.clone() {
        Some(location) => Some(location),
        None => match recorded.filter(|o| !o.is_empty()).map(|o| Location::parse(&o)) {
            Some(Ok(location)) => Some(location),
            Some(Err(error)) => {
                output::error(&error.to_string());
                return ExitStatus::Error;
            }
            None => None,
        },
    };
    let output_format = match output_location {
        Some(location) => match Format::of(&location) {
            Some(format) => Some((location, format)),
            None => {
                output::error(&format!(
                    "`{location}`: the output's extension says its format: .parquet, .arrow, .csv \
                     or .json"
                ));
                return ExitStatus::Error;
            }
        },
        None => None,
    };
    let store = ModelStore::from_env();
    let library = Library::new(&store);
    let started = std::time::Instant::now();
    let progress = Progress::new(args.log_format, args.quiet);
    let remote = match &access {
        Some(access) => match aigrid_cluster::Cluster::new(access, library.clone()) {
            Ok(cluster) => Some(std::sync::Arc::new(cluster) as _),
            Err(error) => {
                output::error(&error.to_string());
                return ExitStatus::Error;
            }
        },
        None => None,
    };
    if let (None, Some(access)) = (&journaled, &access) {
        let source = args.pipeline.file().display().to_string();
        let output = args.output.as_ref();
        match Journaled::start(access, &plan, &params, args.work_dir.as_ref(), &source, output) {
            Ok(run) => journaled = Some(run),
            Err(error) => {
                output::error(&error.to_string());
                return ExitStatus::Failure;
            }
        }
    }
    if let (Some(run), false) = (&journaled, args.quiet) {
        let record = &run.record;
        let attempt = match record.attempts {
            1 => String::new(),
            n => format!(", attempt {n}, {} stages finished before", record.stages.len()),
        };
        output::note(&format!("run {} on the cluster at {}{attempt}\n", record.id, run.access.url));
    }
    let options = RunOptions {
        params,
        cancel_on_ctrl_c: true,
        through_codec: args.through_codec,
        observer: progress.observer(),
        cache: (!args.no_cache).then(|| Cache::at(store.home().join("cache"))),
        memory_budget: Some(args.memory_budget),
        work_dir: args.work_dir.clone(),
        remote,
        journal: journaled.as_ref().map(|run| run.journal.clone() as _),
    };
    let result = aigrid_executor::run(&plan, &library, &options);
    if let Some(run) = &journaled {
        run.end(result.as_ref().map(drop).map_err(ToString::to_string));
    }
    let run = match result {
        Ok(run) => run,
        Err(error) => {
            progress.failed(&error.to_string());
            drop(progress);
            if let Some(run) = &journaled {
                let id = run.record.id;
                // The same credentials as given (those from the environment stay there).
                let mut given = String::new();
                for (flag, path) in
                    [("--token-file", &args.token_file), ("--tls-dir", &args.tls_dir)]
                {
                    if let Some(path) = path {
                        given.push_str(&format!(" {flag} {}", path.display()));
                    }
                }
                output::note(&format!(
                    "run {id} stopped; its finished stages are kept: go on with `aigridc run \
                     --resume {id} --cluster {}{given}`\n",
                    run.access.url
                ));
            }
            if let RunError::Cancelled = error {
                output::error("cancelled");
                return ExitStatus::Cancelled;
            }
            output::error(&error.to_string());
            return ExitStatus::Failure;
        }
    };
    let calls: u64 = run.nodes.iter().filter_map(|n| n.calls.as_ref()).map(|c| c.requests).sum();
    let nulls: u64 = run.nodes.iter().filter_map(|n| n.calls.as_ref()).map(|c| c.null_rows).sum();
    let cached = run.nodes.iter().filter(|n| n.cached).count();
    let kept = run.nodes.iter().filter(|n| n.kept).count();
    progress.finished(&run, started.elapsed(), calls, nulls);
    let text_log = matches!(progress, Progress::Hidden | Progress::Bar(..));
    drop(progress);
    if !args.quiet && text_log {
        let mut summary =
            format!("ran {} nodes in {:.2} s", run.nodes.len(), started.elapsed().as_secs_f64());
        match (&args.cluster, &journaled) {
            (Some(url), Some(run)) => {
                summary.push_str(&format!(" on the cluster at {url} (run {})", run.record.id));
            }
            (Some(url), None) => summary.push_str(&format!(" on the cluster at {url}")),
            (None, _) => {}
        }
        summary.push_str(&format!("; {calls} AI requests"));
        if kept > 0 {
            summary.push_str(&format!("; {kept} nodes done by earlier attempts"));
        }
        if nulls > 0 {
            summary.push_str(&format!(", {nulls} rows null after every binding failed"));
        }
        if cached > 0 {
            summary.push_str(&format!("; {cached} results from the cache"));
        }
        if run.spilled_bytes > 0 {
            let mib = run.spilled_bytes as f64 / f64::from(1 << 20);
            summary.push_str(&format!("; {mib:.1} MiB spilled to disk"));
        }
        output::note(&format!("{summary}\n"));
    }
    if args.analyze {
        output::note(&analysis(&run));
    }
    let Some(value) = run.output else { return ExitStatus::Success };
    match output_format {
        Some((location, format)) => write_output(&location, format, &value, args.quiet),
        None => print_value(&value),
    }
}

/// The plan to run (compiled from the `.ag` file, or read from a plan file) and the parameter
/// values the executor takes.
fn load(args: &RunArgs) -> Result<(Plan, BTreeMap<String, String>), ExitStatus> {
    let file = args.pipeline.file();
    let is_plan =
        matches!(file.extension().and_then(|e| e.to_str()), Some("json" | "yaml" | "yml"));
    if is_plan {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(error) => {
                output::error(&format!("cannot read `{}`: {error}", file.display()));
                return Err(ExitStatus::Error);
            }
        };
        let plan = if file.extension().is_some_and(|e| e == "json") {
            Plan::from_json(&text)
        } else {
            Plan::from_yaml(&text)
        };
        match plan {
            Ok(plan) => Ok((plan, args.pipeline.params.iter().cloned().collect())),
            Err(error) => {
                output::error(&format!("`{}`: {error}", file.display()));
                Err(ExitStatus::Error)
            }
        }
    } else {
        let ((build, status), _) = compile_with(&args.pipeline, OutputFormat::Human, false, false);
        match build.plan {
            // Tensors, lists and tables given with `--param` are read when the plan runs.
            Some(plan) if status == ExitStatus::Success => {
                Ok((plan, args.pipeline.params.iter().cloned().collect()))
            }
            _ => Err(status.max(ExitStatus::Failure)),
        }
    }
}

fn write_output(location: &Location, format: Format, value: &Value, quiet: bool) -> ExitStatus {
    match aigrid_executor::write_file(location, format, &value.batches) {
        Ok(rows) => {
            if !quiet {
                output::note(&format!("wrote {rows} rows to {location}\n"));
            }
            ExitStatus::Success
        }
        Err(error) => {
            output::error(&error.to_string());
            ExitStatus::Failure
        }
    }
}

fn print_value(value: &Value) -> ExitStatus {
    let rows = value.rows();
    let mut shown = Vec::new();
    let mut left = SHOWN_ROWS;
    for batch in &value.batches {
        if left == 0 {
            break;
        }
        let take = left.min(batch.num_rows());
        shown.push(batch.slice(0, take));
        left -= take;
    }
    let table = match pretty_format_batches(&shown) {
        Ok(table) => table.to_string(),
        Err(error) => {
            output::error(&format!("cannot print the result: {error}"));
            return ExitStatus::Failure;
        }
    };
    let what = match (&value.ty, rows) {
        (ValueType::Tensor { .. }, 1) => "tensor row",
        (ValueType::Tensor { .. }, _) => "tensor rows",
        (ValueType::Table(_), 1) => "row",
        (ValueType::Table(_), _) => "rows",
        (_, 1) => "value",
        _ => "values",
    };
    let more =
        if rows > SHOWN_ROWS { format!(", the first {SHOWN_ROWS} shown") } else { String::new() };
    output::print(&format!("{table}\n{rows} {what}{more}\n"))
}

/// `--analyze`: a line per node (rows, batches and bytes of a value computed on its own, time,
/// AI requests), and for each AI node which bindings served its requests.
fn analysis(run: &aigrid_executor::Run) -> String {
    // A node that streamed into its reader has no rows of its own: `streamed`.
    let mut lines =
        String::from("node  rows           batches  bytes         time_ms  requests  what\n");
    for node in &run.nodes {
        let requests = node.calls.as_ref().map_or(String::from("-"), |c| c.requests.to_string());
        let rows = match (node.rows, node.cached, node.kept) {
            (Some(rows), true, _) => format!("{rows} (cached)"),
            (Some(rows), _, true) => format!("{rows} (kept)"),
            (Some(rows), false, false) => rows.to_string(),
            (None, _, true) => String::from("not needed"),
            (None, _, false) => match node.streamed_rows {
                Some(rows) => format!("{rows} streamed"),
                None => String::from("streamed"),
            },
        };
        let (batches, bytes) =
            node.batches.map_or((String::from("-"), String::from("-")), |(b, n)| {
                (b.to_string(), n.to_string())
            });
        lines.push_str(&format!(
            "%{:<4} {rows:<14} {batches:<8} {bytes:<12} {:>8.2}  {requests:<8}  {}\n",
            node.id,
            node.time.as_secs_f64() * 1e3,
            node.what
        ));
        if let Some(calls) = &node.calls {
            let served: Vec<String> =
                calls.served.iter().map(|(card, n)| format!("{card}: {n}")).collect();
            lines.push_str(&format!(
                "      served by {}; {} failed attempts; {} rows null\n",
                served.join(", "),
                calls.failed_attempts,
                calls.null_rows
            ));
        }
    }
    lines
}
