//! The documents in `spec/` stay true: every `ag` example in the language spec parses and is
//! formatted, `spec/errors.md` is what `aigridc explain --markdown` prints, the example of each
//! diagnostic code reports that code, and `spec/stdlib.md` is what `aigridc doc --markdown`
//! prints. `UPDATE_EXPECT=1` regenerates `spec/errors.md` and `spec/stdlib.md`.

use crate::common;

use std::path::Path;

use aigrid_lang::FileId;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The contents of the fenced code blocks of `markdown` whose info string is `lang`.
fn code_blocks<'a>(markdown: &'a str, lang: &str) -> Vec<&'a str> {
    let fence = format!("```{lang}\n");
    let mut blocks = Vec::new();
    let mut rest = markdown;
    while let Some(start) = rest.find(&fence) {
        let body = &rest[start + fence.len()..];
        let Some(end) = body.find("```") else { break };
        blocks.push(&body[..end]);
        rest = &body[end..];
    }
    blocks
}

/// The examples to build (fenced as `ag build [--param NAME=VALUE]...`), with their options.
fn build_blocks(markdown: &str) -> Vec<(aigrid_compiler::BuildOptions, &str)> {
    let mut blocks = Vec::new();
    let mut rest = markdown;
    while let Some(start) = rest.find("```ag build") {
        let after = &rest[start + "```ag build".len()..];
        let Some((info, body)) = after.split_once('\n') else { break };
        let Some(end) = body.find("```") else { break };
        let mut options = aigrid_compiler::BuildOptions::default();
        let mut words = info.split_whitespace();
        while let Some(word) = words.next() {
            if word == "--param"
                && let Some((name, value)) = words.next().and_then(|p| p.split_once('='))
            {
                options.params.push((name.to_owned(), value.to_owned()));
            }
        }
        blocks.push((options, &body[..end]));
        rest = &body[end..];
    }
    blocks
}

#[test]
fn every_language_spec_example_parses_and_is_formatted() {
    let spec = std::fs::read_to_string(root().join("spec/language.md")).unwrap_or_default();
    let blocks = code_blocks(&spec, "ag");
    assert!(blocks.len() >= 10, "spec/language.md should have examples, found {}", blocks.len());
    for (i, block) in blocks.iter().enumerate() {
        let parsed = aigrid_lang::parse(FileId(0), block);
        assert!(
            parsed.is_ok(),
            "example {} of spec/language.md does not parse: {:?}\n{block}",
            i + 1,
            parsed.diagnostics
        );
        let formatted = aigrid_lang::format(&parsed, block);
        assert_eq!(&formatted, block, "example {} of spec/language.md is not formatted", i + 1);
    }
}

#[test]
fn every_language_spec_example_checks() {
    let spec = std::fs::read_to_string(root().join("spec/language.md")).unwrap_or_default();
    let mut checked = 0;
    for (i, block) in code_blocks(&spec, "ag").iter().enumerate() {
        // Examples that import packages of their own (`acme.*`) show syntax only.
        if block.contains("use acme.") {
            continue;
        }
        let mut world = aigrid_compiler::MemoryWorld::new();
        let file = world.add_file("example.ag", block);
        let errors: Vec<String> = aigrid_compiler::check(&mut world, &[file])
            .into_iter()
            .filter(|d| d.is_error())
            .map(|d| format!("{}: {}", d.code, d.message))
            .collect();
        assert!(errors.is_empty(), "example {} of spec/language.md: {errors:?}\n{block}", i + 1);
        checked += 1;
    }
    assert!(checked >= 8, "expected examples to check, checked {checked}");
}

#[test]
fn errors_md_is_generated_from_the_code_docs() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_aigridc"))
        .args(["explain", "--markdown"])
        .output()
        .unwrap_or_else(|error| panic!("cannot run aigridc: {error}"));
    assert!(output.status.success());
    let markdown = String::from_utf8_lossy(&output.stdout);
    expect_test::expect_file![root().join("spec/errors.md")].assert_eq(&markdown);
}

#[test]
fn stdlib_md_is_generated_from_the_declarations() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_aigridc"))
        .args(["doc", "--markdown"])
        .output()
        .unwrap_or_else(|error| panic!("cannot run aigridc: {error}"));
    assert!(output.status.success());
    let markdown = String::from_utf8_lossy(&output.stdout);
    expect_test::expect_file![root().join("spec/stdlib.md")].assert_eq(&markdown);
}

#[test]
fn every_code_example_reports_its_code() {
    for doc in aigrid_lang::CODES.iter().chain(aigrid_compiler::CODES) {
        for heading in ["## What it means", "## Example", "## How to fix"] {
            assert!(doc.doc.contains(heading), "{} lacks `{heading}`", doc.code);
        }
        let examples = code_blocks(doc.doc, "ag");
        let builds = build_blocks(doc.doc);
        assert!(
            !examples.is_empty()
                || !builds.is_empty()
                || doc.doc.contains("```text")
                || doc.doc.contains("no program is meant to cause it"),
            "{} has no example",
            doc.code
        );
        for (options, example) in builds {
            let mut world = aigrid_compiler::MemoryWorld::new();
            for card in common::example_cards() {
                world.add_card(card);
            }
            let file = world.add_file("example.ag", example);
            let built = aigrid_compiler::build(&mut world, file, &options);
            assert!(
                built.diagnostics.iter().any(|d| d.code == doc.code),
                "building the example of {} reports {:?} instead:\n{example}",
                doc.code,
                built.diagnostics.iter().map(|d| &d.code).collect::<Vec<_>>()
            );
        }
        for example in examples {
            let mut world = aigrid_compiler::MemoryWorld::new();
            let file = world.add_file("example.ag", example);
            let diagnostics = aigrid_compiler::check(&mut world, &[file]);
            assert!(
                diagnostics.iter().any(|d| d.code == doc.code),
                "the example of {} reports {:?} instead:\n{example}",
                doc.code,
                diagnostics.iter().map(|d| &d.code).collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn codes_are_unique_and_ordered() {
    let codes: Vec<_> =
        aigrid_lang::CODES.iter().chain(aigrid_compiler::CODES).map(|doc| doc.code).collect();
    let mut sorted = codes.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(codes, sorted);
}
