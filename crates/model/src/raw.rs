//! The raw model: what one file says, field by field, before any check that
//! spans fields or files.
//!
//! These types mirror the YAML format (see `docs/model.md`) and keep the
//! [`Loc`] of every value. A field the reader could not make sense of is
//! `None` here (its problem is already reported), so the checks that follow
//! skip what they cannot check instead of reporting knock-on errors.
//! [`crate::check`] turns the raw files of a model into the checked
//! [`crate::Model`].

use orgtwin_policy::json::Span;

use crate::source::{FileId, Loc};
use crate::yaml::Style;

/// A scalar's text and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Text {
    pub value: String,
    pub loc: Loc,
}

/// An integer and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Number {
    pub value: u64,
    pub loc: Loc,
}

/// One YAML file of the model.
#[derive(Debug)]
pub struct RawFile {
    pub file: FileId,
    /// The file is YAML but not a mapping (already reported).
    pub shapeless: bool,
    pub organization: Option<RawOrganization>,
    pub include: Vec<Text>,
    pub accounts: Vec<RawAccount>,
    pub scps: Vec<RawOrgPolicy>,
    pub rcps: Vec<RawOrgPolicy>,
    pub external_accounts: Vec<RawExternalAccount>,
}

/// An account outside the organization that the twin knows of.
#[derive(Debug)]
pub struct RawExternalAccount {
    pub id: Option<Text>,
    pub name: Option<Text>,
}

#[derive(Debug)]
pub struct RawOrganization {
    pub loc: Loc,
    pub id: Option<Text>,
    pub root_id: Option<Text>,
    pub management_account: Option<Text>,
    pub organizational_units: Vec<RawOu>,
    pub ram_sharing_with_organization: Option<Flag>,
}

/// A boolean and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Flag {
    pub value: bool,
    pub loc: Loc,
}

#[derive(Debug)]
pub struct RawOu {
    pub name: Option<Text>,
    pub id: Option<Text>,
    pub parent: Option<Text>,
}

#[derive(Debug)]
pub struct RawAccount {
    pub id: Option<Text>,
    pub name: Option<Text>,
    pub email: Option<Text>,
    pub parent: Option<Text>,
    pub iam: RawIam,
    pub buckets: Vec<RawBucket>,
    pub vpcs: Vec<RawVpc>,
    pub resource_shares: Vec<RawResourceShare>,
    pub eks: RawEks,
}

/// An account's `eks:` section: its clusters, and eksctl `ClusterConfig`
/// files that describe more of them.
#[derive(Debug, Default)]
pub struct RawEks {
    pub clusters: Vec<RawCluster>,
    pub eksctl_configs: Vec<Text>,
}

/// An EKS cluster, from the model or from an eksctl `ClusterConfig`.
#[derive(Debug)]
pub struct RawCluster {
    pub name: Option<Text>,
    pub region: Option<Text>,
    pub version: Option<Text>,
    pub oidc_issuer_id: Option<Text>,
    pub tags: RawTags,
    pub namespaces: Vec<Text>,
    pub service_accounts: Vec<RawServiceAccount>,
    /// Kubernetes manifests or `kubectl get serviceaccounts -A -o json`
    /// output; their service accounts are read into `service_accounts`.
    pub kubernetes_manifests: Vec<Text>,
    pub pod_identity_associations: Vec<RawAssociation>,
    /// What an eksctl file declares and the model cannot hold.
    pub eksctl_passed_over: Vec<EksctlPassedOver>,
}

