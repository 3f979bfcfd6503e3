//! The store's column-at-a-time queries give exactly the answers of the predicate evaluated
//! card by card (`aigrid_discovery::query`), errors included, after registrations,
//! replacements and removals have reused rows.

use aigrid_discovery::{Card, Predicate};
use aigrid_discovery_service::{Limits, Store};

fn card(i: usize) -> Card {
    let mut attributes = serde_json::Map::new();
    if !i.is_multiple_of(3) {
        attributes.insert("dims".into(), [384, 768, 1024][i % 3].into());
    }
    if i % 4 != 1 {
        attributes.insert("latency_ms".into(), ((i * 37) % 50).into());
    }
    if i % 5 != 2 {
        attributes.insert("gpu".into(), i.is_multiple_of(2).into());
    }
    if i % 7 == 3 {
        // An attribute whose kind differs between cards.
        attributes.insert("region".into(), 7.into());
    } else {
        attributes.insert("region".into(), ["eu", "us", "ap"][i % 3].into());
    }
    let owner = ["a", "b"][i % 2];
    let task = ["embed", "classify", "summarize"][i % 3];
    let json = serde_json::json!({
        "id": format!("c{i:03}"), "name": format!("card {i}"), "version": "1.0.0",
        "owner": owner, "task": task,
        "signature": "(x: i64) -> i64", "endpoint": "builtin:x", "attributes": attributes,
    });
    Card::from_json(&json.to_string()).unwrap_or_else(|e| panic!("{e}"))
}

const PREDICATES: &[&str] = &[
    "task == \"embed\"",
    "dims == 384",
    "384 == dims",
    "dims != 384",
    "latency_ms < 10 && gpu",
    "10 > latency_ms",
    "latency_ms >= 49",
    "task == \"classify\" && !gpu",
    "owner == \"a\" || dims > 500",
    "region in [\"eu\", \"ap\"]",
    "task == \"embed\" && region == \"eu\"",
    "id >= \"c100\" && latency_ms <= 3",
    "name == \"card 7\"",
    "gpu == true && task != \"summarize\"",
    "nothing == 1",
    "!nothing",
    // Errors, for the cards that reach them.
    "task > 3",
    "region == \"eu\"",
    "task == \"summarize\" && gpu < 1",
    "owner == \"zzz\" && dims == \"x\"",
    // A clause before the task's fails on cards of other tasks: no narrowing may skip it.
    "region > \"a\" && task == \"classify\"",
    "task == \"embed\" && region > \"a\"",
    // Errors name the operands in the order written.
    "\"eu\" == region",
    "2 > latency_ms && 384 != dims",
];

fn check(store: &Store, cards: &[Card]) {
    for text in PREDICATES {
        let predicate = Predicate::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let expected = aigrid_discovery::query(Some(&predicate), cards).map(|m| {
            let mut ids: Vec<String> = m.cards.into_iter().map(|c| c.id).collect();
            ids.sort();
            ids
        });
        let got = store
            .query(Some(&predicate), false, 0)
            .map(|m| m.cards.iter().map(|e| e.card.id.clone()).collect::<Vec<_>>())
            .map_err(|e| e.to_string());
        match (expected, got) {
            (Ok(expected), Ok(got)) => assert_eq!(got, expected, "{text}"),
            (Err(expected), Err(got)) => assert_eq!(got, expected.reason, "{text}"),
            (expected, got) => panic!("{text}: expected {expected:?}, got {got:?}"),
        }
        // The funnel through the columns is the funnel card by card.
        let expected =
            aigrid_discovery::query(Some(&predicate), cards).map(|m| (m.offered, m.stages));
        let got = store
            .query(Some(&predicate), true, 0)
            .map(|m| (m.offered, m.stages))
            .map_err(|e| e.to_string());
        match (expected, got) {
            (Ok(expected), Ok(got)) => assert_eq!(got, expected, "funnel of {text}"),
            (Err(expected), Err(got)) => assert_eq!(got, expected.reason, "funnel of {text}"),
            (expected, got) => panic!("funnel of {text}: expected {expected:?}, got {got:?}"),
        }
    }
}

