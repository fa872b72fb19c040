//! The formats AWS gives names, ids, paths, keys and tags, and the ids
//! orgtwin derives when a file leaves them out.
//!
//! Each check returns the rule broken, worded for a `help`, or `None`.
//! Limits are IAM's and Organizations' documented quotas.

use orgtwin_policy::principal::stable_id;

/// Characters IAM allows in user, group, role and policy names.
fn iam_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)
}

/// A user or role name (64 characters), a group, managed or inline policy
/// name (128).
pub fn iam_name(name: &str, max: usize) -> Option<String> {
    let ok = !name.is_empty() && name.chars().count() <= max && name.chars().all(iam_name_char);
    (!ok).then(|| format!("IAM names are 1 to {max} characters of `A-Z a-z 0-9 + = , . @ _ -`"))
}

/// `/`, or `/` + printable ASCII + `/`, up to 512 characters.
pub fn iam_path(path: &str) -> Option<String> {
    let ok = path.len() <= 512
        && path.starts_with('/')
        && path.ends_with('/')
        && path.bytes().all(|b| (0x21..=0x7e).contains(&b))
        && !path.contains("//");
    (!ok).then(|| {
        "an IAM path is `/` or starts and ends with `/`, like `/platform/eks/`, in printable ASCII without spaces".to_string()
    })
}

pub fn account_id(id: &str) -> Option<String> {
    let ok = id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit());
    (!ok).then(|| {
        "an account id is 12 digits; quote it (`\"012345678901\"`) to keep leading zeros"
            .to_string()
    })
}

pub fn account_name(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name.chars().count() <= 50
        && name.chars().all(|c| (' '..='~').contains(&c));
    (!ok).then(|| "an account name is 1 to 50 printable ASCII characters".to_string())
}

pub fn email(email: &str) -> Option<String> {
    let ok = (6..=64).contains(&email.len())
        && email.split('@').count() == 2
        && email
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
        && !email.chars().any(char::is_whitespace);
    (!ok).then(|| {
        "an account email is 6 to 64 characters like `aws+payroll@example.com`".to_string()
    })
}

/// A display name: OU names (128), SCP and RCP names (128).
pub fn display_name(name: &str, max: usize) -> Option<String> {
    let ok = !name.trim().is_empty() && name.chars().count() <= max && !name.contains('\n');
    (!ok).then(|| format!("a name is 1 to {max} characters on one line"))
}

pub fn description(text: &str, max: usize) -> Option<String> {
    (text.chars().count() > max).then(|| format!("a description has at most {max} characters"))
}

