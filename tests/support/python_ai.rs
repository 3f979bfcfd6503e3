//! The grid AI written in Python with `pyarrow.flight` (tests/flight/upper_ai.py) that the
//! Flight and cluster tests call.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The Python AI, killed on drop.
pub struct PythonAi {
    /// Its process.
    pub child: Child,
    /// Its Flight port on 127.0.0.1.
    pub port: u16,
}

impl PythonAi {
    /// Starts the AI, which counts its answers in `calls`.
    pub fn start(python: &Path, calls: &Path) -> PythonAi {
        PythonAi::start_with(python, calls, &[])
    }

    /// Starts the AI with more arguments (`--delay`, `--mode`...).
    pub fn start_with(python: &Path, calls: &Path, args: &[&str]) -> PythonAi {
        let mut command = Command::new(python);
        command.arg(script()).arg("--calls").arg(calls).args(args);
        let (child, port) = spawn_with_port(&mut command, "the Python AI");
        PythonAi { child, port }
    }
}

/// Starts `command`, a server that prints `PORT <n>` as its first line, and reads the port.
pub fn spawn_with_port(command: &mut Command, what: &str) -> (Child, u16) {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let Some(stdout) = child.stdout.take() else { panic!("no stdout") };
    let line = std::io::BufReader::new(stdout).lines().next().and_then(Result::ok);
    let port = line.as_deref().and_then(|l| l.strip_prefix("PORT ")).and_then(|p| p.parse().ok());
    let Some(port) = port else {
        let _ = child.kill();
        panic!("{what} did not start: {line:?}");
    };
    (child, port)
}

impl Drop for PythonAi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Python with pyarrow, or `None` (saying so) when there is no Python.
pub fn python() -> Option<PathBuf> {
    let python = super::python_with_pyarrow();
    if python.is_none() {
        println!("skipped: no Python (python3 or $AIGRID_PYTHON) to run the pyarrow.flight AI");
    }
    python
}

/// The AI's script.
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/flight/upper_ai.py")
}

/// A card for the AI listening on `port`, with `latency` as its `latency_ms`.
pub fn card(id: &str, latency: u32, port: u16) -> String {
    format!(
        "id: {id}\nname: Upper-casing (pyarrow.flight)\nversion: 0.1.0\nowner: tests\n\
         task: text-upper\nsignature: \"(text: list<utf8>) -> list<utf8>\"\n\
         attributes: {{ latency_ms: {latency} }}\nendpoint: \"grpc://127.0.0.1:{port}\"\n"
    )
}
