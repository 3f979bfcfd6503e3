//! `aigridc run`: every example runs end to end on the built-in AIs, and its output is
//! asserted exactly (scores within 1e-4). Outputs go to a scratch directory (`--param out=`).
//! The examples that embed text need MiniLM; without it they say so and skip, unless
//! `AIGRID_REQUIRE_MODELS=1` (set by CI).

mod support;

use std::path::{Path, PathBuf};

use aigrid_builtins::ModelStore;
use support::{Scratch, aigridc, run};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `aigridc run ARGS` from the repository root; exit code, stdout, stderr.
/// `aigridc run` in the repository, computing everything (the cache is tested in `cache.rs`).
fn aigridc_run(args: &[&str]) -> (i32, String, String) {
    run(aigridc().args(["run", "--no-cache"]).args(args).current_dir(root()))
}

fn minilm_or_skip() -> bool {
    if ModelStore::from_env().minilm().is_ok() {
        return true;
    }
    assert_ne!(std::env::var("AIGRID_REQUIRE_MODELS").as_deref(), Ok("1"), "MiniLM is not fetched");
    println!("skipped: MiniLM is not fetched (aigridc models fetch minilm)");
    false
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn out(scratch: &Scratch, name: &str) -> (PathBuf, String) {
    let path = scratch.path().join(name);
    let param = format!("out={}", path.display());
    (path, param)
}

#[test]
fn churn_features_scores_every_open_customer() {
    let scratch = Scratch::new("run-churn");
    let (path, param) = out(&scratch, "scores.csv");
    let (status, stdout, stderr) = aigridc_run(&["examples/churn_features.ag", "--param", &param]);
    assert_eq!(status, 0, "{stderr}");
    assert!(stdout.ends_with("8 rows\n"), "{stdout}");
    let written = read(&path);
    let mut lines = written.lines();
    assert_eq!(lines.next(), Some("customer_id,score"));
    let expected = [
        (1018, 0.999987),
        (1021, 0.999966),
        (1024, 0.999393),
        (1017, 0.960876),
        (1020, 0.125324),
        (1022, 0.105481),
        (1023, 0.048221),
        (1019, 0.000005),
    ];
    for ((id, score), line) in expected.iter().zip(lines) {
        let (got_id, got_score) = line.split_once(',').unwrap_or_default();
        assert_eq!(got_id, id.to_string(), "{written}");
        let got: f64 = got_score.parse().unwrap_or(f64::NAN);
        assert!((got - score).abs() < 1e-4, "customer {id}: {got} instead of {score}");
    }
    assert_eq!(written.lines().count(), 9);
}

#[test]
fn summarize_writes_one_digest_line_per_article() {
    let scratch = Scratch::new("run-summarize");
    let (path, param) = out(&scratch, "digest.jsonl");
    let (status, _, stderr) = aigridc_run(&["examples/summarize.ag", "-q", "--param", &param]);
    assert_eq!((status, stderr.as_str()), (0, ""));
    let written = read(&path);
    let rows: Vec<serde_json::Value> =
        written.lines().map(|l| serde_json::from_str(l).unwrap_or_default()).collect();
    assert_eq!(rows.len(), 10);
    assert_eq!(rows[0]["id"], "2024-06-03-larkfield-bike-share");
    assert_eq!(
        rows[0]["keywords"],
        serde_json::json!(["estates", "station", "bike", "stations", "eastgate", "millbrook"])
    );
    let summary = rows[0]["summary"].as_str().unwrap_or_default();
    assert!(summary.starts_with("The expansion brings the network to 62 stations"), "{summary}");
    let articles = read(&root().join("examples/data/articles.jsonl"));
    for (row, article) in rows.iter().zip(articles.lines()) {
        let article: serde_json::Value = serde_json::from_str(article).unwrap_or_default();
        let (summary, body) = (row["summary"].as_str(), article["body"].as_str());
        let (Some(summary), Some(body)) = (summary, body) else { panic!("{row}") };
        assert!(summary.len() < body.len(), "{}: the summary is not shorter", row["id"]);
    }
}

#[test]
fn rag_index_writes_unit_vectors_and_returns_neighbours() {
    if !minilm_or_skip() {
        return;
    }
    let scratch = Scratch::new("run-rag");
    let (vectors, param) = out(&scratch, "vectors.parquet");
    let result = scratch.path().join("neighbours.parquet");
    let result_arg = result.to_string_lossy().into_owned();
    let (status, _, stderr) = aigridc_run(&[
        "examples/rag_index.ag",
        "--param",
        &param,
        "--param",
        "k=3",
        "-o",
        &result_arg,
    ]);
    assert_eq!(status, 0, "{stderr}");
    let (field, values) = read_tensor(&vectors);
    assert_eq!(field, vec![19, 384]);
    for (i, row) in values.chunks(384).enumerate() {
        let norm: f64 = row.iter().map(|v| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-5, "row {i} has norm {norm}");
    }
    let (shape, neighbours) = read_tensor(&result);
    assert_eq!(shape, vec![19, 3]);
    for (i, row) in neighbours.chunks(3).enumerate() {
        // A chunk is its own best match, unless an identical chunk comes first.
        let own = &values[i * 384..(i + 1) * 384];
        let first = row[0] as usize;
        let best = &values[first * 384..(first + 1) * 384];
        let similarity: f64 = own.iter().zip(best).map(|(a, b)| a * b).sum();
        assert!(similarity > 0.9999, "row {i}: best match {first} at {similarity}");
        assert!(row.iter().all(|&n| (0.0..19.0).contains(&n)), "row {i}: {row:?}");
    }
}

/// The shape and the values (as f64) of the tensor in the first column of a Parquet file.
fn read_tensor(path: &Path) -> (Vec<usize>, Vec<f64>) {
    use arrow_array::cast::AsArray;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut rows = 0;
    let mut width = 0;
    let mut values = Vec::new();
    for batch in reader {
        let batch = batch.unwrap_or_else(|e| panic!("{e}"));
        let list = batch.column(0).as_fixed_size_list();
        width = list.value_length() as usize;
        rows += arrow_array::Array::len(list);
        let items = list.values();
        let cast = arrow_cast_f64(items);
        values.extend(cast);
    }
    (vec![rows, width], values)
}

fn arrow_cast_f64(array: &arrow_array::ArrayRef) -> Vec<f64> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float32Type, Int64Type};
    if let Some(f) = array.as_primitive_opt::<Float32Type>() {
        return f.values().iter().map(|&v| f64::from(v)).collect();
    }
    if let Some(i) = array.as_primitive_opt::<Int64Type>() {
        return i.values().iter().map(|&v| v as f64).collect();
    }
    panic!("unexpected element type {}", array.data_type())
}

