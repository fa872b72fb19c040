//! `orgtwin who-can`, `paths`, `can` and `diff`: the access analyzer's
//! questions, answered by `orgtwin_analyze` over a model (the embedded
//! example when none is given, a model file, or a model at a git revision).

use std::path::Path;
use std::process::ExitCode;

use orgtwin_analyze::access::{accesses_of, decide};
use orgtwin_analyze::reach::caller_label;
use orgtwin_analyze::render::{self, Format};
use orgtwin_analyze::{Access, Hop, analyze, who_can};
use orgtwin_identity::{Caller, Session};
use orgtwin_model::Model;
use orgtwin_policy::Timestamp;

fn now() -> Timestamp {
    #[allow(
        clippy::disallowed_methods,
        reason = "the analysis asks as of now, as the twin would"
    )]
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    Timestamp::from_unix_seconds(since.map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0)))
}

/// A model: a root file, a twin's state directory (the model as the twin
/// holds it now, changes through its APIs included), `REV:PATH` (the model
/// at a git revision of the repository around the current directory), or
/// the embedded example.
pub fn load(spec: Option<&str>) -> Result<Model, String> {
    let Some(spec) = spec else {
        return Ok(orgtwin_model::embedded());
    };
    if Path::new(spec).join("state.db").is_file() {
        let store = orgtwin_store::Store::open(Path::new(spec)).map_err(|e| e.to_string())?;
        let files = store.model_files().map_err(|e| e.to_string())?;
        return orgtwin_twin::start::load_model_files(&files)
            .map_err(|e| format!("{spec}: the stored model does not load: {}", e.brief()));
    }
    if !Path::new(spec).exists()
        && let Some((rev, path)) = spec.split_once(':')
        && !rev.is_empty()
    {
        return load_from_git(rev, path);
    }
    orgtwin_model::load(spec).map_err(|errors| {
        for error in errors.iter() {
            eprintln!("{:?}", miette::Report::new(error.clone()));
        }
        format!("{spec}: the model has {} problem(s)", errors.len())
    })
}

