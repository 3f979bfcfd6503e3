//! Source files, as the parser and the renderers see them.

use crate::span::{FileId, LineIndex};

/// One source file: its display name, its text and its line index.
#[derive(Clone, Debug)]
pub struct SourceFile {
    id: FileId,
    name: String,
    text: String,
    lines: LineIndex,
}

impl SourceFile {
    /// The file's id within its [`Sources`].
    pub fn id(&self) -> FileId {
        self.id
    }

    /// The name diagnostics show for the file (usually its path).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: u32) -> (u32, u32) {
        self.lines.line_col(&self.text, offset)
    }
}

/// The files of one run; [`FileId`]s index into it.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    /// An empty set of files.
    pub fn new() -> Self {
        Sources::default()
    }

    /// Adds a file and returns its id.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        let id = FileId(self.files.len() as u32);
        let text = text.into();
        let lines = LineIndex::new(&text);
        self.files.push(SourceFile { id, name: name.into(), text, lines });
        id
    }

    /// The id the next [`add`](Self::add) will return.
    pub fn next_id(&self) -> FileId {
        FileId(self.files.len() as u32)
    }

    /// The file with this id, if it was added here.
    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }
}
