//! AI cards: what a grid AI says about itself (spec/discovery.md §1), read from YAML or JSON and
//! validated field by field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One grid AI, as it describes itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Card {
    /// Unique among the cards of a registry: lower-case letters, digits, `.`, `_` and `-`.
    pub id: String,
    /// A human-readable name.
    pub name: String,
    /// The AI's semantic version.
    pub version: String,
    /// Who runs it.
    pub owner: String,
    /// What it does: `text-embedding`, `classification`, ...
    pub task: String,
    /// Its signature in `.ag` syntax: `(text: list<utf8>) -> tensor<f32, [N, 384]>`.
    pub signature: String,
    /// What predicates and rankings read: numbers, strings and booleans.
    #[serde(default)]
    pub attributes: BTreeMap<String, AttrValue>,
    /// Where it is called: `grpc://host:port` (Arrow Flight) or `builtin:NAME` (served by
    /// aigrid workers).
    pub endpoint: String,
    /// Free-form labels, for people and tools.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Its health, as last reported.
    #[serde(default)]
    pub health: Health,
}

/// An attribute's value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttrValue {
    /// `true` or `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// Text.
    Str(String),
}

/// An attribute's value as predicates read it: integers and floats are both numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AttrRef<'a> {
    /// `true` or `false`.
    Bool(bool),
    /// A number.
    Num(f64),
    /// Text.
    Str(&'a str),
}

/// A card's health.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// `up`, `down` or `unknown`.
    #[serde(default = "unknown")]
    pub status: String,
    /// When the AI last reported, in RFC 3339 (`2026-11-25T07:00:00Z`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_heartbeat: Option<String>,
}

fn unknown() -> String {
    "unknown".into()
}

/// A card that says nothing of its health: `unknown`, no heartbeat.
impl Default for Health {
    fn default() -> Self {
        Health { status: unknown(), last_heartbeat: None }
    }
}

/// The most attributes a card has.
pub const MAX_ATTRIBUTES: usize = 256;

/// The names that predicates read from the card itself rather than from its attributes.
pub const CARD_FIELDS: &[&str] = &["id", "name", "version", "owner", "task"];

/// Why a card was rejected: the field, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", if field.is_empty() { String::new() } else { format!("field `{field}`: ") })]
pub struct CardError {
    /// The field, as a path (`attributes.dims`); empty when the document itself is wrong.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

impl CardError {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> CardError {
        CardError { field: field.into(), reason: reason.into() }
    }
}

impl Card {
    /// Reads and validates one card written in YAML (JSON is YAML too).
    pub fn from_yaml(text: &str) -> Result<Card, CardError> {
        let card: Card =
            serde_norway::from_str(text).map_err(|error| serde_error(&error.to_string()))?;
        card.validate()?;
        Ok(card)
    }

    /// Reads and validates one card written in JSON: faster than [`Card::from_yaml`], for
    /// cards that travel over the network.
    pub fn from_json(text: &str) -> Result<Card, CardError> {
        let card: Card =
            serde_json::from_str(text).map_err(|error| serde_error(&error.to_string()))?;
        card.validate()?;
        Ok(card)
    }

