//! Wildcard patterns, ARN segment matching and policy variables.
//!
//! Action names, resource ARNs and `StringLike`/`ArnLike` values share one
//! pattern form: `*` matches any run of characters, `?` one character, and
//! `${key}` is replaced by the request's value of `key` (policy version
//! 2012-10-17 only). `${key, 'default'}` falls back to the default when the key
//! is absent; `${*}`, `${?}` and `${$}` stand for the literal characters. A
//! substituted value is always literal text: a tag value of `*` matches only
//! `*`. A variable that cannot be resolved makes the pattern match nothing.
//!
//! ARNs match segment by segment (partition, service, region, account, and the
//! resource, which keeps its own colons), so a `*` in the region never
//! swallows the account.

use crate::context::Context;

/// One element of a parsed pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    Literal(char),
    /// `*`: any run of characters, possibly empty.
    AnyRun,
    /// `?`: exactly one character.
    AnyOne,
    /// `${key}` or `${key, 'default'}`; `key` is lower-cased, as condition
    /// keys ignore case.
    Variable {
        key: String,
        default: Option<String>,
    },
}

/// Whether `*` and `?` are wildcards (they are not in `StringEquals`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wildcards {
    On,
    Off,
}

/// A pattern parsed once when the policy is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    tokens: Vec<Token>,
    has_variables: bool,
    /// For ARN patterns: the tokens split into the six ARN segments.
    segments: Option<Vec<Vec<Token>>>,
    /// The plain text when the pattern has neither wildcards nor variables.
    exact: Option<String>,
}

/// A `${` that does not form a variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariableSyntax(pub String);

impl Pattern {
    /// Parses `text`. With `variables` false (policy version 2008-10-17) a
    /// `${...}` is literal text.
    pub fn parse(
        text: &str,
        wildcards: Wildcards,
        variables: bool,
    ) -> Result<Self, VariableSyntax> {
        let mut tokens = Vec::with_capacity(text.len());
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if variables && rest.starts_with("${") {
                let close = rest
                    .find('}')
                    .ok_or_else(|| VariableSyntax(format!("unterminated variable in `{text}`")))?;
                let inner = rest.get(2..close).unwrap_or_default();
                tokens.push(parse_variable(inner, text)?);
                rest = rest.get(close + 1..).unwrap_or_default();
                continue;
            }
            tokens.push(match (c, wildcards) {
                ('*', Wildcards::On) => Token::AnyRun,
                ('?', Wildcards::On) => Token::AnyOne,
                _ => Token::Literal(c),
            });
            rest = rest.get(c.len_utf8()..).unwrap_or_default();
        }
        Ok(Self::from_tokens(tokens))
    }

    fn from_tokens(tokens: Vec<Token>) -> Self {
        let has_variables = tokens.iter().any(|t| matches!(t, Token::Variable { .. }));
        let exact = tokens
            .iter()
            .map(|t| match t {
                Token::Literal(c) => Some(*c),
                _ => None,
            })
            .collect::<Option<String>>();
        let segments = arn_segments(&tokens);
        Self {
            tokens,
            has_variables,
            segments,
            exact,
        }
    }

    pub fn has_variables(&self) -> bool {
        self.has_variables
    }

    /// True when the pattern is exactly `*`.
    pub fn is_any(&self) -> bool {
        self.tokens == [Token::AnyRun]
    }

    /// Matches `text` as a whole string. `ignore_case` folds both sides.
    pub fn matches(&self, text: &str, context: &Context, ignore_case: bool) -> bool {
        if let Some(exact) = &self.exact {
            return if ignore_case {
                eq_ignore_case(exact, text)
            } else {
                exact == text
            };
        }
        match self.resolve(&self.tokens, context) {
            Some(tokens) => glob(&tokens, text, ignore_case),
            None => false,
        }
    }

    /// Matches an ARN segment by segment; a pattern that is not an ARN falls
    /// back to a whole-string match.
    pub fn matches_arn(&self, arn: &str, context: &Context) -> bool {
        if let Some(exact) = &self.exact {
            return exact == arn;
        }
        let Some(segments) = &self.segments else {
            return self.matches(arn, context, false);
        };
        let mut parts = arn.splitn(6, ':');
        segments.iter().all(|pattern| match parts.next() {
            Some(part) => match self.resolve(pattern, context) {
                Some(tokens) => glob(&tokens, part, false),
                None => false,
            },
            None => false,
        })
    }

    /// The pattern with variables replaced, or `None` when one is unresolved.
    fn resolve<'p>(
        &self,
        tokens: &'p [Token],
        context: &Context,
    ) -> Option<std::borrow::Cow<'p, [Token]>> {
        if !self.has_variables {
            return Some(std::borrow::Cow::Borrowed(tokens));
        }
        let mut out = Vec::with_capacity(tokens.len() + 16);
        for token in tokens {
            match token {
                Token::Variable { key, default } => {
                    let value = match context.get_single(key) {
                        Some(value) => value,
                        None => default.as_deref()?,
                    };
                    out.extend(value.chars().map(Token::Literal));
                }
                other => out.push(other.clone()),
            }
        }
        Some(std::borrow::Cow::Owned(out))
    }
}

