//! Policy documents as the generator writes them: JSON with IAM's usual key
//! order (`Sid`, `Effect`, `Principal`, `Action`, `Resource`, `Condition`),
//! every value escaped, the same text for the same statements.

/// `Principal`: `"*"`, or one principal of a kind (`AWS`, `Service`,
/// `Federated`).
pub(super) enum Principal<'a> {
    Anyone,
    Named(&'a str, String),
}

/// One statement.
pub(super) struct Statement<'a> {
    sid: &'a str,
    deny: bool,
    principal: Option<Principal<'a>>,
    actions: Vec<&'a str>,
    resources: Vec<String>,
    /// Operators, each with its keys and their values.
    conditions: Vec<(&'a str, Vec<KeyValues>)>,
}

/// A condition key and the values it is compared with.
type KeyValues = (String, Vec<String>);

/// An `Allow` of `actions` on `resource`.
pub(super) fn allow<'a>(sid: &'a str, actions: &[&'a str], resource: &str) -> Statement<'a> {
    Statement {
        sid,
        deny: false,
        principal: None,
        actions: actions.to_vec(),
        resources: vec![resource.to_string()],
        conditions: Vec::new(),
    }
}

/// An `Allow` for a trust policy: `actions` for `principal`, no resource.
pub(super) fn trust<'a>(
    sid: &'a str,
    principal: Principal<'a>,
    actions: &[&'a str],
) -> Statement<'a> {
    Statement {
        principal: Some(principal),
        resources: Vec::new(),
        ..allow(sid, actions, "")
    }
}

impl<'a> Statement<'a> {
    pub fn deny(mut self) -> Self {
        self.deny = true;
        self
    }

    pub fn principal(mut self, principal: Principal<'a>) -> Self {
        self.principal = Some(principal);
        self
    }

    /// Adds a condition: `operator` on `key` with `values`.
    pub fn when(mut self, operator: &'a str, key: &str, values: &[&str]) -> Self {
        let values = values.iter().map(|v| v.to_string()).collect();
        match self.conditions.iter_mut().find(|(op, _)| *op == operator) {
            Some((_, keys)) => keys.push((key.to_string(), values)),
            None => self
                .conditions
                .push((operator, vec![(key.to_string(), values)])),
        }
        self
    }

    fn write(&self, out: &mut String) {
        out.push_str("{\"Sid\": ");
        string(out, self.sid);
        out.push_str(if self.deny {
            ", \"Effect\": \"Deny\""
        } else {
            ", \"Effect\": \"Allow\""
        });
        match &self.principal {
            None => {}
            Some(Principal::Anyone) => out.push_str(", \"Principal\": \"*\""),
            Some(Principal::Named(kind, value)) => {
                out.push_str(", \"Principal\": {");
                string(out, kind);
                out.push_str(": ");
                string(out, value);
                out.push('}');
            }
        }
        out.push_str(", \"Action\": ");
        list(out, &self.actions);
        if !self.resources.is_empty() {
            out.push_str(", \"Resource\": ");
            list(out, &self.resources);
        }
        if !self.conditions.is_empty() {
            out.push_str(", \"Condition\": {");
            for (i, (operator, keys)) in self.conditions.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                string(out, operator);
                out.push_str(": {");
                for (j, (key, values)) in keys.iter().enumerate() {
                    if j > 0 {
                        out.push_str(", ");
                    }
                    string(out, key);
                    out.push_str(": ");
                    list(out, values);
                }
                out.push('}');
            }
            out.push('}');
        }
        out.push('}');
    }
}

/// A policy document of `statements`, on one line.
pub(super) fn policy(statements: &[Statement<'_>]) -> String {
    let mut out = String::from("{\"Version\": \"2012-10-17\", \"Statement\": [");
    for (i, statement) in statements.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        statement.write(&mut out);
    }
    out.push_str("]}");
    out
}

/// A policy document of `statements` as a file: one statement a line.
pub(super) fn policy_file(statements: &[Statement<'_>]) -> String {
    let mut out = String::from("{\"Version\": \"2012-10-17\", \"Statement\": [\n");
    for (i, statement) in statements.iter().enumerate() {
        out.push_str("  ");
        statement.write(&mut out);
        out.push_str(if i + 1 < statements.len() {
            ",\n"
        } else {
            "\n"
        });
    }
    out.push_str("]}\n");
    out
}

/// A value, or a list of values: one value alone is written as a string.
fn list(out: &mut String, values: &[impl AsRef<str>]) {
    if let [one] = values {
        string(out, one.as_ref());
        return;
    }
    out.push('[');
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        string(out, value.as_ref());
    }
    out.push(']');
}

fn string(out: &mut String, text: &str) {
    out.push_str(&serde_json::Value::from(text).to_string());
}
