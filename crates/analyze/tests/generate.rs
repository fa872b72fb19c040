//! `orgtwin_analyze::generate`: the organization it writes loads without a
//! problem, has what the flags ask for, is the same for the same seed, and
//! has the paths it means to have (each kind of cross-account trust reaches
//! its bucket, the trap does not). On it, the analyzer's pruning is checked
//! against brute force: no role the engine would let a session into, and no
//! bucket action the engine would allow, is missed (by `grants` or `who-can`).

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;

use orgtwin_analyze::access::{Grant, decide, resources};
use orgtwin_analyze::generate::{GenerateError, Generated, Spec, TrustKind, generate};
use orgtwin_analyze::reach::MAX_HOPS;
use orgtwin_analyze::{analyze, grants, who_can};
use orgtwin_identity::{AssumeRoleRequest, Caller, IdSource, assume_role};
use orgtwin_model::Model;
use orgtwin_policy::Timestamp;

const NOW: i64 = 1_796_317_704;

fn small() -> Spec {
    Spec {
        roles_per_account: 8,
        service_accounts_per_cluster: 12,
        cross_account_trusts: Some(20),
        seed: 7,
        ..Spec::new(12, 4)
    }
}

fn load(generated: &Generated) -> Model {
    orgtwin_model::load_from_memory("org.yaml", &generated.file_refs())
        .unwrap_or_else(|e| panic!("the generated model has problems: {e:?}"))
}

#[test]
fn the_counts_are_the_flags() {
    let spec = small();
    let generated = generate(&spec).unwrap();
    let model = load(&generated);
    let s = &generated.summary;
    let roles: usize = model.accounts.values().map(|a| a.iam.roles.len()).sum();
    let users: usize = model.accounts.values().map(|a| a.iam.users.len()).sum();
    let buckets: usize = model.accounts.values().map(|a| a.buckets.len()).sum();
    let clusters: Vec<_> = model.clusters().map(|(_, c)| c).collect();
    let service_accounts: usize = clusters.iter().map(|c| c.service_accounts.len()).sum();
    let associations: usize = clusters
        .iter()
        .map(|c| c.pod_identity_associations.len())
        .sum();
    assert_eq!(model.accounts.len(), 12);
    assert_eq!(s.accounts, 12);
    assert_eq!((roles, s.roles), (12 * 8, 12 * 8));
    assert_eq!((clusters.len(), s.clusters), (4, 4));
    assert_eq!((service_accounts, s.service_accounts), (4 * 12, 4 * 12));
    assert_eq!(s.cross_account_trusts, 20);
    assert_eq!(associations, s.associations);
    assert_eq!(users, s.users);
    assert_eq!(buckets, s.buckets);
    assert_eq!(
        model.organization.organizational_units.len(),
        s.organizational_units
    );
    // The trusts, counted in the model: roles named after their kind.
    let trusts = model
        .accounts
        .values()
        .flat_map(|a| &a.iam.roles)
        .filter(|r| {
            ["abac-", "target-", "irsa-"]
                .iter()
                .any(|p| r.name.starts_with(p))
        })
        .count();
    assert_eq!(trusts, 20);
    // One cluster in five runs in a workload account.
    let decentralized = model
        .clusters()
        .filter(|(account, _)| {
            model
                .account(account)
                .is_some_and(|a| a.name.starts_with("workload-"))
        })
        .count();
    assert_eq!(decentralized, 1);
}

#[test]
fn the_same_seed_gives_the_same_files() {
    let once = generate(&small()).unwrap();
    let again = generate(&small()).unwrap();
    assert_eq!(once.files, again.files);
    assert_eq!(once.summary, again.summary);
    let other = generate(&Spec { seed: 8, ..small() }).unwrap();
    assert_ne!(once.files, other.files);
}

#[test]
fn impossible_specs_are_refused() {
    assert_eq!(
        generate(&Spec::new(2, 1)).unwrap_err(),
        GenerateError::TooFewAccounts(2)
    );
    assert_eq!(
        generate(&Spec::new(5, 0)).unwrap_err(),
        GenerateError::NoClusters
    );
    let too_many = generate(&Spec {
        cross_account_trusts: Some(10_000),
        ..small()
    });
    assert!(
        matches!(
            too_many,
            Err(GenerateError::TooManyTrusts { asked: 10_000, .. })
        ),
        "{too_many:?}"
    );
    // The defaults at the benchmark's largest size fit.
    let spec = Spec::new(1_000, 200);
    assert!(generate(&spec).is_ok());
}

