//! The owned, typed syntax tree of one `.ag` file.
//!
//! Every node carries the [`Span`] it was parsed from. The tree keeps what the user wrote,
//! including parentheses (so the formatter can print them back), but no comments: those are
//! in [`Parsed::comments`](crate::Parsed::comments). Later phases attach their facts in side
//! tables keyed by node, never by filling in fields here.

use std::time::Duration;

use ecow::EcoString;

use crate::span::{Span, Spanned};

/// One parsed file.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct Module {
    /// The `package name @ version` header, if the file has one.
    pub package: Option<PackageDecl>,
    /// The items, in source order.
    pub items: Vec<Item>,
}

/// `package acme.search @ 1.2.0`.
#[derive(Clone, PartialEq, Debug)]
pub struct PackageDecl {
    /// Doc comment lines (without the `///`).
    pub docs: Vec<Spanned<EcoString>>,
    /// The package's qualified name.
    pub name: Path,
    /// The package's semantic version.
    pub version: Spanned<semver::Version>,
    /// The whole header.
    pub span: Span,
}

/// A name as written, with its span.
#[derive(Clone, PartialEq, Debug)]
pub struct Ident {
    /// The name.
    pub name: EcoString,
    /// Where it was written.
    pub span: Span,
}

/// A dotted name: `std.io`, `acme.text.Doc`.
#[derive(Clone, PartialEq, Debug)]
pub struct Path {
    /// The segments, at least one.
    pub segments: Vec<Ident>,
    /// The whole path.
    pub span: Span,
}

/// Prints the dotted name: `acme.text`.
impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, segment) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            f.write_str(&segment.name)?;
        }
        Ok(())
    }
}

/// `@name` or `@name(args)` on an item or a statement.
#[derive(Clone, PartialEq, Debug)]
pub struct Attribute {
    /// The attribute's name, e.g. `retry`.
    pub name: Ident,
    /// The arguments, if parentheses were written.
    pub args: Option<Vec<Arg>>,
    /// The whole attribute.
    pub span: Span,
}

/// A top-level item with its doc comment and attributes.
#[derive(Clone, PartialEq, Debug)]
pub struct Item {
    /// Doc comment lines (without the `///`).
    pub docs: Vec<Spanned<EcoString>>,
    /// Attributes written before the item.
    pub attrs: Vec<Attribute>,
    /// What kind of item.
    pub kind: ItemKind,
    /// The whole item, docs and attributes included.
    pub span: Span,
}

/// The kinds of top-level items.
#[derive(Clone, PartialEq, Debug)]
pub enum ItemKind {
    /// `use std.io.{read_csv}`.
    Use(UseDecl),
    /// `type Doc = table { ... }`.
    Type(TypeAlias),
    /// `ai embed(...) -> ... where ...`.
    Ai(AiDecl),
    /// `pipeline index(...) -> ... { ... }`.
    Pipeline(PipelineDecl),
    /// `test "name" { ... }`.
    Test(TestDecl),
}

/// `use PATH`, `use PATH as NAME` or `use PATH.{a, b as c}`.
#[derive(Clone, PartialEq, Debug)]
pub struct UseDecl {
    /// The module path.
    pub path: Path,
    /// What is imported from it.
    pub imports: UseImports,
}

/// What a `use` brings into scope.
#[derive(Clone, PartialEq, Debug)]
pub enum UseImports {
    /// The module itself, under its last segment or the given alias.
    Module {
        /// `as NAME`, if written.
        alias: Option<Ident>,
    },
    /// The listed names of the module.
    Names(Vec<UseName>),
}

/// One name in a `use` group: `name` or `name as alias`.
#[derive(Clone, PartialEq, Debug)]
pub struct UseName {
    /// The imported name.
    pub name: Ident,
    /// `as NAME`, if written.
    pub alias: Option<Ident>,
}

/// `type NAME = TYPE`.
#[derive(Clone, PartialEq, Debug)]
pub struct TypeAlias {
    /// The alias.
    pub name: Ident,
    /// The type it stands for.
    pub ty: TypeExpr,
}

