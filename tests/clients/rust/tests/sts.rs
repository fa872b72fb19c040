//! STS through aws-sdk-sts and aws-config, unmodified, against a running
//! twin: the embedded example organization and the guardrail fixture
//! (tests/clients/fixtures/org).

use aws_sdk_sts::error::ProvideErrorMetadata;
use aws_sdk_sts::operation::assume_role::AssumeRoleOutput;
use aws_sdk_sts::types::Tag;
use orgtwin_client_tests::{Twin, fixture_org};

const CLUSTER_PROD: &str = "111122223333";
const PAYROLL_PROD: &str = "444455556666";
const PLATFORM_ADMIN_PAYROLL: &str = "arn:aws:iam::444455556666:role/platform-admin";
const ACCOUNT_B_ROLE: &str = "arn:aws:iam::444455556666:role/account-b-role";

const APPS_PROD: &str = "100000000002";
const TAGGING_ROLE: &str = "arn:aws:iam::100000000001:role/tagging-role";
const PAYMENTS_ROLE: &str = "arn:aws:iam::100000000002:role/payments-role";

const TRANSITIVE_CONFLICT: &str = "One of the specified transitive tag keys can't be set because \
     it conflicts with a transitive tag key from the calling session.";

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().expect("a tag")
}

async fn assume(
    sts: &aws_sdk_sts::Client,
    role_arn: &str,
    session: &str,
) -> Result<
    AssumeRoleOutput,
    aws_sdk_sts::error::SdkError<aws_sdk_sts::operation::assume_role::AssumeRoleError>,
> {
    sts.assume_role()
        .role_arn(role_arn)
        .role_session_name(session)
        .send()
        .await
}

#[tokio::test]
async fn get_caller_identity_of_an_administrator_and_a_modelled_user() {
    let twin = Twin::start(None);
    let admin = twin.client(Some(PAYROLL_PROD), None).await;
    let identity = admin
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity");
    assert_eq!(identity.account(), Some(PAYROLL_PROD));
    assert_eq!(
        identity.arn(),
        Some("arn:aws:iam::444455556666:user/orgtwin-admin")
    );
    assert!(identity.user_id().is_some_and(|id| id.starts_with("AIDA")));

    let user = twin.client(None, Some("ci-deployer")).await;
    let identity = user
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity");
    assert_eq!(
        identity.arn(),
        Some("arn:aws:iam::111122223333:user/ci-deployer")
    );
}

#[tokio::test]
async fn cross_account_assume_role_allowed_and_denied_by_the_trust_policy() {
    let twin = Twin::start(None);
    let management = twin.client(None, None).await;
    let assumed = assume(&management, PLATFORM_ADMIN_PAYROLL, "rust-allowed")
        .await
        .expect("allowed");
    let user = assumed.assumed_role_user().expect("AssumedRoleUser");
    assert_eq!(
        user.arn(),
        "arn:aws:sts::444455556666:assumed-role/platform-admin/rust-allowed"
    );
    assert!(user.assumed_role_id().starts_with("AROA"));
    assert!(user.assumed_role_id().ends_with(":rust-allowed"));
    let creds = assumed.credentials().expect("Credentials");
    assert!(creds.access_key_id().starts_with("ASIA"));

    let session = twin.session_client(creds).await;
    let identity = session
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity");
    assert_eq!(identity.arn(), Some(user.arn()));
    assert_eq!(identity.account(), Some(PAYROLL_PROD));

    let cluster_admin = twin.client(Some(CLUSTER_PROD), None).await;
    let error = assume(&cluster_admin, ACCOUNT_B_ROLE, "rust-denied")
        .await
        .expect_err("the trust policy needs session tags")
        .into_service_error();
    assert_eq!(error.code(), Some("AccessDenied"));
    let message = error.message().unwrap_or_default();
    assert!(
        message.starts_with(
            "User: arn:aws:iam::111122223333:user/orgtwin-admin is not authorized to perform: \
             sts:AssumeRole on resource: arn:aws:iam::444455556666:role/account-b-role"
        ),
        "{message}"
    );
    assert!(
        message.contains("Encoded authorization failure message: "),
        "{message}"
    );
}

