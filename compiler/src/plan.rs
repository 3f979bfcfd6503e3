//! The plan: the optimised graph of one pipeline as a versioned, self-checking document
//! (JSON or YAML), what `aigridc build` writes and `aigridc run` reads. spec/plan.md describes
//! it field by field.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::dag::{Arg, Dag, FusedArg, Op};
use crate::hir::Literal;

/// The `format` field of every plan.
pub const PLAN_FORMAT: &str = "aigrid-plan";
/// The plan format version this compiler writes and reads.
pub const PLAN_VERSION: u32 = 1;

/// A compiled pipeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Always [`PLAN_FORMAT`].
    pub format: String,
    /// The format version, [`PLAN_VERSION`].
    pub version: u32,
    /// `sha256:` and the hex digest of the plan written as compact JSON with this field empty.
    pub hash: String,
    /// Where the plan was compiled from.
    pub source: PlanSource,
    /// The entry pipeline's parameters and the values the plan was built with.
    pub params: Vec<PlanParam>,
    /// The nodes, inputs before the nodes that read them; a node's id is its index.
    pub nodes: Vec<PlanNode>,
    /// The node of the pipeline's result, if it returns one.
    pub output: Option<u32>,
    /// The grid AIs bound to each `ai` node, by node id (as a string).
    pub bindings: BTreeMap<String, PlanBinding>,
}

/// The grid AIs that serve one `ai` node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanBinding {
    /// The best-ranked card.
    pub primary: BoundCard,
    /// The next ones in rank order, tried when the primary fails (`fallback N`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallbacks: Vec<BoundCard>,
}

/// A card a node is bound to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoundCard {
    /// The card's id.
    pub id: String,
    /// The card's version when it was bound.
    pub version: String,
    /// Where to call it.
    pub endpoint: String,
    /// The most rows it takes in one request: its card's `batch_size` attribute, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<u32>,
}

/// The file and pipeline a plan was compiled from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSource {
    /// The file, as it was named to the compiler.
    pub file: String,
    /// The entry pipeline.
    pub pipeline: String,
}

/// A parameter of the entry pipeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanParam {
    /// Its name.
    pub name: String,
    /// Its type, in `.ag` syntax.
    #[serde(rename = "type")]
    pub ty: String,
    /// The value it was built with (folded into the nodes); absent: given at run time.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub value: Option<Value>,
}

/// A constant: a JSON (or YAML) number, string, boolean, list or null; a duration is
/// `{"duration_ms": N}`. An integer is written without a fraction, a float always with one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A string.
    Str(String),
    /// A list of constants.
    List(Vec<Value>),
    /// A duration.
    Duration {
        /// Its length in milliseconds.
        duration_ms: u64,
    },
    /// `null`.
    Null,
}

/// One operation of the plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanNode {
    /// Its index in [`Plan::nodes`].
    pub id: u32,
    /// What it does.
    pub op: PlanOp,
    /// Its arguments, each an input node or a constant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<PlanArg>,
    /// The type of its value, in `.ag` syntax.
    #[serde(rename = "type")]
    pub ty: String,
    /// Whether `type` is declared in the source (a `let` annotation, a result type) and so
    /// enforced on the value when the node runs, rather than inferred.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub declared: bool,
    /// Retry, timeout, cache and resource attributes.
    #[serde(default, skip_serializing_if = "PlanAttrs::is_empty")]
    pub attrs: PlanAttrs,
    /// The `let` that named the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where in the source it comes from.
    pub span: PlanSpan,
    /// The pipeline calls it was inlined through, outermost first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origin: Vec<PlanCall>,
}

