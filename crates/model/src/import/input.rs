//! Reading an export: a JSON file kept with its text, walked through
//! [`Node`]s that know their JSON path, so that a value the import cannot
//! use is reported at its file, line, column and path
//! (`RoleDetailList[3].RoleName`), and a policy document written as a JSON
//! object keeps its text as the export wrote it (key order included).
//!
//! Policy documents come in three shapes: a JSON object (the AWS CLI
//! decodes them), a URL-encoded string (IAM's raw API answer, `%7B%22...`),
//! or a string of JSON (Organizations' `Content`). All three give the
//! document's JSON text.

use std::path::Path;
use std::sync::Arc;

use orgtwin_policy::json::{self, Json, JsonValue};

use super::error::{ImportError, Origin};
use crate::source::SourceFile;

/// One export, parsed.
pub struct InputFile {
    source: SourceFile,
    root: Json,
}

impl InputFile {
    pub fn read(path: &Path) -> Result<InputFile, ImportError> {
        let text = std::fs::read_to_string(path).map_err(|e| ImportError::Unreadable {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        InputFile::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<InputFile, ImportError> {
        // PowerShell's `Out-File -Encoding utf8` starts with a byte order mark.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let source = SourceFile::new(path.to_path_buf(), Arc::from(text));
        let root = json::parse(&source.text).map_err(|e| {
            let (line, column) = source.line_column(e.at);
            ImportError::NotJson {
                path: path.display().to_string(),
                line,
                column,
                reason: e.message,
            }
        })?;
        let file = InputFile { source, root };
        file.refuse_a_page()?;
        Ok(file)
    }

    /// One page of a listing is refused: what is on the other pages would
    /// be missing from the model without a word. The AWS CLI reads every
    /// page unless told `--max-items` or `--no-paginate`; it then leaves
    /// `NextToken` (`nextToken` for EKS) in its output, and IAM's own
    /// answer says `IsTruncated` with a `Marker`.
    fn refuse_a_page(&self) -> Result<(), ImportError> {
        let root = self.root();
        let token = ["NextToken", "nextToken", "Marker"]
            .into_iter()
            .find_map(|key| root.get(key));
        let truncated = match root.get("IsTruncated") {
            Some(flag) if flag.json.value == JsonValue::Bool(true) => Some(flag),
            _ => None,
        };
        match token.or(truncated) {
            Some(at) => Err(at.error(
                "this is one page of a listing: run the AWS CLI without `--max-items` or \
                 `--no-paginate`, so that it reads every page",
            )),
            None => Ok(()),
        }
    }

    pub fn name(&self) -> String {
        self.source.path.display().to_string()
    }

    pub fn root(&self) -> Node<'_> {
        Node {
            file: self,
            json: &self.root,
            path: String::new(),
        }
    }

    /// The file as a whole, as an origin.
    pub fn origin(&self) -> Origin {
        Origin::file(self.name())
    }
}

/// A value of an export and its JSON path.
#[derive(Clone)]
pub struct Node<'f> {
    file: &'f InputFile,
    json: &'f Json,
    path: String,
}

impl<'f> Node<'f> {
    pub fn origin(&self) -> Origin {
        let (line, column) = self.file.source.line_column(self.json.span.start);
        Origin {
            file: self.file.name(),
            line,
            column,
            json_path: self.path.clone(),
        }
    }

    /// An error at this value.
    pub fn error(&self, reason: impl Into<String>) -> ImportError {
        ImportError::Malformed {
            at: self.origin(),
            reason: reason.into(),
        }
    }

    fn child(&self, key: &str, json: &'f Json) -> Node<'f> {
        let plain = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let path = match (plain, self.path.is_empty()) {
            (true, true) => key.to_string(),
            (true, false) => format!("{}.{key}", self.path),
            (false, _) => format!("{}[{}]", self.path, quoted(key)),
        };
        Node {
            file: self.file,
            json,
            path,
        }
    }

    /// A member of this object; `None` when absent or `null` (the AWS CLI
    /// leaves out what is not set, other tools write `null`).
    pub fn get(&self, key: &str) -> Option<Node<'f>> {
        let json = self.json.get(key)?;
        (json.value != JsonValue::Null).then(|| self.child(key, json))
    }

    /// A member that must be there.
    pub fn required(&self, key: &str) -> Result<Node<'f>, ImportError> {
        self.get(key)
            .ok_or_else(|| self.error(format!("missing `{key}`")))
    }

