//! The example of every standard-library operation type-checks: what its signature and typing
//! rule give is what the example's pipeline declares.

use aigrid_compiler::{MemoryWorld, check};

#[test]
fn every_std_example_checks() {
    let items = aigrid_stdlib::PACKAGES
        .iter()
        .flat_map(|p| p.items.iter().map(move |i| (Some(p.name), i)))
        .chain(aigrid_stdlib::PRELUDE.iter().map(|i| (None, i)));
    let mut checked = 0;
    for (package, item) in items {
        assert!(
            item.example.pipeline.starts_with("pipeline example("),
            "{}: example is a pipeline",
            item.name
        );
        let text = match package {
            Some(package) => {
                format!("use {package}.{{{}}}\n\n{}\n", item.name, item.example.pipeline)
            }
            None => format!("{}\n", item.example.pipeline),
        };
        let mut world = MemoryWorld::new();
        let file = world.add_file("example.ag", &text);
        let diagnostics = check(&mut world, &[file]);
        assert!(
            diagnostics.is_empty(),
            "the example of {} does not check: {diagnostics:#?}\n{text}",
            item.name
        );
        checked += 1;
    }
    assert!(checked >= 40, "expected every operation, checked {checked}");
}
