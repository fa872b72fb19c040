//! A pod's view of AWS: the environment and projected token files the EKS
//! webhooks give a container, pointed at the twin.
//!
//! The rules, as the EKS Pod Identity and IRSA webhooks apply them:
//! - The container's environment is its pod spec's, not the shell's.
//! - Pod Identity (the service account has an association) injects
//!   `AWS_CONTAINER_CREDENTIALS_FULL_URI` (the agent) and
//!   `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (a token for
//!   `pods.eks.amazonaws.com`), unless the pod spec sets either one, in
//!   which case it injects neither.
//! - Otherwise IRSA (the service account is annotated with a role) injects
//!   `AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE` (a token for the
//!   annotation's audience and lifetime) as a pair: neither if the pod spec
//!   sets either. With regional endpoints it adds
//!   `AWS_STS_REGIONAL_ENDPOINTS=regional` unless the pod spec sets it. The
//!   token is projected either way. Pod Identity wins over IRSA.
//! - Both set `AWS_REGION` and `AWS_DEFAULT_REGION` (the cluster's region)
//!   as a pair: neither if the pod spec sets either. The twin adds
//!   `AWS_ENDPOINT_URL`, so that the SDK's calls reach the twin, not AWS.
//!
//! Token files live in a private directory of the caller's choosing rather
//! than under `/var/run/secrets` (see docs/differences.md).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use orgtwin_model::eks::{POD_IDENTITY_AUDIENCE, ServiceAccount};
use orgtwin_model::{Cluster, Model};

use crate::issuers::{Issuers, TokenRequest, service_account_token};

/// The Pod Identity token's lifetime, as the webhook projects it.
pub const POD_IDENTITY_TOKEN_SECONDS: i64 = 86_400;
/// Token file names, as the webhooks mount them.
pub const POD_IDENTITY_TOKEN_FILE: &str = "eks-pod-identity-token";
pub const IRSA_TOKEN_FILE: &str = "token";

/// Which pod: `CLUSTER/NAMESPACE/SERVICEACCOUNT`, and its pod spec's
/// environment.
#[derive(Clone, Debug)]
pub struct PodSpec {
    pub cluster: String,
    pub namespace: String,
    pub service_account: String,
    pub pod_name: String,
    pub pod_uid: String,
    pub env: Vec<(String, String)>,
}

/// Reads `CLUSTER/NAMESPACE/SERVICEACCOUNT`.
pub fn parse_pod(text: &str) -> Result<(String, String, String), String> {
    let parts: Vec<&str> = text.split('/').collect();
    match parts.as_slice() {
        [cluster, namespace, sa]
            if !cluster.is_empty() && !namespace.is_empty() && !sa.is_empty() =>
        {
            Ok(((*cluster).into(), (*namespace).into(), (*sa).into()))
        }
        _ => Err(format!(
            "`{text}` is not CLUSTER/NAMESPACE/SERVICEACCOUNT, as `ProductionCluster/PayrollNamespace/PayrollApplication`"
        )),
    }
}

/// How the pod gets AWS credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PodCredentials {
    /// EKS Pod Identity, through the agent.
    PodIdentity {
        role_arn: String,
        target_role_arn: Option<String>,
    },
    /// IRSA, with a web identity token.
    Irsa { role_arn: String },
    /// No association and no annotation: the SDK finds no credentials.
    None,
    /// The pod spec sets the agent variables itself: nothing was injected.
    PodSpec,
}

/// A token file to project and keep fresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Projection {
    pub path: PathBuf,
    pub audience: String,
    pub lifetime_seconds: i64,
}

/// The container's environment and its token files.
#[derive(Clone, Debug)]
pub struct PodEnvironment {
    pub env: Vec<(String, String)>,
    pub projections: Vec<Projection>,
    pub credentials: PodCredentials,
    pub region: String,
}

fn set(spec: &[(String, String)], name: &str) -> bool {
    spec.iter().any(|(k, _)| k == name)
}

/// The service account the pod runs as, from the model.
pub fn service_account<'m>(
    model: &'m Model,
    spec: &PodSpec,
) -> Result<(&'m Cluster, &'m ServiceAccount), String> {
    let (_, cluster) = model
        .cluster(&spec.cluster)
        .ok_or_else(|| format!("the model has no cluster `{}`", spec.cluster))?;
    let sa = cluster
        .service_account(&spec.namespace, &spec.service_account)
        .ok_or_else(|| {
            format!(
                "cluster `{}` has no service account `{}` in namespace `{}`",
                spec.cluster, spec.service_account, spec.namespace
            )
        })?;
    Ok((cluster, sa))
}

