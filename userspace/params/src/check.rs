//! Syntax checks for text parameters. Each returns `Err` with what is
//! allowed, in words an operator understands.

/// Letters, digits, `.`, `_`, `-`; not empty.
pub fn token(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "character {c:?} not allowed (letters, digits, . _ - only)"
        ));
    }
    Ok(())
}

fn valid_hostname(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// `Role=led,Role=led`: role names are letters/digits, LED names are the
/// LED class's (no `/`, `,`, `=` or spaces).
pub fn role_map(s: &str) -> Result<(), String> {
    for (i, pair) in s.split(',').enumerate().filter(|(_, p)| !p.trim().is_empty()) {
        let (role, led) = pair
            .split_once('=')
            .ok_or(format!("entry {}: expected Role=led-name", i + 1))?;
        let (role, led) = (role.trim(), led.trim());
        if role.is_empty() || !role.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!(
                "entry {}: role {role:?} must be letters and digits",
                i + 1
            ));
        }
        if led.is_empty()
            || led.len() > 64
            || led
                .chars()
                .any(|c| matches!(c, '/' | ',' | '=') || c.is_whitespace() || c.is_control())
        {
            return Err(format!(
                "entry {}: LED name {led:?} is not a LED class name",
                i + 1
            ));
        }
    }
    Ok(())
}

/// `host`, `host:port`, `1.2.3.4[:port]`, `[v6][:port]`; empty is allowed
/// (meaning "not configured").
pub fn host_port(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or("unclosed [ in IPv6 address")?;
        h.parse::<std::net::Ipv6Addr>()
            .map_err(|_| format!("{h:?} is not an IPv6 address"))?;
        match after {
            "" => return Ok(()),
            p => (None, p.strip_prefix(':').ok_or("expected :port after ]")?),
        }
    } else if s.parse::<std::net::Ipv6Addr>().is_ok() {
        return Ok(());
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (Some(h), p),
            None => (Some(s), ""),
        }
    };
    if let Some(h) = host {
        if h.parse::<std::net::Ipv4Addr>().is_err() && !valid_hostname(h) {
            return Err(format!("{h:?} is not a host name or IP address"));
        }
    }
    if !port.is_empty() {
        match port.parse::<u16>() {
            Ok(p) if p > 0 => {}
            _ => return Err(format!("port {port:?} must be 1-65535")),
        }
    }
    Ok(())
}

/// `http://host[:port][/path]` or `https://...`; empty allowed.
pub fn http_url(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or("must start with http:// or https://")?;
    if rest.contains(char::is_whitespace) {
        return Err("must not contain spaces".into());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(
            "credentials in the URL are not allowed; use the user name and password parameters".into(),
        );
    }
    host_port(authority).map_err(|e| format!("host part: {e}"))?;
    if authority.is_empty() {
        return Err("missing host".into());
    }
    Ok(())
}

/// A POSIX TZ string (`std offset [dst [offset] [,start[/time],end[/time]]]`),
/// optionally followed by `;IANA/Name` as newer DGW releases accept. The
/// `tz` crate's parser decides, so what the schema accepts is exactly what
/// the time service can apply.
pub fn posix_tz(s: &str) -> Result<(), String> {
    tz::TimeZone::parse(s).map(drop).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posix_tz_examples_from_the_dgw() {
        for ok in [
            "EST5EDT4,M3.2.0/02:00:00,M11.1.0/02:00:00",
            "EST5DST4,M4.1.0/02:00:00,M10.5.0/02:00:00",
            "PST8PDT7,M3.2.0/02:00:00,M11.1.0/02:00:00",
            "GMT0DMT-1,M3.5.0/01:00:00,M10.5.0/02:00:00",
            "WEST-1DWEST-2,M3.5.0/02:00:00,M10.5.0/03:00:00",
            "CST-8",
            "TST-9",
            "CAUST-9:30DCAUST-10:30,M10.5.0/02:00:00,M3.5.0/02:00:00",
            "UTC0",
            "CET-1CEST,M3.5.0,M10.5.0/3",
            "<+0530>-5:30",
            "EST5EDT4,M3.2.0/02:00:00,M11.1.0/02:00:00;America/New_York",
            "NZST-12NZDT,M9.5.0,M4.1.0/3",
        ] {
            assert_eq!(posix_tz(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "E5",
            "EST",
            "EST5EDT",
            "EST5EDT,M13.1.0,M11.1.0",
            "EST5EDT,M3.2.0",
            "EST5;",
            "EST99999",
            "EST5EDT4,M3.2.0/25:99,M11.1.0",
        ] {
            assert!(posix_tz(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn hosts_and_urls() {
        for ok in [
            "",
            "sip.example.net",
            "sip.example.net:5061",
            "192.0.2.1",
            "192.0.2.1:5061",
            "[2001:db8::1]:5061",
            "2001:db8::1",
        ] {
            assert_eq!(host_port(ok), Ok(()), "{ok}");
        }
        for bad in [
            "-bad.example",
            "a..b",
            "host:0",
            "host:99999",
            "[2001:db8::1",
            "exa mple",
        ] {
            assert!(host_port(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(http_url("https://acs.example.net:7548/cwmp"), Ok(()));
        assert!(http_url("ftp://x").is_err());
        assert!(http_url("https://user:pw@acs.example.net/").is_err());
        assert!(http_url("https://").is_err());
    }
}
