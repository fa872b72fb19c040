//! Policy documents in model files: the three ways to write one, how each
//! is read and validated, and where each problem IAM would find is shown.
//!
//! A document field holds either
//!
//! - a YAML mapping, turned into JSON (plain scalars typed by YAML's core
//!   schema, so quote an account id: `AWS: "111122223333"`); every JSON key
//!   and value remembers the YAML span it came from, so a problem points at
//!   the YAML line of the element at fault;
//! - a JSON string (usually a `|` block); a problem points at its exact line
//!   and column in the YAML file where the string's text can be found there
//!   unchanged, and at the field otherwise;
//! - `{file: path.json}`, relative to the YAML file; problems point into the
//!   JSON file.
//!
//! Every document is parsed by `orgtwin_policy::Policy::parse` and checked by
//! `orgtwin_policy::validate` as its policy type. A problem's message is
//! IAM's, with the JSON path of the element (`Statement[0].Action[1]`).

use std::sync::Arc;

use orgtwin_policy::json::{self, Json, JsonValue, Span};
use orgtwin_policy::{NamedPolicy, Policy, PolicyError, PolicyType, validate};

use crate::error::{Problem, Report};
use crate::raw::{DocumentBody, RawDocument};
use crate::source::{FileId, Files, Loc, SourceFile, Sources, beside};
use crate::yaml::{Node, Style, Value, is_json_number, scalar_to_json};

/// A policy document: its JSON text, and the policy the engine evaluates.
///
/// Two documents are equal when their JSON is (whitespace, key order and
/// the way the file wrote them aside).
#[derive(Clone, Debug)]
pub struct Document {
    /// The JSON text as read: a policy file's content, the JSON string of
    /// the YAML file, or the JSON made from a YAML mapping.
    pub text: Arc<str>,
    pub policy: Arc<Policy>,
    /// The JSON value, for comparisons; `None` for the rare document
    /// `serde_json` cannot hold (a number beyond `f64`), compared as text.
    value: Option<serde_json::Value>,
    /// Where the document and each of its statements were written, for
    /// documents read from model files (not part of equality).
    pub places: Option<Arc<Places>>,
}

/// Where a document is in the model's files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Places {
    pub document: Place,
    /// One per statement, in order.
    pub statements: Vec<Place>,
}

/// A file, line and column (both from 1), as diagnostics print them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Place {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

impl Document {
    /// Where statement `index` was written, else where the document was.
    pub fn place_of_statement(&self, index: usize) -> Option<&Place> {
        let places = self.places.as_deref()?;
        places.statements.get(index).or(Some(&places.document))
    }
}

impl PartialEq for Document {
    fn eq(&self, other: &Self) -> bool {
        match (&self.value, &other.value) {
            (Some(a), Some(b)) => a == b,
            _ => self.text == other.text,
        }
    }
}

impl Document {
    /// Reads a JSON policy document (shape only; see [`validate()`] for the
    /// rules of each policy type).
    pub fn parse(text: &str) -> Result<Document, Vec<PolicyError>> {
        let policy = Policy::parse(text)?;
        Ok(Document {
            text: Arc::from(text),
            policy: Arc::new(policy),
            value: serde_json::from_str(text).ok(),
            places: None,
        })
    }

    /// The policy under the name decisions will show.
    pub fn named(&self, name: &str) -> NamedPolicy {
        NamedPolicy::shared(name, Arc::clone(&self.policy))
    }

    /// The document as indented JSON, keys in their original order.
    pub fn pretty(&self) -> String {
        match json::parse(&self.text) {
            Ok(doc) => {
                let mut out = String::new();
                write_pretty(&mut out, &doc, 0);
                out.push('\n');
                out
            }
            Err(_) => self.text.to_string(),
        }
    }
}

/// Turns a YAML mapping into compact JSON, pairing every JSON key and value
/// range with the YAML span it came from.
pub fn yaml_to_json(node: &Node) -> (String, Vec<(Span, Span)>) {
    let mut out = String::new();
    let mut spans = Vec::new();
    write_yaml(&mut out, &mut spans, node);
    (out, spans)
}

fn write_yaml(out: &mut String, spans: &mut Vec<(Span, Span)>, node: &Node) {
    let start = out.len();
    match &node.value {
        Value::Null => out.push_str("null"),
        Value::Scalar(scalar) => match scalar_to_json(scalar) {
            serde_json::Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
            serde_json::Value::Number(_) if is_json_number(&scalar.text) => {
                out.push_str(&scalar.text);
            }
            _ => push_string(out, &scalar.text),
        },
        Value::Sequence(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_yaml(out, spans, item);
            }
            out.push(']');
        }
        Value::Mapping(entries) => {
            out.push('{');
            for (i, entry) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let key_start = out.len();
                push_string(out, &entry.key);
                spans.push((
                    Span {
                        start: key_start,
                        end: out.len(),
                    },
                    entry.key_span,
                ));
                out.push(':');
                write_yaml(out, spans, &entry.value);
            }
            out.push('}');
        }
    }
    spans.push((
        Span {
            start,
            end: out.len(),
        },
        node.span,
    ));
}

