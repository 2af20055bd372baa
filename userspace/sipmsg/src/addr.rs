//! URIs (RFC 3261 19.1), name-addr values (From, To, Contact: RFC 3261 20.10) and Via values.

use std::fmt;

use crate::{err, is_lws, is_token, is_token_char, trim_lws, ParseError, MAX_PARAMS, MAX_URI};

/// A parameter list: names and optional values, as written, in order.
type Params = Vec<(String, Option<String>)>;

/// The URI scheme: only SIP's own two are understood.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `sip:`
    Sip,
    /// `sips:` (TLS on every hop)
    Sips,
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
        })
    }
}

/// A `sip:` or `sips:` URI. Parts are kept as written (percent escapes are checked but not
/// decoded), so [`Display`](fmt::Display) writes back what was parsed, with the scheme in lower
/// case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uri {
    /// `sip` or `sips`.
    pub scheme: Scheme,
    /// The user part, escapes kept.
    pub user: Option<String>,
    /// The password part (deprecated by RFC 3261, but valid).
    pub password: Option<String>,
    /// A host name, IPv4 address, or IPv6 reference kept with its brackets (`[2001:db8::1]`).
    pub host: String,
    /// The port, when written.
    pub port: Option<u16>,
    /// URI parameters (`;transport=tls`, `;lr`), names and values as written.
    pub params: Vec<(String, Option<String>)>,
    /// URI headers (`?Subject=x&Priority=urgent`), as written.
    pub headers: Vec<(String, String)>,
}

/// Characters of RFC 3261 `unreserved`.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b)
}

fn is_user_char(b: u8) -> bool {
    is_unreserved(b) || b"&=+$,;?/".contains(&b)
}

fn is_password_char(b: u8) -> bool {
    is_unreserved(b) || b"&=+$,".contains(&b)
}

fn is_param_char(b: u8) -> bool {
    is_unreserved(b) || b"[]/:&+$".contains(&b)
}

fn is_hnv_char(b: u8) -> bool {
    is_unreserved(b) || b"[]/?:+$".contains(&b)
}

/// Whether `s` is made of `allowed` characters and well-formed `%HH` escapes.
fn valid_escaped(s: &str, allowed: fn(u8) -> bool) -> bool {
    let mut it = s.bytes();
    while let Some(b) = it.next() {
        if b == b'%' {
            match (it.next(), it.next()) {
                (Some(h), Some(l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {}
                _ => return false,
            }
        } else if !allowed(b) {
            return false;
        }
    }
    true
}

/// Parses `host[:port]`. With `lws`, spaces are allowed around the colon (Via's `sent-by`).
pub(crate) fn parse_host_port(s: &str, lws: bool) -> Result<(String, Option<u16>), ParseError> {
    let (host, port) = if s.starts_with('[') {
        let Some(end) = s.find(']') else {
            return err("unterminated IPv6 reference");
        };
        let (host, rest) = s.split_at(end + 1);
        let inner = host.trim_start_matches('[').trim_end_matches(']');
        if inner.is_empty()
            || inner.len() > 45
            || !inner.contains(':')
            || !inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return err("bad IPv6 reference");
        }
        let rest = if lws {
            rest.trim_start_matches(is_lws)
        } else {
            rest
        };
        let port = match rest.strip_prefix(':') {
            Some(p) => Some(p),
            None if rest.is_empty() => None,
            None => return err("junk after host"),
        };
        (host, port)
    } else {
        let (host, port) = match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        };
        let host = if lws { host.trim_end_matches(is_lws) } else { host };
        // Host names, IPv4 addresses; '_' is not in RFC 3261's grammar but is seen in the wild.
        if host.is_empty()
            || host.len() > 255
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        {
            return err("bad host");
        }
        (host, port)
    };
    let port = match port {
        None => None,
        Some(p) => {
            let p = if lws { p.trim_start_matches(is_lws) } else { p };
            Some(parse_port(p)?)
        }
    };
    Ok((host.to_string(), port))
}

fn parse_port(p: &str) -> Result<u16, ParseError> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return err("bad port");
    }
    p.parse::<u16>().or_else(|_| err("bad port"))
}

