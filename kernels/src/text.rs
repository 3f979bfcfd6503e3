//! The text operations of `std.text` over Arrow string columns: `lower`, `split`,
//! `regex_extract` and `chunk`. A null text gives a null result.

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{ListArray, StringArray};

use crate::tensor::KernelError;

/// Each text lower-cased (Unicode lower case).
pub fn lower(texts: &StringArray) -> StringArray {
    texts.iter().map(|text| text.map(str::to_lowercase)).collect()
}

/// Each text split on `separator` (which is not empty), as a list of parts.
pub fn split(texts: &StringArray, separator: &str) -> Result<ListArray, KernelError> {
    if separator.is_empty() {
        return Err(KernelError::Argument("split needs a separator that is not empty".into()));
    }
    let mut out = ListBuilder::new(StringBuilder::new());
    for text in texts.iter() {
        match text {
            Some(text) => {
                for part in text.split(separator) {
                    out.values().append_value(part);
                }
                out.append(true);
            }
            None => out.append(false),
        }
    }
    Ok(out.finish())
}

/// The part of each text that `pattern` matches (capture group `group`; 0 is the whole match),
/// null where it does not match.
pub fn regex_extract(
    texts: &StringArray,
    pattern: &str,
    group: usize,
) -> Result<StringArray, KernelError> {
    // The size limit keeps a hostile pattern from taking the memory.
    let regex = regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| KernelError::Argument(format!("bad regular expression: {e}")))?;
    if group >= regex.captures_len() {
        return Err(KernelError::Argument(format!(
            "group {group} of a pattern with {} groups",
            regex.captures_len() - 1
        )));
    }
    Ok(texts
        .iter()
        .map(|text| {
            let captures = regex.captures(text?)?;
            captures.get(group).map(|m| m.as_str().to_owned())
        })
        .collect())
}

/// Each text cut into windows of `size` characters, each starting `size - overlap` characters
/// after the previous one; the last window may be shorter, and an empty text has none.
pub fn chunk(texts: &StringArray, size: usize, overlap: usize) -> Result<ListArray, KernelError> {
    if size == 0 || overlap >= size {
        return Err(KernelError::Argument(format!(
            "chunk needs 0 <= overlap < size, not size {size} and overlap {overlap}"
        )));
    }
    let step = size - overlap;
    let mut out = ListBuilder::new(StringBuilder::new());
    let mut bounds = Vec::new();
    for text in texts.iter() {
        let Some(text) = text else {
            out.append(false);
            continue;
        };
        // The byte offset of every character, and the end.
        bounds.clear();
        bounds.extend(text.char_indices().map(|(i, _)| i));
        bounds.push(text.len());
        let chars = bounds.len() - 1;
        let mut start = 0;
        while start < chars {
            let end = (start + size).min(chars);
            out.values().append_value(&text[bounds[start]..bounds[end]]);
            if end == chars {
                break;
            }
            start += step;
        }
        out.append(true);
    }
    Ok(out.finish())
}
