//! The request context: condition keys and their values.
//!
//! Condition key names ignore case in IAM (`aws:SourceIp` is `AWS:sourceip`),
//! including the tag key inside `aws:PrincipalTag/<key>`; values keep their
//! case. Keys are stored lower-cased. A key is single-valued or multi-valued
//! (`aws:TagKeys`); an empty multi-valued key counts as absent, the way IAM
//! treats a null data set.
//!
//! The engine has no clock: `aws:CurrentTime` and `aws:EpochTime` come from
//! the [`Timestamp`] the caller passes to [`Context::derive_from_principal`].

use std::collections::HashMap;

use crate::principal::Principal;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContextValue {
    Single(String),
    Multi(Vec<String>),
}

impl ContextValue {
    pub fn values(&self) -> &[String] {
        match self {
            ContextValue::Single(v) => std::slice::from_ref(v),
            ContextValue::Multi(vs) => vs,
        }
    }
}

/// Condition keys of one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    values: HashMap<String, ContextValue>,
}

impl Context {
    pub fn insert(&mut self, key: &str, value: impl Into<String>) {
        self.values
            .insert(key.to_ascii_lowercase(), ContextValue::Single(value.into()));
    }

    pub fn insert_multi(&mut self, key: &str, values: Vec<String>) {
        self.values
            .insert(key.to_ascii_lowercase(), ContextValue::Multi(values));
    }

    /// Inserts unless the key is already set (a caller's value wins).
    fn insert_default(&mut self, key: &str, value: impl Into<String>) {
        self.values
            .entry(key.to_ascii_lowercase())
            .or_insert_with(|| ContextValue::Single(value.into()));
    }

    /// The values of a key given in lower case; `None` when the key is absent
    /// or an empty set.
    pub fn get(&self, lower_key: &str) -> Option<&[String]> {
        let values = self.values.get(lower_key)?.values();
        (!values.is_empty()).then_some(values)
    }

    /// The value of a single-valued key; multi-valued keys cannot be used as
    /// policy variables and resolve to nothing.
    pub fn get_single(&self, lower_key: &str) -> Option<&str> {
        match self.values.get(lower_key)? {
            ContextValue::Single(v) => Some(v),
            ContextValue::Multi(_) => None,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &ContextValue)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Adds the keys IAM derives from the principal and the request time,
    /// where the caller has not set them: `aws:PrincipalArn`,
    /// `aws:PrincipalAccount`, `aws:PrincipalType`, `aws:userid`,
    /// `aws:username`, `aws:PrincipalIsAWSService`, `aws:PrincipalServiceName`,
    /// `aws:FederatedProvider`, `aws:CurrentTime` and `aws:EpochTime`.
    pub fn derive_from_principal(&mut self, principal: &Principal, now: Timestamp) {
        self.insert_default("aws:CurrentTime", now.to_rfc3339());
        self.insert_default("aws:EpochTime", now.seconds().to_string());
        if let Some(arn) = principal.principal_arn() {
            self.insert_default("aws:PrincipalArn", arn);
        }
        if let Some(account) = principal.account() {
            self.insert_default("aws:PrincipalAccount", account);
        }
        if let Some(kind) = principal.principal_type() {
            self.insert_default("aws:PrincipalType", kind);
        }
        if let Some(userid) = principal.userid() {
            self.insert_default("aws:userid", userid);
        }
        if let Principal::User { name, .. } = principal {
            self.insert_default("aws:username", name.as_str());
        }
        match principal {
            Principal::Service(service) => {
                self.insert_default("aws:PrincipalIsAWSService", "true");
                self.insert_default("aws:PrincipalServiceName", service.as_str());
            }
            Principal::Federated(provider) => {
                self.insert_default("aws:FederatedProvider", provider.as_str());
                self.insert_default("aws:PrincipalIsAWSService", "false");
            }
            _ => self.insert_default("aws:PrincipalIsAWSService", "false"),
        }
    }
}

/// An instant, as nanoseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(i128);

impl Timestamp {
    pub fn from_unix_seconds(seconds: i64) -> Self {
        Timestamp(i128::from(seconds) * 1_000_000_000)
    }

    pub fn from_unix_nanos(nanos: i128) -> Self {
        Timestamp(nanos)
    }

    pub fn seconds(self) -> i64 {
        i64::try_from(self.0.div_euclid(1_000_000_000)).unwrap_or(i64::MAX)
    }

    pub fn unix_nanos(self) -> i128 {
        self.0
    }

