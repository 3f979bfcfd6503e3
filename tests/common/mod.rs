//! Helpers shared by the workspace-level test crates.

use std::path::Path;

/// The cards the examples and test programs bind to: the built-in AIs' (all of them, whether
/// their models are fetched or not) and the external ones of `examples/cards/`.
pub fn example_cards() -> Vec<aigrid_discovery::Card> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cards");
    let mut paths: Vec<_> =
        std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
    paths.sort();
    let external = paths
        .iter()
        .filter_map(|p| aigrid_discovery::Card::from_yaml(&std::fs::read_to_string(p).ok()?).ok());
    aigrid_builtins::shipped_cards().into_iter().chain(external).collect()
}
