//! The cache in the driver: each node's key, and the stage outputs taken from and put into
//! the [`Cache`](crate::Cache).

use std::path::PathBuf;

use aigrid_compiler::{PlanNode, PlanOp, ValueType};

use super::{Driver, Slot};
use crate::cache::{Key, KeyHasher, file_hash};
use crate::value::Value;

/// The last segment of a standard-library operation's name, for a `std` node.
fn std_op(node: &PlanNode) -> Option<&str> {
    match &node.op {
        PlanOp::Std { name } => Some(name.rsplit('.').next().unwrap_or(name)),
        _ => None,
    }
}

pub(super) fn is_read(node: &PlanNode) -> bool {
    matches!(std_op(node), Some("read_csv" | "read_jsonl" | "read_parquet" | "read_arrow"))
}

pub(super) fn is_write(node: &PlanNode) -> bool {
    matches!(std_op(node), Some("write_csv" | "write_jsonl" | "write_parquet" | "write_arrow"))
}

/// `path` made absolute against the current directory, so that a key names one file.
pub(super) fn absolute(path: &str) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| PathBuf::from(path))
}

impl Driver<'_> {
    /// The key of `node`'s result: `None` without a cache, or when a part of it cannot be
    /// known (an input without a key, a file that cannot be read: the node then fails or runs
    /// as usual).
    pub(super) fn key(&self, node: &PlanNode) -> Option<Key> {
        self.options.cache.as_ref()?;
        let mut hasher = KeyHasher::new();
        hasher.part(&serde_json::to_vec(&node.op).ok()?).part(node.ty.as_bytes());
        hasher.part(&[u8::from(node.attrs.on_error_null), u8::from(node.declared)]);
        for arg in &node.args {
            hasher.part(arg.name.as_bytes());
            match (arg.input, &arg.value) {
                (Some(id), _) => hasher.part(&self.keys.get(&id)?.0.to_le_bytes()),
                (None, Some(constant)) => hasher.part(&serde_json::to_vec(constant).ok()?),
                (None, None) => hasher.part(b"-"),
            };
        }
        match &node.op {
            PlanOp::Param { name } => {
                let value = self.options.params.get(name).map(String::as_bytes);
                hasher.part(value.unwrap_or(b"\0unset"));
            }
            PlanOp::Ai { .. } => {
                let binding = self.plan.bindings.get(&node.id.to_string())?;
                for card in std::iter::once(&binding.primary).chain(&binding.fallbacks) {
                    hasher.part(card.id.as_bytes()).part(card.version.as_bytes());
                }
            }
            _ if is_read(node) => {
                let path = absolute(&self.string_arg(node, "src").ok()?);
                let content = file_hash(&path).ok()?;
                hasher.part(path.to_string_lossy().as_bytes()).part(&content.to_le_bytes());
            }
            _ if is_write(node) => {
                let path = absolute(&self.string_arg(node, "dst").ok()?);
                hasher.part(path.to_string_lossy().as_bytes());
            }
            _ => {}
        }
        Some(hasher.key())
    }

    /// Whether a result of `node` that ends a stage goes into the cache: computed results, not
    /// constants, parameters, scalar operators or reads (a read is as cheap as the cache).
    pub(super) fn caches(&self, node: &PlanNode) -> bool {
        self.options.cache.is_some()
            && !is_read(node)
            && !matches!(std_op(node), Some("count"))
            && !matches!(
                node.op,
                PlanOp::Param { .. }
                    | PlanOp::Const { .. }
                    | PlanOp::List
                    | PlanOp::Binary { .. }
                    | PlanOp::Unary { .. }
                    | PlanOp::Assert { .. }
            )
    }

    /// The cached result of key `key`, if the cache has a whole one; for a write, only while
    /// the file it wrote still has the content it wrote.
    pub(super) fn cached_slot(&self, key: Key, ty: &ValueType) -> Option<Slot> {
        let entry = self.options.cache.as_ref()?.get(key)?;
        if let Some((path, hash)) = &entry.info.wrote {
            let now = file_hash(path).ok()?;
            if format!("{now:032x}") != *hash {
                return None;
            }
        }
        Some(Slot::Ready(Value::new(ty.clone(), entry.schema, entry.batches)))
    }

    /// Puts the result of `node` into the cache. A cache that cannot be written does not fail
    /// the run.
    pub(super) fn store(&self, node: &PlanNode, key: Key, value: &Value, what: &str) {
        let Some(cache) = &self.options.cache else { return };
        let wrote = if is_write(node) {
            let Ok(dst) = self.string_arg(node, "dst") else { return };
            let path = absolute(&dst);
            match file_hash(&path) {
                Ok(hash) => Some((path, hash)),
                Err(_) => return,
            }
        } else {
            None
        };
        let _ = cache.put(key, what, &value.schema, &value.batches, wrote);
    }
}