/// Appends `text` as a JSON string.
pub fn push_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_pretty(out: &mut String, json: &Json, indent: usize) {
    let pad = |out: &mut String, n: usize| out.extend(std::iter::repeat_n("  ", n));
    match &json.value {
        JsonValue::Null => out.push_str("null"),
        JsonValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        JsonValue::Number(n) => out.push_str(n),
        JsonValue::String(s) => push_string(out, s),
        JsonValue::Array(items) if items.is_empty() => out.push_str("[]"),
        JsonValue::Object(members) if members.is_empty() => out.push_str("{}"),
        JsonValue::Array(items) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                pad(out, indent + 1);
                write_pretty(out, item, indent + 1);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            pad(out, indent);
            out.push(']');
        }
        JsonValue::Object(members) => {
            out.push_str("{\n");
            for (i, member) in members.iter().enumerate() {
                pad(out, indent + 1);
                push_string(out, &member.key);
                out.push_str(": ");
                write_pretty(out, &member.value, indent + 1);
                out.push_str(if i + 1 < members.len() { ",\n" } else { "\n" });
            }
            pad(out, indent);
            out.push('}');
        }
    }
}

/// The JSON path of the element at byte `offset`: `Statement[0].Action[1]`,
/// `Statement[0].Condition.StringEquals["aws:PrincipalTag/team"]`.
pub fn json_path(doc: &Json, offset: usize) -> String {
    let mut path = String::new();
    let mut current = doc;
    loop {
        let next = match &current.value {
            JsonValue::Object(members) => members.iter().find_map(|m| {
                let in_key = m.key_span.start <= offset && offset < m.key_span.end;
                let in_value = contains(m.value.span, offset);
                (in_key || in_value).then(|| {
                    push_key(&mut path, &m.key);
                    (!in_key).then_some(&m.value)
                })
            }),
            JsonValue::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                contains(item.span, offset).then(|| {
                    path.push_str(&format!("[{i}]"));
                    Some(item)
                })
            }),
            _ => None,
        };
        match next {
            Some(Some(child)) => current = child,
            _ => break,
        }
    }
    if path.is_empty() {
        "(document)".to_string()
    } else {
        path
    }
}

fn contains(span: Span, offset: usize) -> bool {
    span.start <= offset && offset < span.end.max(span.start + 1)
}

fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push('[');
        push_string(path, key);
        path.push(']');
    }
}

/// Reads, parses and validates a document field as a policy of each of
/// `types` (a customer managed policy used as a permissions boundary is
/// both an identity policy and a boundary), reporting every problem where
/// it is, once. `None` when the document cannot be read or is not a policy.
pub fn resolve(
    raw: &RawDocument,
    types: &[PolicyType],
    files: &dyn Files,
    sources: &mut Sources,
    report: &mut Report,
) -> Option<Document> {
    let yaml = raw.loc.file;
    let (text, origin) = match &raw.body {
        DocumentBody::Yaml { json, spans } => (json.clone(), Origin::Yaml(spans)),
        DocumentBody::JsonString { text, style, span } => {
            (text.clone(), Origin::JsonString(*style, *span))
        }
        DocumentBody::File { path } => {
            let full = beside(&sources.get(yaml)?.path, &path.value);
            let id = match sources.find(&full) {
                Some(id) => id,
                None => match files.read(&full) {
                    Ok(text) => sources.add(full, Arc::from(text)),
                    Err(reason) => {
                        report.push(
                            &path.loc,
                            Problem::Unreadable {
                                path: full.display().to_string(),
                                reason,
                            },
                        );
                        return None;
                    }
                },
            };
            (sources.get(id)?.text.to_string(), Origin::File(id))
        }
    };
    let place = |error: &PolicyError, sources: &Sources| -> Loc {
        let span = error.span.unwrap_or_default();
        let mapped = match origin {
            Origin::File(id) => Some((id, span)),
            Origin::Yaml(spans) => smallest_containing(spans, span.start).map(|s| (yaml, s)),
            Origin::JsonString(style, at) => sources
                .get(yaml)
                .and_then(|file| place_in_scalar(file, style, at, &text, span))
                .map(|s| (yaml, s)),
        };
        let (file, span) = mapped.unwrap_or((yaml, raw.loc.span));
        Loc::new(file, span, raw.loc.field.clone())
    };
    let first = types.first().copied().unwrap_or(PolicyType::Identity);
    let document = match Document::parse(&text) {
        Ok(document) => document,
        Err(errors) => {
            report_policy_errors(&text, &errors, first, report, |e| place(e, sources));
            return None;
        }
    };
    let mut seen: Vec<(String, Option<Span>)> = Vec::new();
    for &policy_type in types {
        let errors: Vec<PolicyError> = validate(&document.policy, policy_type)
            .into_iter()
            .filter(|e| {
                let key = (e.message.clone(), e.span);
                let new = !seen.contains(&key);
                seen.push(key);
                new
            })
            .collect();
        report_policy_errors(&text, &errors, policy_type, report, |e| place(e, sources));
    }
    let at = |loc: &Loc| -> Option<Place> {
        let file = sources.get(loc.file)?;
        let (line, column) = file.line_column(loc.span.start);
        Some(Place {
            file: file.path.display().to_string(),
            line,
            column,
        })
    };
    let document_place = match origin {
        Origin::File(id) => sources.get(id).map(|file| Place {
            file: file.path.display().to_string(),
            line: 1,
            column: 1,
        }),
        _ => at(&raw.loc),
    };
    let mut document = document;
    if let Some(document_place) = document_place {
        let statements = document
            .policy
            .statements
            .iter()
            .map(|statement| {
                let error = PolicyError::malformed("", statement.span);
                at(&place(&error, sources)).unwrap_or_else(|| document_place.clone())
            })
            .collect();
        document.places = Some(Arc::new(Places {
            document: document_place,
            statements,
        }));
    }
    Some(document)
}

