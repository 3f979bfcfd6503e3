//! The compiler's driver: checking files, and building a plan from an entry pipeline through
//! every stage (syntax tree, typed bodies, graph, optimised graph).

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use aigrid_lang::ast::{ItemKind, Module};
use aigrid_lang::{Diagnostic, FileId, Span};
use ecow::EcoString;

use crate::dag::{Dag, Op};
use crate::hir::{Body, ExprKind, Literal, Stmt, Target};
use crate::lock::Lock;
use crate::lower::{Bodies, lower};
use crate::optimize::{Context, optimize};
use crate::packages::Packages;
use crate::plan::{Plan, PlanParam, PlanSource, PlanSpan, Value};
use crate::sql::SqlPlanner;
use crate::ty::{Scalar, Type};
use crate::typeck::{self, Checked, Problem};
use crate::world::World;

/// How to build a plan.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// The entry pipeline; by default the file's only pipeline that no other one calls.
    pub pipeline: Option<String>,
    /// Values of the entry pipeline's parameters, as written on the command line (`k=5`).
    pub params: Vec<(String, String)>,
    /// Keep the text of every stage in [`Build::stages`] (for `--emit`).
    pub stages: bool,
    /// The lockfile's pinned bindings, honoured unless `rebind`.
    pub lock: Lock,
    /// Bind every `ai` anew, ignoring the pins (`aigridc bind --update`).
    pub rebind: bool,
    /// What `ai` nodes without `@retry` or `@timeout` get (the manifest's `[run]` section).
    pub defaults: NodeDefaults,
}

/// The failure handling of `ai` nodes that do not say theirs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeDefaults {
    /// More attempts per binding, as `@retry(n)`.
    pub retry: Option<u32>,
    /// The longest a request may take, in milliseconds, as `@timeout(d)`.
    pub timeout_ms: Option<u64>,
}

/// What a build made: the diagnostics, and when there were no errors, each stage and the plan.
#[derive(Debug, Default)]
pub struct Build {
    /// Every diagnostic, errors and warnings.
    pub diagnostics: Vec<Diagnostic>,
    /// The plan, if the build succeeded.
    pub plan: Option<Plan>,
    /// The stages as text, when [`BuildOptions::stages`] asks for them: `ast`, `hir`, `dag`,
    /// then one entry per optimisation pass (named after it), and `optimized`.
    pub stages: Vec<(String, String)>,
    /// The lock after binding: the options' lock with the bindings made by this build pinned.
    pub lock: Lock,
}

/// Problems of a build as a whole, before or after type checking.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
enum BuildError {
    #[error("{reason}")]
    #[diagnostic(code(AG0501))]
    Entry {
        reason: String,
        #[help]
        help: Option<String>,
    },
    #[error("`{name}` is not a parameter of `{pipeline}`")]
    #[diagnostic(code(AG0502))]
    UnknownParam {
        name: String,
        pipeline: String,
        #[help]
        help: Option<String>,
    },
    #[error("parameter `{name}: {ty}` cannot take `{value}`: {reason}")]
    #[diagnostic(code(AG0503))]
    BadParam { name: String, ty: String, value: String, reason: String },
}

/// The files of one compilation, checked once each.
pub(crate) struct Program<'w> {
    pub packages: Packages<'w>,
    checked: HashMap<FileId, Option<Rc<Checked>>>,
}

impl<'w> Program<'w> {
    pub(crate) fn new(world: &'w mut dyn World) -> Self {
        Program { packages: Packages::new(world), checked: HashMap::new() }
    }

