//! Object-store URLs in `std.io` and `--output`: a pipeline reads a CSV file from a local S3
//! (moto, on 127.0.0.1) and writes Parquet, CSV and Arrow back to it; the objects, fetched
//! with boto3, hold the same bytes as the same run writing local files; a prefix reads every
//! object under it. A missing object, a missing bucket and an unsupported scheme are clear
//! errors. Skipped, saying so, without
//! Python.

mod support;

use support::s3::S3;
use support::{Scratch, run};

const PEOPLE: &str = "id,name\n1,Ada\n2,Grace\n3,Edsger\n";

/// Reads `src` and writes its rows with names upper-cased to `dst` as Parquet and to `csv`.
const PIPELINE: &str = "\
use std.io.{read_csv, write_csv, write_parquet}

type People = table { id: i64, name: utf8 }

pipeline main(src: path, dst: path, csv: path) -> People {
    let people: People = read_csv(src)
    let shouted = sql(\"SELECT id, upper(name) AS name FROM t ORDER BY id\", t = people)
    let written = write_parquet(shouted, dst)
    let copied = write_csv(shouted, csv)
    return shouted
}
";

#[test]
fn pipelines_read_and_write_s3_urls_as_they_do_local_files() {
    let Some(s3) = S3::start(&["lake"]) else { return };
    let scratch = Scratch::new("object-store-urls");
    scratch.write("p.ag", PIPELINE);
    scratch.write("people.csv", PEOPLE);
    s3.put("lake", "in/people.csv", PEOPLE.as_bytes());

    let local = run(scratch.aigridc().args([
        "run",
        "p.ag",
        "--param",
        "src=people.csv",
        "--param",
        "dst=out/people.parquet",
        "--param",
        "csv=out/people.csv",
        "--output",
        "out/result.arrow",
    ]));
    assert_eq!(local.0, 0, "{}", local.2);
    let remote = run(s3.point(&mut scratch.aigridc()).args([
        "run",
        "p.ag",
        "--param",
        "src=s3://lake/in/people.csv",
        "--param",
        "dst=s3://lake/out/people.parquet",
        "--param",
        "csv=s3://lake/out/people.csv",
        "--output",
        "s3://lake/out/result.arrow",
    ]));
    assert_eq!(remote.0, 0, "{}", remote.2);
    assert!(remote.2.contains("wrote 3 rows to s3://lake/out/result.arrow"), "{}", remote.2);

    assert_eq!(
        s3.list("lake"),
        ["in/people.csv", "out/people.csv", "out/people.parquet", "out/result.arrow"]
    );
    assert_eq!(
        String::from_utf8_lossy(&s3.get("lake", "out/people.csv")),
        "id,name\n1,ADA\n2,GRACE\n3,EDSGER\n"
    );
    for name in ["people.csv", "people.parquet", "result.arrow"] {
        let local = scratch.read(&format!("out/{name}"));
        assert!(s3.get("lake", &format!("out/{name}")) == local, "out/{name} differs");
    }

    // The written objects read back through aigrid too.
    scratch.write(
        "back.ag",
        "use std.io.{read_parquet}\n\npipeline main(src: path) -> table { id: i64, name: utf8 } {\n    \
         let people: table { id: i64, name: utf8 } = read_parquet(src)\n    return people\n}\n",
    );
    let (code, stdout, stderr) = run(s3.point(&mut scratch.aigridc()).args([
        "run",
        "back.ag",
        "--param",
        "src=s3://lake/out/people.parquet",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("EDSGER"), "{stdout}");

    // An Arrow file written by arrow-rs (64-byte aligned) reads back from the store too.
    scratch.write(
        "arrow.ag",
        "use std.io.{read_arrow}\n\npipeline main(src: path) -> table { id: i64, name: utf8 } {\n    \
         let people: table { id: i64, name: utf8 } = read_arrow(src)\n    return people\n}\n",
    );
    let (code, stdout, stderr) = run(s3.point(&mut scratch.aigridc()).args([
        "run",
        "arrow.ag",
        "--param",
        "src=s3://lake/out/result.arrow",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("GRACE"), "{stdout}");

    // A prefix ending in `/` reads every CSV object under it, as a directory does.
    s3.put("lake", "parts/a.csv", b"id,name\n1,Ada\n");
    s3.put("lake", "parts/b.csv", b"id,name\n2,Grace\n3,Edsger\n");
    scratch.write(
        "count.ag",
        "use std.io.{read_csv}\nuse std.table.{count}\n\npipeline main(src: path) -> i64 {\n    \
         let people: table { id: i64, name: utf8 } = read_csv(src)\n    return count(people)\n}\n",
    );
    let (code, stdout, stderr) = run(s3.point(&mut scratch.aigridc()).args([
        "run",
        "count.ag",
        "--param",
        "src=s3://lake/parts/",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("| 3 "), "{stdout}");
}

#[test]
fn missing_objects_buckets_and_unknown_schemes_are_clear_errors() {
    let Some(s3) = S3::start(&["lake"]) else { return };
    let scratch = Scratch::new("object-store-errors");
    scratch.write("p.ag", PIPELINE);
    let attempt = |src: &str, dst: &str| {
        let (code, _, stderr) = run(s3.point(&mut scratch.aigridc()).args([
            "run",
            "p.ag",
            "--param",
            &format!("src={src}"),
            "--param",
            &format!("dst={dst}"),
            "--param",
            "csv=out.csv",
        ]));
        (code, stderr)
    };
    let (code, stderr) = attempt("s3://lake/nowhere.csv", "out.parquet");
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("s3://lake/nowhere.csv: no such object"), "{stderr}");

    s3.put("lake", "people.csv", PEOPLE.as_bytes());
    let (code, stderr) = attempt("s3://lake/people.csv", "s3://no-such-bucket/out.parquet");
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("s3://no-such-bucket/out.parquet: no such bucket"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let (code, stderr) = attempt("ftp://host/people.csv", "out.parquet");
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("not ftp://"), "{stderr}");
    // Nothing was left behind by the failed writes.
    assert_eq!(s3.list("lake"), ["people.csv"]);
}
