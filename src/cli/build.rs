//! `aigridc build`: compile a pipeline into a plan, or show a stage of the compilation.

use std::path::{Path, PathBuf};

use aigrid_compiler::{Build, BuildOptions, Lock};

use super::ExitStatus;
use super::args::{BuildArgs, OutputFormat, PipelineArgs, PlanFormat, Stage};
use super::world::FsWorld;
use super::{inputs, output};

pub fn run(args: &BuildArgs) -> ExitStatus {
    let (build, status) = compile(&args.pipeline, args.diagnostics, args.emit.is_some());
    let Some(plan) = &build.plan else { return status.max(ExitStatus::Failure) };
    // A tensor, list or table is not folded into a plan: it is given when the plan runs.
    let unfolded: Vec<&str> = args
        .pipeline
        .params
        .iter()
        .filter(|(name, _)| plan.params.iter().any(|p| p.name == *name && p.value.is_none()))
        .map(|(name, _)| name.as_str())
        .collect();
    if let Some(name) = unfolded.first() {
        output::error(&format!(
            "parameter `{name}` is a tensor, list or table: a plan does not hold its value; give \
             it when the plan runs (`aigridc run PLAN --param {name}=...`)"
        ));
        return ExitStatus::Error;
    }
    let text = match args.emit {
        None => match args.format {
            PlanFormat::Json => plan.to_json(),
            PlanFormat::Yaml => plan.to_yaml(),
        },
        Some(stage) => {
            let wanted = |name: &str| match stage {
                Stage::Ast => name == "ast",
                Stage::Hir => name == "hir",
                Stage::Dag => name == "dag",
                Stage::Optimized => name == "optimized",
                Stage::Passes => !["ast", "hir", "dag", "optimized"].contains(&name),
            };
            let stages: Vec<String> = build
                .stages
                .iter()
                .filter(|(name, _)| wanted(name))
                .map(|(name, text)| {
                    if stage == Stage::Passes {
                        format!("// after {name}\n{text}")
                    } else {
                        text.clone()
                    }
                })
                .collect();
            stages.join("\n")
        }
    };
    status.max(write(args.output.as_deref(), &text))
}

/// Compiles the pipeline, binding through the lockfile; prints the diagnostics.
pub fn compile(args: &PipelineArgs, format: OutputFormat, stages: bool) -> (Build, ExitStatus) {
    compile_with(args, format, stages, false).0
}

/// Compiles the pipeline (binding every `ai` anew when `rebind`); prints the diagnostics.
/// Also returns the lockfile's path and the lock it held.
pub fn compile_with(
    args: &PipelineArgs,
    format: OutputFormat,
    stages: bool,
    rebind: bool,
) -> ((Build, ExitStatus), (PathBuf, Lock)) {
    let mut world = FsWorld::new();
    if let Some(server) = super::discovery::Server::from_args(&args.connect, None) {
        world.use_server(server);
    }
    let lock_path = world.lock_path(args.file());
    let (files, mut status) = inputs::load(&[args.file().to_path_buf()], &mut world);
    let Some(input) = files.first() else {
        return ((Build::default(), status.max(ExitStatus::Error)), (lock_path, Lock::default()));
    };
    let lock = match read_lock(&lock_path) {
        Ok(lock) => lock,
        Err(error) => {
            output::error(&error);
            return ((Build::default(), ExitStatus::Error), (lock_path, Lock::default()));
        }
    };
    let options = BuildOptions {
        pipeline: args.pipeline.clone(),
        params: args.params.clone(),
        stages,
        lock: lock.clone(),
        rebind,
        defaults: match args.file().canonicalize() {
            Ok(path) => world.node_defaults(path.parent().unwrap_or(&path)),
            Err(_) => Default::default(),
        },
    };
    let mut build = match &input.invalid {
        Some(invalid) => Build { diagnostics: vec![invalid.clone()], ..Build::default() },
        None => aigrid_compiler::build(&mut world, input.id, &options),
    };
    for error in world.take_errors() {
        output::error(&error);
        status = ExitStatus::Error;
        // A plan built from a broken manifest or registry is not written.
        build.plan = None;
    }
    build.diagnostics.sort_by_key(|d| d.file);
    let format = inputs::diagnostic_format(format);
    if !build.diagnostics.is_empty() {
        let rendered = aigrid_lang::render(&build.diagnostics, world.sources(), format);
        output::note(&rendered);
    }
    if build.diagnostics.iter().any(|d| d.is_error()) {
        build.plan = None;
        status = status.max(ExitStatus::Failure);
    }
    ((build, status), (lock_path, lock))
}

/// The lockfile at `path`; none pins nothing.
fn read_lock(path: &Path) -> Result<Lock, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Lock::from_toml(&text).map_err(|error| {
            format!(
                "invalid `{}`: {error} (delete it and run `aigridc bind` to write it anew)",
                super::world::shown(path)
            )
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Lock::default()),
        Err(error) => Err(format!("cannot read `{}`: {error}", super::world::shown(path))),
    }
}

/// Writes `text` to `path` (atomically), or to standard output.
pub fn write(path: Option<&std::path::Path>, text: &str) -> ExitStatus {
    match path {
        None => output::print(text),
        Some(path) => match output::write_file(path, text) {
            Ok(()) => ExitStatus::Success,
            Err(error) => {
                output::error(&format!("cannot write {}: {error}", path.display()));
                ExitStatus::Error
            }
        },
    }
}