/// The environment the webhooks would give `spec`'s container, with the
/// agent and STS at `endpoint` and tokens under `token_dir`.
pub fn environment(
    model: &Model,
    spec: &PodSpec,
    endpoint: &str,
    token_dir: &Path,
) -> Result<PodEnvironment, String> {
    let (cluster, sa) = service_account(model, spec)?;
    let mut env = spec.env.clone();
    let mut projections = Vec::new();
    // The webhooks inject some variables in pairs: a pod spec that sets one
    // of a pair gets neither.
    let add = |env: &mut Vec<(String, String)>, pair: &[(&str, String)]| {
        if !pair.iter().any(|(name, _)| set(&spec.env, name)) {
            env.extend(
                pair.iter()
                    .map(|(name, value)| (name.to_string(), value.clone())),
            );
        }
    };
    let association = cluster.association_for(&spec.namespace, &spec.service_account);
    let credentials = if let Some(association) = association {
        if set(&spec.env, "AWS_CONTAINER_CREDENTIALS_FULL_URI")
            || set(&spec.env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
        {
            PodCredentials::PodSpec
        } else {
            let path = token_dir.join(POD_IDENTITY_TOKEN_FILE);
            env.push((
                "AWS_CONTAINER_CREDENTIALS_FULL_URI".into(),
                format!(
                    "{}{}",
                    endpoint.trim_end_matches('/'),
                    crate::services::eks_auth::AGENT_PATH
                ),
            ));
            env.push((
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE".into(),
                path.display().to_string(),
            ));
            projections.push(Projection {
                path,
                audience: POD_IDENTITY_AUDIENCE.into(),
                lifetime_seconds: POD_IDENTITY_TOKEN_SECONDS,
            });
            PodCredentials::PodIdentity {
                role_arn: association.role_arn.clone(),
                target_role_arn: association.target_role_arn.clone(),
            }
        }
    } else if let Some(irsa) = sa.irsa() {
        let path = token_dir.join(IRSA_TOKEN_FILE);
        add(
            &mut env,
            &[
                ("AWS_ROLE_ARN", irsa.role_arn.clone()),
                ("AWS_WEB_IDENTITY_TOKEN_FILE", path.display().to_string()),
            ],
        );
        if irsa.sts_regional_endpoints {
            add(
                &mut env,
                &[("AWS_STS_REGIONAL_ENDPOINTS", "regional".into())],
            );
        }
        projections.push(Projection {
            path,
            audience: irsa.audience.clone(),
            lifetime_seconds: i64::try_from(irsa.token_expiration).unwrap_or(86_400),
        });
        PodCredentials::Irsa {
            role_arn: irsa.role_arn,
        }
    } else {
        PodCredentials::None
    };
    add(
        &mut env,
        &[
            ("AWS_REGION", cluster.region.clone()),
            ("AWS_DEFAULT_REGION", cluster.region.clone()),
        ],
    );
    add(&mut env, &[("AWS_ENDPOINT_URL", endpoint.to_string())]);
    Ok(PodEnvironment {
        env,
        projections,
        credentials,
        region: cluster.region.clone(),
    })
}

/// Signs and writes the token of each projection: mode 0600, no trailing
/// newline, replaced atomically so that a reader never sees half a token.
pub fn project_tokens(
    issuers: &Issuers,
    store: &orgtwin_store::Store,
    cluster: &Cluster,
    spec: &PodSpec,
    projections: &[Projection],
    now: i64,
) -> Result<(), String> {
    for projection in projections {
        let token = service_account_token(
            issuers,
            store,
            cluster,
            &TokenRequest {
                namespace: &spec.namespace,
                service_account: &spec.service_account,
                audience: &projection.audience,
                lifetime_seconds: projection.lifetime_seconds,
                pod_name: &spec.pod_name,
                pod_uid: &spec.pod_uid,
            },
            now,
        )?;
        write_private(&projection.path, token.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", projection.path.display()))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file in the same directory,
/// readable by the owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(
        ".{name}.{}",
        hex::encode(crate::ids::random_bytes(6))
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let result = options.open(&temporary).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    match result.and_then(|()| std::fs::rename(&temporary, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&temporary);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn spec(pod: &str, env: &[(&str, &str)]) -> PodSpec {
        let (cluster, namespace, service_account) = parse_pod(pod).unwrap();
        PodSpec {
            cluster,
            namespace,
            service_account,
            pod_name: "p".into(),
            pod_uid: "u".into(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
        }
    }

    fn get<'e>(env: &'e PodEnvironment, name: &str) -> Vec<&'e str> {
        env.env
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    #[test]
    fn pod_identity_injects_the_agent_and_its_token() {
        let model = orgtwin_model::embedded();
        let env = environment(
            &model,
            &spec("ProductionCluster/PayrollNamespace/PayrollApplication", &[]),
            "http://127.0.0.1:4577",
            Path::new("/tmp/t"),
        )
        .unwrap();
        assert_eq!(
            get(&env, "AWS_CONTAINER_CREDENTIALS_FULL_URI"),
            ["http://127.0.0.1:4577/v1/credentials"]
        );
        assert_eq!(
            get(&env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
            ["/tmp/t/eks-pod-identity-token"]
        );
        assert_eq!(get(&env, "AWS_ROLE_ARN"), Vec::<&str>::new());
        assert_eq!(get(&env, "AWS_REGION"), ["us-east-1"]);
        assert_eq!(env.projections[0].audience, "pods.eks.amazonaws.com");
    }

    #[test]
    fn a_pod_spec_that_sets_either_agent_variable_gets_neither() {
        let model = orgtwin_model::embedded();
        let env = environment(
            &model,
            &spec(
                "ProductionCluster/PayrollNamespace/PayrollApplication",
                &[("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://mine/")],
            ),
            "http://127.0.0.1:4577",
            Path::new("/tmp/t"),
        )
        .unwrap();
        assert_eq!(
            get(&env, "AWS_CONTAINER_CREDENTIALS_FULL_URI"),
            ["http://mine/"]
        );
        assert!(get(&env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE").is_empty());
        assert!(env.projections.is_empty());
        assert_eq!(env.credentials, PodCredentials::PodSpec);
    }

    #[test]
    fn irsa_injects_the_role_and_keeps_what_the_pod_spec_sets() {
        let model = orgtwin_model::embedded();
        let env = environment(
            &model,
            &spec(
                "ProductionCluster/PayrollNamespace/payroll-irsa",
                &[("AWS_REGION", "eu-west-1")],
            ),
            "http://127.0.0.1:4577",
            Path::new("/tmp/t"),
        )
        .unwrap();
        assert_eq!(
            get(&env, "AWS_ROLE_ARN"),
            ["arn:aws:iam::444455556666:role/payroll-irsa-role"]
        );
        assert_eq!(get(&env, "AWS_WEB_IDENTITY_TOKEN_FILE"), ["/tmp/t/token"]);
        assert_eq!(get(&env, "AWS_STS_REGIONAL_ENDPOINTS"), ["regional"]);
        assert_eq!(get(&env, "AWS_REGION"), ["eu-west-1"]);
        // The region is a pair: the pod spec set one, so neither is added.
        assert!(get(&env, "AWS_DEFAULT_REGION").is_empty());
        assert_eq!(env.projections[0].audience, "sts.amazonaws.com");
        assert_eq!(env.projections[0].lifetime_seconds, 86_400);

        // So is the role with its token file: a pod spec naming another
        // role does not get this service account's token file beside it.
        let env = environment(
            &model,
            &spec(
                "ProductionCluster/PayrollNamespace/payroll-irsa",
                &[("AWS_ROLE_ARN", "arn:aws:iam::444455556666:role/other")],
            ),
            "http://127.0.0.1:4577",
            Path::new("/tmp/t"),
        )
        .unwrap();
        assert_eq!(
            get(&env, "AWS_ROLE_ARN"),
            ["arn:aws:iam::444455556666:role/other"]
        );
        assert!(get(&env, "AWS_WEB_IDENTITY_TOKEN_FILE").is_empty());
        assert_eq!(env.projections.len(), 1);
    }

    #[test]
    fn unknown_pods_are_refused_with_the_reason() {
        let model = orgtwin_model::embedded();
        let err = environment(
            &model,
            &spec("ProductionCluster/PayrollNamespace/nobody", &[]),
            "http://x",
            Path::new("/tmp"),
        )
        .unwrap_err();
        assert!(err.contains("no service account `nobody`"), "{err}");
        assert!(parse_pod("a/b").is_err());
        assert!(parse_pod("a//c").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn token_files_are_private_and_have_no_newline() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        write_private(&path, b"abc").unwrap();
        write_private(&path, b"abcd").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"abcd");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
