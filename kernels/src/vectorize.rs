//! Feature hashing of texts, the kernel of the built-in hashing vectoriser: each text becomes a
//! row of `dims` numbers, with no vocabulary to fit or ship.
//!
//! A text is lower-cased and cut into tokens (runs of two or more letters, digits or `_`, as
//! scikit-learn's default token pattern). Each token adds ±1 at a column chosen by its 32-bit
//! xxHash (seed 0): the low 31 bits modulo `dims` give the column, the top bit the sign, so
//! collisions tend to cancel rather than pile up. Each row is then scaled to unit length (a text
//! without tokens stays zero). The same text gives the same row on every machine and version.

use arrow_array::{Array, StringArray};
use twox_hash::XxHash32;

use crate::tensor::{KernelError, Tensor};

/// The hashed rows of `texts`: a `[N, dims]` f32 tensor. A null text is a zero row.
pub fn hash_vectorize(texts: &StringArray, dims: usize) -> Result<Tensor, KernelError> {
    if dims == 0 || dims > 1 << 24 {
        return Err(KernelError::Argument(format!("dims is 1 to 16777216, not {dims}")));
    }
    let mut out = vec![0f32; texts.len() * dims];
    let mut token = String::new();
    for (row, text) in out.chunks_mut(dims).zip(texts.iter()) {
        let Some(text) = text else { continue };
        let mut add = |token: &str| {
            if token.chars().nth(1).is_none() {
                return;
            }
            let hash = XxHash32::oneshot(0, token.as_bytes());
            let column = (hash & 0x7fff_ffff) as usize % dims;
            row[column] += if hash >> 31 == 0 { 1.0 } else { -1.0 };
        };
        for c in text.chars() {
            if c.is_alphanumeric() || c == '_' {
                token.extend(c.to_lowercase());
            } else if !token.is_empty() {
                add(&token);
                token.clear();
            }
        }
        if !token.is_empty() {
            add(&token);
            token.clear();
        }
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|v| *v /= norm);
        }
    }
    Tensor::f32(vec![texts.len(), dims], out)
}