#[test]
fn ticket_triage_routes_each_new_ticket() {
    if !minilm_or_skip() {
        return;
    }
    let scratch = Scratch::new("run-triage");
    let (path, param) = out(&scratch, "routed.csv");
    let (status, _, stderr) = aigridc_run(&["examples/ticket_triage.ag", "-q", "--param", &param]);
    assert_eq!((status, stderr.as_str()), (0, ""));
    let expected = "id,queue\n5001,billing\n5002,account-access\n5003,bank-feeds\n5004,integrations\n\
        5005,bug-report\n5006,billing\n5007,account-access\n5008,manual-review\n5009,bank-feeds\n\
        5010,bug-report\n5011,manual-review\n5012,account-access\n5013,manual-review\n\
        5014,account-access\n5015,integrations\n";
    assert_eq!(read(&path), expected);
}

#[test]
fn ensemble_vote_gives_one_verdict_per_review() {
    if !minilm_or_skip() {
        return;
    }
    let scratch = Scratch::new("run-ensemble");
    let (path, param) = out(&scratch, "verdicts.csv");
    let (status, _, stderr) = aigridc_run(&["examples/ensemble_vote.ag", "-q", "--param", &param]);
    assert_eq!((status, stderr.as_str()), (0, ""));
    let written = read(&path);
    let verdicts: Vec<&str> = written.lines().skip(1).collect();
    assert_eq!(verdicts.len(), 24);
    // The first six: k-NN over 18 seed sentences follows topic as much as sentiment (the
    // sentence-transformers reference gives the same k-NN labels).
    assert_eq!(
        verdicts[..6],
        [
            "7001,negative,3",
            "7002,negative,3",
            "7003,positive,2",
            "7004,negative,2",
            "7005,neutral,3",
            "7006,positive,2"
        ]
    );
}

