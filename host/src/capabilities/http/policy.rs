//! What a plugin may send, decided before anything leaves the host.
//!
//! - The URL is an absolute `http(s)` URL without a user name or password,
//!   to a host the plugin was granted (`http:HOST`).
//! - The method is one of GET, POST, PUT, PATCH, DELETE.
//! - Headers that carry authority or change how the request is framed or
//!   routed are the host's alone: `Authorization`, `Proxy-*`, `Host`,
//!   `Cookie`, and the hop-by-hop and length headers. A plugin that sets one
//!   gets a typed `invalid` error, so it cannot send a second
//!   `Authorization` or smuggle a request.
//! - A named credential needs its `credential:NAME` grant and goes only to
//!   the origin (scheme, host and port) it is bound to, never over plain
//!   http except to this machine. The `wonde` credential is bound to the
//!   configured `wonde.base_url` and to Wonde's own https hosts
//!   (`*.wonde.com`), where each school's region domain points; any other
//!   credential to the origin given when it was set.

use super::request::Sendable;
use crate::capabilities::HostContext;
use crate::net::{is_wonde_host, Origin};
use crate::plugins::capability::Capability;
use crate::secrets::Secret;
use crate::storage::defaults;
use crate::world::b2b::plugin::http::Request;
use crate::world::WitError;
use url::Url;

/// The most headers one request may set.
const MAX_HEADERS: usize = 64;
/// The most bytes one header (name and value) may have.
const MAX_HEADER_BYTES: usize = 8 << 10;
/// The largest request body a plugin may send.
const MAX_REQUEST_BODY: usize = 16 << 20;
/// The credential of the Wonde import.
const WONDE: &str = "wonde";

/// Headers only the host may set.
fn reserved(name: &str) -> bool {
    matches!(
        name,
        "authorization"
            | "host"
            | "cookie"
            | "connection"
            | "content-length"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "keep-alive"
    ) || name.starts_with("proxy-")
}