    /// Parses, resolves and type-checks `file`; returns its diagnostics in source order.
    pub(crate) fn check_file(&mut self, file: FileId) -> Vec<Diagnostic> {
        let Some(source) = self.packages.world().source(file) else { return Vec::new() };
        let text = source.text().to_owned();
        let parsed = aigrid_lang::parse(file, &text);
        let mut diagnostics = parsed.diagnostics.clone();
        if !parsed.is_ok() {
            // Names are not checked in a file with syntax errors: its broken items are missing,
            // and every use of them would be reported as unknown.
            self.checked.insert(file, None);
            return diagnostics;
        }
        let module = Rc::new(parsed.module);
        self.packages.insert_module(file, module.clone());
        let errors = crate::resolve::Resolver::new(file, &mut self.packages).resolve(&module);
        let mut found: Vec<Diagnostic> =
            errors.iter().map(|e| Diagnostic::from_error(file, e)).collect();
        // Types are checked once names are sound: a misspelt name was reported already.
        let mut checked = None;
        if !found.iter().any(Diagnostic::is_error) {
            let result = typeck::check(&mut self.packages, file, &module, &text);
            found.extend(result.problems.iter().map(|problem| match problem {
                Problem::Type(e) => Diagnostic::from_error(file, e),
                Problem::Sql(e) => Diagnostic::from_error(file, e),
            }));
            if !found.iter().any(Diagnostic::is_error) {
                checked = Some(Rc::new(result));
            }
        }
        found.sort_by_key(|d| d.primary_span().map_or(0, |s| s.start));
        diagnostics.extend(found);
        self.checked.insert(file, checked);
        diagnostics
    }

    /// The typed bodies of `entry` and of every pipeline it calls, checking the files that
    /// declare them; the errors of those files are returned.
    pub(crate) fn bodies(&mut self, file: FileId, entry: &Body) -> (Bodies, Vec<Diagnostic>) {
        let mut bodies = Bodies::new();
        let mut diagnostics = Vec::new();
        let mut pending = vec![(file, entry.name.clone())];
        let mut seen = HashSet::new();
        while let Some((file, name)) = pending.pop() {
            if !seen.insert((file, name.clone())) {
                continue;
            }
            if !self.checked.contains_key(&file) {
                let found = self.check_file(file);
                diagnostics.extend(found.into_iter().filter(Diagnostic::is_error));
            }
            let Some(Some(checked)) = self.checked.get(&file) else { continue };
            let Some(body) = checked.pipelines.get(&name).cloned() else { continue };
            calls(&body, &mut pending);
            bodies.insert((file, name), body);
        }
        (bodies, diagnostics)
    }

    fn checked(&self, file: FileId) -> Option<Rc<Checked>> {
        self.checked.get(&file).cloned().flatten()
    }

    /// The resolved signatures of the `ai`s of every file checked so far.
    fn ai_signatures(&self) -> crate::lower::AiSignatures {
        let mut out = crate::lower::AiSignatures::new();
        for (file, checked) in &self.checked {
            for (name, signature) in checked.iter().flat_map(|c| &c.ais) {
                out.insert((*file, name.clone()), signature.clone());
            }
        }
        out
    }
}

/// Every call in a body, with its span, in the order lowering meets them: parameter defaults,
/// then the statements; a call's arguments before the call.
fn each_call(body: &Body, f: &mut dyn FnMut(&crate::hir::Call, Span)) {
    fn expr(e: &crate::hir::Expr, f: &mut dyn FnMut(&crate::hir::Call, Span)) {
        match &e.kind {
            ExprKind::Call(call) => {
                call.args.iter().flatten().for_each(|a| expr(a, f));
                call.rest.iter().for_each(|(_, a)| expr(a, f));
                f(call, e.span);
            }
            ExprKind::List(items) => items.iter().for_each(|i| expr(i, f)),
            ExprKind::Column { base, .. } => expr(base, f),
            ExprKind::Binary { lhs, rhs, .. } => {
                expr(lhs, f);
                expr(rhs, f);
            }
            ExprKind::Unary { operand, .. } => expr(operand, f),
            ExprKind::Literal(_) | ExprKind::Local(_) | ExprKind::Error => {}
        }
    }
    for local in &body.locals {
        if let Some(default) = &local.default {
            expr(default, f);
        }
    }
    for stmt in &body.stmts {
        match stmt {
            Stmt::Let { value, .. } | Stmt::Expr { value, .. } | Stmt::Return(value) => {
                expr(value, f)
            }
            Stmt::Assert { cond, message, .. } => {
                expr(cond, f);
                if let Some(message) = message {
                    expr(message, f);
                }
            }
        }
    }
}

/// The pipelines a body calls, and the files of the `ai`s it calls (with an empty name): the
/// latter are checked too, for their resolved signatures.
fn calls(body: &Body, out: &mut Vec<(FileId, EcoString)>) {
    each_call(body, &mut |call, _| match &call.target {
        Target::Pipeline(file, name) => out.push((*file, name.clone())),
        Target::Ai(file, _) => out.push((*file, EcoString::new())),
        Target::Std(_) => {}
    });
}

