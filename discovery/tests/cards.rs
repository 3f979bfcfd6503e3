//! Cards: the sample cards (`tests/cards/`: the example cards and cards like the built-in AIs')
//! validate, bad cards are rejected with the field and the reason, and
//! predicates, rankings and the funnel behave as spec/discovery.md says.

// The sample cards are read from disk.
#![allow(clippy::disallowed_methods)]

use aigrid_discovery::{Card, Predicate, funnel, query, rank};
use aigrid_lang::ast::{ItemKind, PreferKey};

fn example_cards() -> Vec<Card> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cards");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            Card::from_yaml(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .collect()
}

/// The `where`, `prefer` and source text of `ai x() -> i64 where ... prefer ...`.
fn requirement(clauses: &str) -> (aigrid_lang::ast::AiDecl, String) {
    let text = format!("ai x(t: list<utf8>) -> i64\n    {clauses}\n");
    let parsed = aigrid_lang::parse(aigrid_lang::FileId(0), &text);
    assert!(parsed.is_ok(), "{:?}", parsed.diagnostics);
    let decl = parsed.module.items.into_iter().find_map(|i| match i.kind {
        ItemKind::Ai(ai) => Some(ai),
        _ => None,
    });
    (decl.unwrap_or_else(|| panic!("no ai in {text}")), text)
}

fn prefer(keys: &[PreferKey]) -> Vec<(String, bool)> {
    keys.iter()
        .map(|k| {
            let descending =
                k.order.as_ref().is_some_and(|o| o.node == aigrid_lang::ast::SortOrder::Desc);
            (k.key.name.to_string(), descending)
        })
        .collect()
}

#[test]
fn example_cards_validate_and_are_unique() {
    let cards = example_cards();
    assert!(cards.len() >= 8, "expected the example cards, found {}", cards.len());
    let mut ids: Vec<&str> = cards.iter().map(|c| c.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), cards.len(), "card ids are unique");
}

const GOOD: &str = r#"
id: minilm-cpu
name: MiniLM
version: 1.0.0
owner: aigrid
task: text-embedding
signature: "(text: list<utf8>) -> tensor<f32, [N, 384]>"
attributes: { dims: 384, gpu: false, latency_ms: 12.5 }
endpoint: "builtin:minilm"
"#;

#[test]
fn bad_cards_name_the_field_and_the_reason() {
    assert!(Card::from_yaml(GOOD).is_ok());
    let cases: &[(&str, &str, &str, &str)] = &[
        ("id: minilm-cpu", "id: MiniLM CPU", "id", "lower-case letters"),
        ("version: 1.0.0", "version: one", "version", "not a semantic version"),
        ("task: text-embedding", "task: \"\"", "task", "1 to 256 characters"),
        ("-> tensor<f32, [N, 384]>", "-> tensor<f32, [N, 384]", "signature", ".ag syntax"),
        ("endpoint: \"builtin:minilm\"", "endpoint: http://x:80", "endpoint", "Arrow Flight URL"),
        ("endpoint: \"builtin:minilm\"", "endpoint: grpc://host", "endpoint", "a port"),
        ("dims: 384", "dims: 384, task: other", "attributes.task", "field of the card"),
        ("dims: 384", "\"two words\": 1", "attributes.two words", "a word"),
        ("owner: aigrid", "owner: aigrid\nflavour: mint", "flavour", "unknown field"),
        (
            "owner: aigrid",
            "owner: aigrid\nhealth: { status: sleepy }",
            "health.status",
            "`up`, `down`",
        ),
        (
            "owner: aigrid",
            "owner: aigrid\nhealth: { status: up, last_heartbeat: yesterday }",
            "health.last_heartbeat",
            "RFC 3339",
        ),
    ];
    for (from, to, field, reason) in cases {
        let text = GOOD.replacen(from, to, 1);
        assert_ne!(text, GOOD, "the case `{to}` changes nothing");
        let error = Card::from_yaml(&text).err().unwrap_or_else(|| panic!("`{to}` was accepted"));
        assert_eq!(&error.field, field, "{to}: {error}");
        assert!(error.reason.contains(reason), "{to}: {error}");
    }
    let many: String = (0..300).map(|i| format!("a{i}: {i}, ")).collect();
    let error = Card::from_yaml(&GOOD.replace("dims: 384,", &many)).err().map(|e| e.to_string());
    assert_eq!(error.as_deref(), Some("field `attributes`: at most 256 attributes, not 302"));
    assert!(Card::from_yaml("not: [a card").is_err());
    assert!(Card::from_yaml("").is_err());
}

