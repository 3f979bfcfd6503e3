//! `aigridc bind`: bind a pipeline's `ai` requirements and pin the choice in `aigrid.lock`.

use super::ExitStatus;
use super::args::{BindArgs, OutputFormat};
use super::build::{compile_with, write};
use super::output;
use super::world::shown;

pub fn run(args: &BindArgs) -> ExitStatus {
    let ((build, status), (path, before)) =
        compile_with(&args.pipeline, OutputFormat::Human, false, args.update);
    let Some(plan) = &build.plan else { return status.max(ExitStatus::Failure) };
    let mut lines = Vec::new();
    // The pins this pipeline uses: those whose cards are a binding of the plan.
    for pinned in &build.lock.ais {
        let used = plan
            .bindings
            .values()
            .any(|b| b.primary == pinned.primary && b.fallbacks == pinned.fallbacks);
        if !used {
            continue;
        }
        let fallbacks: Vec<String> =
            pinned.fallbacks.iter().map(|c| format!("{} {}", c.id, c.version)).collect();
        let then = if fallbacks.is_empty() {
            String::new()
        } else {
            format!(", then {}", fallbacks.join(", "))
        };
        lines.push(format!(
            "{}: {} {}{then}",
            pinned.name, pinned.primary.id, pinned.primary.version
        ));
    }
    lines.sort();
    let mut status =
        status.max(output::print(&lines.iter().map(|l| format!("{l}\n")).collect::<String>()));
    if build.lock == before {
        output::note(&format!("{} is up to date\n", shown(&path)));
    } else {
        status = status.max(write(Some(&path), &build.lock.to_toml()));
        output::note(&format!("wrote {}\n", shown(&path)));
    }
    status
}