/// The pipelines a body calls, with the span of each call.
fn calls_at(body: &Body, out: &mut Vec<((FileId, EcoString), Span)>) {
    each_call(body, &mut |call, span| {
        if let Target::Pipeline(file, name) = &call.target {
            out.push(((*file, name.clone()), span));
        }
    });
}

/// Checks `files`: parses each, resolves its names and checks its types; every pipeline is
/// also lowered, which finds pipelines that call themselves. Returns every diagnostic, file by
/// file, in source order within a file.
pub(crate) fn check(world: &mut dyn World, files: &[FileId]) -> Vec<Diagnostic> {
    let mut program = Program::new(world);
    let mut diagnostics = Vec::new();
    for &file in files {
        diagnostics.extend(program.check_file(file));
        let Some(checked) = program.checked(file) else { continue };
        let mut names: Vec<&EcoString> = checked.pipelines.keys().collect();
        names.sort();
        let mut bodies = Bodies::new();
        for name in &names {
            let (found, errors) = program.bodies(file, &checked.pipelines[*name]);
            if errors.is_empty() {
                bodies.extend(found);
            }
        }
        // Pipelines that call themselves cannot be inlined: found on the call graph, as lowering
        // would find them, without lowering every pipeline.
        let mut acyclic = HashSet::new();
        for name in names {
            let key = (file, name.clone());
            let mut stack = vec![key.clone()];
            if let Some(error) = find_recursion(&bodies, &key, &mut stack, &mut acyclic) {
                let diagnostic = Diagnostic::from_error(file, &error);
                if !diagnostics.contains(&diagnostic) {
                    diagnostics.push(diagnostic);
                }
            }
        }
    }
    diagnostics
}

/// The first call, depth first in source order, that reaches a pipeline on `stack` again.
/// Pipelines whose every reachable call was explored without one are `acyclic`.
fn find_recursion(
    bodies: &Bodies,
    pipeline: &(FileId, EcoString),
    stack: &mut Vec<(FileId, EcoString)>,
    acyclic: &mut HashSet<(FileId, EcoString)>,
) -> Option<crate::lower::LowerError> {
    let body = bodies.get(pipeline)?;
    let mut targets = Vec::new();
    calls_at(body, &mut targets);
    for (target, span) in targets {
        if stack.contains(&target) {
            let mut chain: Vec<String> = stack.iter().map(|(_, n)| n.to_string()).collect();
            chain.push(target.1.to_string());
            return Some(crate::lower::LowerError::Recursive {
                name: target.1.to_string(),
                chain: chain.join(" -> "),
                span,
            });
        }
        if acyclic.contains(&target) {
            continue;
        }
        stack.push(target.clone());
        let found = find_recursion(bodies, &target, stack, acyclic);
        stack.pop();
        if found.is_some() {
            return found;
        }
        acyclic.insert(target);
    }
    None
}

