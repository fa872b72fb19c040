//! Amazon EC2's `DescribeVpcs` and `DescribeSubnets`, over EC2's Query
//! dialect: a form body `Action=DescribeSubnets&Version=2016-11-15&...`,
//! lists as `SubnetId.1` and `Filter.1.Name` / `Filter.1.Value.1`, answered
//! in XML in the `http://ec2.amazonaws.com/doc/2016-11-15/` namespace with
//! `<item>` list members and a lower-case `requestId`; errors are EC2's
//! `<Response><Errors><Error>` (see [`crate::reply::ec2_error`]).
//!
//! # Visibility
//!
//! As in AWS, an account sees, in the region of the request's credential
//! scope:
//! - its own VPCs and subnets;
//! - the subnets shared with it through RAM (a share of the owner whose
//!   principals include the account, its OU or the organization), with the
//!   owner's account id as `ownerId`;
//! - the VPCs of those shared subnets (again with the owner's id).
//!
//! Nothing else: an id the caller cannot see is answered exactly as an id
//! that does not exist (`InvalidSubnetID.NotFound`,
//! `InvalidVpcID.NotFound`).
//!
//! # Authorization
//!
//! `ec2:DescribeVpcs` and `ec2:DescribeSubnets` on `*`, as AWS authorizes
//! them (they support no resource-level permissions). A denial is EC2's
//! `UnauthorizedOperation` (403) with IAM's message and an encoded
//! authorization message. `DryRun=true` answers `DryRunOperation` (412)
//! when allowed.
//!
//! # Filters
//!
//! Subnets: `vpc-id`, `subnet-id`, `subnet-arn`, `owner-id`,
//! `availability-zone` (`availabilityZone`), `cidr-block` (`cidrBlock`,
//! `cidr`), `state`, `default-for-az` (`defaultForAz`),
//! `available-ip-address-count`, `map-public-ip-on-launch`, `tag:KEY`,
//! `tag-key`. VPCs: `vpc-id`, `owner-id`, `cidr` (`cidr-block`, `cidrBlock`,
//! `cidr-block-association.cidr-block`), `state`, `is-default`
//! (`isDefault`), `dhcp-options-id`, `tag:KEY`, `tag-key`. Values may use
//! `*` and `?` wildcards; a filter matches when any value matches, and all
//! filters must match. An unknown filter name is `InvalidParameterValue`.
//!
//! # Fields
//!
//! Subnets are `available`, not default for their zone, with no public IPs
//! on launch and no IPv6; `availableIpAddressCount` is the block's size less
//! the five addresses AWS reserves. VPCs are `available`, not default, with
//! `default` tenancy; their CIDR association and DHCP options ids are
//! derived from the VPC id, so they are stable.

use orgtwin_model::{Model, Subnet, Tag, Vpc};

use super::Call;
use crate::query::{Params, Xml, escape};
use crate::reply::{EC2_NAMESPACE, Reply, ServiceError};

/// Answers one EC2 action.
pub fn handle(
    call: &Call<'_>,
    region: &str,
    action: &str,
    params: &Params,
) -> Result<Reply, ServiceError> {
    match action {
        "DescribeSubnets" => describe_subnets(call, region, params),
        "DescribeVpcs" => describe_vpcs(call, region, params),
        other => Err(ServiceError::new(
            400,
            "InvalidAction",
            format!("The action {other} is not valid for this web service."),
        )),
    }
}

/// Authorizes `ec2:ACTION` on `*`; a denial becomes `UnauthorizedOperation`.
/// With `DryRun=true`, an allowed request ends here with `DryRunOperation`.
fn authorize(call: &Call<'_>, action: &str, params: &Params) -> Result<(), ServiceError> {
    let dry_run = params
        .boolean("DryRun")
        .map_err(|e| ServiceError::new(400, "InvalidParameterValue", e.0))?
        .unwrap_or(false);
    call.authorize(&format!("ec2:{action}"), "*")
        .map_err(|mut e| {
            if e.code == "AccessDenied" {
                e.code = "UnauthorizedOperation".into();
                e.message = format!(
                    "You are not authorized to perform this operation. {}",
                    e.message
                );
            }
            e
        })?;
    if dry_run {
        return Err(ServiceError::new(
            412,
            "DryRunOperation",
            "Request would have succeeded, but DryRun flag is set.",
        ));
    }
    Ok(())
}

