//! Findings as people and tools read them: a table followed by each
//! finding's why and fix, JSON, and SARIF 2.1.0 (for code-scanning views in
//! CI: one rule per finding id, each result at the file, line and column of
//! the statement at fault).

use std::fmt::Write as _;

use super::{Finding, RULES, Severity};

/// The output formats of `orgtwin check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Sarif,
}

impl Format {
    pub fn parse(text: &str) -> Result<Format, String> {
        match text {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "sarif" => Ok(Format::Sarif),
            other => Err(format!(
                "`{other}` is not a format: use table, json or sarif"
            )),
        }
    }
}

/// `findings` in `format`, ending with a newline.
pub fn render(format: Format, findings: &[Finding]) -> String {
    match format {
        Format::Table => table(findings),
        Format::Json => format!("{}\n", json(findings)),
        Format::Sarif => format!("{}\n", sarif(findings)),
    }
}

fn counts(findings: &[Finding]) -> Vec<(Severity, usize)> {
    Severity::ALL
        .into_iter()
        .rev()
        .map(|s| (s, findings.iter().filter(|f| f.severity == s).count()))
        .collect()
}

fn table(findings: &[Finding]) -> String {
    let mut out = String::new();
    if findings.is_empty() {
        out.push_str("no findings\n");
        return out;
    }
    let counts: Vec<String> = counts(findings)
        .into_iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let _ = writeln!(out, "{} finding(s): {}", findings.len(), counts.join(", "));
    let rows: Vec<[String; 5]> = findings
        .iter()
        .map(|f| {
            [
                f.severity.to_string(),
                f.id.to_string(),
                f.subject.clone(),
                f.place
                    .as_ref()
                    .map_or_else(|| "-".to_string(), |p| p.to_string()),
                f.title.clone(),
            ]
        })
        .collect();
    let header = ["SEVERITY", "ID", "SUBJECT", "PLACE", "TITLE"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut text = String::new();
        for (n, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if n + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<width$}  ");
            }
        }
        text
    };
    let _ = writeln!(out, "\n{}", line(header));
    for row in &rows {
        let _ = writeln!(out, "{}", line(row.each_ref().map(String::as_str)));
    }
    for (n, f) in findings.iter().enumerate() {
        let _ = writeln!(out, "\n[{}] {} {}: {}", n + 1, f.severity, f.id, f.title);
        if let Some(place) = &f.place {
            let _ = writeln!(out, "    at:  {place}");
        }
        let _ = writeln!(out, "    why: {}", f.why);
        let _ = writeln!(out, "    fix: {}", f.fix);
    }
    out
}

fn json(findings: &[Finding]) -> String {
    let counts: serde_json::Map<String, serde_json::Value> = counts(findings)
        .into_iter()
        .map(|(s, n)| (s.to_string(), n.into()))
        .collect();
    serde_json::json!({"findings": findings, "counts": counts}).to_string()
}

/// A place's file as a SARIF URI reference: `/` separators; an absolute
/// path as a `file://` URI.
fn uri(file: &str) -> String {
    let path = file.replace('\\', "/");
    if path.starts_with('/') {
        format!("file://{path}")
    } else {
        path
    }
}

fn sarif(findings: &[Finding]) -> String {
    let rules: Vec<serde_json::Value> = RULES
        .iter()
        .map(|rule| {
            serde_json::json!({
                "id": rule.id,
                "name": rule.id,
                "shortDescription": {"text": rule.summary},
                "fullDescription": {"text": rule.summary},
                "help": {"text": rule.help},
                "defaultConfiguration": {"level": rule.severity.sarif_level()},
                "properties": {"severity": rule.severity.as_str()},
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            let logical =
                serde_json::json!([{"fullyQualifiedName": f.subject, "kind": "resource"}]);
            let location = match &f.place {
                Some(place) => serde_json::json!({
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(&place.file)},
                        "region": {"startLine": place.line, "startColumn": place.column},
                    },
                    "logicalLocations": logical,
                }),
                None => serde_json::json!({"logicalLocations": logical}),
            };
            let mut result = serde_json::json!({
                "ruleId": f.id,
                "level": f.severity.sarif_level(),
                "message": {"text": format!("{} — why: {} Fix: {}", f.title, f.why, f.fix)},
                "locations": [location],
                "properties": {"severity": f.severity.as_str(), "subject": f.subject},
            });
            let index = RULES.iter().position(|r| r.id == f.id);
            if let (Some(index), Some(fields)) = (index, result.as_object_mut()) {
                fields.insert("ruleIndex".into(), index.into());
            }
            result
        })
        .collect();
    crate::render::sarif_log(serde_json::Value::from(rules), results)
}
