//! IAM's request validation: the length, range and pattern constraints of
//! the API's shapes, answered as AWS answers them, all problems of a request
//! at once: `ValidationError` "2 validation errors detected: Value 'a b' at
//! 'roleName' failed to satisfy constraint: Member must satisfy regular
//! expression pattern: [\w+=,.@-]+; ...". Tags add IAM's own rules (keys
//! unique ignoring case, `aws:` reserved) as `InvalidInput`.

use orgtwin_model::Tag;

use super::{invalid_input, same_name};
use crate::query::Params;
use crate::reply::ServiceError;

/// The constraint problems of one request.
#[derive(Debug, Default)]
pub(super) struct Constraints {
    errors: Vec<String>,
}

/// Most tags an entity (or a request) may carry.
pub(super) const MAX_TAGS: usize = 50;

impl Constraints {
    fn fail(&mut self, field: &str, value: &str, constraint: &str) {
        self.errors.push(format!(
            "Value '{value}' at '{field}' failed to satisfy constraint: Member must {constraint}"
        ));
    }

    /// A length in characters; false when it is out of bounds.
    pub(super) fn length(&mut self, field: &str, value: &str, min: usize, max: usize) -> bool {
        let length = value.chars().count();
        if length < min {
            self.fail(
                field,
                value,
                &format!("have length greater than or equal to {min}"),
            );
            false
        } else if length > max {
            self.fail(
                field,
                value,
                &format!("have length less than or equal to {max}"),
            );
            false
        } else {
            true
        }
    }

    fn pattern(&mut self, field: &str, value: &str, ok: bool, pattern: &str) {
        if !ok {
            self.fail(
                field,
                value,
                &format!("satisfy regular expression pattern: {pattern}"),
            );
        }
    }

    pub(super) fn range(&mut self, field: &str, value: i64, min: i64, max: i64) {
        let text = value.to_string();
        if value < min {
            self.fail(
                field,
                &text,
                &format!("have value greater than or equal to {min}"),
            );
        } else if value > max {
            self.fail(
                field,
                &text,
                &format!("have value less than or equal to {max}"),
            );
        }
    }

    /// A user, group, role or policy name: `[\w+=,.@-]+`, 1 to `max`.
    pub(super) fn name(&mut self, field: &str, value: &str, max: usize) {
        if self.length(field, value, 1, max) {
            let ok = value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
            self.pattern(field, value, ok, r"[\w+=,.@-]+");
        }
    }

    /// The path of a user, group or role.
    pub(super) fn path(&mut self, field: &str, value: &str) {
        if self.length(field, value, 1, 512) {
            let ok = value == "/"
                || (value.len() > 2
                    && value.starts_with('/')
                    && value.ends_with('/')
                    && value.bytes().all(|b| (0x21..=0x7e).contains(&b))
                    && !value.contains("//"));
            self.pattern(field, value, ok, r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)");
        }
    }