/// `Prefix.1`, `Prefix.2`, ... until the first gap.
fn numbered(params: &Params, prefix: &str) -> Vec<String> {
    (1..)
        .map_while(|i| params.get(&format!("{prefix}.{i}")).map(str::to_string))
        .collect()
}

/// One `Filter.N`: its name and values.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Filter {
    name: String,
    values: Vec<String>,
}

fn filters(params: &Params) -> Result<Vec<Filter>, ServiceError> {
    let mut out = Vec::new();
    for i in 1.. {
        let Some(name) = params.get(&format!("Filter.{i}.Name")) else {
            break;
        };
        let values = numbered(params, &format!("Filter.{i}.Value"));
        if values.is_empty() {
            return Err(ServiceError::new(
                400,
                "InvalidParameterValue",
                format!("The filter '{name}' requires at least one value."),
            ));
        }
        out.push(Filter {
            name: name.to_string(),
            values,
        });
    }
    Ok(out)
}

/// EC2's filter wildcards: `*` any run of characters, `?` one character.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == '?' || Some(c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

/// What a filter name reads from a subnet or VPC: the values it is matched
/// against, or `None` for a name the resource type does not know.
type Field = Option<Vec<String>>;

fn tag_field(name: &str, tags: &[Tag]) -> Field {
    if let Some(key) = name.strip_prefix("tag:") {
        return Some(
            tags.iter()
                .filter(|t| t.key == key)
                .map(|t| t.value.clone())
                .collect(),
        );
    }
    if name == "tag-key" {
        return Some(tags.iter().map(|t| t.key.clone()).collect());
    }
    None
}

fn matches(filters: &[Filter], field: impl Fn(&str) -> Field) -> Result<bool, ServiceError> {
    for filter in filters {
        let Some(values) = field(&filter.name) else {
            return Err(ServiceError::new(
                400,
                "InvalidParameterValue",
                format!("The filter '{}' is invalid", filter.name),
            ));
        };
        let any = filter
            .values
            .iter()
            .any(|pattern| values.iter().any(|v| wildcard_match(pattern, v)));
        if !any {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A subnet as the caller sees it.
struct SeenSubnet<'m> {
    owner: &'m str,
    vpc: &'m Vpc,
    subnet: &'m Subnet,
}

impl SeenSubnet<'_> {
    fn arn(&self) -> String {
        orgtwin_model::subnet_arn(&self.vpc.region, self.owner, &self.subnet.id)
    }

    fn field(&self, name: &str) -> Field {
        let one = |v: String| Some(vec![v]);
        match name {
            "vpc-id" | "vpcId" => one(self.vpc.id.clone()),
            "subnet-id" | "subnetId" => one(self.subnet.id.clone()),
            "subnet-arn" => one(self.arn()),
            "owner-id" | "ownerId" => one(self.owner.to_string()),
            "availability-zone" | "availabilityZone" => one(self.subnet.availability_zone.clone()),
            "cidr-block" | "cidrBlock" | "cidr" => one(self.subnet.cidr_block.clone()),
            "state" => one("available".into()),
            "default-for-az" | "defaultForAz" | "map-public-ip-on-launch" => one("false".into()),
            "available-ip-address-count" => {
                one(available_addresses(&self.subnet.cidr_block).to_string())
            }
            other => tag_field(other, &self.subnet.tags),
        }
    }
}

fn vpc_field(owner: &str, vpc: &Vpc, name: &str) -> Field {
    let one = |v: String| Some(vec![v]);
    match name {
        "vpc-id" | "vpcId" => one(vpc.id.clone()),
        "owner-id" | "ownerId" => one(owner.to_string()),
        "cidr" | "cidr-block" | "cidrBlock" | "cidr-block-association.cidr-block" => {
            one(vpc.cidr_block.clone())
        }
        "cidr-block-association.association-id" => one(cidr_association_id(vpc)),
        "cidr-block-association.state" => one("associated".into()),
        "state" => one("available".into()),
        "is-default" | "isDefault" => one("false".into()),
        "dhcp-options-id" => one(dhcp_options_id(vpc)),
        other => tag_field(other, &vpc.tags),
    }
}

/// The subnets the caller's account sees in `region`.
fn visible_subnets<'m>(model: &'m Model, account: &str, region: &str) -> Vec<SeenSubnet<'m>> {
    model
        .visible_subnets(account)
        .into_iter()
        .filter(|(_, vpc, _)| vpc.region == region)
        .map(|(owner, vpc, subnet)| SeenSubnet { owner, vpc, subnet })
        .collect()
}

