//! `AigridCodec`: aigrid's extension nodes in DataFusion's protobuf plan format
//! (datafusion-proto), so that a stage can be shipped to another process (a Ballista worker)
//! and run there unchanged.
//!
//! An aigrid node is encoded as `AGX1`, a little-endian `u32` length, a JSON header, then the
//! Arrow data it carries (schemas, whole arguments) as Arrow IPC streams, each after a `u64`
//! length. A node or function it does not know goes to the next codec, which for a Ballista
//! cluster is Ballista's own (its shuffle nodes), and otherwise is DataFusion's default.
//! Built-in AIs are found by name in the decoding process's [`Library`]: one it does not offer
//! (a worker without the model) decodes to a binding whose calls fail with an error that names
//! it, so that the call fails over, and a process that only plans (a coordinator) needs none.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use aigrid_builtins::{Args, Library, Value as AiValue};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::ScalarUDF;
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::physical_plan::{
    DefaultPhysicalExtensionCodec, PhysicalExtensionCodec, PhysicalProtoConverterExtension,
};
use serde::{Deserialize, Serialize};

use crate::ai_call::{AiCall, AiCallExec, Binding};
use crate::declared::not_null;
use crate::gather::GatherExec;
use crate::kernel::{Kernel, TensorOp};
use crate::placement::GpuExec;
use crate::responses::Responses;
use crate::store::Location;
use crate::tensor_exec::TensorKernelExec;
use crate::write::Format;
use crate::write_exec::WriteExec;

const MAGIC: &[u8; 4] = b"AGX1";

/// The codec of aigrid's extension nodes, in front of another codec.
pub struct AigridCodec {
    library: Library,
    next: Arc<dyn PhysicalExtensionCodec>,
}

impl AigridCodec {
    /// A codec that finds built-in AIs in `library` and passes what it does not know to
    /// DataFusion's default codec.
    pub fn new(library: Library) -> AigridCodec {
        AigridCodec::before(library, Arc::new(DefaultPhysicalExtensionCodec {}))
    }

    /// A codec that passes what it does not know to `next` (Ballista's codec on a cluster).
    pub fn before(library: Library, next: Arc<dyn PhysicalExtensionCodec>) -> AigridCodec {
        AigridCodec { library, next }
    }
}

impl fmt::Debug for AigridCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AigridCodec").field("next", &self.next).finish_non_exhaustive()
    }
}

/// The header of an encoded node; `Blob(i)` is the i-th Arrow IPC stream after it.
#[derive(Serialize, Deserialize)]
enum Node {
    AiCall {
        name: String,
        /// Card id and endpoint of each binding, primary first.
        bindings: Vec<(String, String)>,
        whole: Vec<(String, Whole)>,
        streams_table: bool,
        retry: u32,
        on_error_null: bool,
        batch_size: usize,
        schema: usize,
        streamed: String,
        constants: serde_json::Map<String, serde_json::Value>,
        timeout_ms: Option<u64>,
        /// Where answers are kept, and the node they belong to.
        responses: Option<(Location, u32)>,
    },
    Chunk {
        column: String,
        size: usize,
        overlap: usize,
        schema: usize,
    },
    Zip {
        schema: usize,
    },
    Write {
        location: Location,
        format: Format,
    },
    Tensor {
        op: TensorOp,
        schema: usize,
    },
    /// [`GpuExec`]: its input needs a worker with a GPU.
    Gpu,
}

/// A whole argument of an AI call.
#[derive(Serialize, Deserialize)]
enum Whole {
    Scalar(serde_json::Value),
    /// A column: the blob holds a one-column batch.
    Column(usize),
    /// A table: the blob holds its rows.
    Table(usize),
}

fn error(message: impl Into<String>) -> DataFusionError {
    DataFusionError::Plan(format!("aigrid plan codec: {}", message.into()))
}

/// Arrow data on its way into an encoded node.
#[derive(Default)]
struct Blobs(Vec<Vec<u8>>);

impl Blobs {
    fn add(&mut self, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<usize> {
        let mut bytes = Vec::new();
        let mut writer = StreamWriter::try_new(&mut bytes, schema)?;
        for batch in batches {
            writer.write(batch)?;
        }
        writer.finish()?;
        drop(writer);
        self.0.push(bytes);
        Ok(self.0.len() - 1)
    }
}

/// Reads blob `i`: its schema and batches.
fn blob(blobs: &[&[u8]], i: usize) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let bytes = blobs.get(i).ok_or_else(|| error(format!("no Arrow data #{i}")))?;
    let reader = StreamReader::try_new(*bytes, None)?;
    let schema = reader.schema();
    let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((schema, batches))
}

