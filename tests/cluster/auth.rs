//! The cluster's token: a cluster started with one runs a pipeline for a driver that has it,
//! and every server of it (the coordinator, each worker's task service and Flight service)
//! refuses calls without it. And its TLS: a cluster given a TLS directory speaks only TLS.
//! Both hold for the workers' fetches from each other: a shuffle runs with either.

use std::time::{Duration, Instant};

use arrow_flight::flight_service_client::FlightServiceClient;
use arrow_flight::{Empty, Ticket};
use ballista_core::serde::protobuf::StopExecutorParams;
use ballista_core::serde::protobuf::executor_grpc_client::ExecutorGrpcClient;

use super::support::{Scratch, aigridc, run, try_http_get_with};
use super::{coordinator_with, root, worker_with};

const TOKEN: &str = "test-token-0123456789abcdef";

/// `aigridc run` of the churn example writing to `out`, with `more` arguments.
fn churn(scratch: &Scratch, out: &str, more: &[&str]) -> (i32, String, String) {
    let out = scratch.path().join(out);
    let out = format!("out={}", out.display());
    run(aigridc()
        .current_dir(root())
        .args(["run", "--no-cache", "-q"])
        .args(["examples/churn_features.ag", "--param", &out])
        .args(more))
}

/// Runs on the cluster at `url` (with `more` arguments) a pipeline whose job has a shuffle,
/// and checks its result: the two partitions of a union are aggregated by two tasks, then
/// partitioned by key for the final sums, so that on workers of one slot each the tasks of the
/// second stage fetch task outputs from both workers.
fn grouped(scratch: &Scratch, url: &str, more: &[&str]) {
    scratch.write(
        "grouped.ag",
        "pipeline main(t: table { k: utf8, v: i64 }) -> table { k: utf8, total: i64? } {\n    \
         return sql(\"SELECT k, sum(v) AS total FROM (SELECT * FROM t UNION ALL SELECT * FROM t) \
         GROUP BY k ORDER BY k\", t = t)\n}\n",
    );
    let rows: Vec<String> =
        (0..64).map(|i| format!("{{\"k\": \"k{}\", \"v\": {i}}}", i % 8)).collect();
    let (status, stdout, stderr) = run(aigridc()
        .current_dir(scratch.path())
        .args(["run", "--no-cache", "grouped.ag", "--cluster", url])
        .args(more)
        .args(["--param", &format!("t=[{}]", rows.join(", "))]));
    assert_eq!(status, 0, "{stderr}");
    // k0 is 2 × (0 + 8 + ... + 56) = 448; k7 is 2 × (7 + 15 + ... + 63) = 560.
    assert!(stdout.contains("| k0 | 448   |") && stdout.contains("| k7 | 560   |"), "{stdout}");
}

/// The status of `GET path` at `url`, with the token as a bearer token or without.
fn get(url: &str, path: &str, bearer: Option<&str>) -> u16 {
    let header = bearer.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    try_http_get_with(url, path, &header).map_or(0, |(status, _)| status)
}

/// The gRPC code of calls without a token to a worker's task port and Flight port.
fn calls_without_token(tasks: u16, flight: &str) -> Vec<tonic::Code> {
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(async {
        let mut codes = Vec::new();
        let tasks = format!("http://127.0.0.1:{tasks}");
        let mut executor =
            ExecutorGrpcClient::connect(tasks).await.unwrap_or_else(|e| panic!("{e}"));
        let stop =
            StopExecutorParams { executor_id: String::new(), reason: "test".into(), force: true };
        codes.push(executor.stop_executor(stop).await.err().map_or(tonic::Code::Ok, |s| s.code()));
        let channel = tonic::transport::Channel::from_shared(flight.to_string())
            .unwrap_or_else(|e| panic!("{e}"))
            .connect()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut flight = FlightServiceClient::new(channel);
        let listed = flight.list_actions(Empty {}).await;
        codes.push(listed.err().map_or(tonic::Code::Ok, |s| s.code()));
        let got = flight.do_get(Ticket { ticket: b"anything".to_vec().into() }).await;
        codes.push(got.err().map_or(tonic::Code::Ok, |s| s.code()));
        codes
    })
}

