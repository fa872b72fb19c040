//! EKS Auth's `AssumeRoleForPodIdentity` and the chains that follow it, on
//! the example organization: the guide's ABAC chain, EKS's native target
//! role, and the traps the ABAC trust must stop.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;

use orgtwin_identity::tokens::{jwk, sign};
use orgtwin_identity::{
    AssumeRoleRequest, BoundObject, Caller, EksAuthError, IdSource, Jwk, KeySource,
    KubernetesClaims, PodIdentityIssued, StsError, TokenClaims, assume_role,
    assume_role_for_pod_identity,
};
use orgtwin_model::Model;
use orgtwin_policy::Timestamp;
use rsa::RsaPrivateKey;

const NOW: i64 = 1_796_317_704;
const ACCOUNT_B: &str = "arn:aws:iam::444455556666:role/account-b-role";

struct Issuers {
    keys: HashMap<String, (RsaPrivateKey, Jwk)>,
}

impl Issuers {
    fn new(model: &Model) -> Issuers {
        let mut rng = rand::thread_rng();
        let keys = model
            .clusters()
            .map(|(_, c)| {
                let private = RsaPrivateKey::new(&mut rng, 1024).unwrap();
                let public = jwk(&private.to_public_key(), &c.name);
                (c.issuer(), (private, public))
            })
            .collect();
        Issuers { keys }
    }

    fn token(&self, model: &Model, cluster: &str, namespace: &str, sa: &str) -> String {
        let (_, cluster) = model.cluster(cluster).unwrap();
        let claims = TokenClaims {
            iss: cluster.issuer(),
            sub: format!("system:serviceaccount:{namespace}:{sa}"),
            aud: vec!["pods.eks.amazonaws.com".into()],
            exp: NOW + 3_600,
            iat: NOW - 10,
            nbf: NOW - 10,
            kubernetes: KubernetesClaims {
                namespace: namespace.into(),
                serviceaccount: BoundObject {
                    name: sa.into(),
                    uid: "sa-uid".into(),
                },
                pod: Some(BoundObject {
                    name: "payroll-7d4b9".into(),
                    uid: "pod-uid-1".into(),
                }),
            },
        };
        self.sign(&cluster.issuer(), &claims)
    }

    fn sign(&self, issuer: &str, claims: &TokenClaims) -> String {
        let (private, public) = &self.keys[issuer];
        sign(private, public.kid.as_deref().unwrap(), claims).unwrap()
    }
}

impl KeySource for Issuers {
    fn keys(&self, issuer: &str) -> Result<Vec<Jwk>, String> {
        self.keys
            .get(issuer)
            .map(|(_, public)| vec![public.clone()])
            .ok_or_else(|| format!("no issuer {issuer}"))
    }
}

struct Ids(u32);

impl IdSource for Ids {
    fn access_key_id(&mut self, prefix: &str) -> String {
        self.0 += 1;
        format!("{prefix}TEST{:012}", self.0)
    }
    fn secret_access_key(&mut self) -> String {
        "s".repeat(40)
    }
    fn session_token(&mut self) -> String {
        "token".into()
    }
}

fn exchange(
    model: &Model,
    issuers: &Issuers,
    cluster: &str,
    token: &str,
) -> Result<PodIdentityIssued, EksAuthError> {
    assume_role_for_pod_identity(
        model,
        cluster,
        token,
        issuers,
        Timestamp::from_unix_seconds(NOW),
        &mut Ids(0),
    )
}

/// A pod of `cluster`/`namespace`/`sa` asks EKS Auth for credentials.
fn pod(
    model: &Model,
    issuers: &Issuers,
    cluster: &str,
    namespace: &str,
    sa: &str,
) -> Result<PodIdentityIssued, EksAuthError> {
    let token = issuers.token(model, cluster, namespace, sa);
    exchange(model, issuers, cluster, &token)
}

/// EKS Auth's answer to ProductionCluster's token with `claims`.
fn refused(model: &Model, issuers: &Issuers, claims: &TokenClaims) -> EksAuthError {
    let (_, production) = model.cluster("ProductionCluster").unwrap();
    let token = issuers.sign(&production.issuer(), claims);
    exchange(model, issuers, "ProductionCluster", &token).unwrap_err()
}