#[tokio::test]
async fn role_chaining_with_transitive_session_tags() {
    let twin = Twin::start(Some(&fixture_org()));
    let user = twin.client(None, Some("free-user")).await;
    let first = user
        .assume_role()
        .role_arn(TAGGING_ROLE)
        .role_session_name("rust-hop1")
        .tags(tag("team", "payments"))
        .transitive_tag_keys("team")
        .send()
        .await
        .expect("the first hop passes tags");
    let hop1 = twin
        .session_client(first.credentials().expect("Credentials"))
        .await;

    let second = assume(&hop1, PAYMENTS_ROLE, "rust-hop2")
        .await
        .expect("the ABAC trust allows");
    assert_eq!(
        second.assumed_role_user().map(|u| u.arn()),
        Some("arn:aws:sts::100000000002:assumed-role/payments-role/rust-hop2")
    );
    // The tag was inherited, not set: it still satisfies the trust one hop on.
    let hop2 = twin
        .session_client(second.credentials().expect("Credentials"))
        .await;
    let third = assume(&hop2, PAYMENTS_ROLE, "rust-hop3")
        .await
        .expect("the tag is transitive");
    let hop3 = twin
        .session_client(third.credentials().expect("Credentials"))
        .await;
    let identity = hop3
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity");
    assert_eq!(identity.account(), Some(APPS_PROD));

    let conflict = hop1
        .assume_role()
        .role_arn(PAYMENTS_ROLE)
        .role_session_name("rust-conflict")
        .tags(tag("team", "other"))
        .send()
        .await
        .expect_err("an inherited transitive tag cannot be set again")
        .into_service_error();
    assert_eq!(conflict.code(), Some("InvalidParameterValue"));
    assert_eq!(conflict.message(), Some(TRANSITIVE_CONFLICT));

    let too_long = hop1
        .assume_role()
        .role_arn(PAYMENTS_ROLE)
        .role_session_name("rust-too-long")
        .duration_seconds(7200)
        .send()
        .await
        .expect_err("role chaining is limited to one hour")
        .into_service_error();
    assert_eq!(too_long.code(), Some("ValidationError"));
    assert_eq!(
        too_long.message(),
        Some(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed \
             by role chaining."
        )
    );
}

#[tokio::test]
async fn an_expired_session_is_an_expired_token() {
    let twin = Twin::start(None);
    let management = twin.client(None, None).await;
    let assumed = management
        .assume_role()
        .role_arn(PLATFORM_ADMIN_PAYROLL)
        .role_session_name("rust-expiring")
        .duration_seconds(900)
        .send()
        .await
        .expect("allowed");
    let session = twin
        .session_client(assumed.credentials().expect("Credentials"))
        .await;
    session
        .get_caller_identity()
        .send()
        .await
        .expect("valid before expiry");
    twin.advance_clock(901);
    let error = session
        .get_caller_identity()
        .send()
        .await
        .expect_err("expired")
        .into_service_error();
    assert_eq!(error.code(), Some("ExpiredToken"));
}

#[tokio::test]
async fn session_credentials_survive_a_restart() {
    let mut twin = Twin::start(None);
    let management = twin.client(None, None).await;
    let assumed = assume(&management, PLATFORM_ADMIN_PAYROLL, "rust-restart")
        .await
        .expect("allowed");
    let port = twin.port;
    twin.restart();
    assert_eq!(twin.port, port);
    let session = twin
        .session_client(assumed.credentials().expect("Credentials"))
        .await;
    let identity = session
        .get_caller_identity()
        .send()
        .await
        .expect("still valid");
    assert_eq!(
        identity.arn(),
        Some("arn:aws:sts::444455556666:assumed-role/platform-admin/rust-restart")
    );
}
