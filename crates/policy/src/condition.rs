//! The `Condition` element: operators, typed values, and their evaluation.
//!
//! A condition block is `{operator: {key: values}}`. Operators AND together,
//! keys within an operator AND together, values of one key OR together (for
//! negated operators, NOR: the request value must match none of them).
//!
//! Missing keys: a positive operator is false, a negated one
//! (`StringNotEquals`, `NotIpAddress`, ...) is true, any `...IfExists` is true,
//! `Null` tests exactly that. With a set operator, `ForAllValues:` is true and
//! `ForAnyValue:` false on a missing or empty key.
//!
//! Values are parsed into their operator's type when the policy is read.
//! Anything that cannot be evaluated (an unknown operator, a policy value of
//! the wrong type, a request value the operator cannot read) is an
//! [`EvalError`]: the caller treats the statement so that it never fails open.

use std::net::IpAddr;

use crate::context::{Context, Timestamp};
use crate::pattern::{Pattern, Wildcards};

/// The family and variant of a condition operator, without prefixes or
/// `IfExists`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperatorBase {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

const OPERATORS: [(&str, OperatorBase); 27] = {
    use OperatorBase::*;
    [
        ("StringEquals", StringEquals),
        ("StringNotEquals", StringNotEquals),
        ("StringEqualsIgnoreCase", StringEqualsIgnoreCase),
        ("StringNotEqualsIgnoreCase", StringNotEqualsIgnoreCase),
        ("StringLike", StringLike),
        ("StringNotLike", StringNotLike),
        ("NumericEquals", NumericEquals),
        ("NumericNotEquals", NumericNotEquals),
        ("NumericLessThan", NumericLessThan),
        ("NumericLessThanEquals", NumericLessThanEquals),
        ("NumericGreaterThan", NumericGreaterThan),
        ("NumericGreaterThanEquals", NumericGreaterThanEquals),
        ("DateEquals", DateEquals),
        ("DateNotEquals", DateNotEquals),
        ("DateLessThan", DateLessThan),
        ("DateLessThanEquals", DateLessThanEquals),
        ("DateGreaterThan", DateGreaterThan),
        ("DateGreaterThanEquals", DateGreaterThanEquals),
        ("Bool", Bool),
        ("BinaryEquals", BinaryEquals),
        ("IpAddress", IpAddress),
        ("NotIpAddress", NotIpAddress),
        ("ArnEquals", ArnEquals),
        ("ArnLike", ArnLike),
        ("ArnNotEquals", ArnNotEquals),
        ("ArnNotLike", ArnNotLike),
        ("Null", Null),
    ]
};

impl OperatorBase {
    /// Negated operators invert the match of every value and are true on a
    /// missing key.
    pub fn is_negated(self) -> bool {
        use OperatorBase::*;
        matches!(
            self,
            StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | NumericNotEquals
                | DateNotEquals
                | NotIpAddress
                | ArnNotEquals
                | ArnNotLike
        )
    }

    /// Whether policy variables may appear in the values.
    pub fn takes_variables(self) -> bool {
        use OperatorBase::*;
        matches!(
            self,
            StringEquals
                | StringNotEquals
                | StringEqualsIgnoreCase
                | StringNotEqualsIgnoreCase
                | StringLike
                | StringNotLike
                | ArnEquals
                | ArnLike
                | ArnNotEquals
                | ArnNotLike
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOperator {
    ForAllValues,
    ForAnyValue,
}

/// A parsed operator name such as `ForAnyValue:StringLikeIfExists`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operator {
    pub name: String,
    /// `None` when the name is not an IAM operator.
    pub base: Option<OperatorBase>,
    pub set: Option<SetOperator>,
    pub if_exists: bool,
}

impl Operator {
    /// Operator names are matched exactly, as IAM does; an unknown name is
    /// kept so the policy can still be read and the condition denies.
    pub fn parse(name: &str) -> Self {
        let (set, rest) = if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (Some(SetOperator::ForAllValues), rest)
        } else if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (Some(SetOperator::ForAnyValue), rest)
        } else {
            (None, name)
        };
        let (if_exists, base_name) = match rest.strip_suffix("IfExists") {
            Some(base) => (true, base),
            None => (false, rest),
        };
        let mut base = OPERATORS
            .iter()
            .find(|(n, _)| *n == base_name)
            .map(|(_, op)| *op);
        if base == Some(OperatorBase::Null) && (if_exists || set.is_some()) {
            base = None;
        }
        Operator {
            name: name.to_string(),
            base,
            set,
            if_exists,
        }
    }
}

