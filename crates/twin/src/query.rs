//! The AWS Query protocol (STS, IAM): form-encoded parameters in, XML out.
//!
//! Requests are `POST /` with an `application/x-www-form-urlencoded` body (or
//! `GET` with the same parameters in the query string): `Action`, `Version`,
//! and the operation's parameters, lists flattened as `Tags.member.1.Key`.
//! Responses are `<ActionResponse xmlns=...><ActionResult>...` followed by
//! `<ResponseMetadata><RequestId>`; errors are `<ErrorResponse>` with `Type`,
//! `Code` and `Message`.

use std::collections::HashMap;
use std::fmt::Write;

use crate::sigv4::query_pairs;

/// Decoded parameters of a Query request.
#[derive(Clone, Debug, Default)]
pub struct Params {
    values: HashMap<String, String>,
}

/// A parameter that is missing or malformed; becomes `ValidationError`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParamError(pub String);

impl Params {
    /// Reads the query string and, for a form body, the body; the body wins.
    pub fn parse(query: &str, form_body: Option<&str>) -> Params {
        let mut values: HashMap<String, String> = query_pairs(query).into_iter().collect();
        if let Some(body) = form_body {
            values.extend(query_pairs(body));
        }
        Params { values }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The first place where `text` (a query string or form body) is not
    /// valid percent-encoding: a `%` not followed by two hex digits.
    pub fn malformed(text: &str) -> Option<String> {
        let bytes = text.as_bytes();
        let at = bytes.iter().enumerate().find_map(|(i, &b)| {
            let ok = b != b'%'
                || bytes
                    .get(i + 1..i + 3)
                    .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
            (!ok).then_some(i)
        })?;
        let shown: String = text
            .get(at..)
            .unwrap_or_default()
            .chars()
            .take(12)
            .collect();
        Some(format!(
            "The query string or form body is not valid percent-encoding at `{shown}`."
        ))
    }

    pub fn required(&self, name: &str) -> Result<&str, ParamError> {
        self.get(name).ok_or_else(|| {
            let field = lower_first(name);
            ParamError(format!(
                "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
            ))
        })
    }

    pub fn integer(&self, name: &str) -> Result<Option<i64>, ParamError> {
        match self.get(name) {
            None => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| {
                ParamError(format!(
                    "Value '{text}' for parameter {name} is invalid. It must be an integer."
                ))
            }),
        }
    }

    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ParamError> {
        match self.get(name) {
            None => Ok(None),
            Some(t) if t.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(t) if t.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(t) => Err(ParamError(format!(
                "Value '{t}' for parameter {name} is invalid. It must be true or false."
            ))),
        }
    }

    /// `Prefix.member.1`, `Prefix.member.2`, ... until the first gap.
    pub fn list(&self, prefix: &str) -> Vec<String> {
        (1..)
            .map_while(|i| {
                self.get(&format!("{prefix}.member.{i}"))
                    .map(str::to_string)
            })
            .collect()
    }

    /// `Prefix.member.N.Key` / `.Value` pairs.
    pub fn pairs(&self, prefix: &str, key: &str, value: &str) -> Vec<(String, String)> {
        (1..)
            .map_while(|i| {
                let k = self.get(&format!("{prefix}.member.{i}.{key}"))?;
                let v = self
                    .get(&format!("{prefix}.member.{i}.{value}"))
                    .unwrap_or_default();
                Some((k.to_string(), v.to_string()))
            })
            .collect()
    }

    /// `Prefix.member.N.Field` values.
    pub fn member_fields(&self, prefix: &str, field: &str) -> Vec<String> {
        (1..)
            .map_while(|i| {
                self.get(&format!("{prefix}.member.{i}.{field}"))
                    .map(str::to_string)
            })
            .collect()
    }
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Escapes text for XML content and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

/// Appends `text` to `out`, escaped for XML: the runs between the five
/// special characters are copied whole (a session token has none).
fn escape_into(out: &mut String, text: &str) {
    let mut run = 0;
    for (at, byte) in text.bytes().enumerate() {
        let entity = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&apos;",
            _ => continue,
        };
        // `run..at` lies between ASCII bytes, so on character boundaries.
        out.push_str(text.get(run..at).unwrap_or_default());
        out.push_str(entity);
        run = at + 1;
    }
    out.push_str(text.get(run..).unwrap_or_default());
}

/// Builds an XML body element by element.
#[derive(Default)]
pub struct Xml {
    out: String,
}