/// Looks a parameter up by name, case-insensitively.
fn find_param<'a>(params: &'a [(String, Option<String>)], name: &str) -> Option<Option<&'a str>> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_deref())
}

/// Replaces the first parameter called `name` (case-insensitively) or appends it.
fn set_param_in(params: &mut Params, name: &str, value: Option<&str>) {
    let value = value.map(str::to_string);
    match params.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        Some(p) => p.1 = value,
        None => params.push((name.to_string(), value)),
    }
}

fn write_params(f: &mut fmt::Formatter<'_>, params: &[(String, Option<String>)]) -> fmt::Result {
    for (n, v) in params {
        match v {
            Some(v) => write!(f, ";{n}={v}")?,
            None => write!(f, ";{n}")?,
        }
    }
    Ok(())
}

impl Uri {
    /// Parses a `sip:` or `sips:` URI (surrounding spaces ignored, none allowed inside).
    pub fn parse(s: &str) -> Result<Uri, ParseError> {
        let s = trim_lws(s);
        if s.len() > MAX_URI {
            return err("URI too long");
        }
        let Some((scheme, rest)) = s.split_once(':') else {
            return err("URI without scheme");
        };
        let scheme = if scheme.eq_ignore_ascii_case("sip") {
            Scheme::Sip
        } else if scheme.eq_ignore_ascii_case("sips") {
            Scheme::Sips
        } else {
            return err("unsupported URI scheme");
        };
        // '@' cannot appear unescaped anywhere but between userinfo and host, and ';' or '?' can
        // appear in the user part, so the userinfo is split off first.
        let (userinfo, hostpart) = match rest.split_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(u) => {
                let (user, password) = match u.split_once(':') {
                    Some((a, b)) => (a, Some(b)),
                    None => (u, None),
                };
                if user.is_empty() || !valid_escaped(user, is_user_char) {
                    return err("bad URI user");
                }
                if let Some(p) = password {
                    if !valid_escaped(p, is_password_char) {
                        return err("bad URI password");
                    }
                }
                (Some(user.to_string()), password.map(str::to_string))
            }
        };
        let (hostpart, headers_str) = match hostpart.split_once('?') {
            Some((h, q)) => (h, Some(q)),
            None => (hostpart, None),
        };
        let (hostport, params_str) = match hostpart.split_once(';') {
            Some((h, p)) => (h, Some(p)),
            None => (hostpart, None),
        };
        let (host, port) = parse_host_port(hostport, false)?;
        let mut params = Vec::new();
        if let Some(ps) = params_str {
            for p in ps.split(';') {
                if params.len() >= MAX_PARAMS {
                    return err("too many URI parameters");
                }
                let (n, v) = match p.split_once('=') {
                    Some((n, v)) => (n, Some(v)),
                    None => (p, None),
                };
                if n.is_empty() || !valid_escaped(n, is_param_char) {
                    return err("bad URI parameter");
                }
                if let Some(v) = v {
                    if !valid_escaped(v, is_param_char) {
                        return err("bad URI parameter");
                    }
                }
                params.push((n.to_string(), v.map(str::to_string)));
            }
        }
        let mut headers = Vec::new();
        if let Some(hs) = headers_str {
            for h in hs.split('&') {
                if headers.len() >= MAX_PARAMS {
                    return err("too many URI headers");
                }
                let Some((n, v)) = h.split_once('=') else {
                    return err("bad URI header");
                };
                if n.is_empty() || !valid_escaped(n, is_hnv_char) || !valid_escaped(v, is_hnv_char) {
                    return err("bad URI header");
                }
                headers.push((n.to_string(), v.to_string()));
            }
        }
        Ok(Uri {
            scheme,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }

    /// A URI parameter by name (case-insensitive): `None` when absent, `Some(None)` when present
    /// without a value (`;lr`).
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    /// The `transport` parameter's value, as written.
    pub fn transport(&self) -> Option<&str> {
        self.param("transport").flatten()
    }

    /// `host` or `host:port`.
    pub fn host_port(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.clone(),
        }
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme)?;
        if let Some(u) = &self.user {
            f.write_str(u)?;
            if let Some(p) = &self.password {
                write!(f, ":{p}")?;
            }
            f.write_str("@")?;
        }
        f.write_str(&self.host_port())?;
        write_params(f, &self.params)?;
        for (i, (n, v)) in self.headers.iter().enumerate() {
            write!(f, "{}{n}={v}", if i == 0 { '?' } else { '&' })?;
        }
        Ok(())
    }
}

