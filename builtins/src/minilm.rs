//! all-MiniLM-L6-v2 sentence embeddings, run with candle: BERT over WordPiece tokens (at most
//! 256 per text, as sentence-transformers truncates), mean pooling over the real tokens, then
//! unit length. The same numbers as the `sentence-transformers` reference within float error
//! (`builtins/check/minilm_reference.py` measures it).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use aigrid_discovery::Card;
use aigrid_kernels::Tensor as HostTensor;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{Tokenizer, TruncationParams};

use crate::value::texts;
use crate::{Args, Builtin, BuiltinError, Prepared, Value};

/// The width of an embedding.
pub const DIMS: usize = 384;
/// The most tokens of a text that the model reads; the rest is cut, as the reference does.
const MAX_TOKENS: usize = 256;
/// Texts run through the model together, sorted by length so little padding is computed.
const SUB_BATCH: usize = 64;

/// The all-MiniLM-L6-v2 model in a folder; its weights are read once, on first use, and
/// shared by every clone.
#[derive(Clone)]
pub struct MiniLm {
    dir: PathBuf,
    loaded: Arc<OnceLock<Result<Arc<Loaded>, String>>>,
}

struct Loaded {
    model: BertModel,
    tokenizer: Tokenizer,
}

impl std::fmt::Debug for MiniLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLm").field("dir", &self.dir).finish_non_exhaustive()
    }
}

fn model_error(context: &str) -> impl FnOnce(candle_core::Error) -> String + '_ {
    move |e| format!("{context}: {e}")
}

impl MiniLm {
    /// The model whose `config.json`, `model.safetensors` and `tokenizer.json` are in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> MiniLm {
        MiniLm { dir: dir.into(), loaded: Arc::default() }
    }

    /// Its folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn loaded(&self) -> Result<&Arc<Loaded>, BuiltinError> {
        self.loaded
            .get_or_init(|| self.load().map(Arc::new))
            .as_ref()
            .map_err(|e| BuiltinError::Model(e.clone()))
    }

    fn load(&self) -> Result<Loaded, String> {
        let read = |name: &str| {
            let path = self.dir.join(name);
            std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
        };
        let config: Config = serde_json::from_slice(&read("config.json")?)
            .map_err(|e| format!("config.json: {e}"))?;
        let weights = read("model.safetensors")?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
            .map_err(model_error("model.safetensors"))?;
        let model = BertModel::load(vb, &config).map_err(model_error("model.safetensors"))?;
        let mut tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?)
            .map_err(|e| format!("tokenizer.json: {e}"))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| format!("tokenizer.json: {e}"))?;
        tokenizer.with_padding(None);
        Ok(Loaded { model, tokenizer })
    }

    /// The unit-length embeddings of `texts`, row after row (`texts.len() * 384` numbers). A
    /// missing text (`None`) gets a row of zeros.
    pub fn embed(&self, texts: &[Option<&str>]) -> Result<Vec<f32>, BuiltinError> {
        let loaded = self.loaded()?;
        let present: Vec<(usize, &str)> =
            texts.iter().enumerate().filter_map(|(i, t)| t.map(|t| (i, t))).collect();
        let encodings = loaded
            .tokenizer
            .encode_batch(present.iter().map(|(_, t)| *t).collect::<Vec<_>>(), true)
            .map_err(|e| BuiltinError::Model(format!("tokenizer: {e}")))?;
        let mut order: Vec<usize> = (0..encodings.len()).collect();
        order.sort_by_key(|&i| encodings[i].get_ids().len());
        let mut out = vec![0f32; texts.len() * DIMS];
        for group in order.chunks(SUB_BATCH) {
            let rows = group.iter().map(|&i| &encodings[i]).collect::<Vec<_>>();
            let vectors =
                forward(&loaded.model, &rows).map_err(|e| BuiltinError::Model(e.to_string()))?;
            for (k, &i) in group.iter().enumerate() {
                let row = present[i].0;
                out[row * DIMS..(row + 1) * DIMS]
                    .copy_from_slice(&vectors[k * DIMS..(k + 1) * DIMS]);
            }
        }
        Ok(out)
    }
}

/// Runs the model over texts of similar length: padded ids in, pooled unit vectors out.
fn forward(model: &BertModel, rows: &[&tokenizers::Encoding]) -> candle_core::Result<Vec<f32>> {
    let width = rows.iter().map(|e| e.get_ids().len()).max().unwrap_or(0).max(1);
    let mut ids = vec![0u32; rows.len() * width];
    let mut mask = vec![0u32; rows.len() * width];
    for (r, encoding) in rows.iter().enumerate() {
        for (c, &id) in encoding.get_ids().iter().enumerate() {
            ids[r * width + c] = id;
            mask[r * width + c] = 1;
        }
    }
    let shape = (rows.len(), width);
    let ids = Tensor::from_vec(ids, shape, &Device::Cpu)?;
    let mask = Tensor::from_vec(mask, shape, &Device::Cpu)?;
    let token_types = ids.zeros_like()?;
    let hidden = model.forward(&ids, &token_types, Some(&mask))?;
    // Mean over the real tokens, then unit length.
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    let counts = mask.sum(1)?;
    let mean = summed.broadcast_div(&counts)?;
    let norms = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f32::MAX)?;
    mean.broadcast_div(&norms)?.flatten_all()?.to_vec1::<f32>()
}

/// The `minilm` built-in AI: `(text: list<utf8>) -> tensor<f32, [N, 384]>`.
pub(crate) struct Embedder {
    card: Card,
    model: MiniLm,
}

impl Embedder {
    pub(crate) fn new(card: Card, model: &MiniLm) -> Embedder {
        Embedder { card, model: model.clone() }
    }
}

impl Builtin for Embedder {
    fn card(&self) -> &Card {
        &self.card
    }

    fn streamed(&self) -> &'static str {
        "text"
    }

    fn prepare(&self, _: &Args) -> Result<Box<dyn Prepared>, BuiltinError> {
        self.model.loaded()?;
        Ok(Box::new(self.model.clone()))
    }
}

impl Prepared for MiniLm {
    fn call(&self, rows: &Value) -> Result<Value, BuiltinError> {
        let texts = texts("text", rows)?;
        let texts: Vec<Option<&str>> = texts.iter().collect();
        let vectors = self.embed(&texts)?;
        Value::tensor(&HostTensor::f32(vec![texts.len(), DIMS], vectors)?)
    }
}
