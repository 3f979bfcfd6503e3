//! What the tests of the `aigridc` binary share: running it in a fixed environment, and scratch
//! directories. Each test crate uses a part of it.
#![allow(dead_code)]

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output};

use insta_cmd::get_cargo_bin;

pub mod python_ai;
pub mod s3;

/// Two items, each with one syntax error: a `let` without `=`, and a call missing its `)`.
pub const TWO_ERRORS: &str = "\
use std.io.{read_csv}

pipeline first(src: path) {
    let docs read_csv(src)
    return docs
}

pipeline second(src: path) {
    let rows = read_csv(src
    return rows
}
";

/// `aigridc` with a fixed environment.
pub fn aigridc() -> Command {
    let mut command = Command::new(get_cargo_bin("aigridc"));
    command.env("NO_COLOR", "1").env("COLUMNS", "100");
    command
}

/// Runs a command without a snapshot: exit code, stdout, stderr.
pub fn run(command: &mut Command) -> (i32, String, String) {
    let output: Output =
        command.output().unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A scratch directory for one test, removed on drop.
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// `name` must be unique among the tests (they run in parallel).
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("aigridc-cli-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)
            .unwrap_or_else(|error| panic!("cannot create {}: {error}", dir.display()));
        Scratch { dir }
    }

    /// Writes `contents` to `relative` (creating parent directories).
    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) {
        let path = self.dir.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .unwrap_or_else(|error| panic!("cannot create {}: {error}", parent.display()));
        }
        fs::write(&path, contents)
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
    }

    pub fn read(&self, relative: &str) -> Vec<u8> {
        let path = self.dir.join(relative);
        fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
    }

    /// `aigridc` running inside the scratch directory, with an empty `$AIGRID_HOME` there (no
    /// model fetched), so that what discovery offers does not depend on the machine.
    pub fn aigridc(&self) -> Command {
        let mut command = aigridc();
        command.current_dir(&self.dir).env("AIGRID_HOME", "aigrid-home");
        command
    }

    /// Every file name in the scratch directory (top level), sorted.
    pub fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Scratch {
    /// The directory's path.
    pub fn path(&self) -> &std::path::Path {
        &self.dir
    }
}

/// A real `aigridc` server process (discovery, coordinator, worker) on 127.0.0.1, killed on
/// drop.
pub struct Server {
    child: std::process::Child,
    /// The first address it prints (`http://127.0.0.1:PORT`, or `https://localhost:PORT` with
    /// TLS), or its whole first line when that has none.
    pub url: String,
    /// The first line it prints.
    pub banner: String,
}

/// A discovery server.
pub type DiscoveryServer = Server;

impl Server {
    /// Starts `aigridc discovery serve` on a free port with `args` after `serve`, and waits
    /// until it listens.
    pub fn start(args: &[&str]) -> Server {
        Server::spawn(aigridc().args(["discovery", "serve", "--listen", "127.0.0.1:0"]).args(args))
    }