#[test]
fn uses_textkit_writes_the_passages_of_the_package_pipelines() {
    let scratch = Scratch::new("run-textkit");
    let (path, param) = out(&scratch, "passages.parquet");
    let (status, stdout, stderr) = aigridc_run(&["examples/uses_textkit.ag", "--param", &param]);
    assert_eq!(status, 0, "{stderr}");
    assert!(stdout.ends_with("24 rows, the first 20 shown\n"), "{stdout}");
    assert!(path.exists());
}

#[test]
fn a_plan_file_runs_like_its_source() {
    let scratch = Scratch::new("run-plan");
    let plan = scratch.path().join("churn.json");
    let (status, _, stderr) = run(aigridc()
        .args(["build", "examples/churn_features.ag", "-o"])
        .arg(&plan)
        .arg("--param")
        .arg(format!("out={}", scratch.path().join("a.csv").display()))
        .current_dir(root()));
    assert_eq!(status, 0, "{stderr}");
    let (status, from_plan, stderr) = aigridc_run(&["-q", &plan.to_string_lossy()]);
    assert_eq!(status, 0, "{stderr}");
    let (_, param) = out(&scratch, "b.csv");
    let (_, from_source, _) = aigridc_run(&["-q", "examples/churn_features.ag", "--param", &param]);
    assert_eq!(from_plan, from_source);
    assert_eq!(read(&scratch.path().join("a.csv")), read(&scratch.path().join("b.csv")));
}

#[test]
fn a_failed_run_names_the_node_and_leaves_no_output() {
    let scratch = Scratch::new("run-fail");
    scratch.write("bad.csv", "id,text\n1,hello\n");
    scratch.write(
        "p.ag",
        "use std.io.{read_csv}\n\ntype Doc = table { id: i64, body: utf8 }\n\n\
         pipeline main(src: path = \"bad.csv\") -> Doc {\n    let docs: Doc = read_csv(src)\n    return docs\n}\n",
    );
    let (status, stdout, stderr) =
        run(scratch.aigridc().args(["run", "p.ag", "-o", "out.parquet"]));
    assert_eq!(status, 1, "{stdout}{stderr}");
    assert_eq!(
        stderr,
        "error: p.ag:6:21: std.io.read_csv: bad.csv: column `body` of the declared type is not in the file, whose columns are `id`, `text`\n"
    );
    assert!(!scratch.path().join("out.parquet").exists());
    // A parameter without a value is asked for by name.
    scratch.write("q.ag", "pipeline main(k: i64) -> i64 {\n    return k\n}\n");
    let (status, _, stderr) = run(scratch.aigridc().args(["run", "q.ag"]));
    assert_eq!(status, 1);
    assert!(
        stderr.contains("parameter `k` has no value: give it with --param k=VALUE"),
        "{stderr}"
    );
    let (status, stdout, _) = run(scratch.aigridc().args(["run", "q.ag", "-q", "--param", "k=41"]));
    assert_eq!(status, 0);
    assert!(stdout.contains("| 41    |"), "{stdout}");
}

