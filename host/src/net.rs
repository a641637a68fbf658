//! Where a request goes: origins, this machine, and Wonde's own hosts. The
//! HTTP policy binds credentials to origins with these; secrets and the
//! import's settings check what a person gives against them.

use std::fmt;
use url::Url;

/// Where a request goes (scheme, host and port): what a credential is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `http` or `https`.
    pub scheme: String,
    /// The host, in lower case.
    pub host: String,
    /// The port, the scheme's default when the URL names none.
    pub port: u16,
}

impl Origin {
    /// The origin of an absolute URL.
    pub fn of(url: &Url) -> Option<Origin> {
        Some(Origin {
            scheme: url.scheme().to_string(),
            host: url.host_str()?.to_ascii_lowercase(),
            port: url.port_or_known_default()?,
        })
    }

    /// The origin of a URL a person typed, or why it has none.
    pub fn parse(text: &str) -> Result<Origin, String> {
        let url = Url::parse(text.trim()).map_err(|e| format!("`{text}` is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("`{text}` must be an http:// or https:// URL"));
        }
        Origin::of(&url).ok_or_else(|| format!("`{text}` has no host"))
    }

    /// Whether requests to it stay on this machine.
    pub fn is_loopback(&self) -> bool {
        is_loopback(&self.host)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// Whether a host name or address is this machine.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether a host is one of Wonde's own (`wonde.com` and its subdomains).
pub fn is_wonde_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host == "wonde.com" || host.ends_with(".wonde.com")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let a = Origin::parse("https://API.wonde.com/v1.0/").unwrap();
        assert_eq!(a.to_string(), "https://api.wonde.com:443");
        assert_ne!(a, Origin::parse("http://api.wonde.com/").unwrap());
        assert_ne!(
            Origin::parse("http://127.0.0.1:8650/").unwrap(),
            Origin::parse("http://127.0.0.1:8651/").unwrap()
        );
        assert!(Origin::parse("ftp://x/").is_err());
        assert!(is_loopback("127.0.0.1") && is_loopback("[::1]") && is_loopback("LOCALHOST"));
        assert!(!is_loopback("10.0.0.1") && !is_loopback("localhost.evil.org"));
        assert!(is_wonde_host("api.wonde.com") && is_wonde_host("wonde.com"));
        assert!(!is_wonde_host("wonde.com.evil.org") && !is_wonde_host("evilwonde.com"));
    }
}
