//! Reading the files of other tools into the raw model: Kubernetes
//! manifests (their `ServiceAccount` and `Namespace` objects) and eksctl
//! `ClusterConfig` files (a cluster, its IRSA service accounts and its Pod
//! Identity associations). Fields the model does not use are passed over
//! (the reader is lenient), but what it reads is checked as the model's own
//! files are, and every problem points into the file at fault.

use crate::error::{Problem, Report};
use crate::raw::{
    EksctlPassedOver, PassedOver, RawAssociation, RawCluster, RawServiceAccount, RawTags, Text,
};
use crate::read::{Fields, Reader};
use crate::source::FileId;
use crate::yaml::{Node, Value};

/// The service accounts (and namespaces) in the documents of a Kubernetes
/// manifest file: `ServiceAccount` and `Namespace` objects, alone or in a
/// `List` (what `kubectl get serviceaccounts -A -o json` prints). Other
/// kinds are not part of the model and are passed over; so are fields the
/// model does not use.
pub fn read_manifest(
    file: FileId,
    documents: &[Node],
    report: &mut Report,
) -> (Vec<Text>, Vec<RawServiceAccount>) {
    let mut reader = Reader {
        file,
        report,
        lenient: true,
    };
    let mut namespaces = Vec::new();
    let mut accounts = Vec::new();
    for (i, document) in documents.iter().enumerate() {
        reader.kubernetes_object(
            document,
            &format!("[{i}]"),
            &mut namespaces,
            &mut accounts,
            0,
        );
    }
    (namespaces, accounts)
}

/// The cluster an eksctl `ClusterConfig` describes: `metadata` (name,
/// region, version, tags), `iam.serviceAccounts` (IRSA: the service account
/// and the role it is annotated with) and `iam.podIdentityAssociations`.
/// The rest of the file (node groups, add-ons, networking) is not part of
/// the model and is passed over.
pub fn read_eksctl(file: FileId, root: &Node, report: &mut Report) -> Option<RawCluster> {
    let mut reader = Reader {
        file,
        report,
        lenient: true,
    };
    reader.eksctl(root)
}

