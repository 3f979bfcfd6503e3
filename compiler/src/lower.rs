//! Lowering: the typed body of the entry pipeline becomes a [`Dag`]. Calls of pipelines are
//! inlined (each node keeps the chain of calls it came through), a `let` used twice is one
//! node with two consumers, literal arguments become constants of the node that takes them,
//! and calls of `ai`s and standard-library operations become nodes of their own.

use std::collections::HashMap;
use std::rc::Rc;

use aigrid_lang::ast::{ItemKind, SortOrder};
use aigrid_lang::{FileId, Span};
use ecow::EcoString;

use crate::dag::{Arg, Dag, Node, NodeId, Op, Port, Requirement};
use crate::hir::{Attrs, Body, Call, Expr, ExprKind, Literal, Stmt, Target};
use crate::packages::{Packages, std_decl};
use crate::ty::Type;

/// A problem found while lowering.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum LowerError {
    /// A pipeline that calls itself, directly or through others: inlining would not end.
    #[error("pipeline `{name}` calls itself: {chain}")]
    #[diagnostic(
        code(AG0413),
        help(
            "pipelines are inlined into one graph, so they cannot recurse; repeat the steps instead"
        )
    )]
    Recursive {
        name: String,
        chain: String,
        #[label("this call closes the cycle")]
        span: Span,
    },
}

/// The typed bodies of every pipeline the entry may call, by declaring file and name.
pub(crate) type Bodies = HashMap<(FileId, EcoString), Rc<Body>>;

/// The resolved signature of every `ai`, by declaring file and name.
pub(crate) type AiSignatures = HashMap<(FileId, EcoString), String>;

/// Lowers `entry` (declared in `file`): the parameters for which `inputs` is true become
/// [`Op::Param`] nodes, given when the plan runs; the others take their defaults.
pub(crate) fn lower(
    packages: &mut Packages<'_>,
    bodies: &Bodies,
    ais: &AiSignatures,
    file: FileId,
    entry: &Body,
    inputs: &[bool],
) -> Result<Dag, LowerError> {
    let mut lowerer = Lowerer {
        packages,
        bodies,
        ais,
        dag: Dag::default(),
        stack: Vec::new(),
        requirements: HashMap::new(),
    };
    lowerer.stack.push((file, entry.name.clone()));
    let params: Vec<Option<NodeId>> = entry.locals[..entry.params]
        .iter()
        .enumerate()
        .map(|(index, param)| {
            if !inputs.get(index).copied().unwrap_or(true) {
                return None;
            }
            let node = Node::new(Op::Param(param.name.clone()), param.ty.clone(), param.span, &[]);
            Some(lowerer.dag.graph.add_node(node))
        })
        .collect();
    let output = lowerer.body(entry, params, &[])?;
    if let Some(value) = output {
        let found = lowerer.dag.graph[value].ty.clone();
        let span = lowerer.dag.graph[value].span;
        let mut node = Node::new(Op::Output, entry.ret.clone().unwrap_or(found.clone()), span, &[]);
        node.declared = entry.ret.is_some();
        node.args.push(("value".into(), Arg::Input(0)));
        node.expects.push(found);
        let out = lowerer.dag.graph.add_node(node);
        lowerer.dag.graph.add_edge(value, out, 0);
        lowerer.dag.output = Some(out);
    }
    Ok(lowerer.dag)
}

/// What lowering needs of an `ai` item: its requirement, parameter names, attributes and
/// parameter types.
type AiItem = (Requirement, Vec<EcoString>, Attrs, Vec<aigrid_lang::ast::TypeExpr>);

struct Lowerer<'p, 'w, 'b> {
    packages: &'p mut Packages<'w>,
    bodies: &'b Bodies,
    ais: &'b AiSignatures,
    dag: Dag,
    /// The pipelines being inlined, outermost first.
    stack: Vec<(FileId, EcoString)>,
    /// The requirements of the `ai`s called so far, with their parameters and attributes.
    requirements: HashMap<(FileId, EcoString), Rc<AiItem>>,
}

impl Node {
    pub(crate) fn new(op: Op, ty: Type, span: Span, origin: &[(EcoString, Span)]) -> Node {
        Node {
            op,
            args: Vec::new(),
            expects: Vec::new(),
            ty,
            declared: false,
            attrs: Attrs::default(),
            name: None,
            span,
            origin: origin.to_vec(),
        }
    }
}

