//! A minimal cookie jar for one ACS session (a subset of RFC 6265).
//!
//! TR-069 ACSes keep their session state in a cookie and expect it back on every request of the
//! session (TR-069 §3.4.1). That is all this jar is for: it stores `Set-Cookie` answers and
//! sends the matching cookies back. It keeps no public suffix list, so it must not be shared
//! between unrelated servers; a jar per ACS session is the intended use.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Most cookies kept; the least recently set one goes first when a new one arrives.
pub const MAX_COOKIES: usize = 50;

/// Longest cookie kept, name and value together (RFC 6265 §6.1's minimum a client must support).
pub const MAX_COOKIE_LEN: usize = 4096;

/// One stored cookie.
#[derive(Clone, PartialEq, Eq)]
pub struct Cookie {
    /// Cookie name.
    pub name: String,
    /// Cookie value, as received (quotes included).
    pub value: String,
    /// Host (host-only cookie) or domain (domain cookie), lower case, without a leading dot.
    pub domain: String,
    /// Sent only to exactly `domain`, not its subdomains (no `Domain` attribute was given).
    pub host_only: bool,
    /// Path prefix the cookie is sent for.
    pub path: String,
    /// Sent only over TLS.
    pub secure: bool,
    /// When it expires; `None` for a session cookie (kept as long as the jar).
    pub expires: Option<SystemTime>,
}

impl std::fmt::Debug for Cookie {
    /// The value is a session key: it is not printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cookie")
            .field("name", &self.name)
            .field("value", &"<redacted>")
            .field("domain", &self.domain)
            .field("host_only", &self.host_only)
            .field("path", &self.path)
            .field("secure", &self.secure)
            .field("expires", &self.expires)
            .finish()
    }
}

/// Cookies of one session, bounded to [`MAX_COOKIES`] of at most [`MAX_COOKIE_LEN`] bytes.
///
/// ```
/// use std::time::SystemTime;
/// use httpwire::CookieJar;
/// let mut jar = CookieJar::new();
/// let now = SystemTime::now();
/// jar.store("sid=abc123; Path=/acs; Secure; HttpOnly", "acs.example.net", "/acs/cwmp", now);
/// assert_eq!(jar.header_value("acs.example.net", "/acs/cwmp", true, now).as_deref(), Some("sid=abc123"));
/// assert_eq!(jar.header_value("acs.example.net", "/acs/cwmp", false, now), None); // Secure
/// assert_eq!(jar.header_value("acs.example.net", "/other", true, now), None); // Path
/// ```
#[derive(Clone, Debug, Default)]
pub struct CookieJar {
    /// In the order they were (last) set.
    cookies: Vec<Cookie>,
}

impl CookieJar {
    /// An empty jar.
    pub fn new() -> CookieJar {
        CookieJar::default()
    }

    /// Number of cookies stored (expired ones included until the next store or lookup).
    pub fn len(&self) -> usize {
        self.cookies.len()
    }

