//! Embeds the lines of standard input with the built-in MiniLM and prints one JSON array of
//! 384 numbers per line: `cargo run --release -p aigrid-builtins --example embed < lines.txt`.
//! The model comes from `$AIGRID_HOME` (`aigridc models fetch minilm`).

use std::io::{BufRead as _, Write as _};
use std::process::ExitCode;

use aigrid_builtins::ModelStore;

fn main() -> ExitCode {
    let model = match ModelStore::from_env().minilm() {
        Ok(model) => model,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let lines: Vec<String> = std::io::stdin().lock().lines().map_while(Result::ok).collect();
    let texts: Vec<Option<&str>> = lines.iter().map(|l| Some(l.as_str())).collect();
    let vectors = match model.embed(&texts) {
        Ok(vectors) => vectors,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(1);
        }
    };
    let mut out = std::io::stdout().lock();
    for row in vectors.chunks_exact(aigrid_builtins::MINILM_DIMS) {
        let _ = writeln!(out, "{}", serde_json::Value::from(row.to_vec()));
    }
    ExitCode::SUCCESS
}