#[test]
fn tensor_operations_and_fused_chains_give_the_kernels_results() {
    use aigrid_kernels::{Binary, Reduce, Unary, binary, reduce, scale, softmax, unary};
    let scratch = Scratch::new("run-tensor-ops");
    scratch.write(
        "ops.ag",
        "use std.tensor.{add, exp, mul, relu, scale, sigmoid, softmax, sum}\n\n\
         ai vectorize(text: list<utf8>) -> tensor<f32, [N, 256]>\n    where task == \"text-vectorize\" && dims == 256\n\n\
         pipeline main() -> tensor<f32, [N]> {\n    let x = vectorize([\"the grid of ais\", \"ais of the grid network\", \"penguins\"])\n    \
         let y = x |> scale(2.0) |> exp |> relu\n    let z = add(y, sigmoid(x)) |> softmax\n    return sum(mul(z, z), axis = 1)\n}\n",
    );
    let (status, _, stderr) =
        run(scratch.aigridc().args(["run", "ops.ag", "-q", "-o", "out.parquet"]));
    assert_eq!((status, stderr.as_str()), (0, ""));
    let (shape, got) = read_tensor(&scratch.path().join("out.parquet"));
    assert_eq!(shape[0], 3);
    // The same, kernel by kernel.
    let texts = arrow_array::StringArray::from(vec![
        "the grid of ais",
        "ais of the grid network",
        "penguins",
    ]);
    let x = aigrid_kernels::hash_vectorize(&texts, 256).unwrap_or_else(|e| panic!("{e}"));
    let step = |r: Result<aigrid_kernels::Tensor, aigrid_kernels::KernelError>| {
        r.unwrap_or_else(|e| panic!("{e}"))
    };
    let y = step(unary(Unary::Relu, &step(unary(Unary::Exp, &step(scale(&x, 2.0))))));
    let z = step(softmax(&step(binary(Binary::Add, &y, &step(unary(Unary::Sigmoid, &x))))));
    let expected = step(reduce(Reduce::Sum, &step(binary(Binary::Mul, &z, &z)), 1));
    for (g, e) in got.iter().zip(expected.as_f32().unwrap_or_default()) {
        assert!((g - f64::from(*e)).abs() < 1e-6, "{got:?} vs {expected:?}");
    }
}

#[test]
fn table_operations_run_as_sql_on_datafusion() {
    let scratch = Scratch::new("run-table-ops");
    let data = root().join("examples/data");
    scratch.write(
        "t.ag",
        "use std.io.{read_csv}\nuse std.table.{filter, group_by, join, limit, sort}\n\n\
         type Customer = table { customer_id: i64, plan: utf8 }\ntype Event = table { customer_id: i64, event: utf8 }\n\n\
         pipeline main(c: path, e: path) -> table { customer_id: i64, plan: utf8, n: i64 } {\n    \
         let customers: Customer = read_csv(c)\n    let events: Event = read_csv(e)\n    \
         let counts = group_by(events, [\"customer_id\"], n = \"count(*)\")\n    \
         let joined = join(customers, counts, on = [\"customer_id\"])\n    \
         return filter(joined, \"n >= 2\") |> sort([\"n\", \"customer_id\"], descending = true) |> limit(3)\n}\n",
    );
    let c = format!("c={}", data.join("customers.csv").display());
    let e = format!("e={}", data.join("events.csv").display());
    let (status, _, stderr) = run(scratch
        .aigridc()
        .args(["run", "t.ag", "-q", "-o", "out.csv", "--param", &c, "--param", &e]));
    assert_eq!((status, stderr.as_str()), (0, ""));
    // The same computed from the CSV files with Python's csv module.
    assert_eq!(
        read(&scratch.path().join("out.csv")),
        "customer_id,plan,n\n1001,business-annual,4\n1021,team-monthly,3\n1007,team-monthly,3\n"
    );
}

#[test]
fn operators_on_computed_scalars_run() {
    let scratch = Scratch::new("run-operators");
    scratch.write(
        "b.ag",
        "use std.table.{count}\nuse std.io.{read_csv}\n\n\
         pipeline main(src: path, k: i64) -> bool {\n    let t = read_csv(src)\n    let n = count(t) * k + 1\n    \
         return n > 40 && !(n == 41)\n}\n",
    );
    let src = format!("src={}", root().join("examples/data/docs.csv").display());
    // 22 documents: 22 * 2 + 1 = 45, then 22 * 1 + 1 = 23.
    for (k, expected) in [("k=2", "| true  |"), ("k=1", "| false |")] {
        let (status, stdout, stderr) =
            run(scratch.aigridc().args(["run", "b.ag", "-q", "--param", &src, "--param", k]));
        assert_eq!(status, 0, "{stderr}");
        assert!(stdout.contains(expected), "{k}: {stdout}");
    }
}