fn lower_alnum(text: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

pub fn organization_id(id: &str) -> Option<String> {
    let ok = id
        .strip_prefix("o-")
        .is_some_and(|s| lower_alnum(s, 10, 32));
    (!ok).then(|| "an organization id is `o-` and 10 to 32 lowercase letters or digits".to_string())
}

pub fn root_id(id: &str) -> Option<String> {
    let ok = id.strip_prefix("r-").is_some_and(|s| lower_alnum(s, 4, 32));
    (!ok).then(|| "a root id is `r-` and 4 to 32 lowercase letters or digits".to_string())
}

/// An OU id, `ou-` + the root id's suffix + `-` + 8 to 32 characters.
pub fn ou_id(id: &str, root_id: &str) -> Option<String> {
    let root = root_id.strip_prefix("r-").unwrap_or(root_id);
    let ok = id
        .strip_prefix("ou-")
        .and_then(|rest| rest.split_once('-'))
        .is_some_and(|(r, s)| r == root && lower_alnum(s, 8, 32));
    (!ok).then(|| format!("an OU id is `ou-{root}-` and 8 to 32 lowercase letters or digits"))
}

pub fn policy_id(id: &str) -> Option<String> {
    let ok = id.strip_prefix("p-").is_some_and(|s| {
        (8..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    });
    (!ok).then(|| "a policy id is `p-` and 8 to 128 letters, digits or `_`".to_string())
}

/// An IAM unique id: the entity's four-letter prefix and 17 characters.
pub fn unique_id(id: &str, prefix: &str) -> Option<String> {
    let ok = id.strip_prefix(prefix).is_some_and(|s| {
        s.len() == 17
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    });
    (!ok).then(|| format!("this unique id is `{prefix}` and 17 characters of `A-Z 0-9`"))
}

pub fn access_key_id(id: &str) -> Option<String> {
    let ok = id.strip_prefix("AKIA").is_some_and(|s| {
        s.len() == 16
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    });
    (!ok).then(|| "a long-term access key id is `AKIA` and 16 characters of `A-Z 2-7`".to_string())
}

pub fn secret_access_key(secret: &str) -> bool {
    secret.len() == 40
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+')
}

/// The host and path of an OIDC issuer URL (`https://` removed).
pub fn oidc_url(url: &str) -> Result<&str, String> {
    let rule = "an OIDC provider URL is `https://` and a host with an optional path, without a query, fragment or trailing `/`, up to 255 characters";
    let rest = url.strip_prefix("https://").ok_or(rule)?;
    let host = rest.split('/').next().unwrap_or_default();
    let ok = url.len() <= 255
        && !host.is_empty()
        && !rest.ends_with('/')
        && !rest.contains(['?', '#', ' '])
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b':');
    if ok { Ok(rest) } else { Err(rule.to_string()) }
}

pub fn thumbprint(text: &str) -> Option<String> {
    let ok = text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit());
    (!ok).then(|| "a thumbprint is the 40 hex digits of a certificate's SHA-1 hash".to_string())
}

pub fn client_id(text: &str) -> Option<String> {
    let ok = !text.is_empty() && text.len() <= 255;
    (!ok).then(|| "a client id (audience) is 1 to 255 characters".to_string())
}

fn tag_char(c: char) -> bool {
    c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(c)
}

pub fn tag_key(key: &str) -> Option<String> {
    let ok = !key.is_empty() && key.chars().count() <= 128 && key.chars().all(tag_char);
    if !ok {
        return Some(
            "a tag key is 1 to 128 letters, digits, spaces or `_ . : / = + - @`".to_string(),
        );
    }
    key.to_ascii_lowercase()
        .starts_with("aws:")
        .then(|| "tag keys starting with `aws:` are reserved for AWS".to_string())
}

pub fn tag_value(value: &str) -> Option<String> {
    let ok = value.chars().count() <= 256 && value.chars().all(tag_char);
    (!ok)
        .then(|| "a tag value is 0 to 256 letters, digits, spaces or `_ . : / = + - @`".to_string())
}

/// The ARN of an IAM entity: `arn:aws:iam::ACCOUNT:KIND` + path + name.
pub fn iam_arn(account: &str, kind: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:{kind}{path}{name}")
}

/// `count` lowercase characters derived from `seed`.
fn derived(seed: &str, count: usize) -> String {
    stable_id("", seed)
        .to_ascii_lowercase()
        .chars()
        .take(count)
        .collect()
}

pub fn derive_organization_id(management_account: &str) -> String {
    format!(
        "o-{}",
        derived(&format!("organization {management_account}"), 10)
    )
}

pub fn derive_root_id(organization_id: &str) -> String {
    format!("r-{}", derived(&format!("root {organization_id}"), 4))
}

pub fn derive_ou_id(root_id: &str, name: &str) -> String {
    let root = root_id.strip_prefix("r-").unwrap_or(root_id);
    format!("ou-{root}-{}", derived(&format!("ou {root_id} {name}"), 8))
}

/// `p-FullAWSAccess` for AWS's own SCP, a derived id otherwise.
pub fn derive_policy_id(kind: &str, name: &str) -> String {
    match name {
        "FullAWSAccess" if kind == "scp" => "p-FullAWSAccess".to_string(),
        _ => format!("p-{}", derived(&format!("{kind} {name}"), 8)),
    }
}