#[test]
fn each_kind_of_trust_reaches_its_bucket_and_the_trap_does_not() {
    let generated = generate(&Spec::new(20, 4)).unwrap();
    let model = load(&generated);
    let analysis = analyze(&model, Timestamp::from_unix_seconds(NOW));
    let all = grants(&model, &analysis);
    let has = |start: &str, action: &str, resource: &str| {
        all.contains(&Grant {
            start: start.to_string(),
            action: action.to_string(),
            resource: resource.to_string(),
        })
    };
    let samples = &generated.summary.samples;
    let kinds: Vec<TrustKind> = samples.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, [TrustKind::Target, TrustKind::Abac, TrustKind::Irsa]);
    for sample in samples {
        let sa = &sample.service_account;
        assert!(has(sa, "sts:AssumeRole", &sample.role_arn), "{sample:?}");
        assert!(has(sa, "s3:ListBucket", &sample.bucket_arn), "{sample:?}");
        let objects = match sample.kind {
            TrustKind::Target => format!("{}/reports/summary.csv", sample.bucket_arn),
            _ => format!("{}/*", sample.bucket_arn),
        };
        let object_allowed = has(sa, "s3:GetObject", &objects);
        let seeded = model
            .bucket(sample.bucket_arn.trim_start_matches("arn:aws:s3:::"))
            .is_some_and(|(_, b)| !b.objects.is_empty());
        assert!(
            object_allowed || sample.kind == TrustKind::Target && !seeded,
            "{sample:?}"
        );
    }
    let trap = generated.summary.trap.as_ref().unwrap();
    assert_ne!(trap.service_account, samples[1].service_account);
    // The trap gets eks-pod-chain, like its namesake, and no further.
    assert!(all.iter().any(|g| g.start == trap.service_account
        && g.resource.ends_with(":role/eks-pod-chain")));
    assert!(!all.iter().any(|g| g.start == trap.service_account
        && (g.resource == trap.role_arn || g.resource.starts_with(&trap.bucket_arn))));
}

/// Session names and keys for the brute force, as the analyzer makes them.
struct Counter(u64);

impl IdSource for Counter {
    fn access_key_id(&mut self, prefix: &str) -> String {
        self.0 += 1;
        format!("{prefix}{:016}", self.0)
    }
    fn secret_access_key(&mut self) -> String {
        String::new()
    }
    fn session_token(&mut self) -> String {
        String::new()
    }
}

#[test]
fn pruning_misses_no_role_and_no_bucket_action() {
    for model in [
        orgtwin_model::embedded(),
        load(&generate(&small()).unwrap()),
    ] {
        let now = Timestamp::from_unix_seconds(NOW);
        let analysis = analyze(&model, now);
        let roles: Vec<_> = model.accounts.values().flat_map(|a| &a.iam.roles).collect();
        let on_buckets = resources(&model);
        let mut brute: BTreeSet<Grant> = BTreeSet::new();
        for (start, reached) in analysis.starts.iter().zip(&analysis.reached) {
            let label = start.label();
            let got: BTreeSet<&str> = reached
                .iter()
                .filter_map(|r| analysis.nodes[r.node].session())
                .map(|s| s.identity_arn.as_str())
                .collect();
            for r in reached {
                let caller: &Caller = &analysis.nodes[r.node];
                if !r.path.is_empty() {
                    brute.insert(Grant {
                        start: label.clone(),
                        action: "sts:AssumeRole".into(),
                        resource: r.path.last().unwrap().target.clone(),
                    });
                }
                for (action, resource) in &on_buckets {
                    if decide(&model, caller, action, resource, now).is_allowed() {
                        brute.insert(Grant {
                            start: label.clone(),
                            action: action.clone(),
                            resource: resource.clone(),
                        });
                    }
                }
                let hops = r
                    .path
                    .iter()
                    .filter(|h| h.action == "sts:AssumeRole")
                    .count();
                if hops >= MAX_HOPS {
                    continue;
                }
                // Every role, with no external id and with each one any
                // trust of the model asks for.
                for role in &roles {
                    let ids = external_ids(role);
                    let admitted =
                        std::iter::once(None)
                            .chain(ids.into_iter().map(Some))
                            .any(|external_id| {
                                let request = AssumeRoleRequest {
                                    role_arn: role.arn.clone(),
                                    role_session_name: "orgtwin-analyze".into(),
                                    external_id,
                                    ..AssumeRoleRequest::default()
                                };
                                assume_role(&model, caller, &request, now, &mut Counter(0)).is_ok()
                            });
                    assert!(
                        !admitted || got.contains(role.arn.as_str()),
                        "{label}: {} may assume {} but the analysis missed it",
                        caller.arn(),
                        role.arn
                    );
                }
            }
        }
        assert_eq!(grants(&model, &analysis), brute);
        for (action, resource) in &on_buckets {
            let found: BTreeSet<String> = who_can(&model, &analysis, action, resource)
                .iter()
                .map(|a| a.start.label())
                .collect();
            let expected: BTreeSet<String> = brute
                .iter()
                .filter(|g| &g.action == action && &g.resource == resource)
                .map(|g| g.start.clone())
                .collect();
            assert_eq!(found, expected, "who can {action} {resource}");
        }
    }
}

fn external_ids(role: &orgtwin_model::Role) -> Vec<String> {
    role.trust_policy
        .policy
        .statements
        .iter()
        .flat_map(|s| &s.conditions)
        .filter(|c| c.value.key_lower == "sts:externalid")
        .flat_map(|c| c.value.raw_values.clone())
        .collect()
}