/// What a node does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PlanOp {
    /// A parameter without a value: given when the plan runs.
    Param {
        /// The parameter.
        name: String,
    },
    /// A constant.
    Const {
        /// Its value.
        value: Value,
    },
    /// A list of its arguments.
    List,
    /// A column of its `table` argument, as a list.
    Column {
        /// The column.
        name: String,
    },
    /// `lhs OP rhs`.
    Binary {
        /// The operator as written (`+`, `==`, ...).
        op: String,
    },
    /// `!operand` or `-operand`.
    Unary {
        /// `!` or `-`.
        op: String,
    },
    /// A standard-library operation.
    Std {
        /// Its qualified name: `std.tensor.matmul`.
        name: String,
    },
    /// A call of an `ai` requirement.
    Ai {
        /// The requirement's name.
        name: String,
        /// Its signature in `.ag` syntax.
        signature: String,
        /// The `where` predicate in `.ag` syntax.
        #[serde(default, skip_serializing_if = "Option::is_none", rename = "where")]
        predicate: Option<String>,
        /// The `prefer` keys.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        prefer: Vec<PlanPrefer>,
        /// How many more candidates to keep for fail-over.
        fallback: u32,
    },
    /// A SQL query over its arguments, which are tables named as the arguments are.
    Sql {
        /// The query.
        query: String,
    },
    /// A chain of elementwise tensor operations; its arguments are its inputs, in order.
    Fused {
        /// The operations, in order.
        steps: Vec<PlanStep>,
    },
    /// The value of its argument `value`, checked against the node's declared type.
    Check,
    /// The pipeline's result.
    Output,
    /// A test's assertion.
    Assert {
        /// Shown when it fails.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
}

/// A `prefer` key of an `ai` requirement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanPrefer {
    /// The card attribute.
    pub key: String,
    /// `asc` or `desc`.
    pub order: String,
}

/// One step of a fused chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanStep {
    /// The `std.tensor` operation.
    pub op: String,
    /// Its arguments.
    pub args: Vec<PlanStepArg>,
}

/// An argument of a fused step: an input of the fused node, an earlier step, or a constant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanStepArg {
    /// The parameter it is passed as.
    pub name: String,
    /// The index of the fused node's argument it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<u32>,
    /// The index of the earlier step whose result it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
    /// A constant.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub value: Option<Value>,
}

/// An argument of a node: the value of node `input`, or the constant `value`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanArg {
    /// The parameter it is passed as (a table's name, for `sql`).
    pub name: String,
    /// The node whose value it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<u32>,
    /// A constant.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub value: Option<Value>,
}

/// An optional constant that is present: `null` is the constant null, not an absent value
/// (absent fields are `None` through `#[serde(default)]`).
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// Attributes of a node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanAttrs {
    /// More attempts after a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<u32>,
    /// Milliseconds an attempt may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Reuse the result of an earlier run with the same inputs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cache: bool,
    /// Give null after the last failed attempt instead of failing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub on_error_null: bool,
    /// Run on a worker with a GPU.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gpu: bool,
    /// Resources the node needs, e.g. `gpu: 1`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: BTreeMap<String, i64>,
}

impl PlanAttrs {
    fn is_empty(&self) -> bool {
        *self == PlanAttrs::default()
    }
}

/// A place in a source file (1-based line and column).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSpan {
    /// The file.
    pub file: String,
    /// The line.
    pub line: u32,
    /// The column, in characters.
    pub column: u32,
}

/// A pipeline call a node was inlined through.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanCall {
    /// The called pipeline.
    pub pipeline: String,
    /// Where it was called.
    pub at: PlanSpan,
}

/// Why a plan could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Not JSON or YAML of a plan.
    #[error("not a plan: {0}")]
    Malformed(String),
    /// Another format.
    #[error("not an aigrid plan (its `format` is {0:?})")]
    Format(String),
    /// Another version of the format.
    #[error(
        "plan format version {found} cannot be read by this aigridc, which reads version {PLAN_VERSION}; rebuild the plan with `aigridc build`"
    )]
    Version {
        /// The plan's version.
        found: u64,
    },
    /// The content does not match its hash: edited or damaged after it was built.
    #[error("the plan's content does not match its hash: it was changed after `aigridc build`")]
    Hash,
}