impl Lowerer<'_, '_, '_> {
    /// Lowers a body whose parameters have the values `params` (`None`: the default); returns
    /// the node of its `return` value.
    fn body(
        &mut self,
        body: &Body,
        params: Vec<Option<NodeId>>,
        origin: &[(EcoString, Span)],
    ) -> Result<Option<NodeId>, LowerError> {
        let mut locals: Vec<Option<NodeId>> = vec![None; body.locals.len()];
        for (index, value) in params.into_iter().enumerate() {
            locals[index] = match value {
                Some(node) => Some(node),
                None => match body.locals.get(index).and_then(|l| l.default.as_ref()) {
                    Some(default) => Some(self.expr(default, &locals, origin)?),
                    None => None,
                },
            };
        }
        let mut result = None;
        for stmt in &body.stmts {
            match stmt {
                Stmt::Let { local, value, attrs, .. } => {
                    let before = self.dag.graph.node_count();
                    let node = self.expr(value, &locals, origin)?;
                    let local_info = body.locals.get(*local);
                    let fresh = node.index() >= before;
                    if fresh {
                        self.annotate(node, attrs, local_info.map(|l| l.name.clone()));
                    }
                    let declared = local_info.map(|l| l.ty.clone()).filter(|ty| *ty != value.ty);
                    locals[*local] = Some(self.declare(node, declared, fresh, origin));
                }
                Stmt::Expr { value, attrs, .. } => {
                    let node = self.expr(value, &locals, origin)?;
                    self.annotate(node, attrs, None);
                }
                Stmt::Return(value) => {
                    let before = self.dag.graph.node_count();
                    let node = self.expr(value, &locals, origin)?;
                    let fresh = node.index() >= before;
                    // Like a `let` annotation, the declared result type is enforced on the value.
                    let declared = body.ret.clone().filter(|ty| *ty != self.dag.graph[node].ty);
                    result = Some(self.declare(node, declared, fresh, origin));
                }
                Stmt::Assert { cond, message, span } => {
                    let message = message.as_ref().and_then(|m| match m.literal() {
                        Some(Literal::Str(s)) => Some(s.to_string()),
                        _ => None,
                    });
                    let mut node = Node::new(Op::Assert(message), Type::Unknown, *span, origin);
                    let arg = self.arg(cond, &locals, origin, &mut node)?;
                    node.args.push(("cond".into(), arg.0));
                    let id = self.add(node, arg.1);
                    let _ = id;
                }
            }
        }
        Ok(result)
    }

    /// Gives `node`'s value the `declared` type, if there is one: the node made for the value
    /// (`fresh`) carries it; a value that other steps also read (a `let` of a `let`, a pipeline
    /// returning its parameter) is checked by a node of its own. Returns the node to use.
    fn declare(
        &mut self,
        node: NodeId,
        declared: Option<Type>,
        fresh: bool,
        origin: &[(EcoString, Span)],
    ) -> NodeId {
        let Some(declared) = declared else { return node };
        if fresh && !matches!(self.dag.graph[node].op, Op::Param(_)) {
            let node_ref = &mut self.dag.graph[node];
            node_ref.ty = declared;
            node_ref.declared = true;
            return node;
        }
        let found = self.dag.graph[node].ty.clone();
        let span = self.dag.graph[node].span;
        let mut check = Node::new(Op::Check, declared, span, origin);
        check.declared = true;
        check.args.push(("value".into(), Arg::Input(0)));
        check.expects.push(found);
        self.add(check, vec![node])
    }

    /// Adds a step's attributes and its `let` name to the node computing it.
    fn annotate(&mut self, node: NodeId, attrs: &Attrs, name: Option<EcoString>) {
        let node = &mut self.dag.graph[node];
        if node.name.is_none() && !matches!(node.op, Op::Param(_)) {
            node.name = name;
        }
        let mine = &mut node.attrs;
        mine.retry = attrs.retry.or(mine.retry);
        mine.timeout_ms = attrs.timeout_ms.or(mine.timeout_ms);
        mine.cache |= attrs.cache;
        mine.on_error_null |= attrs.on_error_null;
        mine.gpu |= attrs.gpu;
        mine.resources.extend(attrs.resources.iter().cloned());
    }

    /// Adds a node and the edges of its inputs (by port).
    fn add(&mut self, node: Node, inputs: Vec<NodeId>) -> NodeId {
        let id = self.dag.graph.add_node(node);
        for (port, input) in inputs.into_iter().enumerate() {
            self.dag.graph.add_edge(input, id, port as Port);
        }
        id
    }

    /// An argument of `node`: a constant, or a new input port fed by the lowered expression.
    /// Returns the argument and the inputs `node` has then.
    fn arg(
        &mut self,
        expr: &Expr,
        locals: &[Option<NodeId>],
        origin: &[(EcoString, Span)],
        node: &mut Node,
    ) -> Result<(Arg, Vec<NodeId>), LowerError> {
        let mut inputs = Vec::new();
        let arg = self.arg_into(expr, locals, origin, node, &mut inputs)?;
        Ok((arg, inputs))
    }

    fn arg_into(
        &mut self,
        expr: &Expr,
        locals: &[Option<NodeId>],
        origin: &[(EcoString, Span)],
        node: &mut Node,
        inputs: &mut Vec<NodeId>,
    ) -> Result<Arg, LowerError> {
        if let Some(literal) = expr.literal() {
            return Ok(Arg::Const(literal));
        }
        if let ExprKind::List(items) = &expr.kind
            && let Some(literals) = items.iter().map(Expr::literal).collect::<Option<Vec<_>>>()
        {
            return Ok(Arg::List(literals));
        }
        let value = self.expr(expr, locals, origin)?;
        let port = inputs.len() as Port;
        inputs.push(value);
        node.expects.push(self.dag.graph[value].ty.clone());
        Ok(Arg::Input(port))
    }

    /// Lowers an expression; returns the node of its value.
    fn expr(
        &mut self,
        expr: &Expr,
        locals: &[Option<NodeId>],
        origin: &[(EcoString, Span)],
    ) -> Result<NodeId, LowerError> {
        let ty = expr.ty.clone();
        let mut inputs = Vec::new();
        let mut node = match &expr.kind {
            ExprKind::Local(index) => {
                if let Some(Some(node)) = locals.get(*index) {
                    return Ok(*node);
                }
                // A parameter without a value or default, in an inlined pipeline: cannot
                // happen in a checked program (the call passes every required argument).
                Node::new(Op::Const(Literal::Null), ty, expr.span, origin)
            }
            ExprKind::Literal(literal) => {
                Node::new(Op::Const(literal.clone()), ty, expr.span, origin)
            }
            ExprKind::List(items) => {
                let mut node = Node::new(Op::List, ty, expr.span, origin);
                for (index, item) in items.iter().enumerate() {
                    let arg = self.arg_into(item, locals, origin, &mut node, &mut inputs)?;
                    node.args.push((index.to_string().into(), arg));
                }
                node
            }
            ExprKind::Column { base, name } => {
                let mut node = Node::new(Op::Column(name.clone()), ty, expr.span, origin);
                let arg = self.arg_into(base, locals, origin, &mut node, &mut inputs)?;
                node.args.push(("table".into(), arg));
                node
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let mut node = Node::new(Op::Binary(*op), ty, expr.span, origin);
                let lhs = self.arg_into(lhs, locals, origin, &mut node, &mut inputs)?;
                let rhs = self.arg_into(rhs, locals, origin, &mut node, &mut inputs)?;
                node.args.push(("lhs".into(), lhs));
                node.args.push(("rhs".into(), rhs));
                node
            }
            ExprKind::Unary { op, operand } => {
                let mut node = Node::new(Op::Unary(*op), ty, expr.span, origin);
                let operand = self.arg_into(operand, locals, origin, &mut node, &mut inputs)?;
                node.args.push(("operand".into(), operand));
                node
            }
            ExprKind::Call(call) => return self.call(call, expr, locals, origin),
            ExprKind::Error => {
                Node::new(Op::Const(Literal::Null), Type::Unknown, expr.span, origin)
            }
        };
        node.ty = node.ty.clone();
        Ok(self.add(node, inputs))
    }

    fn call(
        &mut self,
        call: &Call,
        expr: &Expr,
        locals: &[Option<NodeId>],
        origin: &[(EcoString, Span)],
    ) -> Result<NodeId, LowerError> {
        match &call.target {
            Target::Pipeline(file, name) => {
                let key = (*file, name.clone());
                if self.stack.contains(&key) {
                    let mut chain: Vec<String> =
                        self.stack.iter().map(|(_, n)| n.to_string()).collect();
                    chain.push(name.to_string());
                    return Err(LowerError::Recursive {
                        name: name.to_string(),
                        chain: chain.join(" -> "),
                        span: expr.span,
                    });
                }
                let Some(body) = self.bodies.get(&key).cloned() else {
                    return Ok(self.add(
                        Node::new(Op::Const(Literal::Null), Type::Unknown, expr.span, origin),
                        Vec::new(),
                    ));
                };
                let mut args = Vec::with_capacity(call.args.len());
                for arg in &call.args {
                    args.push(match arg {
                        Some(arg) => Some(self.expr(arg, locals, origin)?),
                        None => None,
                    });
                }
                let mut inner = origin.to_vec();
                inner.push((name.clone(), expr.span));
                self.stack.push(key);
                let result = self.body(&body, args, &inner);
                self.stack.pop();
                match result? {
                    Some(node) => Ok(node),
                    // A pipeline without a result: its steps are in the graph; the call's
                    // value is never used (the checker rejects that).
                    None => Ok(self.add(
                        Node::new(Op::Const(Literal::Null), Type::Nothing, expr.span, origin),
                        Vec::new(),
                    )),
                }
            }
            Target::Ai(file, name) => {
                let key = (*file, name.clone());
                let known = match self.requirements.get(&key) {
                    Some(known) => known.clone(),
                    None => {
                        let made = Rc::new(self.requirement(*file, name));
                        self.requirements.insert(key, made.clone());
                        made
                    }
                };
                let (requirement, params, attrs) = (known.0.clone(), &known.1, known.2.clone());
                let param_types = &known.3;
                let mut node = Node::new(Op::Ai(requirement), expr.ty.clone(), expr.span, origin);
                node.attrs = attrs;
                let mut inputs = Vec::new();
                for (index, arg) in call.args.iter().enumerate() {
                    let param = params.get(index).cloned().unwrap_or_default();
                    let value = match arg {
                        Some(arg) => self.arg_into(arg, locals, origin, &mut node, &mut inputs)?,
                        None => match default_of(*file, self.packages, name, index) {
                            Some(literal) => Arg::Const(literal),
                            None => continue,
                        },
                    };
                    let value = match param_types.get(index) {
                        Some(ty) => coerce_arg(value, ty),
                        None => value,
                    };
                    node.args.push((param, value));
                }
                Ok(self.add(node, inputs))
            }
            Target::Std(item) => {
                let decl = std_decl(item);
                let op = if item.name == "sql" {
                    let query =
                        match call.args.first().and_then(|a| a.as_ref()).and_then(Expr::literal) {
                            Some(Literal::Str(query)) => query.to_string(),
                            _ => String::new(),
                        };
                    Op::Sql(query)
                } else {
                    Op::Std { package: package_of(item), name: item.name }
                };
                let is_sql = matches!(op, Op::Sql(_));
                let mut node = Node::new(op, expr.ty.clone(), expr.span, origin);
                let mut inputs = Vec::new();
                for (index, (arg, param)) in call.args.iter().zip(&decl.params).enumerate() {
                    if is_sql && index == 0 {
                        continue;
                    }
                    let value = match arg {
                        Some(arg) => self.arg_into(arg, locals, origin, &mut node, &mut inputs)?,
                        None => match param.default.as_ref().and_then(literal_of) {
                            Some(literal) => Arg::Const(literal),
                            None => continue,
                        },
                    };
                    let value = coerce_arg(value, &param.ty);
                    node.args.push((param.name.name.clone(), value));
                }
                for (name, arg) in &call.rest {
                    let value = self.arg_into(arg, locals, origin, &mut node, &mut inputs)?;
                    node.args.push((name.clone(), value));
                }
                Ok(self.add(node, inputs))
            }
        }
    }

    /// The requirement an `ai` item states, its parameter names and its attributes.
    fn requirement(&mut self, file: FileId, name: &str) -> AiItem {
        let text =
            self.packages.world().source(file).map(|s| s.text().to_owned()).unwrap_or_default();
        let module = self.packages.module(file);
        let found = module.as_ref().and_then(|m| {
            m.items.iter().find_map(|item| match &item.kind {
                ItemKind::Ai(ai) if ai.name.name == name => Some((item, ai)),
                _ => None,
            })
        });
        let Some((item, ai)) = found else {
            let requirement = Requirement {
                name: name.into(),
                signature: String::new(),
                predicate: None,
                prefer: Vec::new(),
                fallback: 0,
            };
            return (requirement, Vec::new(), Attrs::default(), Vec::new());
        };
        let slice = |span: Span| span.text(&text).to_owned();
        let params: Vec<String> =
            ai.params.iter().map(|p| format!("{}: {}", p.name.name, slice(p.ty.span))).collect();
        let requirement = Requirement {
            name: name.into(),
            signature: self.ais.get(&(file, name.into())).cloned().unwrap_or_else(|| {
                format!("{name}({}) -> {}", params.join(", "), slice(ai.ret.span))
            }),
            predicate: ai.predicate.as_ref().map(|p| slice(p.span)),
            prefer: ai
                .prefer
                .iter()
                .map(|k| {
                    (
                        k.key.name.clone(),
                        k.order.as_ref().is_some_and(|o| o.node == SortOrder::Desc),
                    )
                })
                .collect(),
            fallback: ai.fallback.as_ref().map_or(0, |f| f.node),
        };
        let names = ai.params.iter().map(|p| p.name.name.clone()).collect();
        let types = ai.params.iter().map(|p| p.ty.clone()).collect();
        (requirement, names, Attrs::of(&item.attrs), types)
    }
}