/// An `ai` requirement: a signature plus the predicate and ranking discovery uses to bind it.
#[derive(Clone, PartialEq, Debug)]
pub struct AiDecl {
    /// The requirement's name, called like a function.
    pub name: Ident,
    /// Typed parameters.
    pub params: Vec<Param>,
    /// The result type.
    pub ret: TypeExpr,
    /// `where PRED`: what a grid AI's card must satisfy.
    pub predicate: Option<Expr>,
    /// `prefer k1 asc, k2 desc`: how candidates are ranked.
    pub prefer: Vec<PreferKey>,
    /// `fallback N`: how many more candidates to keep for fail-over.
    pub fallback: Option<Spanned<u32>>,
}

/// One ranking key of `prefer`.
#[derive(Clone, PartialEq, Debug)]
pub struct PreferKey {
    /// The card attribute to rank by.
    pub key: Ident,
    /// `asc` or `desc` if written (ascending when absent).
    pub order: Option<Spanned<SortOrder>>,
}

/// A ranking direction.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SortOrder {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// `pipeline NAME(PARAMS) -> TYPE { ... }`.
#[derive(Clone, PartialEq, Debug)]
pub struct PipelineDecl {
    /// The pipeline's name.
    pub name: Ident,
    /// Typed parameters with optional defaults.
    pub params: Vec<Param>,
    /// The declared result type, if any.
    pub ret: Option<TypeExpr>,
    /// The steps.
    pub body: Block,
}

/// `test "NAME" { ... }`.
#[derive(Clone, PartialEq, Debug)]
pub struct TestDecl {
    /// The test's name (the decoded string).
    pub name: Spanned<EcoString>,
    /// The steps and assertions.
    pub body: Block,
}

/// `name: TYPE` or `name: TYPE = DEFAULT`.
#[derive(Clone, PartialEq, Debug)]
pub struct Param {
    /// The parameter's name.
    pub name: Ident,
    /// Its declared type.
    pub ty: TypeExpr,
    /// Its default value, if any.
    pub default: Option<Expr>,
    /// The whole parameter.
    pub span: Span,
}

/// `{ stmt* }`.
#[derive(Clone, PartialEq, Debug)]
pub struct Block {
    /// The statements, in order.
    pub stmts: Vec<Stmt>,
    /// From `{` to `}`.
    pub span: Span,
}

/// A statement with its doc comment and attributes.
#[derive(Clone, PartialEq, Debug)]
pub struct Stmt {
    /// Doc comment lines (without the `///`).
    pub docs: Vec<Spanned<EcoString>>,
    /// Attributes such as `@cache`.
    pub attrs: Vec<Attribute>,
    /// What kind of statement.
    pub kind: StmtKind,
    /// The whole statement.
    pub span: Span,
}

/// The kinds of statements.
#[derive(Clone, PartialEq, Debug)]
pub enum StmtKind {
    /// `let NAME[: TYPE] = EXPR`.
    Let {
        /// The bound name.
        name: Ident,
        /// The annotated type, if any.
        ty: Option<TypeExpr>,
        /// The value.
        value: Expr,
    },
    /// `return EXPR`.
    Return(Expr),
    /// `assert COND[, MESSAGE]`.
    Assert {
        /// What must hold.
        cond: Expr,
        /// What to say when it does not.
        message: Option<Expr>,
    },
    /// An expression evaluated for its effect, e.g. `write_parquet(v, out)`.
    Expr(Expr),
}

/// A type as written.
#[derive(Clone, PartialEq, Debug)]
pub struct TypeExpr {
    /// What kind of type.
    pub kind: TypeKind,
    /// Where it was written.
    pub span: Span,
}

/// The kinds of written types.
#[derive(Clone, PartialEq, Debug)]
pub enum TypeKind {
    /// A name: a scalar such as `utf8`, an alias such as `Doc`, or `acme.text.Doc`.
    Named(Path),
    /// `table { col: type, ... }`.
    Table(Vec<Field>),
    /// `tensor<DTYPE, [DIMS]>`.
    Tensor {
        /// The element type.
        dtype: Box<TypeExpr>,
        /// The dimensions, outermost first.
        dims: Vec<Dim>,
    },
    /// `list<T>`.
    List(Box<TypeExpr>),
    /// `T?`: the value may be null.
    Optional(Box<TypeExpr>),
}

