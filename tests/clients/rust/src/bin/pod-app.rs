//! An application as it runs in an EKS pod: it loads its configuration with
//! `aws_config::load_defaults` and nothing explicit (the default credential
//! chain: environment, profile, web identity, container credentials), asks
//! STS who it is, then reads each `BUCKET/KEY` given as an argument with S3
//! `GetObject`. The tests run it through `orgtwin run --pod`.
//!
//! It prints one JSON line and nothing else on stdout:
//! `{"arn", "account", "objects": {"BUCKET/KEY": {"body"} | {"error"}}}`,
//! or `{"error"}` when `GetCallerIdentity` fails (exit code 3). An error is
//! `{"code", "message", "context"}`: the AWS error code and message of the
//! innermost AWS error in the chain (an `AssumeRole` refused while the
//! credentials were loading, say), and each error of the chain, `: `-joined.
//!
//! S3 is addressed path-style: the twin is one host, not a bucket per host.

use std::error::Error;
use std::process::ExitCode;

use aws_config::BehaviorVersion;
use aws_sdk_s3::error::ProvideErrorMetadata;
use serde_json::{Map, Value, json};

#[tokio::main]
async fn main() -> ExitCode {
    let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let sts = aws_sdk_sts::Client::new(&config);
    let identity = match sts.get_caller_identity().send().await {
        Ok(identity) => identity,
        Err(e) => {
            println!("{}", json!({ "error": error_json(&e) }));
            return ExitCode::from(3);
        }
    };
    let s3_config = aws_sdk_s3::config::Builder::from(&config)
        .force_path_style(true)
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(s3_config);
    let mut objects = Map::new();
    for object in std::env::args().skip(1) {
        let Some((bucket, key)) = object.split_once('/') else {
            eprintln!("`{object}` is not BUCKET/KEY");
            return ExitCode::from(2);
        };
        let result = match s3.get_object().bucket(bucket).key(key).send().await {
            Ok(output) => match output.body.collect().await {
                Ok(bytes) => json!({ "body": String::from_utf8_lossy(&bytes.into_bytes()) }),
                Err(e) => json!({ "error": { "code": null, "message": e.to_string() } }),
            },
            Err(e) => json!({ "error": error_json(&e) }),
        };
        objects.insert(object, result);
    }
    let out = json!({
        "arn": identity.arn(),
        "account": identity.account(),
        "objects": objects,
    });
    println!("{out}");
    ExitCode::SUCCESS
}

/// The AWS code and message of the innermost AWS error in `error`'s chain,
/// and the chain itself.
fn error_json(error: &(dyn Error + 'static)) -> Value {
    let mut code = None;
    let mut message = None;
    let mut chain = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some((c, m)) = aws_error(e) {
            code = c;
            message = m;
        }
        chain.push(e.to_string());
        next = e.source();
    }
    json!({ "code": code, "message": message, "context": chain.join(": ") })
}

/// The code and message of an error the SDKs parsed from an AWS response:
/// the operations the app calls, and those aws-config's credential
/// providers call on its behalf.
fn aws_error<'a>(error: &'a (dyn Error + 'static)) -> Option<(Option<&'a str>, Option<&'a str>)> {
    use aws_sdk_s3::operation::get_object::GetObjectError;
    use aws_sdk_sts::operation::assume_role::AssumeRoleError;
    use aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError;
    use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;

    fn metadata(e: &impl ProvideErrorMetadata) -> (Option<&str>, Option<&str>) {
        (e.code(), e.message())
    }
    if let Some(e) = error.downcast_ref::<AssumeRoleError>() {
        Some(metadata(e))
    } else if let Some(e) = error.downcast_ref::<AssumeRoleWithWebIdentityError>() {
        Some(metadata(e))
    } else if let Some(e) = error.downcast_ref::<GetCallerIdentityError>() {
        Some(metadata(e))
    } else {
        error.downcast_ref::<GetObjectError>().map(metadata)
    }
}
