//! `aigridc check`: report every problem in the given files.

use aigrid_lang::Diagnostic;

use super::ExitStatus;
use super::args::CheckArgs;
use super::world::FsWorld;
use super::{inputs, output};

pub fn run(args: &CheckArgs) -> ExitStatus {
    let mut world = FsWorld::new();
    let (files, mut status) = inputs::load(&args.paths, &mut world);
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    let mut readable = Vec::new();
    for input in &files {
        match input.invalid.clone() {
            Some(invalid) => diagnostics.push(invalid),
            None => readable.push(input.id),
        }
    }
    diagnostics.extend(aigrid_compiler::check(&mut world, &readable));
    // File by file, in the order given; within a file, as the compiler reported them.
    diagnostics.sort_by_key(|d| d.file);
    for error in world.take_errors() {
        output::error(&error);
        status = ExitStatus::Error;
    }
    let format = inputs::diagnostic_format(args.format);
    status = status.max(output::print(&aigrid_lang::render(&diagnostics, world.sources(), format)));
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    if !args.output.quiet && args.format != super::args::OutputFormat::Json {
        output::note(&format!(
            "checked {} file{}: {} error{}, {} warning{}\n",
            files.len(),
            plural(files.len()),
            errors,
            plural(errors),
            warnings,
            plural(warnings)
        ));
    }
    if errors > 0 {
        status = status.max(ExitStatus::Failure);
    }
    status
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
