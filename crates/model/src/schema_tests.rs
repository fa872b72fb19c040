//! The published JSON Schema (`docs/model.schema.json`) against the loader:
//! the example validates, unknown keys do not, and every section of the
//! schema lists exactly the fields the reader knows.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::Value;

use crate::read;
use crate::source::SourceFile;
use crate::yaml;

const SCHEMA: &str = include_str!("../../../docs/model.schema.json");

fn schema() -> Value {
    serde_json::from_str(SCHEMA).unwrap()
}

fn as_json(path: &str, text: &str) -> Value {
    yaml::parse(&SourceFile::new(path.into(), text.into()))
        .unwrap()
        .to_json()
}

#[test]
fn the_example_validates_against_the_schema() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let mut checked = 0;
    for (path, text) in crate::embedded_sources() {
        // Kubernetes manifests are not model files.
        if !path.ends_with(".yaml") || path.starts_with("kubernetes/") {
            continue;
        }
        let instance = as_json(path, text);
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{path}: {errors:?}");
        checked += 1;
    }
    assert_eq!(checked, 6);
}

#[test]
fn unknown_keys_fail_the_schema() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    for text in [
        "organization: {management_account: \"999988887777\"}\nclusters: []\n",
        "accounts:\n  - {id: \"111122223333\", name: a, colour: blue}\n",
        "accounts:\n  - id: \"111122223333\"\n    name: a\n    iam:\n      roles:\n        - name: r\n          trust_policy: {file: t.json}\n          max_session: 3600\n",
        "scps:\n  - name: s\n    document: {file: s.json, type: scp}\n",
    ] {
        let instance = as_json("bad.yaml", text);
        assert!(!validator.is_valid(&instance), "{text}");
    }
    let good = "accounts:\n  - id: 111122223333\n    name: a\n    iam:\n      roles:\n        - name: r\n          trust_policy: {file: t.json}\n";
    assert!(validator.is_valid(&as_json("good.yaml", good)));
}

#[test]
fn the_schema_lists_the_fields_the_reader_knows() {
    let schema = schema();
    let fields = |definition: &Value| -> Vec<String> {
        let mut keys: Vec<String> = definition["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    let sorted = |known: &[&str]| -> Vec<String> {
        let mut keys: Vec<String> = known.iter().map(|k| (*k).to_string()).collect();
        keys.sort();
        keys
    };
    let defs = &schema["$defs"];
    assert_eq!(fields(&schema), sorted(read::FILE));
    for (name, known) in [
        ("organization", read::ORGANIZATION),
        ("organizationalUnit", read::OU),
        ("account", read::ACCOUNT),
        ("iam", read::IAM),
        ("user", read::USER),
        ("accessKey", read::ACCESS_KEY),
        ("group", read::GROUP),
        ("role", read::ROLE),
        ("managedPolicy", read::MANAGED_POLICY),
        ("oidcProvider", read::OIDC_PROVIDER),
        ("orgPolicy", read::ORG_POLICY),
        ("externalAccount", read::EXTERNAL_ACCOUNT),
        ("bucket", read::BUCKET),
        ("object", read::OBJECT),
        ("vpc", read::VPC),
        ("subnet", read::SUBNET),
        ("resourceShare", read::RESOURCE_SHARE),
        ("cluster", read::CLUSTER),
        ("serviceAccount", read::SERVICE_ACCOUNT),
        ("podIdentityAssociation", read::ASSOCIATION),
    ] {
        assert_eq!(fields(&defs[name]), sorted(known), "{name}");
    }
    for (section, known) in [
        ("s3", read::S3),
        ("ec2", read::EC2),
        ("ram", read::RAM),
        ("eks", read::EKS),
    ] {
        assert_eq!(
            fields(&defs["account"]["properties"][section]),
            sorted(known),
            "{section}"
        );
    }
    assert_eq!(
        fields(&defs["inlinePolicies"]["items"]),
        sorted(read::INLINE_POLICY)
    );
}
