//! The Wonde URLs the import fetches.

use b2b_plugin_sdk::Timestamp;
use std::borrow::Cow;

/// The includes asked for with each page of students: what the mapping reads.
/// `contacts.contact_details` is what carries each carer's phones and emails;
/// `contacts` alone gives only names and relationships.
const INCLUDES: &str =
    "contact_details,education_details,extended_details,year,contacts,contacts.contact_details";

/// The base URL ending in `/`, so that paths join onto it whether or not the
/// System Default was written with one.
pub fn base(setting: &str) -> String {
    let trimmed = setting.trim().trim_end_matches('/');
    format!("{trimmed}/")
}

/// `GET schools`: the schools that approved this account.
pub fn schools(base: &str) -> String {
    format!("{base}schools")
}

/// The first page of a school's students, changed since `since` (a value
/// from [`updated_after`]) when given.
pub fn students(base: &str, school: &str, per_page: u32, since: Option<&str>) -> String {
    format!(
        "{base}schools/{}/students?include={INCLUDES}&per_page={per_page}{}",
        segment(school),
        since_param(since)
    )
}

/// The first page of a school's student deletions, since `since` when given.
pub fn deletions(base: &str, school: &str, per_page: u32, since: Option<&str>) -> String {
    format!(
        "{base}schools/{}/deletions?type=student&per_page={per_page}{}",
        segment(school),
        since_param(since)
    )
}

fn since_param(since: Option<&str>) -> String {
    since
        .map(|since| format!("&updated_after={since}"))
        .unwrap_or_default()
}

/// The base URL for a school whose data Wonde serves from `domain` (its
/// `region.domain`), since asking the wrong domain returns no data.
///
/// The region domain is used only when the configured base is itself one of
/// Wonde's hosts: an LA that points the import at a local mirror or its own
/// API gateway gets every school from there, whatever domain Wonde names.
/// The school's base is then always https on the region's host, so a region
/// can never turn a request carrying the token into plain http, and a domain
/// outside Wonde's own (`*.wonde.com`) is refused: the host would refuse to
/// send the token there anyway.
pub fn school_base<'a>(base: &'a str, domain: Option<&str>) -> Result<Cow<'a, str>, String> {
    let Some(domain) = domain.map(str::trim).filter(|d| !d.is_empty()) else {
        return Ok(Cow::Borrowed(base));
    };
    let (start, end) = authority(base).ok_or_else(|| {
        format!("the Wonde base URL `{base}` (System Default `wonde.base_url`) has no host")
    })?;
    if !is_wonde_host(&base[start..end]) {
        return Ok(Cow::Borrowed(base));
    }
    if base[start..end].eq_ignore_ascii_case(domain) && base.starts_with("https://") {
        return Ok(Cow::Borrowed(base));
    }
    // The domain becomes part of a URL that carries the token: it must be a
    // plain host name of Wonde's, unable to change the path or add a port
    // or a user name.
    let plain = domain
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'));
    if !plain || !is_wonde_host(domain) {
        return Err(format!(
            "Wonde gives the region domain `{domain}`, which is not one of Wonde's own hosts (*.wonde.com)"
        ));
    }
    Ok(Cow::Owned(format!("https://{domain}{}", &base[end..])))
}

/// Whether a host[:port] is one of Wonde's own: `wonde.com` or a subdomain,
/// on the default port. (The host's HTTP policy holds the same rule for the
/// `wonde` credential.)
fn is_wonde_host(authority: &str) -> bool {
    let host = authority.to_ascii_lowercase();
    let host = host.strip_suffix(":443").unwrap_or(&host);
    host == "wonde.com" || host.ends_with(".wonde.com")
}

/// Where the host[:port] of `url` starts and ends.
fn authority(url: &str) -> Option<(usize, usize)> {
    let start = url.find("://")? + 3;
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |at| start + at);
    (end > start).then_some((start, end))
}

/// `id` safe to put in a path segment. Wonde ids are letters and digits, but
/// an id must never be able to change which path is asked for.
fn segment(id: &str) -> Cow<'_, str> {
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    if id.bytes().all(unreserved) {
        return Cow::Borrowed(id);
    }
    let mut out = String::with_capacity(id.len() * 3);
    for b in id.bytes() {
        if unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Cow::Owned(out)
}

