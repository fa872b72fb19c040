//! Where aws-sdk-rust sends its STS calls when the endpoint is configured
//! only through the environment: `AWS_ENDPOINT_URL` and the per-service
//! `AWS_ENDPOINT_URL_STS`, for the STS client itself and for the AssumeRole
//! that aws-config's profile credential provider makes (`role_arn` with
//! `source_profile`), and for aws-config's `AssumeRoleProvider` given an
//! `SdkConfig` with `endpoint_url`.
//!
//! The environment cases run `sts-whoami` (src/bin), which loads its
//! configuration as an application does, in a child process with a cleared
//! environment. The machine has no route to AWS: a call that went anywhere
//! but the twin fails.

use std::path::Path;
use std::process::Command;

use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_sts::config::{Credentials, SharedCredentialsProvider};
use orgtwin_client_tests::{REGION, Twin};

const DEPLOY_ROLE: &str = "arn:aws:iam::444455556666:role/deploy-role";
const DEPLOY_EXTERNAL_ID: &str = "payroll-deploy-EXAMPLE";

/// Runs `sts-whoami` with only `vars` (and an empty HOME) in its
/// environment; returns the printed ARN, or the error it reported.
fn whoami(home: &Path, vars: &[(&str, &str)]) -> Result<String, String> {
    let output = Command::new(env!("CARGO_BIN_EXE_sts-whoami"))
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_CONFIG_FILE", home.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .envs(vars.iter().copied())
        .output()
        .expect("sts-whoami runs");
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// A profile `deploy` that assumes deploy-role from ci-deployer's keys.
fn write_deploy_profile(twin: &Twin, home: &Path) {
    let env = twin.env(None, Some("ci-deployer"));
    std::fs::write(
        home.join("credentials"),
        format!(
            "[ci]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
        ),
    )
    .expect("credentials file");
    std::fs::write(
        home.join("config"),
        format!(
            "[profile deploy]\nrole_arn = {DEPLOY_ROLE}\nsource_profile = ci\n\
             external_id = {DEPLOY_EXTERNAL_ID}\nrole_session_name = rust-profile\n\
             region = {REGION}\n"
        ),
    )
    .expect("config file");
}

#[test]
fn the_sts_client_honours_aws_endpoint_url_and_aws_endpoint_url_sts() {
    let twin = Twin::start(None);
    let home = tempfile::tempdir().expect("a home");
    let env = twin.env(None, None);
    let keys = [
        ("AWS_ACCESS_KEY_ID", env["AWS_ACCESS_KEY_ID"].as_str()),
        (
            "AWS_SECRET_ACCESS_KEY",
            env["AWS_SECRET_ACCESS_KEY"].as_str(),
        ),
        ("AWS_REGION", REGION),
    ];
    // Without either variable the call leaves for AWS, which is unreachable.
    let nowhere = whoami(home.path(), &keys).expect_err("no endpoint override");
    assert!(nowhere.contains("dispatch failure"), "{nowhere}");
    for variable in ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS"] {
        let mut vars = keys.to_vec();
        vars.push((variable, &twin.endpoint));
        let arn = whoami(home.path(), &vars);
        assert_eq!(
            arn.as_deref(),
            Ok("arn:aws:iam::999988887777:user/orgtwin-admin"),
            "with {variable}"
        );
    }
}

#[test]
fn the_profile_assume_role_provider_honours_the_endpoint_variables() {
    let twin = Twin::start(None);
    let home = tempfile::tempdir().expect("a home");
    write_deploy_profile(&twin, home.path());
    let nowhere = whoami(home.path(), &[("AWS_PROFILE", "deploy")]).expect_err("no endpoint");
    assert!(nowhere.contains("dispatch failure"), "{nowhere}");
    for variable in ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS"] {
        let arn = whoami(
            home.path(),
            &[("AWS_PROFILE", "deploy"), (variable, &twin.endpoint)],
        );
        assert_eq!(
            arn.as_deref(),
            Ok("arn:aws:sts::444455556666:assumed-role/deploy-role/rust-profile"),
            "with {variable}"
        );
    }
}

#[tokio::test]
async fn assume_role_provider_uses_the_sdk_configs_endpoint_url() {
    let twin = Twin::start(None);
    let env = twin.env(None, Some("ci-deployer"));
    let base = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(&twin.endpoint)
        .credentials_provider(Credentials::new(
            &env["AWS_ACCESS_KEY_ID"],
            &env["AWS_SECRET_ACCESS_KEY"],
            None,
            None,
            "ci-deployer",
        ))
        .load()
        .await;
    let provider = AssumeRoleProvider::builder(DEPLOY_ROLE)
        .external_id(DEPLOY_EXTERNAL_ID)
        .session_name("rust-provider")
        .configure(&base)
        .build()
        .await;
    let config = base
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build();
    let identity = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity with the provider's credentials");
    assert_eq!(
        identity.arn(),
        Some("arn:aws:sts::444455556666:assumed-role/deploy-role/rust-provider")
    );
}
