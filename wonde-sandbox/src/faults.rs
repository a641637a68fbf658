//! Failures the sandbox acts out on purpose, so that retries, back-off and
//! "a failed transfer changes nothing" can be tested, by the tests and by a
//! person rehearsing failures (`b2b wonde-sandbox --fault ...`).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// What happens to a request a [`FaultRule`] fires on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (e.g. 401, 403, 404, 500, 503) and a small
    /// JSON error body.
    Status(u16),
    /// Answer 429, with a `Retry-After` header only when a delay is given.
    TooMany {
        /// The `Retry-After` value in seconds.
        retry_after_secs: Option<u64>,
    },
    /// Wait this long, then answer normally.
    Slow(Duration),
    /// Send the right status and `Content-Length` but only half the body,
    /// then close the connection.
    TruncatedBody,
    /// Close the connection without answering (abortively, so the client
    /// sees a reset, on Unix).
    ConnectionReset,
    /// Answer `200 OK` with a whole, properly framed body that is not JSON:
    /// the first half of the real page.
    MalformedJson,
}

/// When a [`Fault`] fires: on requests in scope, after letting `skip` of
/// them through, `times` times, then never again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// Only requests under `schools/{this Wonde id}`; `None` for every request.
    pub school: Option<String>,
    /// Only requests for this page of a list (`page=N`; a request without
    /// one asks for page 1); `None` for every page.
    pub page: Option<usize>,
    /// How many requests in scope to let through before firing.
    pub skip: u32,
    /// How many times to fire.
    pub times: u32,
    /// What to do.
    pub fault: Fault,
}

impl FaultRule {
    /// `fault` on every request, every time.
    pub fn always(fault: Fault) -> FaultRule {
        FaultRule {
            school: None,
            page: None,
            skip: 0,
            times: u32::MAX,
            fault,
        }
    }

    fn applies_to(&self, path: &str, page: usize) -> bool {
        if self.page.is_some_and(|p| p != page) {
            return false;
        }
        let Some(id) = &self.school else {
            return true;
        };
        path.strip_prefix("/v1.0/schools/")
            .and_then(|rest| rest.strip_prefix(id.as_str()))
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

/// The injected rules, each with how many requests it has counted.
#[derive(Debug, Default)]
pub(super) struct Faults {
    rules: Vec<(FaultRule, u32)>,
}

impl Faults {
    pub(super) fn push(&mut self, rule: FaultRule) {
        self.rules.push((rule, 0));
    }

    pub(super) fn clear(&mut self) {
        self.rules.clear();
    }

    /// The fault for a request to `path` asking for `page`, if any. Rules
    /// are tried in the order they were injected; every live rule in scope
    /// counts the request, until one fires, so a rule still letting
    /// requests through leaves them to the rules after it.
    pub(super) fn take(&mut self, path: &str, page: usize) -> Option<Fault> {
        for (rule, counted) in &mut self.rules {
            if *counted >= rule.skip.saturating_add(rule.times) || !rule.applies_to(path, page) {
                continue;
            }
            *counted += 1;
            if *counted > rule.skip {
                return Some(rule.fault.clone());
            }
        }
        None
    }
}

/// What `--fault` takes, for `--help` and for error messages.
pub const FAULT_SYNTAX: &str = "\
a fault is one of status=CODE (with status=429: retry-after=SECS), delay=SECS, truncate, reset, \
malformed-json, then any of school=ID (a Wonde id, or the school's number from 1), page=N, \
skip=N (requests in scope let through first) and times=N (default: every time), separated by commas";

impl FromStr for FaultRule {
    type Err = String;

    /// Reads a rule as `b2b wonde-sandbox --fault` takes it, e.g.
    /// `status=429,retry-after=120,school=A0000000002,page=2,times=3`.
    fn from_str(spec: &str) -> Result<FaultRule, String> {
        let mut parts = Parts::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            parts.read(part)?;
        }
        parts.into_rule()
    }
}

/// The pieces of a `--fault` spec, as read so far.
#[derive(Default)]
struct Parts {
    fault: Option<Fault>,
    status: Option<u16>,
    retry_after: Option<u64>,
    rule: Option<FaultRule>,
}

impl Parts {
    fn read(&mut self, part: &str) -> Result<(), String> {
        let rule = self
            .rule
            .get_or_insert_with(|| FaultRule::always(Fault::ConnectionReset));
        let (key, value) = part.split_once('=').unwrap_or((part, ""));
        let value = value.trim();
        match key.trim() {
            "truncate" => self.set(Fault::TruncatedBody),
            "reset" => self.set(Fault::ConnectionReset),
            "malformed-json" => self.set(Fault::MalformedJson),
            "delay" => self.set(Fault::Slow(seconds(value)?)),
            "status" => {
                let status = number::<u16>("status", value)?;
                if !(400..=599).contains(&status) {
                    return Err(format!(
                        "status={status} is not an error status; give one from 400 to 599"
                    ));
                }
                self.status = Some(status);
                Ok(())
            }
            "retry-after" => {
                self.retry_after = Some(number("retry-after", value)?);
                Ok(())
            }
            "school" if !value.is_empty() => {
                rule.school = Some(value.to_string());
                Ok(())
            }
            "page" => {
                rule.page = Some(number("page", value)?).filter(|&p| p > 0);
                rule.page
                    .map(drop)
                    .ok_or_else(|| "page= counts from 1".into())
            }
            "skip" => {
                rule.skip = number("skip", value)?;
                Ok(())
            }
            "times" => {
                rule.times = number("times", value)?;
                Ok(())
            }
            other => Err(format!("`{other}` is not understood: {FAULT_SYNTAX}")),
        }
    }