fn parse_variable(inner: &str, whole: &str) -> Result<Token, VariableSyntax> {
    let inner = inner.trim();
    match inner {
        "*" => return Ok(Token::Literal('*')),
        "?" => return Ok(Token::Literal('?')),
        "$" => return Ok(Token::Literal('$')),
        _ => {}
    }
    let (key, default) = match inner.split_once(',') {
        Some((key, default)) => {
            let default = default.trim();
            let unquoted = default
                .strip_prefix('\'')
                .and_then(|d| d.strip_suffix('\''))
                .ok_or_else(|| {
                    VariableSyntax(format!(
                        "the default of a variable in `{whole}` must be in single quotes"
                    ))
                })?;
            (key.trim(), Some(unquoted.to_string()))
        }
        None => (inner, None),
    };
    if key.is_empty() || !key.contains(':') {
        return Err(VariableSyntax(format!(
            "`${{{inner}}}` in `{whole}` is not a condition key"
        )));
    }
    Ok(Token::Variable {
        key: key.to_ascii_lowercase(),
        default,
    })
}

/// Splits ARN pattern tokens into six segments, or `None` when the pattern
/// does not start with `arn:` and have all six.
fn arn_segments(tokens: &[Token]) -> Option<Vec<Vec<Token>>> {
    let prefix = [
        Token::Literal('a'),
        Token::Literal('r'),
        Token::Literal('n'),
        Token::Literal(':'),
    ];
    if !tokens.starts_with(&prefix) {
        return None;
    }
    let mut segments = vec![Vec::new()];
    for token in tokens {
        match (token, segments.len()) {
            (Token::Literal(':'), n) if n < 6 => segments.push(Vec::new()),
            _ => segments.last_mut()?.push(token.clone()),
        }
    }
    (segments.len() == 6).then_some(segments)
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

fn chars_equal(a: char, b: char, ignore_case: bool) -> bool {
    a == b || ignore_case && (a.to_lowercase().eq(b.to_lowercase()))
}

/// Wildcard match of resolved tokens against `text`, in linear space: the
/// classic two-pointer walk that backtracks only to the last `*`.
fn glob(tokens: &[Token], text: &str, ignore_case: bool) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    let next_len = |at: usize| {
        text.get(at..)
            .and_then(|s| s.chars().next())
            .map(char::len_utf8)
    };
    while t < text.len() {
        let current = text.get(t..).and_then(|s| s.chars().next());
        match (tokens.get(p), current) {
            (Some(Token::AnyRun), _) => {
                backtrack = Some((p, t));
                p += 1;
                continue;
            }
            (Some(Token::AnyOne), Some(c)) => {
                p += 1;
                t += c.len_utf8();
                continue;
            }
            (Some(Token::Literal(want)), Some(c)) if chars_equal(*want, c, ignore_case) => {
                p += 1;
                t += c.len_utf8();
                continue;
            }
            _ => {}
        }
        match backtrack {
            Some((star, from)) => {
                let Some(step) = next_len(from) else {
                    return false;
                };
                backtrack = Some((star, from + step));
                p = star + 1;
                t = from + step;
            }
            None => return false,
        }
    }
    tokens
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|t| *t == Token::AnyRun))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(s: &str) -> Pattern {
        Pattern::parse(s, Wildcards::On, true).unwrap()
    }

    #[test]
    fn wildcards() {
        let ctx = Context::default();
        assert!(pat("s3:Get*").matches("s3:GetObject", &ctx, false));
        assert!(pat("s3:get*").matches("S3:GetObject", &ctx, true));
        assert!(!pat("s3:get*").matches("S3:GetObject", &ctx, false));
        assert!(pat("a?c").matches("abc", &ctx, false));
        assert!(!pat("a?c").matches("ac", &ctx, false));
        assert!(pat("*a*b*").matches("xxaxxbxx", &ctx, false));
        assert!(!pat("*a*b").matches("xxaxxbxx", &ctx, false));
        assert!(pat("é?").matches("éü", &ctx, false));
    }

    #[test]
    fn arn_segments_do_not_cross() {
        let ctx = Context::default();
        let p = pat("arn:aws:iam::*:role/x");
        assert!(p.matches_arn("arn:aws:iam::111122223333:role/x", &ctx));
        assert!(!p.matches_arn("arn:aws:iam::111122223333:role/y:role/x", &ctx));
        assert!(pat("arn:aws:s3:::b/*").matches_arn("arn:aws:s3:::b/a:b/c", &ctx));
        assert!(!pat("arn:aws:s3:::b/*").matches_arn("*", &ctx));
    }

    #[test]
    fn variables_and_escapes() {
        let mut ctx = Context::default();
        ctx.insert("aws:PrincipalTag/team", "p*");
        let p = pat("arn:aws:s3:::b/${aws:principaltag/TEAM}/*");
        assert!(p.matches_arn("arn:aws:s3:::b/p*/x", &ctx));
        assert!(!p.matches_arn("arn:aws:s3:::b/pay/x", &ctx));
        assert!(pat("${*}").matches("*", &ctx, false));
        assert!(!pat("${*}").matches("x", &ctx, false));
        assert!(pat("${aws:username, 'none'}").matches("none", &ctx, false));
        assert!(!pat("${aws:username}").matches("", &ctx, false));
        let old = Pattern::parse("${aws:username}", Wildcards::On, false).unwrap();
        assert!(old.matches("${aws:username}", &ctx, false));
        assert!(Pattern::parse("${aws:x", Wildcards::On, true).is_err());
    }
}
