//! The memory allocator of aigrid's programs: mimalloc, purging freed memory soon.
//!
//! A streaming run frees and allocates Arrow buffers of megabytes all the time, often on other
//! threads than the ones that made them. glibc's malloc keeps that memory (its mmap threshold
//! rises after each free), and so does mimalloc with its default purge delay: the peak resident
//! memory of a 2 GiB Parquet stream grew to about 1.1 GiB. With freed memory purged after 50 ms
//! it stays near 350 MiB, at about 10% of the throughput (`benches/streaming.rs`).

/// The allocator: `#[global_allocator] static ALLOCATOR: Allocator = Allocator;` in a
/// program's root, with [`configure_allocator`] first thing in `main`.
pub use mimalloc::MiMalloc as Allocator;

/// The index of mimalloc's `purge_delay` option in its `mi_option_t` (mimalloc v3's header,
/// stable across releases: options are only appended).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Milliseconds after which mimalloc returns freed memory to the system.
const PURGE_DELAY_MS: std::ffi::c_long = 50;

/// Sets the allocator's options; call it first thing in `main`.
#[allow(unsafe_code)]
pub fn configure_allocator() {
    // SAFETY: `mi_option_set` takes two integers and only stores the option's value; mimalloc
    // reads it on later purges. Called before the program starts its threads.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, PURGE_DELAY_MS) };
}
