//! A cluster run whose work directory is an object-store URL (a local S3, moto on 127.0.0.1):
//! the stage outputs the workers read and the stages the journal keeps are objects there, the
//! examples give the same bytes as in-process, a failed run keeps its stages there and
//! `--resume` takes them back, and a finished run leaves nothing behind.

use super::support::s3::S3;
use super::support::{Scratch, Server, aigridc, examples_give_the_same_bytes_with, run};
use super::{coordinator, status_of};

/// A pipeline whose `shouted` table (about 300 KB, read twice) is kept and spilled, and whose
/// write fails while `blocked` is a file.
const PIPELINE: &str = "\
use std.io.{read_csv, write_csv}
use std.table.{count}

type T = table { id: i64, text: utf8 }

pipeline main(src: path = \"rows.csv\", dst: path = \"blocked/evens.csv\") -> i64 {
    let rows: T = read_csv(src)
    let shouted = sql(\"SELECT id, upper(text) AS text FROM t\", t = rows)
    let evens = sql(\"SELECT id, text FROM t WHERE id % 2 = 0 ORDER BY id\", t = shouted)
    let total = count(shouted)
    let written = write_csv(evens, dst)
    return written + total
}
";

#[test]
fn a_work_directory_at_an_s3_url_holds_the_runs_stages_and_is_removed_when_it_succeeds() {
    let Some(s3) = S3::start(&["lake"]) else { return };
    let scratch = Scratch::new("cluster-object-store");
    let coordinator = coordinator(&scratch);
    let url = coordinator.url.clone();
    let worker = || {
        let mut command = aigridc();
        s3.point(&mut command).args(["worker", "--coordinator", &url, "--slots", "2"]);
        Server::spawn(command.args(["--listen", "127.0.0.1:0"]))
    };
    let _workers = [worker(), worker()];
    let env = s3.env();
    let work_dir = ["--cluster", &url, "--work-dir", "s3://lake/runs"];

    // Two examples (one with AI calls, whose answers go to the work directory too).
    let compared = examples_give_the_same_bytes_with(
        &scratch,
        &["churn_features", "summarize"],
        &work_dir,
        &env,
    );
    assert_eq!(compared, 2);
    assert!(s3.list("lake").is_empty(), "{:?}", s3.list("lake"));

    // A run that fails at its write keeps its finished stages as objects...
    let mut csv = String::from("id,text\n");
    for i in 0..20_000 {
        csv.push_str(&format!("{i},word{}\n", i % 97));
    }
    scratch.write("rows.csv", csv);
    scratch.write("p.ag", PIPELINE);
    scratch.write("blocked", "a file where the write wants a directory");
    let (code, _, stderr) =
        run(s3.point(&mut scratch.aigridc()).args(["run", "-q", "p.ag"]).args(work_dir));
    assert_eq!(code, 1, "{stderr}");
    let record = status_of(&url, "3");
    assert_eq!(record["state"], "failed", "{record}");
    let dir = record["work_dir"].as_str().unwrap_or_default().to_string();
    assert!(dir.starts_with("s3://lake/runs/aigrid-run-"), "{record}");
    let kept = s3.list("lake");
    assert!(!kept.is_empty() && kept.iter().all(|k| k.ends_with(".arrow")), "{kept:?}");
    let prefix = dir.trim_start_matches("s3://lake/");
    assert!(kept.iter().all(|k| k.starts_with(prefix)), "{kept:?}");

    // ...which the next attempt takes instead of computing them; it then removes them.
    std::fs::remove_file(scratch.path().join("blocked")).unwrap_or_else(|e| panic!("{e}"));
    let (code, stdout, stderr) =
        run(s3.point(&mut scratch.aigridc()).args(["run", "--resume", "3", "--cluster", &url]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("30000"), "{stdout}");
    assert_eq!(status_of(&url, "3")["state"], "succeeded");
    let evens =
        std::fs::read_to_string(scratch.path().join("blocked/evens.csv")).unwrap_or_default();
    assert_eq!(evens.lines().count(), 10_001);
    assert!(evens.starts_with("id,text\n0,WORD0\n2,WORD2\n"), "{}", &evens[..40.min(evens.len())]);
    assert!(s3.list("lake").is_empty(), "{:?}", s3.list("lake"));
}