    /// Whether the jar is empty.
    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }

    /// Forgets every cookie (end of the ACS session).
    pub fn clear(&mut self) {
        self.cookies.clear();
    }

    /// The stored cookies.
    pub fn iter(&self) -> impl Iterator<Item = &Cookie> {
        self.cookies.iter()
    }

    /// Stores the cookie of one `Set-Cookie` value received in answer to a request to
    /// `request_host` (no port; IPv6 without brackets) for `request_path`. Returns whether it
    /// was stored (or deleted, for an expired one); a cookie RFC 6265 says to ignore (no `=`,
    /// empty name, control characters, too long, a `Domain` the host is not in) returns false.
    pub fn store(
        &mut self,
        set_cookie: &str,
        request_host: &str,
        request_path: &str,
        now: SystemTime,
    ) -> bool {
        let Some(cookie) = parse_set_cookie(set_cookie, request_host, request_path, now) else {
            return false;
        };
        // Drop the cookie this one replaces, and any that expired meanwhile.
        let replaced =
            |c: &Cookie| c.name == cookie.name && c.domain == cookie.domain && c.path == cookie.path;
        self.cookies.retain(|c| !replaced(c) && !is_expired(c, now));
        if is_expired(&cookie, now) {
            // An expiry in the past is how a server deletes a cookie.
            return true;
        }
        if self.cookies.len() >= MAX_COOKIES {
            self.cookies.remove(0);
        }
        self.cookies.push(cookie);
        true
    }

    /// The `Cookie` header value for a request to `host` and `path` (a request-target; the query
    /// is ignored), or `None` if no cookie matches. `secure`: the request goes over TLS.
    /// Longer paths come first (RFC 6265 §5.4).
    pub fn header_value(&self, host: &str, path: &str, secure: bool, now: SystemTime) -> Option<String> {
        let host = host.to_ascii_lowercase();
        let path = path.split(['?', '#']).next().unwrap_or("/");
        let mut matching: Vec<&Cookie> = self
            .cookies
            .iter()
            .filter(|c| !is_expired(c, now))
            .filter(|c| !c.secure || secure)
            .filter(|c| {
                if c.host_only {
                    c.domain == host
                } else {
                    domain_match(&host, &c.domain)
                }
            })
            .filter(|c| path_match(path, &c.path))
            .collect();
        if matching.is_empty() {
            return None;
        }
        // Stable: equal paths keep the order they were set in.
        matching.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        let parts: Vec<String> = matching
            .iter()
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        Some(parts.join("; "))
    }
}

fn is_expired(c: &Cookie, now: SystemTime) -> bool {
    c.expires.is_some_and(|e| e <= now)
}

/// RFC 6265 §5.1.3.
fn domain_match(host: &str, domain: &str) -> bool {
    if host == domain {
        return true;
    }
    // Only names match by suffix: an IP address matches itself only.
    host.len() > domain.len()
        && host.ends_with(domain)
        && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
        && !is_ip(host)
}

fn is_ip(host: &str) -> bool {
    host.parse::<std::net::IpAddr>().is_ok()
}

/// RFC 6265 §5.1.4.
fn path_match(request: &str, cookie: &str) -> bool {
    request == cookie
        || (request.starts_with(cookie)
            && (cookie.ends_with('/') || request.as_bytes().get(cookie.len()) == Some(&b'/')))
}

/// RFC 6265 §5.1.4's default-path: the request path up to, not including, its last `/`.
fn default_path(request_path: &str) -> String {
    let path = request_path.split(['?', '#']).next().unwrap_or("");
    if !path.starts_with('/') {
        return "/".into();
    }
    match path.rfind('/') {
        Some(0) | None => "/".into(),
        Some(i) => path[..i].to_owned(),
    }
}

fn parse_set_cookie(s: &str, host: &str, request_path: &str, now: SystemTime) -> Option<Cookie> {
    // RFC 6265bis: a cookie with a control character (other than tab) is ignored entirely.
    if s.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return None;
    }
    let mut parts = s.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let (name, value) = (name.trim(), value.trim());
    if name.is_empty() || name.len() + value.len() > MAX_COOKIE_LEN {
        return None;
    }
    let host = host.to_ascii_lowercase();
    let mut cookie = Cookie {
        name: name.to_owned(),
        value: value.to_owned(),
        domain: host.clone(),
        host_only: true,
        path: default_path(request_path),
        secure: false,
        expires: None,
    };
    let mut max_age: Option<SystemTime> = None;
    let mut expires: Option<SystemTime> = None;
    for attr in parts {
        let (k, v) = match attr.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (attr.trim(), ""),
        };
        if k.eq_ignore_ascii_case("expires") {
            if let Some(t) = parse_cookie_date(v) {
                expires = Some(t);
            }
        } else if k.eq_ignore_ascii_case("max-age") {
            let digits = v.strip_prefix('-').unwrap_or(v);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                // Zero or negative: expire now. Huge values are capped rather than overflowing.
                max_age = Some(if v.starts_with('-') {
                    UNIX_EPOCH
                } else {
                    let secs = v.parse::<u64>().unwrap_or(u64::MAX).min(400 * 86_400);
                    if secs == 0 {
                        UNIX_EPOCH
                    } else {
                        now + Duration::from_secs(secs)
                    }
                });
            }
        } else if k.eq_ignore_ascii_case("domain") {
            let d = v.strip_prefix('.').unwrap_or(v).to_ascii_lowercase();
            if !d.is_empty() {
                // A domain the host is not in: refuse the whole cookie (RFC 6265 §5.3 step 6).
                if !domain_match(&host, &d) {
                    return None;
                }
                cookie.domain = d;
                cookie.host_only = host == cookie.domain;
            }
        } else if k.eq_ignore_ascii_case("path") {
            cookie.path = if v.starts_with('/') {
                v.to_owned()
            } else {
                default_path(request_path)
            };
        } else if k.eq_ignore_ascii_case("secure") {
            cookie.secure = true;
        }
        // HttpOnly, SameSite and extensions mean nothing to a client without scripts.
    }
    // Max-Age wins over Expires (RFC 6265 §5.3 step 3).
    cookie.expires = max_age.or(expires);
    Some(cookie)
}

