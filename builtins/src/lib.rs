//! The grid AIs aigrid runs itself: the `builtin:` endpoints of discovery (spec/builtins.md).
//!
//! Each one has a card (in `cards.yaml`, with latencies measured by this crate's benchmark) and
//! answers calls in-process, so a pipeline binds and runs offline with nothing to start:
//!
//! - `minilm`: all-MiniLM-L6-v2 sentence embeddings (384 dims) run with candle, once its weights
//!   are fetched (`aigridc models fetch minilm`, see [`ModelStore`]);
//! - `hashing-256`, `hashing-1024`, `hashing-4096`: hashed bag-of-words vectors;
//! - `knn`, `knn-labels`: k-nearest-neighbour classification over labelled example vectors;
//! - `logreg`: multinomial logistic regression over vectors; `logreg-tabular`: binary logistic
//!   regression over the numeric columns of a table;
//! - `keywords`: the words that characterise each text;
//! - `lead`, `summarize`, `summarize-minilm`: extractive summaries (the first sentences, or the
//!   sentences most central among the text's own, by their embeddings).
//!
//! A call has one **streamed** argument, whose rows the executor sends in batches of up to the
//! card's `batch_size`; the other arguments are whole values, the same for every batch, given
//! once to [`Builtin::prepare`] (which fits a classifier, for instance). Every batch gives one
//! result row per row.
//!
//! ```
//! use aigrid_builtins::{Library, ModelStore, Value};
//! use arrow_array::StringArray;
//! use std::sync::Arc;
//!
//! let library = Library::new(&ModelStore::at("no-models-here"));
//! let hashing = library.get("hashing-256").unwrap();
//! let call = hashing.prepare(&Default::default()).unwrap();
//! let texts = Value::list(Arc::new(StringArray::from(vec!["a grid of AIs"])));
//! let vectors = call.call(&texts).unwrap();
//! assert_eq!(vectors.rows(), 1);
//! ```

mod classify;
mod hashing;
mod keywords;
mod minilm;
mod models;
mod summarize;
mod tabular;
mod tokenize;
mod value;

use std::sync::Arc;

use aigrid_discovery::Card;
use aigrid_kernels::KernelError;

