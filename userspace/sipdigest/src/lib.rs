//! # sipdigest
//!
//! SIP digest access authentication, both sides: the client answer to a
//! `401`/`407` challenge (RFC 2617, RFC 7616 as profiled for SIP by
//! RFC 8760) and the server check of an `Authorization` header.
//!
//! ```
//! use sipdigest::{respond, Authorization, Challenge, Credentials};
//!
//! let challenge = Challenge::parse(r#"Digest realm="sip.example.net", nonce="abc", qop="auth", algorithm=SHA-256"#)?;
//! let creds = Credentials { username: "alice".into(), password: "secret".into() };
//! let cnonce = sipdigest::new_cnonce();
//! let resp = respond(&challenge, &creds, "REGISTER", "sip:sip.example.net", 1, &cnonce)?;
//! assert!(resp.header_value.starts_with(r#"Digest username="alice", realm="sip.example.net""#));
//!
//! // What a registrar would do with it:
//! let auth = Authorization::parse(&resp.header_value)?;
//! assert!(auth.verify("secret", "REGISTER"));
//! assert!(!auth.verify("wrong", "REGISTER"));
//! # Ok::<(), sipdigest::DigestError>(())
//! ```
//!
//! ## Design
//!
//! * **Parsing is strict and bounded.** Header values come from the
//!   network: a challenge is refused past [`MAX_CHALLENGE_LEN`] bytes, an
//!   authorization past [`MAX_AUTHORIZATION_LEN`], either one past
//!   [`MAX_PARAMS`] parameters. Quoted strings are unescaped
//!   (`\"` → `"`); an unterminated quote, a control character, a
//!   duplicated parameter or anything that is not `name=value` is a
//!   [`DigestError::Malformed`], never a panic. Unknown parameters
//!   (`domain`, `charset`, extensions) are skipped.
//! * **One challenge per header value**, as SIP's grammar has it
//!   (RFC 3261 §25.1): a server offering several algorithms sends several
//!   `WWW-Authenticate` headers; parse each and let [`strongest`] choose
//!   (RFC 8760 §2.4: SHA-512-256, then SHA-256, then MD5).
//! * **qop=auth only.** `auth-int` would hash the message body, which
//!   the daemon does not hand us; a challenge offering only `auth-int`
//!   gives [`DigestError::UnsupportedQop`]. A challenge with no `qop` at
//!   all is answered the RFC 2069 way (no `cnonce`/`nc`), which old
//!   registrars still use.
//! * **Secrets stay out of logs.** [`Credentials`] prints its password as
//!   `<redacted>` in `Debug`. Header values built here escape `"` and `\`
//!   and refuse control characters, so nothing can inject a header line.
//! * **The verifier compares in constant time** (a fold over all bytes
//!   of the hex response), so response timing does not leak how many
//!   leading characters an attacker got right.
//!
//! ## Limits
//!
//! * `userhash` (RFC 7616 §3.4.4) is reported in [`Challenge::userhash`]
//!   but the client always sends the plain username (the RFC lets it);
//!   [`Authorization::verify`] does not undo a hashed username, so such
//!   an authorization simply fails to verify. `username*` (RFC 8187
//!   encoding) is refused.
//! * The verifier checks the response value only: nonce freshness, `nc`
//!   replay, `opaque` and whether `uri` matches the Request-URI are the
//!   caller's business.
//! * `-sess` algorithms need `qop` (the `cnonce` is part of the session
//!   key); a `-sess` challenge without `qop` is refused.
//! * [`new_cnonce`] panics if the system random generator fails, which
//!   on Linux means no `getrandom(2)`: the gateway cannot run then
//!   anyway. [`try_new_cnonce`] reports it instead.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fmt;
use std::str::FromStr;

/// Longest `WWW-Authenticate`/`Proxy-Authenticate` value accepted, in bytes.
/// Real challenges are a few hundred bytes; the bound keeps a hostile
/// server from making us scan megabytes.
pub const MAX_CHALLENGE_LEN: usize = 2048;

/// Longest `Authorization`/`Proxy-Authorization` value accepted, in bytes:
/// larger than a challenge because it carries the request URI.
pub const MAX_AUTHORIZATION_LEN: usize = 4096;

/// Most `name=value` parameters accepted in one header value. RFC 7616
/// defines about a dozen; more means garbage or an attack.
pub const MAX_PARAMS: usize = 32;

