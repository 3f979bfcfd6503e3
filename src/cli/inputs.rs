//! Finding and reading the `.ag` files a command was given.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use aigrid_lang::{Diagnostic, DiagnosticFormat, FileId};

use super::args::OutputFormat;
use super::world::FsWorld;
use super::{ExitStatus, output};

/// Expands `paths`: files as given, directories searched recursively for `*.ag` files
/// (hidden directories and `target` skipped), in a stable order. Unreadable paths are
/// returned as error messages.
fn collect(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<String>) {
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

/// A source file read for a command.
pub struct Input {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its id in the command's world.
    pub id: FileId,
    /// The AG0100 diagnostic when its bytes were not UTF-8 (its text is then a lossy copy,
    /// good for showing excerpts only).
    pub invalid: Option<Diagnostic>,
}

/// Finds and reads the files named by `paths` into `world`. Paths and files that cannot be
/// read are reported, and make the status a tool error; the other files are still returned.
pub fn load(paths: &[PathBuf], world: &mut FsWorld) -> (Vec<Input>, ExitStatus) {
    let (files, errors) = collect(paths);
    let mut status = ExitStatus::Success;
    for error in &errors {
        output::error(error);
        status = ExitStatus::Error;
    }
    let mut inputs = Vec::new();
    for path in files {
        match std::fs::read(&path) {
            Ok(bytes) => {
                let (id, invalid) = world.add(&path, path.display().to_string(), bytes);
                inputs.push(Input { path, id, invalid });
            }
            Err(error) => {
                output::error(&format!("cannot read `{}`: {error}", path.display()));
                status = ExitStatus::Error;
            }
        }
    }
    (inputs, status)
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