/// The VPCs the caller's account sees in `region`: its own, then those of
/// subnets shared with it, each once.
fn visible_vpcs<'m>(model: &'m Model, account: &str, region: &str) -> Vec<(&'m str, &'m Vpc)> {
    let mut out: Vec<(&str, &Vpc)> = Vec::new();
    if let Some(own) = model.account(account) {
        out.extend(
            own.vpcs
                .iter()
                .filter(|v| v.region == region)
                .map(|v| (own.id.as_str(), v)),
        );
    }
    for seen in visible_subnets(model, account, region) {
        if !out.iter().any(|(_, v)| v.id == seen.vpc.id) {
            out.push((seen.owner, seen.vpc));
        }
    }
    out
}

/// The addresses of a block less the five AWS reserves in every subnet.
fn available_addresses(cidr: &str) -> u64 {
    let prefix = cidr
        .split_once('/')
        .and_then(|(_, p)| p.parse::<u32>().ok())
        .filter(|p| *p <= 32)
        .unwrap_or(32);
    (1u64 << (32 - prefix)).saturating_sub(5)
}

fn derived_hex(seed: &str) -> String {
    crate::sigv4::sha256_hex(seed.as_bytes())
        .chars()
        .take(17)
        .collect()
}

fn cidr_association_id(vpc: &Vpc) -> String {
    format!(
        "vpc-cidr-assoc-{}",
        derived_hex(&format!("cidr {}", vpc.id))
    )
}

fn dhcp_options_id(vpc: &Vpc) -> String {
    format!("dopt-{}", derived_hex(&format!("dhcp {}", vpc.id)))
}

/// `PREFIX-` and 8 or 17 lower-case hexadecimal digits.
fn well_formed_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|hex| {
            matches!(hex.len(), 8 | 17)
                && hex
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        })
}

/// Checks explicitly asked ids: malformed ones are `.Malformed`, unseen ones
/// `.NotFound` (all of them named, as EC2 does).
fn check_ids(
    asked: &[String],
    prefix: &str,
    code: &str,
    noun: &str,
    seen: impl Fn(&str) -> bool,
) -> Result<(), ServiceError> {
    if let Some(bad) = asked.iter().find(|id| !well_formed_id(id, prefix)) {
        return Err(ServiceError::new(
            400,
            format!("{code}.Malformed"),
            format!("Invalid id: \"{bad}\""),
        ));
    }
    let missing: Vec<&str> = asked
        .iter()
        .filter(|id| !seen(id))
        .map(String::as_str)
        .collect();
    match missing.as_slice() {
        [] => Ok(()),
        [one] => Err(ServiceError::new(
            400,
            format!("{code}.NotFound"),
            format!("The {noun} ID '{one}' does not exist"),
        )),
        many => Err(ServiceError::new(
            400,
            format!("{code}.NotFound"),
            format!("The {noun} IDs '{}' do not exist", many.join(", ")),
        )),
    }
}