impl Xml {
    pub fn open(&mut self, name: &str) -> &mut Self {
        let _ = write!(self.out, "<{name}>");
        self
    }

    pub fn close(&mut self, name: &str) -> &mut Self {
        let _ = write!(self.out, "</{name}>");
        self
    }

    /// `<name>text</name>`.
    pub fn leaf(&mut self, name: &str, text: &str) -> &mut Self {
        let _ = write!(self.out, "<{name}>");
        escape_into(&mut self.out, text);
        let _ = write!(self.out, "</{name}>");
        self
    }

    pub fn leaf_opt(&mut self, name: &str, text: Option<&str>) -> &mut Self {
        if let Some(text) = text {
            self.leaf(name, text);
        }
        self
    }

    /// `<name><member>a</member><member>b</member></name>`: a Query list of
    /// strings (an empty list is `<name></name>`).
    pub fn members<S: AsRef<str>>(
        &mut self,
        name: &str,
        values: impl IntoIterator<Item = S>,
    ) -> &mut Self {
        self.open(name);
        for value in values {
            self.leaf("member", value.as_ref());
        }
        self.close(name)
    }

    /// A Query list of structures: `<name>`, then `write` for each item
    /// inside its own `<member>`, then `</name>`.
    pub fn list<T>(
        &mut self,
        name: &str,
        items: impl IntoIterator<Item = T>,
        mut write: impl FnMut(&mut Self, T),
    ) -> &mut Self {
        self.open(name);
        for item in items {
            self.open("member");
            write(self, item);
            self.close("member");
        }
        self.close(name)
    }

    /// The end of a paginated list: `<IsTruncated>`, and the `<Marker>` to
    /// continue from when there is more.
    pub fn truncation(&mut self, next_marker: Option<&str>) -> &mut Self {
        self.leaf(
            "IsTruncated",
            if next_marker.is_some() {
                "true"
            } else {
                "false"
            },
        )
        .leaf_opt("Marker", next_marker)
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// A whole Query response: `<{action}Response xmlns=..><{action}Result>body`.
pub fn response(action: &str, namespace: &str, result: &str, request_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response xmlns=\"{namespace}\"><{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
    )
}

/// A response without a result element (IAM's `DeleteRole` and the like).
pub fn empty_response(action: &str, namespace: &str, request_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response xmlns=\"{namespace}\"><ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
    )
}

/// `<ErrorResponse>`, with `Sender` for 4xx and `Receiver` for 5xx.
pub fn error(status: u16, code: &str, message: &str, request_id: &str, namespace: &str) -> String {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse xmlns=\"{namespace}\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
        escape(code),
        escape(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_pairs() {
        let p = Params::parse(
            "",
            Some(
                "Action=AssumeRole&Tags.member.1.Key=a&Tags.member.1.Value=x%2By&Tags.member.2.Key=b&Tags.member.2.Value=&TransitiveTagKeys.member.1=a",
            ),
        );
        assert_eq!(
            p.pairs("Tags", "Key", "Value"),
            vec![("a".into(), "x+y".into()), ("b".into(), String::new())]
        );
        assert_eq!(p.list("TransitiveTagKeys"), vec!["a".to_string()]);
        assert!(p.required("RoleArn").unwrap_err().0.contains("'roleArn'"));
    }

    #[test]
    fn lists_of_members() {
        let mut xml = Xml::default();
        xml.members("Names", ["a", "<b>"])
            .list("Tags", [("k", "v")], |xml, (k, v)| {
                xml.leaf("Key", k).leaf("Value", v);
            })
            .truncation(Some("2"));
        assert_eq!(
            xml.finish(),
            "<Names><member>a</member><member>&lt;b&gt;</member></Names><Tags><member><Key>k</Key><Value>v</Value></member></Tags><IsTruncated>true</IsTruncated><Marker>2</Marker>"
        );
    }

    #[test]
    fn malformed_encoding() {
        assert_eq!(
            Params::malformed("Action=GetCallerIdentity&Version=2011-06-15"),
            None
        );
        assert!(
            Params::malformed("Action=%zzBad")
                .unwrap()
                .contains("`%zzBad`")
        );
        assert!(Params::malformed("a=%4").is_some());
    }

    #[test]
    fn escapes() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;"
        );
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("é<ü>ß"), "é&lt;ü&gt;ß");
        assert_eq!(escape("&"), "&amp;");
        assert_eq!(escape(""), "");
    }
}
