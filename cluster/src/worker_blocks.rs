//! A worker's answer to a fetch of a whole task output (Ballista's `IO_BLOCK_TRANSPORT` action:
//! a file of its own, or a partition of a sort-shuffle output), written without copying: the
//! file is mapped, cut at its Arrow IPC messages, and each piece goes to the socket as it lies
//! in the page cache, behind a gRPC message header written by hand.
//!
//! Ballista's Flight service answers the same call with 8 MiB blocks read into fresh buffers
//! and encoded again by tonic (two copies on the worker), cut anywhere, so that the reader's
//! Arrow decoder copies every message that straddles two blocks and realigns the rest (the
//! blocks reach it two to five bytes past an aligned address). Here each gRPC message holds
//! whole IPC messages, so the reader never copies one that straddles two pieces, and its
//! protobuf header is padded so that they start eight bytes past the start of the message:
//! where tonic's buffer starts that message at an aligned address (its usual case, not a
//! guarantee; `benches/cluster.rs` still sees some batches realigned), Ballista's reader
//! decodes them in place. The answer is the same gRPC stream of `arrow_flight::Result`s, so
//! every Ballista reader (other workers' shuffle reads, the run's fetches) takes it unchanged.
//!
//! Any other call, and any fetch this does not handle (byte ranges, index files, a file that is
//! not made of IPC streams, a file or partition that cannot be found), goes to Ballista's
//! service as it came, which answers or refuses it as before.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow_flight::Action;
use arrow_flight::flight_service_server::FlightServiceServer;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use ballista_core::execution_plans::create_shuffle_path;
use ballista_core::execution_plans::sort_shuffle::{
    ShuffleIndex, get_index_path, is_sort_shuffle_output,
};
use ballista_core::serde::decode_protobuf;
use ballista_core::serde::scheduler::{Action as BallistaAction, ShuffleFileKind, ShuffleLayout};
use datafusion::arrow::ipc::root_as_message;
use futures::StreamExt as _;
use http_body::Frame;
use http_body_util::StreamBody;
use prost::Message as _;
use tower::ServiceExt as _;

use crate::worker_flight::FetchTimer;
use crate::worker_metrics::{Fetch, WorkerMetrics};

/// The route of Flight's `DoAction`, which this answers in place of Ballista's service.
pub(crate) const DO_ACTION: &str = "/arrow.flight.protocol.FlightService/DoAction";

/// The largest request taken (a fetch's action is a few hundred bytes).
const MAX_REQUEST: usize = 1 << 20;

/// IPC messages go together into gRPC messages of up to this many bytes, as Ballista's blocks.
const GROUP: usize = 8 << 20;

/// A single IPC message up to this size is one gRPC message (a batch of 8,192 rows of a
/// 384-wide `f32` tensor is 12 MiB), within the 16 MiB that Ballista's readers accept by
/// default; a larger one is cut into [`GROUP`]-sized blocks, as Ballista's service cuts it.
const WHOLE: usize = 15 << 20;

/// Where the IPC bytes of a gRPC message start: the protobuf field's tag and its length,
/// padded to eight bytes, so that they are as aligned as the reader's buffer.
const PREFIX: usize = 8;

/// The `DoAction` route of a worker: fetches of whole task outputs (a file of its own, or a
/// sort-shuffle partition) are answered here, every other call by `flight`.
#[derive(Clone)]
pub(crate) struct Blocks<S> {
    pub flight: FlightServiceServer<S>,
    pub work_dir: String,
    pub metrics: Arc<WorkerMetrics>,
}

impl<S: arrow_flight::flight_service_server::FlightService> Blocks<S> {
    /// Answers one `DoAction` call.
    pub async fn answer(self, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        // A request body that cannot be read goes on to Ballista's service as an empty one,
        // which refuses it as a malformed call.
        let body = axum::body::to_bytes(body, MAX_REQUEST).await.unwrap_or_default();
        if let Some(wanted) = self.wanted(&body)
            && let Some(answer) = self.file(wanted)
        {
            return answer;
        }
        let request = Request::from_parts(parts, Body::from(body));
        match self.flight.oneshot(request).await {
            Ok(response) => response.map(Body::new),
            Err(never) => match never {},
        }
    }