/// A result with two readers is a stage of its own: its AI node runs once, so each row is sent
/// to the AI once, however many nodes read the answer.
#[test]
fn an_ai_result_read_twice_is_computed_once() {
    let scratch = Scratch::new("run-fan-out");
    let mut csv = String::from("text\n");
    for i in 0..2500 {
        csv.push_str(&format!("ticket {i} about invoices\n"));
    }
    scratch.write("t.csv", &csv);
    scratch.write(
        "p.ag",
        "use std.io.{read_csv, write_parquet}\nuse std.tensor.{l2_normalize}\n\n\
         ai vectorize(text: list<utf8>) -> tensor<f32, [N, 256]>\n    where task == \"text-vectorize\" && dims == 256\n\n\
         pipeline main() -> tensor<f32, [N, 256]> {\n    let docs: table { text: utf8 } = read_csv(\"t.csv\")\n    \
         let v = vectorize(docs.text)\n    write_parquet(v, \"v.parquet\")\n    return l2_normalize(v)\n}\n",
    );
    let (status, _, stderr) =
        run(scratch.aigridc().args(["run", "p.ag", "--analyze", "-o", "out.parquet"]));
    assert_eq!(status, 0, "{stderr}");
    // 2,500 rows in requests of at most 1,024 (the card's batch size): 3 requests, not 6.
    // node, rows, batches, bytes, time, requests, what; then the bindings that served them.
    let line = stderr.lines().find(|l| l.ends_with("ai vectorize")).unwrap_or_default();
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!((fields.get(1), fields.get(5)), (Some(&"2500"), Some(&"3")), "{stderr}");
    assert!(
        stderr.contains("served by hashing-vectorizer.256: 3; 0 failed attempts; 0 rows null"),
        "{stderr}"
    );
    assert!(stderr.contains("; 3 AI requests"), "{stderr}");
    // The read streamed into the call: it has no rows of its own.
    assert!(stderr.lines().any(|l| l.contains("streamed") && l.ends_with("std.io.read_csv")));
    assert_eq!(read_tensor(&scratch.path().join("v.parquet")).0, vec![2500, 256]);
    assert_eq!(read_tensor(&scratch.path().join("out.parquet")).0, vec![2500, 256]);

    // With one reader, the AI node streams into it, and its rows are counted as they flow.
    scratch.write(
        "one.ag",
        "use std.io.{read_csv}\nuse std.tensor.{l2_normalize}\n\n\
         ai vectorize(text: list<utf8>) -> tensor<f32, [N, 256]>\n    where task == \"text-vectorize\" && dims == 256\n\n\
         pipeline main() -> tensor<f32, [N, 256]> {\n    let docs: table { text: utf8 } = read_csv(\"t.csv\")\n    \
         return l2_normalize(vectorize(docs.text))\n}\n",
    );
    let (status, _, stderr) =
        run(scratch.aigridc().args(["run", "one.ag", "--analyze", "-q", "--no-cache"]));
    assert_eq!(status, 0, "{stderr}");
    let line = stderr.lines().find(|l| l.ends_with("ai vectorize")).unwrap_or_default();
    assert!(line.contains(" 2500 streamed "), "{stderr}");
}

#[test]
fn log_format_json_reports_every_node_as_a_json_line_and_no_bar_without_a_terminal() {
    let scratch = Scratch::new("run-log-json");
    let (_, param) = out(&scratch, "scores.csv");
    let (status, stdout, stderr) = aigridc_run(&[
        "examples/churn_features.ag",
        "--param",
        &param,
        "-q",
        "--log-format",
        "json",
    ]);
    assert_eq!(status, 0, "{stderr}");
    assert!(stdout.ends_with("8 rows\n"), "{stdout}");
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let kind = |e: &serde_json::Value| e["event"].as_str().unwrap_or_default().to_string();
    let Some(nodes) = events.first().and_then(|e| e["nodes"].as_u64()) else {
        panic!("no run_started first: {stderr}")
    };
    assert_eq!(kind(&events[0]), "run_started");
    let finished: Vec<&serde_json::Value> =
        events.iter().filter(|e| kind(e) == "node_finished").collect();
    assert_eq!(finished.len() as u64, nodes, "{stderr}");
    assert_eq!(events.iter().filter(|e| kind(e) == "node_started").count() as u64, nodes);
    assert!(finished.iter().all(|e| e["time_ms"].is_u64() && e["what"].is_string()));
    // The output node was computed: its rows are known.
    assert!(finished.iter().any(|e| e["rows"] == 8), "{stderr}");
    let last = events.last().unwrap_or_else(|| panic!("no events"));
    assert_eq!(kind(last), "run_finished");
    assert_eq!(last["nodes"].as_u64(), Some(nodes));
    assert!(events.iter().all(|e| e["ts_ms"].is_u64()));

    // Text logs without a terminal: no bar, just the summary line.
    let (status, _, stderr) = aigridc_run(&["examples/churn_features.ag", "--param", &param]);
    assert_eq!(status, 0, "{stderr}");
    assert!(stderr.starts_with("ran ") && stderr.lines().count() == 1, "{stderr}");
}

