//! Unification: symbolic dimensions are variables of one table (union-find, each class with
//! the size it is known to have and where that was learnt), element variables (`T`) are bound
//! per call, and a value's type is matched against the type a place expects.

use std::collections::HashMap;

use aigrid_lang::Span;
use ecow::EcoString;

use crate::ty::{Column, Dim, Elem, Scalar, Tensor, Type};

/// The dimension variables of one body.
#[derive(Default, Debug)]
pub(super) struct Dims {
    parent: Vec<u32>,
    /// Per class root: the known size and where it was learnt.
    size: Vec<Option<(u64, Span)>>,
    /// The symbol a variable was made for, shown in messages.
    name: Vec<Option<EcoString>>,
}

/// Why a value does not fit where it is used.
#[derive(Debug)]
pub(super) enum Mismatch {
    /// Different kinds or scalar types.
    Types,
    /// A nullable value where a value is required.
    MayBeNull,
    Rank {
        expected: usize,
        found: usize,
    },
    /// Element types of tensors differ.
    Elem {
        expected: Scalar,
        found: Scalar,
    },
    /// A dimension differs from a size the expected type states.
    DimSize {
        index: usize,
        expected: u64,
        found: u64,
    },
    /// A symbol already has another size (learnt at `first`).
    DimConflict {
        index: usize,
        symbol: Option<EcoString>,
        first: u64,
        at: Span,
        found: u64,
    },
    /// Table columns differ.
    Column(ColumnMismatch),
}

/// How two tables' columns differ, by the first column that does.
#[derive(Debug)]
pub(super) enum ColumnMismatch {
    Missing { name: EcoString, expected: String },
    Extra { name: EcoString },
    Type { name: EcoString, expected: String, found: String, cast: Option<&'static str> },
}

/// Element-type variables bound by one call.
pub(super) type Subst = HashMap<EcoString, Scalar>;

impl Dims {
    pub(super) fn fresh(&mut self, name: Option<EcoString>) -> u32 {
        let id = self.parent.len() as u32;
        self.parent.push(id);
        self.size.push(None);
        self.name.push(name);
        id
    }

    fn find(&mut self, var: u32) -> u32 {
        let mut root = var;
        while let Some(&parent) = self.parent.get(root as usize) {
            if parent == root {
                break;
            }
            root = parent;
        }
        // Path compression.
        let mut current = var;
        while let Some(&parent) = self.parent.get(current as usize) {
            if parent == root {
                break;
            }
            self.parent[current as usize] = root;
            current = parent;
        }
        root
    }

    /// The size a dimension is known to have.
    pub(super) fn known(&mut self, dim: &Dim) -> Option<u64> {
        match dim {
            Dim::Fixed(n) => Some(*n),
            Dim::Var(v) => {
                let root = self.find(*v);
                self.size.get(root as usize).copied().flatten().map(|(n, _)| n)
            }
            _ => None,
        }
    }

    /// Replaces the symbols of a signature's type by variables, one per symbol in `symbols`
    /// (shared by the calls of one body or by the types of one call).
    pub(super) fn instantiate(&mut self, ty: &Type, symbols: &mut HashMap<EcoString, u32>) -> Type {
        match ty {
            Type::Tensor(Tensor { elem, dims: Some(dims) }) => {
                let dims = dims
                    .iter()
                    .map(|d| match d {
                        Dim::Symbol(name) => {
                            let var = match symbols.get(name) {
                                Some(&var) => var,
                                None => {
                                    let var = self.fresh(Some(name.clone()));
                                    symbols.insert(name.clone(), var);
                                    var
                                }
                            };
                            Dim::Var(var)
                        }
                        Dim::Any => Dim::Var(self.fresh(None)),
                        other => other.clone(),
                    })
                    .collect();
                Type::Tensor(Tensor { elem: elem.clone(), dims: Some(dims) })
            }
            Type::List(item) => Type::List(Box::new(self.instantiate(item, symbols))),
            Type::Optional(inner) => Type::Optional(Box::new(self.instantiate(inner, symbols))),
            Type::Table(Some(columns)) => {
                let columns: Vec<Column> = columns
                    .iter()
                    .map(|c| Column { name: c.name.clone(), ty: self.instantiate(&c.ty, symbols) })
                    .collect();
                Type::Table(Some(columns.into()))
            }
            other => other.clone(),
        }
    }