/// An AWS region name in the `aws` partition's form: `us-east-1`.
pub fn region(text: &str) -> Option<String> {
    let parts: Vec<&str> = text.split('-').collect();
    let ok = parts.len() >= 3
        && parts
            .first()
            .is_some_and(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && parts
            .get(1..parts.len() - 1)
            .unwrap_or_default()
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()));
    (!ok)
        .then(|| "a region is like `us-east-1`: two letters, words, a number, joined by `-`".into())
}

/// S3's rules for general purpose bucket names.
pub fn bucket_name(name: &str) -> Option<String> {
    let bytes = name.as_bytes();
    let edge = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !(3..=63).contains(&name.len())
        || !bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-')
        || !edge(bytes.first())
        || !edge(bytes.last())
    {
        return Some(
            "a bucket name is 3 to 63 lowercase letters, digits, `.` or `-`, starting and ending with a letter or digit".into(),
        );
    }
    if name.contains("..") {
        return Some("a bucket name has no two adjacent periods".into());
    }
    if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Some("a bucket name is not formatted as an IP address".into());
    }
    let reserved_prefix = ["xn--", "sthree-", "amzn-s3-demo-"]
        .iter()
        .find(|p| name.starts_with(*p));
    let reserved_suffix = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"]
        .iter()
        .find(|p| name.ends_with(*p));
    if let Some(p) = reserved_prefix.or(reserved_suffix) {
        return Some(format!("`{p}` is reserved by S3 in bucket names"));
    }
    None
}

/// An S3 object key: 1 to 1024 bytes of UTF-8.
pub fn object_key(key: &str) -> Option<String> {
    (key.is_empty() || key.len() > 1024).then(|| "an object key is 1 to 1024 bytes".into())
}

/// A MIME type: `type/subtype`, printable ASCII.
pub fn content_type(text: &str) -> Option<String> {
    let ok =
        text.contains('/') && text.len() <= 256 && text.bytes().all(|b| (0x20..0x7f).contains(&b));
    (!ok).then(|| "a content type is a MIME type such as `text/csv`".into())
}

/// An EC2 resource id: `PREFIX-` and 8 or 17 lowercase hexadecimal digits.
pub fn resource_id(id: &str, prefix: &str) -> Option<String> {
    let ok = id
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|hex| {
            (hex.len() == 8 || hex.len() == 17)
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
    (!ok).then(|| format!("an id is `{prefix}-` and 8 or 17 lowercase hexadecimal digits"))
}

/// An IPv4 CIDR block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub network: u32,
    pub prefix: u8,
}

impl Cidr {
    fn mask(self) -> u32 {
        u32::MAX
            .checked_shl(32 - u32::from(self.prefix))
            .unwrap_or(0)
    }

    pub fn contains(&self, other: &Cidr) -> bool {
        other.prefix >= self.prefix && other.network & self.mask() == self.network
    }

    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains(other) || other.contains(self)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b, c, d] = self.network.to_be_bytes();
        write!(f, "{a}.{b}.{c}.{d}/{}", self.prefix)
    }
}

/// An IPv4 block `a.b.c.d/n` with `min <= n <= max` and no host bits set.
pub fn cidr_block(text: &str, min: u8, max: u8) -> Result<Cidr, String> {
    let form = || {
        format!(
            "a CIDR block is an IPv4 address and a prefix length from /{min} to /{max}, like `10.0.0.0/16`"
        )
    };
    let (address, prefix) = text.split_once('/').ok_or_else(form)?;
    let address: std::net::Ipv4Addr = address.parse().map_err(|_| form())?;
    let prefix: u8 = prefix.parse().map_err(|_| form())?;
    if !(min..=max).contains(&prefix) {
        return Err(form());
    }
    let block = Cidr {
        network: u32::from(address),
        prefix,
    };
    if block.network & !block.mask() != 0 {
        let fixed = Cidr {
            network: block.network & block.mask(),
            prefix,
        };
        return Err(format!(
            "the address has bits set past the prefix; the block is `{fixed}`"
        ));
    }
    Ok(block)
}