/// Digest hash algorithm (RFC 7616 §3.3, registry of RFC 8760 for SIP).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// `MD5`, the RFC 2617 default when no algorithm is named.
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256`.
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
    /// `SHA-512-256` (SHA-512/256 of FIPS 180-4).
    Sha512_256,
    /// `SHA-512-256-sess`.
    Sha512_256Sess,
}

impl Algorithm {
    /// The RFC token: `MD5`, `MD5-sess`, `SHA-256`, `SHA-256-sess`,
    /// `SHA-512-256`, `SHA-512-256-sess`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
            Algorithm::Sha512_256 => "SHA-512-256",
            Algorithm::Sha512_256Sess => "SHA-512-256-sess",
        }
    }

    /// Whether this is a `-sess` variant, whose A1 folds in the nonces.
    pub fn is_sess(self) -> bool {
        matches!(
            self,
            Algorithm::Md5Sess | Algorithm::Sha256Sess | Algorithm::Sha512_256Sess
        )
    }

    /// RFC 8760 §2.4 preference, higher is stronger. The `-sess` variant
    /// ranks with its plain one: it changes the key, not the hash.
    fn strength(self) -> u8 {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => 1,
            Algorithm::Sha256 | Algorithm::Sha256Sess => 2,
            Algorithm::Sha512_256 | Algorithm::Sha512_256Sess => 3,
        }
    }

    /// Lower-case hex of the hash of `parts` joined with `:`, the
    /// `H(a:b:c)` of the RFCs.
    fn hash_hex(self, parts: &[&[u8]]) -> String {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => {
                use md5::Digest as _;
                let mut h = md5::Md5::new();
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        h.update(b":");
                    }
                    h.update(p);
                }
                hex(&h.finalize())
            }
            Algorithm::Sha256 | Algorithm::Sha256Sess => ring_hash(&ring::digest::SHA256, parts),
            Algorithm::Sha512_256 | Algorithm::Sha512_256Sess => ring_hash(&ring::digest::SHA512_256, parts),
        }
    }
}

fn ring_hash(alg: &'static ring::digest::Algorithm, parts: &[&[u8]]) -> String {
    let mut ctx = ring::digest::Context::new(alg);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            ctx.update(b":");
        }
        ctx.update(p);
    }
    hex(ctx.finish().as_ref())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = DigestError;

    /// Case-insensitive, as RFC 7616 tokens are.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const ALL: [Algorithm; 6] = [
            Algorithm::Md5,
            Algorithm::Md5Sess,
            Algorithm::Sha256,
            Algorithm::Sha256Sess,
            Algorithm::Sha512_256,
            Algorithm::Sha512_256Sess,
        ];
        ALL.into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| DigestError::UnsupportedAlgorithm(clip(s)))
    }
}

/// Why a header could not be parsed or answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DigestError {
    /// The header value does not follow the digest grammar; the text
    /// says where or what.
    Malformed(String),
    /// An algorithm this crate does not implement (the name as received,
    /// cut to 64 characters).
    UnsupportedAlgorithm(String),
    /// The challenge (or authorization) asks only for a quality of
    /// protection other than `auth`, such as `auth-int`.
    UnsupportedQop(String),
    /// The header value is longer than [`MAX_CHALLENGE_LEN`] or
    /// [`MAX_AUTHORIZATION_LEN`].
    TooLong,
    /// A required parameter is absent.
    MissingField(&'static str),
}

impl fmt::Display for DigestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DigestError::Malformed(what) => write!(f, "malformed digest header: {what}"),
            DigestError::UnsupportedAlgorithm(a) => write!(f, "unsupported digest algorithm {a:?}"),
            DigestError::UnsupportedQop(q) => write!(f, "unsupported digest qop {q:?} (only auth)"),
            DigestError::TooLong => f.write_str("digest header too long"),
            DigestError::MissingField(name) => write!(f, "digest header lacks {name}"),
        }
    }
}

impl std::error::Error for DigestError {}

/// Cuts text echoed into an error, which may come from the network and
/// end up in a log, to 64 characters.
fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

/// One parsed `name=value` auth-param.
struct Param {
    /// Lower-cased: parameter names are case-insensitive.
    name: String,
    /// Unescaped value.
    value: String,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// RFC 3261 `token` characters.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

fn is_ctl(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

/// Splits `Digest a=b, c="d"` into its parameters, after checking the
/// scheme. `limit` is the size bound for this kind of header.
fn parse_digest(value: &str, limit: usize) -> Result<Vec<Param>, DigestError> {
    if value.len() > limit {
        return Err(DigestError::TooLong);
    }
    let b = value.as_bytes();
    let mut i = 0;
    while i < b.len() && is_ws(b[i]) {
        i += 1;
    }
    let start = i;
    while i < b.len() && is_token(b[i]) {
        i += 1;
    }
    let scheme = &value[start..i];
    if scheme.is_empty() {
        return Err(DigestError::Malformed("no authentication scheme".into()));
    }
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(DigestError::Malformed(format!(
            "scheme {:?} is not Digest",
            clip(scheme)
        )));
    }
    if i < b.len() && !is_ws(b[i]) {
        return Err(DigestError::Malformed("no space after Digest".into()));
    }
    let mut params: Vec<Param> = Vec::new();
    loop {
        while i < b.len() && (is_ws(b[i]) || b[i] == b',') {
            // Empty list elements (",,") are allowed by the #rule.
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let name_start = i;
        while i < b.len() && is_token(b[i]) {
            i += 1;
        }
        if i == name_start {
            return Err(DigestError::Malformed(format!(
                "expected a parameter name at byte {i}"
            )));
        }
        let name = value[name_start..i].to_ascii_lowercase();
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
        if i >= b.len() || b[i] != b'=' {
            // Also what a second challenge in the same value looks like.
            return Err(DigestError::Malformed(format!(
                "parameter {:?} has no value",
                clip(&name)
            )));
        }
        i += 1;
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
        let val = if i < b.len() && b[i] == b'"' {
            let (v, next) = quoted_string(b, i)?;
            i = next;
            v
        } else {
            let vstart = i;
            while i < b.len() && !is_ws(b[i]) && b[i] != b',' && b[i] != b'"' && !is_ctl(b[i]) {
                i += 1;
            }
            if i == vstart {
                return Err(DigestError::Malformed(format!(
                    "parameter {:?} has an empty value",
                    clip(&name)
                )));
            }
            value[vstart..i].to_owned()
        };
        if params.iter().any(|p| p.name == name) {
            return Err(DigestError::Malformed(format!(
                "duplicate parameter {:?}",
                clip(&name)
            )));
        }
        if params.len() >= MAX_PARAMS {
            return Err(DigestError::Malformed("too many parameters".into()));
        }
        params.push(Param { name, value: val });
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
        if i < b.len() && b[i] != b',' {
            return Err(DigestError::Malformed(format!("expected ',' at byte {i}")));
        }
    }
    Ok(params)
}

/// Reads the quoted-string whose opening quote is at `b[open]`; gives
/// its unescaped content and the index just past the closing quote.
fn quoted_string(b: &[u8], open: usize) -> Result<(String, usize), DigestError> {
    let mut out = Vec::new();
    let mut i = open + 1;
    loop {
        match b.get(i) {
            None => return Err(DigestError::Malformed("unterminated quoted string".into())),
            Some(b'"') => break,
            Some(b'\\') => match b.get(i + 1) {
                // quoted-pair excludes CR and LF, and we refuse the other
                // controls too: they have no business in a digest value.
                Some(&c) if !is_ctl(c) || c == b'\t' => {
                    out.push(c);
                    i += 2;
                }
                _ => return Err(DigestError::Malformed("bad escape in quoted string".into())),
            },
            Some(&c) if is_ctl(c) && c != b'\t' => {
                return Err(DigestError::Malformed(
                    "control character in quoted string".into(),
                ))
            }
            Some(&c) => {
                out.push(c);
                i += 1;
            }
        }
    }
    // Only ASCII backslashes were removed from valid UTF-8, so this holds;
    // still, no unwrap on network data.
    let s = String::from_utf8(out).map_err(|_| DigestError::Malformed("invalid UTF-8".into()))?;
    Ok((s, i + 1))
}

fn take(params: &mut Vec<Param>, name: &str) -> Option<String> {
    let pos = params.iter().position(|p| p.name == name)?;
    Some(params.swap_remove(pos).value)
}

fn parse_bool(v: Option<String>) -> bool {
    v.is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// A `Digest` challenge from a `WWW-Authenticate` (401) or
/// `Proxy-Authenticate` (407) header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// Protection space, unescaped.
    pub realm: String,
    /// Server nonce, unescaped.
    pub nonce: String,
    /// Opaque value to echo back, if the server sent one.
    pub opaque: Option<String>,
    /// Hash algorithm; [`Algorithm::Md5`] when the server named none.
    pub algorithm: Algorithm,
    /// Offered qualities of protection as received (`auth`, `auth-int`);
    /// empty for an RFC 2069 challenge.
    pub qop: Vec<String>,
    /// `stale=true`: the previous nonce expired but the credentials were
    /// right, so retry without asking the user.
    pub stale: bool,
    /// `userhash=true`: the server accepts a hashed username.
    pub userhash: bool,
}

impl Challenge {
    /// Parses the value of a `WWW-Authenticate` or `Proxy-Authenticate`
    /// header, `Digest realm="...", nonce="...", ...`.
    ///
    /// `realm` and `nonce` are required; unknown parameters are ignored;
    /// an unknown `algorithm` gives [`DigestError::UnsupportedAlgorithm`].
    pub fn parse(header_value: &str) -> Result<Challenge, DigestError> {
        let mut params = parse_digest(header_value, MAX_CHALLENGE_LEN)?;
        let realm = take(&mut params, "realm").ok_or(DigestError::MissingField("realm"))?;
        let nonce = take(&mut params, "nonce").ok_or(DigestError::MissingField("nonce"))?;
        let algorithm = match take(&mut params, "algorithm") {
            Some(a) => a.parse()?,
            None => Algorithm::Md5,
        };
        let qop = take(&mut params, "qop")
            .map(|q| {
                q.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Challenge {
            realm,
            nonce,
            opaque: take(&mut params, "opaque"),
            algorithm,
            qop,
            stale: parse_bool(take(&mut params, "stale")),
            userhash: parse_bool(take(&mut params, "userhash")),
        })
    }

    /// Whether [`respond`] can answer it: no `qop` at all, or `auth`
    /// among those offered.
    pub fn is_supported(&self) -> bool {
        self.qop.is_empty() || self.offers_auth()
    }

    fn offers_auth(&self) -> bool {
        self.qop.iter().any(|q| q.eq_ignore_ascii_case("auth"))
    }
}

/// Picks the challenge to answer among those of one response (RFC 8760
/// §2.4): the strongest algorithm, SHA-512-256 before SHA-256 before MD5,
/// among the challenges [`respond`] can answer; the first one on a tie.
/// `None` if there is none.
pub fn strongest(challenges: &[Challenge]) -> Option<&Challenge> {
    let mut best: Option<&Challenge> = None;
    for c in challenges.iter().filter(|c| c.is_supported()) {
        if best.is_none_or(|b| c.algorithm.strength() > b.algorithm.strength()) {
            best = Some(c);
        }
    }
    best
}

/// A SIP account's credentials. `Debug` shows the username only.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Authentication user name (often not the same as the AoR user).
    pub username: String,
    /// Password; never printed.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The answer to a challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Value for the `Authorization` (after a 401) or
    /// `Proxy-Authorization` (after a 407) header.
    pub header_value: String,
}

/// Refuses text that would break out of a header value or a quoted
/// string's meaning: control characters, CR and LF above all.
fn check_text(what: &'static str, s: &str) -> Result<(), DigestError> {
    if s.bytes().any(is_ctl) {
        return Err(DigestError::Malformed(format!("control character in {what}")));
    }
    Ok(())
}

/// Appends `s` as a quoted-string.
fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// The request-digest of RFC 7616 §3.4.1. `qop` is `Some((nc, cnonce))`
/// for qop=auth, `None` for the RFC 2069 form.
#[allow(clippy::too_many_arguments)] // The RFC's formula has this many inputs.
fn request_digest(
    alg: Algorithm,
    username: &str,
    realm: &str,
    password: &str,
    nonce: &str,
    method: &str,
    uri: &str,
    qop: Option<(&str, &str)>,
) -> Option<String> {
    let mut ha1 = alg.hash_hex(&[username.as_bytes(), realm.as_bytes(), password.as_bytes()]);
    if alg.is_sess() {
        let (_, cnonce) = qop?;
        ha1 = alg.hash_hex(&[ha1.as_bytes(), nonce.as_bytes(), cnonce.as_bytes()]);
    }
    let ha2 = alg.hash_hex(&[method.as_bytes(), uri.as_bytes()]);
    Some(match qop {
        Some((nc, cnonce)) => alg.hash_hex(&[
            ha1.as_bytes(),
            nonce.as_bytes(),
            nc.as_bytes(),
            cnonce.as_bytes(),
            b"auth",
            ha2.as_bytes(),
        ]),
        None => alg.hash_hex(&[ha1.as_bytes(), nonce.as_bytes(), ha2.as_bytes()]),
    })
}

/// Answers `challenge` for a request `method` (`REGISTER`, `INVITE`...)
/// to `digest_uri` (the Request-URI as sent).
///
/// Uses qop=auth with `nc` (printed as 8 hex digits) and `cnonce` when
/// the challenge offers `auth`; without any qop, the RFC 2069 form.
/// `nc` must grow by one for each request that reuses the same nonce.
///
/// Errors: [`DigestError::UnsupportedQop`] when qop is offered but not
/// `auth`; [`DigestError::Malformed`] for a method that is not a token,
/// control characters in the username, URI or cnonce, an empty cnonce,
/// or a `-sess` algorithm without qop.
pub fn respond(
    challenge: &Challenge,
    creds: &Credentials,
    method: &str,
    digest_uri: &str,
    nc: u32,
    cnonce: &str,
) -> Result<Response, DigestError> {
    if method.is_empty() || !method.bytes().all(is_token) {
        return Err(DigestError::Malformed("method is not a token".into()));
    }
    check_text("username", &creds.username)?;
    check_text("uri", digest_uri)?;
    check_text("realm", &challenge.realm)?;
    check_text("nonce", &challenge.nonce)?;
    if let Some(o) = &challenge.opaque {
        check_text("opaque", o)?;
    }
    let use_qop = if challenge.qop.is_empty() {
        false
    } else if challenge.offers_auth() {
        true
    } else {
        return Err(DigestError::UnsupportedQop(clip(&challenge.qop.join(","))));
    };
    let nc_text = format!("{nc:08x}");
    if use_qop {
        check_text("cnonce", cnonce)?;
        if cnonce.is_empty() {
            return Err(DigestError::Malformed("empty cnonce".into()));
        }
    }
    let response = request_digest(
        challenge.algorithm,
        &creds.username,
        &challenge.realm,
        &creds.password,
        &challenge.nonce,
        method,
        digest_uri,
        use_qop.then_some((nc_text.as_str(), cnonce)),
    )
    .ok_or_else(|| DigestError::Malformed(format!("{} needs qop", challenge.algorithm)))?;

    let mut h = String::with_capacity(256);
    h.push_str("Digest username=");
    push_quoted(&mut h, &creds.username);
    h.push_str(", realm=");
    push_quoted(&mut h, &challenge.realm);
    h.push_str(", nonce=");
    push_quoted(&mut h, &challenge.nonce);
    h.push_str(", uri=");
    push_quoted(&mut h, digest_uri);
    h.push_str(", response=");
    push_quoted(&mut h, &response);
    h.push_str(", algorithm=");
    h.push_str(challenge.algorithm.as_str());
    if use_qop {
        h.push_str(", cnonce=");
        push_quoted(&mut h, cnonce);
        h.push_str(", qop=auth, nc=");
        h.push_str(&nc_text);
    }
    if let Some(o) = &challenge.opaque {
        h.push_str(", opaque=");
        push_quoted(&mut h, o);
    }
    Ok(Response { header_value: h })
}

/// A fresh client nonce: 16 bytes from the system random generator, as
/// 32 lower-case hex digits.
///
/// # Panics
///
/// If the system random generator fails (see [`try_new_cnonce`]).
pub fn new_cnonce() -> String {
    try_new_cnonce().expect("system random generator failed")
}

/// [`new_cnonce`] that reports a failing random generator instead of
/// panicking.
pub fn try_new_cnonce() -> Result<String, ring::error::Unspecified> {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new().fill(&mut bytes)?;
    Ok(hex(&bytes))
}

/// A parsed `Authorization`/`Proxy-Authorization` digest answer, for the
/// server side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    /// User name as sent.
    pub username: String,
    /// Realm as sent.
    pub realm: String,
    /// Nonce as sent: the caller checks it is one it issued and still valid.
    pub nonce: String,
    /// Digest URI as sent: the caller may check it against the Request-URI.
    pub uri: String,
    /// The client's request-digest, hex.
    pub response: String,
    /// Algorithm; [`Algorithm::Md5`] when absent.
    pub algorithm: Algorithm,
    /// Client nonce (required with qop).
    pub cnonce: Option<String>,
    /// `auth` when present (anything else is refused by [`Authorization::parse`]).
    pub qop: Option<String>,
    /// Nonce count, 8 hex digits (required with qop).
    pub nc: Option<String>,
    /// Echoed opaque value.
    pub opaque: Option<String>,
}

impl Authorization {
    /// Parses an `Authorization` or `Proxy-Authorization` header value.
    ///
    /// Requires `username`, `realm`, `nonce`, `uri` and `response`, plus
    /// `cnonce` and `nc` (8 hex digits) when `qop` is present; a qop
    /// other than `auth` is [`DigestError::UnsupportedQop`].
    pub fn parse(header_value: &str) -> Result<Authorization, DigestError> {
        let mut params = parse_digest(header_value, MAX_AUTHORIZATION_LEN)?;
        if params.iter().any(|p| p.name == "username*") {
            return Err(DigestError::Malformed("username* is not supported".into()));
        }
        let mut need = |name: &'static str| take(&mut params, name).ok_or(DigestError::MissingField(name));
        let username = need("username")?;
        let realm = need("realm")?;
        let nonce = need("nonce")?;
        let uri = need("uri")?;
        let response = need("response")?;
        let algorithm = match take(&mut params, "algorithm") {
            Some(a) => a.parse()?,
            None => Algorithm::Md5,
        };
        let qop = take(&mut params, "qop");
        let cnonce = take(&mut params, "cnonce");
        let nc = take(&mut params, "nc");
        if let Some(q) = &qop {
            if !q.eq_ignore_ascii_case("auth") {
                return Err(DigestError::UnsupportedQop(clip(q)));
            }
            if cnonce.is_none() {
                return Err(DigestError::MissingField("cnonce"));
            }
            match &nc {
                None => return Err(DigestError::MissingField("nc")),
                Some(n) if n.len() != 8 || !n.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    return Err(DigestError::Malformed("nc is not 8 hex digits".into()))
                }
                Some(_) => {}
            }
        }
        Ok(Authorization {
            username,
            realm,
            nonce,
            uri,
            response,
            algorithm,
            cnonce,
            qop,
            nc,
            opaque: take(&mut params, "opaque"),
        })
    }

    /// Whether `response` is right for `password` and the request
    /// `method`. Compares in constant time; checks nothing else (see the
    /// crate documentation).
    pub fn verify(&self, password: &str, method: &str) -> bool {
        let qop = match (&self.qop, &self.nc, &self.cnonce) {
            (Some(_), Some(nc), Some(cnonce)) => Some((nc.as_str(), cnonce.as_str())),
            (Some(_), _, _) => return false,
            (None, _, _) => None,
        };
        let Some(expected) = request_digest(
            self.algorithm,
            &self.username,
            &self.realm,
            password,
            &self.nonce,
            method,
            &self.uri,
            qop,
        ) else {
            return false;
        };
        // Hex digits may arrive in upper case; the RFCs print lower case.
        let got = self.response.to_ascii_lowercase();
        constant_time_eq(expected.as_bytes(), got.as_bytes())
    }
}

/// Equality whose time depends on the length only. The length of a
/// request-digest is public (it follows from the algorithm).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_hashes_of_empty_input() {
        // Well-known digests of "", which pin the hash plumbing.
        assert_eq!(
            Algorithm::Md5.hash_hex(&[b""]),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert_eq!(
            Algorithm::Sha256.hash_hex(&[b""]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            Algorithm::Md5.hash_hex(&[b"a", b"b"]),
            Algorithm::Md5.hash_hex(&[b"a:b"])
        );
    }

    #[test]
    fn constant_time_eq_works() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn quoted_string_unescapes() {
        let (s, next) = quoted_string(br#""a\"b\\c" x"#, 0).unwrap();
        assert_eq!(s, r#"a"b\c"#);
        assert_eq!(next, 9);
    }
}
