//! "Older than N days" cut-offs, from a parameter or a System Default.

use crate::bindings::b2b::plugin::settings;
use crate::{params, Error, ParamSpec, Timestamp, Value};

/// The effective integer value of System Default `key`.
pub fn int_setting(key: &str) -> Result<i64, Error> {
    match settings::get(key)? {
        Value::Integer(value) => Ok(value),
        other => Err(Error::Failed(format!(
            "System Default `{key}` should be an integer, is {other:?}"
        ))),
    }
}

/// Rows older than `days` days before the run started are due: those with a
/// timestamp before `before`.
///
/// The cut-off is taken from `settings::run-started-at`, not a clock, so that
/// a run is reproducible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cutoff {
    /// How many days back the cut-off is.
    pub days: u32,
    /// Rows with a timestamp before this instant are due.
    pub before: Timestamp,
}

impl Cutoff {
    /// Name of the parameter that overrides the System Default.
    pub const PARAM: &'static str = "older_than_days";

    /// The spec of the [`Cutoff::PARAM`] parameter for System Default
    /// `setting_key`.
    pub fn param_spec(setting_key: &str) -> ParamSpec {
        params::spec(
            Self::PARAM,
            &format!("age in days (0 or more) past which rows are due; overrides the System Default `{setting_key}`"),
            None,
        )
    }

    /// The cut-off from the [`Cutoff::PARAM`] parameter if given, else from
    /// System Default `setting_key`.
    pub fn resolve(params: &[(String, String)], setting_key: &str) -> Result<Self, Error> {
        let days = match params::non_negative_int(params, Self::PARAM)? {
            Some(days) => days,
            None => {
                let value = int_setting(setting_key)?;
                u32::try_from(value).map_err(|_| {
                    Error::Failed(format!(
                        "System Default `{setting_key}` must be a number of days from 0 to {}, is {value}",
                        u32::MAX
                    ))
                })?
            }
        };
        Ok(Self::before_run(days, settings::run_started_at()))
    }

    fn before_run(days: u32, run_started_at: Timestamp) -> Self {
        Self {
            days,
            before: run_started_at.saturating_sub(i64::from(days) * 86_400),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_back_whole_days_from_the_run() {
        assert_eq!(
            Cutoff::before_run(30, 1_700_000_000),
            Cutoff {
                days: 30,
                before: 1_700_000_000 - 30 * 86_400
            }
        );
        assert_eq!(Cutoff::before_run(0, 5).before, 5);
        assert_eq!(Cutoff::before_run(u32::MAX, i64::MIN + 1).before, i64::MIN);
    }
}
