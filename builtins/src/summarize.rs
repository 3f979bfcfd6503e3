//! Extractive summaries, `(text: list<utf8>, sentences: i64 = N) -> list<utf8>`: each text cut
//! into sentences, some of them kept in their original order and joined with a space. A text
//! with no more sentences than asked for comes back whole (its sentences joined); a null text
//! gives a null summary.
//!
//! - `lead`: the first sentences.
//! - `summarize`, `summarize-minilm`: the most central sentences: each sentence's score is the
//!   sum of its cosine similarities to the text's other sentences, by hashed bag-of-words
//!   vectors or by MiniLM embeddings; ties go to the earlier sentence.

use std::sync::Arc;

use aigrid_discovery::Card;
use arrow_array::StringArray;
use arrow_array::builder::StringBuilder;

use crate::minilm::{DIMS, MiniLm};
use crate::value::{Reader, texts};
use crate::{Args, Builtin, BuiltinError, Prepared, Value};

/// The width of the hashed vectors of sentences.
const HASHED_DIMS: usize = 1024;

/// How a summariser picks sentences.
#[derive(Clone)]
enum Pick {
    Lead,
    Hashed,
    MiniLm(MiniLm),
}

pub(crate) struct Lead {
    card: Card,
}

impl Lead {
    pub(crate) fn new(card: Card) -> Lead {
        Lead { card }
    }
}

pub(crate) struct Central {
    card: Card,
    pick: Pick,
}

impl Central {
    pub(crate) fn hashing(card: Card) -> Central {
        Central { card, pick: Pick::Hashed }
    }

    pub(crate) fn minilm(card: Card, model: &MiniLm) -> Central {
        Central { card, pick: Pick::MiniLm(model.clone()) }
    }
}

/// The default number of sentences, from the card's signature (`sentences: i64 = 3`).
fn default_sentences(card: &Card) -> i64 {
    card.signature
        .split("sentences: i64 = ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(3)
}

fn prepare(card: &Card, pick: Pick, args: &Args) -> Result<Box<dyn Prepared>, BuiltinError> {
    let sentences = Reader::new(args).int("sentences", default_sentences(card), 1..=1000)? as usize;
    Ok(Box::new(Summarise { pick, sentences }))
}

impl Builtin for Lead {
    fn card(&self) -> &Card {
        &self.card
    }

    fn streamed(&self) -> &'static str {
        "text"
    }

    fn prepare(&self, args: &Args) -> Result<Box<dyn Prepared>, BuiltinError> {
        prepare(&self.card, Pick::Lead, args)
    }
}

impl Builtin for Central {
    fn card(&self) -> &Card {
        &self.card
    }

    fn streamed(&self) -> &'static str {
        "text"
    }

    fn prepare(&self, args: &Args) -> Result<Box<dyn Prepared>, BuiltinError> {
        prepare(&self.card, self.pick.clone(), args)
    }
}

struct Summarise {
    pick: Pick,
    sentences: usize,
}

impl Prepared for Summarise {
    fn call(&self, rows: &Value) -> Result<Value, BuiltinError> {
        let mut out = StringBuilder::new();
        for text in texts("text", rows)? {
            match text {
                Some(text) => out.append_value(self.summarise(text)?),
                None => out.append_null(),
            }
        }
        Ok(Value::list(Arc::new(out.finish())))
    }
}

impl Summarise {
    fn summarise(&self, text: &str) -> Result<String, BuiltinError> {
        let all = sentences(text);
        if all.len() <= self.sentences {
            return Ok(all.join(" "));
        }
        let keep: Vec<usize> = match &self.pick {
            Pick::Lead => (0..self.sentences).collect(),
            Pick::Hashed => {
                let array = StringArray::from(all.clone());
                let vectors = aigrid_kernels::hash_vectorize(&array, HASHED_DIMS)?;
                central(vectors.as_f32().unwrap_or_default(), HASHED_DIMS, self.sentences)
            }
            Pick::MiniLm(model) => {
                let texts: Vec<Option<&str>> = all.iter().map(|s| Some(*s)).collect();
                central(&model.embed(&texts)?, DIMS, self.sentences)
            }
        };
        Ok(keep.into_iter().map(|i| all[i]).collect::<Vec<_>>().join(" "))
    }
}

/// The `n` sentences (rows of unit vectors of width `dims`) with the largest sums of
/// similarities to the others, in their original order.
fn central(vectors: &[f32], dims: usize, n: usize) -> Vec<usize> {
    let rows: Vec<&[f32]> = vectors.chunks_exact(dims).collect();
    let score: Vec<f32> = rows
        .iter()
        .enumerate()
        .map(|(i, a)| {
            rows.iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, b)| a.iter().zip(*b).map(|(x, y)| x * y).sum::<f32>())
                .sum()
        })
        .collect();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
    order.truncate(n);
    order.sort_unstable();
    order
}

/// The sentences of `text`, trimmed: a sentence ends at `.`, `!` or `?` (with any closing
/// quotes or brackets) followed by white space and then a capital letter, a digit or an
/// opening quote, or at the end of the text.
pub(crate) fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (_, c) = chars[i];
        if matches!(c, '.' | '!' | '?') {
            let mut end = i + 1;
            while end < chars.len()
                && matches!(chars[end].1, '.' | '!' | '?' | '"' | '\'' | ')' | '”' | '’')
            {
                end += 1;
            }
            let mut next = end;
            while next < chars.len() && chars[next].1.is_whitespace() {
                next += 1;
            }
            let boundary = next == chars.len()
                || (next > end
                    && (chars[next].1.is_uppercase()
                        || chars[next].1.is_ascii_digit()
                        || matches!(chars[next].1, '"' | '“' | '\'' | '(')));
            if boundary {
                let stop = chars.get(end).map_or(text.len(), |&(b, _)| b);
                let sentence = text[start..stop].trim();
                if !sentence.is_empty() {
                    out.push(sentence);
                }
                start = chars.get(next).map_or(text.len(), |&(b, _)| b);
                i = next;
                continue;
            }
        }
        i += 1;
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_end_at_terminators_before_a_capital() {
        let text = "Prices rose 3.5% in May. Analysts said \"wait.\" Markets fell! 2025 looks calm? yes it does";
        assert_eq!(
            sentences(text),
            [
                "Prices rose 3.5% in May.",
                "Analysts said \"wait.\"",
                "Markets fell!",
                "2025 looks calm? yes it does"
            ]
        );
    }

    #[test]
    fn central_sentences_share_the_most_words_with_the_others() {
        let text = "The council approved the new harbour budget. Fishing crews welcomed the harbour budget. \
                    Weather was mild. The harbour budget funds new piers.";
        let summarise = Summarise { pick: Pick::Hashed, sentences: 2 };
        let summary = summarise.summarise(text).unwrap();
        assert!(!summary.contains("Weather"), "{summary}");
        let lead = Summarise { pick: Pick::Lead, sentences: 1 };
        assert_eq!(lead.summarise(text).unwrap(), "The council approved the new harbour budget.");
    }
}
