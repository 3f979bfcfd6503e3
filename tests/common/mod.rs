//! Helpers shared by the workspace-level test crates.

use std::path::Path;

/// The cards of `examples/cards/`, which bind the `ai`s of the examples and test programs.
pub fn example_cards() -> Vec<aigrid_discovery::Card> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cards");
    let mut paths: Vec<_> =
        std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| aigrid_discovery::Card::from_yaml(&std::fs::read_to_string(p).ok()?).ok())
        .collect()
}