/// Builds the plan of a pipeline of `file`.
pub(crate) fn build(world: &mut dyn World, file: FileId, options: &BuildOptions) -> Build {
    let mut program = Program::new(world);
    let mut out = Build {
        diagnostics: program.check_file(file),
        lock: options.lock.clone(),
        ..Build::default()
    };
    let Some(checked) = program.checked(file) else {
        return out;
    };
    let module = program.packages.module(file).unwrap_or_default();
    let keep = options.stages;
    if keep {
        out.stages.push(("ast".into(), format!("{module:#?}\n")));
    }
    let entry = match entry(&module, &checked, options) {
        Ok(entry) => entry,
        Err(error) => {
            out.diagnostics.push(Diagnostic::from_error(file, &error));
            return out;
        }
    };
    let (bodies, errors) = program.bodies(file, &entry);
    if !errors.is_empty() {
        out.diagnostics.extend(errors);
        return out;
    }
    if keep {
        let mut hir: Vec<&Rc<Body>> = bodies.values().collect();
        hir.sort_by(|a, b| (&a.name, a.file.0).cmp(&(&b.name, b.file.0)));
        out.stages
            .push(("hir".into(), hir.iter().map(|b| b.show()).collect::<Vec<_>>().join("\n")));
    }
    let params = match params(&entry, options) {
        Ok(params) => params,
        Err(error) => {
            out.diagnostics.push(Diagnostic::from_error(file, &error));
            return out;
        }
    };
    let inputs: Vec<bool> = params.iter().map(|p| p.input).collect();
    let ais = program.ai_signatures();
    let mut dag = match lower(&mut program.packages, &bodies, &ais, file, &entry, &inputs) {
        Ok(dag) => dag,
        Err(error) => {
            out.diagnostics.push(Diagnostic::from_error(file, &error));
            return out;
        }
    };
    if keep {
        out.stages.push(("dag".into(), dag.show()));
    }
    let values: HashMap<EcoString, Literal> =
        params.iter().filter_map(|p| Some((p.name.clone(), p.value.clone()?))).collect();
    let mut context = Context { params: values, sql: SqlPlanner::default() };
    let mut passes = Vec::new();
    let observe = |name: &str, dag: &Dag| {
        if keep {
            passes.push((name.to_owned(), dag.show()));
        }
    };
    if let Err(error) = optimize(&mut dag, &mut context, observe) {
        out.diagnostics.push(Diagnostic::from_error(file, &error));
        return out;
    }
    if keep {
        out.stages.extend(passes);
        out.stages.push(("optimized".into(), dag.show()));
    }
    let has_ais = dag.graph.node_weights().any(|n| matches!(n.op, crate::dag::Op::Ai(_)));
    let mut bindings = HashMap::new();
    if has_ais {
        let world = program.packages.world_mut();
        let (bound, errors) = crate::bind::bind(&dag, &mut out.lock, options.rebind, |predicate| {
            world.discover(file, predicate)
        });
        if !errors.is_empty() {
            out.diagnostics.extend(errors.iter().map(|e| Diagnostic::from_error(file, e)));
            return out;
        }
        bindings = bound;
    }
    let name = |file: FileId| {
        program.packages.world().source(file).map_or_else(String::new, |s| s.name().to_owned())
    };
    let span = |span: Span| {
        let (line, column) = program
            .packages
            .world()
            .source(span.file)
            .map_or((0, 0), |s| line_column(s.text(), span.start as usize));
        PlanSpan { file: name(span.file), line, column }
    };
    let source = PlanSource { file: name(file), pipeline: entry.name.to_string() };
    let params = params
        .into_iter()
        .map(|param| PlanParam {
            name: param.name.to_string(),
            ty: param.ty.to_string(),
            value: param.value.as_ref().map(Value::from),
        })
        .collect();
    for node in dag.graph.node_weights_mut().filter(|n| matches!(n.op, Op::Ai(_))) {
        node.attrs.retry = node.attrs.retry.or(options.defaults.retry);
        node.attrs.timeout_ms = node.attrs.timeout_ms.or(options.defaults.timeout_ms);
    }
    out.plan = Some(crate::plan::write(&dag, source, params, &bindings, &span));
    out
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (u32, u32) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line as u32, column as u32)
}

/// The entry pipeline: the one named, else the only one no other pipeline of the file calls.
fn entry(
    module: &Module,
    checked: &Checked,
    options: &BuildOptions,
) -> Result<Rc<Body>, BuildError> {
    let declared: Vec<&str> = module
        .items
        .iter()
        .filter_map(|item| match &item.kind {
            ItemKind::Pipeline(p) => Some(p.name.name.as_str()),
            _ => None,
        })
        .collect();
    if let Some(name) = &options.pipeline {
        return checked.pipelines.get(name.as_str()).cloned().ok_or_else(|| BuildError::Entry {
            reason: format!("no pipeline `{name}` in this file"),
            help: crate::error::did_you_mean(name, declared.iter().copied())
                .or_else(|| Some(format!("its pipelines: {}", declared.join(", ")))),
        });
    }
    let mut called = Vec::new();
    for body in checked.pipelines.values() {
        calls(body, &mut called);
    }
    let roots: Vec<&str> =
        declared.iter().copied().filter(|name| !called.iter().any(|(_, c)| c == name)).collect();
    match roots.as_slice() {
        [one] => checked.pipelines.get(*one).cloned().ok_or_else(|| BuildError::Entry {
            reason: format!("pipeline `{one}` did not check"),
            help: None,
        }),
        [] => Err(BuildError::Entry {
            reason: "this file declares no pipeline to build".into(),
            help: Some("declare one: `pipeline NAME(...) -> TYPE { ... }`".into()),
        }),
        many => Err(BuildError::Entry {
            reason: format!("this file has several pipelines to build: {}", many.join(", ")),
            help: Some("choose one with `--pipeline NAME`".into()),
        }),
    }
}

