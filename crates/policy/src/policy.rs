//! The policy document: its elements as IAM defines them, read from JSON.
//!
//! Reading checks the shape only (the elements exist, have the right JSON
//! types, and are known); what IAM additionally requires of each policy type
//! is [`crate::validate`]'s job. A shape error stops the document from being
//! used at all, since IAM could never have stored it. Values that are well
//! shaped but wrong (an unknown condition operator, a bad date) are kept, so
//! a stored policy can still be evaluated; they deny.

use std::sync::Arc;

use crate::condition::{Condition, Operator};
use crate::error::{PolicyError, SYNTAX_ERRORS};
use crate::json::{self, Json, JsonValue, Member, Span};
use crate::pattern::{Pattern, Wildcards};
use crate::principal::{PrincipalEntry, PrincipalKind};

/// A value with the span it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Version`: variables are read only in 2012-10-17; a policy without a
/// version is read as 2008-10-17.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V2008_10_17,
    V2012_10_17,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub version: Version,
    pub version_span: Option<Span>,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
    /// Characters that are not whitespace: what IAM's size quotas count.
    pub size: usize,
    pub span: Span,
}

/// `Principal` or `NotPrincipal`.
#[derive(Clone, Debug, PartialEq)]
pub struct PrincipalBlock {
    pub negated: bool,
    pub key_span: Span,
    pub entries: Vec<Spanned<PrincipalEntry>>,
    /// The entries as written (`"AWS": "..."`), for messages.
    pub written: Vec<(PrincipalKind, String)>,
}

/// `Action`/`NotAction` or `Resource`/`NotResource`.
#[derive(Clone, Debug, PartialEq)]
pub struct MatchBlock {
    pub negated: bool,
    pub key_span: Span,
    pub items: Vec<Spanned<String>>,
    pub patterns: Vec<Pattern>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// Position in the `Statement` array.
    pub index: usize,
    pub span: Span,
    pub sid: Option<Arc<str>>,
    pub sid_span: Option<Span>,
    pub effect: Effect,
    pub principal: Option<PrincipalBlock>,
    pub action: Option<MatchBlock>,
    pub resource: Option<MatchBlock>,
    pub conditions: Vec<Spanned<Condition>>,
    pub condition_span: Option<Span>,
}

impl Policy {
    /// Reads a policy document. All shape errors are reported at once.
    pub fn parse(source: &str) -> Result<Policy, Vec<PolicyError>> {
        let doc = json::parse(source).map_err(|e| {
            let span = Span {
                start: e.at,
                end: (e.at + 1).min(source.len()),
            };
            vec![
                PolicyError::malformed("This policy contains invalid Json", span)
                    .with_help(e.message),
            ]
        })?;
        let size = source.chars().filter(|c| !c.is_whitespace()).count();
        let mut reader = ShapeReader { errors: Vec::new() };
        let policy = reader.policy(&doc, size);
        match policy {
            Some(policy) if reader.errors.is_empty() => Ok(policy),
            _ => Err(reader.errors),
        }
    }

    pub fn uses_variables(&self) -> bool {
        self.statements.iter().any(|s| {
            let in_resource = s
                .resource
                .iter()
                .flat_map(|r| &r.items)
                .any(|i| i.value.contains("${"));
            let in_condition = s
                .conditions
                .iter()
                .flat_map(|c| &c.value.raw_values)
                .any(|v| v.contains("${"));
            in_resource || in_condition
        })
    }
}

struct ShapeReader {
    errors: Vec<PolicyError>,
}

impl ShapeReader {
    fn err(&mut self, span: Span, help: impl Into<String>) {
        self.errors
            .push(PolicyError::malformed(SYNTAX_ERRORS, span).with_help(help));
    }

