//! A YAML reader that keeps where every node came from.
//!
//! Model files are YAML 1.2, read with `saphyr-parser`'s event stream into a
//! small tree of [`Node`]s that carry their byte span in the file, so every
//! later check can point at the line and column at fault. The tree is what
//! the format needs and no more:
//!
//! - one document per file; mapping keys are scalars and unique (a repeated
//!   key is an error, where most YAML libraries silently keep one);
//! - anchors and aliases are expanded, within a budget of nodes so that an
//!   alias bomb is refused instead of exhausting memory;
//! - tags are refused, except `!!str`, which makes a scalar a string;
//! - nesting deeper than [`MAX_DEPTH`] is refused, so that hostile input
//!   cannot exhaust the stack of the recursive readers that follow.
//!
//! Scalars keep their text and whether they were quoted: the readers decide
//! what a plain scalar means (an account id written `111122223333` stays the
//! text the user wrote, not a number). [`Node::to_json`] applies YAML's core
//! schema where a JSON value is needed.

use std::collections::{HashMap, HashSet};

use orgtwin_policy::json::Span;
use saphyr_parser::{Event, Parser, ScalarStyle, Tag};

use crate::source::SourceFile;

/// Deepest nesting of mappings and sequences accepted.
pub const MAX_DEPTH: usize = 64;

/// Most nodes one file may expand to, aliases included.
const MAX_NODES: usize = 200_000;

/// A YAML value and where it was found.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// An empty value, `~` or `null`, unquoted.
    Null,
    Scalar(Scalar),
    Sequence(Vec<Node>),
    Mapping(Vec<Entry>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Scalar {
    pub text: String,
    pub style: Style,
}

/// How a scalar was written; only plain scalars are typed by YAML's core
/// schema (numbers, booleans, null).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Plain,
    Quoted,
    /// `|` (`literal` true) or `>`.
    Block {
        literal: bool,
    },
}

/// One mapping member; `key_span` covers the key.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_span: Span,
    pub value: Node,
}

/// Why a file is not YAML this reader accepts, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    pub message: String,
    pub span: Span,
    /// True for YAML the parser read but this format does not accept
    /// (tags, several documents, alias bombs, deep nesting).
    pub unsupported: bool,
}

impl Node {
    /// What the value is, for messages: `a mapping`, `a string`.
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "nothing (null)",
            Value::Scalar(Scalar {
                style: Style::Plain,
                ..
            }) => "a plain scalar",
            Value::Scalar(_) => "a quoted string",
            Value::Sequence(_) => "a list",
            Value::Mapping(_) => "a mapping",
        }
    }

    pub fn as_mapping(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Mapping(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value as JSON (for the schema tests), with plain scalars typed by YAML's core schema:
    /// `null`/`~`/empty, `true`/`false`, and numbers in JSON's own syntax;
    /// every other scalar is a string.
    #[cfg(test)]
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Scalar(s) => scalar_to_json(s),
            Value::Sequence(items) => items.iter().map(Node::to_json).collect(),
            Value::Mapping(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }
}

/// How a plain scalar reads under YAML's core schema, as JSON.
pub fn scalar_to_json(scalar: &Scalar) -> serde_json::Value {
    if scalar.style != Style::Plain {
        return serde_json::Value::String(scalar.text.clone());
    }
    match scalar.text.as_str() {
        "true" | "True" | "TRUE" => serde_json::Value::Bool(true),
        "false" | "False" | "FALSE" => serde_json::Value::Bool(false),
        text if is_json_number(text) => serde_json::from_str(text)
            .unwrap_or_else(|_| serde_json::Value::String(text.to_string())),
        text => serde_json::Value::String(text.to_string()),
    }
}

/// True for text in JSON's number syntax (`-12`, `3.5e2`; not `+1`, `.5`, `01`).
pub fn is_json_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = usize::from(bytes.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let from = *i;
        while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - from
    };
    let first = bytes.get(i).copied();
    let count = digits(&mut i);
    if count == 0 || (count > 1 && first == Some(b'0')) {
        return false;
    }
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == bytes.len()
}

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// A mapping or sequence being built.
enum Open {
    Sequence {
        start: usize,
        anchor: usize,
        items: Vec<Node>,
    },
    Mapping {
        start: usize,
        anchor: usize,
        entries: Vec<Entry>,
        /// The keys so far, to find a repeat without a quadratic scan.
        keys: HashSet<String>,
        key: Option<(String, Span)>,
    },
}

