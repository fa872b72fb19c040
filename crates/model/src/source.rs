//! The files a model is read from, where they come from, and positions in
//! them.
//!
//! A model is read through [`Files`]: the disk for [`crate::load`], a set of
//! in-memory texts for [`crate::load_from_memory`] and the embedded example.
//! Every file read (YAML or a policy's JSON) is registered in [`Sources`]
//! under a [`FileId`], and every value keeps a [`Loc`]: its file, its byte
//! span and its field path, so a problem found late can still be reported
//! at its line and column.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use orgtwin_policy::json::Span;

/// Index of a file in [`Sources`].
pub type FileId = usize;

/// One file's text, with its line starts for positions.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: Arc<str>,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: PathBuf, text: Arc<str>) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            path,
            text,
            line_starts,
        }
    }

    /// The byte offset of `line` (1-based) and `column` (0-based, in
    /// characters), clamped to the text.
    pub fn byte_at(&self, line: usize, column: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let rest = self.text.get(start..).unwrap_or_default();
        let offset = rest
            .char_indices()
            .nth(column)
            .map_or(rest.len(), |(i, _)| i);
        start + offset
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub fn line_column(&self, byte: usize) -> (usize, usize) {
        let byte = byte.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= byte).max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..byte)
            .map_or(0, |prefix| prefix.chars().count());
        (line, column + 1)
    }

    /// The text of a 1-based line, without its line break.
    pub fn line_text(&self, line: usize) -> Option<&str> {
        let start = *self.line_starts.get(line.checked_sub(1)?)?;
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |&next| next.saturating_sub(1));
        let text = self.text.get(start..end)?;
        Some(text.strip_suffix('\r').unwrap_or(text))
    }
}

/// Every file read for one model.
#[derive(Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
    /// The first file registered under each path.
    by_path: std::collections::HashMap<PathBuf, FileId>,
}

impl Sources {
    pub fn add(&mut self, path: PathBuf, text: Arc<str>) -> FileId {
        let id = self.files.len();
        self.by_path.entry(path.clone()).or_insert(id);
        self.files.push(SourceFile::new(path, text));
        id
    }

    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id)
    }

    /// The file registered under `path`, if any.
    pub fn find(&self, path: &Path) -> Option<FileId> {
        self.by_path.get(path).copied()
    }
}

/// Where a value is: its file, its byte span, and its field path
/// (`accounts[1].iam.roles[0].name`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loc {
    pub file: FileId,
    pub span: Span,
    pub field: String,
}

impl Loc {
    pub fn new(file: FileId, span: Span, field: impl Into<String>) -> Self {
        Loc {
            file,
            span,
            field: field.into(),
        }
    }
}

/// Where model files are read from.
pub trait Files {
    /// The file's text.
    fn read(&self, path: &Path) -> Result<String, String>;
    /// The file's bytes (seed objects need not be text).
    fn read_bytes(&self, path: &Path) -> Result<Vec<u8>, String> {
        self.read(path).map(String::into_bytes)
    }
    /// The files matching a glob `pattern`, sorted; `*` does not cross `/`.
    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, String>;
}

const MATCH: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: true,
};

/// The file system.
pub struct Disk;

impl Files for Disk {
    fn read(&self, path: &Path) -> Result<String, String> {
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        String::from_utf8(bytes).map_err(|_| "the file is not UTF-8 text".to_string())
    }

    fn read_bytes(&self, path: &Path) -> Result<Vec<u8>, String> {
        std::fs::read(path).map_err(|e| e.to_string())
    }

    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, String> {
        let paths = glob::glob_with(pattern, MATCH).map_err(|e| e.msg.to_string())?;
        let mut found: Vec<PathBuf> = paths
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .map(|p| normalize(&p))
            .collect();
        found.sort();
        Ok(found)
    }
}

/// Files held in memory, by normalized relative path.
pub struct Memory<'a> {
    pub files: BTreeMap<PathBuf, &'a str>,
}

impl Files for Memory<'_> {
    fn read(&self, path: &Path) -> Result<String, String> {
        self.files
            .get(&normalize(path))
            .map(|text| (*text).to_string())
            .ok_or_else(|| "no such file".to_string())
    }

    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, String> {
        let pattern = glob::Pattern::new(pattern).map_err(|e| e.msg.to_string())?;
        Ok(self
            .files
            .keys()
            .filter(|p| pattern.matches_path_with(p, MATCH))
            .cloned()
            .collect())
    }
}

/// `path` with `.` and `a/..` removed, lexically (symbolic links are not
/// followed); leading `..` that cannot be removed are kept.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(component),
            },
            other => out.push(other),
        }
    }
    out.iter().collect()
}

/// `relative` read from the directory of the file `from`.
pub fn beside(from: &Path, relative: &str) -> PathBuf {
    let dir = from.parent().unwrap_or_else(|| Path::new(""));
    normalize(&dir.join(relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip() {
        let file = SourceFile::new("x".into(), "ab\nçd\n\nx".into());
        assert_eq!(file.line_column(0), (1, 1));
        assert_eq!(file.line_column(3), (2, 1));
        assert_eq!(file.line_column(5), (2, 2));
        assert_eq!(file.byte_at(2, 1), 5);
        assert_eq!(file.byte_at(9, 0), file.text.len());
        assert_eq!(file.line_text(2), Some("çd"));
        assert_eq!(file.line_text(3), Some(""));
        assert_eq!(file.line_column(usize::MAX), (4, 2));
    }

    #[test]
    fn normalizes_lexically() {
        assert_eq!(
            normalize(Path::new("a/./b/../c.json")),
            PathBuf::from("a/c.json")
        );
        assert_eq!(normalize(Path::new("../x/../y")), PathBuf::from("../y"));
        assert_eq!(
            beside(Path::new("org/accounts/a.yaml"), "../policies/p.json"),
            PathBuf::from("org/policies/p.json")
        );
    }
}