/// One column of a table type.
#[derive(Clone, PartialEq, Debug)]
pub struct Field {
    /// Doc comment lines (without the `///`).
    pub docs: Vec<Spanned<EcoString>>,
    /// The column name.
    pub name: Ident,
    /// The column type.
    pub ty: TypeExpr,
    /// The whole field.
    pub span: Span,
}

/// One tensor dimension.
#[derive(Clone, PartialEq, Debug)]
pub struct Dim {
    /// Its kind.
    pub kind: DimKind,
    /// Where it was written.
    pub span: Span,
}

/// The kinds of tensor dimensions.
#[derive(Clone, PartialEq, Debug)]
pub enum DimKind {
    /// A literal size.
    Fixed(u64),
    /// A symbolic size, equal wherever the same symbol appears in one signature.
    Symbol(EcoString),
    /// `_`: any size.
    Any,
}

/// An expression.
#[derive(Clone, PartialEq, Debug)]
pub struct Expr {
    /// What kind of expression.
    pub kind: ExprKind,
    /// Where it was written.
    pub span: Span,
}

/// The kinds of expressions.
#[derive(Clone, PartialEq, Debug)]
pub enum ExprKind {
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// A string literal, decoded; `raw` for `"""..."""`.
    Str {
        /// The string's value.
        value: EcoString,
        /// Whether it was written as a raw `"""` string.
        raw: bool,
    },
    /// A duration literal such as `30s`.
    Duration(Duration),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// `[a, b, c]`.
    List(Vec<Expr>),
    /// A name.
    Name(Ident),
    /// `base.name`.
    Field {
        /// What the field is read from.
        base: Box<Expr>,
        /// The field's name.
        name: Ident,
    },
    /// `callee(args)`.
    Call {
        /// What is called.
        callee: Box<Expr>,
        /// Positional arguments first, then named ones.
        args: Vec<Arg>,
    },
    /// `!e` or `-e`.
    Unary {
        /// The operator.
        op: Spanned<UnaryOp>,
        /// The operand.
        operand: Box<Expr>,
    },
    /// `lhs OP rhs`, including the pipe `lhs |> rhs`.
    Binary {
        /// The operator.
        op: Spanned<BinaryOp>,
        /// The left operand.
        lhs: Box<Expr>,
        /// The right operand.
        rhs: Box<Expr>,
    },
    /// `(e)`, kept so that the formatter prints what was written.
    Paren(Box<Expr>),
}

/// A call argument: positional, or named with `name = value`.
#[derive(Clone, PartialEq, Debug)]
pub struct Arg {
    /// The name, for a named argument.
    pub name: Option<Ident>,
    /// The value.
    pub value: Expr,
    /// The whole argument.
    pub span: Span,
}

/// Prefix operators.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum UnaryOp {
    /// `!`
    Not,
    /// `-`
    Neg,
}

/// Infix operators, loosest first.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BinaryOp {
    /// `|>`: `x |> f(a)` means `f(x, a)`.
    Pipe,
    /// `||`
    Or,
    /// `&&`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `in`
    In,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
}

impl BinaryOp {
    /// Binding strength: higher binds tighter. All binary operators are left-associative.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Pipe => 1,
            BinaryOp::Or => 2,
            BinaryOp::And => 3,
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::In => 4,
            BinaryOp::Add | BinaryOp::Sub => 5,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => 6,
        }
    }

    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Pipe => "|>",
            BinaryOp::Or => "||",
            BinaryOp::And => "&&",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::In => "in",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
        }
    }
}

/// A comment as found in the source; the formatter puts it back.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Comment {
    /// The comment's text including its delimiters (`// ...` or `/* ... */`).
    pub span: Span,
    /// Whether it is a `/* */` block comment.
    pub block: bool,
}