impl AigridCodec {
    /// The header and blobs of `node`, if it is aigrid's.
    fn encode_node(&self, node: &dyn ExecutionPlan) -> Result<Option<(Node, Blobs)>> {
        let mut blobs = Blobs::default();
        let header = if let Some(exec) = node.downcast_ref::<AiCallExec>() {
            let call = exec.call();
            let mut whole = Vec::with_capacity(call.whole.len());
            for (name, value) in &call.whole {
                let encoded = match value {
                    AiValue::Scalar(json) => Whole::Scalar(json.clone()),
                    AiValue::Column(field, array) => {
                        let schema = Arc::new(Schema::new(vec![field.clone()]));
                        let batch = RecordBatch::try_new(schema.clone(), vec![array.clone()])?;
                        Whole::Column(blobs.add(&schema, &[batch])?)
                    }
                    AiValue::Table(batch) => {
                        Whole::Table(blobs.add(&batch.schema(), std::slice::from_ref(batch))?)
                    }
                };
                whole.push((name.clone(), encoded));
            }
            Node::AiCall {
                name: call.name.clone(),
                bindings: call
                    .bindings
                    .iter()
                    .map(|b| (b.card.clone(), b.endpoint.clone()))
                    .collect(),
                whole,
                streams_table: call.streams_table,
                retry: call.retry,
                on_error_null: call.on_error_null,
                batch_size: call.batch_size,
                schema: blobs.add(&call.schema, &[])?,
                streamed: call.streamed.clone(),
                constants: call.constants.clone(),
                timeout_ms: call.timeout.map(|t| t.as_millis() as u64),
                responses: call.responses.as_ref().map(|r| (r.dir().clone(), r.node())),
            }
        } else if let Some(exec) = node.downcast_ref::<GatherExec>() {
            match exec.op().as_any().downcast_ref::<Kernel>() {
                Some(Kernel::Chunk { column, size, overlap, schema }) => Node::Chunk {
                    column: column.clone(),
                    size: *size,
                    overlap: *overlap,
                    schema: blobs.add(schema, &[])?,
                },
                Some(Kernel::Zip(schema)) => Node::Zip { schema: blobs.add(schema, &[])? },
                None => return Ok(None),
            }
        } else if let Some(exec) = node.downcast_ref::<TensorKernelExec>() {
            Node::Tensor { op: exec.op().clone(), schema: blobs.add(&exec.schema(), &[])? }
        } else if let Some(exec) = node.downcast_ref::<WriteExec>() {
            Node::Write { location: exec.location().clone(), format: exec.format() }
        } else if node.downcast_ref::<GpuExec>().is_some() {
            Node::Gpu
        } else {
            return Ok(None);
        };
        Ok(Some((header, blobs)))
    }