    /// Starts `command`, an `aigridc` server, and waits for the first line it prints.
    pub fn spawn(command: &mut Command) -> Server {
        use std::io::BufRead as _;
        let mut child = command
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
        let Some(stderr) = child.stderr.take() else { panic!("no stderr") };
        let mut lines = std::io::BufReader::new(stderr).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let url = match first.split_whitespace().find(|w| w.contains("://")) {
            Some(url) => url.to_owned(),
            None if first.contains(": ") => first.clone(),
            None => {
                let _ = child.kill();
                panic!("{command:?} did not start: {first}");
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, url, banner: first }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(exit code)` once the server has exited (`Some(None)` when a signal ended it).
    pub fn try_wait(&mut self) -> Option<Option<i32>> {
        self.child.try_wait().ok().flatten().map(|status| status.code())
    }

    /// Kills the server with SIGKILL (as a crash would) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The examples that run end to end with nothing to start.
pub const EXAMPLES: [&str; 6] =
    ["churn_features", "ensemble_vote", "rag_index", "summarize", "ticket_triage", "uses_textkit"];

/// Runs every example with `aigridc run --no-cache` in-process and again with `other` added to
/// its arguments, each writing into its own part of `scratch`, and asserts that both ways
/// wrote the same bytes (the file the example writes, and its result as Arrow IPC). Examples
/// that need MiniLM are skipped, saying so, when it is not fetched, unless
/// `AIGRID_REQUIRE_MODELS=1`. Returns how many examples it compared.
pub fn examples_give_the_same_bytes(scratch: &Scratch, other: &[&str]) -> usize {
    examples_give_the_same_bytes_with(scratch, &EXAMPLES, other, &[])
}

/// [`examples_give_the_same_bytes`] for `examples`, with `env` set for every run.
pub fn examples_give_the_same_bytes_with(
    scratch: &Scratch,
    examples: &[&str],
    other: &[&str],
    env: &[(&str, String)],
) -> usize {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let minilm = aigrid_builtins::ModelStore::from_env().minilm().is_ok();
    if !minilm {
        assert_ne!(
            std::env::var("AIGRID_REQUIRE_MODELS").as_deref(),
            Ok("1"),
            "MiniLM is not fetched"
        );
    }
    let bytes = |path: &std::path::Path| {
        fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let mut compared = 0;
    for example in examples {
        let source = format!("examples/{example}.ag");
        if !minilm && fs::read_to_string(root.join(&source)).is_ok_and(|s| s.contains("384")) {
            println!("skipped {example}: MiniLM is not fetched (aigridc models fetch minilm)");
            continue;
        }
        let mut files = Vec::new();
        for (way, args) in [("in-process", &[][..]), ("other", other)] {
            let dir = scratch.path().join(example).join(way);
            let written = dir.join("written");
            let result = dir.join("result.arrow");
            let mut command = aigridc();
            command.envs(env.iter().map(|(k, v)| (k, v)));
            command.current_dir(root).args(["run", "--no-cache", &source, "-q", "--param"]);
            command.arg(format!("out={}", written.display())).arg("-o").arg(&result).args(args);
            let (status, _, stderr) = run(&mut command);
            assert_eq!((status, stderr.as_str()), (0, ""), "{example} {way} {args:?}");
            files.push((bytes(&written), bytes(&result)));
        }
        assert!(!files[0].0.is_empty() && !files[0].1.is_empty(), "{example}");
        assert!(files[0] == files[1], "{example}: {other:?} gave other bytes");
        compared += 1;
    }
    compared
}

/// `GET path` at the HTTP server at `url` (`http://HOST:PORT`): its status and body.
pub fn http_get(url: &str, path: &str) -> (u16, String) {
    try_http_get(url, path).unwrap_or_else(|e| panic!("GET {url}{path}: {e}"))
}

/// `GET path` at the HTTP server at `url`, or why it could not be asked.
pub fn try_http_get(url: &str, path: &str) -> std::io::Result<(u16, String)> {
    try_http_get_with(url, path, "")
}

/// `GET path` at the HTTP server at `url` with `headers` (each ending in `\r\n`), or why it
/// could not be asked.
pub fn try_http_get_with(url: &str, path: &str, headers: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Read as _, Write as _};
    let address = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(address)?;
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {address}\r\n{headers}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    Ok((status, body.to_string()))
}

/// What the tests install: pyarrow, NumPy for its tensors, and moto's S3 server (with boto3)
/// for object-store URLs.
const PACKAGES: [&str; 3] = ["pyarrow==26.0.1", "numpy==2.4.6", "moto[server]==5.2.5"];

/// A Python with pyarrow: a virtual environment under Cargo's target directory, made from
/// `python3` (or `$AIGRID_PYTHON`) with [`PACKAGES`] installed from PyPI on first use. `None` only
/// when there is no Python; a failed install fails the test.
pub fn python_with_pyarrow() -> Option<PathBuf> {
    let python = std::env::var_os("AIGRID_PYTHON").map_or_else(|| "python3".into(), PathBuf::from);
    let found = Command::new(&python).arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        return None;
    }
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("pyarrow-venv");
    let bin = dir.join(if cfg!(windows) { "Scripts/python.exe" } else { "bin/python" });
    let ready = |bin: &std::path::Path| {
        Command::new(bin)
            .args(["-c", "import numpy, pyarrow.flight, moto.server, boto3"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if ready(&bin) {
        return Some(bin);
    }
    // Test binaries run in parallel: one makes the environment, the others wait for it.
    let lock = dir.with_extension("lock");
    let mut waited = 0;
    while fs::create_dir(&lock).is_err() {
        std::thread::sleep(std::time::Duration::from_millis(200));
        waited += 1;
        if ready(&bin) {
            return Some(bin);
        }
        assert!(waited < 1500, "waited 5 minutes for {}", lock.display());
    }
    let (code, _, stderr) = run(Command::new(&python).args(["-m", "venv"]).arg(&dir));
    assert_eq!(code, 0, "cannot make a virtual environment: {stderr}");
    let (code, _, stderr) =
        run(Command::new(&bin).args(["-m", "pip", "install", "--quiet"]).args(PACKAGES));
    let _ = fs::remove_dir(&lock);
    assert_eq!(code, 0, "cannot install {PACKAGES:?} from PyPI: {stderr}");
    assert!(ready(&bin), "pyarrow.flight does not import after the install");
    Some(bin)
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}