/// Parses a quoted-string at the start of `s`: its unescaped content and the bytes it took.
fn parse_quoted(s: &str) -> Result<(String, usize), ParseError> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    if !matches!(chars.next(), Some((_, '"'))) {
        return err("expected quoted string");
    }
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, i + 1)),
            '\\' => match chars.next() {
                Some((_, e)) if !e.is_control() || e == '\t' => out.push(e),
                _ => return err("bad escape in quoted string"),
            },
            c if c.is_control() && c != '\t' => return err("control character in quoted string"),
            c => out.push(c),
        }
    }
    err("unterminated quoted string")
}

/// Splits `s` at `sep` outside quoted strings; an unterminated quote is an error.
fn split_outside_quotes(s: &str, sep: u8) -> Result<Vec<&str>, ParseError> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, b) in s.bytes().enumerate() {
        if escaped {
            escaped = false;
        } else if quoted {
            match b {
                b'\\' => escaped = true,
                b'"' => quoted = false,
                _ => {}
            }
        } else if b == b'"' {
            quoted = true;
        } else if b == sep {
            out.push(s.get(start..i).unwrap_or(""));
            start = i + 1;
        }
    }
    if quoted {
        return err("unterminated quoted string");
    }
    out.push(s.get(start..).unwrap_or(""));
    Ok(out)
}

/// Parses header parameters (`;name=value` with optional spaces, RFC 3261 `generic-param`): `s`
/// is what follows the element and must be empty or start with `;`. Values are kept as written
/// (quoted strings with their quotes).
fn parse_generic_params(s: &str) -> Result<Params, ParseError> {
    let pieces = split_outside_quotes(s, b';')?;
    let mut it = pieces.into_iter();
    if !it.next().map(trim_lws).unwrap_or("").is_empty() {
        return err("junk before parameters");
    }
    let mut params = Vec::new();
    for p in it {
        if params.len() >= MAX_PARAMS {
            return err("too many parameters");
        }
        let (n, v) = match p.split_once('=') {
            Some((n, v)) => (trim_lws(n), Some(trim_lws(v))),
            None => (trim_lws(p), None),
        };
        if !is_token(n) {
            return err("bad parameter name");
        }
        if let Some(v) = v {
            if v.starts_with('"') {
                let (_, used) = parse_quoted(v)?;
                if used != v.len() {
                    return err("junk after quoted parameter");
                }
            } else if v.is_empty()
                || !v
                    .bytes()
                    .all(|b| is_token_char(b) || b == b':' || b == b'[' || b == b']')
            {
                return err("bad parameter value");
            }
        }
        params.push((n.to_string(), v.map(str::to_string)));
    }
    Ok(params)
}

/// A `name-addr` or `addr-spec` header value: From, To, Contact, Route, Record-Route...
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAddr {
    /// The display name, unquoted (escapes removed).
    pub display: Option<String>,
    /// The address.
    pub uri: Uri,
    /// Header parameters (`;tag=...`, `;expires=...`), values as written.
    pub params: Vec<(String, Option<String>)>,
}

