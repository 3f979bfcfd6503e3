//! The `hashing-DIMS` built-in AIs: hashed bag-of-words vectors (`aigrid_kernels::hash_vectorize`),
//! `(text: list<utf8>) -> tensor<f32, [N, DIMS]>`. No model: cheap, deterministic, offline.

use aigrid_discovery::{AttrValue, Card};

use crate::value::texts;
use crate::{Args, Builtin, BuiltinError, Prepared, Value};

pub(crate) struct Hashing {
    card: Card,
    dims: usize,
}

impl Hashing {
    /// The vectoriser of a card whose `dims` attribute says its width.
    pub(crate) fn new(card: Card) -> Option<Hashing> {
        let Some(AttrValue::Int(dims)) = card.attributes.get("dims") else { return None };
        let dims = usize::try_from(*dims).ok()?;
        Some(Hashing { card, dims })
    }
}

struct Vectorize(usize);

impl Builtin for Hashing {
    fn card(&self) -> &Card {
        &self.card
    }

    fn streamed(&self) -> &'static str {
        "text"
    }

    fn prepare(&self, _: &Args) -> Result<Box<dyn Prepared>, BuiltinError> {
        Ok(Box::new(Vectorize(self.dims)))
    }
}

impl Prepared for Vectorize {
    fn call(&self, rows: &Value) -> Result<Value, BuiltinError> {
        Value::tensor(&aigrid_kernels::hash_vectorize(texts("text", rows)?, self.0)?)
    }
}