    /// The card as one line of JSON.
    pub fn to_json(&self) -> String {
        // A card holds strings, finite numbers and maps with string keys: it always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads and validates a YAML list of cards (a registry file); an error names the card by
    /// its position: `[2].endpoint`.
    pub fn list_from_yaml(text: &str) -> Result<Vec<Card>, CardError> {
        let values: Vec<serde_norway::Value> =
            serde_norway::from_str(text).map_err(|e| CardError::new("", e.to_string()))?;
        values
            .into_iter()
            .enumerate()
            .map(|(index, value)| {
                let card: Card = serde_norway::from_value(value)
                    .map_err(|e| CardError::new(format!("[{index}]"), e.to_string()))?;
                card.validate()
                    .map_err(|e| CardError::new(format!("[{index}].{}", e.field), e.reason))?;
                Ok(card)
            })
            .collect()
    }

    /// Checks every field; the first problem found is returned.
    pub fn validate(&self) -> Result<(), CardError> {
        let id_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
        if self.id.is_empty() || self.id.len() > 128 || !self.id.chars().all(id_char) {
            return Err(CardError::new(
                "id",
                "must be 1 to 128 lower-case letters, digits, `.`, `_` or `-`",
            ));
        }
        for (field, value) in [("name", &self.name), ("owner", &self.owner), ("task", &self.task)] {
            if value.trim().is_empty() || value.len() > 256 {
                return Err(CardError::new(field, "must be 1 to 256 characters"));
            }
        }
        if let Err(error) = semver::Version::parse(&self.version) {
            return Err(CardError::new("version", format!("not a semantic version: {error}")));
        }
        self.validate_signature()?;
        if self.attributes.len() > MAX_ATTRIBUTES {
            return Err(CardError::new(
                "attributes",
                format!("at most {MAX_ATTRIBUTES} attributes, not {}", self.attributes.len()),
            ));
        }
        for (name, value) in &self.attributes {
            let ident = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ident {
                return Err(CardError::new(
                    format!("attributes.{name}"),
                    "an attribute name is a word: letters, digits and `_`",
                ));
            }
            if CARD_FIELDS.contains(&name.as_str()) {
                return Err(CardError::new(
                    format!("attributes.{name}"),
                    format!("`{name}` is a field of the card, not an attribute"),
                ));
            }
            if let AttrValue::Float(x) = value
                && !x.is_finite()
            {
                return Err(CardError::new(
                    format!("attributes.{name}"),
                    "must be a finite number",
                ));
            }
        }
        validate_endpoint(&self.endpoint)?;
        if !["up", "down", "unknown"].contains(&self.health.status.as_str()) {
            return Err(CardError::new("health.status", "must be `up`, `down` or `unknown`"));
        }
        if let Some(heartbeat) = &self.health.last_heartbeat
            && heartbeat.parse::<jiff::Timestamp>().is_err()
        {
            return Err(CardError::new(
                "health.last_heartbeat",
                "must be an RFC 3339 time such as `2026-11-25T07:00:00Z`",
            ));
        }
        Ok(())
    }

    /// The signature must read as the parameters and result of an `ai`.
    fn validate_signature(&self) -> Result<(), CardError> {
        // Cards of one registry share a few signatures: parse each once per thread.
        thread_local! {
            static VALID: std::cell::RefCell<std::collections::HashSet<String>> =
                std::cell::RefCell::default();
        }
        if VALID.with(|valid| valid.borrow().contains(&self.signature)) {
            return Ok(());
        }
        self.parse_signature()?;
        VALID.with(|valid| {
            let mut valid = valid.borrow_mut();
            if valid.len() >= 4096 {
                valid.clear();
            }
            valid.insert(self.signature.clone());
        });
        Ok(())
    }

    fn parse_signature(&self) -> Result<(), CardError> {
        let text = format!("ai card{}\n", self.signature);
        let parsed = aigrid_lang::parse(aigrid_lang::FileId(0), &text);
        let is_ai = parsed.module.items.len() == 1
            && matches!(
                parsed.module.items.first().map(|i| &i.kind),
                Some(aigrid_lang::ast::ItemKind::Ai(ai)) if ai.predicate.is_none() && ai.prefer.is_empty()
            );
        if !parsed.is_ok() || !is_ai {
            let detail =
                parsed.diagnostics.first().map(|d| format!(": {}", d.message)).unwrap_or_default();
            return Err(CardError::new(
                "signature",
                format!("must be `(name: type, ...) -> type` in .ag syntax{detail}"),
            ));
        }
        Ok(())
    }

    /// The card field called `name` (`id`, `name`, `version`, `owner`, `task`).
    fn field(&self, name: &str) -> Option<&str> {
        Some(match name {
            "id" => &self.id,
            "name" => &self.name,
            "version" => &self.version,
            "owner" => &self.owner,
            "task" => &self.task,
            _ => return None,
        })
    }

    /// The value a predicate reads under `name`, borrowed: a card field or an attribute.
    pub fn attr(&self, name: &str) -> Option<AttrRef<'_>> {
        if let Some(field) = self.field(name) {
            return Some(AttrRef::Str(field));
        }
        self.attributes.get(name).map(|value| match value {
            AttrValue::Bool(b) => AttrRef::Bool(*b),
            AttrValue::Int(n) => AttrRef::Num(*n as f64),
            AttrValue::Float(x) => AttrRef::Num(*x),
            AttrValue::Str(s) => AttrRef::Str(s),
        })
    }

    /// The value a predicate reads under `name`, owned, integers kept apart from floats (for
    /// messages): a card field or an attribute.
    pub fn lookup(&self, name: &str) -> Option<AttrValue> {
        match self.field(name) {
            Some(field) => Some(AttrValue::Str(field.to_owned())),
            None => self.attributes.get(name).cloned(),
        }
    }
}

/// The error of a card document that does not deserialise. serde names the offending field in
/// its message: `unknown field `x``, `missing field `y``.
fn serde_error(message: &str) -> CardError {
    let field =
        message.split('`').nth(1).filter(|_| message.contains("field `")).unwrap_or_default();
    CardError::new(field, message)
}

/// `grpc://host:port` with a port, or `builtin:NAME`.
fn validate_endpoint(endpoint: &str) -> Result<(), CardError> {
    if let Some(name) = endpoint.strip_prefix("builtin:") {
        let ok = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
        return if ok {
            Ok(())
        } else {
            Err(CardError::new(
                "endpoint",
                "`builtin:NAME` needs a name of letters, digits, `_`, `-` or `.`",
            ))
        };
    }
    let Some(address) =
        endpoint.strip_prefix("grpc://").or_else(|| endpoint.strip_prefix("grpc+tls://"))
    else {
        return Err(CardError::new(
            "endpoint",
            "must be an Arrow Flight URL `grpc://host:port` (or `grpc+tls://`), or `builtin:NAME`",
        ));
    };
    let address = address.trim_end_matches('/');
    let port = address.rsplit_once(':').map(|(host, port)| (host, port.parse::<u16>()));
    match port {
        Some((host, Ok(port))) if !host.is_empty() && port > 0 => Ok(()),
        _ => Err(CardError::new(
            "endpoint",
            "`grpc://host:port` needs a host and a port from 1 to 65535",
        )),
    }
}

impl std::fmt::Display for AttrValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttrValue::Bool(b) => write!(f, "{b}"),
            AttrValue::Int(n) => write!(f, "{n}"),
            AttrValue::Float(x) => write!(f, "{x}"),
            AttrValue::Str(s) => write!(f, "{s:?}"),
        }
    }
}
