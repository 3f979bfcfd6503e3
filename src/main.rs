//! `aigridc`: the aigrid command line. A thin layer over the phase crates: it parses
//! arguments, reads files, calls the phases and prints what they report.

mod cli;

use std::process::ExitCode;

/// mimalloc, returning the memory of a streaming run's large Arrow buffers (glibc's malloc
/// keeps it).
#[global_allocator]
static ALLOCATOR: aigrid_executor::Allocator = aigrid_executor::Allocator;

fn main() -> ExitCode {
    aigrid_executor::configure_allocator();
    cli::run().into()
}
