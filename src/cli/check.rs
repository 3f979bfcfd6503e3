//! `aigridc check`: report every problem in the given files.

use aigrid_lang::{Diagnostic, Sources};

use super::ExitStatus;
use super::args::CheckArgs;
use super::{inputs, output};

pub fn run(args: &CheckArgs) -> ExitStatus {
    let (files, errors) = inputs::collect(&args.paths);
    let mut status = ExitStatus::Success;
    for error in &errors {
        output::error(error);
        status = ExitStatus::Error;
    }
    let mut sources = Sources::new();
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    for path in &files {
        match inputs::read(&mut sources, path) {
            Ok((_, Some(invalid))) => diagnostics.push(invalid),
            Ok((id, None)) => {
                let text = sources.get(id).map_or("", |file| file.text());
                diagnostics.extend(aigrid_lang::parse(id, text).diagnostics);
            }
            Err(error) => {
                output::error(&error);
                status = ExitStatus::Error;
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
