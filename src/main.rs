//! `aigridc`: the aigrid command line. A thin layer over the phase crates: it parses
//! arguments, reads files, calls the phases and prints what they report.

mod cli;

use std::process::ExitCode;

/// mimalloc returns the memory of a streaming run's large Arrow buffers, which glibc's malloc
/// keeps (see the workspace manifest).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::run().into()
}
