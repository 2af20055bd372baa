//! HTTP authentication: Basic (RFC 7617), and Digest (RFC 7616) on top of `sipdigest`.
//!
//! `sipdigest` implements the digest computation and header grammar generically; for HTTP the
//! digest-uri is the request-target exactly as sent and the method is the request method, which
//! is what its `respond` and `Authorization::verify` take. What HTTP needs beyond it lives here:
//!
//! * [`split_challenges`]: an HTTP `WWW-Authenticate` value may hold several challenges
//!   (`Basic realm="a", Digest realm="b", ...`), while SIP's grammar, and so
//!   `sipdigest::Challenge::parse`, takes one per header value;
//! * the server side's challenge text, nonce bookkeeping (expiry, `stale`, nonce-count replay)
//!   and request-target check, in [`DigestServer`].

use std::time::{Duration, Instant};

use sipdigest::{Algorithm, Authorization, Challenge, Credentials};

use crate::error::HttpError;
use crate::head::{is_tchar, RequestHead, ResponseHead};

/// HTTP Basic authentication (RFC 7617). Only ever use it over TLS: the password travels in
/// clear (base64 is an encoding, not a protection).
#[derive(Clone, Copy, Debug)]
pub struct Basic;

impl Basic {
    /// The `Authorization` value `Basic base64(user:password)`.
    ///
    /// Errors: a username containing `:` (RFC 7617 §2: it could not be told apart from the
    /// password) or a control character in either part.
    pub fn header_value(creds: &Credentials) -> Result<String, HttpError> {
        if creds.username.contains(':') {
            return Err(HttpError::Malformed("Basic username contains ':'"));
        }
        if creds
            .username
            .bytes()
            .chain(creds.password.bytes())
            .any(|b| b < 0x20 || b == 0x7f)
        {
            return Err(HttpError::Malformed("control character in Basic credentials"));
        }
        let mut plain = Vec::with_capacity(creds.username.len() + creds.password.len() + 1);
        plain.extend_from_slice(creds.username.as_bytes());
        plain.push(b':');
        plain.extend_from_slice(creds.password.as_bytes());
        Ok(format!("Basic {}", base64_encode(&plain)))
    }