    /// The path of a managed policy.
    pub(super) fn policy_path(&mut self, field: &str, value: &str) {
        if self.length(field, value, 1, 512) {
            let segment = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".,+@=_-".contains(c))
            };
            let segments_ok = match value.strip_prefix('/') {
                Some("") => true,
                Some(rest) => rest
                    .strip_suffix('/')
                    .is_some_and(|inner| inner.split('/').all(segment)),
                None => false,
            };
            self.pattern(field, value, segments_ok, r"((/[A-Za-z0-9\.,\+@=_-]+)*)/");
        }
    }

    /// A `PathPrefix` of a list.
    pub(super) fn path_prefix(&mut self, field: &str, value: &str) {
        if self.length(field, value, 1, 512) {
            let ok = value.starts_with('/') && value.bytes().all(|b| (0x21..=0x7f).contains(&b));
            self.pattern(field, value, ok, r"\u002F[\u0021-\u007F]*");
        }
    }

    /// A policy document as a request parameter (not yet as a policy).
    pub(super) fn document(&mut self, field: &str, value: &str) {
        if self.length(field, value, 1, 131_072) {
            let ok = value
                .chars()
                .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}'));
            self.pattern(field, value, ok, r"[\u0009\u000A\u000D\u0020-\u00FF]+");
        }
    }

    /// A role's description.
    pub(super) fn description(&mut self, field: &str, value: &str) {
        if self.length(field, value, 0, 1000) {
            let ok = value.chars().all(
                |c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{a1}'..='\u{ff}'),
            );
            self.pattern(
                field,
                value,
                ok,
                r"[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*",
            );
        }
    }

    /// An ARN parameter (policy, boundary, provider).
    pub(super) fn arn(&mut self, field: &str, value: &str) {
        self.length(field, value, 20, 2048);
    }

    /// Tags of a request, `Tags.member.N.Key` / `.Value`.
    pub(super) fn tags(&mut self, tags: &[Tag]) -> Result<(), ServiceError> {
        if tags.len() > MAX_TAGS {
            let listed: Vec<String> = tags
                .iter()
                .map(|t| format!("{}={}", t.key, t.value))
                .collect();
            self.fail(
                "tags",
                &format!("[{}]", listed.join(", ")),
                &format!("have length less than or equal to {MAX_TAGS}"),
            );
        }
        for (i, tag) in tags.iter().enumerate() {
            let n = i + 1;
            self.tag_key(&format!("tags.{n}.member.key"), &tag.key);
            let field = format!("tags.{n}.member.value");
            if self.length(&field, &tag.value, 0, 256) {
                let ok = tag.value.chars().all(tag_char);
                self.pattern(&field, &tag.value, ok, TAG_PATTERN_VALUE);
            }
        }
        for (i, tag) in tags.iter().enumerate() {
            if tags.iter().take(i).any(|t| same_name(&t.key, &tag.key)) {
                return Err(invalid_input(
                    "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
                ));
            }
            if tag.key.to_ascii_lowercase().starts_with("aws:") {
                return Err(invalid_input(format!(
                    "Tag key {} is reserved: keys starting with aws: are for AWS's use.",
                    tag.key
                )));
            }
        }
        Ok(())
    }

    /// One tag key (`TagKeys.member.N` of an untag request, or a tag's key).
    pub(super) fn tag_key(&mut self, field: &str, key: &str) {
        if self.length(field, key, 1, 128) {
            let ok = key.chars().all(tag_char);
            self.pattern(field, key, ok, TAG_PATTERN_KEY);
        }
    }

    /// `ValidationError` with every problem found, or nothing.
    pub(super) fn finish(self) -> Result<(), ServiceError> {
        let count = self.errors.len();
        if count == 0 {
            return Ok(());
        }
        let noun = if count == 1 { "error" } else { "errors" };
        Err(ServiceError::validation(format!(
            "{count} validation {noun} detected: {}",
            self.errors.join("; ")
        )))
    }
}

const TAG_PATTERN_KEY: &str = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]+";
const TAG_PATTERN_VALUE: &str = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*";

/// A letter, a separator, a number, or one of `_ . : / = + - @`.
fn tag_char(c: char) -> bool {
    c.is_alphabetic()
        || c.is_numeric()
        || (c.is_whitespace() && !c.is_control())
        || "_.:/=+-@".contains(c)
}

/// The `Tags.member.N.Key` / `.Value` of a request, in order, unchecked.
pub(super) fn read_tags(params: &Params) -> Vec<Tag> {
    params
        .pairs("Tags", "Key", "Value")
        .into_iter()
        .map(|(key, value)| Tag { key, value })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_aws_request_validation() {
        let mut checks = Constraints::default();
        checks.name("roleName", "a b", 64);
        checks.range("maxSessionDuration", 60, 3600, 43200);
        let error = checks.finish().unwrap_err();
        assert_eq!(error.code, "ValidationError");
        assert_eq!(
            error.message,
            "2 validation errors detected: Value 'a b' at 'roleName' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: [\\w+=,.@-]+; Value '60' at \
             'maxSessionDuration' failed to satisfy constraint: Member must have value greater \
             than or equal to 3600"
        );
    }

    #[test]
    fn paths() {
        let mut checks = Constraints::default();
        for good in ["/", "/a/", "/a/b/"] {
            checks.path("path", good);
            checks.policy_path("path", good);
        }
        assert!(checks.errors.is_empty(), "{:?}", checks.errors);
        for bad in ["a", "/a", "//", "/a b/"] {
            let mut checks = Constraints::default();
            checks.path("path", bad);
            checks.policy_path("path", bad);
            assert_eq!(checks.errors.len(), 2, "{bad}");
        }
    }

    #[test]
    fn tag_rules() {
        let tag = |k: &str, v: &str| Tag {
            key: k.into(),
            value: v.into(),
        };
        let mut checks = Constraints::default();
        assert!(checks.tags(&[tag("team", "a b"), tag("x:y", "")]).is_ok());
        assert!(checks.errors.is_empty());
        let duplicate = checks.tags(&[tag("Team", "a"), tag("team", "b")]);
        assert_eq!(duplicate.unwrap_err().code, "InvalidInput");
        assert!(checks.tags(&[tag("aws:x", "a")]).is_err());
        checks.tags(&[tag("a*", "b")]).unwrap();
        assert_eq!(checks.errors.len(), 1);
    }
}