/// A UUID-shaped id (8-4-4-4-12 lowercase hexadecimal) derived from `seed`.
pub fn derive_uuid(seed: &str) -> String {
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for byte in seed.bytes() {
        hash ^= u128::from(byte);
        hash = hash.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013B);
    }
    let hex = format!("{hash:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        hex.get(0..8).unwrap_or_default(),
        hex.get(8..12).unwrap_or_default(),
        hex.get(12..16).unwrap_or_default(),
        hex.get(16..20).unwrap_or_default(),
        hex.get(20..32).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert!(account_id("111122223333").is_none());
        assert!(account_id("11112222333").is_some());
        assert!(iam_name("account-a-role", 64).is_none());
        assert!(iam_name("a role", 64).is_some());
        assert!(iam_path("/").is_none());
        assert!(iam_path("/platform/eks/").is_none());
        assert!(iam_path("platform/").is_some());
        assert!(iam_path("/a//b/").is_some());
        assert!(access_key_id("AKIAIOSFODNN7EXAMPLE").is_none());
        assert!(access_key_id("AKIAIOSFODNN7EXAMPL1").is_some());
        assert!(secret_access_key(
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        ));
        assert_eq!(
            oidc_url("https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"),
            Ok("oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE")
        );
        assert!(oidc_url("http://x").is_err());
        assert!(tag_key("aws:cloudformation").is_some());
        assert!(tag_key("team").is_none());
        assert!(tag_value("").is_none());
        assert!(unique_id("AROAEXAMPLEEXAMPLE123", "AROA").is_none());
    }

    #[test]
    fn derived_ids_are_well_formed() {
        let org = derive_organization_id("999988887777");
        assert!(organization_id(&org).is_none(), "{org}");
        let root = derive_root_id(&org);
        assert!(root_id(&root).is_none(), "{root}");
        let ou = derive_ou_id(&root, "Workloads");
        assert!(ou_id(&ou, &root).is_none(), "{ou}");
        assert_eq!(ou, derive_ou_id(&root, "Workloads"));
        assert!(policy_id(&derive_policy_id("rcp", "X")).is_none());
        assert_eq!(derive_policy_id("scp", "FullAWSAccess"), "p-FullAWSAccess");
        assert_eq!(derive_uuid("x").len(), 36);
    }

    #[test]
    fn resource_rules() {
        assert!(region("us-east-1").is_none());
        assert!(region("ap-southeast-2").is_none());
        assert!(region("us-gov-west-1").is_none());
        assert!(region("useast1").is_some());
        assert!(bucket_name("payroll-data-444455556666").is_none());
        assert!(bucket_name("Payroll").is_some());
        assert!(bucket_name("192.168.5.4").is_some());
        assert!(bucket_name("a..b").is_some());
        assert!(bucket_name("xn--abc").is_some());
        assert!(resource_id("vpc-0a1b2c3d", "vpc").is_none());
        assert!(resource_id("subnet-0123456789abcdef0", "subnet").is_none());
        assert!(resource_id("subnet-0123", "subnet").is_some());
        let vpc = cidr_block("10.10.0.0/16", 16, 28).unwrap();
        let subnet = cidr_block("10.10.1.0/24", 16, 28).unwrap();
        assert!(vpc.contains(&subnet) && !subnet.contains(&vpc));
        assert!(!cidr_block("10.11.0.0/24", 16, 28).unwrap().overlaps(&vpc));
        assert_eq!(subnet.to_string(), "10.10.1.0/24");
        assert!(
            cidr_block("10.10.1.1/24", 16, 28)
                .unwrap_err()
                .contains("10.10.1.0/24")
        );
        assert!(cidr_block("10.0.0.0/8", 16, 28).is_err());
    }
}
