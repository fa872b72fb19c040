//! `orgtwin generate`: writes a synthetic organization as model files (see
//! `orgtwin_analyze::generate` for its shape).

use std::path::Path;
use std::process::ExitCode;

use orgtwin_analyze::generate::{Spec, generate};

/// Generates `spec` into `out` (created if needed; files of other names
/// in it are left alone) and prints what it wrote.
pub fn run(spec: &Spec, out: &Path) -> ExitCode {
    let generated = match generate(spec) {
        Ok(generated) => generated,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    for (path, text) in &generated.files {
        let target = out.join(path);
        let written = target
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&target, text));
        if let Err(e) = written {
            eprintln!("error: cannot write `{}`: {e}", target.display());
            return ExitCode::from(2);
        }
    }
    let s = &generated.summary;
    println!(
        "{}: {} accounts, {} OUs, {} roles, {} users, {} clusters, {} service accounts \
         ({} Pod Identity associations, {} IRSA), {} cross-account trusts, {} buckets; \
         {} files",
        out.join("org.yaml").display(),
        s.accounts,
        s.organizational_units,
        s.roles,
        s.users,
        s.clusters,
        s.service_accounts,
        s.associations,
        s.irsa_service_accounts,
        s.cross_account_trusts,
        s.buckets,
        generated.files.len()
    );
    ExitCode::SUCCESS
}