#[test]
fn column_queries_agree_with_card_by_card_evaluation() {
    let store = Store::in_memory(Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut cards: Vec<Card> = (0..300).map(card).collect();
    let documents: Vec<String> = cards.iter().map(Card::to_json).collect();
    for chunk in documents.chunks(100) {
        store.register(chunk, None).unwrap_or_else(|e| panic!("{e}"));
    }
    check(&store, &cards);
    // Remove some, replace others (a replaced card changes task and attributes), add more:
    // rows are freed and reused.
    let removed: Vec<String> = (0..300).step_by(4).map(|i| format!("c{i:03}")).collect();
    store.deregister(&removed).unwrap_or_else(|e| panic!("{e}"));
    cards.retain(|c| !removed.contains(&c.id));
    let replaced: Vec<Card> = (1..300)
        .step_by(10)
        .map(|i| {
            let mut card = card(i + 1);
            card.id = format!("c{i:03}");
            card
        })
        .collect();
    let added: Vec<Card> = (300..360).map(card).collect();
    let documents: Vec<String> = replaced.iter().chain(&added).map(Card::to_json).collect();
    store.register(&documents, None).unwrap_or_else(|e| panic!("{e}"));
    for card in replaced {
        if let Some(old) = cards.iter_mut().find(|c| c.id == card.id) {
            *old = card;
        }
    }
    cards.extend(added);
    cards.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(store.len(), cards.len());
    check(&store, &cards);
}

mod hostile {
    use aigrid_discovery::Predicate;
    use aigrid_discovery_service::{Limits, Store};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Arbitrary documents and predicates are refused or accepted, never a panic; the store
        /// keeps answering.
        #[test]
        fn arbitrary_input_never_panics(document in ".{0,300}", predicate in ".{0,120}") {
            let store = Store::in_memory(Limits::default()).unwrap_or_else(|e| panic!("{e}"));
            let _ = store.register(&[document], None);
            if let Ok(predicate) = Predicate::parse(&predicate) {
                let _ = store.query(Some(&predicate), false, 0);
                let _ = store.query(Some(&predicate), true, 0);
            }
            prop_assert!(store.query(None, false, 0).is_ok());
        }

        /// Predicates built from the language's pieces: parsing and evaluation never panic.
        #[test]
        fn generated_predicates_never_panic(
            parts in prop::collection::vec(prop::sample::select(vec![
                "dims", "task", "gpu", "==", "!=", "<", ">=", "&&", "||", "!", "(", ")", "384",
                "\"x\"", "true", "in", "[", "]", ",", "-", "1.5", "id",
            ]), 1..12)
        ) {
            let text = parts.join(" ");
            let store = Store::in_memory(Limits::default()).unwrap_or_else(|e| panic!("{e}"));
            let card = r#"{"id":"a","name":"a","version":"1.0.0","owner":"o","task":"x","signature":"(x: i64) -> i64","endpoint":"builtin:a","attributes":{"dims":384,"gpu":true}}"#;
            store.register(&[card.to_owned()], None).unwrap_or_else(|e| panic!("{e}"));
            if let Ok(predicate) = Predicate::parse(&text) {
                let _ = store.query(Some(&predicate), false, 0);
                let _ = store.query(Some(&predicate), true, 0);
            }
        }
    }
}

#[test]
fn attribute_names_are_bounded() {
    let limits = Limits { max_attribute_names: 20, ..Limits::default() };
    let store = Store::in_memory(limits).unwrap_or_else(|e| panic!("{e}"));
    let card = |id: &str, prefix: &str| {
        let attributes: serde_json::Map<String, serde_json::Value> =
            (0..10).map(|i| (format!("{prefix}{i}"), i.into())).collect();
        serde_json::json!({
            "id": id, "name": id, "version": "1.0.0", "owner": "o", "task": "t",
            "signature": "(x: i64) -> i64", "endpoint": "builtin:x", "attributes": attributes,
        })
        .to_string()
    };
    store.register(&[card("a", "x")], None).unwrap_or_else(|e| panic!("{e}"));
    store.register(&[card("b", "x")], None).unwrap_or_else(|e| panic!("{e}"));
    let error = store.register(&[card("c", "y")], None).err().map(|e| e.to_string());
    assert_eq!(error.as_deref(), Some("the registry knows 15 attribute names, its limit is 20"));
}