fn git(args: &[&str]) -> Result<Vec<u8>, String> {
    let output = std::process::Command::new("git")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Reads every file under the model's directory at `rev` and loads the
/// model from them, as it was then.
fn load_from_git(rev: &str, path: &str) -> Result<Model, String> {
    let prefix = String::from_utf8_lossy(&git(&["rev-parse", "--show-prefix"])?)
        .trim()
        .to_string();
    let root = format!("{prefix}{path}");
    let dir = Path::new(&root)
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let listing = git(&[
        "ls-tree",
        "-r",
        "--name-only",
        "--full-tree",
        rev,
        "--",
        if dir.is_empty() { "." } else { &dir },
    ])?;
    let mut files = Vec::new();
    for name in String::from_utf8_lossy(&listing).lines() {
        let text = git(&["show", &format!("{rev}:{name}")])?;
        if let Ok(text) = String::from_utf8(text) {
            files.push((name.to_string(), text));
        }
    }
    let borrowed: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    orgtwin_model::load_from_memory(&root, &borrowed).map_err(|errors| {
        for error in errors.iter() {
            eprintln!("{:?}", miette::Report::new(error.clone()));
        }
        format!("{rev}:{path}: the model has {} problem(s)", errors.len())
    })
}

fn finish(result: Result<ExitCode, String>) -> ExitCode {
    result.unwrap_or_else(|message| {
        eprintln!("error: {message}");
        ExitCode::from(2)
    })
}

fn format_of(text: &str) -> Result<Format, String> {
    Format::parse(text)
}

/// `orgtwin who-can ACTION RESOURCE`.
pub fn who_can_command(
    model: Option<&str>,
    action: &str,
    resource: &str,
    format: &str,
) -> ExitCode {
    finish((|| {
        let format = format_of(format)?;
        let model = load(model)?;
        let analysis = analyze(&model, now());
        let found = who_can(&model, &analysis, action, resource);
        print!(
            "{}",
            render::accesses(format, &format!("who can {action} on {resource}"), &found)
        );
        Ok(ExitCode::SUCCESS)
    })())
}

/// `orgtwin paths --from CLUSTER/NAMESPACE/SERVICEACCOUNT [--to ARN]`.
pub fn paths(model: Option<&str>, from: &str, to: Option<&str>, format: &str) -> ExitCode {
    finish((|| {
        let format = format_of(format)?;
        let model = load(model)?;
        let analysis = analyze(&model, now());
        let index = analysis
            .starts
            .iter()
            .position(|s| s.label() == from)
            .ok_or_else(|| {
                format!("no service account `{from}` (CLUSTER/NAMESPACE/SERVICEACCOUNT) or user ARN in the model")
            })?;
        if let Some(refusal) = analysis.refusals.iter().find(|r| r.start.label() == from) {
            eprintln!(
                "{from}: {} on {} refused: {} {}",
                refusal.action, refusal.target, refusal.code, refusal.message
            );
        }
        let found: Vec<Access> = accesses_of(&model, &analysis, index)
            .into_iter()
            .filter(|a| to.is_none_or(|to| a.path.last().is_some_and(|h| h.target == to)))
            .collect();
        let title = match to {
            Some(to) => format!("{from} to {to}"),
            None => format!("what {from} can reach"),
        };
        print!("{}", render::accesses(format, &title, &found));
        Ok(ExitCode::SUCCESS)
    })())
}

/// The caller `principal` names: a workload (its sessions), a user ARN, or
/// a role ARN (a session of the role with no tags).
fn callers(
    model: &Model,
    principal: &str,
    now: Timestamp,
) -> Result<Vec<(Caller, Vec<Hop>)>, String> {
    if principal.contains("/") && !principal.starts_with("arn:") {
        let analysis = analyze(model, now);
        let index = analysis
            .starts
            .iter()
            .position(|s| s.label() == principal)
            .ok_or_else(|| format!("no service account `{principal}` in the model"))?;
        let reached = analysis.reached.get(index).cloned().unwrap_or_default();
        return Ok(reached
            .into_iter()
            .filter_map(|r| analysis.nodes.get(r.node).cloned().map(|c| (c, r.path)))
            .collect());
    }
    for account in model.accounts.values() {
        if let Some(user) = account.iam.users.iter().find(|u| u.arn == principal) {
            let caller = Caller::user(model, &account.id, &user.name);
            return Ok(vec![(caller, Vec::new())]);
        }
        if let Some(role) = account.iam.roles.iter().find(|r| r.arn == principal) {
            let session = Session::of_role(role, &account.id, "orgtwin-can", now.seconds(), 3_600);
            return Ok(vec![(Caller::Session(Box::new(session)), Vec::new())]);
        }
    }
    Err(format!(
        "`{principal}` is not a user or role ARN of the model, nor CLUSTER/NAMESPACE/SERVICEACCOUNT"
    ))
}

/// `orgtwin can PRINCIPAL ACTION RESOURCE`: exit 0 when allowed, 1 when not.
pub fn can(
    model: Option<&str>,
    principal: &str,
    action: &str,
    resource: &str,
    format: &str,
) -> ExitCode {
    finish((|| {
        let json = match format {
            "json" => true,
            "table" => false,
            other => {
                return Err(format!(
                    "`{other}` is not a format for `can`: use table or json"
                ));
            }
        };
        let model = load(model)?;
        let now = now();
        let callers = callers(&model, principal, now)?;
        if callers.is_empty() {
            println!("{principal} gets no AWS credentials: no association, no IRSA annotation");
            return Ok(ExitCode::from(1));
        }
        let mut answers = Vec::new();
        for (caller, path) in &callers {
            let decision = decide(&model, caller, action, resource, now);
            let allowed = decision.is_allowed();
            answers.push((caller_label(caller), path.clone(), decision));
            if allowed {
                break;
            }
        }
        let allowed = answers.last().is_some_and(|(_, _, d)| d.is_allowed());
        // Allowed: the session that may. Denied: the first session's reasons
        // (the pod's own credentials), every session having been asked.
        let (who, path, decision) = if allowed {
            answers.last()
        } else {
            answers.first()
        }
        .ok_or("no decision")?;
        if json {
            println!(
                "{}",
                serde_json::json!({
                    "principal": principal,
                    "as": who,
                    "path": path,
                    "action": action,
                    "resource": resource,
                    "decision": decision,
                })
            );
        } else {
            println!(
                "{}: {principal} {} {action} on {resource}",
                if allowed { "ALLOWED" } else { "DENIED" },
                if allowed { "may" } else { "may not" }
            );
            for hop in path {
                println!("  via {} {} {}", hop.principal, hop.action, hop.target);
            }
            println!("  as {who}: {:?}", decision.decision);
            let e = &decision.explanation;
            for s in &e.allowed_by {
                println!("  allowed by {}", s.policy_label());
            }
            for s in &e.denied_by {
                println!("  denied by {}", s.policy_label());
            }
            for m in &e.missing_allow {
                println!("  {m}");
            }
            for m in &e.errors {
                println!("  could not evaluate: {m}");
            }
        }
        Ok(if allowed {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })())
}

/// `orgtwin diff OLD NEW`: exit 1 when the change adds access, unless
/// allowed.
pub fn diff(old: &str, new: &str, allow_new: bool, format: &str) -> ExitCode {
    finish((|| {
        let format = format_of(format)?;
        let before = load(Some(old))?;
        let after = load(Some(new))?;
        let change = orgtwin_analyze::diff(&before, &after, now());
        print!("{}", render::change(format, &change));
        if !change.added.is_empty() && !allow_new {
            eprintln!(
                "orgtwin diff: the change adds {} access(es); review them, or pass --allow-new",
                change.added.len()
            );
            return Ok(ExitCode::from(1));
        }
        Ok(ExitCode::SUCCESS)
    })())
}