    /// Decodes an `Authorization: Basic ...` value (server side). The scheme is matched without
    /// regard to case; the credentials must be UTF-8 and contain a `:`.
    pub fn parse(value: &str) -> Result<Credentials, HttpError> {
        let (scheme, rest) = value
            .trim()
            .split_once(' ')
            .ok_or(HttpError::Malformed("Basic value without credentials"))?;
        if !scheme.eq_ignore_ascii_case("Basic") {
            return Err(HttpError::Malformed("scheme is not Basic"));
        }
        let plain =
            base64_decode(rest.trim()).ok_or(HttpError::Malformed("Basic credentials are not base64"))?;
        let plain =
            String::from_utf8(plain).map_err(|_| HttpError::Malformed("Basic credentials are not UTF-8"))?;
        let (username, password) = plain
            .split_once(':')
            .ok_or(HttpError::Malformed("Basic credentials without ':'"))?;
        Ok(Credentials {
            username: username.to_owned(),
            password: password.to_owned(),
        })
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * k)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Strict standard base64 with padding; `None` for anything else.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if b.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    let groups = b.len() / 4;
    for (gi, g) in b.chunks(4).enumerate() {
        let pad = g.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && gi + 1 != groups) {
            return None;
        }
        let mut n: u32 = 0;
        for &c in &g[..4 - pad] {
            let v = B64.iter().position(|&x| x == c)?;
            n = n << 6 | v as u32;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

/// Splits a `WWW-Authenticate` (or `Proxy-Authenticate`) value into its challenges, each as a
/// slice of `value` starting with its scheme: `Basic realm="a", Digest realm="b", nonce="n"`
/// gives `Basic realm="a"` and `Digest realm="b", nonce="n"`.
///
/// A list element that starts with a token followed by whitespace and not by `=` starts a new
/// challenge (RFC 9110 §11.6.1); commas inside quoted strings do not split. Text before the
/// first scheme, and unterminated quotes, end the split (what was found so far is returned).
pub fn split_challenges(value: &str) -> Vec<&str> {
    let b = value.as_bytes();
    let mut out = Vec::new();
    let mut current: Option<usize> = None;
    let mut i = 0;
    let mut element_start = true;
    while i < b.len() {
        let c = b[i];
        if c == b'"' {
            // Skip the quoted string, honouring backslash escapes.
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            if i >= b.len() {
                break;
            }
            i += 1;
            element_start = false;
            continue;
        }
        if c == b',' {
            element_start = true;
            i += 1;
            continue;
        }
        if c == b' ' || c == b'\t' {
            i += 1;
            continue;
        }
        if element_start {
            element_start = false;
            // Is this element `token SP ...` (a new challenge) or `token = ...` (a parameter)?
            let tok_end = i + b[i..].iter().take_while(|&&x| is_tchar(x)).count();
            let after = tok_end
                + b[tok_end..]
                    .iter()
                    .take_while(|&&x| x == b' ' || x == b'\t')
                    .count();
            let starts_challenge = tok_end > i && (after == b.len() || (after > tok_end && b[after] != b'='));
            let bare_scheme = tok_end > i && tok_end == after && (after == b.len() || b[after] == b',');
            if starts_challenge || bare_scheme {
                if let Some(s) = current.take() {
                    out.push(value[s..last_non_sep(b, s, i)].trim_end());
                }
                current = Some(i);
            } else if current.is_none() {
                // A parameter before any scheme: not a challenge list.
                return out;
            }
            i = tok_end.max(i + 1);
            continue;
        }
        i += 1;
    }
    if let Some(s) = current {
        out.push(value[s..last_non_sep(b, s, b.len())].trim_end());
    }
    out
}

/// End of the challenge that started at `start`, with the separating commas and spaces before
/// `next` removed.
fn last_non_sep(b: &[u8], start: usize, next: usize) -> usize {
    let mut end = next.min(b.len());
    while end > start && matches!(b[end - 1], b',' | b' ' | b'\t') {
        end -= 1;
    }
    end
}

/// Every challenge of `scheme` (any case) in the `WWW-Authenticate` fields of `head`.
pub fn challenges<'a>(head: &'a ResponseHead, scheme: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    head.headers()
        .get_all("www-authenticate")
        .flat_map(split_challenges)
        .filter(move |c| {
            let name = c.split([' ', '\t']).next().unwrap_or_default();
            name.eq_ignore_ascii_case(scheme)
        })
}

/// The digest challenges of a 401 response that `sipdigest` can parse, in order.
pub fn digest_challenges(head: &ResponseHead) -> Vec<Challenge> {
    challenges(head, "Digest")
        .filter_map(|c| Challenge::parse(c).ok())
        .collect()
}

/// What [`DigestServer::verify`] decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DigestVerdict {
    /// The request is authenticated.
    Authorized {
        /// The user name that authenticated.
        username: String,
    },
    /// The credentials are right but the nonce expired or is unknown (RFC 7616 §3.3): answer
    /// with a new challenge with `stale=true`, and the client retries without asking its user.
    Stale,
    /// No, missing or wrong credentials, or a replay: answer with a new challenge. The text
    /// says why, for the log (it never holds anything the client sent).
    Denied(&'static str),
}

#[derive(Clone, Debug)]
struct IssuedNonce {
    nonce: String,
    issued: Instant,
    /// Highest nonce-count accepted so far; 0 before the first use.
    last_nc: u32,
}

/// The server side of HTTP Digest, as the TR-069 Connection Request server needs it
/// (TR-069 §3.2.2): issues nonces, checks `Authorization` answers and refuses replays.
///
/// Nonces are 128 random bits, remembered with the time they were issued, and accepted for
/// [`DigestServer::with_nonce_lifetime`] (60 s by default: long enough for a client's retry,
/// short enough that a captured nonce soon goes stale). Each nonce remembers the highest
/// nonce-count it was used with, and a request must use a higher one, so a captured request
/// cannot be replayed. `qop=auth` is required (an RFC 2069 answer, without `nc`, cannot be
/// checked for replay) and the digest-uri must be the request-target exactly.
///
/// At most [`DigestServer::MAX_NONCES`] nonces are remembered; issuing more forgets the oldest,
/// whose holder then gets a `stale` answer and retries. Time is passed in (`now`), so the
/// server is deterministic under test and never reads a clock itself.
///
/// ```
/// use std::time::Instant;
/// use httpwire::{DigestServer, DigestVerdict, RequestHead};
/// use sipdigest::{Challenge, Credentials};
///
/// let creds = Credentials { username: "acs".into(), password: "s3cret".into() };
/// let mut server = DigestServer::new("dgw connection request")?;
/// let now = Instant::now();
/// let values = server.challenge(now, false)?;
/// let challenge = Challenge::parse(&values[0])?;
/// let answer = sipdigest::respond(&challenge, &creds, "GET", "/cr", 1, "c0ffee")?;
///
/// let mut req = RequestHead::new("GET", "/cr")?;
/// req.headers_mut().append("Host", "192.0.2.1:7547")?;
/// req.headers_mut().append("Authorization", &answer.header_value)?;
/// let verdict = server.verify(&req, &creds, now);
/// assert_eq!(verdict, DigestVerdict::Authorized { username: "acs".into() });
/// // The same request again is a replay.
/// assert!(matches!(server.verify(&req, &creds, now), DigestVerdict::Denied(_)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct DigestServer {
    realm: String,
    algorithms: Vec<Algorithm>,
    lifetime: Duration,
    nonces: Vec<IssuedNonce>,
}