    /// The node `header` describes, over `inputs`.
    fn decode_node(
        &self,
        header: Node,
        blobs: &[&[u8]],
        inputs: &[Arc<dyn ExecutionPlan>],
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let one_input = || match inputs {
            [input] => Ok(input.clone()),
            _ => Err(error(format!("expected one input, got {}", inputs.len()))),
        };
        Ok(match header {
            Node::AiCall {
                name,
                bindings,
                whole,
                streams_table,
                retry,
                on_error_null,
                batch_size,
                schema,
                streamed,
                constants,
                timeout_ms,
                responses,
            } => {
                let bindings = bindings
                    .into_iter()
                    .map(|(card, endpoint)| match endpoint.strip_prefix("builtin:") {
                        Some(builtin) => match self.library.get(builtin) {
                            Some(b) => Binding::builtin(card, b.clone()),
                            None => {
                                let why = format!(
                                    "the built-in AI `{builtin}` is not offered by the process \
                                     that ran this call (pid {}): run `aigridc models ls` there",
                                    std::process::id()
                                );
                                Binding::unavailable(card, endpoint, why)
                            }
                        },
                        None => Binding::flight(card, endpoint),
                    })
                    .collect::<Vec<_>>();
                let mut args = Args::new();
                for (arg, value) in whole {
                    let value = match value {
                        Whole::Scalar(json) => AiValue::Scalar(json),
                        Whole::Column(i) => {
                            let (schema, batches) = blob(blobs, i)?;
                            let batch =
                                datafusion::arrow::compute::concat_batches(&schema, &batches)?;
                            AiValue::Column(schema.fields()[0].clone(), batch.column(0).clone())
                        }
                        Whole::Table(i) => {
                            let (schema, batches) = blob(blobs, i)?;
                            AiValue::Table(datafusion::arrow::compute::concat_batches(
                                &schema, &batches,
                            )?)
                        }
                    };
                    args.insert(arg, value);
                }
                let call = AiCall {
                    name,
                    bindings,
                    whole: args,
                    streams_table,
                    retry,
                    on_error_null,
                    batch_size,
                    schema: blob(blobs, schema)?.0,
                    streamed,
                    constants,
                    timeout: timeout_ms.map(Duration::from_millis),
                    calls: AtomicU64::new(0),
                    null_rows: AtomicU64::new(0),
                    failed_attempts: AtomicU64::new(0),
                    responses: responses.map(|(dir, node)| Responses::new(dir, node)),
                    reused: AtomicU64::new(0),
                    uncounted: Default::default(),
                };
                Arc::new(AiCallExec::new(Arc::new(call), one_input()?))
            }
            Node::Chunk { column, size, overlap, schema } => {
                let schema = blob(blobs, schema)?.0;
                let kernel = Kernel::Chunk { column, size, overlap, schema: schema.clone() };
                Arc::new(GatherExec::new(Arc::new(kernel), inputs.to_vec(), schema))
            }
            Node::Zip { schema } => {
                let schema = blob(blobs, schema)?.0;
                Arc::new(GatherExec::new(
                    Arc::new(Kernel::Zip(schema.clone())),
                    inputs.to_vec(),
                    schema,
                ))
            }
            Node::Write { location, format } => {
                Arc::new(WriteExec::new(location, format, one_input()?))
            }
            Node::Tensor { op, schema } => {
                Arc::new(TensorKernelExec::new(op, one_input()?, blob(blobs, schema)?.0))
            }
            Node::Gpu => Arc::new(GpuExec::new(one_input()?)),
        })
    }
}

impl PhysicalExtensionCodec for AigridCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Some(rest) = buf.strip_prefix(MAGIC) else {
            return self.next.try_decode(buf, inputs, ctx, proto_converter);
        };
        let (len, rest) = split_len::<4>(rest)?;
        let header = rest.get(..len).ok_or_else(|| error("a truncated node"))?;
        let header: Node = serde_json::from_slice(header).map_err(|e| error(e.to_string()))?;
        let mut rest = &rest[len..];
        let mut blobs = Vec::new();
        while !rest.is_empty() {
            let (len, after) = split_len::<8>(rest)?;
            blobs.push(after.get(..len).ok_or_else(|| error("truncated Arrow data"))?);
            rest = &after[len..];
        }
        self.decode_node(header, &blobs, inputs)
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        let Some((header, blobs)) = self.encode_node(node.as_ref())? else {
            return self.next.try_encode(node, buf, proto_converter);
        };
        let header = serde_json::to_vec(&header).map_err(|e| error(e.to_string()))?;
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&(header.len() as u32).to_le_bytes());
        buf.extend_from_slice(&header);
        for blob in blobs.0 {
            buf.extend_from_slice(&(blob.len() as u64).to_le_bytes());
            buf.extend_from_slice(&blob);
        }
        Ok(())
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        if name == not_null().name() {
            return Ok(not_null());
        }
        self.next.try_decode_udf(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        if node.name() == not_null().name() {
            return Ok(());
        }
        self.next.try_encode_udf(node, buf)
    }
}