    /// The members of an object, reporting duplicate keys.
    fn members<'j>(&mut self, json: &'j Json, what: &str) -> Option<&'j [Member]> {
        let Some(members) = json.members() else {
            self.err(
                json.span,
                format!("{what} must be a JSON object, not {}", json.kind()),
            );
            return None;
        };
        for (i, m) in members.iter().enumerate() {
            if members.iter().take(i).any(|earlier| earlier.key == m.key) {
                self.err(m.key_span, format!("duplicate key `{}` in {what}", m.key));
            }
        }
        Some(members)
    }

    fn policy(&mut self, doc: &Json, size: usize) -> Option<Policy> {
        let members = self.members(doc, "a policy document")?;
        let mut version = Version::V2008_10_17;
        let (mut version_span, mut id, mut statement_json) = (None, None, None);
        for m in members {
            match m.key.as_str() {
                "Version" => match m.value.as_str() {
                    Some("2012-10-17") => {
                        version = Version::V2012_10_17;
                        version_span = Some(m.value.span);
                    }
                    Some("2008-10-17") => version_span = Some(m.value.span),
                    _ => self.err(
                        m.value.span,
                        "`Version` must be \"2012-10-17\" (or the legacy \"2008-10-17\")",
                    ),
                },
                "Id" => match m.value.as_str() {
                    Some(text) => id = Some(text.to_string()),
                    None => self.err(m.value.span, "`Id` must be a string"),
                },
                "Statement" => statement_json = Some(&m.value),
                other => self.err(
                    m.key_span,
                    format!(
                        "unknown field `{other}`: a policy has `Version`, `Id` and `Statement`"
                    ),
                ),
            }
        }
        let Some(statement_json) = statement_json else {
            self.err(doc.span, "a policy needs a `Statement` element");
            return None;
        };
        let variables = version == Version::V2012_10_17;
        let items: Vec<&Json> = match &statement_json.value {
            JsonValue::Array(items) => items.iter().collect(),
            JsonValue::Object(_) => vec![statement_json],
            _ => {
                self.err(
                    statement_json.span,
                    "`Statement` must be an object or an array of objects",
                );
                return None;
            }
        };
        let statements = items
            .into_iter()
            .enumerate()
            .filter_map(|(index, item)| self.statement(index, item, variables))
            .collect();
        Some(Policy {
            version,
            version_span,
            id,
            statements,
            size,
            span: doc.span,
        })
    }

    fn statement(&mut self, index: usize, json: &Json, variables: bool) -> Option<Statement> {
        let members = self.members(json, "a statement")?;
        let mut statement = Statement {
            index,
            span: json.span,
            sid: None,
            sid_span: None,
            effect: Effect::Deny,
            principal: None,
            action: None,
            resource: None,
            conditions: Vec::new(),
            condition_span: None,
        };
        let mut effect_seen = false;
        for m in members {
            match m.key.as_str() {
                "Sid" => match m.value.as_str() {
                    Some(sid) => {
                        statement.sid = Some(Arc::from(sid));
                        statement.sid_span = Some(m.value.span);
                    }
                    None => self.err(m.value.span, "`Sid` must be a string"),
                },
                "Effect" => match m.value.as_str() {
                    Some("Allow") => (statement.effect, effect_seen) = (Effect::Allow, true),
                    Some("Deny") => (statement.effect, effect_seen) = (Effect::Deny, true),
                    _ => {
                        effect_seen = true;
                        self.err(m.value.span, "`Effect` must be \"Allow\" or \"Deny\"");
                    }
                },
                "Principal" | "NotPrincipal" => {
                    if statement.principal.is_some() {
                        self.err(
                            m.key_span,
                            "a statement has `Principal` or `NotPrincipal`, not both",
                        );
                    }
                    statement.principal = self.principal(m);
                }
                "Action" | "NotAction" => {
                    if statement.action.is_some() {
                        self.err(
                            m.key_span,
                            "a statement has `Action` or `NotAction`, not both",
                        );
                    }
                    statement.action = self.match_block(m, MatchKind::Action, variables);
                }
                "Resource" | "NotResource" => {
                    if statement.resource.is_some() {
                        self.err(
                            m.key_span,
                            "a statement has `Resource` or `NotResource`, not both",
                        );
                    }
                    statement.resource = self.match_block(m, MatchKind::Resource, variables);
                }
                "Condition" => {
                    statement.condition_span = Some(m.key_span);
                    statement.conditions = self.conditions(&m.value, variables);
                }
                other => self.err(
                    m.key_span,
                    format!(
                        "unknown field `{other}` in a statement: a statement has `Sid`, `Effect`, \
                         `Principal`/`NotPrincipal`, `Action`/`NotAction`, \
                         `Resource`/`NotResource` and `Condition`"
                    ),
                ),
            }
        }
        if !effect_seen {
            self.errors.push(
                PolicyError::malformed("Missing required field Effect", json.span)
                    .with_help("every statement needs `\"Effect\": \"Allow\"` or `\"Deny\"`"),
            );
        }
        Some(statement)
    }

    /// A string or an array of strings.
    fn strings(&mut self, json: &Json, what: &str) -> Vec<Spanned<String>> {
        let one = |j: &Json| {
            j.as_str().map(|s| Spanned {
                value: s.to_string(),
                span: j.span,
            })
        };
        match &json.value {
            JsonValue::String(_) => one(json).into_iter().collect(),
            JsonValue::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match one(item) {
                        Some(s) => out.push(s),
                        None => self.err(item.span, format!("each {what} must be a string")),
                    }
                }
                out
            }
            _ => {
                self.err(
                    json.span,
                    format!("{what} must be a string or an array of strings"),
                );
                Vec::new()
            }
        }
    }

    fn principal(&mut self, m: &Member) -> Option<PrincipalBlock> {
        let negated = m.key == "NotPrincipal";
        let mut block = PrincipalBlock {
            negated,
            key_span: m.key_span,
            entries: Vec::new(),
            written: Vec::new(),
        };
        if m.value.as_str() == Some("*") {
            block.entries.push(Spanned {
                value: PrincipalEntry::Any,
                span: m.value.span,
            });
            block.written.push((PrincipalKind::Aws, "*".to_string()));
            return Some(block);
        }
        let members = self.members(&m.value, &format!("`{}`", m.key))?;
        for member in members {
            let Some(kind) = PrincipalKind::from_key(&member.key) else {
                self.err(
                    member.key_span,
                    format!(
                        "`{}` is not a principal type: use `AWS`, `Service`, `Federated` or \
                         `CanonicalUser`",
                        member.key
                    ),
                );
                continue;
            };
            for value in self.strings(&member.value, "principal") {
                block.written.push((kind, value.value.clone()));
                let entry = PrincipalEntry::parse(kind, &value.value);
                block.entries.push(Spanned {
                    value: entry,
                    span: value.span,
                });
            }
        }
        Some(block)
    }

    fn match_block(&mut self, m: &Member, kind: MatchKind, variables: bool) -> Option<MatchBlock> {
        let negated = m.key.starts_with("Not");
        let items = self.strings(&m.value, kind.noun());
        let mut patterns = Vec::with_capacity(items.len());
        for item in &items {
            let parsed = match kind {
                MatchKind::Action => {
                    Pattern::parse(&item.value.to_ascii_lowercase(), Wildcards::On, false)
                }
                MatchKind::Resource => Pattern::parse(&item.value, Wildcards::On, variables),
            };
            match parsed {
                Ok(p) => patterns.push(p),
                Err(e) => {
                    self.errors
                        .push(PolicyError::malformed(SYNTAX_ERRORS, item.span).with_help(e.0));
                }
            }
        }
        Some(MatchBlock {
            negated,
            key_span: m.key_span,
            items,
            patterns,
        })
    }

    fn conditions(&mut self, json: &Json, variables: bool) -> Vec<Spanned<Condition>> {
        let mut out = Vec::new();
        let Some(operators) = self.members(json, "`Condition`") else {
            return out;
        };
        for op in operators {
            let Some(keys) = self.members(&op.value, &format!("condition operator `{}`", op.key))
            else {
                continue;
            };
            let operator = Operator::parse(&op.key);
            for key in keys {
                let raw = self.condition_values(&key.value);
                let condition = Condition::new(operator.clone(), &key.key, raw, variables);
                out.push(Spanned {
                    value: condition,
                    span: Span {
                        start: op.key_span.start,
                        end: key.value.span.end,
                    },
                });
            }
        }
        out
    }

    /// Condition values: strings, numbers and booleans, alone or in an array,
    /// all read as text the way IAM does.
    fn condition_values(&mut self, json: &Json) -> Vec<String> {
        let scalar = |j: &Json| match &j.value {
            JsonValue::String(s) | JsonValue::Number(s) => Some(s.clone()),
            JsonValue::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        match &json.value {
            JsonValue::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match scalar(item) {
                        Some(v) => out.push(v),
                        None => self.err(
                            item.span,
                            "a condition value is a string, number or boolean",
                        ),
                    }
                }
                out
            }
            _ => match scalar(json) {
                Some(v) => vec![v],
                None => {
                    self.err(
                        json.span,
                        "a condition value is a string, number or boolean, or an array of them",
                    );
                    Vec::new()
                }
            },
        }
    }
}

#[derive(Clone, Copy)]
enum MatchKind {
    Action,
    Resource,
}

impl MatchKind {
    fn noun(self) -> &'static str {
        match self {
            MatchKind::Action => "action",
            MatchKind::Resource => "resource",
        }
    }
}