/// RFC 6265 §5.1.1's date algorithm (it accepts the date formats found in the wild).
fn parse_cookie_date(s: &str) -> Option<SystemTime> {
    let is_delim = |c: char| {
        c == '\t'
            || (' '..='/').contains(&c)
            || (';'..='@').contains(&c)
            || ('['..='`').contains(&c)
            || ('{'..='~').contains(&c)
    };
    let (mut time, mut day, mut month, mut year) = (None, None, None, None);
    for tok in s.split(is_delim).filter(|t| !t.is_empty()) {
        if time.is_none() {
            if let Some(t) = parse_time(tok) {
                time = Some(t);
                continue;
            }
        }
        if day.is_none() {
            if let Some(d) = leading_digits(tok, 1, 2) {
                day = Some(d);
                continue;
            }
        }
        if month.is_none() && tok.len() >= 3 {
            const MONTHS: [&str; 12] = [
                "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
            ];
            if let Some(m) = tok
                .get(..3)
                .and_then(|p| MONTHS.iter().position(|m| m.eq_ignore_ascii_case(p)))
            {
                month = Some(m as u64 + 1);
                continue;
            }
        }
        if year.is_none() {
            if let Some(y) = leading_digits(tok, 2, 4) {
                year = Some(y);
                continue;
            }
        }
    }
    let (h, mi, sec) = time?;
    let (day, month, mut year) = (day?, month?, year?);
    if (70..=99).contains(&year) {
        year += 1900;
    } else if year <= 69 {
        year += 2000;
    }
    if !(1..=31).contains(&day) || year < 1601 || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let days = days_from_civil(year as i64, month as i64, day as i64);
    let secs = days * 86_400 + (h * 3600 + mi * 60 + sec) as i64;
    // A date before 1970 is in the past: the cookie is deleted, which the epoch expresses.
    Some(u64::try_from(secs).map_or(UNIX_EPOCH, |s| UNIX_EPOCH + Duration::from_secs(s)))
}

/// `min..=max` digits at the start of `tok`, followed by nothing or a non-digit.
fn leading_digits(tok: &str, min: usize, max: usize) -> Option<u64> {
    let n = tok.bytes().take_while(|b| b.is_ascii_digit()).count();
    if n < min || n > max {
        return None;
    }
    tok[..n].parse().ok()
}