impl Reader<'_> {
    /// One Kubernetes object; a `List` is read item by item (bounded depth:
    /// a list of lists is not something kubectl prints).
    fn kubernetes_object(
        &mut self,
        node: &Node,
        field: &str,
        namespaces: &mut Vec<Text>,
        accounts: &mut Vec<RawServiceAccount>,
        depth: usize,
    ) {
        if node.value == Value::Null {
            return;
        }
        let Some(f) = self.fields(node, field, &[]) else {
            return;
        };
        let kind = f.get("kind").and_then(|k| match &k.value {
            Value::Scalar(s) => Some(s.text.clone()),
            _ => None,
        });
        match kind.as_deref() {
            Some("List" | "ServiceAccountList" | "NamespaceList") if depth == 0 => {
                for (item, item_field) in self.list(&f, "items") {
                    self.kubernetes_object(item, &item_field, namespaces, accounts, depth + 1);
                }
            }
            Some("ServiceAccount") => {
                let Some(metadata) = f.get("metadata") else {
                    self.problem(node, field, Problem::MissingField { field: "metadata" });
                    return;
                };
                let Some(m) = self.fields(metadata, &f.path("metadata"), &[]) else {
                    return;
                };
                let namespace = self.text(&m, "namespace").or_else(|| {
                    // Kubernetes puts an object without one in `default`.
                    Some(Text {
                        value: "default".into(),
                        loc: self.loc(metadata, &m.path("namespace")),
                    })
                });
                accounts.push(RawServiceAccount {
                    namespace,
                    name: self.required_text(&m, "name"),
                    annotations: self.tags(&m, "annotations"),
                });
            }
            Some("Namespace") => {
                if let Some(metadata) = f.get("metadata")
                    && let Some(m) = self.fields(metadata, &f.path("metadata"), &[])
                {
                    namespaces.extend(self.required_text(&m, "name"));
                }
            }
            _ => {}
        }
    }

    fn eksctl(&mut self, root: &Node) -> Option<RawCluster> {
        let f = self.fields(root, "", &[])?;
        let kind = f.get("kind").and_then(|k| self.scalar(k, "kind"));
        if kind.as_ref().is_none_or(|k| k.value != "ClusterConfig") {
            let at = f.get("kind").unwrap_or(root);
            self.problem(
                at,
                "kind",
                Problem::InvalidValue {
                    what: "eksctl config kind",
                    value: kind.map(|k| k.value).unwrap_or_default(),
                    rule: "an eksctl config file has `kind: ClusterConfig`".into(),
                },
            );
            return None;
        }
        let Some(metadata) = f.get("metadata") else {
            self.problem(root, "", Problem::MissingField { field: "metadata" });
            return None;
        };
        let m = self.fields(metadata, "metadata", &[])?;
        let mut cluster = RawCluster {
            name: self.required_text(&m, "name"),
            region: self.required_text(&m, "region"),
            version: self.text(&m, "version"),
            oidc_issuer_id: None,
            tags: self.tags(&m, "tags"),
            namespaces: Vec::new(),
            service_accounts: Vec::new(),
            kubernetes_manifests: Vec::new(),
            pod_identity_associations: Vec::new(),
            eksctl_passed_over: Vec::new(),
        };
        self.eksctl_addons(&f, &mut cluster);
        let Some(iam) = f.get("iam") else {
            return Some(cluster);
        };
        let iam = self.fields(iam, "iam", &[])?;
        for (node, field) in self.list(&iam, "serviceAccounts") {
            let Some(s) = self.fields(node, &field, &[]) else {
                continue;
            };
            let Some(metadata) = s.get("metadata") else {
                self.problem(node, &field, Problem::MissingField { field: "metadata" });
                continue;
            };
            let Some(m) = self.fields(metadata, &s.path("metadata"), &[]) else {
                continue;
            };
            let mut annotations = self.tags(&m, "annotations");
            let namespace = self.text(&m, "namespace").or_else(|| {
                Some(Text {
                    value: "default".into(),
                    loc: self.loc(metadata, &m.path("namespace")),
                })
            });
            let name = self.required_text(&m, "name");
            // eksctl annotates the service account with the role it attaches
            // (`attachRoleARN`); a role eksctl would create has a name only
            // AWS would choose, and cannot be modelled.
            match s
                .get("attachRoleARN")
                .and_then(|n| self.scalar(n, &s.path("attachRoleARN")))
            {
                Some(arn) => annotations.tags.push((
                    Text {
                        value: crate::eks::ROLE_ARN_ANNOTATION.into(),
                        loc: arn.loc.clone(),
                    },
                    arn,
                )),
                None => {
                    let created = CREATED_ROLE_FIELDS.iter().find(|k| s.get(k).is_some());
                    match (created, &namespace, &name) {
                        (Some(key), Some(ns), Some(sa)) => {
                            cluster.eksctl_passed_over.push(EksctlPassedOver {
                                loc: self.loc(node, &field),
                                kind: PassedOver::CreatedRole,
                                what: format!(
                                    "service account `{}/{}`: eksctl creates its IRSA role \
                                     (`{key}`), whose name the file does not give",
                                    ns.value, sa.value
                                ),
                            });
                            continue;
                        }
                        _ => self.problem(
                            node,
                            &field,
                            Problem::MissingField {
                                field: "attachRoleARN",
                            },
                        ),
                    }
                }
            }
            cluster.service_accounts.push(RawServiceAccount {
                namespace,
                name,
                annotations,
            });
        }
        for (node, field) in self.list(&iam, "podIdentityAssociations") {
            let Some(a) = self.fields(node, &field, &[]) else {
                continue;
            };
            let namespace = self.required_text(&a, "namespace");
            let service_account = self.required_text(&a, "serviceAccountName");
            if a.get("roleARN").is_none()
                && let Some(key) = CREATED_ROLE_FIELDS.iter().find(|k| a.get(k).is_some())
                && let (Some(ns), Some(sa)) = (&namespace, &service_account)
            {
                cluster.eksctl_passed_over.push(EksctlPassedOver {
                    loc: self.loc(node, &field),
                    kind: PassedOver::CreatedRole,
                    what: format!(
                        "Pod Identity association of `{}/{}`: eksctl creates its role \
                         (`{key}`), whose name the file does not give",
                        ns.value, sa.value
                    ),
                });
                continue;
            }
            if a.get("createServiceAccount")
                .is_some_and(|n| matches!(&n.value, Value::Scalar(s) if s.text == "true"))
                && let (Some(ns), Some(sa)) = (&namespace, &service_account)
            {
                cluster.service_accounts.push(RawServiceAccount {
                    namespace: Some(ns.clone()),
                    name: Some(sa.clone()),
                    annotations: RawTags {
                        loc: self.loc(node, &field),
                        tags: Vec::new(),
                    },
                });
            }
            cluster.pod_identity_associations.push(RawAssociation {
                id: None,
                namespace,
                service_account,
                role_arn: self.required_text(&a, "roleARN"),
                target_role_arn: self.text(&a, "targetRoleARN"),
                disable_session_tags: self.flag(&a, "disableSessionTags"),
                policy: None,
                tags: self.tags(&a, "tags"),
            });
        }
        Some(cluster)
    }

    /// `addons[].podIdentityAssociations`: passed over, with a note, since
    /// an add-on's namespace is eksctl's knowledge, not the file's.
    fn eksctl_addons(&mut self, f: &Fields<'_>, cluster: &mut RawCluster) {
        for (node, field) in self.list(f, "addons") {
            let Some(addon) = self.fields(node, &field, &[]) else {
                continue;
            };
            let associations = addon
                .get("podIdentityAssociations")
                .map_or(0, |n| match &n.value {
                    Value::Sequence(items) => items.len(),
                    _ => 1,
                });
            if associations == 0 {
                continue;
            }
            let name = self
                .text(&addon, "name")
                .map(|n| n.value)
                .unwrap_or_default();
            cluster.eksctl_passed_over.push(EksctlPassedOver {
                loc: self.loc(node, &addon.path("podIdentityAssociations")),
                kind: PassedOver::AddonAssociations,
                what: format!(
                    "add-on `{name}`: {associations} Pod Identity association(s), in the \
                     add-on's namespace, which the file does not give"
                ),
            });
        }
    }
}

/// The fields with which eksctl makes a role rather than being given one.
const CREATED_ROLE_FIELDS: [&str; 6] = [
    "attachPolicyARNs",
    "attachPolicy",
    "wellKnownPolicies",
    "roleName",
    "permissionPolicyARNs",
    "permissionPolicy",
];