/// An integer constant passed where a float is declared is that float: `scale(x, 2)` scales by
/// `2.0` (an integer literal adapts to its place, spec/language.md §2.4).
fn coerce_arg(arg: Arg, ty: &aigrid_lang::ast::TypeExpr) -> Arg {
    let float = |ty: &aigrid_lang::ast::TypeExpr| match &ty.kind {
        aigrid_lang::ast::TypeKind::Named(path) => {
            crate::ty::Scalar::from_name(&path.to_string()).is_some_and(|s| s.is_float())
        }
        _ => false,
    };
    let float = match &ty.kind {
        aigrid_lang::ast::TypeKind::Optional(inner) => float(inner),
        _ => float(ty),
    };
    match arg {
        Arg::Const(Literal::Int(n)) if float => Arg::Const(Literal::Float(n as f64)),
        other => other,
    }
}

/// The literal default of parameter `index` of the `ai` `name` of `file`.
fn default_of(
    file: FileId,
    packages: &mut Packages<'_>,
    name: &str,
    index: usize,
) -> Option<Literal> {
    let module = packages.module(file)?;
    module.items.iter().find_map(|item| match &item.kind {
        ItemKind::Ai(ai) if ai.name.name == name => {
            ai.params.get(index)?.default.as_ref().and_then(literal_of)
        }
        _ => None,
    })
}

/// The literal a default expression is, if it is one.
fn literal_of(expr: &aigrid_lang::ast::Expr) -> Option<Literal> {
    use aigrid_lang::ast::{ExprKind as E, UnaryOp};
    Some(match &expr.kind {
        E::Int(n) => Literal::Int(*n),
        E::Float(x) => Literal::Float(*x),
        E::Str { value, .. } => Literal::Str(value.clone()),
        E::Bool(b) => Literal::Bool(*b),
        E::Null => Literal::Null,
        E::Duration(d) => Literal::Duration(u64::try_from(d.as_millis()).ok()?),
        E::Unary { op, operand } if op.node == UnaryOp::Neg => match literal_of(operand)? {
            Literal::Int(n) => Literal::Int(n.checked_neg()?),
            Literal::Float(x) => Literal::Float(-x),
            _ => return None,
        },
        _ => return None,
    })
}

/// The package of a standard-library item (`std.tensor`); the prelude's is `std`.
pub(crate) fn package_of(item: &'static aigrid_stdlib::Item) -> &'static str {
    aigrid_stdlib::PACKAGES
        .iter()
        .find(|package| {
            package.items.iter().any(|i| i.name == item.name && i.signature == item.signature)
        })
        .map_or("std", |package| package.name)
}