/// Something an eksctl `ClusterConfig` declares that the model cannot
/// hold: the model's loader refuses a role eksctl would create (the access
/// it gives would be missing), the import reports both kinds.
#[derive(Debug)]
pub struct EksctlPassedOver {
    pub loc: Loc,
    pub kind: PassedOver,
    /// What it is and why it is not read.
    pub what: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassedOver {
    /// A service account or association whose role eksctl creates
    /// (`attachPolicyARNs`, `wellKnownPolicies`, `roleName`, ...): its ARN
    /// is not in the file.
    CreatedRole,
    /// An add-on's `podIdentityAssociations`: the file does not say the
    /// add-on's namespace.
    AddonAssociations,
}

/// A Kubernetes service account, with its annotations.
#[derive(Debug)]
pub struct RawServiceAccount {
    pub namespace: Option<Text>,
    pub name: Option<Text>,
    pub annotations: RawTags,
}

/// An EKS Pod Identity association.
#[derive(Debug)]
pub struct RawAssociation {
    pub id: Option<Text>,
    pub namespace: Option<Text>,
    pub service_account: Option<Text>,
    pub role_arn: Option<Text>,
    pub target_role_arn: Option<Text>,
    pub disable_session_tags: Option<Flag>,
    pub policy: Option<RawDocument>,
    pub tags: RawTags,
}

#[derive(Debug)]
pub struct RawBucket {
    pub name: Option<Text>,
    pub region: Option<Text>,
    pub policy: Option<RawDocument>,
    pub tags: RawTags,
    pub objects: Vec<RawObject>,
}

/// A seed object: its body is exactly one of `content`, `content_base64`
/// or `file`.
#[derive(Debug)]
pub struct RawObject {
    pub loc: Loc,
    pub key: Option<Text>,
    pub content: Option<Text>,
    pub content_base64: Option<Text>,
    pub file: Option<Text>,
    pub content_type: Option<Text>,
}

#[derive(Debug)]
pub struct RawVpc {
    pub id: Option<Text>,
    pub region: Option<Text>,
    pub cidr_block: Option<Text>,
    pub tags: RawTags,
    pub subnets: Vec<RawSubnet>,
}

#[derive(Debug)]
pub struct RawSubnet {
    pub id: Option<Text>,
    pub cidr_block: Option<Text>,
    pub availability_zone: Option<Text>,
    pub tags: RawTags,
}

#[derive(Debug)]
pub struct RawResourceShare {
    pub name: Option<Text>,
    /// Kept when the share was created through the twin's RAM API (a random
    /// id); derived from the account, region and name when left out.
    pub arn: Option<Text>,
    pub region: Option<Text>,
    pub allow_external_principals: Option<Flag>,
    pub resources: Vec<Text>,
    pub principals: Vec<Text>,
    pub tags: RawTags,
}

#[derive(Debug, Default)]
pub struct RawIam {
    pub users: Vec<RawUser>,
    pub groups: Vec<RawGroup>,
    pub roles: Vec<RawRole>,
    pub policies: Vec<RawManagedPolicy>,
    pub oidc_providers: Vec<RawOidcProvider>,
}

/// What users, groups and roles have in common.
#[derive(Debug)]
pub struct RawPrincipal {
    pub loc: Loc,
    pub name: Option<Text>,
    pub path: Option<Text>,
    pub id: Option<Text>,
    pub inline_policies: Vec<RawInlinePolicy>,
    pub managed_policies: Vec<Text>,
}

#[derive(Debug)]
pub struct RawUser {
    pub common: RawPrincipal,
    pub access_keys: Vec<RawAccessKey>,
    pub groups: Vec<Text>,
    pub permissions_boundary: Option<Text>,
    pub tags: RawTags,
}

#[derive(Debug)]
pub struct RawAccessKey {
    pub loc: Loc,
    pub id: Option<Text>,
    pub secret: Option<Text>,
    pub status: Option<Text>,
}

#[derive(Debug)]
pub struct RawGroup {
    pub common: RawPrincipal,
}

#[derive(Debug)]
pub struct RawRole {
    pub common: RawPrincipal,
    pub description: Option<Text>,
    pub trust_policy: Option<RawDocument>,
    pub permissions_boundary: Option<Text>,
    pub max_session_duration: Option<Number>,
    pub tags: RawTags,
}

#[derive(Debug)]
pub struct RawManagedPolicy {
    pub name: Option<Text>,
    pub path: Option<Text>,
    pub id: Option<Text>,
    pub description: Option<Text>,
    pub document: Option<RawDocument>,
}

#[derive(Debug)]
pub struct RawOidcProvider {
    pub loc: Loc,
    pub url: Option<Text>,
    pub client_ids: Vec<Text>,
    pub thumbprints: Vec<Text>,
    pub tags: RawTags,
}

#[derive(Debug)]
pub struct RawInlinePolicy {
    pub name: Option<Text>,
    pub document: Option<RawDocument>,
}

#[derive(Debug)]
pub struct RawTags {
    pub loc: Loc,
    pub tags: Vec<(Text, Text)>,
}

/// An SCP or an RCP.
#[derive(Debug)]
pub struct RawOrgPolicy {
    pub name: Option<Text>,
    pub id: Option<Text>,
    pub description: Option<Text>,
    pub document: Option<RawDocument>,
    pub targets: Vec<Text>,
}

/// A policy document as the file gives it.
#[derive(Debug, Clone)]
pub struct RawDocument {
    /// The field's value.
    pub loc: Loc,
    pub body: DocumentBody,
}

#[derive(Debug, Clone)]
pub enum DocumentBody {
    /// A YAML mapping, turned into JSON; `spans` pairs each JSON key and
    /// value range with the YAML span it came from.
    Yaml {
        json: String,
        spans: Vec<(Span, Span)>,
    },
    /// A JSON string in the YAML file.
    JsonString {
        text: String,
        style: Style,
        span: Span,
    },
    /// `{file: relative/path.json}`, relative to the YAML file.
    File { path: Text },
}
