//! End-to-end tests of the discovery server and `aigridc discovery`: real server processes on
//! 127.0.0.1, registration, queries, persistence across a restart, leases, the token, TLS,
//! hostile requests, and builds that bind through a server.

use std::path::Path;
use std::time::{Duration, Instant};

mod support;

use support::{DiscoveryServer, Scratch, aigridc, run};

fn examples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// Runs `aigridc discovery ARGS --discovery URL`: (status, stdout, stderr).
fn discovery(server: &DiscoveryServer, args: &[&str]) -> (i32, String, String) {
    run(aigridc().arg("discovery").args(args).args(["--discovery", &server.url]))
}

fn ids(stdout: &str) -> Vec<String> {
    let document: serde_json::Value =
        serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    document["cards"]
        .as_array()
        .map(|cards| cards.iter().filter_map(|c| c["id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

const CARD: &str = r#"
id: echo
name: Echo
version: 1.0.0
owner: tests
task: echo
signature: "(text: list<utf8>) -> list<utf8>"
attributes: { dims: 8 }
endpoint: "grpc://127.0.0.1:9"
"#;

#[test]
fn cards_registered_are_queried_and_survive_a_restart() {
    let scratch = Scratch::new("discovery-restart");
    let data = scratch.path().join("data");
    let data = data.to_string_lossy();
    let cards = examples().join("../discovery/tests/cards");
    let mut server = DiscoveryServer::start(&["--data", &data]);
    let (status, _, stderr) = discovery(&server, &["register", &cards.to_string_lossy()]);
    assert_eq!(status, 0, "{stderr}");
    assert!(stderr.contains("registered 12 cards"), "{stderr}");

    let predicate = r#"task == "text-embedding" && dims == 384"#;
    let (status, stdout, stderr) =
        discovery(&server, &["query", predicate, "--explain", "--format", "json"]);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(ids(&stdout), ["minilm-l6-v2.cpu", "minilm-l6-v2.gpu.eu-west"]);
    let document: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_default();
    assert_eq!(document["offered"], 12);
    assert_eq!(document["funnel"][1]["why"], "they have 768");

    // A crash loses nothing that was acknowledged.
    server.kill();
    let server = DiscoveryServer::start(&["--data", &data]);
    let (status, stdout, _) = discovery(&server, &["ls"]);
    assert_eq!(status, 0);
    assert!(stdout.ends_with("12 cards\n"), "{stdout}");
    let (status, _, stderr) = discovery(&server, &["remove", "minilm-l6-v2.cpu", "not-there"]);
    assert_eq!(status, 1, "one id was not registered");
    assert!(stderr.contains("removed 1 of 2"), "{stderr}");
    let (status, stdout, _) = discovery(&server, &["query", predicate]);
    assert_eq!(status, 0);
    assert!(stdout.contains("1 of 11 cards match"), "{stdout}");
    // Nothing matches: exit 1, as grep.
    let (status, stdout, _) = discovery(&server, &["query", "task == \"nothing\""]);
    assert_eq!((status, stdout.as_str()), (1, "0 of 11 cards match\n"));
}

#[test]
fn builds_bind_through_a_server_as_through_a_registry() {
    let scratch = Scratch::new("discovery-build");
    let data = scratch.path().join("data");
    let server = DiscoveryServer::start(&["--data", &data.to_string_lossy()]);
    // The server gets the cards the examples' embedded discovery offers: the built-in AIs'.
    let (status, listed, stderr) =
        run(aigridc().args(["discovery", "ls", "--format", "json"]).current_dir(examples()));
    assert_eq!(status, 0, "{stderr}");
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap_or_default();
    let offered = listed["cards"].as_array().map_or(0, Vec::len);
    scratch.write("builtins.json", listed["cards"].to_string());
    let cards = scratch.path().join("builtins.json");
    let (status, _, stderr) = discovery(&server, &["register", &cards.to_string_lossy()]);
    assert_eq!(status, 0, "{stderr}");
    // An example whose AIs need no model, so that it binds whatever the machine has fetched.
    let example = examples().join("churn_features.ag");
    let from_registry = run(aigridc().arg("build").arg(&example));
    let from_server = run(aigridc().arg("build").arg(&example).args(["--discovery", &server.url]));
    assert_eq!(from_registry.0, 0, "{}", from_registry.2);
    assert_eq!(from_server, from_registry);
    assert!(from_server.1.contains("\"primary\""), "the plan has bindings");

    // The pins of examples/aigrid.lock are checked against the server: a pinned AI that is
    // gone is named.
    let (status, _, stderr) = discovery(&server, &["remove", "logreg-tabular"]);
    assert_eq!(status, 0, "{stderr}");
    let (status, _, stderr) =
        run(aigridc().arg("build").arg(&example).args(["--discovery", &server.url]));
    assert_eq!(status, 1, "{stderr}");
    assert!(stderr.contains("AG0603"), "{stderr}");
    assert!(stderr.contains("`logreg-tabular` 1.0.0 is gone from discovery"), "{stderr}");

    // Unpinned, the funnel of a failed binding comes from the server.
    let scratch_example = scratch.path().join("churn_features.ag");
    let text = std::fs::read_to_string(&example).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&scratch_example, text).unwrap_or_else(|e| panic!("{e}"));
    let (status, _, stderr) =
        run(aigridc().arg("build").arg(&scratch_example).args(["--discovery", &server.url]));
    assert_eq!(status, 1, "{stderr}");
    assert!(stderr.contains("AG0601"), "{stderr}");
    assert!(stderr.contains(&format!("{} cards offered", offered - 1)), "{stderr}");

    // An unreachable server is a tool error, not a binding failure.
    let (status, stdout, stderr) =
        run(aigridc().arg("build").arg(&example).args(["--discovery", "http://127.0.0.1:1"]));
    assert_eq!(status, 2);
    assert!(stdout.is_empty());
    assert!(stderr.contains("cannot reach discovery at http://127.0.0.1:1"), "{stderr}");
    assert!(!stderr.contains("AG0601"), "{stderr}");
}

#[test]
fn writes_need_the_token_when_the_server_has_one() {
    let scratch = Scratch::new("discovery-token");
    scratch.write("token", "s3cret-token\n");
    scratch.write("wrong", "not-it\n");
    scratch.write("echo.yaml", CARD);
    let token = scratch.path().join("token");
    let server = DiscoveryServer::start(&[
        "--data",
        &scratch.path().join("data").to_string_lossy(),
        "--token-file",
        &token.to_string_lossy(),
    ]);
    let card = scratch.path().join("echo.yaml");
    let card = card.to_string_lossy();
    let (status, _, stderr) = discovery(&server, &["register", &card]);
    assert_eq!(status, 2);
    assert!(stderr.contains("needs a bearer token"), "{stderr}");
    let wrong = scratch.path().join("wrong");
    let (status, _, stderr) =
        discovery(&server, &["register", &card, "--token-file", &wrong.to_string_lossy()]);
    assert_eq!(status, 2);
    assert!(stderr.contains("token is wrong"), "{stderr}");
    let (status, _, stderr) =
        discovery(&server, &["register", &card, "--token-file", &token.to_string_lossy()]);
    assert_eq!(status, 0, "{stderr}");
    // Reads are open.
    let (status, stdout, _) = discovery(&server, &["ls", "--format", "json"]);
    assert_eq!((status, ids(&stdout)), (0, vec!["echo".to_owned()]));
    let (status, _, _) = discovery(&server, &["remove", "echo"]);
    assert_eq!(status, 2, "removing needs the token too");
}

#[test]
fn leases_that_run_out_drop_cards() {
    let scratch = Scratch::new("discovery-lease");
    scratch.write("echo.yaml", CARD);
    scratch.write("forever.yaml", CARD.replace("id: echo", "id: forever"));
    let server =
        DiscoveryServer::start(&["--data", &scratch.path().join("data").to_string_lossy()]);
    let path = |name: &str| scratch.path().join(name).to_string_lossy().into_owned();
    let (status, _, stderr) =
        discovery(&server, &["register", &path("echo.yaml"), "--lease", "1s"]);
    assert_eq!(status, 0, "{stderr}");
    let (status, _, _) = discovery(&server, &["register", &path("forever.yaml")]);
    assert_eq!(status, 0);
    let (_, stdout, _) = discovery(&server, &["ls", "--format", "json"]);
    assert_eq!(ids(&stdout), ["echo", "forever"]);
    let document: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_default();
    assert_eq!(document["cards"][0]["health"]["status"], "up", "a leased card is up");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, stdout, _) = discovery(&server, &["ls", "--format", "json"]);
        if ids(&stdout) == ["forever"] {
            break;
        }
        assert!(Instant::now() < deadline, "the lease never ran out: {stdout}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, _, stderr) =
        discovery(&server, &["register", &path("echo.yaml"), "--lease", "1ms"]);
    assert_eq!(status, 2);
    assert!(stderr.contains("a lease is 500 ms to"), "{stderr}");
}

#[test]
fn hostile_requests_get_clear_errors_and_the_server_stays_up() {
    let scratch = Scratch::new("discovery-hostile");
    let server = DiscoveryServer::start(&[
        "--data",
        &scratch.path().join("data").to_string_lossy(),
        "--max-cards",
        "3",
    ]);
    let path = |name: &str| scratch.path().join(name).to_string_lossy().into_owned();
    // A card with a field the schema does not have.
    scratch.write("unknown.yaml", format!("{CARD}flavour: mint\n"));
    let (status, _, stderr) = discovery(&server, &["register", &path("unknown.yaml")]);
    assert_eq!(status, 2);
    assert!(stderr.contains("unknown field `flavour`"), "{stderr}");
    // A huge card.
    let huge = CARD.replace(
        "owner: tests",
        &format!("owner: tests\nlabels: {{ junk: \"{}\" }}", "x".repeat(100_000)),
    );
    scratch.write("huge.yaml", huge);
    let (status, _, stderr) = discovery(&server, &["register", &path("huge.yaml")]);
    assert_eq!(status, 2);
    assert!(stderr.contains("a card is at most 65536 bytes"), "{stderr}");
    // Bad predicates.
    for predicate in ["task ==", "task > 3 && (", &"x".repeat(5000)] {
        let (status, _, stderr) = discovery(&server, &["query", predicate]);
        assert_eq!(status, 2, "{predicate}");
        assert!(stderr.contains("predicate"), "{stderr}");
    }
    // A flood of registrations stops at the registry's limit.
    let list: String = (0..5).map(|i| format!("- {}\n", serde_json::json!({
        "id": format!("c{i}"), "name": "c", "version": "1.0.0", "owner": "o", "task": "t",
        "signature": "(x: i64) -> i64", "endpoint": "builtin:c"
    }))).collect();
    scratch.write("five.yaml", list);
    let (status, _, stderr) = discovery(&server, &["register", &path("five.yaml")]);
    assert_eq!(status, 2);
    assert!(stderr.contains("its limit is 3"), "{stderr}");
    // Nothing of the refused requests was kept, and the server still answers.
    let (status, stdout, _) = discovery(&server, &["ls"]);
    assert_eq!((status, stdout.as_str()), (0, "0 cards\n"));
}

#[test]
fn tls_servers_are_reached_with_their_ca() {
    let scratch = Scratch::new("discovery-tls");
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()])
        .unwrap_or_else(|e| panic!("{e}"));
    scratch.write("cert.pem", certified.cert.pem());
    scratch.write("key.pem", certified.signing_key.serialize_pem());
    scratch.write("echo.yaml", CARD);
    let path = |name: &str| scratch.path().join(name).to_string_lossy().into_owned();
    let server = DiscoveryServer::start(&[
        "--data",
        &path("data"),
        "--tls-cert",
        &path("cert.pem"),
        "--tls-key",
        &path("key.pem"),
    ]);
    assert!(server.url.starts_with("https://127.0.0.1:"), "{}", server.url);
    let (status, _, stderr) =
        discovery(&server, &["register", &path("echo.yaml"), "--discovery-ca", &path("cert.pem")]);
    assert_eq!(status, 0, "{stderr}");
    let (status, stdout, _) =
        discovery(&server, &["ls", "--format", "json", "--discovery-ca", &path("cert.pem")]);
    assert_eq!((status, ids(&stdout)), (0, vec!["echo".to_owned()]));
    // Without the CA the certificate is not trusted; in the clear the server does not answer.
    let (status, _, stderr) = discovery(&server, &["ls"]);
    assert_eq!(status, 2, "{stderr}");
    let plain = server.url.replace("https://", "http://");
    let (status, _, _) = run(aigridc().args(["discovery", "ls", "--discovery", &plain]));
    assert_eq!(status, 2);
}

#[cfg(unix)]
#[test]
fn a_server_with_open_watches_stops_on_sigterm() {
    let scratch = Scratch::new("discovery-stop");
    let mut server =
        DiscoveryServer::start(&["--data", &scratch.path().join("data").to_string_lossy()]);
    let mut watch = aigridc()
        .args(["discovery", "watch", "--discovery", &server.url])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start a watch: {e}"));
    std::thread::sleep(Duration::from_millis(500));
    let (code, _, _) =
        run(std::process::Command::new("kill").args(["-TERM", &server.pid().to_string()]));
    assert_eq!(code, 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.try_wait() {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not stop within 10 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status, Some(0), "a clean stop");
    // The watch saw its server go and ended too.
    let deadline = Instant::now() + Duration::from_secs(10);
    while watch.try_wait().ok().flatten().is_none() {
        assert!(Instant::now() < deadline, "the watch did not end");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn large_registrations_are_sent_in_requests_the_server_takes() {
    let scratch = Scratch::new("discovery-batches");
    let server =
        DiscoveryServer::start(&["--data", &scratch.path().join("data").to_string_lossy()]);
    // 1,100 cards of about 17 KiB: a thousand of them would be more than the 16 MiB a request
    // may hold.
    let padding = "x".repeat(17_000);
    for i in 0..1_100 {
        let card = CARD.replace("id: echo", &format!("id: echo-{i:04}")).replace(
            "owner: tests",
            &format!("owner: tests\nlabels: {{ padding: \"{padding}\" }}"),
        );
        scratch.write(&format!("cards/{i:04}.yaml"), card);
    }
    let cards = scratch.path().join("cards");
    let (status, _, stderr) = discovery(&server, &["register", &cards.to_string_lossy()]);
    assert_eq!(status, 0, "{stderr}");
    assert!(stderr.contains("registered 1100 cards"), "{stderr}");
    let (_, stdout, _) = discovery(&server, &["query", "task == \"echo\""]);
    assert!(
        stdout.ends_with("1100 of 1100 cards match\n"),
        "{}",
        &stdout[stdout.len().saturating_sub(100)..]
    );
}
