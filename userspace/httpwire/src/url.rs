//! `http` and `https` URLs, as an ACS URL or a download URL is written.

use std::fmt;
use std::net::Ipv6Addr;

use crate::error::HttpError;
use crate::head::MAX_LINE_LEN;

/// The two schemes this crate speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `http`, default port 80.
    Http,
    /// `https`, default port 443.
    Https,
}

impl Scheme {
    /// The port used when the URL names none.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// A parsed absolute `http`/`https` URL.
///
/// ```
/// use httpwire::{Scheme, Url};
/// let u = Url::parse("https://[2001:db8::1]:7547/acs?x=1#frag")?;
/// assert_eq!(u.scheme(), Scheme::Https);
/// assert_eq!(u.host(), "2001:db8::1");
/// assert_eq!(u.port(), 7547);
/// assert_eq!(u.target(), "/acs?x=1");
/// assert_eq!(u.host_header(), "[2001:db8::1]:7547");
/// assert!(Url::parse("https://user:pw@acs.example.net/").is_err());
/// # Ok::<(), httpwire::HttpError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Url {
    scheme: Scheme,
    /// Lower case; an IPv6 literal without brackets.
    host: String,
    port: u16,
    /// Path and query, `/` when the URL has none; never a fragment.
    target: String,
}

impl Url {
    /// Parses an absolute URL: `http` or `https` (any case), a host (name, IPv4, or IPv6 in
    /// brackets without a zone), an optional port (1..=65535), then path and query. The
    /// fragment is dropped (it is never sent).
    ///
    /// Refused: other schemes, userinfo (`user:pw@`: credentials do not belong in a URL that
    /// ends up in logs and parameters), percent-encoded or otherwise odd host names, spaces and
    /// non-ASCII characters (percent-encode them), and URLs longer than 8 KiB.
    pub fn parse(s: &str) -> Result<Url, HttpError> {
        if s.len() > MAX_LINE_LEN {
            return Err(HttpError::Url("longer than 8 KiB"));
        }
        if !s.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(HttpError::Url("space, control or non-ASCII character"));
        }
        let (scheme, rest) = s
            .split_once("://")
            .ok_or(HttpError::Url("not an absolute http(s) URL"))?;
        let scheme = if scheme.eq_ignore_ascii_case("http") {
            Scheme::Http
        } else if scheme.eq_ignore_ascii_case("https") {
            Scheme::Https
        } else {
            return Err(HttpError::Url("scheme is not http or https"));
        };
        let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(auth_end);
        if authority.contains('@') {
            return Err(HttpError::Url("userinfo is not allowed"));
        }
        let (host, port_text) = if let Some(v6) = authority.strip_prefix('[') {
            let (addr, after) = v6
                .split_once(']')
                .ok_or(HttpError::Url("unclosed IPv6 bracket"))?;
            addr.parse::<Ipv6Addr>()
                .map_err(|_| HttpError::Url("invalid IPv6 address"))?;
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or(HttpError::Url("junk after IPv6 address"))?,
                ),
            };
            (addr.to_ascii_lowercase(), port)
        } else {
            let (h, p) = match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            };
            if h.is_empty() {
                return Err(HttpError::Url("empty host"));
            }
            if !h
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
            {
                return Err(HttpError::Url("invalid character in host"));
            }
            (h.to_ascii_lowercase(), p)
        };
        let port = match port_text {
            // RFC 3986 allows an empty port: the default applies.
            None | Some("") => scheme.default_port(),
            Some(p) => {
                if p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(HttpError::Url("port is not a number"));
                }
                match p.parse::<u16>() {
                    Ok(n) if n > 0 => n,
                    _ => return Err(HttpError::Url("port out of range")),
                }
            }
        };
        let without_fragment = tail.split('#').next().unwrap_or("");
        let target = if without_fragment.is_empty() {
            "/".to_owned()
        } else if without_fragment.starts_with('?') {
            format!("/{without_fragment}")
        } else {
            without_fragment.to_owned()
        };
        Ok(Url {
            scheme,
            host,
            port,
            target,
        })
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Whether the scheme is `https`.
    pub fn is_secure(&self) -> bool {
        self.scheme == Scheme::Https
    }

    /// The host, lower case; an IPv6 literal without brackets (what a resolver or a TLS server
    /// name check wants).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, the scheme's default if the URL names none.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The request-target for an origin server: path and query, at least `/`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The request target's path, without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("/")
    }

    /// `host` or `host:port`, IPv6 in brackets: the value of the `Host` field (the port only if
    /// it is not the default, RFC 9110 §7.2).
    pub fn host_header(&self) -> String {
        let host = self.bracketed_host();
        if self.port == self.scheme.default_port() {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// `host:port` with IPv6 in brackets, for `TcpStream::connect`.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.bracketed_host(), self.port)
    }

    fn bracketed_host(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }

    /// Resolves a `Location` value against this URL: an absolute URL, a scheme-relative
    /// `//host/path`, an absolute path `/path`, or a relative path (merged with this URL's
    /// directory; `.` and `..` segments are not removed). Whether to follow it is the caller's
    /// decision.
    pub fn join(&self, location: &str) -> Result<Url, HttpError> {
        let loc = location.trim();
        if loc.contains("://") && !loc.starts_with('/') {
            return Url::parse(loc);
        }
        if let Some(rest) = loc.strip_prefix("//") {
            return Url::parse(&format!("{}://{rest}", self.scheme.as_str()));
        }
        let target = if loc.starts_with('/') {
            loc.to_owned()
        } else if let Some(q) = loc.strip_prefix('?') {
            format!("{}?{q}", self.path())
        } else {
            let path = self.path();
            let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
            format!("{dir}{loc}")
        };
        Url::parse(&format!(
            "{}://{}{}",
            self.scheme.as_str(),
            self.host_header(),
            target
        ))
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}{}",
            self.scheme.as_str(),
            self.host_header(),
            self.target
        )
    }
}

