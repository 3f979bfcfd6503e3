//! `keywords`: the words that characterise each text, `(text: list<utf8>, top: i64 = 5) ->
//! list<list<utf8>>`. A word is a run of letters and digits with at least one letter and three
//! or more characters, lower-cased; common English words are skipped. Words are ranked by how
//! often they occur in the text, then by where they first occur. Each text on its own, so a
//! result never depends on the other rows of the batch.

use std::collections::HashMap;
use std::sync::Arc;

use aigrid_discovery::Card;
use arrow_array::builder::{ListBuilder, StringBuilder};

use crate::value::{Reader, texts};
use crate::{Args, Builtin, BuiltinError, Prepared, Value};

pub(crate) struct Keywords {
    card: Card,
}

impl Keywords {
    pub(crate) fn new(card: Card) -> Keywords {
        Keywords { card }
    }
}

struct Top(usize);

impl Builtin for Keywords {
    fn card(&self) -> &Card {
        &self.card
    }

    fn streamed(&self) -> &'static str {
        "text"
    }

    fn prepare(&self, args: &Args) -> Result<Box<dyn Prepared>, BuiltinError> {
        Ok(Box::new(Top(Reader::new(args).int("top", 5, 1..=1000)? as usize)))
    }
}

impl Prepared for Top {
    fn call(&self, rows: &Value) -> Result<Value, BuiltinError> {
        let mut out = ListBuilder::new(StringBuilder::new());
        for text in texts("text", rows)? {
            match text {
                Some(text) => {
                    for word in keywords(text, self.0) {
                        out.values().append_value(word);
                    }
                    out.append(true);
                }
                None => out.append(false),
            }
        }
        Ok(Value::list(Arc::new(out.finish())))
    }
}

/// The `top` keywords of `text`.
pub(crate) fn keywords(text: &str, top: usize) -> Vec<String> {
    let mut seen: HashMap<String, (usize, usize)> = HashMap::new();
    for (position, word) in words(text).enumerate() {
        if word.chars().count() < 3 || !word.chars().any(char::is_alphabetic) || is_stopword(&word)
        {
            continue;
        }
        seen.entry(word).or_insert((0, position)).0 += 1;
    }
    let mut ranked: Vec<(String, (usize, usize))> = seen.into_iter().collect();
    ranked.sort_by(|(_, (ca, pa)), (_, (cb, pb))| cb.cmp(ca).then(pa.cmp(pb)));
    ranked.into_iter().take(top).map(|(word, _)| word).collect()
}

/// The lower-cased words of `text`: runs of letters and digits (an apostrophe inside a word
/// ends it: "customer's" gives "customer").
pub(crate) fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

fn is_stopword(word: &str) -> bool {
    STOPWORDS.binary_search(&word).is_ok()
}

/// Common English words (sorted, for binary search).
const STOPWORDS: &[&str] = &[
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "and",
    "any",
    "are",
    "around",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "can",
    "could",
    "did",
    "does",
    "doing",
    "don",
    "down",
    "during",
    "each",
    "even",
    "every",
    "few",
    "for",
    "from",
    "further",
    "get",
    "gets",
    "got",
    "had",
    "has",
    "have",
    "having",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "into",
    "its",
    "itself",
    "just",
    "last",
    "like",
    "made",
    "make",
    "many",
    "may",
    "more",
    "most",
    "much",
    "must",
    "new",
    "nor",
    "not",
    "now",
    "off",
    "once",
    "one",
    "only",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "per",
    "said",
    "same",
    "says",
    "she",
    "should",
    "since",
    "some",
    "still",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "too",
    "two",
    "under",
    "until",
    "very",
    "was",
    "way",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "within",
    "without",
    "would",
    "year",
    "years",
    "yet",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

#[cfg(test)]
mod tests {
    #[test]
    fn stopwords_are_sorted() {
        assert!(super::STOPWORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn frequent_words_first_then_earliest() {
        let text = "The harbour reopened. Harbour fees rise; fishing boats return to the harbour, boats too.";
        assert_eq!(super::keywords(text, 3), ["harbour", "boats", "reopened"]);
    }
}
