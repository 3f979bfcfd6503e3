//! Generates the journal's gRPC service from `proto/journal.proto` with protox, a protobuf
//! compiler in Rust: building needs no `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/journal.proto");
    let descriptors = protox::compile(["proto/journal.proto"], ["proto"])?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