    /// The task output that `body`, a gRPC `DoAction` request, fetches whole; `None` for any
    /// other request.
    fn wanted(&self, body: &[u8]) -> Option<Wanted> {
        let (&[0], rest) = body.split_at_checked(1)? else { return None };
        let (length, message) = rest.split_at_checked(4)?;
        let length = u32::from_be_bytes(length.try_into().ok()?) as usize;
        if length != message.len() {
            return None;
        }
        let action = Action::decode(message).ok()?;
        if action.r#type != "IO_BLOCK_TRANSPORT" {
            return None;
        }
        let BallistaAction::FetchPartition {
            job_id,
            stage_id,
            partition_id,
            file_id,
            layout,
            file_kind: ShuffleFileKind::Data,
            byte_ranges,
            ..
        } = decode_protobuf(&action.body).ok()?
        else {
            return None;
        };
        if !byte_ranges.is_empty() {
            return None;
        }
        let sorted = layout == ShuffleLayout::Sort;
        let path =
            create_shuffle_path(&self.work_dir, &job_id, stage_id, partition_id, file_id, sorted)
                .ok()?;
        match (sorted, is_sort_shuffle_output(&path)) {
            (false, false) => Some(Wanted { path, partition: None }),
            (true, true) => Some(Wanted { path, partition: Some(partition_id) }),
            _ => None,
        }
    }

    /// The answer to a fetch of `wanted`; `None` if its file cannot be opened or is not made of
    /// IPC streams.
    fn file(&self, wanted: Wanted) -> Option<Response> {
        let file = std::fs::File::open(&wanted.path).ok()?;
        // Mapping a file is `unsafe` as its bytes change if the file does.
        // SAFETY: a task output file is written whole before its task reports done, and only
        // fetched after that; it is never written again, only removed with its job, which
        // leaves the mapping intact.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
        let ranges = match wanted.partition {
            None => std::iter::once(0..map.len()).collect(),
            Some(partition) => sorted_ranges(&wanted.path, partition, map.len())?,
        };
        let mut all = Vec::new();
        for range in ranges {
            let offset = range.start;
            let within = pieces(map.get(range)?)?;
            all.extend(within.into_iter().map(|p| p.start + offset..p.end + offset));
        }
        let pieces = all;
        let bytes = Bytes::from_owner(map);
        self.metrics.fetches.get_or_create(&Fetch { kind: "do_action" }).inc();
        let timer = FetchTimer { started: Instant::now(), metrics: self.metrics.clone() };
        let frames = futures::stream::iter(pieces).flat_map(move |piece| {
            timer.metrics.bytes.inc_by((5 + PREFIX + piece.len()) as u64);
            let piece = bytes.slice(piece);
            futures::stream::iter([header(piece.len()), piece])
        });
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        let frames = frames
            .map(Frame::data)
            .chain(futures::stream::once(async { Frame::trailers(trailers) }))
            .map(Ok::<_, std::convert::Infallible>);
        Response::builder()
            .header(header::CONTENT_TYPE, "application/grpc")
            .body(Body::new(StreamBody::new(frames)))
            .ok()
    }
}

/// A task output a fetch asks for whole: a file of its own, or one partition of a sort-shuffle
/// output (every partition of a task in one file, with an index beside it).
struct Wanted {
    path: PathBuf,
    partition: Option<usize>,
}

/// The byte ranges of `partition` in the sort-shuffle output at `path`, `length` bytes long, as
/// Ballista's service sends them: the schema-header stream that starts the file, then the
/// partition's streams; `None` if the index does not give them.
fn sorted_ranges(path: &Path, partition: usize, length: usize) -> Option<Vec<Range<usize>>> {
    let index = ShuffleIndex::read_from_file(&get_index_path(path)).ok()?;
    if partition >= index.partition_count() {
        return None;
    }
    let header = usize::try_from(index.header_end_offset()).ok()?;
    let (start, end) = index.get_partition_range(partition);
    let (start, end) = (usize::try_from(start).ok()?, usize::try_from(end).ok()?);
    (header <= start && start <= end && end <= length).then(|| vec![0..header, start..end])
}

