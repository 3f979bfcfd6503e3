//! Query latency over 100,000 cards (written below).
fn main() {}
