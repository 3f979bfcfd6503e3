//! Writing to standard output and standard error without panicking when a reader goes away
//! (`aigridc explain --list | head -1`): `print!` panics on a closed pipe.

use std::io::Write as _;

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