#[derive(Clone, Copy)]
enum Origin<'a> {
    Yaml(&'a [(Span, Span)]),
    JsonString(Style, Span),
    File(FileId),
}

fn report_policy_errors(
    text: &str,
    errors: &[PolicyError],
    policy_type: PolicyType,
    report: &mut Report,
    place: impl Fn(&PolicyError) -> Loc,
) {
    let doc = json::parse(text).ok();
    for error in errors {
        let offset = error.span.unwrap_or_default().start;
        let json_path = doc
            .as_ref()
            .map_or_else(|| "(document)".to_string(), |d| json_path(d, offset));
        report.push(
            &place(error),
            Problem::Policy {
                policy_type,
                code: error.code,
                message: error.message.clone(),
                json_path,
                detail: error.help.clone(),
            },
        );
    }
}

/// The YAML span of the smallest JSON range that holds `offset`.
fn smallest_containing(spans: &[(Span, Span)], offset: usize) -> Option<Span> {
    spans
        .iter()
        .filter(|(json, _)| contains(*json, offset))
        .min_by_key(|(json, _)| json.end - json.start)
        .map(|(_, yaml)| *yaml)
}

/// Where the byte range `span` of a scalar's value lies in the YAML file,
/// when the value's text is there unchanged: a `|` block (each line after
/// its indentation) or a one-line scalar without escapes.
fn place_in_scalar(
    file: &SourceFile,
    style: Style,
    at: Span,
    value: &str,
    span: Span,
) -> Option<Span> {
    let start = locate(file, style, at, value, span.start)?;
    let end = locate(file, style, at, value, span.end).unwrap_or(start);
    Some(Span {
        start,
        end: end.max(start),
    })
}

fn locate(file: &SourceFile, style: Style, at: Span, value: &str, offset: usize) -> Option<usize> {
    let before = value.get(..offset)?;
    let line_index = before.matches('\n').count();
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1);
    match style {
        Style::Block { literal: true } => {
            let (first_line, _) = file.line_column(at.start);
            let line = first_line + line_index;
            let value_line = value.lines().nth(line_index).unwrap_or_default();
            let source_line = file.line_text(line)?;
            let indent = source_line.len().checked_sub(value_line.len())?;
            let in_place = source_line.get(indent..) == Some(value_line)
                && source_line.get(..indent)?.bytes().all(|b| b == b' ');
            in_place.then(|| file.byte_at(line, 0) + indent + column)
        }
        Style::Plain | Style::Quoted if !value.contains('\n') => {
            let text = file.text.get(at.start..at.end)?;
            let skip = usize::from(style == Style::Quoted);
            (text.get(skip..skip + value.len()) == Some(value)).then_some(at.start + skip + offset)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_paths_name_the_element() {
        let text = r#"{"Statement": [{"Action": ["a", "b"], "Condition": {"StringEquals": {"aws:x": "1"}}}]}"#;
        let doc = json::parse(text).unwrap();
        let at = |needle: &str| text.find(needle).unwrap();
        assert_eq!(json_path(&doc, at("\"b\"")), "Statement[0].Action[1]");
        assert_eq!(
            json_path(&doc, at("\"1\"")),
            "Statement[0].Condition.StringEquals[\"aws:x\"]"
        );
        assert_eq!(json_path(&doc, at("\"Action\"")), "Statement[0].Action");
        assert_eq!(json_path(&doc, 0), "(document)");
    }

    #[test]
    fn pretty_keeps_key_order_and_numbers() {
        let document = Document::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[],"Resource":"*","Condition":{"NumericLessThan":{"aws:MultiFactorAuthAge":3600}}}]}"#,
        )
        .unwrap();
        let pretty = document.pretty();
        assert!(pretty.starts_with("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n"));
        assert!(pretty.contains("\"aws:MultiFactorAuthAge\": 3600"));
        assert!(pretty.contains("\"Action\": [],"));
        assert_eq!(Document::parse(&pretty).unwrap(), document);
    }
}