struct Builder {
    stack: Vec<Open>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    root: Option<Node>,
    documents: usize,
    /// Every document is kept (a stream of Kubernetes manifests), not one.
    stream: Option<Vec<Node>>,
}

/// Reads `file` as one YAML document. An empty file (or one with only
/// comments) reads as [`Value::Null`].
pub fn parse(file: &SourceFile) -> Result<Node, YamlError> {
    let builder = build(file, None)?;
    Ok(builder.root.unwrap_or(Node {
        value: Value::Null,
        span: Span::default(),
    }))
}

/// Reads every document of `file` (`---` separated), as Kubernetes
/// manifests are kept. The node budget covers the whole file.
pub fn parse_stream(file: &SourceFile) -> Result<Vec<Node>, YamlError> {
    let builder = build(file, Some(Vec::new()))?;
    Ok(builder.stream.unwrap_or_default())
}

fn build(file: &SourceFile, stream: Option<Vec<Node>>) -> Result<Builder, YamlError> {
    let mut builder = Builder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        root: None,
        documents: 0,
        stream,
    };
    let mut parser = Parser::new_from_str(&file.text);
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| {
            let marker = e.marker();
            let at = file.byte_at(marker.line(), marker.col());
            YamlError {
                message: e.info().to_string(),
                span: Span { start: at, end: at },
                unsupported: false,
            }
        })?;
        let span = Span {
            start: file.byte_at(span.start.line(), span.start.col()),
            end: file.byte_at(span.end.line(), span.end.col()),
        };
        builder.event(event, span)?;
    }
    Ok(builder)
}

impl Builder {
    fn unsupported(&self, message: impl Into<String>, span: Span) -> YamlError {
        YamlError {
            message: message.into(),
            span,
            unsupported: true,
        }
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                self.anchors.clear();
                if self.documents > 1 && self.stream.is_none() {
                    return Err(self.unsupported(
                        "a model file holds one YAML document; split the documents into files and `include:` them",
                        span,
                    ));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let mut quoted = style != ScalarStyle::Plain;
                if let Some(tag) = tag {
                    if tag.is_yaml_core_schema() && tag.suffix == "str" {
                        quoted = true;
                    } else {
                        return Err(self.unsupported(
                            format!(
                                "the YAML tag `{}` is not supported; only `!!str` is",
                                shown(&tag)
                            ),
                            span,
                        ));
                    }
                }
                let value = if !quoted && is_null(&text) {
                    Value::Null
                } else {
                    Value::Scalar(Scalar {
                        text: text.into_owned(),
                        style: match style {
                            ScalarStyle::Literal => Style::Block { literal: true },
                            ScalarStyle::Folded => Style::Block { literal: false },
                            _ if quoted => Style::Quoted,
                            _ => Style::Plain,
                        },
                    })
                };
                self.count(1, span)?;
                self.finish(Node { value, span }, anchor)?;
            }
            Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                if let Some(tag) = tag {
                    return Err(self.unsupported(
                        format!("the YAML tag `{}` is not supported", shown(tag)),
                        span,
                    ));
                }
                if self.stack.len() >= MAX_DEPTH {
                    return Err(self.unsupported(
                        format!("nesting deeper than {MAX_DEPTH} levels is not supported"),
                        span,
                    ));
                }
                self.count(1, span)?;
                let start = span.start;
                self.stack
                    .push(if matches!(event, Event::SequenceStart(..)) {
                        Open::Sequence {
                            start,
                            anchor,
                            items: Vec::new(),
                        }
                    } else {
                        Open::Mapping {
                            start,
                            anchor,
                            entries: Vec::new(),
                            keys: HashSet::new(),
                            key: None,
                        }
                    });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (start, anchor, value) = match self.stack.pop() {
                    Some(Open::Sequence {
                        start,
                        anchor,
                        items,
                    }) => (start, anchor, Value::Sequence(items)),
                    Some(Open::Mapping {
                        start,
                        anchor,
                        entries,
                        ..
                    }) => (start, anchor, Value::Mapping(entries)),
                    None => return Ok(()),
                };
                // A block collection ends where its last item ends (its end
                // event sits at the next line's key); a flow one at `]`/`}`.
                let last = match &value {
                    Value::Sequence(items) => items.last().map(|n| n.span.end),
                    Value::Mapping(entries) => entries.last().map(|e| e.value.span.end),
                    _ => None,
                };
                let end = match last {
                    Some(last) if span.start == span.end => last,
                    _ => span.end,
                };
                let node = Node {
                    value,
                    span: Span {
                        start,
                        end: end.max(start),
                    },
                };
                self.finish(node, anchor)?;
            }
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id).cloned() else {
                    return Err(self.unsupported("an alias to an unknown anchor", span));
                };
                self.count(count_nodes(&target), span)?;
                self.finish(target, 0)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(())
    }

    fn count(&mut self, nodes: usize, span: Span) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(nodes);
        if self.nodes > MAX_NODES {
            return Err(self.unsupported(
                format!("the file expands to more than {MAX_NODES} YAML nodes (aliases included)"),
                span,
            ));
        }
        Ok(())
    }

    /// Places a finished node in its parent (or as the document).
    fn finish(&mut self, node: Node, anchor: usize) -> Result<(), YamlError> {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => match &mut self.stream {
                Some(documents) => documents.push(node),
                None => self.root = Some(node),
            },
            Some(Open::Sequence { items, .. }) => items.push(node),
            Some(Open::Mapping {
                entries, keys, key, ..
            }) => match key.take() {
                None => {
                    let text = match &node.value {
                        Value::Scalar(s) => s.text.clone(),
                        Value::Null => String::new(),
                        _ => {
                            return Err(YamlError {
                                message: "mapping keys must be scalars".into(),
                                span: node.span,
                                unsupported: true,
                            });
                        }
                    };
                    if !keys.insert(text.clone()) {
                        return Err(YamlError {
                            message: format!("duplicate key `{text}`"),
                            span: node.span,
                            unsupported: false,
                        });
                    }
                    *key = Some((text, node.span));
                }
                Some((text, key_span)) => entries.push(Entry {
                    key: text,
                    key_span,
                    value: node,
                }),
            },
        }
        Ok(())
    }
}