fn predicate(text: &str) -> Predicate {
    Predicate::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn matching<'c>(text: &str, cards: &'c [Card]) -> Vec<&'c str> {
    let predicate = predicate(text);
    cards
        .iter()
        .filter(|c| predicate.matches(c).unwrap_or_else(|e| panic!("{text}: {e}")))
        .map(|c| c.id.as_str())
        .collect()
}

#[test]
fn predicates_read_fields_and_attributes() {
    let cards = example_cards();
    assert_eq!(
        matching("task == \"text-embedding\" && dims == 384 && !gpu", &cards),
        ["minilm-l6-v2.cpu"]
    );
    assert_eq!(
        matching("task == \"summarization\" && license in [\"apache-2.0\", \"mit\"]", &cards),
        ["lead-sentences"]
    );
    // Predicates may span lines.
    assert_eq!(
        matching("task == \"summarization\"\n  && license == \"apache-2.0\"", &cards),
        ["lead-sentences"]
    );
    // A predicate that compares a string with a number is wrong whatever the card.
    assert!(predicate("task > 3").matches(&cards[0]).is_err());
}

#[test]
fn bad_predicates_are_errors_not_panics() {
    for text in [
        "",
        "   ",
        "task ==",
        "task == \"x\"\npipeline p() -> i64 { return 1 }",
        "a +",
        "(((",
        "x prefer y",
    ] {
        assert!(Predicate::parse(text).is_err(), "`{text}` was accepted");
    }
    assert_eq!(predicate(" dims == 384 ").as_str(), " dims == 384");
    assert_eq!(predicate("task == \"t\" && dims == 384").required_task(), Some("t"));
    // Only a first clause: one before it must still be evaluated on every card.
    assert_eq!(predicate("dims == 384 && task == \"t\"").required_task(), None);
    assert_eq!(predicate("task == \"t\" || dims == 384").required_task(), None);
}

#[test]
fn the_funnel_says_which_clause_dropped_which_cards() {
    let cards = example_cards();
    let predicate = predicate("task == \"text-embedding\" && dims == 384 && latency_ms < 5");
    let (left, stages) = funnel(Some(&predicate), &cards).unwrap_or_else(|e| panic!("{e}"));
    let left: Vec<&str> = left.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(left, ["minilm-l6-v2.gpu.eu-west"]);
    let summary: Vec<String> = stages
        .iter()
        .map(|s| format!("{} of {} dropped by {}: {}", s.dropped, s.before, s.clause, s.why))
        .collect();
    assert_eq!(
        summary,
        [
            "9 of 12 dropped by task == \"text-embedding\": they have \"classification\", \"keyword-extraction\", \"summarization\", \"text-vectorize\"",
            "1 of 3 dropped by dims == 384: they have 768",
            "1 of 2 dropped by latency_ms < 5: 1 has no `latency_ms`",
        ]
    );
    let matches = query(Some(&predicate), &cards).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(matches.offered, 12);
    assert_eq!(matches.cards.len(), 1);
}

#[test]
fn the_funnel_shows_a_few_values_and_counts_the_rest() {
    let cards: Vec<Card> = (0..20)
        .map(|i| {
            Card::from_yaml(
                &GOOD
                    .replace("minilm-cpu", &format!("c{i:02}"))
                    .replace("dims: 384", &format!("dims: {i}")),
            )
            .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let (_, stages) =
        funnel(Some(&predicate("dims > 100")), &cards).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stages[0].why, "they have 0, 1, 10, 11, 12, 13, 14, 15 and 12 other values");
}

#[test]
fn ranking_follows_prefer_with_missing_values_last_and_ids_breaking_ties() {
    let cards = example_cards();
    let embedders: Vec<&Card> = cards.iter().filter(|c| c.task == "text-embedding").collect();
    let (ai, _) = requirement("prefer gpu desc, latency_ms asc");
    let ranked: Vec<&str> =
        rank(embedders.clone(), &prefer(&ai.prefer)).iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ranked, ["minilm-l6-v2.gpu.eu-west", "all-mpnet-base-v2.gpu", "minilm-l6-v2.cpu"]);
    let (ai, _) = requirement("prefer cost asc");
    let ranked: Vec<&str> =
        rank(embedders, &prefer(&ai.prefer)).iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ranked, ["minilm-l6-v2.gpu.eu-west", "all-mpnet-base-v2.gpu", "minilm-l6-v2.cpu"]);
}
