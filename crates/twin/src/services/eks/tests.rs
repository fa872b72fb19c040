//! EKS handlers against a twin of the embedded example, in a temporary state.

use orgtwin_identity::Caller;
use orgtwin_identity::caller::ADMIN_USER;

use super::associations::random_association_id;
use super::*;
use crate::start::{self, ModelSource};

const CLUSTER_PROD: &str = "111122223333";
const ANALYTICS: &str = "777788889999";
const ACCOUNT_A_ROLE: &str = "arn:aws:iam::111122223333:role/account-a-role";

struct Fixture {
    _dir: tempfile::TempDir,
    twin: std::sync::Arc<crate::state::Twin>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let twin = start::open(dir.path(), &ModelSource::Embedded, false, false).unwrap();
    Fixture { _dir: dir, twin }
}

impl Fixture {
    /// Sends one request as `caller`; the query string is `query`.
    fn send(
        &self,
        caller: &Caller,
        method: &str,
        path: &str,
        query: &str,
        body: Value,
    ) -> Result<Value, ServiceError> {
        let call = Call {
            twin: &self.twin,
            caller,
            request_id: "test",
        };
        let headers = vec![("host".to_string(), "127.0.0.1:4577".to_string())];
        let http = HttpParts {
            method,
            path,
            query,
            headers: &headers,
            body_sha256: "",
        };
        let body = if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        let reply = handle(
            &call,
            "us-east-1",
            &http,
            &Params::parse(query, None),
            &body,
        )?;
        assert_eq!(reply.status, 200);
        Ok(serde_json::from_str(&reply.body).unwrap())
    }
}

fn admin(account: &str) -> Caller {
    Caller::User {
        account: account.to_string(),
        name: ADMIN_USER.to_string(),
        arn: format!("arn:aws:iam::{account}:user/{ADMIN_USER}"),
    }
}

fn code(result: Result<Value, ServiceError>) -> (u16, String) {
    let e = result.unwrap_err();
    (e.status, e.code)
}

#[test]
fn routes_by_method_and_path() {
    assert_eq!(
        operation("GET", "/clusters").as_deref(),
        Some("ListClusters")
    );
    assert_eq!(
        operation("GET", "/clusters/ProductionCluster").as_deref(),
        Some("DescribeCluster")
    );
    assert_eq!(
        Route::parse("DELETE", "/clusters/c/pod-identity-associations/a-1"),
        Some(Route::DeleteAssociation {
            cluster: "c".into(),
            id: "a-1".into()
        })
    );
    assert_eq!(
        Route::parse("POST", "/clusters/c%2Dx/pod-identity-associations"),
        Some(Route::CreateAssociation {
            cluster: "c-x".into()
        })
    );
    assert_eq!(
        operation("PUT", "/clusters/c/pod-identity-associations"),
        None
    );
    assert_eq!(
        operation("GET", "/clusters//pod-identity-associations"),
        None
    );
    assert_eq!(operation("GET", "/"), None);
}

