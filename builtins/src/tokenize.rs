//! `std.text.tokenize`: texts to token ids with a Hugging Face tokenizer (`tokenizer.json`), by
//! default that of all-MiniLM-L6-v2 (BERT's uncased WordPiece vocabulary), so that the ids are
//! those a BERT-family model reads: `[CLS]` first, `[SEP]` last, `[PAD]` (0) after.

use std::path::Path;

use aigrid_kernels::{Data, Tensor};
use tokenizers::{PostProcessor, Tokenizer, TruncationParams};

use crate::BuiltinError;

/// The most ids a text may get: far more than any model reads, small enough that a mistaken
/// length does not ask for all the memory.
const MAX_LENGTH: usize = 1 << 16;

/// The token ids of `texts` with the tokenizer in `file`: one row of `length` ids per text, its
/// special tokens included, cut at `length` (keeping the closing special token) and padded with
/// 0. A missing text (`None`) gives a row of 0.
pub fn tokenize(
    file: &Path,
    texts: &[Option<&str>],
    length: usize,
) -> Result<Tensor, BuiltinError> {
    if length > MAX_LENGTH {
        return Err(BuiltinError::Argument(format!(
            "tokenize length {length} is more than {MAX_LENGTH} ids a text"
        )));
    }
    let tokenizer_error =
        |e: tokenizers::Error| BuiltinError::Model(format!("tokenizer {}: {e}", file.display()));
    let bytes = std::fs::read(file)
        .map_err(|e| BuiltinError::Argument(format!("cannot read {}: {e}", file.display())))?;
    let mut tokenizer = Tokenizer::from_bytes(bytes).map_err(tokenizer_error)?;
    // Truncation keeps the special tokens, so a row must have room for them.
    let special = tokenizer.get_post_processor().map_or(0, |p| p.added_tokens(false));
    if length < special.max(1) {
        return Err(BuiltinError::Argument(format!(
            "tokenize length {length} leaves no room: this tokenizer adds {special} special \
             tokens to each text"
        )));
    }
    tokenizer
        .with_truncation(Some(TruncationParams { max_length: length, ..Default::default() }))
        .map_err(tokenizer_error)?;
    tokenizer.with_padding(None);
    let present: Vec<&str> = texts.iter().flatten().copied().collect();
    let encodings = tokenizer.encode_batch(present, true).map_err(tokenizer_error)?;
    let mut ids = vec![0i64; texts.len() * length];
    let mut encoded = encodings.iter();
    for (row, text) in ids.chunks_mut(length).zip(texts) {
        if text.is_none() {
            continue;
        }
        let Some(encoding) = encoded.next() else { break };
        for (slot, &id) in row.iter_mut().zip(encoding.get_ids()) {
            *slot = i64::from(id);
        }
    }
    Ok(Tensor::new(vec![texts.len(), length], Data::I64(ids.into()))?)
}
