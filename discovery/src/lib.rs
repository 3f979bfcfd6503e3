//! AIGrid discovery: AI cards (what a grid AI says about itself), validated field by field;
//! `where` predicates evaluated against them; `prefer` rankings; and the funnel that explains
//! why no card matched. spec/discovery.md describes the cards and the semantics.
//!
//! ```
//! use aigrid_discovery::Card;
//!
//! let card = Card::from_yaml(r#"
//! id: minilm-cpu
//! name: all-MiniLM-L6-v2
//! version: 1.0.0
//! owner: aigrid
//! task: text-embedding
//! signature: "(text: list<utf8>) -> tensor<f32, [N, 384]>"
//! attributes: { dims: 384, gpu: false }
//! endpoint: "builtin:minilm"
//! "#).unwrap();
//! assert_eq!(card.task, "text-embedding");
//! ```

mod card;
mod matching;

pub use card::{AttrRef, AttrValue, CARD_FIELDS, Card, CardError, Health};
pub use matching::{
    Attributes, Clause, Comparison, Matches, Predicate, PredicateError, Stage, funnel, query, rank,
};