fn parse_time(tok: &str) -> Option<(u64, u64, u64)> {
    let mut it = tok.splitn(3, ':');
    let h = leading_digits(it.next()?, 1, 2)?;
    let m = leading_digits(it.next()?, 1, 2)?;
    let s_part = it.next()?;
    let s = leading_digits(s_part, 1, 2)?;
    // The hour and minute fields must be digits only; the second may be followed by junk.
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let mut parts = tok.splitn(3, ':');
    if !all_digits(parts.next()?) || !all_digits(parts.next()?) {
        return None;
    }
    Some((h, m, s))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn dates() {
        // The three formats of RFC 9110 §5.6.7 and a common variant.
        for d in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "06 nov 1994 8:49:37",
        ] {
            assert_eq!(parse_cookie_date(d), Some(at(784_111_777)), "{d}");
        }
        assert_eq!(
            parse_cookie_date("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(UNIX_EPOCH)
        );
        assert_eq!(
            parse_cookie_date("Wed, 01 Jan 1969 00:00:00 GMT"),
            Some(UNIX_EPOCH)
        );
        assert_eq!(
            parse_cookie_date("Tue, 29 Feb 2028 23:59:59 GMT"),
            Some(at(1_835_481_599))
        );
        for bad in [
            "",
            "garbage",
            "Sun, 06 Nov 1994",
            "32 Nov 1994 08:49:37",
            "06 Nov 1500 08:49:37",
            "06 Nov 1994 24:00:00",
        ] {
            assert_eq!(parse_cookie_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn store_and_match() {
        let now = at(1_000_000);
        let mut jar = CookieJar::new();
        assert!(jar.store("a=1", "acs.example.net", "/cwmp/x", now));
        assert!(jar.store(
            "b=2; Path=/; Domain=.Example.NET",
            "acs.example.net",
            "/cwmp/x",
            now
        ));
        assert!(!jar.store("c=3; Domain=other.net", "acs.example.net", "/", now));
        assert!(!jar.store("noequals", "acs.example.net", "/", now));
        assert!(!jar.store("=x", "acs.example.net", "/", now));
        assert!(!jar.store("d=\u{1}", "acs.example.net", "/", now));
        assert_eq!(
            jar.header_value("acs.example.net", "/cwmp/y?q", false, now)
                .as_deref(),
            Some("a=1; b=2")
        );
        assert_eq!(
            jar.header_value("ACS.example.net", "/cwmpx", false, now)
                .as_deref(),
            Some("b=2")
        );
        assert_eq!(
            jar.header_value("x.acs.example.net", "/cwmp/y", false, now)
                .as_deref(),
            Some("b=2")
        );
        assert_eq!(jar.header_value("example.org", "/", false, now), None);
        // Replace, then delete with Max-Age=0 and with an old Expires.
        assert!(jar.store("a=9; Max-Age=100", "acs.example.net", "/cwmp/", now));
        assert_eq!(jar.iter().find(|c| c.name == "a").unwrap().value, "9");
        assert_eq!(
            jar.header_value("acs.example.net", "/cwmp/z", false, at(1_000_101))
                .as_deref(),
            Some("b=2")
        );
        assert!(jar.store("a=0; Max-Age=0", "acs.example.net", "/cwmp/", now));
        assert!(jar.store(
            "b=0; Path=/; Domain=example.net; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            "acs.example.net",
            "/",
            now
        ));
        assert!(jar.is_empty());
        // Max-Age wins over Expires, whatever the order.
        jar.store(
            "e=1; Max-Age=10; Expires=Thu, 01 Jan 1970 00:00:01 GMT",
            "h",
            "/",
            now,
        );
        assert_eq!(jar.len(), 1);
        // IP hosts match themselves only.
        assert!(!jar.store("f=1; Domain=0.0.1", "10.0.0.1", "/", now));
        assert!(jar.store("f=1; Domain=10.0.0.1", "10.0.0.1", "/", now));
        assert!(!format!("{jar:?}").contains("f=1"));
    }

    #[test]
    fn bounds() {
        let now = at(5);
        let mut jar = CookieJar::new();
        for i in 0..MAX_COOKIES + 10 {
            assert!(jar.store(&format!("c{i}=v"), "h", "/", now));
        }
        assert_eq!(jar.len(), MAX_COOKIES);
        assert!(jar.iter().all(|c| c.name != "c0"));
        let big = format!("n={}", "x".repeat(MAX_COOKIE_LEN));
        assert!(!jar.store(&big, "h", "/", now));
        assert_eq!(default_path("/a/b/c?x=/y"), "/a/b");
        assert_eq!(default_path("/a"), "/");
        assert_eq!(default_path("*"), "/");
    }
}