    pub fn as_str(&self) -> Result<&'f str, ImportError> {
        self.json
            .as_str()
            .ok_or_else(|| self.error(format!("expected a string, found {}", self.json.kind())))
    }

    pub fn text(&self, key: &str) -> Result<Option<String>, ImportError> {
        self.get(key)
            .map(|n| n.as_str().map(str::to_string))
            .transpose()
    }

    pub fn required_text(&self, key: &str) -> Result<String, ImportError> {
        self.required(key)?.as_str().map(str::to_string)
    }

    pub fn flag(&self, key: &str) -> Result<Option<bool>, ImportError> {
        let Some(node) = self.get(key) else {
            return Ok(None);
        };
        match node.json.value {
            JsonValue::Bool(b) => Ok(Some(b)),
            _ => Err(node.error(format!("expected a boolean, found {}", node.json.kind()))),
        }
    }

    pub fn number(&self, key: &str) -> Result<Option<u64>, ImportError> {
        let Some(node) = self.get(key) else {
            return Ok(None);
        };
        match &node.json.value {
            JsonValue::Number(text) => text
                .parse()
                .map(Some)
                .map_err(|_| node.error(format!("expected a whole number, found `{text}`"))),
            _ => Err(node.error(format!("expected a number, found {}", node.json.kind()))),
        }
    }

    /// This value's items, when it is an array.
    pub fn elements(&self) -> Result<Vec<Node<'f>>, ImportError> {
        match &self.json.value {
            JsonValue::Array(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, json)| Node {
                    file: self.file,
                    json,
                    path: format!("{}[{i}]", self.path),
                })
                .collect()),
            _ => Err(self.error(format!("expected an array, found {}", self.json.kind()))),
        }
    }

    /// The items of an array member; absent is empty.
    pub fn items(&self, key: &str) -> Result<Vec<Node<'f>>, ImportError> {
        self.get(key).map_or(Ok(Vec::new()), |n| n.elements())
    }

    /// The strings of an array member; absent is empty.
    pub fn strings(&self, key: &str) -> Result<Vec<String>, ImportError> {
        self.items(key)?
            .iter()
            .map(|n| n.as_str().map(str::to_string))
            .collect()
    }

    /// This value's members, when it is an object (`null` members left out).
    pub fn members(&self) -> Result<Vec<(String, Node<'f>)>, ImportError> {
        let members = self
            .json
            .members()
            .ok_or_else(|| self.error(format!("expected an object, found {}", self.json.kind())))?;
        Ok(members
            .iter()
            .filter(|m| m.value.value != JsonValue::Null)
            .map(|m| (m.key.clone(), self.child(&m.key, &m.value)))
            .collect())
    }

    pub fn is_object(&self) -> bool {
        self.json.members().is_some()
    }

    /// Whether this object has a member `key`, `null` or not.
    pub fn has(&self, key: &str) -> bool {
        self.json.get(key).is_some()
    }

    /// A `{"Key": ..., "Value": ...}` list (IAM's and Organizations' tags)
    /// or a `{key: value}` object (EKS's tags, Kubernetes' annotations).
    pub fn tag_pairs(&self, key: &str) -> Result<Vec<(String, String, Origin)>, ImportError> {
        let Some(node) = self.get(key) else {
            return Ok(Vec::new());
        };
        if node.is_object() {
            return node
                .members()?
                .into_iter()
                .map(|(k, v)| Ok((k, v.as_str()?.to_string(), v.origin())))
                .collect();
        }
        node.elements()?
            .iter()
            .map(|tag| {
                let key = tag.required_text("Key")?;
                let value = tag.text("Value")?.unwrap_or_default();
                Ok((key, value, tag.origin()))
            })
            .collect()
    }

    /// The policy document this value holds, as JSON text.
    pub fn document(&self) -> Result<String, ImportError> {
        let text = match &self.json.value {
            JsonValue::Object(_) => self
                .file
                .source
                .text
                .get(self.json.span.start..self.json.span.end)
                .unwrap_or_default()
                .to_string(),
            JsonValue::String(s) if s.trim_start().starts_with('{') => s.clone(),
            JsonValue::String(s) => percent_decode(s).ok_or_else(|| {
                self.error("a policy document is JSON or URL-encoded JSON; this string is neither")
            })?,
            _ => {
                return Err(self.error(format!(
                    "expected a policy document, found {}",
                    self.json.kind()
                )));
            }
        };
        match json::parse(&text) {
            Ok(doc) if doc.members().is_some() => Ok(text),
            Ok(doc) => Err(self.error(format!(
                "a policy document is a JSON object, not {}",
                doc.kind()
            ))),
            Err(e) => Err(self.error(format!("the policy document is not JSON: {}", e.message))),
        }
    }
}

