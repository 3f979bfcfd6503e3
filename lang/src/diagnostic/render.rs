//! Renderers: the same diagnostics for a terminal (`human`), for one-line tools (`short`) and
//! for machines (`json`, documented in `spec/diagnostics.md`).

use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SpanContents,
};
use serde::Serialize;

use super::{Diagnostic, Severity};
use crate::source::{SourceFile, Sources};

/// The output formats of diagnostics.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DiagnosticFormat {
    /// Rich, multi-line rendering with the source excerpt, labels and help (via miette).
    Human {
        /// Whether to use ANSI colours.
        color: bool,
    },
    /// One line per diagnostic: `file:line:column: severity[code]: message`.
    Short,
    /// A JSON array of objects, one per diagnostic.
    Json,
}

/// Renders `diagnostics`, whose files are in `sources`, in `format`.
pub fn render(diagnostics: &[Diagnostic], sources: &Sources, format: DiagnosticFormat) -> String {
    match format {
        DiagnosticFormat::Human { color } => {
            let theme =
                if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
            let handler =
                GraphicalReportHandler::new_themed(theme).with_width(100).with_links(false);
            let mut out = String::new();
            for diagnostic in diagnostics {
                let file = sources.get(diagnostic.file);
                let name = file.map_or("<unknown>", SourceFile::name);
                let text = file.map_or("", SourceFile::text);
                let report = Report { diagnostic, source: NamedText { name, text } };
                // Rendering into a String cannot fail; a formatter error would only truncate.
                let _ = handler.render_report(&mut out, &report);
            }
            out
        }
        DiagnosticFormat::Short => diagnostics
            .iter()
            .map(|diagnostic| {
                let located = Located::new(diagnostic, sources);
                format!(
                    "{}:{}:{}: {}[{}]: {}\n",
                    located.file,
                    located.line,
                    located.column,
                    located.severity,
                    located.code,
                    located.message
                )
            })
            .collect(),
        DiagnosticFormat::Json => {
            let located: Vec<_> = diagnostics.iter().map(|d| Located::new(d, sources)).collect();
            let mut json = serde_json::to_string_pretty(&located).unwrap_or_else(|_| "[]".into());
            json.push('\n');
            json
        }
    }
}

/// One diagnostic as the `short` and `json` formats report it.
#[derive(Serialize)]
struct Located<'a> {
    file: &'a str,
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
    severity: &'static str,
    code: &'a str,
    message: &'a str,
    help: Option<&'a str>,
}

impl<'a> Located<'a> {
    fn new(diagnostic: &'a Diagnostic, sources: &'a Sources) -> Self {
        let file = sources.get(diagnostic.file);
        let (start, end) = diagnostic.primary_span().map_or((0, 0), |span| (span.start, span.end));
        let (line, column) = file.map_or((1, 1), |f| f.line_col(start));
        let (end_line, end_column) = file.map_or((1, 1), |f| f.line_col(end));
        Located {
            file: file.map_or("<unknown>", SourceFile::name),
            line,
            column,
            end_line,
            end_column,
            severity: diagnostic.severity.as_str(),
            code: &diagnostic.code,
            message: &diagnostic.message,
            help: diagnostic.help.as_deref(),
        }
    }
}

/// A diagnostic paired with its source, in the shape miette's renderer wants.
struct Report<'a> {
    diagnostic: &'a Diagnostic,
    source: NamedText<'a>,
}

/// Borrowed source text with a file name (miette's `NamedSource` wants owned, `'static` text).
struct NamedText<'a> {
    name: &'a str,
    text: &'a str,
}

impl miette::SourceCode for NamedText<'_> {
    fn read_span<'b>(
        &'b self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let inner = self.text.read_span(span, before, after)?;
        // miette counts columns in bytes; `short` and `json` count characters, and so do we.
        let start = inner.span().offset().min(self.text.len());
        let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
        let column = self.text.get(line_start..start).map_or(inner.column(), |s| s.chars().count());
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.to_owned(),
            inner.data(),
            *inner.span(),
            inner.line(),
            column,
            inner.line_count(),
        )))
    }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.diagnostic, f)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(&self.diagnostic.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Advice => miette::Severity::Advice,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diagnostic.help.as_ref().map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.diagnostic.labels.iter().map(|label| {
            let span = miette::SourceSpan::from(label.span);
            if label.primary {
                LabeledSpan::new_primary_with_span(label.message.clone(), span)
            } else {
                LabeledSpan::new_with_span(label.message.clone(), span)
            }
        })))
    }
}