    /// Parses the forms IAM accepts in date conditions: epoch seconds, a date
    /// `2026-12-03`, or ISO 8601 date-time with optional fractional seconds
    /// and `Z` or `±hh:mm` offset (no offset means UTC).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return text.parse::<i64>().ok().map(Self::from_unix_seconds);
        }
        let (date, time) = match text.split_once(['T', 't']) {
            Some((date, time)) => (date, Some(time)),
            None => (text, None),
        };
        let mut parts = date.split('-');
        let year: i64 = digits(parts.next()?, 4)?;
        let month: u32 = u32::try_from(digits(parts.next()?, 2)?).ok()?;
        let day: u32 = u32::try_from(digits(parts.next()?, 2)?).ok()?;
        if parts.next().is_some() || !(1..=12).contains(&month) {
            return None;
        }
        if day == 0 || day > days_in_month(year, month) {
            return None;
        }
        let mut nanos = i128::from(days_from_civil(year, month, day)) * 86_400 * 1_000_000_000;
        if let Some(time) = time {
            nanos += parse_time(time)?;
        }
        Some(Timestamp(nanos))
    }

    /// `2026-12-03T17:08:24Z`, with fractional seconds when there are any.
    pub fn to_rfc3339(self) -> String {
        let secs = self.0.div_euclid(1_000_000_000);
        let frac = self.0.rem_euclid(1_000_000_000);
        let days = i64::try_from(secs.div_euclid(86_400)).unwrap_or(0);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
        if frac == 0 {
            format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
        } else {
            let frac = format!("{frac:09}");
            format!(
                "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{}Z",
                frac.trim_end_matches('0')
            )
        }
    }
}

fn digits(text: &str, len: usize) -> Option<i64> {
    (text.len() == len && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok())?
}

/// Time of day plus offset, in nanoseconds to add to midnight UTC.
fn parse_time(time: &str) -> Option<i128> {
    let (clock, offset_secs) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        (clock, 0i64)
    } else if let Some(at) = time.rfind(['+', '-']) {
        let (clock, offset) = time.split_at(at);
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let offset = offset.get(1..)?;
        let (h, m) = offset
            .split_once(':')
            .unwrap_or((offset.get(..2)?, offset.get(2..)?));
        let (h, m) = (digits(h, 2)?, digits(m, 2)?);
        if h > 23 || m > 59 {
            return None;
        }
        (clock, sign * (h * 3600 + m * 60))
    } else {
        (time, 0)
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (clock, None),
    };
    let mut fields = hms.split(':');
    let h = digits(fields.next()?, 2)?;
    let m = digits(fields.next()?, 2)?;
    let s = match fields.next() {
        Some(s) => digits(s, 2)?,
        None => 0,
    };
    if fields.next().is_some() || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let mut nanos = i128::from(h * 3600 + m * 60 + s - offset_secs) * 1_000_000_000;
    if let Some(frac) = frac {
        if frac.is_empty() || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let padded = format!("{frac:0<9}");
        nanos += padded.parse::<i128>().ok()?;
    }
    Some(nanos)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's method).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iam_date_forms() {
        let t = Timestamp::parse("2026-12-03T17:08:24Z").unwrap();
        assert_eq!(t.seconds(), 1_796_317_704);
        assert_eq!(t.to_rfc3339(), "2026-12-03T17:08:24Z");
        assert_eq!(Timestamp::parse("1796317704"), Some(t));
        assert_eq!(Timestamp::parse("2026-12-03T19:08:24+02:00"), Some(t));
        assert_eq!(
            Timestamp::parse("2026-12-03").unwrap().seconds(),
            1_796_256_000
        );
        let frac = Timestamp::parse("2026-12-03T17:08:24.5Z").unwrap();
        assert_eq!(frac.to_rfc3339(), "2026-12-03T17:08:24.5Z");
        assert!(Timestamp::parse("2026-02-30").is_none());
        assert!(Timestamp::parse("yesterday").is_none());
        assert!(Timestamp::parse("2026-12-03T25:00:00Z").is_none());
    }

    #[test]
    fn keys_ignore_case_and_empty_sets_are_absent() {
        let mut ctx = Context::default();
        ctx.insert("aws:PrincipalTag/Team", "payroll");
        assert_eq!(
            ctx.get("aws:principaltag/team"),
            Some(&["payroll".to_string()][..])
        );
        ctx.insert_multi("aws:TagKeys", vec![]);
        assert_eq!(ctx.get("aws:tagkeys"), None);
    }
}
