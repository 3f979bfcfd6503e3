//! A local S3 (moto's server, tests/s3/server.py) for the tests of object-store URLs, and a
//! client of it (tests/s3/client.py, boto3) that checks what aigrid wrote without aigrid.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The S3 server, stopped on drop.
pub struct S3 {
    child: Child,
    python: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl S3 {
    /// Starts the server with `buckets` made; `None` (saying so) when there is no Python.
    pub fn start(buckets: &[&str]) -> Option<S3> {
        let Some(python) = super::python_with_pyarrow() else {
            println!("skipped: no Python (python3 or $AIGRID_PYTHON) to run a local S3");
            return None;
        };
        let mut command = Command::new(&python);
        command.arg(script("server.py")).args(buckets).stdin(Stdio::piped());
        let (child, port) = super::python_ai::spawn_with_port(&mut command, "the S3 server");
        Some(S3 { child, python, port })
    }

    /// The environment that points an `aigridc` process at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT", format!("http://127.0.0.1:{}", self.port)),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// Points `command` at this server.
    pub fn point<'a>(&self, command: &'a mut Command) -> &'a mut Command {
        command.envs(self.env())
    }

    fn client(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.python);
        command.arg(script("client.py")).arg(self.port.to_string()).args(args);
        command
    }

    /// Puts `bytes` at `bucket`/`key`.
    pub fn put(&self, bucket: &str, key: &str, bytes: &[u8]) {
        let mut child = self
            .client(&["put", bucket, key])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run the S3 client: {e}"));
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(bytes).unwrap_or_else(|e| panic!("cannot send {key}: {e}"));
        }
        let status = child.wait().unwrap_or_else(|e| panic!("the S3 client: {e}"));
        assert!(status.success(), "cannot put {bucket}/{key}");
    }

    /// The bytes at `bucket`/`key`.
    pub fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        let output = self.client(&["get", bucket, key]).output();
        let output = output.unwrap_or_else(|e| panic!("cannot run the S3 client: {e}"));
        assert!(
            output.status.success(),
            "cannot get {bucket}/{key}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }

    /// The keys in `bucket`, sorted.
    pub fn list(&self, bucket: &str) -> Vec<String> {
        let output = self.client(&["list", bucket]).output();
        let output = output.unwrap_or_else(|e| panic!("cannot run the S3 client: {e}"));
        assert!(output.status.success(), "cannot list {bucket}");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/s3").join(name)
}