impl fmt::Debug for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Url({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let u = Url::parse("HTTP://ACS.Example.net").unwrap();
        assert_eq!(
            (u.scheme(), u.host(), u.port(), u.target()),
            (Scheme::Http, "acs.example.net", 80, "/")
        );
        assert_eq!(u.host_header(), "acs.example.net");
        assert_eq!(u.authority(), "acs.example.net:80");
        let u = Url::parse("https://192.0.2.7:8443?x").unwrap();
        assert_eq!(
            (u.port(), u.target(), u.host_header()),
            (8443, "/?x", "192.0.2.7:8443".into())
        );
        let u = Url::parse("https://[::1]/").unwrap();
        assert_eq!(
            (u.host(), u.port(), u.authority()),
            ("::1", 443, "[::1]:443".into())
        );
        assert_eq!(Url::parse("http://h:/p").unwrap().port(), 80);
        assert_eq!(Url::parse("http://h/p#f").unwrap().to_string(), "http://h/p");
        for bad in [
            "ftp://h/",
            "h/path",
            "http://",
            "http://u@h/",
            "http://[::1/",
            "http://[fe80::1%25eth0]/",
            "http://[::1]x/",
            "http://h:0/",
            "http://h:65536/",
            "http://h:-1/",
            "http://h:80:80/",
            "http://h%41/",
            "http://h/a b",
            "http://h/é",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn joins() {
        let base = Url::parse("https://acs.example.net:8443/a/b?q").unwrap();
        assert_eq!(
            base.join("/x").unwrap().to_string(),
            "https://acs.example.net:8443/x"
        );
        assert_eq!(
            base.join("c?d").unwrap().to_string(),
            "https://acs.example.net:8443/a/c?d"
        );
        assert_eq!(
            base.join("?z").unwrap().to_string(),
            "https://acs.example.net:8443/a/b?z"
        );
        assert_eq!(base.join("//other/p").unwrap().to_string(), "https://other/p");
        assert_eq!(base.join("http://o:81/").unwrap().to_string(), "http://o:81/");
        assert!(base.join("ftp://x/").is_err());
    }
}