impl NameAddr {
    /// Parses `"Display" <uri>;params`, `Display Name <uri>;params` or a bare `uri;params`. In the
    /// bare form the URI ends at the first `;`: what follows are header parameters, not URI
    /// parameters (RFC 3261 20.10).
    pub fn parse(s: &str) -> Result<NameAddr, ParseError> {
        let s = trim_lws(s);
        let (display, bracketed) = if s.starts_with('"') {
            let (display, used) = parse_quoted(s)?;
            let after = s.get(used..).unwrap_or("").trim_start_matches(is_lws);
            match after.strip_prefix('<') {
                Some(rest) => (Some(display), Some(rest)),
                None => return err("expected < after display name"),
            }
        } else {
            // A display name made of tokens is followed by '<'; anything else is an addr-spec
            // (a URI's ':' is not a token character, so "sip:..." stops the scan at once).
            let stop = s
                .bytes()
                .position(|b| !(is_token_char(b) || b == b' ' || b == b'\t'));
            match stop.and_then(|i| s.get(i..).map(|rest| (i, rest))) {
                Some((i, rest)) if rest.starts_with('<') => {
                    let display = trim_lws(s.get(..i).unwrap_or(""));
                    let display = (!display.is_empty()).then(|| display.to_string());
                    (display, rest.get(1..))
                }
                _ => (None, None),
            }
        };
        let (uri, rest) = match bracketed {
            Some(inner) => match inner.split_once('>') {
                Some((uri, rest)) => (uri, rest),
                None => return err("missing >"),
            },
            None => match s.find(';') {
                Some(i) => s.split_at(i),
                None => (s, ""),
            },
        };
        let uri = Uri::parse(uri)?;
        let params = parse_generic_params(rest)?;
        Ok(NameAddr { display, uri, params })
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&str> {
        self.param("tag").flatten()
    }

    /// A header parameter by name (case-insensitive): `None` when absent, `Some(None)` when
    /// present without a value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    /// Sets a header parameter, replacing an existing one of the same name (the value is written
    /// as given: quote it yourself if it is not a token).
    pub fn set_param(&mut self, name: &str, value: Option<&str>) {
        set_param_in(&mut self.params, name, value)
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            f.write_str("\"")?;
            for c in d.chars() {
                if c == '"' || c == '\\' {
                    f.write_str("\\")?;
                }
                write!(f, "{c}")?;
            }
            f.write_str("\" ")?;
        }
        write!(f, "<{}>", self.uri)?;
        write_params(f, &self.params)
    }
}

/// One Via value (RFC 3261 20.42): `SIP/2.0/TLS host:port;branch=z9hG4bK...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Via {
    /// The transport, upper case (`UDP`, `TCP`, `TLS`, `WS`...).
    pub transport: String,
    /// The sent-by host (IPv6 with brackets).
    pub host: String,
    /// The sent-by port, when written.
    pub port: Option<u16>,
    /// Parameters (`branch`, `received`, `rport`...), values as written.
    pub params: Vec<(String, Option<String>)>,
}

impl Via {
    /// Parses one Via value (not a comma-separated list: see [`crate::split_list`]). Spaces are
    /// allowed around `/`, `:`, `;` and `=`, as RFC 3261 allows.
    pub fn parse(s: &str) -> Result<Via, ParseError> {
        let s = trim_lws(s);
        let Some((proto, rest)) = s.split_once('/') else {
            return err("bad Via protocol");
        };
        let Some((version, rest)) = rest.split_once('/') else {
            return err("bad Via protocol");
        };
        if !trim_lws(proto).eq_ignore_ascii_case("SIP") || trim_lws(version) != "2.0" {
            return err("bad Via protocol");
        }
        let rest = rest.trim_start_matches(is_lws);
        let end = rest.bytes().position(|b| !is_token_char(b)).unwrap_or(rest.len());
        let (transport, rest) = rest.split_at(end);
        if transport.is_empty() || !rest.starts_with(is_lws) {
            return err("bad Via transport");
        }
        let rest = rest.trim_start_matches(is_lws);
        let (sent_by, params) = match rest.find(';') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let (host, port) = parse_host_port(trim_lws(sent_by), true)?;
        let params = parse_generic_params(params)?;
        Ok(Via {
            transport: transport.to_ascii_uppercase(),
            host,
            port,
            params,
        })
    }

    /// The `branch` parameter.
    pub fn branch(&self) -> Option<&str> {
        self.param("branch").flatten()
    }

    /// A parameter by name (case-insensitive): `None` when absent, `Some(None)` when present
    /// without a value (`;rport`).
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    /// Sets a parameter (e.g. `received`, `rport`), replacing an existing one of the same name.
    pub fn set_param(&mut self, name: &str, value: Option<&str>) {
        set_param_in(&mut self.params, name, value)
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write_params(f, &self.params)
    }
}