impl HostContext {
    /// Checks a request against the policy and resolves its credential.
    pub(super) fn check(&self, r: Request) -> Result<Sendable, WitError> {
        let url = Url::parse(&r.url)
            .map_err(|e| WitError::Invalid(format!("`{}` is not a URL: {e}", r.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "`{}` must be an http:// or https:// URL",
                r.url
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(format!(
                "`{}` carries a user name or password; name a credential instead",
                r.url
            )));
        }
        let origin = Origin::of(&url).ok_or_else(|| invalid(format!("`{}` has no host", r.url)))?;
        self.check_grant(
            Capability::Http(origin.host.clone()),
            &format!("http.send to {}", origin.host),
        )
        .map_err(|crate::world::CallError::Wit(e)| e)?;
        let method = match r.method.as_str() {
            "GET" | "POST" | "PUT" | "PATCH" | "DELETE" => r.method,
            other => {
                return Err(invalid(format!(
                    "method `{other}` is not one of GET, POST, PUT, PATCH, DELETE"
                )))
            }
        };
        let headers = checked_headers(r.headers)?;
        if r.body.as_ref().is_some_and(|b| b.len() > MAX_REQUEST_BODY) {
            return Err(invalid(format!(
                "a request body may have at most {} MiB",
                MAX_REQUEST_BODY >> 20
            )));
        }
        let carries_secret = self.log.holds_secret(r.url.as_bytes())
            || headers
                .iter()
                .any(|(_, v)| self.log.holds_secret(v.as_bytes()))
            || r.body.as_deref().is_some_and(|b| self.log.holds_secret(b));
        if carries_secret {
            return Err(self.refused(format!(
                "a request to {origin} carries a secret of this run in its URL, headers or body; \
                 name the credential instead"
            )));
        }
        let token = match &r.credential {
            None => None,
            Some(name) => Some(self.credential_for(name, &origin)?),
        };
        let sendable = Sendable {
            method,
            url,
            headers,
            token,
            body: r.body,
        };
        self.http.admits(&sendable)?;
        Ok(sendable)
    }

    /// The secret `name`, if it is granted and may go to `origin`.
    fn credential_for(&self, name: &str, origin: &Origin) -> Result<Secret, WitError> {
        self.check_grant(
            Capability::Credential(name.to_string()),
            "http.send with a credential",
        )
        .map_err(|crate::world::CallError::Wit(e)| e)?;
        let secrets = self
            .secrets
            .as_ref()
            .ok_or_else(|| WitError::Failed("no secrets while describing".into()))?;
        let credential = secrets
            .credential(name)
            .map_err(|e| WitError::Failed(e.to_string()))?
            .ok_or_else(|| {
                WitError::Failed(format!(
                    "no `{name}` secret is set; set it with `b2b secrets set {name}` or the {} environment variable",
                    crate::secrets::env_name(name)
                ))
            })?;
        let mut bound: Vec<Origin> = Vec::new();
        if let Some(text) = &credential.origin {
            bound.push(Origin::parse(text).map_err(WitError::Failed)?);
        }
        if name == WONDE {
            bound.push(self.wonde_origin()?);
        }
        let to_wonde = name == WONDE
            && origin.scheme == "https"
            && origin.port == 443
            && is_wonde_host(&origin.host);
        if !to_wonde && !bound.contains(origin) {
            let allowed: Vec<String> = bound.iter().map(Origin::to_string).collect();
            let allowed = match (name == WONDE, allowed.is_empty()) {
                (true, _) => format!("{} and Wonde's https hosts", allowed.join(", ")),
                (false, true) => format!(
                    "no origin at all (set it with `b2b secrets set {name} --origin https://HOST`)"
                ),
                (false, false) => allowed.join(", "),
            };
            return Err(self.refused(format!(
                "the `{name}` credential is only sent to {allowed}, not to {origin}"
            )));
        }
        if origin.scheme == "http" && !origin.is_loopback() {
            return Err(self.refused(format!(
                "the `{name}` credential is never sent over plain http except to this machine; \
                 {origin} must be reached over https"
            )));
        }
        self.log.redact(credential.secret.expose());
        Ok(credential.secret)
    }

    /// The origin of the configured Wonde base URL.
    fn wonde_origin(&self) -> Result<Origin, WitError> {
        let conn = self
            .conn
            .as_ref()
            .ok_or_else(|| WitError::Failed("no settings while describing".into()))?;
        let base = match defaults::get(conn, "wonde.base_url") {
            Ok(defaults::Value::Text(base)) => base,
            Ok(other) => other.to_string(),
            Err(e) => return Err(WitError::Failed(e.to_string())),
        };
        Origin::parse(&base)
            .map_err(|e| WitError::Failed(format!("System Default wonde.base_url: {e}")))
    }

    /// A refusal by the policy: a line in the run log, and an `invalid` error.
    fn refused(&self, message: String) -> WitError {
        self.log.line("REFUSED", &message);
        WitError::Invalid(message)
    }
}

/// The plugin's headers, names in lower case, refusing reserved ones and
/// anything that is not a valid header.
fn checked_headers(headers: Vec<(String, String)>) -> Result<Vec<(String, String)>, WitError> {
    if headers.len() > MAX_HEADERS {
        return Err(invalid(format!(
            "a request may set at most {MAX_HEADERS} headers, got {}",
            headers.len()
        )));
    }
    headers
        .into_iter()
        .map(|(name, value)| {
            let name = name.to_ascii_lowercase();
            if reserved(&name) {
                return Err(invalid(format!(
                    "a plugin may not set the `{name}` header; the host sets it (name a credential for authorization)"
                )));
            }
            if name.len() + value.len() > MAX_HEADER_BYTES {
                return Err(invalid(format!(
                    "header `{name}` is longer than {} KiB",
                    MAX_HEADER_BYTES >> 10
                )));
            }
            let valid = reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok()
                && reqwest::header::HeaderValue::from_str(&value).is_ok();
            if !valid {
                return Err(invalid(format!(
                    "`{}` is not a valid header name and value",
                    crate::text::shown(&name)
                )));
            }
            Ok((name, value))
        })
        .collect()
}

fn invalid(message: String) -> WitError {
    WitError::Invalid(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_headers_are_refused_in_any_case() {
        for name in [
            "Authorization",
            "HOST",
            "cookie",
            "Proxy-Authorization",
            "proxy-x",
            "Transfer-Encoding",
        ] {
            let err = checked_headers(vec![(name.into(), "x".into())]).unwrap_err();
            assert!(matches!(err, WitError::Invalid(m) if m.contains(&name.to_ascii_lowercase())));
        }
        assert!(checked_headers(vec![("x".into(), "a\r\nInjected: 1".into())]).is_err());
        assert_eq!(
            checked_headers(vec![("Accept".into(), "application/json".into())]).unwrap(),
            [("accept".to_string(), "application/json".to_string())]
        );
    }
}