impl Plan {
    /// The plan as pretty JSON, ending with a newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The plan as YAML.
    pub fn to_yaml(&self) -> String {
        serde_norway::to_string(self).unwrap_or_default()
    }

    /// Reads a plan written as JSON, checking its format, version and hash.
    pub fn from_json(text: &str) -> Result<Plan, PlanError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| PlanError::Malformed(e.to_string()))?;
        Plan::from_value(value)
    }

    /// Reads a plan written as YAML, checking its format, version and hash.
    pub fn from_yaml(text: &str) -> Result<Plan, PlanError> {
        let value: serde_norway::Value =
            serde_norway::from_str(text).map_err(|e| PlanError::Malformed(e.to_string()))?;
        check_header(
            value.get("format").and_then(|f| f.as_str()),
            value.get("version").and_then(|v| v.as_u64()),
        )?;
        let plan: Plan =
            serde_norway::from_value(value).map_err(|e| PlanError::Malformed(e.to_string()))?;
        plan.checked()
    }

    fn from_value(value: serde_json::Value) -> Result<Plan, PlanError> {
        check_header(
            value.get("format").and_then(|f| f.as_str()),
            value.get("version").and_then(|v| v.as_u64()),
        )?;
        let plan: Plan =
            serde_json::from_value(value).map_err(|e| PlanError::Malformed(e.to_string()))?;
        plan.checked()
    }

    /// The plan, if its content matches its hash.
    fn checked(self) -> Result<Plan, PlanError> {
        if self.hash != self.content_hash() {
            return Err(PlanError::Hash);
        }
        Ok(self)
    }

    /// The hash of the plan's content: everything but the hash itself.
    pub fn content_hash(&self) -> String {
        let mut unhashed = self.clone();
        unhashed.hash.clear();
        let bytes = serde_json::to_vec(&unhashed).unwrap_or_default();
        let digest = Sha256::digest(&bytes);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }
}

/// Checks a plan's `format` and `version` before the rest is read: a plan of another version
/// may not even have the same fields.
fn check_header(format: Option<&str>, version: Option<u64>) -> Result<(), PlanError> {
    let format = format.unwrap_or_default();
    if format != PLAN_FORMAT {
        return Err(PlanError::Format(format.to_owned()));
    }
    let version = version.unwrap_or(0);
    if version != u64::from(PLAN_VERSION) {
        return Err(PlanError::Version { found: version });
    }
    Ok(())
}

impl From<&Literal> for Value {
    fn from(literal: &Literal) -> Value {
        match literal {
            Literal::Int(n) => Value::Int(*n),
            Literal::Float(x) => Value::Float(*x),
            Literal::Str(s) => Value::Str(s.to_string()),
            Literal::Bool(b) => Value::Bool(*b),
            Literal::Duration(ms) => Value::Duration { duration_ms: *ms },
            Literal::Null => Value::Null,
        }
    }
}