/// A little-endian length of `N` bytes at the start of `bytes`, and what follows it.
fn split_len<const N: usize>(bytes: &[u8]) -> Result<(usize, &[u8])> {
    let head = bytes.get(..N).ok_or_else(|| error("a truncated length"))?;
    let mut full = [0u8; 8];
    full[..N].copy_from_slice(head);
    let len = usize::try_from(u64::from_le_bytes(full)).map_err(|_| error("a length too large"))?;
    Ok((len, &bytes[N..]))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use aigrid_builtins::{Library, ModelStore};
    use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::memory::MemorySourceConfig;
    use datafusion::physical_plan::ExecutionPlan;
    use datafusion::prelude::SessionContext;
    use datafusion_proto::bytes::{
        physical_plan_from_bytes_with_extension_codec, physical_plan_to_bytes_with_extension_codec,
    };

    use super::AigridCodec;
    use crate::ai_call::{AiCall, AiCallExec, Binding};
    use crate::responses::Responses;

    fn call(bindings: Vec<Binding>) -> Arc<dyn ExecutionPlan> {
        let schema = Arc::new(Schema::new(vec![Field::new("text", DataType::Utf8, false)]));
        let texts: ArrayRef = Arc::new(StringArray::from(vec!["a", "b"]));
        let batch =
            RecordBatch::try_new(schema.clone(), vec![texts]).unwrap_or_else(|e| panic!("{e}"));
        let input = MemorySourceConfig::try_new_exec(&[vec![batch]], schema.clone(), None)
            .unwrap_or_else(|e| panic!("{e}"));
        let call = AiCall {
            name: "label".into(),
            bindings,
            whole: Default::default(),
            streams_table: true,
            retry: 2,
            on_error_null: false,
            batch_size: 64,
            schema,
            streamed: "text".into(),
            constants: Default::default(),
            timeout: None,
            calls: Default::default(),
            null_rows: Default::default(),
            failed_attempts: Default::default(),
            responses: Some(Responses::new(std::path::PathBuf::from("responses").into(), 7)),
            reused: Default::default(),
            uncounted: Default::default(),
        };
        Arc::new(AiCallExec::new(Arc::new(call), input))
    }

    #[test]
    fn a_node_round_trips_and_a_missing_builtin_fails_its_calls_by_name() {
        let library = Library::new(&ModelStore::at("no-models"));
        let codec = AigridCodec::new(library);
        let task = SessionContext::new().task_ctx();
        let plan = call(vec![Binding::flight("echo.1".into(), "grpc://127.0.0.1:1".into())]);
        let bytes = physical_plan_to_bytes_with_extension_codec(plan, &codec)
            .unwrap_or_else(|e| panic!("{e}"));
        let decoded = physical_plan_from_bytes_with_extension_codec(&bytes, &task, &codec)
            .unwrap_or_else(|e| panic!("{e}"));
        let exec = decoded.downcast_ref::<AiCallExec>().unwrap_or_else(|| panic!("{decoded:?}"));
        assert_eq!(exec.call().bindings[0].endpoint, "grpc://127.0.0.1:1");
        assert_eq!((exec.call().retry, exec.call().on_error_null), (2, false));
        let responses = exec.call().responses.as_ref().map(|r| (r.dir().clone(), r.node()));
        assert_eq!(responses, Some((std::path::PathBuf::from("responses").into(), 7)));

        // A plan naming a built-in AI this process does not offer decodes (a coordinator
        // plans without models); calling it fails, naming it.
        let mut bytes = bytes.to_vec();
        let at = bytes.windows(19).position(|w| w == b"grpc://127.0.0.1:1\"").unwrap_or(0);
        assert!(at > 0);
        bytes.splice(at..at + 18, b"builtin:minilm.xyz".iter().copied());
        let decoded = physical_plan_from_bytes_with_extension_codec(&bytes, &task, &codec)
            .unwrap_or_else(|e| panic!("{e}"));
        let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
        let error = runtime
            .block_on(datafusion::physical_plan::collect(decoded, task.clone()))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains(
                "every grid AI bound to `label` failed: `echo.1`: the built-in AI `minilm.xyz` \
                 is not offered by the process"
            ),
            "{error}"
        );

        // Truncated bytes are an error, not a panic.
        for cut in [10, bytes.len() / 2, bytes.len() - 3] {
            assert!(
                physical_plan_from_bytes_with_extension_codec(&bytes[..cut], &task, &codec)
                    .is_err()
            );
        }
    }

    #[test]
    fn a_gpu_marker_round_trips_and_is_found_in_its_stage() {
        let codec = AigridCodec::new(Library::new(&ModelStore::at("no-models")));
        let task = SessionContext::new().task_ctx();
        let plan: Arc<dyn ExecutionPlan> = Arc::new(crate::GpuExec::new(call(vec![])));
        assert!(crate::needs_gpu(&plan));
        assert!(!crate::needs_gpu(&call(vec![])));
        let bytes = physical_plan_to_bytes_with_extension_codec(plan, &codec)
            .unwrap_or_else(|e| panic!("{e}"));
        let decoded = physical_plan_from_bytes_with_extension_codec(&bytes, &task, &codec)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(crate::needs_gpu(&decoded), "{decoded:?}");
        assert!(decoded.children()[0].downcast_ref::<AiCallExec>().is_some());
    }
}
