//! The lockfile (`aigrid.lock`): the grid AIs each `ai` requirement was bound to, so that
//! builds are reproducible. A requirement is known by a fingerprint of everything that decides
//! its binding (signature, `where`, `prefer`, `fallback`): editing any of them binds it anew;
//! editing nothing keeps the pinned AIs until `aigridc bind --update`. spec/discovery.md §8.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::dag::Requirement;
use crate::plan::{BoundCard, PlanBinding};

/// The version of the lockfile format this compiler reads and writes.
pub const LOCK_VERSION: u32 = 1;

/// The pinned bindings of a project.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// [`LOCK_VERSION`].
    pub version: u32,
    /// One entry per requirement, ordered by name then fingerprint.
    #[serde(default, rename = "ai")]
    pub ais: Vec<LockedAi>,
}

/// The binding of one requirement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedAi {
    /// The `ai` item's name, for people.
    pub name: String,
    /// `sha256:...` of the requirement.
    pub requirement: String,
    /// The primary binding.
    pub primary: BoundCard,
    /// The fall-backs, in rank order.
    #[serde(default)]
    pub fallbacks: Vec<BoundCard>,
}

/// A lock that pins nothing.
impl Default for Lock {
    fn default() -> Self {
        Lock { version: LOCK_VERSION, ais: Vec::new() }
    }
}

impl Lock {
    /// Reads a lockfile; the error says what is wrong, for a message naming the file.
    pub fn from_toml(text: &str) -> Result<Lock, String> {
        let lock: Lock = toml::from_str(text).map_err(|error| error.message().to_owned())?;
        if lock.version != LOCK_VERSION {
            return Err(format!(
                "version {} is not known to this aigridc, which reads version {LOCK_VERSION}",
                lock.version
            ));
        }
        Ok(lock)
    }

    /// The lockfile's text: one `[[ai]]` table per entry, cards as inline tables.
    pub fn to_toml(&self) -> String {
        let quote = |text: &str| toml::Value::String(text.to_owned()).to_string();
        let card = |card: &BoundCard| {
            format!(
                "{{ id = {}, version = {}, endpoint = {} }}",
                quote(&card.id),
                quote(&card.version),
                quote(&card.endpoint)
            )
        };
        let mut out = String::from(
            "# Written by aigridc: the grid AIs each `ai` requirement is bound to.\n\
             # `aigridc bind --update FILE` binds again. Keep this file under version control.\n\n",
        );
        out.push_str(&format!("version = {}\n", self.version));
        for ai in &self.ais {
            out.push_str(&format!(
                "\n[[ai]]\nname = {}\nrequirement = {}\nprimary = {}\n",
                quote(&ai.name),
                quote(&ai.requirement),
                card(&ai.primary)
            ));
            if !ai.fallbacks.is_empty() {
                out.push_str("fallbacks = [\n");
                for fallback in &ai.fallbacks {
                    out.push_str(&format!("    {},\n", card(fallback)));
                }
                out.push_str("]\n");
            }
        }
        out
    }

    /// The entry of a requirement.
    pub(crate) fn get(&self, fingerprint: &str) -> Option<&LockedAi> {
        self.ais.iter().find(|ai| ai.requirement == fingerprint)
    }

    /// Pins `binding` for a requirement, replacing its entry.
    pub(crate) fn pin(&mut self, name: &str, fingerprint: String, binding: &PlanBinding) {
        self.ais.retain(|ai| ai.requirement != fingerprint);
        self.ais.push(LockedAi {
            name: name.to_owned(),
            requirement: fingerprint,
            primary: binding.primary.clone(),
            fallbacks: binding.fallbacks.clone(),
        });
        self.ais.sort_by(|a, b| (&a.name, &a.requirement).cmp(&(&b.name, &b.requirement)));
    }
}

impl LockedAi {
    /// The plan's binding.
    pub(crate) fn binding(&self) -> PlanBinding {
        PlanBinding { primary: self.primary.clone(), fallbacks: self.fallbacks.clone() }
    }

    /// Every pinned card, the primary first.
    pub(crate) fn cards(&self) -> impl Iterator<Item = &BoundCard> {
        std::iter::once(&self.primary).chain(&self.fallbacks)
    }
}

/// The fingerprint of a requirement: what decides its binding.
pub(crate) fn fingerprint(requirement: &Requirement) -> String {
    let mut hasher = Sha256::new();
    let prefer: Vec<String> = requirement
        .prefer
        .iter()
        .map(|(key, descending)| format!("{key} {}", if *descending { "desc" } else { "asc" }))
        .collect();
    let text = format!(
        "signature {}\nwhere {}\nprefer {}\nfallback {}\n",
        requirement.signature,
        requirement.predicate.as_deref().unwrap_or(""),
        prefer.join(", "),
        requirement.fallback
    );
    hasher.update(text.as_bytes());
    let digest: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{}", &digest[..16])
}