/// Writes the plan of `dag`. `span` turns a span into a file name, line and column.
pub(crate) fn write(
    dag: &Dag,
    source: PlanSource,
    params: Vec<PlanParam>,
    bindings: &HashMap<crate::dag::NodeId, PlanBinding>,
    span: &dyn Fn(aigrid_lang::Span) -> PlanSpan,
) -> Plan {
    let order = dag.order();
    let ids: HashMap<_, u32> = order.iter().enumerate().map(|(i, n)| (*n, i as u32)).collect();
    let nodes = order
        .iter()
        .map(|&node_id| {
            let node = &dag.graph[node_id];
            let inputs = dag.inputs(node_id);
            let args = node
                .args
                .iter()
                .map(|(name, arg)| {
                    let (input, value) = match arg {
                        Arg::Input(port) => {
                            let source =
                                inputs.iter().find(|(p, _)| p == port).map(|(_, s)| ids[s]);
                            (source, None)
                        }
                        Arg::Const(literal) => (None, Some(Value::from(literal))),
                        Arg::List(items) => {
                            (None, Some(Value::List(items.iter().map(Value::from).collect())))
                        }
                    };
                    PlanArg { name: name.to_string(), input, value }
                })
                .collect();
            PlanNode {
                id: ids[&node_id],
                op: plan_op(&node.op),
                args,
                ty: node.ty.to_string(),
                declared: node.declared,
                attrs: PlanAttrs {
                    retry: node.attrs.retry,
                    timeout_ms: node.attrs.timeout_ms,
                    cache: node.attrs.cache,
                    on_error_null: node.attrs.on_error_null,
                    gpu: node.attrs.gpu,
                    resources: node
                        .attrs
                        .resources
                        .iter()
                        .map(|(k, v)| (k.to_string(), *v))
                        .collect(),
                },
                name: node.name.as_ref().map(|n| n.to_string()),
                span: span(node.span),
                origin: node
                    .origin
                    .iter()
                    .map(|(pipeline, at)| PlanCall {
                        pipeline: pipeline.to_string(),
                        at: span(*at),
                    })
                    .collect(),
            }
        })
        .collect();
    let mut plan = Plan {
        format: PLAN_FORMAT.into(),
        version: PLAN_VERSION,
        hash: String::new(),
        source,
        params,
        nodes,
        output: dag.output.and_then(|o| ids.get(&o).copied()),
        bindings: bindings
            .iter()
            .filter_map(|(node, binding)| Some((ids.get(node)?.to_string(), binding.clone())))
            .collect(),
    };
    plan.hash = plan.content_hash();
    plan
}

fn plan_op(op: &Op) -> PlanOp {
    match op {
        Op::Param(name) => PlanOp::Param { name: name.to_string() },
        Op::Const(value) => PlanOp::Const { value: Value::from(value) },
        Op::List => PlanOp::List,
        Op::Column(name) => PlanOp::Column { name: name.to_string() },
        Op::Binary(op) => PlanOp::Binary { op: op.as_str().into() },
        Op::Unary(aigrid_lang::ast::UnaryOp::Not) => PlanOp::Unary { op: "!".into() },
        Op::Unary(aigrid_lang::ast::UnaryOp::Neg) => PlanOp::Unary { op: "-".into() },
        Op::Std { package, name } => PlanOp::Std { name: format!("{package}.{name}") },
        Op::Ai(requirement) => PlanOp::Ai {
            name: requirement.name.to_string(),
            signature: requirement.signature.clone(),
            predicate: requirement.predicate.clone(),
            prefer: requirement
                .prefer
                .iter()
                .map(|(key, desc)| PlanPrefer {
                    key: key.to_string(),
                    order: if *desc { "desc" } else { "asc" }.into(),
                })
                .collect(),
            fallback: requirement.fallback,
        },
        Op::Sql(query) => PlanOp::Sql { query: query.clone() },
        Op::Fused(steps) => PlanOp::Fused {
            steps: steps
                .iter()
                .map(|step| PlanStep {
                    op: format!("std.tensor.{}", step.op),
                    args: step
                        .args
                        .iter()
                        .map(|(name, arg)| {
                            let mut out = PlanStepArg {
                                name: name.to_string(),
                                input: None,
                                step: None,
                                value: None,
                            };
                            match arg {
                                FusedArg::Input(port) => out.input = Some(*port),
                                FusedArg::Step(s) => out.step = Some(*s as u32),
                                FusedArg::Const(literal) => out.value = Some(Value::from(literal)),
                            }
                            out
                        })
                        .collect(),
                })
                .collect(),
        },
        Op::Check => PlanOp::Check,
        Op::Output => PlanOp::Output,
        Op::Assert(message) => PlanOp::Assert { message: message.clone() },
    }
}