impl DigestServer {
    /// Most nonces remembered at once.
    pub const MAX_NONCES: usize = 32;

    /// A server for protection space `realm`, offering SHA-256 then MD5 (RFC 7616 §3.7: the
    /// preferred algorithm first). See [`DigestServer::with_algorithms`] for clients that only
    /// look at the first challenge and know only MD5.
    ///
    /// Errors: a realm with a control character or `"`/`\` (kept simple so the challenge text
    /// needs no escaping that some clients get wrong).
    pub fn new(realm: &str) -> Result<DigestServer, HttpError> {
        if realm.is_empty()
            || realm
                .bytes()
                .any(|b| b < 0x20 || b == 0x7f || b == b'"' || b == b'\\')
        {
            return Err(HttpError::Malformed(
                "digest realm must be printable text without quotes",
            ));
        }
        Ok(DigestServer {
            realm: realm.to_owned(),
            algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
            lifetime: Duration::from_secs(60),
            nonces: Vec::new(),
        })
    }

    /// Offers `algorithms`, in this order of preference (one challenge each). `-sess` variants
    /// are allowed. Errors on an empty list.
    pub fn with_algorithms(mut self, algorithms: &[Algorithm]) -> Result<DigestServer, HttpError> {
        if algorithms.is_empty() {
            return Err(HttpError::Malformed("no digest algorithm offered"));
        }
        self.algorithms = algorithms.to_vec();
        Ok(self)
    }

