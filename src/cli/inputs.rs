//! Finding and reading the `.ag` files a command was given.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use aigrid_lang::{Diagnostic, DiagnosticFormat, FileId, Sources};

use super::args::OutputFormat;

/// Expands `paths`: files as given, directories searched recursively for `*.ag` files
/// (hidden directories and `target` skipped), in a stable order. Unreadable paths are
/// returned as error messages.
pub fn collect(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<String>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path.is_dir() {
            let walk =
                walkdir::WalkDir::new(path).sort_by_file_name().into_iter().filter_entry(|e| {
                    let name = e.file_name().to_string_lossy();
                    e.depth() == 0 || !(name.starts_with('.') || name == "target")
                });
            for entry in walk {
                match entry {
                    Ok(entry) if entry.file_type().is_file() && has_ag_extension(entry.path()) => {
                        files.push(entry.into_path())
                    }
                    Ok(_) => {}
                    Err(error) => errors.push(format!("cannot read `{}`: {error}", path.display())),
                }
            }
        } else if path.exists() {
            files.push(path.clone());
        } else {
            errors.push(format!("cannot read `{}`: no such file or directory", path.display()));
        }
    }
    (files, errors)
}

fn has_ag_extension(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "ag")
}

/// Reads a file into `sources`. Text that is not UTF-8 is added lossily, with its diagnostic.
pub fn read(sources: &mut Sources, path: &Path) -> Result<(FileId, Option<Diagnostic>), String> {
    let bytes = std::fs::read(path)
        .map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
    let name = path.display().to_string();
    let id = sources.next_id();
    Ok(match aigrid_lang::decode(id, bytes) {
        Ok(text) => (sources.add(name, text), None),
        Err((text, diagnostic)) => (sources.add(name, text), Some(diagnostic)),
    })
}

/// The renderer settings for an output format.
pub fn diagnostic_format(format: OutputFormat) -> DiagnosticFormat {
    match format {
        OutputFormat::Human => DiagnosticFormat::Human { color: use_color() },
        OutputFormat::Short => DiagnosticFormat::Short,
        OutputFormat::Json => DiagnosticFormat::Json,
    }
}

/// Colour only on a terminal, and never with `NO_COLOR` set (no-color.org).
fn use_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}