/// The gRPC message header and protobuf field header (`Result.body`, field 1) ahead of
/// `length` bytes: the length's varint padded with continuation bytes to [`PREFIX`] in all,
/// as protobuf allows.
fn header(length: usize) -> Bytes {
    let mut header = Vec::with_capacity(5 + PREFIX);
    header.push(0);
    header.extend_from_slice(&((PREFIX + length) as u32).to_be_bytes());
    header.push(0x0a);
    let mut rest = length as u64;
    for _ in 0..PREFIX - 2 {
        header.push((rest & 0x7f) as u8 | 0x80);
        rest >>= 7;
    }
    header.push(rest as u8);
    Bytes::from(header)
}

/// The pieces an Arrow IPC stream is sent in: whole messages grouped up to [`GROUP`] bytes, a
/// message up to [`WHOLE`] bytes alone, a longer one in [`GROUP`]-sized blocks; `None` if
/// `stream` is not an IPC stream with continuation markers.
fn pieces(stream: &[u8]) -> Option<Vec<Range<usize>>> {
    let mut pieces: Vec<Range<usize>> = Vec::new();
    let mut start = 0;
    while start < stream.len() {
        let end = start + message_length(&stream[start..])?;
        let length = end - start;
        match pieces.last_mut() {
            Some(last) if last.end == start && last.len() + length <= GROUP => last.end = end,
            _ if length <= WHOLE => pieces.push(start..end),
            _ => pieces.extend((start..end).step_by(GROUP).map(|s| s..(s + GROUP).min(end))),
        }
        start = end;
    }
    Some(pieces)
}

