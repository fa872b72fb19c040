//! A cluster's service accounts from `kubectl get serviceaccounts -A -o
//! json`: a `List` of `ServiceAccount` objects (a single object is read
//! too). Each keeps its namespace (`default` when the object has none),
//! name and annotations, the IRSA ones (`eks.amazonaws.com/role-arn`, ...)
//! among them. `kubectl.kubernetes.io/last-applied-configuration`, a copy
//! of the object kubectl keeps for itself, is not kept. Objects of other
//! kinds are reported and passed over.

use std::collections::BTreeMap;
use std::path::Path;

use super::draft::ServiceAccount;
use super::error::ImportError;
use super::input::{InputFile, Node};
use super::report::{Kind, Report};

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

pub fn read(path: &Path, report: &mut Report) -> Result<Vec<ServiceAccount>, ImportError> {
    let file = InputFile::read(path)?;
    let root = file.root();
    let kind = root.text("kind")?;
    let objects = match kind.as_deref() {
        Some("List" | "ServiceAccountList") => root.items("items")?,
        Some("ServiceAccount") => vec![root.clone()],
        _ => {
            return Err(ImportError::UnknownExport {
                path: path.display().to_string(),
                expected: "a `kubectl get serviceaccounts -A -o json` output",
                help: "give kubectl's JSON output (`-o json`), a `List` of `ServiceAccount` \
                       objects",
            });
        }
    };
    let mut out = Vec::new();
    let mut others: BTreeMap<String, usize> = BTreeMap::new();
    for object in objects {
        // Items of a `ServiceAccountList` may leave their kind out.
        let kind = object
            .text("kind")?
            .unwrap_or_else(|| "ServiceAccount".into());
        if kind != "ServiceAccount" {
            *others.entry(kind).or_default() += 1;
            continue;
        }
        out.push(service_account(&object)?);
    }
    for (kind, count) in others {
        report.push(
            Kind::NotModelled,
            file.origin(),
            format!("{count} `{kind}` object(s): only service accounts are read; passed over"),
        );
    }
    Ok(out)
}

fn service_account(object: &Node<'_>) -> Result<ServiceAccount, ImportError> {
    let metadata = object.required("metadata")?;
    let mut annotations = Vec::new();
    if let Some(node) = metadata.get("annotations") {
        for (key, value) in node.members()? {
            if key != LAST_APPLIED {
                annotations.push((key, value.as_str()?.to_string()));
            }
        }
    }
    Ok(ServiceAccount {
        namespace: metadata
            .text("namespace")?
            .unwrap_or_else(|| "default".into()),
        name: metadata.required_text("name")?,
        annotations,
        origin: object.origin(),
    })
}
