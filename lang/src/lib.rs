//! The `.ag` language front end: source files, spans, diagnostics, the parser and the formatter.
//!
//! ```
//! use aigrid_lang::{FileId, format, parse};
//!
//! let source = "pipeline  hello(name:utf8)->utf8{ return name }\n";
//! let parsed = parse(FileId(0), source);
//! assert!(parsed.is_ok());
//! assert_eq!(
//!     format(&parsed, source),
//!     "pipeline hello(name: utf8) -> utf8 {\n    return name\n}\n"
//! );
//! ```

pub mod ast;
mod diagnostic;
mod format;
mod parse;
mod source;
mod span;

pub use diagnostic::{
    CodeDoc, Diagnostic, DiagnosticFormat, Label, Severity, explain_code, render,
};
pub use format::format;
pub use parse::{KEYWORDS, Parsed, decode, duration, parse, parse_with_pest_only};
pub use source::{SourceFile, Sources};
pub use span::{FileId, LineIndex, Span, Spanned};

/// The documentation of the diagnostic codes this crate reports (`AG01xx`).
pub const CODES: &[CodeDoc] = parse::CODES;
