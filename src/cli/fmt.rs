//! `aigridc fmt`: rewrite files in the canonical layout, or with `--check` list those that
//! would change.

use std::io::Read as _;
use std::path::Path;

use aigrid_lang::DiagnosticFormat;

use super::ExitStatus;
use super::args::FmtArgs;
use super::world::FsWorld;
use super::{inputs, output};

pub fn run(args: &FmtArgs) -> ExitStatus {
    if args.paths.iter().any(|p| p == Path::new("-")) {
        if args.paths.len() > 1 {
            output::error("`-` (standard input) cannot be combined with other paths");
            return ExitStatus::Error;
        }
        return stdin(args.check);
    }
    let mut world = FsWorld::new();
    let (files, mut status) = inputs::load(&args.paths, &mut world);
    let sources = world.sources();
    let mut changed = 0;
    let mut broken = 0;
    let count = files.len();
    for input in files {
        let (path, id, invalid) = (&input.path, input.id, input.invalid);
        let text = sources.get(id).map_or("", |file| file.text());
        let parsed = aigrid_lang::parse(id, text);
        let diagnostics: Vec<_> = invalid.into_iter().chain(parsed.diagnostics.clone()).collect();
        if !diagnostics.is_empty() {
            let human = inputs::diagnostic_format(super::args::OutputFormat::Human);
            output::note(&aigrid_lang::render(&diagnostics, sources, human));
            status = status.max(ExitStatus::Failure);
            broken += 1;
            continue;
        }
        let formatted = aigrid_lang::format(&parsed, text);
        if formatted == text {
            continue;
        }
        changed += 1;
        if args.check {
            status = status.max(output::print(&format!("would reformat: {}\n", path.display())));
            status = status.max(ExitStatus::Failure);
        } else if let Err(error) = output::write_file(path, &formatted) {
            output::error(&format!("cannot write `{}`: {error}", path.display()));
            status = ExitStatus::Error;
        }
    }
    if !args.output.quiet {
        let verb = if args.check { "would reformat" } else { "reformatted" };
        let skipped = if broken > 0 {
            format!(" ({broken} left unchanged: syntax errors)")
        } else {
            String::new()
        };
        output::note(&format!(
            "{verb} {changed} of {} file{}{skipped}\n",
            count,
            if count == 1 { "" } else { "s" }
        ));
    }
    status
}

/// Formats standard input to standard output.
fn stdin(check: bool) -> ExitStatus {
    let mut bytes = Vec::new();
    if let Err(error) = std::io::stdin().read_to_end(&mut bytes) {
        output::error(&format!("cannot read standard input: {error}"));
        return ExitStatus::Error;
    }
    let mut world = FsWorld::new();
    let (id, invalid) = world.add(Path::new("-"), "<stdin>".into(), bytes);
    let sources = world.sources();
    let text = sources.get(id).map_or("", |file| file.text()).to_owned();
    let parsed = aigrid_lang::parse(id, &text);
    let diagnostics: Vec<_> = invalid.into_iter().chain(parsed.diagnostics.clone()).collect();
    if !diagnostics.is_empty() {
        let human = DiagnosticFormat::Human { color: false };
        output::note(&aigrid_lang::render(&diagnostics, sources, human));
        return ExitStatus::Failure;
    }
    let formatted = aigrid_lang::format(&parsed, &text);
    if check {
        if formatted == text {
            return ExitStatus::Success;
        }
        return output::print("would reformat: <stdin>\n").max(ExitStatus::Failure);
    }
    output::print(&formatted)
}
