//! Generates the gRPC service from `proto/discovery.proto` with protox, a protobuf compiler in
//! Rust: building needs no `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/discovery.proto");
    let descriptors = protox::compile(["proto/discovery.proto"], ["proto"])?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