/// The entry's parameters with their types and values: from `--param`, else the default.
fn params(entry: &Body, options: &BuildOptions) -> Result<Vec<Param>, BuildError> {
    let declared = &entry.locals[..entry.params];
    for (name, _) in &options.params {
        if !declared.iter().any(|p| p.name == name.as_str()) {
            return Err(BuildError::UnknownParam {
                name: name.clone(),
                pipeline: entry.name.to_string(),
                help: crate::error::did_you_mean(name, declared.iter().map(|p| p.name.as_str()))
                    .or_else(|| {
                        let names: Vec<&str> = declared.iter().map(|p| p.name.as_str()).collect();
                        Some(format!("its parameters: {}", names.join(", ")))
                    }),
            });
        }
    }
    declared
        .iter()
        .map(|param| {
            let given = options.params.iter().rev().find(|(name, _)| param.name == name.as_str());
            let (value, input) = match (given, &param.default) {
                // A tensor, list or table is read (as JSON) when the plan runs.
                (Some((_, text)), _) if is_data(&param.ty) => {
                    check_json(param, text)?;
                    (None, true)
                }
                (Some((_, text)), _) => (Some(parse_value(param, text)?), true),
                (None, Some(default)) => match crate::optimize::evaluate(default) {
                    Some(value) => (Some(value), true),
                    // A default that is not a constant is computed in the plan.
                    None => (None, false),
                },
                (None, None) => (None, true),
            };
            let value = value.map(|v| crate::optimize::coerce(v, &param.ty));
            Ok(Param { name: param.name.clone(), ty: param.ty.clone(), value, input })
        })
        .collect()
}

/// A parameter of the entry pipeline, as the build sees it.
struct Param {
    name: EcoString,
    ty: Type,
    /// Its value, from `--param` or a constant default.
    value: Option<Literal>,
    /// Whether it is a node of its own (folded when it has a value), or its default's nodes.
    input: bool,
}

/// Whether a parameter of type `ty` is given as JSON: a tensor, a list or a table.
fn is_data(ty: &Type) -> bool {
    matches!(ty.non_null(), Type::Tensor(_) | Type::List(_) | Type::Table(_))
}

/// A `--param` value given as JSON must be JSON; whether it fits the type is checked when the
/// plan runs.
fn check_json(param: &crate::hir::Local, text: &str) -> Result<(), BuildError> {
    serde_json::from_str::<serde_json::Value>(text).map(drop).map_err(|error| {
        BuildError::BadParam {
            name: param.name.to_string(),
            ty: param.ty.to_string(),
            value: text.to_owned(),
            reason: format!(
                "a {} is given as JSON, and this is not JSON: {error}",
                kind(&param.ty)
            ),
        }
    })
}

fn kind(ty: &Type) -> &'static str {
    match ty.non_null() {
        Type::Tensor(_) => "tensor",
        Type::List(_) => "list",
        _ => "table",
    }
}

/// A `--param` value, read as the parameter's type.
fn parse_value(param: &crate::hir::Local, text: &str) -> Result<Literal, BuildError> {
    let bad = |reason: &str| BuildError::BadParam {
        name: param.name.to_string(),
        ty: param.ty.to_string(),
        value: text.to_owned(),
        reason: reason.to_owned(),
    };
    match param.ty.non_null() {
        _ if text == "null" && matches!(param.ty, Type::Optional(_)) => Ok(Literal::Null),
        Type::Scalar(s) if s.is_int() => {
            text.parse::<i64>().map(Literal::Int).map_err(|_| bad("not an integer"))
        }
        Type::Scalar(s) if s.is_float() => match text.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Literal::Float(x)),
            Ok(_) => Err(bad("not a finite number")),
            Err(_) => Err(bad("not a number")),
        },
        Type::Scalar(Scalar::Bool) => match text {
            "true" => Ok(Literal::Bool(true)),
            "false" => Ok(Literal::Bool(false)),
            _ => Err(bad("not `true` or `false`")),
        },
        Type::Scalar(Scalar::Utf8 | Scalar::Path) => Ok(Literal::Str(text.into())),
        _ => Err(bad(
            "only numbers, booleans, strings, paths, and tensors, lists and tables as JSON can be given on the command line",
        )),
    }
}