    /// Accepts each nonce for `lifetime` after it was issued.
    pub fn with_nonce_lifetime(mut self, lifetime: Duration) -> DigestServer {
        self.lifetime = lifetime;
        self
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// Issues a fresh nonce and returns the `WWW-Authenticate` values offering it, one per
    /// algorithm. `stale` sets `stale=true` (after [`DigestVerdict::Stale`]).
    pub fn challenge(&mut self, now: Instant, stale: bool) -> Result<Vec<String>, HttpError> {
        let nonce = sipdigest::try_new_cnonce().map_err(|_| HttpError::Random)?;
        self.forget_expired(now);
        if self.nonces.len() >= Self::MAX_NONCES {
            // Oldest first: nonces are pushed in issue order.
            self.nonces.remove(0);
        }
        self.nonces.push(IssuedNonce {
            nonce: nonce.clone(),
            issued: now,
            last_nc: 0,
        });
        Ok(self
            .algorithms
            .iter()
            .map(|alg| {
                let mut v = format!(
                    r#"Digest realm="{}", qop="auth", algorithm={}, nonce="{}""#,
                    self.realm, alg, nonce
                );
                if stale {
                    v.push_str(", stale=true");
                }
                v
            })
            .collect())
    }

    /// A complete `401 Unauthorized` head with fresh challenges and `Content-Length: 0`.
    pub fn unauthorized(&mut self, now: Instant, stale: bool) -> Result<ResponseHead, HttpError> {
        let mut head = ResponseHead::new(401)?;
        for v in self.challenge(now, stale)? {
            head.headers_mut().append("WWW-Authenticate", &v)?;
        }
        head.headers_mut().append("Content-Length", "0")?;
        Ok(head)
    }

    /// Checks the `Authorization` field of `request` against `creds`. Only a successful check
    /// uses up the nonce-count, so failed attempts cannot lock a nonce out.
    pub fn verify(&mut self, request: &RequestHead, creds: &Credentials, now: Instant) -> DigestVerdict {
        let mut values = request.headers().get_all("authorization");
        let value = match (values.next(), values.next()) {
            (None, _) => return DigestVerdict::Denied("no Authorization"),
            (Some(v), None) => v,
            (Some(_), Some(_)) => return DigestVerdict::Denied("more than one Authorization"),
        };
        self.verify_value(value, request.method(), request.target(), creds, now)
    }

    /// [`DigestServer::verify`] from the parts: the `Authorization` value, the method and the
    /// request-target as received.
    pub fn verify_value(
        &mut self,
        authorization: &str,
        method: &str,
        target: &str,
        creds: &Credentials,
        now: Instant,
    ) -> DigestVerdict {
        let Ok(auth) = Authorization::parse(authorization) else {
            return DigestVerdict::Denied("not a parsable Digest authorization");
        };
        if auth.realm != self.realm {
            return DigestVerdict::Denied("wrong realm");
        }
        if !self.algorithms.contains(&auth.algorithm) {
            return DigestVerdict::Denied("algorithm not offered");
        }
        if auth.qop.is_none() {
            return DigestVerdict::Denied("qop=auth missing");
        }
        // RFC 7616 §3.4.6: the digest-uri must name the resource requested, or an answer could
        // be moved to another resource.
        if auth.uri != target {
            return DigestVerdict::Denied("digest uri differs from the request-target");
        }
        // The username is not secret; the response check below compares in constant time.
        if auth.username != creds.username || !auth.verify(&creds.password, method) {
            return DigestVerdict::Denied("wrong credentials");
        }
        let Some(nc) = auth.nc.as_deref().and_then(|n| u32::from_str_radix(n, 16).ok()) else {
            return DigestVerdict::Denied("bad nonce-count");
        };
        let lifetime = self.lifetime;
        let Some(entry) = self.nonces.iter_mut().find(|n| n.nonce == auth.nonce) else {
            // Right password over a nonce we do not know (forgotten, or from before a restart).
            return DigestVerdict::Stale;
        };
        if now.saturating_duration_since(entry.issued) > lifetime {
            return DigestVerdict::Stale;
        }
        if nc <= entry.last_nc {
            return DigestVerdict::Denied("nonce-count replayed");
        }
        entry.last_nc = nc;
        DigestVerdict::Authorized {
            username: auth.username,
        }
    }

    fn forget_expired(&mut self, now: Instant) {
        let lifetime = self.lifetime;
        self.nonces
            .retain(|n| now.saturating_duration_since(n.issued) <= lifetime);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip_and_rfc7617_example() {
        let creds = Credentials {
            username: "Aladdin".into(),
            password: "open sesame".into(),
        };
        assert_eq!(
            Basic::header_value(&creds).unwrap(),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(Basic::parse("basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==").unwrap(), creds);
        for len in 0..40u8 {
            let data: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(base64_decode(&base64_encode(&data)).unwrap(), data);
        }
        for bad in ["QQ", "Q===", "QQ==QQ==", "QQ=A", "Q Q=", "****"] {
            assert!(base64_decode(bad).is_none(), "{bad}");
        }
        assert!(Basic::header_value(&Credentials {
            username: "a:b".into(),
            password: "x".into()
        })
        .is_err());
        assert!(Basic::parse("Digest abc").is_err());
        assert!(Basic::parse("Basic Zm9v").is_err()); // "foo": no colon
    }

    #[test]
    fn splits_challenge_lists() {
        let v = r#"Basic realm="a, b", Digest realm="x", nonce="n,1", qop="auth", Newauth"#;
        assert_eq!(
            split_challenges(v),
            vec![
                r#"Basic realm="a, b""#,
                r#"Digest realm="x", nonce="n,1", qop="auth""#,
                "Newauth"
            ]
        );
        assert_eq!(
            split_challenges("Negotiate abc==, Basic realm=x"),
            vec!["Negotiate abc==", "Basic realm=x"]
        );
        assert_eq!(
            split_challenges(r#"Digest realm = "x" , nonce= "y""#),
            vec![r#"Digest realm = "x" , nonce= "y""#]
        );
        assert!(split_challenges(r#"realm="x""#).is_empty());
        assert!(split_challenges("").is_empty());
        assert_eq!(
            split_challenges(r#"Digest realm="unterminated"#),
            vec![r#"Digest realm="unterminated"#]
        );
    }

    #[test]
    fn server_stale_expiry_and_replay() {
        let creds = Credentials {
            username: "u".into(),
            password: "p".into(),
        };
        let t0 = Instant::now();
        let mut s = DigestServer::new("r")
            .unwrap()
            .with_nonce_lifetime(Duration::from_secs(10));
        let ch = Challenge::parse(&s.challenge(t0, false).unwrap()[1]).unwrap();
        assert_eq!(ch.algorithm, Algorithm::Md5);
        let answer = |nc, uri: &str, pw: &str| {
            let c = Credentials {
                username: "u".into(),
                password: pw.into(),
            };
            sipdigest::respond(&ch, &c, "GET", uri, nc, "abc")
                .unwrap()
                .header_value
        };
        assert_eq!(
            s.verify_value(&answer(1, "/", "p"), "GET", "/", &creds, t0),
            DigestVerdict::Authorized { username: "u".into() }
        );
        assert!(matches!(
            s.verify_value(&answer(1, "/", "p"), "GET", "/", &creds, t0),
            DigestVerdict::Denied(_)
        ));
        assert!(matches!(
            s.verify_value(&answer(2, "/", "bad"), "GET", "/", &creds, t0),
            DigestVerdict::Denied(_)
        ));
        assert!(matches!(
            s.verify_value(&answer(2, "/x", "p"), "GET", "/", &creds, t0),
            DigestVerdict::Denied(_)
        ));
        assert!(matches!(
            s.verify_value(&answer(2, "/", "p"), "POST", "/", &creds, t0),
            DigestVerdict::Denied(_)
        ));
        assert!(matches!(
            s.verify_value(&answer(3, "/", "p"), "GET", "/", &creds, t0),
            DigestVerdict::Authorized { .. }
        ));
        let later = t0 + Duration::from_secs(11);
        assert_eq!(
            s.verify_value(&answer(4, "/", "p"), "GET", "/", &creds, later),
            DigestVerdict::Stale
        );
        // Wrong password with an expired nonce is still a plain denial.
        assert!(matches!(
            s.verify_value(&answer(4, "/", "bad"), "GET", "/", &creds, later),
            DigestVerdict::Denied(_)
        ));
        assert!(s.challenge(later, true).unwrap()[0].ends_with("stale=true"));
        // Unknown nonce with right password: stale.
        let mut other = DigestServer::new("r").unwrap();
        assert_eq!(
            other.verify_value(&answer(1, "/", "p"), "GET", "/", &creds, t0),
            DigestVerdict::Stale
        );
        // RFC 2069 answers (no qop) are refused.
        let mut old = ch.clone();
        old.qop.clear();
        let no_qop = sipdigest::respond(&old, &creds, "GET", "/", 1, "abc")
            .unwrap()
            .header_value;
        assert!(matches!(
            s.verify_value(&no_qop, "GET", "/", &creds, t0),
            DigestVerdict::Denied(_)
        ));
    }

    #[test]
    fn server_forgets_oldest_nonce() {
        let mut s = DigestServer::new("r").unwrap();
        let t = Instant::now();
        for _ in 0..DigestServer::MAX_NONCES + 5 {
            s.challenge(t, false).unwrap();
        }
        assert_eq!(s.nonces.len(), DigestServer::MAX_NONCES);
        assert!(DigestServer::new("a\"b").is_err());
        assert!(DigestServer::new("r").unwrap().with_algorithms(&[]).is_err());
    }
}