fn chain(model: &Model, issued: &PodIdentityIssued, duration: Option<i64>) -> Result<(), StsError> {
    let caller = Caller::Session(Box::new(issued.issued.session.clone()));
    let request = AssumeRoleRequest {
        role_arn: ACCOUNT_B.into(),
        role_session_name: "payroll".into(),
        duration_seconds: duration,
        ..AssumeRoleRequest::default()
    };
    assume_role(
        model,
        &caller,
        &request,
        Timestamp::from_unix_seconds(NOW),
        &mut Ids(100),
    )
    .map(|_| ())
}

#[test]
fn the_guide_s_pod_gets_account_a_role_with_six_transitive_tags_and_chains_into_account_b() {
    let model = orgtwin_model::embedded();
    let issuers = Issuers::new(&model);
    let issued = pod(
        &model,
        &issuers,
        "ProductionCluster",
        "PayrollNamespace",
        "PayrollApplication",
    )
    .unwrap();
    let session = &issued.issued.session;
    assert_eq!(
        session.identity_arn,
        "arn:aws:iam::111122223333:role/account-a-role"
    );
    assert!(session.arn().starts_with(
        "arn:aws:sts::111122223333:assumed-role/account-a-role/eks-ProductionCluster-payroll-7d4b9-"
    ));
    let tags: Vec<(&str, &str, bool)> = session
        .tags
        .iter()
        .map(|t| (t.key.as_str(), t.value.as_str(), t.transitive))
        .collect();
    assert_eq!(
        tags,
        [
            (
                "eks-cluster-arn",
                "arn:aws:eks:us-east-1:111122223333:cluster/ProductionCluster",
                true
            ),
            ("eks-cluster-name", "ProductionCluster", true),
            ("kubernetes-namespace", "PayrollNamespace", true),
            ("kubernetes-service-account", "PayrollApplication", true),
            ("kubernetes-pod-name", "payroll-7d4b9", true),
            ("kubernetes-pod-uid", "pod-uid-1", true),
        ]
    );
    assert_eq!(session.expires_at - NOW, 6 * 3_600);
    assert_eq!(
        issued.authorizations.len(),
        2,
        "sts:AssumeRole and sts:TagSession"
    );
    assert!(issued.association_arn.starts_with(
        "arn:aws:eks:us-east-1:111122223333:podidentityassociation/ProductionCluster/a-"
    ));
    chain(&model, &issued, None).unwrap();
    // Chained sessions last an hour at most.
    match chain(&model, &issued, Some(7_200)) {
        Err(StsError::ValidationError(m)) => assert!(m.contains("1 hour session limit"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_traps_are_refused_at_the_chained_hop_by_account_b_role_s_trust() {
    let model = orgtwin_model::embedded();
    let issuers = Issuers::new(&model);
    for (cluster, namespace) in [
        ("ProductionCluster", "OtherNamespace"),
        ("StagingCluster", "PayrollNamespace"),
    ] {
        let token = issuers.token(&model, cluster, namespace, "PayrollApplication");
        // The first hop succeeds: account-a-role trusts every association.
        let issued = exchange(&model, &issuers, cluster, &token).unwrap();
        match chain(&model, &issued, None) {
            Err(StsError::AccessDenied {
                message,
                authorizations,
            }) => {
                assert!(message.contains(ACCOUNT_B), "{message}");
                let reason =
                    serde_json::to_string(&authorizations.last().unwrap().decision).unwrap();
                assert!(reason.contains("account-b-role trust policy"), "{reason}");
            }
            other => panic!("{cluster}/{namespace}: {other:?}"),
        }
    }
}

#[test]
fn the_native_target_role_hands_out_the_target_s_credentials() {
    let model = orgtwin_model::embedded();
    let issuers = Issuers::new(&model);
    let issued = pod(
        &model,
        &issuers,
        "ProductionCluster",
        "PayrollNamespace",
        "payroll-reports",
    )
    .unwrap();
    let session = &issued.issued.session;
    assert_eq!(
        session.identity_arn,
        "arn:aws:iam::444455556666:role/payroll-reports-role"
    );
    assert!(session.chained);
    assert_eq!(session.expires_at - NOW, 3_600);
    // The tags passed on, transitive still.
    assert!(
        session
            .tags
            .iter()
            .any(|t| t.key == "kubernetes-service-account"
                && t.value == "payroll-reports"
                && t.transitive)
    );
    assert_eq!(issued.authorizations.len(), 4);
}

#[test]
fn a_target_trust_without_tag_session_fails_as_aws_fails() {
    let mut model = orgtwin_model::embedded();
    let role = model
        .accounts
        .get_mut("444455556666")
        .unwrap()
        .iam
        .roles
        .iter_mut()
        .find(|r| r.name == "payroll-reports-role")
        .unwrap();
    let trust = role.trust_policy.text.replace(
        r#"["sts:AssumeRole","sts:TagSession"]"#,
        r#""sts:AssumeRole""#,
    );
    assert_ne!(trust, *role.trust_policy.text, "{trust}");
    role.trust_policy = orgtwin_model::Document::parse(&trust).unwrap();
    let issuers = Issuers::new(&model);
    match pod(
        &model,
        &issuers,
        "ProductionCluster",
        "PayrollNamespace",
        "payroll-reports",
    ) {
        Err(EksAuthError::AccessDenied { message, .. }) => {
            assert!(message.contains("sts:TagSession"), "{message}");
            assert!(message.contains("payroll-reports-role"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn tokens_are_checked_for_issuer_audience_expiry_signature_and_association() {
    let model = orgtwin_model::embedded();
    let issuers = Issuers::new(&model);
    let good = issuers.token(
        &model,
        "ProductionCluster",
        "PayrollNamespace",
        "PayrollApplication",
    );
    // Another cluster's token.
    let err = exchange(&model, &issuers, "StagingCluster", &good).unwrap_err();
    assert_eq!(err.code(), "InvalidTokenException", "{err}");
    // No such cluster.
    let err = exchange(&model, &issuers, "NoCluster", &good).unwrap_err();
    assert_eq!(
        (err.code(), err.status()),
        ("ResourceNotFoundException", 404)
    );
    // A service account without an association.
    let irsa = issuers.token(
        &model,
        "ProductionCluster",
        "PayrollNamespace",
        "payroll-irsa",
    );
    let err = exchange(&model, &issuers, "ProductionCluster", &irsa).unwrap_err();
    assert_eq!(err.code(), "ResourceNotFoundException", "{err}");

    let base: TokenClaims = orgtwin_identity::tokens::parse(&good).unwrap().claims;
    let sts_audience = TokenClaims {
        aud: vec!["sts.amazonaws.com".into()],
        ..base.clone()
    };
    let err = refused(&model, &issuers, &sts_audience);
    assert_eq!(err.code(), "InvalidTokenException");
    assert!(err.to_string().contains("audience"), "{err}");

    let expired = TokenClaims {
        exp: NOW - 600,
        ..base.clone()
    };
    let err = refused(&model, &issuers, &expired);
    assert_eq!(err.code(), "ExpiredTokenException");

    let unbound = TokenClaims {
        kubernetes: KubernetesClaims {
            pod: None,
            ..base.kubernetes.clone()
        },
        ..base.clone()
    };
    let err = refused(&model, &issuers, &unbound);
    assert!(err.to_string().contains("not bound to a pod"), "{err}");

    // Signed by another cluster's key, under this cluster's issuer.
    let (_, staging) = model.cluster("StagingCluster").unwrap();
    let forged = issuers.sign(&staging.issuer(), &base);
    let err = exchange(&model, &issuers, "ProductionCluster", &forged).unwrap_err();
    assert!(err.to_string().contains("signature"), "{err}");

    let err = exchange(&model, &issuers, "ProductionCluster", "not-a-jwt").unwrap_err();
    assert_eq!((err.code(), err.status()), ("InvalidTokenException", 400));
}
