//! Writing to standard output and standard error without panicking when a reader goes away
//! (`aigridc explain --list | head -1`): `print!` panics on a closed pipe; and writing files
//! whole or not at all.

use std::io::Write as _;
use std::path::Path;

use aigrid_executor::{Destination, destination};

use super::ExitStatus;

/// Writes `text` to standard output. A closed pipe ends the output quietly (the reader has
/// what it wanted); any other write error is reported and is a tool error.
pub fn print(text: &str) -> ExitStatus {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => ExitStatus::Success,
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => ExitStatus::Success,
        Err(error) => {
            note(&format!("error: cannot write standard output: {error}\n"));
            ExitStatus::Error
        }
    }
}

/// Writes `text` to standard error, ignoring failures (there is nowhere left to report them).
pub fn note(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Reports a tool error (exit status 2) on standard error.
pub fn error(message: &str) {
    note(&format!("error: {message}\n"));
}

/// Writes `text` to a temporary file beside `path`, then renames it over `path`, so that an
/// interrupted write never leaves a half-written file; an existing file keeps its permissions.
/// A symbolic link is followed (the file it names is replaced, the link stays), and a device or
/// a pipe (`/dev/null`, `/dev/stdout`) is written in place ([`destination`]).
pub fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    let path = match destination(path)? {
        Destination::InPlace => {
            return std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|mut file| file.write_all(text.as_bytes()));
        }
        Destination::Replace(path) => path,
    };
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".aigridc-{}.tmp", std::process::id()));
    let temp = path.with_file_name(name);
    let result = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        if let Ok(metadata) = std::fs::metadata(&path) {
            std::fs::set_permissions(&temp, metadata.permissions())?;
        }
        std::fs::rename(&temp, &path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}
