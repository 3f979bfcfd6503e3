//! Discovery over 100,000 registered cards (1,000 tasks of 100 cards): query latency in
//! process and through the gRPC server on loopback, and registration throughput.
//!
//! `cargo bench -p aigrid-discovery-service` first prints p50/p99 over 2,000 queries of each
//! kind (divan reports medians and means, not tails), then runs divan's benchmarks.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use aigrid_discovery::{Card, Predicate};
use aigrid_discovery_service::{Client, ClientOptions, Limits, ServerConfig, Store};

const CARDS: usize = 100_000;
const TASKS: usize = 1_000;
const REGIONS: [&str; 3] = ["eu-west", "us-east", "ap-south"];

/// A selective query: one task, then two attribute clauses (~25 of 100 cards match).
const SELECTIVE: &str = r#"task == "task-0420" && dims == 384 && latency_ms < 50"#;
/// A query without a task: every card is looked at (~1,000 match).
const SCAN: &str = "dims == 384 && latency_ms < 2 && gpu";

fn card(i: usize) -> Card {
    let json = serde_json::json!({
        "id": format!("ai-{i:06}"),
        "name": format!("AI {i}"),
        "version": "1.0.0",
        "owner": format!("owner-{}", i % 97),
        "task": format!("task-{:04}", i % TASKS),
        "signature": "(text: list<utf8>) -> tensor<f32, [N, 384]>",
        "attributes": {
            "dims": if i.is_multiple_of(2) { 384 } else { 768 },
            "latency_ms": ((i / TASKS * 37 + i) % 100) as f64,
            "gpu": i.is_multiple_of(5),
            "region": REGIONS[i % 3],
        },
        "endpoint": format!("grpc://10.0.{}.{}:50051", i / 250 % 250, i % 250),
    });
    Card::from_json(&json.to_string()).unwrap()
}

fn documents() -> Vec<String> {
    (0..CARDS).map(|i| card(i).to_json()).collect()
}

fn filled_store() -> Arc<Store> {
    let store = Store::in_memory(Limits::default()).unwrap();
    for chunk in documents().chunks(1_000) {
        store.register(chunk, None).unwrap();
    }
    Arc::new(store)
}

struct Served {
    runtime: tokio::runtime::Runtime,
    client: Client,
    store: Arc<Store>,
}

/// One store, served on 127.0.0.1, shared by the benchmarks.
fn served() -> &'static std::sync::Mutex<Served> {
    static SERVED: OnceLock<std::sync::Mutex<Served>> = OnceLock::new();
    SERVED.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        let store = filled_store();
        let client = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            tokio::spawn(aigrid_discovery_service::serve(
                store.clone(),
                listener,
                ServerConfig::default(),
                std::future::pending(),
            ));
            Client::connect(&url, ClientOptions::default()).await.unwrap()
        });
        std::sync::Mutex::new(Served { runtime, client, store })
    })
}

fn percentiles(name: &str, mut run: impl FnMut() -> usize) {
    for _ in 0..100 {
        run();
    }
    let mut times: Vec<Duration> = (0..2_000)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(run());
            start.elapsed()
        })
        .collect();
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "{name:<32} matches {:>5}  p50 {:>9.3?}  p99 {:>9.3?}  max {:>9.3?}",
        run(),
        at(0.50),
        at(0.99),
        times[times.len() - 1]
    );
}

fn report() {
    let mut served = served().lock().unwrap();
    let Served { runtime, client, store } = &mut *served;
    for (kind, text) in [("selective", SELECTIVE), ("scan", SCAN)] {
        let predicate = Predicate::parse(text).unwrap();
        percentiles(&format!("in-process {kind}"), || {
            store.query(Some(&predicate), false, 0).unwrap().cards.len()
        });
        percentiles(&format!("gRPC loopback {kind}"), || {
            runtime.block_on(client.query(text, false, 0)).unwrap().cards.len()
        });
    }
    // What a build asks: the matches and the funnel over every card.
    percentiles("gRPC loopback selective, funnel", || {
        runtime.block_on(client.query(SELECTIVE, true, 0)).unwrap().cards.len()
    });
    // Registration: 100,000 cards in requests of 1,000 to a store on disk (durable commits).
    let dir = std::env::temp_dir().join(format!("aigrid-bench-register-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let disk = Arc::new(Store::open(&dir, Limits::default()).unwrap());
    let documents = documents();
    let cards: Vec<Card> = documents.iter().map(|d| Card::from_json(d).unwrap()).collect();
    let registering = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    registering.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(aigrid_discovery_service::serve(
            disk,
            listener,
            ServerConfig::default(),
            std::future::pending(),
        ));
        let mut client = Client::connect(&url, ClientOptions::default()).await.unwrap();
        let start = Instant::now();
        for chunk in cards.chunks(1_000) {
            client.register(chunk, None).await.unwrap();
        }
        let took = start.elapsed();
        println!(
            "register over gRPC to disk       {CARDS} cards in {took:.2?}: {:.0} cards/s",
            CARDS as f64 / took.as_secs_f64()
        );
    });
    // Stops the server, closing the database.
    drop(registering);
    let start = Instant::now();
    drop(Store::open(&dir, Limits::default()).unwrap());
    println!("reopen a registry of {CARDS} cards {:.2?}", start.elapsed());
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    report();
    divan::main();
}

#[divan::bench(args = [SELECTIVE, SCAN])]
fn query_in_process(bencher: divan::Bencher, text: &str) {
    let store = served().lock().unwrap().store.clone();
    let predicate = Predicate::parse(text).unwrap();
    bencher.bench(|| store.query(Some(&predicate), false, 0).unwrap().cards.len());
}

#[divan::bench(args = [SELECTIVE, SCAN])]
fn query_grpc(bencher: divan::Bencher, text: &str) {
    let mut served = served().lock().unwrap();
    let Served { runtime, client, .. } = &mut *served;
    bencher.bench_local(|| runtime.block_on(client.query(text, false, 0)).unwrap().cards.len());
}
