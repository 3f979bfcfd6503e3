//! `aigridc check`: report every problem in the given files.

use aigrid_lang::{Diagnostic, Sources};

use super::ExitStatus;
use super::args::CheckArgs;
use super::{inputs, output};

pub fn run(args: &CheckArgs) -> ExitStatus {
    let mut sources = Sources::new();
    let (files, mut status) = inputs::load(&args.paths, &mut sources);
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    for input in &files {
        match input.invalid.clone() {
            Some(invalid) => diagnostics.push(invalid),
            None => {
                let text = sources.get(input.id).map_or("", |file| file.text());
                diagnostics.extend(aigrid_lang::parse(input.id, text).diagnostics);
            }
        }
    }
    let format = inputs::diagnostic_format(args.format);
    status = status.max(output::print(&aigrid_lang::render(&diagnostics, &sources, format)));
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