/// `MaxResults` (5 to 1000) and `NextToken` (an offset this module wrote).
fn page<T>(
    items: Vec<T>,
    params: &Params,
    kind: &str,
) -> Result<(Vec<T>, Option<String>), ServiceError> {
    let max = params
        .integer("MaxResults")
        .map_err(|e| ServiceError::new(400, "InvalidParameterValue", e.0))?;
    let start = super::page_start(params.get("NextToken"), kind, items.len()).ok_or_else(|| {
        ServiceError::new(400, "InvalidNextToken", "The token provided is invalid.")
    })?;
    let Some(max) = max else {
        return Ok((items.into_iter().skip(start).collect(), None));
    };
    if !(5..=1000).contains(&max) {
        return Err(ServiceError::new(
            400,
            "InvalidParameterValue",
            format!(
                "Value ( {max} ) for parameter maxResults is invalid. Parameter must be between 5 and 1000."
            ),
        ));
    }
    let max = usize::try_from(max).unwrap_or(1000);
    let total = items.len();
    let taken: Vec<T> = items.into_iter().skip(start).take(max).collect();
    let next = (start + taken.len() < total).then(|| format!("{kind}:{}", start + taken.len()));
    Ok((taken, next))
}

fn tag_set(xml: &mut Xml, tags: &[Tag]) {
    if tags.is_empty() {
        return;
    }
    xml.open("tagSet");
    for tag in tags {
        xml.open("item")
            .leaf("key", &tag.key)
            .leaf("value", &tag.value)
            .close("item");
    }
    xml.close("tagSet");
}

fn response(action: &str, request_id: &str, body: &str) -> Reply {
    let mut reply = Reply::xml(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response xmlns=\"{EC2_NAMESPACE}\"><requestId>{}</requestId>{body}</{action}Response>",
        escape(request_id)
    ));
    reply.content_type = "text/xml;charset=UTF-8";
    reply
}

fn describe_subnets(call: &Call<'_>, region: &str, params: &Params) -> Result<Reply, ServiceError> {
    authorize(call, "DescribeSubnets", params)?;
    let model = call.twin.model();
    let asked = numbered(params, "SubnetId");
    let filters = filters(params)?;
    let seen = visible_subnets(&model, call.caller.account(), region);
    check_ids(&asked, "subnet", "InvalidSubnetID", "subnet", |id| {
        seen.iter().any(|s| s.subnet.id == id)
    })?;
    let mut chosen = Vec::new();
    for subnet in seen {
        if (asked.is_empty() || asked.contains(&subnet.subnet.id))
            && matches(&filters, |name| subnet.field(name))?
        {
            chosen.push(subnet);
        }
    }
    let (chosen, next) = page(chosen, params, "subnets")?;
    let mut xml = Xml::default();
    xml.open("subnetSet");
    for s in &chosen {
        xml.open("item")
            .leaf("availabilityZone", &s.subnet.availability_zone)
            .leaf(
                "availableIpAddressCount",
                &available_addresses(&s.subnet.cidr_block).to_string(),
            )
            .leaf("cidrBlock", &s.subnet.cidr_block)
            .leaf("defaultForAz", "false")
            .leaf("mapPublicIpOnLaunch", "false")
            .leaf("mapCustomerOwnedIpOnLaunch", "false")
            .leaf("state", "available")
            .leaf("subnetId", &s.subnet.id)
            .leaf("vpcId", &s.vpc.id)
            .leaf("ownerId", s.owner)
            .leaf("assignIpv6AddressOnCreation", "false")
            .open("ipv6CidrBlockAssociationSet")
            .close("ipv6CidrBlockAssociationSet");
        tag_set(&mut xml, &s.subnet.tags);
        xml.leaf("subnetArn", &s.arn())
            .leaf("enableDns64", "false")
            .leaf("ipv6Native", "false")
            .open("privateDnsNameOptionsOnLaunch")
            .leaf("hostnameType", "ip-name")
            .leaf("enableResourceNameDnsARecord", "false")
            .leaf("enableResourceNameDnsAAAARecord", "false")
            .close("privateDnsNameOptionsOnLaunch")
            .close("item");
    }
    xml.close("subnetSet");
    xml.leaf_opt("nextToken", next.as_deref());
    Ok(response("DescribeSubnets", call.request_id, &xml.finish()))
}