pub use minilm::{DIMS as MINILM_DIMS, MiniLm};
pub use models::{FetchSource, MINILM, ModelError, ModelStore};
pub use tokenize::tokenize;
pub use value::{Args, Value};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum BuiltinError {
    /// An argument is missing or of the wrong kind or value.
    #[error("bad argument: {0}")]
    Argument(String),
    /// A kernel refused its input.
    #[error(transparent)]
    Kernel(#[from] KernelError),
    /// The model cannot be loaded or run.
    #[error("model: {0}")]
    Model(String),
}

/// A grid AI that aigrid runs in-process.
pub trait Builtin: Send + Sync {
    /// Its card; the endpoint is `builtin:` and its name.
    fn card(&self) -> &Card;
    /// The parameter whose rows are sent in batches; the other parameters are whole values.
    fn streamed(&self) -> &'static str;
    /// Prepares calls with the whole arguments (every argument but the streamed one).
    fn prepare(&self, args: &Args) -> Result<Box<dyn Prepared>, BuiltinError>;
}

/// A built-in AI ready to answer batches.
pub trait Prepared: Send + Sync {
    /// Answers a batch of rows of the streamed argument, one result row per row.
    fn call(&self, rows: &Value) -> Result<Value, BuiltinError>;
}

/// A built-in AI that is not offered, and what would make it so.
#[derive(Clone, Debug)]
pub struct Missing {
    /// Its card.
    pub card: Card,
    /// Why it is not offered and how to fix that: "run `aigridc models fetch minilm`".
    pub hint: String,
}

/// The built-in AIs of this build: those that can run here, and those that cannot yet.
#[derive(Clone)]
pub struct Library {
    offered: Vec<Arc<dyn Builtin>>,
    missing: Vec<Missing>,
    models: ModelStore,
}

/// The cards of every built-in AI, as shipped.
const CARDS: &str = include_str!("../cards.yaml");

/// The cards of every built-in AI, whether it can run here or not.
pub fn shipped_cards() -> Vec<Card> {
    // The shipped cards are checked by this crate's tests: a bad one is a bug in the build.
    Card::list_from_yaml(CARDS).unwrap_or_default()
}

impl Library {
    /// The built-in AIs, with the models found in `models`.
    pub fn new(models: &ModelStore) -> Library {
        let mut offered: Vec<Arc<dyn Builtin>> = Vec::new();
        let mut missing = Vec::new();
        let cards = shipped_cards();
        let minilm = models.minilm();
        for card in cards {
            let Some(name) = card.endpoint.strip_prefix("builtin:") else { continue };
            let builtin: Arc<dyn Builtin> = match name {
                "minilm" | "summarize-minilm" => match &minilm {
                    Ok(model) if name == "minilm" => Arc::new(minilm::Embedder::new(card, model)),
                    Ok(model) => Arc::new(summarize::Central::minilm(card, model)),
                    Err(why) => {
                        missing.push(Missing { card, hint: why.to_string() });
                        continue;
                    }
                },
                "knn" | "knn-labels" | "logreg" => Arc::new(classify::Classifier::new(card)),
                "logreg-tabular" => Arc::new(tabular::LogregTabular::new(card)),
                "keywords" => Arc::new(keywords::Keywords::new(card)),
                "lead" => Arc::new(summarize::Lead::new(card)),
                "summarize" => Arc::new(summarize::Central::hashing(card)),
                _ if name.starts_with("hashing-") => match hashing::Hashing::new(card) {
                    Some(hashing) => Arc::new(hashing),
                    None => continue,
                },
                _ => continue,
            };
            offered.push(builtin);
        }
        Library { offered, missing, models: models.clone() }
    }

    /// The `tokenizer.json` that `std.text.tokenize` names: `minilm` for that model's (once
    /// fetched), else the path of a Hugging Face tokenizer file.
    pub fn tokenizer_file(&self, name: &str) -> Result<std::path::PathBuf, BuiltinError> {
        if name == MINILM.name {
            let model = self.models.minilm().map_err(|e| BuiltinError::Model(e.to_string()))?;
            return Ok(model.dir().join("tokenizer.json"));
        }
        let path = std::path::PathBuf::from(name);
        if path.is_file() {
            Ok(path)
        } else {
            Err(BuiltinError::Argument(format!(
                "no tokenizer `{name}`: name `{}` or the path of a `tokenizer.json` file",
                MINILM.name
            )))
        }
    }

    /// The built-in AIs offered here.
    pub fn offered(&self) -> impl Iterator<Item = &Arc<dyn Builtin>> {
        self.offered.iter()
    }

    /// The cards of the built-in AIs offered here.
    pub fn cards(&self) -> Vec<Card> {
        self.offered.iter().map(|b| b.card().clone()).collect()
    }

    /// The built-in AIs that are not offered here, with hints.
    pub fn missing(&self) -> &[Missing] {
        &self.missing
    }

    /// The built-in AI at endpoint `builtin:NAME`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Builtin>> {
        self.offered.iter().find(|b| b.card().endpoint.strip_prefix("builtin:") == Some(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_card_is_valid_and_has_an_implementation() {
        let cards = Card::list_from_yaml(CARDS).unwrap();
        let library = Library::new(&ModelStore::at("no-models-here"));
        assert_eq!(library.offered.len() + library.missing.len(), cards.len());
        for card in &cards {
            assert!(card.attributes.contains_key("latency_ms"), "{}: no latency_ms", card.id);
            assert!(card.attributes.contains_key("batch_size"), "{}: no batch_size", card.id);
        }
        let missing: Vec<_> = library.missing().iter().map(|m| m.card.id.as_str()).collect();
        assert_eq!(missing, ["minilm-l6-v2.cpu", "summarizer.minilm"]);
        assert!(library.missing()[0].hint.contains("aigridc models fetch minilm"));
    }
}