    fn set(&mut self, fault: Fault) -> Result<(), String> {
        if self.fault.replace(fault).is_some() {
            return Err(format!("name one fault per --fault: {FAULT_SYNTAX}"));
        }
        Ok(())
    }

    fn into_rule(mut self) -> Result<FaultRule, String> {
        match (self.status, self.retry_after) {
            (Some(429), retry_after_secs) => self.set(Fault::TooMany { retry_after_secs })?,
            (Some(status), None) => self.set(Fault::Status(status))?,
            (_, Some(_)) => return Err("retry-after= goes with status=429".into()),
            (None, None) => {}
        }
        let (Some(fault), Some(mut rule)) = (self.fault, self.rule) else {
            return Err(format!("no fault named: {FAULT_SYNTAX}"));
        };
        rule.fault = fault;
        Ok(rule)
    }
}

fn number<T: FromStr>(key: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{key}= takes a whole number, got `{value}`"))
}

/// Seconds, possibly with a fraction (`1.5`) or written in milliseconds
/// (`500ms`).
fn seconds(value: &str) -> Result<Duration, String> {
    let bad =
        || format!("delay= takes seconds (e.g. 130 or 0.5) or milliseconds (500ms), got `{value}`");
    let parsed = match value.strip_suffix("ms") {
        Some(ms) => ms.parse::<u64>().map(Duration::from_millis).ok(),
        None => value
            .strip_suffix('s')
            .unwrap_or(value)
            .parse::<f64>()
            .ok()
            .and_then(|s| Duration::try_from_secs_f64(s).ok()),
    };
    parsed.ok_or_else(bad)
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Fault::Status(status) => write!(f, "answer {status}"),
            Fault::TooMany {
                retry_after_secs: Some(secs),
            } => write!(f, "answer 429 with Retry-After: {secs}"),
            Fault::TooMany { .. } => write!(f, "answer 429 without Retry-After"),
            Fault::Slow(delay) => write!(f, "wait {delay:?}, then answer"),
            Fault::TruncatedBody => write!(f, "send half the body, then close"),
            Fault::ConnectionReset => write!(f, "reset the connection unanswered"),
            Fault::MalformedJson => write!(f, "answer 200 with a body that is not JSON"),
        }
    }
}

impl fmt::Display for FaultRule {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.fault)?;
        match &self.school {
            Some(school) => write!(f, " for school {school}")?,
            None => write!(f, " for every school")?,
        }
        if let Some(page) = self.page {
            write!(f, ", page {page}")?;
        }
        if self.skip > 0 {
            write!(f, ", after {} requests", self.skip)?;
        }
        match self.times {
            u32::MAX => write!(f, ", every time"),
            1 => write!(f, ", once"),
            n => write!(f, ", {n} times"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(spec: &str) -> FaultRule {
        spec.parse().unwrap_or_else(|e| panic!("{spec}: {e}"))
    }

    #[test]
    fn reads_each_fault_and_scope() {
        assert_eq!(
            rule("status=429, retry-after=120, school=A1, page=2, times=3"),
            FaultRule {
                school: Some("A1".into()),
                page: Some(2),
                skip: 0,
                times: 3,
                fault: Fault::TooMany {
                    retry_after_secs: Some(120)
                },
            }
        );
        assert_eq!(rule("status=503").fault, Fault::Status(503));
        assert_eq!(
            rule("status=429").fault,
            Fault::TooMany {
                retry_after_secs: None
            }
        );
        assert_eq!(
            rule("delay=130").fault,
            Fault::Slow(Duration::from_secs(130))
        );
        assert_eq!(
            rule("delay=500ms").fault,
            Fault::Slow(Duration::from_millis(500))
        );
        assert_eq!(
            rule("delay=0.25s").fault,
            Fault::Slow(Duration::from_millis(250))
        );
        assert_eq!(rule("truncate").fault, Fault::TruncatedBody);
        assert_eq!(rule("reset,skip=2").skip, 2);
        assert_eq!(rule("malformed-json").times, u32::MAX);
    }

    #[test]
    fn refuses_what_it_cannot_act_out_saying_why() {
        for (spec, says) in [
            ("", "no fault named"),
            ("school=A1", "no fault named"),
            ("reset,truncate", "one fault per --fault"),
            ("status=200", "not an error status"),
            ("status=abc", "status= takes a whole number"),
            ("delay=soon", "delay= takes seconds"),
            ("status=503,retry-after=5", "goes with status=429"),
            ("page=0,reset", "counts from 1"),
            ("explode", "`explode` is not understood"),
        ] {
            let err = spec.parse::<FaultRule>().unwrap_err();
            assert!(err.contains(says), "{spec}: {err}");
        }
    }

    #[test]
    fn scopes_by_school_and_page() {
        let mut faults = Faults::default();
        faults.push(rule("status=503,school=A1,page=2"));
        assert_eq!(faults.take("/v1.0/schools/A1/students", 1), None);
        assert_eq!(faults.take("/v1.0/schools/A2/students", 2), None);
        assert_eq!(faults.take("/v1.0/schools/A12/students", 2), None);
        assert_eq!(
            faults.take("/v1.0/schools/A1/students", 2),
            Some(Fault::Status(503))
        );
    }

    #[test]
    fn says_what_it_will_do() {
        assert_eq!(
            rule("status=429,retry-after=120,school=A1,page=2,times=1").to_string(),
            "answer 429 with Retry-After: 120 for school A1, page 2, once"
        );
        assert_eq!(
            rule("delay=2,skip=1").to_string(),
            "wait 2s, then answer for every school, after 1 requests, every time"
        );
    }
}
