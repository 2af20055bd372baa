//! Request and response heads: parsing, building and serializing.

use std::fmt;

use crate::error::HttpError;
use crate::framing::{self, BodyFraming};

/// Longest head accepted, start line to the blank line included (and any empty lines before a
/// request line). Real TR-069 and file-server heads are well under 2 KiB.
pub const MAX_HEAD_LEN: usize = 16 * 1024;

/// Most header fields in one head (also the bound for a chunked body's trailer fields).
pub const MAX_HEADERS: usize = 100;

/// Longest start line, header line or chunk line, without its CRLF (RFC 9112 §3 recommends
/// supporting request lines of at least 8000 octets).
pub const MAX_LINE_LEN: usize = 8 * 1024;

/// Header fields whose values are credentials or session keys: `Debug` prints them as
/// `<redacted>`, so that logging a head never logs a secret.
const SENSITIVE: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "www-authenticate",
];

/// An HTTP version this crate speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// `HTTP/1.0`: no chunked encoding, connections close unless `keep-alive` is asked for.
    Http10,
    /// `HTTP/1.1`.
    Http11,
}

impl Version {
    /// The protocol text, `HTTP/1.0` or `HTTP/1.1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }

    fn parse(b: &[u8]) -> Result<Version, HttpError> {
        match b {
            b"HTTP/1.1" => Ok(Version::Http11),
            b"HTTP/1.0" => Ok(Version::Http10),
            [b'H', b'T', b'T', b'P', b'/', x, b'.', y] if x.is_ascii_digit() && y.is_ascii_digit() => {
                Err(HttpError::UnsupportedVersion)
            }
            _ => Err(HttpError::Malformed("bad HTTP version")),
        }
    }
}