fn describe_vpcs(call: &Call<'_>, region: &str, params: &Params) -> Result<Reply, ServiceError> {
    authorize(call, "DescribeVpcs", params)?;
    let model = call.twin.model();
    let asked = numbered(params, "VpcId");
    let filters = filters(params)?;
    let seen = visible_vpcs(&model, call.caller.account(), region);
    check_ids(&asked, "vpc", "InvalidVpcID", "vpc", |id| {
        seen.iter().any(|(_, v)| v.id == id)
    })?;
    let mut chosen = Vec::new();
    for (owner, vpc) in seen {
        if (asked.is_empty() || asked.contains(&vpc.id))
            && matches(&filters, |name| vpc_field(owner, vpc, name))?
        {
            chosen.push((owner, vpc));
        }
    }
    let (chosen, next) = page(chosen, params, "vpcs")?;
    let mut xml = Xml::default();
    xml.open("vpcSet");
    for (owner, vpc) in &chosen {
        xml.open("item")
            .leaf("vpcId", &vpc.id)
            .leaf("ownerId", owner)
            .leaf("state", "available")
            .leaf("cidrBlock", &vpc.cidr_block)
            .open("cidrBlockAssociationSet")
            .open("item")
            .leaf("cidrBlock", &vpc.cidr_block)
            .leaf("associationId", &cidr_association_id(vpc))
            .open("cidrBlockState")
            .leaf("state", "associated")
            .close("cidrBlockState")
            .close("item")
            .close("cidrBlockAssociationSet")
            .leaf("dhcpOptionsId", &dhcp_options_id(vpc))
            .leaf("instanceTenancy", "default")
            .leaf("isDefault", "false");
        tag_set(&mut xml, &vpc.tags);
        xml.close("item");
    }
    xml.close("vpcSet");
    xml.leaf_opt("nextToken", next.as_deref());
    Ok(response("DescribeVpcs", call.request_id, &xml.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("subnet-*", "subnet-0a1b"));
        assert!(wildcard_match("us-east-1?", "us-east-1a"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
        assert!(!wildcard_match("a*b*c", "aXXbYY"));
        assert!(!wildcard_match("us-east-1?", "us-east-1"));
        assert!(!wildcard_match("10.0.1.0/24", "10.0.1.0/25"));
    }

    #[test]
    fn reserved_addresses() {
        assert_eq!(available_addresses("10.0.1.0/24"), 251);
        assert_eq!(available_addresses("10.0.0.0/28"), 11);
        assert_eq!(available_addresses("10.0.0.0/16"), 65531);
    }

    #[test]
    fn the_example_shares_cluster_subnets_with_payroll() {
        let model = orgtwin_model::embedded();
        let payroll = visible_subnets(&model, "444455556666", "us-east-1");
        let shared: Vec<&SeenSubnet<'_>> = payroll
            .iter()
            .filter(|s| s.owner == "111122223333")
            .collect();
        assert_eq!(shared.len(), 3);
        assert!(
            visible_vpcs(&model, "444455556666", "us-east-1")
                .iter()
                .any(|(owner, _)| *owner == "111122223333")
        );
        assert!(visible_subnets(&model, "999988887777", "us-east-1").is_empty());
        assert!(
            visible_subnets(&model, "444455556666", "eu-west-1")
                .iter()
                .all(|s| s.vpc.region == "eu-west-1")
        );
    }
}
