//! The one diagnostic model every phase reports through, and its renderers.
//!
//! Each phase declares its errors as an enum deriving [`miette::Diagnostic`] (code, labels,
//! help); [`Diagnostic::from_error`] turns any of them into this plain, collected form, which
//! the renderers in [`render`] print for people (`human`, `short`) and machines (`json`).

mod explain;
mod render;

pub use explain::{CodeDoc, lookup as explain_code};
pub use render::{DiagnosticFormat, render};

use crate::span::{FileId, Span};

/// How serious a diagnostic is.
#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
pub enum Severity {
    /// The input is wrong; the command fails.
    Error,
    /// Probably a mistake, but the input is accepted.
    Warning,
    /// A suggestion.
    Advice,
}

impl Severity {
    /// The lower-case name used in all output formats.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Advice => "advice",
        }
    }
}

/// A marked place in the source, with an optional message.
#[derive(Clone, PartialEq, Debug)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What to say there.
    pub message: Option<String>,
    /// Whether this is the main location of the diagnostic.
    pub primary: bool,
}

/// A problem found in a source file.
///
/// Invariant: `labels` is non-empty unless the problem concerns the whole file, and the first
/// primary label (or else the first label) is the location reported in `short` and `json`.
#[derive(Clone, PartialEq, Debug)]
pub struct Diagnostic {
    /// Stable code such as `AG0101`; `aigridc explain CODE` documents it.
    pub code: String,
    /// Error, warning or advice.
    pub severity: Severity,
    /// One line saying what is wrong.
    pub message: String,
    /// The file the diagnostic is about.
    pub file: FileId,
    /// Marked places; see the invariant above.
    pub labels: Vec<Label>,
    /// How to fix it, when there is something useful to say.
    pub help: Option<String>,
}

impl Diagnostic {
    /// Collects a phase's error (any [`miette::Diagnostic`]) as a diagnostic about `file`.
    pub fn from_error(file: FileId, error: &dyn miette::Diagnostic) -> Self {
        let labels = error
            .labels()
            .into_iter()
            .flatten()
            .map(|label| Label {
                span: Span::new(file, label.offset() as u32, (label.offset() + label.len()) as u32),
                message: label.label().map(str::to_owned),
                primary: label.primary(),
            })
            .collect();
        Diagnostic {
            code: error.code().map(|code| code.to_string()).unwrap_or_default(),
            severity: match error.severity() {
                Some(miette::Severity::Warning) => Severity::Warning,
                Some(miette::Severity::Advice) => Severity::Advice,
                _ => Severity::Error,
            },
            message: error.to_string(),
            file,
            labels,
            help: error.help().map(|help| help.to_string()),
        }
    }

    /// The main location: the first primary label, else the first label.
    pub fn primary_span(&self) -> Option<Span> {
        self.labels.iter().find(|label| label.primary).or(self.labels.first()).map(|l| l.span)
    }

    /// Whether this diagnostic makes the command fail.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}