    /// Makes two dimensions equal; `at` is where the second one comes from.
    pub(super) fn unify_dim(
        &mut self,
        a: &Dim,
        b: &Dim,
        index: usize,
        at: Span,
    ) -> Result<(), Mismatch> {
        match (a, b) {
            (Dim::Fixed(x), Dim::Fixed(y)) if x != y => {
                Err(Mismatch::DimSize { index, expected: *x, found: *y })
            }
            (Dim::Var(v), Dim::Fixed(n)) | (Dim::Fixed(n), Dim::Var(v)) => {
                let root = self.find(*v);
                match self.size[root as usize] {
                    Some((known, first)) if known != *n => Err(Mismatch::DimConflict {
                        index,
                        symbol: self.name[root as usize].clone(),
                        first: known,
                        at: first,
                        found: *n,
                    }),
                    Some(_) => Ok(()),
                    None => {
                        self.size[root as usize] = Some((*n, at));
                        Ok(())
                    }
                }
            }
            (Dim::Var(x), Dim::Var(y)) => {
                let (rx, ry) = (self.find(*x), self.find(*y));
                if rx == ry {
                    return Ok(());
                }
                match (self.size[rx as usize], self.size[ry as usize]) {
                    (Some((m, first)), Some((n, _))) if m != n => Err(Mismatch::DimConflict {
                        index,
                        symbol: self.name[rx as usize].clone().or(self.name[ry as usize].clone()),
                        first: m,
                        at: first,
                        found: n,
                    }),
                    (known_x, known_y) => {
                        // The older variable stays the root: it keeps the name the user sees
                        // (the pipeline's own symbols are made first).
                        let (root, child) = if rx < ry { (rx, ry) } else { (ry, rx) };
                        self.parent[child as usize] = root;
                        self.size[root as usize] = known_x.or(known_y);
                        if self.name[root as usize].is_none() {
                            self.name[root as usize] = self.name[child as usize].clone();
                        }
                        Ok(())
                    }
                }
            }
            _ => Ok(()),
        }
    }

    /// Checks that a value of type `found` fits where `expected` is required; learns sizes of
    /// dimension variables and binds element variables in `subst`. `at` is the value's span.
    pub(super) fn unify(
        &mut self,
        expected: &Type,
        found: &Type,
        subst: &mut Subst,
        at: Span,
    ) -> Result<(), Mismatch> {
        match (expected, found) {
            (Type::Unknown, _) | (_, Type::Unknown) => Ok(()),
            (Type::Scalar(e), Type::Scalar(f)) if e == f || text_like(*e, *f) => Ok(()),
            (Type::Scalar(e), Type::IntLit) if e.is_numeric() => Ok(()),
            (Type::Scalar(e), Type::FloatLit) if e.is_float() => Ok(()),
            (Type::IntLit, Type::IntLit) | (Type::FloatLit, Type::FloatLit | Type::IntLit) => {
                Ok(())
            }
            (Type::Null, Type::Null) => Ok(()),
            (Type::Arrow(e), Type::Arrow(f)) if e == f => Ok(()),
            (Type::Optional(_), Type::Null) => Ok(()),
            (Type::Optional(e), Type::Optional(f)) => self.unify(e, f, subst, at),
            (Type::Optional(e), f) => self.unify(e, f, subst, at),
            (e, Type::Optional(f)) => match self.unify(e, f, subst, at) {
                Ok(()) => Err(Mismatch::MayBeNull),
                Err(other) => Err(other),
            },
            (Type::List(e), Type::List(f)) => self.unify(e, f, subst, at),
            (Type::Table(None), Type::Table(_)) | (Type::Table(_), Type::Table(None)) => Ok(()),
            (Type::Table(Some(e)), Type::Table(Some(f))) => self.columns(e, f, subst, at),
            (Type::Tensor(e), Type::Tensor(f)) => self.tensors(e, f, subst, at),
            _ => Err(Mismatch::Types),
        }
    }

    fn tensors(
        &mut self,
        e: &Tensor,
        f: &Tensor,
        subst: &mut Subst,
        at: Span,
    ) -> Result<(), Mismatch> {
        match (&e.elem, &f.elem) {
            (Elem::Scalar(x), Elem::Scalar(y)) if x != y => {
                return Err(Mismatch::Elem { expected: *x, found: *y });
            }
            (Elem::Var(name), Elem::Scalar(y)) => match subst.get(name) {
                Some(x) if x != y => return Err(Mismatch::Elem { expected: *x, found: *y }),
                Some(_) => {}
                None => {
                    subst.insert(name.clone(), *y);
                }
            },
            _ => {}
        }
        let (Some(ed), Some(fd)) = (&e.dims, &f.dims) else { return Ok(()) };
        if ed.len() != fd.len() {
            return Err(Mismatch::Rank { expected: ed.len(), found: fd.len() });
        }
        for (index, (a, b)) in ed.iter().zip(fd).enumerate() {
            self.unify_dim(a, b, index, at)?;
        }
        Ok(())
    }

