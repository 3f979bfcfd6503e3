//! The server and client in one process, on 127.0.0.1: heartbeats renew leases, watches see
//! every change to what they watch, and malformed requests sent past the client get clear
//! errors.

use std::sync::Arc;
use std::time::Duration;

use aigrid_discovery::Card;
use aigrid_discovery_service::proto::discovery_client::DiscoveryClient;
use aigrid_discovery_service::proto::{QueryRequest, RegisterRequest};
use aigrid_discovery_service::{Change, Client, ClientOptions, Limits, ServerConfig, Store};
use tokio_stream::StreamExt as _;

fn card(id: &str, task: &str) -> Card {
    Card::from_json(
        &serde_json::json!({
            "id": id, "name": id, "version": "1.0.0", "owner": "tests", "task": task,
            "signature": "(text: list<utf8>) -> list<utf8>", "endpoint": "builtin:echo",
            "attributes": { "dims": 8 }
        })
        .to_string(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A server on a free port; its URL.
async fn start(limits: Limits) -> String {
    let store = Arc::new(Store::in_memory(limits).unwrap_or_else(|e| panic!("{e}")));
    let listener =
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(aigrid_discovery_service::serve(
        store,
        listener,
        ServerConfig::default(),
        std::future::pending(),
    ));
    format!("http://{address}")
}

async fn client(url: &str) -> Client {
    Client::connect(url, ClientOptions::default()).await.unwrap_or_else(|e| panic!("{e}"))
}

fn short_leases() -> Limits {
    Limits {
        lease_range: (Duration::from_millis(50), Duration::from_secs(60)),
        ..Limits::default()
    }
}

#[tokio::test]
async fn heartbeats_keep_leased_cards_alive() {
    let url = start(short_leases()).await;
    let mut client = client(&url).await;
    let ids = client
        .register(
            &[card("kept", "echo"), card("dropped", "echo")],
            Some(Duration::from_millis(300)),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ids, ["kept", "dropped"]);
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let unknown = client.heartbeat(&["kept".into()]).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(unknown.is_empty());
    }
    let answer = client.query("", false, 0).await.unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = answer.cards.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["kept"], "800 ms of heartbeats kept one card, the other's lease ran out");
    assert_eq!(answer.cards[0].health.status, "up");
    let unknown = client.heartbeat(&["dropped".into()]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(unknown, ["dropped"], "an expired card must register again");
}

#[tokio::test]
async fn watches_see_the_matching_cards_then_each_change() {
    let url = start(short_leases()).await;
    let mut writer = client(&url).await;
    writer.register(&[card("a", "echo"), card("other", "other")], None).await.unwrap_or_default();
    let mut watcher = client(&url).await;
    let mut changes = watcher.watch("task == \"echo\"").await.unwrap_or_else(|e| panic!("{e}"));
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(5), changes.next())
            .await
            .unwrap_or_else(|_| panic!("no change within 5 s"))
            .unwrap_or_else(|| panic!("the watch ended"))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(next().await, Change::Registered(Box::new(card("a", "echo"))));
    writer
        .register(&[card("b", "echo")], Some(Duration::from_millis(100)))
        .await
        .unwrap_or_default();
    writer.register(&[card("ignored", "other")], None).await.unwrap_or_default();
    match next().await {
        Change::Registered(card) => assert_eq!(card.id, "b"),
        other => panic!("expected b registered, got {other:?}"),
    }
    writer.deregister(&["a".into(), "other".into()]).await.unwrap_or_default();
    assert_eq!(next().await, Change::Removed("a".into()), "`other` is not watched");
    assert_eq!(next().await, Change::Expired("b".into()));
    // Replacing a card so that it no longer matches removes it from the watcher's view.
    writer.register(&[card("c", "echo")], None).await.unwrap_or_default();
    assert!(matches!(next().await, Change::Registered(_)));
    writer.register(&[card("c", "moved")], None).await.unwrap_or_default();
    assert_eq!(next().await, Change::Removed("c".into()));
}

#[tokio::test]
async fn malformed_requests_get_invalid_argument() {
    let url = start(Limits { max_batch: 10, ..Limits::default() }).await;
    let mut raw = DiscoveryClient::connect(url.clone()).await.unwrap_or_else(|e| panic!("{e}"));
    let refuse = async |raw: &mut DiscoveryClient<_>, cards: Vec<String>| {
        let status = raw
            .register(RegisterRequest { cards, lease_ms: 0 })
            .await
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        status.message().to_owned()
    };
    assert!(refuse(&mut raw, vec!["{not json".into()]).await.contains("card 0 is invalid"));
    assert!(refuse(&mut raw, vec!["[]".into()]).await.contains("card 0 is invalid"));
    let good = card("x", "t").to_json();
    assert!(refuse(&mut raw, vec![good.clone(), good.clone()]).await.contains("twice"));
    assert!(refuse(&mut raw, vec![good; 11]).await.contains("the limit is 10"));
    let status = raw
        .query(QueryRequest { predicate: "dims ==".into(), explain: false, limit: 0 })
        .await
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    // A message over 16 MiB is refused by the transport, and the server keeps serving.
    let status = raw
        .register(RegisterRequest { cards: vec!["x".repeat(17 * 1024 * 1024)], lease_ms: 0 })
        .await
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(status.code(), tonic::Code::OutOfRange, "{status:?}");
    let mut client = client(&url).await;
    assert_eq!(client.query("", false, 0).await.map(|a| a.offered).ok(), Some(0));
}

#[tokio::test]
async fn answers_are_cut_at_the_limit_and_say_how_many_matched() {
    let url = start(Limits { max_results: 5, ..Limits::default() }).await;
    let mut client = client(&url).await;
    let cards: Vec<Card> = (0..12).map(|i| card(&format!("c{i:02}"), "t")).collect();
    client.register(&cards, None).await.unwrap_or_else(|e| panic!("{e}"));
    let answer = client.query("task == \"t\"", false, 0).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((answer.cards.len(), answer.total, answer.offered), (5, 12, 12));
    assert_eq!(answer.cards[0].id, "c00", "answers are ordered by id");
    let answer = client.query("", false, 3).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer.cards.len(), 3);
}