/// Policy values parsed for their operator.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    Strings(Vec<Pattern>),
    Numbers(Vec<f64>),
    Dates(Vec<Timestamp>),
    Bools(Vec<bool>),
    Binary(Vec<String>),
    Cidrs(Vec<Cidr>),
    Arns(Vec<Pattern>),
    Null(Vec<bool>),
}

impl Values {
    /// Parses raw values for `base`; the error names the first bad value.
    pub fn parse(base: OperatorBase, raw: &[String], variables: bool) -> Result<Self, String> {
        use OperatorBase::*;
        match base {
            StringEquals | StringNotEquals | StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => {
                patterns(raw, Wildcards::Off, variables).map(Values::Strings)
            }
            StringLike | StringNotLike => {
                patterns(raw, Wildcards::On, variables).map(Values::Strings)
            }
            ArnEquals | ArnLike | ArnNotEquals | ArnNotLike => {
                patterns(raw, Wildcards::On, variables).map(Values::Arns)
            }
            NumericEquals
            | NumericNotEquals
            | NumericLessThan
            | NumericLessThanEquals
            | NumericGreaterThan
            | NumericGreaterThanEquals => typed(raw, parse_number, "a number").map(Values::Numbers),
            DateEquals
            | DateNotEquals
            | DateLessThan
            | DateLessThanEquals
            | DateGreaterThan
            | DateGreaterThanEquals => typed(raw, Timestamp::parse, "a date").map(Values::Dates),
            Bool => typed(raw, parse_bool, "`true` or `false`").map(Values::Bools),
            Null => typed(raw, parse_bool, "`true` or `false`").map(Values::Null),
            BinaryEquals => typed(raw, parse_base64, "base64").map(Values::Binary),
            IpAddress | NotIpAddress => {
                typed(raw, Cidr::parse, "an IP address or CIDR block").map(Values::Cidrs)
            }
        }
    }
}

fn patterns(raw: &[String], wildcards: Wildcards, variables: bool) -> Result<Vec<Pattern>, String> {
    raw.iter()
        .map(|v| Pattern::parse(v, wildcards, variables).map_err(|e| e.0))
        .collect()
}

fn typed<T>(raw: &[String], parse: fn(&str) -> Option<T>, what: &str) -> Result<Vec<T>, String> {
    raw.iter()
        .map(|v| parse(v).ok_or_else(|| format!("`{v}` is not {what}")))
        .collect()
}

fn parse_number(text: &str) -> Option<f64> {
    let text = text.trim();
    let ok = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    ok.then(|| text.parse::<f64>().ok())
        .flatten()
        .filter(|n| n.is_finite())
}

fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn parse_base64(text: &str) -> Option<String> {
    let body = text.trim_end_matches('=');
    let padding = text.len() - body.len();
    let ok = text.len().is_multiple_of(4)
        && padding <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    ok.then(|| text.to_string())
}

/// An IPv4 or IPv6 network; a bare address is a /32 or /128.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text.trim(), None),
        };
        let network: IpAddr = addr.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok()?,
            Some(_) => return None,
            None => max,
        };
        (prefix <= max).then_some(Cidr { network, prefix })
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        let (net, ip, bits) = match (self.network, addr) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                (u128::from(u32::from(n)), u128::from(u32::from(a)), 32)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => (u128::from(n), u128::from(a), 128),
            _ => return false,
        };
        let host_bits = bits - u32::from(self.prefix);
        if host_bits >= 128 {
            return true;
        }
        (net >> host_bits) == (ip >> host_bits)
    }
}

/// Why a condition could not be evaluated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalError(pub String);

/// One key under one operator, with its values.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub operator: Operator,
    /// The key as written, for messages.
    pub key: String,
    /// The key lower-cased, for lookups.
    pub key_lower: String,
    pub raw_values: Vec<String>,
    /// The parsed values, or why they could not be parsed.
    pub values: Result<Values, String>,
}