/// RFC 9110 `tchar`: what header names, methods and other tokens are made of.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Whether `s` is a non-empty token.
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// A byte allowed in a field value (RFC 9110 §5.5): visible ASCII, space, tab and obs-text. No
/// other control character: NUL and friends have no business in a header and confuse C peers.
fn is_field_byte(b: u8) -> bool {
    b == b'\t' || (0x20..=0x7e).contains(&b) || b >= 0x80
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_ows(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_ows(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// Header fields in the order received, with their names as written; lookups ignore case.
///
/// Every entry satisfies the grammar (the name is a token, the value has no CR, LF or other
/// control character and no leading or trailing whitespace), so a head built from `Headers`
/// cannot have lines injected into it. `Debug` redacts the values of `Authorization`, `Cookie`,
/// `Set-Cookie` and their kin.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(String, String)>,
}

impl Headers {
    /// An empty list.
    pub fn new() -> Headers {
        Headers::default()
    }

    /// Number of fields (a repeated name counts each time).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no field.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value of the first field called `name` (any case).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The values of every field called `name` (any case), in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.entries
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether a field called `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Whether the comma-separated list in the fields called `name` holds `token` (any case),
    /// as in `Connection: keep-alive, close`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// Every field as `(name, value)`, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Adds a field at the end. The value is trimmed of surrounding whitespace.
    ///
    /// Errors: a name that is not a token, or a value with a control character (CR and LF above
    /// all), as [`HttpError::Malformed`].
    pub fn append(&mut self, name: &str, value: &str) -> Result<(), HttpError> {
        if !is_token(name.as_bytes()) {
            return Err(HttpError::Malformed("header name is not a token"));
        }
        let v = trim_ows(value.as_bytes());
        if !v.iter().all(|&b| is_field_byte(b)) {
            return Err(HttpError::Malformed("control character in header value"));
        }
        if name.len() + v.len() + 2 > MAX_LINE_LEN {
            return Err(HttpError::LineTooLong);
        }
        // `v` is a sub-slice of a &str cut at ASCII whitespace, so it is still UTF-8.
        let v = String::from_utf8_lossy(v).into_owned();
        self.entries.push((name.to_owned(), v));
        Ok(())
    }

    /// Replaces every field called `name` by one with `value` (appended at the end).
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), HttpError> {
        let mut probe = Headers::new();
        probe.append(name, value)?;
        self.remove(name);
        self.entries.append(&mut probe.entries);
        Ok(())
    }

    /// Removes every field called `name`; returns how many there were.
    pub fn remove(&mut self, name: &str) -> usize {
        let before = self.entries.len();
        self.entries.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        before - self.entries.len()
    }

    /// Appends already validated fields (from the parser).
    fn push_parsed(&mut self, name: String, value: String) {
        self.entries.push((name, value));
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        for (n, v) in &self.entries {
            out.extend_from_slice(n.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for (n, v) in &self.entries {
            if SENSITIVE.iter().any(|s| n.eq_ignore_ascii_case(s)) {
                list.entry(&(n, "<redacted>"));
            } else {
                list.entry(&(n, v));
            }
        }
        list.finish()
    }
}

/// Parses one header line (without its CRLF) into `headers`.
pub(crate) fn parse_field_line(line: &[u8], headers: &mut Headers) -> Result<(), HttpError> {
    if line.first().copied().is_some_and(is_ows) {
        return Err(HttpError::ObsFold);
    }
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(HttpError::Malformed("header line without colon"))?;
    let (name, rest) = line.split_at(colon);
    // Whitespace between name and colon is refused (RFC 9112 §5.1): some proxies strip it and
    // some do not, which is a smuggling vector for `Transfer-Encoding :`.
    if !is_token(name) {
        return Err(HttpError::Malformed("invalid header name"));
    }
    let value = trim_ows(rest.get(1..).unwrap_or_default());
    if !value.iter().all(|&b| is_field_byte(b)) {
        return Err(HttpError::Malformed("control character in header value"));
    }
    let value = std::str::from_utf8(value).map_err(|_| HttpError::Malformed("header value is not UTF-8"))?;
    if headers.len() >= MAX_HEADERS {
        return Err(HttpError::TooManyHeaders);
    }
    // The name is a token, hence ASCII.
    headers.push_parsed(String::from_utf8_lossy(name).into_owned(), value.to_owned());
    Ok(())
}

/// A request's start line and header fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    method: String,
    target: String,
    version: Version,
    headers: Headers,
}

impl RequestHead {
    /// An HTTP/1.1 request head with no header field yet (add `Host` before sending).
    ///
    /// Errors: a method that is not a token, or a target that is empty or has a character other
    /// than visible ASCII (percent-encode the rest), as [`HttpError::Malformed`].
    pub fn new(method: &str, target: &str) -> Result<RequestHead, HttpError> {
        if !is_token(method.as_bytes()) {
            return Err(HttpError::Malformed("method is not a token"));
        }
        check_target(target.as_bytes())?;
        Ok(RequestHead {
            method: method.to_owned(),
            target: target.to_owned(),
            version: Version::Http11,
            headers: Headers::new(),
        })
    }

    /// The method, as written (methods are case-sensitive).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request-target as written (`/path?query`, an absolute URL, an authority or `*`).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The protocol version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Changes the protocol version.
    pub fn set_version(&mut self, version: Version) {
        self.version = version;
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The header fields, to change.
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// Whether the connection may carry another request after this one (RFC 9112 §9.3).
    pub fn keep_alive(&self) -> bool {
        keep_alive(self.version, &self.headers)
    }

    /// How this request's body is delimited. Checks the framing fields as the parser does, so
    /// it also catches a hand-built head with both `Content-Length` and `Transfer-Encoding`.
    pub fn body_framing(&self) -> Result<BodyFraming, HttpError> {
        framing::request_framing(self.version, &self.headers)
    }

    /// Appends the serialized head (start line, fields, blank line) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.target.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.version.as_str().as_bytes());
        out.extend_from_slice(b"\r\n");
        self.headers.write_to(out);
        out.extend_from_slice(b"\r\n");
    }

    /// The serialized head.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.write_to(&mut out);
        out
    }
}

/// A response's status line and header fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    version: Version,
    status: u16,
    reason: String,
    headers: Headers,
}

impl ResponseHead {
    /// An HTTP/1.1 response head with the usual reason phrase for `status` and no field.
    ///
    /// Errors: a status outside 100..=999, as [`HttpError::Malformed`].
    pub fn new(status: u16) -> Result<ResponseHead, HttpError> {
        ResponseHead::with_reason(status, canonical_reason(status))
    }

    /// An HTTP/1.1 response head with the given reason phrase.
    ///
    /// Errors: a status outside 100..=999 or a control character in the reason.
    pub fn with_reason(status: u16, reason: &str) -> Result<ResponseHead, HttpError> {
        if !(100..=999).contains(&status) {
            return Err(HttpError::Malformed("status code is not three digits"));
        }
        if !reason.bytes().all(is_field_byte) {
            return Err(HttpError::Malformed("control character in reason phrase"));
        }
        Ok(ResponseHead {
            version: Version::Http11,
            status,
            reason: reason.to_owned(),
            headers: Headers::new(),
        })
    }

    /// The protocol version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Changes the protocol version.
    pub fn set_version(&mut self, version: Version) {
        self.version = version;
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase (informational only; bytes that were not UTF-8 are replaced).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The header fields, to change.
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// Whether the connection may carry another request after this response (RFC 9112 §9.3).
    /// A body delimited by the close of the connection also ends it; see
    /// [`BodyFraming::UntilClose`].
    pub fn keep_alive(&self) -> bool {
        keep_alive(self.version, &self.headers)
    }

    /// How this response's body is delimited, given the method of the request it answers
    /// (RFC 9112 §6.3: no body for `HEAD`, 1xx, 204 and 304).
    pub fn body_framing(&self, request_method: &str) -> Result<BodyFraming, HttpError> {
        framing::response_framing(self.version, self.status, request_method, &self.headers)
    }

    /// Whether the status is a redirection (3xx). Redirections are never followed by this
    /// crate: TR-069 has its own rules (the caller decides).
    pub fn is_redirect(&self) -> bool {
        (300..400).contains(&self.status)
    }

    /// Appends the serialized head to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.version.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.status.to_string().as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.reason.as_bytes());
        out.extend_from_slice(b"\r\n");
        self.headers.write_to(out);
        out.extend_from_slice(b"\r\n");
    }

    /// The serialized head.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.write_to(&mut out);
        out
    }
}

fn keep_alive(version: Version, headers: &Headers) -> bool {
    if headers.has_token("connection", "close") {
        return false;
    }
    match version {
        Version::Http11 => true,
        Version::Http10 => headers.has_token("connection", "keep-alive"),
    }
}

/// The RFC 9110 reason phrase for the codes a gateway meets; `""` for others.
pub fn canonical_reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

fn check_target(t: &[u8]) -> Result<(), HttpError> {
    if t.is_empty() {
        return Err(HttpError::Malformed("empty request-target"));
    }
    if !t.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Err(HttpError::Malformed("invalid character in request-target"));
    }
    if t.len() > MAX_LINE_LEN {
        return Err(HttpError::LineTooLong);
    }
    Ok(())
}

/// Finds the end of the head in `buf`, checking line ends and limits on the way so that garbage
/// is refused as soon as it is seen rather than after 16 KiB. Returns the offset of the start
/// line and the offset just past the blank line, or `None` if more bytes are needed.
fn find_head(buf: &[u8], skip_empty_lines: bool) -> Result<Option<(usize, usize)>, HttpError> {
    // Never look past the limit: a complete head must fit in it.
    let limit = buf.len().min(MAX_HEAD_LEN);
    let window = &buf[..limit];
    let mut pos = 0;
    if skip_empty_lines {
        // RFC 9112 §2.2: a server should ignore empty lines before the request line (some
        // clients send a CRLF after a POST body).
        while window.get(pos..pos + 2) == Some(b"\r\n") {
            pos += 2;
        }
    }
    let start = pos;
    let mut lines = 0usize;
    loop {
        let rest = window.get(pos..).unwrap_or_default();
        let Some(i) = rest.iter().position(|&b| b == b'\n') else {
            if let Some(cr) = rest.iter().position(|&b| b == b'\r') {
                if cr + 1 < rest.len() {
                    return Err(HttpError::BareCr);
                }
            }
            let content = rest.len() - usize::from(rest.last() == Some(&b'\r'));
            if content > MAX_LINE_LEN {
                return Err(HttpError::LineTooLong);
            }
            if buf.len() >= MAX_HEAD_LEN {
                return Err(HttpError::HeadTooLarge);
            }
            return Ok(None);
        };
        let line_with_cr = &rest[..i];
        let Some(line) = line_with_cr.strip_suffix(b"\r") else {
            return Err(HttpError::BareLf);
        };
        if line.contains(&b'\r') {
            return Err(HttpError::BareCr);
        }
        if line.len() > MAX_LINE_LEN {
            return Err(HttpError::LineTooLong);
        }
        pos += i + 1;
        if line.is_empty() {
            if lines == 0 {
                return Err(HttpError::Malformed("empty start line"));
            }
            return Ok(Some((start, pos)));
        }
        lines += 1;
        if lines > MAX_HEADERS + 1 {
            return Err(HttpError::TooManyHeaders);
        }
    }
}

/// The lines of a complete head found by [`find_head`], without CRLFs and without the final
/// blank line.
fn head_lines(head: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = head.strip_suffix(b"\r\n\r\n").unwrap_or(head);
    body.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

/// Parses a request head from the start of `buf`.
///
/// Returns `Ok(None)` if `buf` holds only the beginning of a head (read more and call again with
/// everything), or the head and the number of bytes it took (the body, if any, starts there).
///
/// Strict by design: only CRLF ends a line, obs-fold is refused, the version must be 1.0 or 1.1,
/// an HTTP/1.1 request needs exactly one `Host`, and the body framing must be unambiguous (see
/// [`BodyFraming`]). Never panics, whatever the input.
pub fn parse_request_head(buf: &[u8]) -> Result<Option<(RequestHead, usize)>, HttpError> {
    let Some((start, end)) = find_head(buf, true)? else {
        return Ok(None);
    };
    let mut lines = head_lines(&buf[start..end]);
    let line = lines.next().unwrap_or_default();
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HttpError::Malformed(
            "request line is not method SP target SP version",
        ));
    };
    if !is_token(method) {
        return Err(HttpError::Malformed("method is not a token"));
    }
    check_target(target)?;
    let version = Version::parse(version)?;
    let mut headers = Headers::new();
    for l in lines {
        parse_field_line(l, &mut headers)?;
    }
    if version == Version::Http11 {
        // RFC 9112 §3.2: exactly one Host in an HTTP/1.1 request; two could route one request
        // two ways.
        match headers.get_all("host").count() {
            0 => return Err(HttpError::Malformed("HTTP/1.1 request without Host")),
            1 => {}
            _ => return Err(HttpError::Smuggling("more than one Host field")),
        }
    }
    framing::request_framing(version, &headers)?;
    let head = RequestHead {
        // Token and target bytes are ASCII (checked above).
        method: String::from_utf8_lossy(method).into_owned(),
        target: String::from_utf8_lossy(target).into_owned(),
        version,
        headers,
    };
    Ok(Some((head, end)))
}

/// Parses a response head from the start of `buf`; returns as [`parse_request_head`] does.
///
/// The status line may omit the space after the status code when the reason is empty (common
/// in the wild). The framing fields are checked with the rules of requests not answering
/// `HEAD`; [`ResponseHead::body_framing`] applies the method.
pub fn parse_response_head(buf: &[u8]) -> Result<Option<(ResponseHead, usize)>, HttpError> {
    let Some((start, end)) = find_head(buf, false)? else {
        return Ok(None);
    };
    let mut lines = head_lines(&buf[start..end]);
    let line = lines.next().unwrap_or_default();
    let version = Version::parse(
        line.get(..8)
            .ok_or(HttpError::Malformed("status line too short"))?,
    )?;
    let code = match line.get(8..12) {
        Some([b' ', a, b, c]) if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
        }
        _ => return Err(HttpError::Malformed("status line is not version SP 3DIGIT")),
    };
    if code < 100 {
        return Err(HttpError::Malformed("status code below 100"));
    }
    let reason = match line.get(12..) {
        None | Some([]) => &[][..],
        Some([b' ', reason @ ..]) => reason,
        Some(_) => return Err(HttpError::Malformed("status code is not followed by a space")),
    };
    if !reason.iter().all(|&b| is_field_byte(b)) {
        return Err(HttpError::Malformed("control character in reason phrase"));
    }
    let mut headers = Headers::new();
    for l in lines {
        parse_field_line(l, &mut headers)?;
    }
    framing::check_framing_fields(version, &headers, false)?;
    let head = ResponseHead {
        version,
        status: code,
        reason: String::from_utf8_lossy(reason).into_owned(),
        headers,
    };
    Ok(Some((head, end)))
}
