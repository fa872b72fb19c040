//! Accesses and paths as people and tools read them: a table, JSON, SARIF
//! (for code-scanning views in CI), Graphviz `dot` and Mermaid.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::access::{Access, Grant};

/// The output formats of `who-can`, `paths` and `diff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Sarif,
    Dot,
    Mermaid,
}

impl Format {
    pub fn parse(text: &str) -> Result<Format, String> {
        match text {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "sarif" => Ok(Format::Sarif),
            "dot" => Ok(Format::Dot),
            "mermaid" => Ok(Format::Mermaid),
            other => Err(format!(
                "`{other}` is not a format: use table, json, sarif, dot or mermaid"
            )),
        }
    }
}

/// `title`'s accesses in `format`.
pub fn accesses(format: Format, title: &str, accesses: &[Access]) -> String {
    match format {
        Format::Table => table(title, accesses),
        Format::Json => serde_json::json!({"query": title, "accesses": accesses}).to_string(),
        Format::Sarif => sarif(title, accesses),
        Format::Dot => dot(accesses),
        Format::Mermaid => mermaid(accesses),
    }
}

fn table(title: &str, accesses: &[Access]) -> String {
    let mut out = String::new();
    if accesses.is_empty() {
        let _ = writeln!(out, "{title}: nobody");
        return out;
    }
    let _ = writeln!(out, "{title}: {} way(s) in", accesses.len());
    for access in accesses {
        let _ = writeln!(out, "\n{}", access.start.label());
        for (n, hop) in access.path.iter().enumerate() {
            let _ = writeln!(
                out,
                "  {}. {} {} {}",
                n + 1,
                hop.principal,
                hop.action,
                hop.target
            );
            for statement in &hop.allowed_by {
                let _ = writeln!(out, "       allowed by {statement}");
            }
        }
    }
    out
}

fn sarif(title: &str, accesses: &[Access]) -> String {
    let results: Vec<serde_json::Value> = accesses
        .iter()
        .map(|access| {
            let steps: Vec<String> = access
                .path
                .iter()
                .map(|h| format!("{} {} {}", h.principal, h.action, h.target))
                .collect();
            serde_json::json!({
                "ruleId": "access-path",
                "level": "note",
                "message": {"text": format!("{} — {}: {}", access.start.label(), title, steps.join(" → "))},
            })
        })
        .collect();
    sarif_log(
        serde_json::json!([{
            "id": "access-path",
            "shortDescription": {"text": "A path by which a workload or principal reaches an action on a resource"},
        }]),
        results,
    )
}

/// A SARIF 2.1.0 log of one run of orgtwin with `rules` and `results`.
pub fn sarif_log(rules: serde_json::Value, results: Vec<serde_json::Value>) -> String {
    serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "orgtwin",
                "informationUri": "https://github.com/orgtwin/orgtwin",
                "rules": rules,
            }},
            "results": results,
        }],
    })
    .to_string()
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn edges(accesses: &[Access]) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for access in accesses {
        let mut from = access.start.label();
        for hop in &access.path {
            out.insert((from.clone(), hop.action.clone(), hop.target.clone()));
            from = hop.target.clone();
        }
    }
    out
}

fn dot(accesses: &[Access]) -> String {
    let mut out = String::from("digraph access {\n  rankdir=LR;\n  node [shape=box];\n");
    for (from, action, to) in edges(accesses) {
        let _ = writeln!(
            out,
            "  {} -> {} [label={}];",
            quote(&from),
            quote(&to),
            quote(&action)
        );
    }
    out.push_str("}\n");
    out
}

fn mermaid(accesses: &[Access]) -> String {
    let mut ids: Vec<String> = Vec::new();
    let id = |name: &str, ids: &mut Vec<String>| -> String {
        let position = ids.iter().position(|n| n == name).unwrap_or_else(|| {
            ids.push(name.to_string());
            ids.len() - 1
        });
        format!("n{position}")
    };
    let mut lines = Vec::new();
    for (from, action, to) in edges(accesses) {
        let a = id(&from, &mut ids);
        let b = id(&to, &mut ids);
        lines.push(format!("  {a} -->|{}| {b}", action.replace('|', "/")));
    }
    let mut out = String::from("flowchart LR\n");
    for (n, name) in ids.iter().enumerate() {
        let _ = writeln!(out, "  n{n}[\"{}\"]", name.replace('"', "'"));
    }
    for line in lines {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// What a change adds and removes.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Change {
    pub added: Vec<Access>,
    pub removed: Vec<Grant>,
}

/// `diff`'s report.
pub fn change(format: Format, change: &Change) -> String {
    match format {
        Format::Json => serde_json::to_string(change).unwrap_or_default(),
        Format::Sarif => sarif("access added by the change", &change.added),
        Format::Dot => dot(&change.added),
        Format::Mermaid => mermaid(&change.added),
        Format::Table => {
            let mut out = String::new();
            let _ = writeln!(
                out,
                "{} access(es) added, {} removed",
                change.added.len(),
                change.removed.len()
            );
            for access in &change.added {
                if let Some(last) = access.path.last() {
                    let _ = writeln!(
                        out,
                        "\n+ {} -> {} -> {}",
                        access.start.label(),
                        last.action,
                        last.target
                    );
                }
                for hop in &access.path {
                    let _ = writeln!(out, "    {} {} {}", hop.principal, hop.action, hop.target);
                }
            }
            for grant in &change.removed {
                let _ = writeln!(
                    out,
                    "- {} -> {} -> {}",
                    grant.start, grant.action, grant.resource
                );
            }
            out
        }
    }
}