#[test]
fn an_output_that_is_a_pipe_or_a_link_is_written_through_not_replaced() {
    use std::os::unix::fs::FileTypeExt as _;
    let scratch = Scratch::new("run-special-outputs");
    // A named pipe (as /dev/null or /dev/stdout are devices): the rows go into it, and it stays
    // a pipe. Renaming a finished file over it, as root over /dev/null, would replace it.
    let (pipe, param) = out(&scratch, "pipe.csv");
    let made = std::process::Command::new("mkfifo").arg(&pipe).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo {}", pipe.display());
    let reader = {
        let pipe = pipe.clone();
        std::thread::spawn(move || std::fs::read_to_string(pipe))
    };
    let (status, stdout, stderr) =
        aigridc_run(&["examples/churn_features.ag", "-q", "--param", &param]);
    // Opening the pipe for reading and writing never blocks, and ends a reader still waiting
    // for a writer (if the run failed before it opened the pipe): the test cannot hang.
    drop(std::fs::OpenOptions::new().read(true).write(true).open(&pipe));
    let piped = reader.join().unwrap_or_else(|_| panic!("the reader panicked"));
    assert_eq!(status, 0, "{stdout}{stderr}");
    let piped = piped.unwrap_or_else(|e| panic!("{}: {e}", pipe.display()));
    assert!(piped.starts_with("customer_id,score\n1018,"), "{piped}");
    assert_eq!(piped.lines().count(), 9, "{piped}");
    let kind = std::fs::symlink_metadata(&pipe).map(|m| m.file_type().is_fifo());
    assert!(kind.is_ok_and(|fifo| fifo), "{} is no longer a pipe", pipe.display());
    assert_eq!(scratch.files(), ["pipe.csv"], "a partial file was left");

    // A symbolic link: the file it names gets the rows, and the link stays a link.
    scratch.write("data/scores.csv", "stale\n");
    let (link, param) = out(&scratch, "scores.csv");
    std::os::unix::fs::symlink("data/scores.csv", &link)
        .unwrap_or_else(|e| panic!("symlink {}: {e}", link.display()));
    let (status, _, stderr) = aigridc_run(&["examples/churn_features.ag", "-q", "--param", &param]);
    assert_eq!(status, 0, "{stderr}");
    let kind = std::fs::symlink_metadata(&link).map(|m| m.file_type().is_symlink());
    assert!(kind.is_ok_and(|link| link), "{} is no longer a link", link.display());
    let written = read(&scratch.path().join("data/scores.csv"));
    assert_eq!(written.lines().count(), 9, "{written}");
}