    /// Columns match by name; a column's nullability is checked when the data arrives (SQL
    /// cannot always tell), its type here.
    fn columns(
        &mut self,
        expected: &[Column],
        found: &[Column],
        subst: &mut Subst,
        at: Span,
    ) -> Result<(), Mismatch> {
        for column in expected {
            let Some(other) = found.iter().find(|c| c.name == column.name) else {
                return Err(Mismatch::Column(ColumnMismatch::Missing {
                    name: column.name.clone(),
                    expected: self.show(&column.ty),
                }));
            };
            let (e, f) = (column.ty.non_null(), other.ty.non_null());
            if self.unify(e, f, subst, at).is_err() {
                let cast = match e {
                    Type::Scalar(s) => Some(s.sql_name()),
                    _ => None,
                };
                return Err(Mismatch::Column(ColumnMismatch::Type {
                    name: column.name.clone(),
                    expected: self.show(e),
                    found: self.show(f),
                    cast,
                }));
            }
        }
        if let Some(extra) = found.iter().find(|c| !expected.iter().any(|e| e.name == c.name)) {
            return Err(Mismatch::Column(ColumnMismatch::Extra { name: extra.name.clone() }));
        }
        Ok(())
    }

    /// The shape of an elementwise operation of two tensors (NumPy broadcasting: dimensions
    /// are aligned from the last; each pair is equal or one of them is 1). A symbolic
    /// dimension broadcast against a size other than 1 takes that size.
    pub(super) fn broadcast(
        &mut self,
        a: &[Dim],
        b: &[Dim],
        at: Span,
    ) -> Result<Vec<Dim>, (usize, u64, u64)> {
        let rank = a.len().max(b.len());
        let mut out = Vec::with_capacity(rank);
        for i in 0..rank {
            let x = (i + a.len()).checked_sub(rank).and_then(|j| a.get(j));
            let y = (i + b.len()).checked_sub(rank).and_then(|j| b.get(j));
            let dim = match (x, y) {
                (Some(x), None) => x.clone(),
                (None, Some(y)) => y.clone(),
                (Some(x), Some(y)) => match (self.known(x), self.known(y)) {
                    (Some(1), _) => y.clone(),
                    (_, Some(1)) => x.clone(),
                    (Some(m), Some(n)) if m != n => return Err((i, m, n)),
                    _ => {
                        if self.unify_dim(x, y, i, at).is_err() {
                            return Err((
                                i,
                                self.known(x).unwrap_or(0),
                                self.known(y).unwrap_or(0),
                            ));
                        }
                        x.clone()
                    }
                },
                (None, None) => Dim::Any,
            };
            out.push(dim);
        }
        Ok(out)
    }

    /// The type with what is known of its dimensions: sizes, else symbols, else `_`.
    pub(super) fn resolve(&mut self, ty: &Type) -> Type {
        match ty {
            Type::Tensor(Tensor { elem, dims: Some(dims) }) => {
                let dims = dims
                    .iter()
                    .map(|d| match d {
                        Dim::Var(v) => {
                            let root = self.find(*v);
                            match (self.size[root as usize], &self.name[root as usize]) {
                                (Some((n, _)), _) => Dim::Fixed(n),
                                (None, Some(name)) => Dim::Symbol(name.clone()),
                                (None, None) => Dim::Any,
                            }
                        }
                        other => other.clone(),
                    })
                    .collect();
                Type::Tensor(Tensor { elem: elem.clone(), dims: Some(dims) })
            }
            Type::List(item) => Type::List(Box::new(self.resolve(item))),
            Type::Optional(inner) => Type::Optional(Box::new(self.resolve(inner))),
            Type::Table(Some(columns)) => {
                let columns: Vec<Column> = columns
                    .iter()
                    .map(|c| Column { name: c.name.clone(), ty: self.resolve(&c.ty) })
                    .collect();
                Type::Table(Some(columns.into()))
            }
            other => other.clone(),
        }
    }

    /// The type as shown in messages.
    pub(super) fn show(&mut self, ty: &Type) -> String {
        self.resolve(ty).to_string()
    }
}

/// `path` and `utf8` values are interchangeable: a path is text.
fn text_like(a: Scalar, b: Scalar) -> bool {
    matches!((a, b), (Scalar::Utf8 | Scalar::Path, Scalar::Utf8 | Scalar::Path))
}

/// Replaces bound element variables by their types (unbound ones become unknown).
pub(super) fn substitute(ty: &Type, subst: &Subst) -> Type {
    match ty {
        Type::Tensor(Tensor { elem: Elem::Var(name), dims }) => Type::Tensor(Tensor {
            elem: subst.get(name).map_or(Elem::Unknown, |s| Elem::Scalar(*s)),
            dims: dims.clone(),
        }),
        Type::List(item) => Type::List(Box::new(substitute(item, subst))),
        Type::Optional(inner) => Type::Optional(Box::new(substitute(inner, subst))),
        other => other.clone(),
    }
}