/// A key as JSON writes it, for paths: `annotations["eks.amazonaws.com/role-arn"]`.
fn quoted(key: &str) -> String {
    let mut out = String::new();
    crate::document::push_string(&mut out, key);
    out
}

/// `%XX` escapes decoded (IAM encodes documents with RFC 3986, so `+` is
/// `%2B` and a literal `+` is kept); `None` for a broken escape, text that
/// does not start as encoded JSON, or bytes that are not UTF-8.
pub fn percent_decode(text: &str) -> Option<String> {
    // IAM keeps a document as it was sent, leading white space included.
    let mut trimmed = text.trim_start();
    while let Some(rest) = ["%20", "%09", "%0A", "%0D"].iter().find_map(|space| {
        trimmed
            .get(..3)
            .filter(|p| p.eq_ignore_ascii_case(space))
            .and_then(|_| trimmed.get(3..))
    }) {
        trimmed = rest.trim_start();
    }
    if !trimmed
        .get(..3)
        .is_some_and(|p| p.eq_ignore_ascii_case("%7B"))
    {
        return None;
    }
    let bytes = trimmed.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = |at: usize| bytes.get(at).and_then(|c| char::from(*c).to_digit(16));
            let (hi, lo) = (hex(i + 1)?, hex(i + 2)?);
            out.push(u8::try_from(hi * 16 + lo).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> InputFile {
        InputFile::parse(Path::new("x.json"), text).unwrap()
    }

    #[test]
    fn documents_come_as_objects_encoded_strings_or_json_strings() {
        let f = file(
            r#"{"a": {"Version": "2012-10-17",  "Statement": []},
                "b": "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D",
                "c": "{\"Statement\": []}", "d": "%7Bnot", "e": 3}"#,
        );
        let root = f.root();
        let doc = |k: &str| root.required(k).unwrap().document();
        assert_eq!(
            doc("a").unwrap(),
            r#"{"Version": "2012-10-17",  "Statement": []}"#
        );
        assert_eq!(
            doc("b").unwrap(),
            r#"{"Version":"2012-10-17","Statement":[]}"#
        );
        assert_eq!(doc("c").unwrap(), r#"{"Statement": []}"#);
        let err = doc("d").unwrap_err().to_string();
        assert!(
            err.starts_with("x.json:3:50, at `d`: the policy document is not JSON"),
            "{err}"
        );
        assert!(doc("e").unwrap_err().to_string().contains("found a number"));
    }

    #[test]
    fn errors_name_the_file_line_and_json_path() {
        let f = file("{\n  \"RoleDetailList\": [\n    {\"RoleName\": 7}\n  ]\n}");
        let roles = f.root().items("RoleDetailList").unwrap();
        let err = roles[0].required_text("RoleName").unwrap_err().to_string();
        assert_eq!(
            err,
            "x.json:3:18, at `RoleDetailList[0].RoleName`: expected a string, found a number"
        );
        let annotations = file(r#"{"a": {"eks.amazonaws.com/role-arn": 1}}"#);
        let members = annotations.root().required("a").unwrap().members().unwrap();
        assert_eq!(
            members[0].1.origin().json_path,
            r#"a["eks.amazonaws.com/role-arn"]"#
        );
        let err = InputFile::parse(Path::new("y.json"), "{\n  oops")
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.starts_with("`y.json` is not JSON, at line 2, column 3"),
            "{err}"
        );
    }

    #[test]
    fn percent_decoding_keeps_plus_and_refuses_broken_escapes() {
        assert_eq!(percent_decode("%7B%22a+b%22%7D").unwrap(), "{\"a+b\"}");
        assert_eq!(percent_decode("%7B%2"), None);
        assert_eq!(percent_decode("plain"), None);
        assert_eq!(percent_decode("%7B%FF%FE"), None);
        assert_eq!(percent_decode("%0A%20%0d%7B%7D").unwrap(), "{}");
        assert_eq!(percent_decode("%0A%20"), None);
    }
}