/// Tensors, lists and tables are given to `--param` as JSON, for a `.ag` file and for a plan
/// built without them; JSON that does not fit the declared type is a clear error.
#[test]
fn tensors_lists_and_tables_are_given_as_json() {
    let scratch = Scratch::new("run-json-params");
    scratch.write(
        "p.ag",
        "use std.table.{select}\nuse std.tensor.{matmul}\n\n\
         pipeline main(a: tensor<f32, [2, 2]>, b: tensor<f32, [2, 3]>, names: list<utf8>, t: table { id: i64, name: utf8? }) -> table { id: i64, name: utf8?, label: utf8, row: tensor<f32, [3]> } {\n    \
         let product = matmul(a, b)\n    \
         return select(t, id = t.id, name = t.name, label = names, row = product)\n}\n",
    );
    let params = [
        "--param",
        "a=[[1, 2], [3, 4]]",
        "--param",
        "b=[[5, 6, 0], [7, 8, 1]]",
        "--param",
        r#"names=["x", "y"]"#,
        "--param",
        r#"t=[{"id": 1, "name": "Ada"}, {"id": 2}]"#,
    ];
    const EXPECTED: &str = "{\"id\":1,\"name\":\"Ada\",\"label\":\"x\",\"row\":[19.0,22.0,2.0]}\n\
                            {\"id\":2,\"label\":\"y\",\"row\":[43.0,50.0,4.0]}\n";
    let out = scratch.path().join("out.json");
    let (code, _, stderr) =
        run(scratch.aigridc().args(["run", "p.ag", "--output"]).arg(&out).args(params));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(read(&out), EXPECTED);

    // A plan does not hold them: `build` says to give them when it runs.
    let (code, _, stderr) = run(scratch.aigridc().args(["build", "p.ag"]).args(&params[..2]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("give it when the plan runs"), "{stderr}");

    // The same values given to the plan built without them.
    let plan = scratch.path().join("p.json");
    let (code, _, stderr) = run(scratch.aigridc().args(["build", "p.ag", "-o"]).arg(&plan));
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) =
        run(scratch.aigridc().arg("run").arg(&plan).arg("--output").arg(&out).args(params));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(read(&out), EXPECTED);

    // Bad values: each names what is wrong, and nothing panics.
    for (bad, says) in [
        ("a=[[1, 2], [3, 4]", "not JSON"),
        ("a=[[1, 2], [3]]", "must have one length"),
        ("a=[[1, 2, 3], [4, 5, 6]]", "declared 2, but the JSON has 3"),
        ("a=[1, 2]", "2 levels of arrays, not 1"),
        ("a=[[1, \"x\"], [3, 4]]", "element is a number"),
        (r#"names=["x", null]"#, "may not be null"),
        (r#"t=[{"name": "x"}]"#, "no value for column `id`"),
        (r#"t=[{"id": "x"}]"#, "Int64"),
        (r#"t=[{"id": 1.5}]"#, "row 0, column `id`: 1.5 is not an integer"),
        ("t=[1]", "row is an object"),
    ] {
        let mut args: Vec<&str> = params.to_vec();
        let name = bad.split('=').next().unwrap_or_default();
        let at = args.iter().position(|a| a.starts_with(&format!("{name}="))).unwrap_or(0);
        args[at] = bad;
        let (code, _, stderr) = run(scratch.aigridc().args(["run", "p.ag"]).args(&args));
        assert!(code == 1 || code == 2, "{bad}: exit {code}: {stderr}");
        assert!(stderr.contains(says), "{bad}: {stderr}");
        assert!(!stderr.contains("panicked"), "{bad}: {stderr}");
    }
}

/// `tokenize` refuses a length that leaves no room for the special tokens, or one too large
/// to be meant, with the reason; no panic inside the tokenizer.
#[test]
fn tokenize_refuses_lengths_it_cannot_fill() {
    if !minilm_or_skip() {
        return;
    }
    let scratch = Scratch::new("run-tokenize-lengths");
    for (length, says) in [
        (0, "this tokenizer adds 2 special tokens"),
        (1, "this tokenizer adds 2 special tokens"),
        (70_000, "more than 65536 ids"),
    ] {
        scratch.write(
            "t.ag",
            format!(
                "use std.text.{{tokenize}}\n\npipeline main(texts: list<utf8>) -> tensor<i64, [N, {length}]> {{\n    \
                 return tokenize(texts, length = {length})\n}}\n"
            ),
        );
        let (code, _, stderr) = run(aigridc().current_dir(scratch.path()).args([
            "run",
            "t.ag",
            "-q",
            "--no-cache",
            "--param",
            r#"texts=["a b c"]"#,
        ]));
        assert_eq!(code, 1, "{length}: {stderr}");
        assert!(stderr.contains(says), "{length}: {stderr}");
        assert!(!stderr.contains("panicked"), "{length}: {stderr}");
    }
}