/// The length of the IPC message at the start of `bytes` (its continuation marker, metadata
/// length, metadata and body), or of the end-of-stream marker; `None` if there is none.
fn message_length(bytes: &[u8]) -> Option<usize> {
    let (marker, rest) = bytes.split_at_checked(4)?;
    if marker != [0xff; 4] {
        return None;
    }
    let (length, rest) = rest.split_at_checked(4)?;
    let length = u32::from_le_bytes(length.try_into().ok()?) as usize;
    if length == 0 {
        return Some(8);
    }
    let message = root_as_message(rest.get(..length)?).ok()?;
    let body = usize::try_from(message.bodyLength()).ok()?;
    let total = 8usize.checked_add(length)?.checked_add(body)?;
    (total <= bytes.len()).then_some(total)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ballista_core::serde::scheduler::ByteRange;
    use ballista_executor::flight_service::BallistaFlightService;
    use datafusion::arrow::array::{Float32Array, RecordBatch};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::ipc::writer::StreamWriter;

    use super::*;

    fn stream(rows: &[usize]) -> Vec<u8> {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Float32, false)]));
        let mut writer = StreamWriter::try_new(Vec::new(), &schema).unwrap();
        for &n in rows {
            let values = Float32Array::from(vec![1.5; n]);
            writer
                .write(&RecordBatch::try_new(schema.clone(), vec![Arc::new(values)]).unwrap())
                .unwrap();
        }
        writer.into_inner().unwrap()
    }

    #[test]
    fn pieces_are_whole_messages_that_cover_the_stream() {
        // Two small batches go with the schema; a 12 MiB one alone; a 40 MiB one in blocks.
        let bytes = stream(&[10, 10, 3 << 20, 10 << 20]);
        let pieces = pieces(&bytes).unwrap();
        let lengths: Vec<usize> = pieces.iter().map(Range::len).collect();
        assert_eq!(pieces.first().map(|p| p.start), Some(0));
        assert_eq!(pieces.last().map(|p| p.end), Some(bytes.len()));
        assert!(pieces.windows(2).all(|w| w[0].end == w[1].start));
        assert!(lengths[0] < 1024, "{lengths:?}");
        assert!(lengths[1] > 12 << 20 && lengths[1] <= WHOLE, "{lengths:?}");
        assert_eq!(&lengths[2..7], &[GROUP; 5]);
        assert_eq!(lengths.len(), 8, "{lengths:?}");
        // The second piece is the 12 MiB batch's message, whole.
        assert_eq!(message_length(&bytes[pieces[1].clone()]), Some(lengths[1]));
    }

    #[test]
    fn a_file_that_is_not_an_ipc_stream_has_no_pieces() {
        assert!(pieces(b"ARROW1\0\0").is_none());
        let mut truncated = stream(&[100]);
        truncated.truncate(truncated.len() - 20);
        assert!(pieces(&truncated).is_none());
        assert_eq!(pieces(&[]), Some(vec![]));
    }

    /// The gRPC messages of an answer's body, and its `grpc-status`.
    async fn grpc_messages(answer: Response) -> (Vec<Bytes>, Option<String>) {
        use http_body_util::BodyExt as _;
        let mut body = answer.into_body();
        let (mut bytes, mut status) = (Vec::new(), None);
        while let Some(frame) = body.frame().await {
            let frame = frame.unwrap();
            if let Some(trailers) = frame.trailers_ref() {
                status = trailers.get("grpc-status").map(|v| v.to_str().unwrap().to_owned());
            } else if let Ok(data) = frame.into_data() {
                bytes.extend_from_slice(&data);
            }
        }
        let mut messages = Vec::new();
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let length = u32::from_be_bytes(rest[1..5].try_into().unwrap()) as usize;
            messages.push(Bytes::copy_from_slice(&rest[5..5 + length]));
            rest = &rest[5 + length..];
        }
        (messages, status)
    }

    fn fetch(file_id: Option<u64>, byte_ranges: Vec<ByteRange>) -> Request {
        fetch_of(ShuffleLayout::Passthrough, 0, file_id, byte_ranges)
    }

    fn fetch_of(
        layout: ShuffleLayout,
        partition_id: usize,
        file_id: Option<u64>,
        byte_ranges: Vec<ByteRange>,
    ) -> Request {
        let action = BallistaAction::FetchPartition {
            job_id: "job".into(),
            stage_id: 1,
            partition_id,
            host: "127.0.0.1".into(),
            port: 0,
            file_id,
            layout,
            file_kind: ShuffleFileKind::Data,
            byte_ranges,
        };
        let action: ballista_core::serde::protobuf::Action = action.try_into().unwrap();
        let action =
            Action { r#type: "IO_BLOCK_TRANSPORT".into(), body: action.encode_to_vec().into() };
        let message = action.encode_to_vec();
        let mut body = vec![0];
        body.extend_from_slice(&(message.len() as u32).to_be_bytes());
        body.extend_from_slice(&message);
        Request::builder()
            .method("POST")
            .uri(DO_ACTION)
            .header(header::CONTENT_TYPE, "application/grpc")
            .header("te", "trailers")
            .body(Body::from(body))
            .unwrap()
    }

    #[tokio::test]
    async fn a_whole_file_is_answered_in_whole_aligned_messages_and_the_rest_by_ballista() {
        let work_dir = std::env::temp_dir().join(format!("aigrid-blocks-{}", std::process::id()));
        let path = work_dir.join("job/1/0/data-7.arrow");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let bytes = stream(&[10, 3 << 20, 1 << 20]);
        std::fs::write(&path, &bytes).unwrap();
        let work_dir_name = work_dir.to_string_lossy().into_owned();
        let metrics = Arc::new(WorkerMetrics::default());
        let blocks = Blocks {
            flight: FlightServiceServer::new(BallistaFlightService::new(work_dir_name.clone())),
            work_dir: work_dir_name,
            metrics: metrics.clone(),
        };

        let (messages, status) =
            grpc_messages(blocks.clone().answer(fetch(Some(7), vec![])).await).await;
        assert_eq!(status.as_deref(), Some("0"));
        let mut sent = Vec::new();
        for message in &messages {
            // Each message's protobuf header is 8 bytes, and it holds whole IPC messages.
            let body = arrow_flight::Result::decode(message.clone()).unwrap().body;
            assert_eq!(message.len() - body.len(), PREFIX);
            assert_eq!(pieces(&body).map(|p| p.last().map(|p| p.end)), Some(Some(body.len())));
            sent.extend_from_slice(&body);
        }
        assert_eq!(sent, bytes);
        assert_eq!(messages.len(), 3, "the schema and a small batch, then one batch each");
        assert!(metrics.encode().contains("aigrid_fetches_total{kind=\"do_action\"} 1"));

        // Byte ranges, and a file that is not there, are Ballista's service's to answer.
        let range = ByteRange { offset: 0, length: 16 };
        let (messages, status) =
            grpc_messages(blocks.clone().answer(fetch(Some(7), vec![range])).await).await;
        assert_eq!((messages.len(), status.as_deref()), (1, Some("0")));
        assert_eq!(arrow_flight::Result::decode(messages[0].clone()).unwrap().body, bytes[..16]);
        let answer = blocks.answer(fetch(Some(8), vec![])).await;
        let status = answer.headers().get("grpc-status").map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(status.as_deref(), Some("13"), "Internal: the file cannot be opened");
        let _ = std::fs::remove_dir_all(&work_dir);
    }

    #[tokio::test]
    async fn a_partition_of_a_sort_shuffle_output_is_its_header_stream_and_its_own_streams() {
        let work_dir = std::env::temp_dir().join(format!("aigrid-sorted-{}", std::process::id()));
        let work_dir_name = work_dir.to_string_lossy().into_owned();
        let job = "job".into();
        let path = create_shuffle_path(&work_dir_name, &job, 1, 0, Some(3), true).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let (header, first, second) = (stream(&[]), stream(&[10]), stream(&[20, 3 << 20]));
        std::fs::write(&path, [header.clone(), first.clone(), second.clone()].concat()).unwrap();
        let mut index = ShuffleIndex::new(2);
        index.set_offset(0, header.len() as i64);
        index.set_offset(1, (header.len() + first.len()) as i64);
        index.set_total_length((header.len() + first.len() + second.len()) as i64);
        index.write_to_file(&get_index_path(&path)).unwrap();
        let blocks = Blocks {
            flight: FlightServiceServer::new(BallistaFlightService::new(work_dir_name.clone())),
            work_dir: work_dir_name,
            metrics: Arc::new(WorkerMetrics::default()),
        };

        let request = fetch_of(ShuffleLayout::Sort, 1, Some(3), vec![]);
        let (messages, status) = grpc_messages(blocks.clone().answer(request).await).await;
        assert_eq!(status.as_deref(), Some("0"));
        let bodies: Vec<Bytes> = messages
            .iter()
            .map(|m| arrow_flight::Result::decode(m.clone()).unwrap().body)
            .collect();
        assert!(messages.iter().zip(&bodies).all(|(m, b)| m.len() - b.len() == PREFIX));
        assert_eq!(bodies.concat(), [header, second].concat());
        // The header stream; the partition's schema and small batch; its 12 MiB batch, alone;
        // its end-of-stream marker.
        assert_eq!(bodies.iter().map(Bytes::len).filter(|&n| n == 8).count(), 1);
        assert_eq!(bodies.len(), 4);
        // A partition the index does not have is Ballista's to refuse.
        let answer = blocks.answer(fetch_of(ShuffleLayout::Sort, 2, Some(3), vec![])).await;
        let status = answer.headers().get("grpc-status").map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(status.as_deref(), Some("11"), "OutOfRange");
        let _ = std::fs::remove_dir_all(&work_dir);
    }

    #[test]
    fn the_header_is_a_grpc_and_a_padded_protobuf_header() {
        let body = vec![7u8; 300];
        let mut message = header(body.len()).to_vec();
        assert_eq!(message.len(), 5 + PREFIX);
        message.extend_from_slice(&body);
        assert_eq!(
            u32::from_be_bytes(message[1..5].try_into().unwrap()) as usize,
            message.len() - 5
        );
        let result = arrow_flight::Result::decode(&message[5..]).unwrap();
        assert_eq!(result.body.as_ref(), body.as_slice());
    }
}
