//! What an import could not map, each item at the export it came from:
//! printed at the end of `orgtwin import` and written to
//! `IMPORT-REPORT.md` beside the model. Nothing an export holds is left
//! out of the model without an item here.

use std::fmt;

use super::error::Origin;

/// Why an item is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// AWS has it; the model does not (instance profiles, tag policies,
    /// AWS managed policies outside the built-in set).
    NotModelled,
    /// It belongs to an account, cluster or target outside the
    /// organization listing.
    OutsideOrganization,
    /// A value the model refuses (tags starting with `aws:`, a malformed
    /// role ARN, a role that does not exist).
    Refused,
    /// The exports lack something the model needs (a missing listing, the
    /// IAM of an account that a reference points into).
    Incomplete,
    /// Kept, but changed or assumed (renamed, derived, defaulted).
    Assumed,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::NotModelled,
        Kind::OutsideOrganization,
        Kind::Refused,
        Kind::Incomplete,
        Kind::Assumed,
    ];

    fn heading(self) -> &'static str {
        match self {
            Kind::NotModelled => "Not in the model: AWS has it, orgtwin's model does not",
            Kind::OutsideOrganization => "Outside the organization listing",
            Kind::Refused => "Refused by the model's checks",
            Kind::Incomplete => "Missing from the exports",
            Kind::Assumed => "Kept, but changed or assumed",
        }
    }
}

/// One item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmapped {
    pub kind: Kind,
    /// Where it came from; the file alone for what concerns a whole export.
    pub at: Origin,
    /// What the item is and what the import did with it.
    pub message: String,
}

impl fmt::Display for Unmapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at.file.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.at, self.message)
        }
    }
}

/// The items of one import, in the order they were met.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub items: Vec<Unmapped>,
}

impl Report {
    pub fn push(&mut self, kind: Kind, at: Origin, message: impl Into<String>) {
        self.items.push(Unmapped {
            kind,
            at,
            message: message.into(),
        });
    }

    /// `IMPORT-REPORT.md`: the items grouped by kind.
    pub fn markdown(&self) -> String {
        let mut out = String::from("# What `orgtwin import` could not map\n\n");
        if self.items.is_empty() {
            out.push_str("Everything in the exports was mapped into the model.\n");
            return out;
        }
        out.push_str(&format!(
            "{} item(s), each with the export, line and JSON path it came from. \
             docs/import.md says what maps to what.\n",
            self.items.len()
        ));
        for kind in Kind::ALL {
            let items: Vec<&Unmapped> = self.items.iter().filter(|i| i.kind == kind).collect();
            if items.is_empty() {
                continue;
            }
            out.push_str(&format!("\n## {} ({})\n\n", kind.heading(), items.len()));
            for item in items {
                out.push_str(&format!("- {item}\n"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_markdown_groups_items_by_kind() {
        let mut report = Report::default();
        assert!(
            report
                .markdown()
                .contains("Everything in the exports was mapped")
        );
        report.push(Kind::Assumed, Origin::default(), "no SCP listing");
        report.push(
            Kind::NotModelled,
            Origin {
                file: "iam.json".into(),
                line: 3,
                column: 5,
                json_path: "RoleDetailList[0].InstanceProfileList".into(),
            },
            "role `web`: instance profile `web`",
        );
        let text = report.markdown();
        let not_modelled = text.find("## Not in the model").unwrap();
        let assumed = text.find("## Kept, but changed").unwrap();
        assert!(not_modelled < assumed, "{text}");
        assert!(
            text.contains("- iam.json:3:5, at `RoleDetailList[0].InstanceProfileList`: role `web`")
        );
        assert!(text.contains("- no SCP listing\n"));
    }
}