impl Condition {
    pub fn new(operator: Operator, key: &str, raw_values: Vec<String>, variables: bool) -> Self {
        let values = match operator.base {
            Some(base) => Values::parse(base, &raw_values, variables && base.takes_variables()),
            None => Err(format!("`{}` is not a condition operator", operator.name)),
        };
        Condition {
            key_lower: key.to_ascii_lowercase(),
            key: key.to_string(),
            operator,
            raw_values,
            values,
        }
    }

    /// Evaluates against the request context.
    pub fn evaluate(&self, context: &Context) -> Result<bool, EvalError> {
        let values = self.values.as_ref().map_err(|e| EvalError(e.clone()))?;
        let base = self.operator.base.ok_or_else(|| {
            EvalError(format!(
                "`{}` is not a condition operator",
                self.operator.name
            ))
        })?;
        let present = context.get(&self.key_lower);
        if let Values::Null(wanted) = values {
            return Ok(wanted.iter().any(|&absent| absent == present.is_none()));
        }
        let Some(request_values) = present else {
            return Ok(if self.operator.if_exists {
                true
            } else {
                match self.operator.set {
                    Some(SetOperator::ForAllValues) => true,
                    Some(SetOperator::ForAnyValue) => false,
                    None => base.is_negated(),
                }
            });
        };
        let negated = base.is_negated();
        match self.operator.set {
            None => {
                let mut any = false;
                for value in request_values {
                    if self.value_matches(base, values, value, context)? {
                        any = true;
                        break;
                    }
                }
                Ok(any != negated)
            }
            Some(SetOperator::ForAnyValue) => {
                for value in request_values {
                    if self.value_matches(base, values, value, context)? != negated {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Some(SetOperator::ForAllValues) => {
                for value in request_values {
                    if self.value_matches(base, values, value, context)? == negated {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
        }
    }

    /// Whether one request value matches any policy value, ignoring negation.
    fn value_matches(
        &self,
        base: OperatorBase,
        values: &Values,
        value: &str,
        context: &Context,
    ) -> Result<bool, EvalError> {
        use OperatorBase::*;
        let unreadable = |what: &str| {
            EvalError(format!(
                "request value `{value}` of `{}` is not {what}",
                self.key
            ))
        };
        Ok(match values {
            Values::Strings(patterns) => {
                let ignore_case =
                    matches!(base, StringEqualsIgnoreCase | StringNotEqualsIgnoreCase);
                patterns
                    .iter()
                    .any(|p| p.matches(value, context, ignore_case))
            }
            Values::Arns(patterns) => patterns.iter().any(|p| p.matches_arn(value, context)),
            Values::Null(_) => false,
            Values::Numbers(numbers) => {
                let n = parse_number(value).ok_or_else(|| unreadable("a number"))?;
                numbers.iter().any(|&p| compare(base, n.partial_cmp(&p)))
            }
            Values::Dates(dates) => {
                let t = Timestamp::parse(value).ok_or_else(|| unreadable("a date"))?;
                dates.iter().any(|p| compare(base, Some(t.cmp(p))))
            }
            Values::Bools(bools) => {
                let b = parse_bool(value).ok_or_else(|| unreadable("`true` or `false`"))?;
                bools.contains(&b)
            }
            Values::Binary(binary) => binary.iter().any(|p| p == value),
            Values::Cidrs(cidrs) => {
                let ip: IpAddr = value
                    .trim()
                    .parse()
                    .map_err(|_| unreadable("an IP address"))?;
                cidrs.iter().any(|c| c.contains(ip))
            }
        })
    }
}

fn compare(base: OperatorBase, ordering: Option<std::cmp::Ordering>) -> bool {
    use OperatorBase::*;
    use std::cmp::Ordering::*;
    match (base, ordering) {
        (_, None) => false,
        (NumericEquals | NumericNotEquals | DateEquals | DateNotEquals, Some(o)) => o == Equal,
        (NumericLessThan | DateLessThan, Some(o)) => o == Less,
        (NumericLessThanEquals | DateLessThanEquals, Some(o)) => o != Greater,
        (NumericGreaterThan | DateGreaterThan, Some(o)) => o == Greater,
        (NumericGreaterThanEquals | DateGreaterThanEquals, Some(o)) => o != Less,
        _ => false,
    }
}