#[test]
fn new_ids_have_eks_form() {
    for _ in 0..200 {
        let id = random_association_id();
        let rest = id.strip_prefix("a-").unwrap();
        assert_eq!(rest.len(), 17, "{id}");
        assert!(
            rest.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
    }
}

#[test]
fn pages_continue_after_the_last_key() {
    let items: Vec<(String, u32)> = (0..5).map(|i| (format!("k{i}"), i)).collect();
    let first = Params::parse("maxResults=2", None);
    let (page1, next) = page(&first, items.clone()).unwrap();
    assert_eq!(page1, vec![0, 1]);
    let token = next.unwrap();
    let second = Params::parse(&format!("maxResults=2&nextToken={token}"), None);
    let (page2, _) = page(&second, items.clone()).unwrap();
    assert_eq!(page2, vec![2, 3]);
    let (all, none) = page(&Params::parse("", None), items.clone()).unwrap();
    assert_eq!((all.len(), none), (5, None));
    for bad in ["maxResults=0", "maxResults=101", "nextToken=zzz"] {
        let e = page(&Params::parse(bad, None), items.clone()).unwrap_err();
        assert_eq!(e.code, "InvalidParameterException", "{bad}");
    }
}

#[test]
fn clusters_are_seen_by_their_account_only() {
    let f = fixture();
    let prod = admin(CLUSTER_PROD);
    let listed = f.send(&prod, "GET", "/clusters", "", Value::Null).unwrap();
    assert_eq!(
        listed["clusters"],
        json!(["ProductionCluster", "StagingCluster"])
    );
    let described = f
        .send(&prod, "GET", "/clusters/ProductionCluster", "", Value::Null)
        .unwrap();
    let cluster = &described["cluster"];
    assert_eq!(
        cluster["identity"]["oidc"]["issuer"],
        "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    );
    assert_eq!(
        cluster["endpoint"],
        "http://127.0.0.1:4577/_orgtwin/clusters/ProductionCluster"
    );
    assert_eq!(cluster["status"], "ACTIVE");
    let other = admin(ANALYTICS);
    assert_eq!(
        code(f.send(
            &other,
            "GET",
            "/clusters/ProductionCluster",
            "",
            Value::Null
        )),
        (404, "ResourceNotFoundException".into())
    );
    let theirs = f.send(&other, "GET", "/clusters", "", Value::Null).unwrap();
    assert_eq!(theirs["clusters"], json!(["AnalyticsCluster"]));
}

#[test]
fn an_association_is_created_changed_and_deleted() {
    let f = fixture();
    let prod = admin(CLUSTER_PROD);
    let base = "/clusters/ProductionCluster/pod-identity-associations";
    let created = f
        .send(
            &prod,
            "POST",
            base,
            "",
            json!({"namespace": "batch", "serviceAccount": "nightly", "roleArn": ACCOUNT_A_ROLE, "tags": {"team": "batch"}}),
        )
        .unwrap();
    let id = created["association"]["associationId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(created["association"]["tags"], json!({"team": "batch"}));
    let model = f.twin.model();
    let (_, cluster) = model.cluster("ProductionCluster").unwrap();
    assert!(cluster.service_account("batch", "nightly").is_some());
    assert!(cluster.namespaces.contains("batch"));

    let again = f.send(
        &prod,
        "POST",
        base,
        "",
        json!({"namespace": "batch", "serviceAccount": "nightly", "roleArn": ACCOUNT_A_ROLE}),
    );
    assert_eq!(code(again), (409, "ResourceInUseException".into()));

    let path = format!("{base}/{id}");
    let updated = f
        .send(
            &prod,
            "POST",
            &path,
            "",
            json!({"targetRoleArn": "arn:aws:iam::444455556666:role/payroll-reports-role"}),
        )
        .unwrap();
    assert_eq!(
        updated["association"]["targetRoleArn"],
        "arn:aws:iam::444455556666:role/payroll-reports-role"
    );
    assert!(updated["association"]["externalId"].is_string());
    let policy_alone = f.send(
        &prod,
        "POST",
        &path,
        "",
        json!({"policy": r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#}),
    );
    assert_eq!(
        code(policy_alone),
        (400, "InvalidParameterException".into())
    );

    let deleted = f.send(&prod, "DELETE", &path, "", Value::Null).unwrap();
    assert_eq!(deleted["association"]["associationId"], id.as_str());
    assert_eq!(
        code(f.send(&prod, "GET", &path, "", Value::Null)),
        (404, "ResourceNotFoundException".into())
    );
}

#[test]
fn eks_rules_are_checked_before_the_model_changes() {
    let f = fixture();
    let prod = admin(CLUSTER_PROD);
    let base = "/clusters/ProductionCluster/pod-identity-associations";
    let cases = [
        json!({"namespace": "n", "serviceAccount": "s", "roleArn": "arn:aws:iam::444455556666:role/account-b-role"}),
        json!({"namespace": "n", "serviceAccount": "s", "roleArn": "not-an-arn"}),
        json!({"namespace": "n", "serviceAccount": "s", "roleArn": "arn:aws:iam::111122223333:role/no-such-role"}),
        json!({"namespace": "bad_name", "serviceAccount": "s", "roleArn": ACCOUNT_A_ROLE}),
        json!({"namespace": "n", "serviceAccount": "s", "roleArn": ACCOUNT_A_ROLE, "policy": "{"}),
    ];
    let before = f.twin.model();
    for body in cases {
        let result = f.send(&prod, "POST", base, "", body.clone());
        assert_eq!(
            code(result),
            (400, "InvalidParameterException".into()),
            "{body}"
        );
    }
    assert_eq!(*f.twin.model(), *before);
}

#[test]
fn listing_filters_by_namespace_and_service_account() {
    let f = fixture();
    let prod = admin(CLUSTER_PROD);
    let base = "/clusters/ProductionCluster/pod-identity-associations";
    let all = f.send(&prod, "GET", base, "", Value::Null).unwrap();
    assert_eq!(all["associations"].as_array().unwrap().len(), 3);
    let payroll = f
        .send(
            &prod,
            "GET",
            base,
            "namespace=PayrollNamespace",
            Value::Null,
        )
        .unwrap();
    assert_eq!(payroll["associations"].as_array().unwrap().len(), 2);
    let one = f
        .send(
            &prod,
            "GET",
            base,
            "namespace=OtherNamespace&serviceAccount=PayrollApplication",
            Value::Null,
        )
        .unwrap();
    assert_eq!(one["associations"].as_array().unwrap().len(), 1);
    let paged = f
        .send(&prod, "GET", base, "maxResults=2", Value::Null)
        .unwrap();
    assert_eq!(paged["associations"].as_array().unwrap().len(), 2);
    assert!(paged["nextToken"].is_string());
}

#[test]
fn a_user_without_eks_permissions_is_denied() {
    let f = fixture();
    let ci = Caller::user(&f.twin.model(), CLUSTER_PROD, "ci-deployer");
    assert_eq!(
        code(f.send(&ci, "GET", "/clusters/ProductionCluster", "", Value::Null)),
        (403, "AccessDeniedException".into())
    );
}