/// A tag as the file wrote it (`!!set`, `!local`).
fn shown(tag: &Tag) -> String {
    if tag.is_yaml_core_schema() {
        format!("!!{}", tag.suffix)
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    }
}

/// Nodes in a subtree, counted without recursion.
fn count_nodes(node: &Node) -> usize {
    let mut count = 0;
    let mut pending = vec![node];
    while let Some(n) = pending.pop() {
        count += 1;
        match &n.value {
            Value::Sequence(items) => pending.extend(items),
            Value::Mapping(entries) => pending.extend(entries.iter().map(|e| &e.value)),
            _ => {}
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Node, YamlError> {
        parse(&SourceFile::new("t.yaml".into(), text.into()))
    }

    #[test]
    fn keeps_spans_and_kinds() {
        let text = "a: 1\nb:\n  - x\n  - 'y'\nc:\n";
        let node = read(text).unwrap();
        let entries = node.as_mapping().unwrap();
        assert_eq!(entries[0].key, "a");
        let Value::Sequence(items) = &entries[1].value.value else {
            panic!("not a list")
        };
        assert_eq!(&text[items[1].span.start..items[1].span.end], "'y'");
        assert_eq!(entries[2].value.value, Value::Null);
        assert_eq!(
            node.to_json(),
            serde_json::json!({"a": 1, "b": ["x", "y"], "c": null})
        );
    }

    #[test]
    fn refuses_duplicates_tags_documents_and_bombs() {
        assert!(
            read("a: 1\na: 2\n")
                .unwrap_err()
                .message
                .contains("duplicate")
        );
        assert!(read("a: !foo 1\n").unwrap_err().unsupported);
        assert_eq!(
            read("a: !!str 12\n").unwrap().to_json(),
            serde_json::json!({"a": "12"})
        );
        assert!(read("a: 1\n---\nb: 2\n").unwrap_err().unsupported);
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(read(&bomb).unwrap_err().message.contains("more than"));
        assert!(
            read(&"- ".repeat(200))
                .unwrap_err()
                .message
                .contains("nesting")
        );
    }

    #[test]
    fn json_numbers() {
        for yes in ["0", "-1", "12", "1.5", "2e10", "1E-3"] {
            assert!(is_json_number(yes), "{yes}");
        }
        for no in ["", "-", "01", "+1", ".5", "1.", "0x1f", "1e", "2012-10-17"] {
            assert!(!is_json_number(no), "{no}");
        }
    }
}
