//! Reading a run's parameters.
//!
//! The host has already rejected parameter names that `describe()` does not
//! list, but the values are free text: these helpers turn a bad value into an
//! `invalid` error that names the parameter and what it accepts.

use crate::{Error, ParamSpec};

/// Name of the parameter every built-in action takes to change nothing.
pub const DRY_RUN: &str = "dry_run";

/// The value of parameter `name`, if given (the last one wins, as on a command
/// line).
pub fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Parameter `name` as `true` or `false` (any case), or `default` when absent.
pub fn bool(params: &[(String, String)], name: &str, default: bool) -> Result<bool, Error> {
    let Some(raw) = get(params, name) else {
        return Ok(default);
    };
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Error::Invalid(format!(
            "parameter `{name}` must be true or false, got `{raw}`"
        ))),
    }
}

/// Parameter `name` as a whole number from 0 up, or `None` when absent.
pub fn non_negative_int(params: &[(String, String)], name: &str) -> Result<Option<u32>, Error> {
    get(params, name)
        .map(|raw| {
            raw.trim().parse().map_err(|_| {
                Error::Invalid(format!(
                    "parameter `{name}` must be a whole number from 0 to {}, got `{raw}`",
                    u32::MAX
                ))
            })
        })
        .transpose()
}

/// A parameter spec that is not required.
pub fn spec(name: &str, description: &str, default: Option<&str>) -> ParamSpec {
    ParamSpec {
        name: name.into(),
        description: description.into(),
        default: default.map(Into::into),
        required: false,
    }
}

/// The spec of the [`DRY_RUN`] parameter.
pub fn dry_run_spec() -> ParamSpec {
    spec(
        DRY_RUN,
        "true to only report what would change, changing nothing",
        Some("false"),
    )
}

/// The [`DRY_RUN`] parameter, `false` when absent.
pub fn dry_run(params: &[(String, String)]) -> Result<bool, Error> {
    bool(params, DRY_RUN, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn bools() {
        assert_eq!(bool(&p(&[]), "all", false), Ok(false));
        assert_eq!(bool(&p(&[("all", " TRUE ")]), "all", false), Ok(true));
        assert_eq!(
            bool(&p(&[("all", "true"), ("all", "false")]), "all", true),
            Ok(false)
        );
        assert_eq!(
            bool(&p(&[("all", "maybe")]), "all", false),
            Err(Error::Invalid(
                "parameter `all` must be true or false, got `maybe`".into()
            ))
        );
    }

    #[test]
    fn non_negative_ints() {
        let name = "older_than_days";
        assert_eq!(non_negative_int(&p(&[]), name), Ok(None));
        assert_eq!(non_negative_int(&p(&[(name, "0")]), name), Ok(Some(0)));
        assert_eq!(non_negative_int(&p(&[(name, " 30 ")]), name), Ok(Some(30)));
        for bad in ["-1", "1.5", "", "ten"] {
            let Err(Error::Invalid(message)) = non_negative_int(&p(&[(name, bad)]), name) else {
                panic!("`{bad}` accepted");
            };
            assert!(message.starts_with("parameter `older_than_days` must be a whole number"));
            assert!(message.ends_with(&format!("got `{bad}`")));
        }
    }
}
