//! `aigridc cache`: the cache of stage outputs in `$AIGRID_HOME/cache`.

use aigrid_builtins::ModelStore;
use aigrid_executor::Cache;

use super::ExitStatus;
use super::args::{CacheArgs, CacheCommand};
use super::output;

pub fn run(args: &CacheArgs) -> ExitStatus {
    let cache = Cache::at(ModelStore::from_env().home().join("cache"));
    match &args.command {
        CacheCommand::Ls => match cache.list() {
            Ok(entries) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let mut text =
                    String::from("key               rows       bytes        age  made by\n");
                for entry in &entries {
                    let key: String = entry.key.chars().take(16).collect();
                    text.push_str(&format!(
                        "{key:<16}  {:>9}  {:>10}  {:>7}  {}\n",
                        entry.rows,
                        entry.bytes,
                        age(now.saturating_sub(entry.created)),
                        entry.what
                    ));
                }
                let bytes: u64 = entries.iter().map(|e| e.bytes).sum();
                text.push_str(&format!(
                    "{} entries, {bytes} bytes in {}\n",
                    entries.len(),
                    cache.dir().display()
                ));
                output::print(&text)
            }
            Err(error) => {
                output::error(&error.to_string());
                ExitStatus::Failure
            }
        },
        CacheCommand::Clear => match cache.clear() {
            Ok((entries, bytes)) => {
                output::print(&format!("removed {entries} entries ({bytes} bytes)\n"))
            }
            Err(error) => {
                output::error(&error.to_string());
                ExitStatus::Failure
            }
        },
    }
}

/// `seconds` as the largest whole unit: `42s`, `5m`, `3h`, `2d`.
fn age(seconds: u64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}
