//! Loads the SDK's configuration the way an application does
//! (`aws_config::load_defaults`: environment, config and credentials files,
//! the profile's credential providers), calls `GetCallerIdentity`, and prints
//! the caller's ARN. The tests run it with a controlled environment to see
//! where aws-sdk-rust sends its STS calls.

use std::process::ExitCode;

use aws_config::BehaviorVersion;
use aws_sdk_sts::error::DisplayErrorContext;

#[tokio::main]
async fn main() -> ExitCode {
    let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let sts = aws_sdk_sts::Client::new(&config);
    match sts.get_caller_identity().send().await {
        Ok(identity) => {
            println!("{}", identity.arn().unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}", DisplayErrorContext(&e));
            ExitCode::FAILURE
        }
    }
}