/// `at` as Wonde's `updated_after` value, `YYYY-MM-DD HH:MM:SS` in UTC, with
/// the space written `%20` so it can go straight into a query.
///
/// A dozen lines of calendar arithmetic rather than `chrono`, which would
/// add a dependency (and its wasm size) for one format.
pub fn updated_after(at: Timestamp) -> String {
    let (days, secs) = (at.div_euclid(86_400), at.rem_euclid(86_400));
    let (year, month, day) = civil_date(days);
    format!(
        "{year:04}-{month:02}-{day:02}%20{:02}:{:02}:{:02}",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
}

/// The proleptic Gregorian (year, month, day) of `days` since 1970-01-01, by
/// Howard Hinnant's `civil_from_days`.
fn civil_date(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // day of era, 0..=146_096
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1st
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://api.wonde.com/v1.0/";

    #[test]
    fn base_always_ends_in_one_slash() {
        assert_eq!(base("https://api.wonde.com/v1.0"), BASE);
        assert_eq!(base(" https://api.wonde.com/v1.0// "), BASE);
        assert_eq!(base(BASE), BASE);
    }

    #[test]
    fn builds_the_requests() {
        assert_eq!(schools(BASE), "https://api.wonde.com/v1.0/schools");
        assert_eq!(
            students(BASE, "A123", 200, None),
            "https://api.wonde.com/v1.0/schools/A123/students?include=contact_details,education_details,\
             extended_details,year,contacts,contacts.contact_details&per_page=200"
        );
        let since = updated_after(1_721_471_054);
        assert_eq!(
            students(BASE, "A123", 50, Some(&since))
                .rsplit_once('&')
                .unwrap()
                .1,
            "updated_after=2024-07-20%2010:24:14"
        );
        assert_eq!(
            deletions(BASE, "A123", 200, Some(&since)),
            "https://api.wonde.com/v1.0/schools/A123/deletions?type=student&per_page=200\
             &updated_after=2024-07-20%2010:24:14"
        );
        assert_eq!(
            deletions(BASE, "a/b?c d", 1, None),
            "https://api.wonde.com/v1.0/schools/a%2Fb%3Fc%20d/deletions?type=student&per_page=1"
        );
    }

    #[test]
    fn region_domain_replaces_a_wonde_host_over_https_only() {
        assert_eq!(school_base(BASE, None).unwrap(), BASE);
        assert_eq!(school_base(BASE, Some(" ")).unwrap(), BASE);
        assert_eq!(school_base(BASE, Some("API.wonde.com")).unwrap(), BASE);
        assert_eq!(
            school_base(BASE, Some("api-eu.wonde.com")).unwrap(),
            "https://api-eu.wonde.com/v1.0/"
        );
        // Never a downgrade, even when the base was written with http.
        assert_eq!(
            school_base("http://api.wonde.com/v1.0/", Some("api.wonde.com")).unwrap(),
            "https://api.wonde.com/v1.0/"
        );
        for bad in [
            "evil.example",
            "api.wonde.com.evil.example",
            "api.wonde.com:80",
            "user@api.wonde.com",
            "a b",
        ] {
            assert!(
                school_base(BASE, Some(bad)).unwrap_err().contains(bad),
                "{bad}"
            );
        }
        assert!(school_base("no-scheme/v1.0/", Some("x")).is_err());
    }

    #[test]
    fn a_mirror_or_gateway_serves_every_school_itself() {
        for base in [
            "http://127.0.0.1:8080/v1.0/",
            "https://gateway.la.gov.uk/wonde/v1.0/",
        ] {
            for domain in ["api.wonde.com", "127.0.0.1:8080", "elsewhere.example"] {
                assert_eq!(school_base(base, Some(domain)).unwrap(), base);
            }
        }
    }

    #[test]
    fn formats_utc_instants() {
        assert_eq!(updated_after(0), "1970-01-01%2000:00:00");
        assert_eq!(updated_after(951_782_400), "2000-02-29%2000:00:00");
        assert_eq!(updated_after(1_709_251_199), "2024-02-29%2023:59:59");
        assert_eq!(updated_after(4_107_542_400), "2100-03-01%2000:00:00");
        assert_eq!(updated_after(-1), "1969-12-31%2023:59:59");
        // Nonsense instants still format rather than panic.
        assert!(!updated_after(i64::MIN).is_empty());
        assert!(!updated_after(i64::MAX).is_empty());
    }

    #[test]
    fn civil_dates_round_every_day_of_a_leap_cycle() {
        // Walking day by day from 1970 for 400 years must step the calendar
        // by exactly one day each time.
        let mut previous = civil_date(-1);
        for days in 0..146_097 {
            let (y, m, d) = civil_date(days);
            let next_of_previous = if d == 1 {
                (m == 1 && previous == (y - 1, 12, 31))
                    || (m > 1 && previous.0 == y && previous.1 == m - 1)
            } else {
                previous == (y, m, d - 1)
            };
            assert!(next_of_previous, "{previous:?} then {:?}", (y, m, d));
            previous = (y, m, d);
        }
        assert_eq!(previous, (2369, 12, 31));
    }
}