#[test]
fn a_cluster_with_a_token_serves_those_who_have_it_and_refuses_every_call_without_it() {
    let scratch = Scratch::new("cluster-token");
    scratch.write("token", format!("{TOKEN}\n"));
    let token_file = scratch.path().join("token");
    let token_file = token_file.to_str().unwrap_or_else(|| panic!("not UTF-8"));
    let with_token = ["--token-file", token_file];
    let coordinator = coordinator_with(&scratch, "127.0.0.1:0", &with_token);
    let url = coordinator.url.as_str();
    // One slot each: the two tasks of a stage run on both workers, one each.
    let mut workers = [worker_with(url, "1", &with_token), worker_with(url, "1", &with_token)];

    // With the token, a run gives what it gives in-process, and its AI calls, made on a
    // worker, are counted in its report as in-process.
    let (status, _, stderr) = churn(&scratch, "in.csv", &[]);
    assert_eq!(status, 0, "{stderr}");
    let more = [&["--cluster", url, "--analyze"], &with_token[..]].concat();
    let (status, _, stderr) = churn(&scratch, "on.csv", &more);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(scratch.read("on.csv"), scratch.read("in.csv"));
    assert!(stderr.contains("served by logreg-tabular: 1; 0 failed attempts"), "{stderr}");
    // A shuffle makes the workers fetch each other's task outputs, through each other's
    // check of the token.
    grouped(&scratch, url, &with_token);
    let peer_fetches: u64 = workers
        .iter()
        .map(|worker| {
            let header = format!("Authorization: Bearer {TOKEN}\r\n");
            let (status, metrics) = try_http_get_with(&worker.url, "/metrics", &header)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(status, 200, "{metrics}");
            super::metric(&metrics, "aigrid_peer_fetches_total")
        })
        .sum();
    assert!(peer_fetches > 0, "no worker fetched from the other");

    // Without it, or with another, the driver is refused and says why.
    let other = scratch.path().join("other");
    std::fs::write(&other, "another-token-0123456789abcdef").unwrap_or_else(|e| panic!("{e}"));
    let other = other.to_str().unwrap_or_else(|| panic!("not UTF-8"));
    for more in [vec!["--cluster", url], vec!["--cluster", url, "--token-file", other]] {
        let (status, _, stderr) = churn(&scratch, "refused.csv", &more);
        assert_eq!(status, 1, "{stderr}");
        assert!(stderr.contains("refused the call: this cluster needs its token"), "{stderr}");
    }
    let (status, _, stderr) = run(aigridc().args(["runs", "--cluster", url]));
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("needs its token"), "{stderr}");

    // The coordinator's and the workers' HTTP routes: only the probes are open.
    assert_eq!(get(url, "/healthz", None), 200);
    assert_eq!(get(url, "/readyz", None), 200);
    for server in [url, workers[0].url.as_str()] {
        assert_eq!(get(server, "/metrics", None), 401, "{server}");
        assert_eq!(get(server, "/metrics", Some(TOKEN)), 200, "{server}");
    }

    // A worker's task service and Flight service refuse calls without the token, a call to
    // stop the worker among them.
    let tasks = workers[0].banner.split("tasks on port ").nth(1).and_then(|rest| {
        rest.split(|c: char| !c.is_ascii_digit()).next().and_then(|port| port.parse().ok())
    });
    let tasks = tasks.unwrap_or_else(|| panic!("no task port in `{}`", workers[0].banner));
    let codes = calls_without_token(tasks, &workers[0].url);
    assert_eq!(codes, [tonic::Code::Unauthenticated; 3]);
    assert_eq!(workers[0].try_wait(), None, "the worker stopped");

    // A worker without the token is refused by the coordinator and stops.
    let mut stranger = worker_with(url, "1", &[]);
    let started = Instant::now();
    let exited = loop {
        match stranger.try_wait() {
            None if started.elapsed() < Duration::from_secs(30) => {
                std::thread::sleep(Duration::from_millis(50));
            }
            other => break other,
        }
    };
    assert_eq!(exited, Some(Some(2)), "a worker without the token kept running");

    // The cluster still has both of its workers and runs for those with the token.
    let (status, _, stderr) =
        churn(&scratch, "again.csv", &[&["--cluster", url], &with_token[..]].concat());
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(scratch.read("again.csv"), scratch.read("in.csv"));
    for worker in &mut workers {
        assert_eq!(worker.try_wait(), None);
    }
}

#[test]
fn a_cluster_with_tls_speaks_only_tls_and_runs_for_drivers_that_trust_it() {
    let scratch = Scratch::new("cluster-tls");
    // One self-signed certificate for 127.0.0.1: every process's own, and the one they trust.
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()])
        .unwrap_or_else(|e| panic!("{e}"));
    scratch.write("tls/ca.crt", certified.cert.pem());
    scratch.write("tls/node.crt", certified.cert.pem());
    scratch.write("tls/node.key", certified.signing_key.serialize_pem());
    scratch.write("token", TOKEN);
    let path = |name: &str| scratch.path().join(name).to_string_lossy().into_owned();
    let (tls, token) = (path("tls"), path("token"));
    let secure = ["--tls-dir", tls.as_str(), "--token-file", token.as_str()];
    let coordinator = coordinator_with(&scratch, "127.0.0.1:0", &secure);
    assert!(
        coordinator.banner.contains("listening on https://127.0.0.1:"),
        "{}",
        coordinator.banner
    );
    let url = coordinator.url.as_str();
    // One slot each, for the shuffle below.
    let workers = [worker_with(url, "1", &secure), worker_with(url, "1", &secure)];
    assert!(workers[0].banner.contains("task outputs on https://"), "{}", workers[0].banner);

    // A driver with the cluster's TLS and token gets what it gets in-process.
    let (status, _, stderr) = churn(&scratch, "in.csv", &[]);
    assert_eq!(status, 0, "{stderr}");
    let (status, _, stderr) =
        churn(&scratch, "on.csv", &[&["--cluster", url], &secure[..]].concat());
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(scratch.read("on.csv"), scratch.read("in.csv"));
    // Workers fetch from each other over TLS (the token test counts these fetches).
    grouped(&scratch, url, &secure);

    // Without TLS, a driver is told to give it, and plain HTTP gets no answer.
    let (status, _, stderr) =
        churn(&scratch, "plain.csv", &["--cluster", url, "--token-file", &token]);
    assert_eq!(status, 1, "{stderr}");
    assert!(stderr.contains("give --tls-dir"), "{stderr}");
    let plain = url.replace("https://", "http://");
    assert_ne!(get(&plain, "/healthz", None), 200);
}
