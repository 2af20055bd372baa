//! # sdp
//!
//! Session descriptions for the gateway's calls: RFC 4566 parsing and
//! serialization, RFC 3264 offer/answer for one audio stream, and SRTP
//! keys exchanged the SDES way (RFC 4568 `a=crypto`, with the AEAD
//! suites of RFC 7714).
//!
//! ```
//! use sdp::{answer, check_answer, offer, AnswerOptions, Codec, OfferOptions, SrtpPolicy};
//!
//! // Our INVITE, over SIP/TLS so that SDES keys may travel in it.
//! let ours = offer(&OfferOptions {
//!     address: "192.0.2.10".parse().unwrap(),
//!     port: 40000,
//!     session_id: 42,
//!     codecs: Codec::defaults(),
//!     srtp: SrtpPolicy::Mandatory,
//! }, true)?;
//! let text = ours.to_string(); // CRLF line ends, ready for the body
//!
//! // The far end's answer (here: this crate acting for it).
//! let (theirs, _) = answer(&sdp::Session::parse(&text)?, &AnswerOptions {
//!     address: "198.51.100.7".parse().unwrap(),
//!     port: 50000,
//!     session_id: 7,
//!     codecs: Codec::defaults(),
//!     srtp: SrtpPolicy::Optional,
//! }, true)?;
//!
//! let call = check_answer(&ours, &sdp::Session::parse(&theirs.to_string())?)?;
//! assert_eq!((call.remote_address.as_str(), call.remote_port), ("198.51.100.7", 50000));
//! assert_eq!(call.codec.name, "PCMU");
//! let (our_key, their_key) = call.srtp.expect("SRTP was mandatory");
//! assert_eq!(our_key.tag, their_key.tag);
//! # Ok::<(), sdp::SdpError>(())
//! ```
//!
//! ## Design
//!
//! * **Bounded, strict parsing of untrusted text.** A description is
//!   refused past [`MAX_SDP_LEN`] bytes, [`MAX_MEDIA`] `m=` lines,
//!   [`MAX_ATTRIBUTES`] attributes per level or [`MAX_FORMATS`] formats
//!   per `m=` line. Lines end in CRLF or a bare LF. `v=0`, `o=`, `s=`
//!   must come first, in that order; a line type RFC 4566 does not
//!   define is an error (§5: a parser must not guess at one), as is an
//!   active `m=` line with no `c=` at either level. Errors carry the
//!   1-based line number ([`SdpError::Syntax`]); nothing panics.
//! * **A model of what the gateway uses.** [`Session`] keeps `o=`,
//!   `s=`, `c=`, `t=`, attributes and media; the other session-level
//!   lines (`i=`, `u=`, `e=`, `p=`, `b=`, `r=`, `z=`, `k=`, extra `t=`)
//!   are kept verbatim in [`Session::extra`] and written back in RFC
//!   order. Media-level `i=`, `b=` and `k=` are dropped.
//! * **Addresses are bare.** [`Connection::address`] and
//!   [`Origin::address`] hold `192.0.2.1` or `2001:db8::1`, without
//!   `IN IP4`; the address type written back is derived from the
//!   address ([`Connection::addrtype`]): `IP6` when it contains a colon.
//! * **SDES only over TLS.** `a=crypto` carries the SRTP master key in
//!   clear, so [`offer`] refuses an SRTP policy and [`answer`] refuses an
//!   `RTP/SAVP` offer when the signalling is not secure
//!   ([`SdpError::SdesNeedsTls`]). An `RTP/AVP` offer whose `a=crypto`
//!   came over plain signalling gets a plain answer: the key was seen by
//!   anyone on the path, so using it would only pretend to be secure.
//! * **Keys never printed.** [`Crypto`], [`Negotiated`] and the
//!   `a=crypto` [`Attribute`]s of a [`Session`] redact key material in
//!   `Debug`, and crypto errors never quote the key; only `Display` (the
//!   wire form) writes it. Keys are
//!   drawn from `ring`'s system random generator.
//!
//! ## Offer/answer profile
//!
//! The gateway makes one audio stream. [`offer`] lists the configured
//! codecs (with `a=rtpmap`, `a=fmtp:<pt> 0-16` for telephone-event,
//! `a=ptime:20`, `a=sendrecv`) and, with SRTP, `a=crypto:1
//! AES_CM_128_HMAC_SHA1_80` and `a=crypto:2 AES_CM_128_HMAC_SHA1_32`
//! ([`OFFERED_SUITES`]). [`answer`] takes the first active `RTP/AVP` or
//! `RTP/SAVP` audio stream, rejects all other `m=` lines with port 0
//! (RFC 3264 §6), and answers with a single voice codec (the first
//! offered one we have) plus telephone-event when both sides have it,
//! using the offer's payload type numbers. See [`answer`] for the SRTP
//! rules.
//!
//! ## Limits
//!
//! * Port counts (`m=audio 49170/2`), several keys in one `a=crypto`
//!   (`inline:...;inline:...`) and DTLS-SRTP (`UDP/TLS/RTP/SAVP`) are not
//!   supported: the first two are refused by the parser, the third is
//!   simply not chosen for audio.
//! * Offered `a=crypto` lines with session parameters
//!   (`UNENCRYPTED_SRTP`, `KDR=`...) are not chosen: the answerer would
//!   have to honour them. Lifetimes and MKIs are parsed and passed on in
//!   [`Negotiated::srtp`]; our own keys have neither.
//! * An `IN IP6` line with a domain name instead of an address would be
//!   written back as `IN IP4`.
//! * Key material lives in ordinary `Vec<u8>`s and is not zeroed on drop.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod crypto;
mod negotiate;

use std::fmt;

pub use crypto::{Crypto, CryptoSuite, OFFERED_SUITES};
pub use negotiate::{
    answer, check_answer, offer, AnswerOptions, Codec, Negotiated, OfferOptions, SrtpPolicy,
};

/// Largest description accepted, in bytes (a gateway's calls need well
/// under 2 KiB; MTU-sized SIP over UDP could not carry more anyway).
pub const MAX_SDP_LEN: usize = 5120;
/// Most `m=` lines accepted in one description.
pub const MAX_MEDIA: usize = 16;
/// Most `a=` lines accepted at session level and in each media.
pub const MAX_ATTRIBUTES: usize = 64;
/// Most formats (payload types) accepted on one `m=` line.
pub const MAX_FORMATS: usize = 32;

/// Why a description was refused or could not be negotiated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SdpError {
    /// Text that is not valid SDP. `line` is 1-based in the parsed text;
    /// 0 when the problem is in a description or options built in code,
    /// or between an offer and its answer.
    Syntax {
        /// Line number, 1-based; 0 when not about one line.
        line: usize,
        /// What is wrong.
        what: String,
    },
    /// Longer than [`MAX_SDP_LEN`], or more media, attributes or formats
    /// than the `MAX_` bounds.
    TooLarge,
    /// SDES keys (`a=crypto`) would travel over signalling that is not
    /// TLS.
    SdesNeedsTls,
    /// No voice codec in common (the daemon answers 488).
    NoCommonCodec,
    /// SRTP is required (by our policy or an `RTP/SAVP` offer) but no
    /// crypto suite could be agreed.
    NoCommonCrypto,
    /// No active RTP audio stream in the offer, or the answer rejected it.
    NoAudio,
    /// An `a=crypto` value that cannot be used; the text never contains
    /// key material.
    BadCrypto(String),
}

impl fmt::Display for SdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SdpError::Syntax { line: 0, what } => write!(f, "SDP: {what}"),
            SdpError::Syntax { line, what } => write!(f, "SDP line {line}: {what}"),
            SdpError::TooLarge => f.write_str("SDP too large"),
            SdpError::SdesNeedsTls => f.write_str("SDES keys (a=crypto) need TLS signalling"),
            SdpError::NoCommonCodec => f.write_str("no common codec"),
            SdpError::NoCommonCrypto => f.write_str("no common SRTP crypto suite"),
            SdpError::NoAudio => f.write_str("no usable audio stream"),
            SdpError::BadCrypto(what) => write!(f, "bad a=crypto: {what}"),
        }
    }
}

impl std::error::Error for SdpError {}

/// Cuts network text echoed into an error to 40 characters.
fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

/// `o=`: who made the description, and which version of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// User name, `-` when none.
    pub username: String,
    /// Session id, stable for the session.
    pub session_id: u64,
    /// Incremented each time the description changes (re-INVITE).
    pub session_version: u64,
    /// Bare address of the originator (network type `IN`, address type
    /// derived as for [`Connection::addrtype`]).
    pub address: String,
}

/// `c=`: where media goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    /// Bare address, `192.0.2.1` or `2001:db8::1` (or a multicast
    /// `address/ttl`, or a domain name), network type `IN`.
    pub address: String,
}

impl Connection {
    /// The SDP address type of [`Connection::address`]: `IP6` when it
    /// contains a colon, else `IP4`.
    pub fn addrtype(&self) -> &'static str {
        addrtype(&self.address)
    }
}

fn addrtype(address: &str) -> &'static str {
    if address.contains(':') {
        "IP6"
    } else {
        "IP4"
    }
}

/// `a=name` or `a=name:value`.
///
/// `Debug` hides the key of an `a=crypto` value, so that a logged
/// [`Session`] does not give away SRTP keys.
#[derive(Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Attribute name (case-sensitive, as RFC 4566 has it).
    pub name: String,
    /// Everything after the first colon; `None` for a flag attribute.
    pub value: Option<String>,
}

impl fmt::Debug for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = match &self.value {
            // Tag and suite are enough to debug a negotiation.
            Some(v) if self.name.eq_ignore_ascii_case("crypto") => {
                let mut shown: Vec<&str> = v.split_ascii_whitespace().take(2).collect();
                shown.push("<key redacted>");
                Some(shown.join(" "))
            }
            v => v.clone(),
        };
        f.debug_struct("Attribute")
            .field("name", &self.name)
            .field("value", &value)
            .finish()
    }
}

impl Attribute {
    /// An attribute with a value.
    pub fn new(name: &str, value: impl Into<String>) -> Attribute {
        Attribute {
            name: name.to_owned(),
            value: Some(value.into()),
        }
    }

    /// A flag attribute, without value (`a=sendrecv`).
    pub fn flag(name: &str) -> Attribute {
        Attribute {
            name: name.to_owned(),
            value: None,
        }
    }
}

/// `t=`: start and stop times, `0 0` for an unbounded session (the
/// only form SIP uses).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timing {
    /// NTP start time, 0 for "now".
    pub start: u64,
    /// NTP stop time, 0 for "unbounded".
    pub stop: u64,
}

/// A session-level line this crate does not model, kept for writing
/// back (`i=`, `u=`, `e=`, `p=`, `b=`, `r=`, `z=`, `k=`, extra `t=`).
///
/// `Debug` hides the value of a `k=` (encryption key) line.
#[derive(Clone, PartialEq, Eq)]
pub struct ExtraLine {
    /// Type letter.
    pub kind: char,
    /// Everything after `=`.
    pub value: String,
}

impl fmt::Debug for ExtraLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = if self.kind == 'k' {
            "<redacted>"
        } else {
            self.value.as_str()
        };
        f.debug_struct("ExtraLine")
            .field("kind", &self.kind)
            .field("value", &value)
            .finish()
    }
}

/// Media direction attribute (RFC 3264 §5.1). Absent means `SendRecv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `a=sendrecv`.
    SendRecv,
    /// `a=sendonly`.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction an answerer willing to send and receive uses in
    /// reply (RFC 3264 §6.1): send-only becomes receive-only and back.
    pub fn answer(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }

    fn from_attributes(attrs: &[Attribute]) -> Option<Direction> {
        attrs.iter().find_map(|a| match a.name.as_str() {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        })
    }
}

/// One `m=` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Media {
    /// `audio`, `video`, `application`...
    pub kind: String,
    /// Transport port; 0 for a rejected or disabled stream.
    pub port: u16,
    /// Transport protocol: `RTP/AVP`, `RTP/SAVP`...
    pub proto: String,
    /// Formats: RTP payload type numbers as text.
    pub formats: Vec<String>,
    /// Media-level `c=`, overriding the session's.
    pub connection: Option<Connection>,
    /// Media-level attributes, in order.
    pub attributes: Vec<Attribute>,
}

impl Media {
    /// The valid `a=crypto` lines, in order; invalid ones (unknown suite,
    /// wrong key length...) are skipped.
    pub fn crypto(&self) -> Vec<Crypto> {
        self.attribute_values("crypto")
            .filter_map(|v| Crypto::parse(v).ok())
            .collect()
    }

    /// The media-level direction; `SendRecv` when absent. See
    /// [`Session::direction_of`] for the session-level fallback.
    pub fn direction(&self) -> Direction {
        Direction::from_attributes(&self.attributes).unwrap_or(Direction::SendRecv)
    }

    /// The `a=rtpmap` encoding of payload type `pt`, such as `PCMU/8000`
    /// or `opus/48000/2`.
    pub fn rtpmap(&self, pt: &str) -> Option<&str> {
        self.pt_attribute("rtpmap", pt)
    }

    /// The `a=fmtp` parameters of payload type `pt`, such as `0-16`.
    pub fn fmtp(&self, pt: &str) -> Option<&str> {
        self.pt_attribute("fmtp", pt)
    }

    /// The codec behind payload type `pt`: from `a=rtpmap`, else from the
    /// static payload types of RFC 3551 that a gateway meets (PCMU, GSM,
    /// G723, PCMA, G722, G729). `None` for an unknown or invalid one.
    pub fn codec(&self, pt: &str) -> Option<Codec> {
        let payload_type: u8 = pt.parse().ok().filter(|&n| n <= 127)?;
        // Only the canonical spelling: "08" or "+8" would be answered as
        // "8", a format the offer does not list.
        if pt != payload_type.to_string() {
            return None;
        }
        if let Some(map) = self.rtpmap(pt) {
            let mut parts = map.split('/');
            let name = parts.next().filter(|n| !n.is_empty())?;
            let clock_rate = parts.next()?.trim().parse().ok()?;
            return Some(Codec {
                payload_type,
                name: name.to_owned(),
                clock_rate,
            });
        }
        let name = match payload_type {
            0 => "PCMU",
            3 => "GSM",
            4 => "G723",
            8 => "PCMA",
            9 => "G722",
            18 => "G729",
            _ => return None,
        };
        Some(Codec {
            payload_type,
            name: name.to_owned(),
            clock_rate: 8000,
        })
    }

    /// The telephone-event (RFC 4733 DTMF) payload type listed on this
    /// line, if any.
    pub fn telephone_event(&self) -> Option<u8> {
        self.formats
            .iter()
            .filter_map(|pt| self.codec(pt))
            .find(|c| c.name.eq_ignore_ascii_case("telephone-event"))
            .map(|c| c.payload_type)
    }

    fn attribute_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.attributes
            .iter()
            .filter(move |a| a.name == name)
            .filter_map(|a| a.value.as_deref())
    }

    fn pt_attribute(&self, name: &'static str, pt: &str) -> Option<&str> {
        self.attribute_values(name).find_map(|v| {
            let (p, rest) = v.split_once(' ')?;
            (p == pt).then(|| rest.trim())
        })
    }
}

/// A whole session description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// `o=`.
    pub origin: Origin,
    /// `s=`, `-` when there is nothing to say.
    pub name: String,
    /// Session-level `c=`, the default for all media.
    pub connection: Option<Connection>,
    /// Session-level attributes, in order.
    pub attributes: Vec<Attribute>,
    /// `m=` sections, in order.
    pub media: Vec<Media>,
    /// `t=` (the first one).
    pub timing: Timing,
    /// Other session-level lines, kept verbatim.
    pub extra: Vec<ExtraLine>,
}

/// RFC 4566 §5 order of the session-level lines around `c=` and `t=`.
const BEFORE_C: &[char] = &['i', 'u', 'e', 'p'];
const BEFORE_T: &[char] = &['b'];

impl Session {
    /// Parses a description (see the crate documentation for what is
    /// accepted).
    pub fn parse(text: &str) -> Result<Session, SdpError> {
        if text.len() > MAX_SDP_LEN {
            return Err(SdpError::TooLarge);
        }
        Parser::default().run(text)
    }

    /// Direction of `media`: its own attribute, else the session-level
    /// one, else `SendRecv`.
    pub fn direction_of(&self, media: &Media) -> Direction {
        Direction::from_attributes(&media.attributes)
            .or_else(|| Direction::from_attributes(&self.attributes))
            .unwrap_or(Direction::SendRecv)
    }

    /// Where `media` goes: its own `c=`, else the session's.
    pub fn connection_of<'a>(&'a self, media: &'a Media) -> Option<&'a Connection> {
        media.connection.as_ref().or(self.connection.as_ref())
    }

    /// Index of the stream offer/answer negotiates: the first active
    /// (port not 0) audio `m=` line with `RTP/AVP` or `RTP/SAVP`.
    pub fn audio_index(&self) -> Option<usize> {
        self.media.iter().position(|m| {
            m.port != 0 && m.kind.eq_ignore_ascii_case("audio") && negotiate::rtp_proto(&m.proto).is_some()
        })
    }
}

fn syntax(line: usize, what: impl Into<String>) -> SdpError {
    SdpError::Syntax {
        line,
        what: what.into(),
    }
}

#[derive(Default)]
struct Parser {
    origin: Option<Origin>,
    name: Option<String>,
    connection: Option<Connection>,
    timing: Option<Timing>,
    attributes: Vec<Attribute>,
    extra: Vec<ExtraLine>,
    media: Vec<Media>,
    /// Line number of each media's `m=`, for the connection check.
    media_lines: Vec<usize>,
}

impl Parser {
    fn run(mut self, text: &str) -> Result<Session, SdpError> {
        let mut seen = 0;
        for (i, raw) in text.split('\n').enumerate() {
            let n = i + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if line.is_empty() {
                // A blank line, typically after the last CRLF.
                continue;
            }
            if line.bytes().any(|b| b == 0 || b == b'\r') {
                return Err(syntax(n, "NUL or CR inside a line"));
            }
            let b = line.as_bytes();
            if b.len() < 2 || b[1] != b'=' || !b[0].is_ascii_lowercase() {
                return Err(syntax(n, "not a <type>=<value> line"));
            }
            let kind = char::from(b[0]);
            let value = &line[2..];
            match (seen, kind) {
                (0, 'v') if value == "0" => {}
                (0, 'v') => return Err(syntax(n, "version is not 0")),
                (0, _) => return Err(syntax(n, "v= must come first")),
                (1, 'o') => self.origin = Some(parse_origin(n, value)?),
                (1, _) => return Err(syntax(n, "o= must follow v=")),
                (2, 's') => self.name = Some(value.to_owned()),
                (2, _) => return Err(syntax(n, "s= must follow o=")),
                _ => self.line(n, kind, value)?,
            }
            seen += 1;
        }
        let (Some(origin), Some(name)) = (self.origin, self.name) else {
            return Err(syntax(0, "missing v=, o= or s="));
        };
        if self.connection.is_none() {
            for (m, &n) in self.media.iter().zip(&self.media_lines) {
                if m.port != 0 && m.connection.is_none() {
                    return Err(syntax(n, "no c= for this media nor for the session"));
                }
            }
        }
        Ok(Session {
            origin,
            name,
            connection: self.connection,
            attributes: self.attributes,
            media: self.media,
            // t= is mandatory in RFC 4566, yet some stacks leave it out;
            // "0 0" is what it would have said.
            timing: self.timing.unwrap_or_default(),
            extra: self.extra,
        })
    }

    fn line(&mut self, n: usize, kind: char, value: &str) -> Result<(), SdpError> {
        if let Some(m) = self.media.last_mut() {
            match kind {
                'm' => {}
                'c' if m.connection.is_some() => return Err(syntax(n, "second c= in media")),
                'c' => {
                    m.connection = Some(parse_connection(n, value)?);
                    return Ok(());
                }
                'a' => return push_attribute(&mut m.attributes, n, value),
                // Title, bandwidth and key of a stream: not used by the
                // gateway, dropped.
                'i' | 'b' | 'k' => return Ok(()),
                _ => return Err(syntax(n, format!("{kind}= not allowed in a media section"))),
            }
        }
        match kind {
            'm' => {
                if self.media.len() >= MAX_MEDIA {
                    return Err(SdpError::TooLarge);
                }
                self.media.push(parse_media(n, value)?);
                self.media_lines.push(n);
            }
            'c' if self.connection.is_some() => return Err(syntax(n, "second session c=")),
            'c' => self.connection = Some(parse_connection(n, value)?),
            'a' => push_attribute(&mut self.attributes, n, value)?,
            't' if self.timing.is_none() => {
                let times: Vec<Option<u64>> = value.split(' ').take(3).map(|t| t.parse().ok()).collect();
                let [Some(start), Some(stop)] = times[..] else {
                    return Err(syntax(n, "t= is not <start> <stop>"));
                };
                self.timing = Some(Timing { start, stop });
            }
            't' | 'i' | 'u' | 'e' | 'p' | 'b' | 'r' | 'z' | 'k' => {
                if self.extra.len() >= MAX_ATTRIBUTES {
                    return Err(SdpError::TooLarge);
                }
                self.extra.push(ExtraLine {
                    kind,
                    value: value.to_owned(),
                });
            }
            'v' | 'o' | 's' => return Err(syntax(n, format!("second {kind}="))),
            _ => return Err(syntax(n, format!("unknown line type {kind}="))),
        }
        Ok(())
    }
}

fn push_attribute(attrs: &mut Vec<Attribute>, n: usize, value: &str) -> Result<(), SdpError> {
    if attrs.len() >= MAX_ATTRIBUTES {
        return Err(SdpError::TooLarge);
    }
    let (name, value) = match value.split_once(':') {
        Some((name, v)) => (name, Some(v.to_owned())),
        None => (value, None),
    };
    if !is_token(name) {
        return Err(syntax(n, format!("bad attribute name {:?}", clip(name))));
    }
    attrs.push(Attribute {
        name: name.to_owned(),
        value,
    });
    Ok(())
}

/// RFC 4566 `token`.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`{|}~".contains(&b))
}

/// `IN IP4 <addr>` / `IN IP6 <addr>` (shared by `o=` and `c=`).
fn parse_address<'a>(n: usize, fields: &[&'a str]) -> Result<&'a str, SdpError> {
    let [nettype, addrtype, address] = fields else {
        return Err(syntax(n, "expected IN IP4|IP6 <address>"));
    };
    if *nettype != "IN" {
        return Err(syntax(n, format!("network type {:?} is not IN", clip(nettype))));
    }
    if !addrtype.eq_ignore_ascii_case("IP4") && !addrtype.eq_ignore_ascii_case("IP6") {
        return Err(syntax(
            n,
            format!("address type {:?} is not IP4 or IP6", clip(addrtype)),
        ));
    }
    if !address
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b".:-/%_".contains(&b))
    {
        return Err(syntax(n, "bad characters in address"));
    }
    Ok(address)
}

fn parse_origin(n: usize, value: &str) -> Result<Origin, SdpError> {
    let fields: Vec<&str> = value.split_ascii_whitespace().take(7).collect();
    let [username, id, version, rest @ ..] = fields.as_slice() else {
        return Err(syntax(n, "o= has too few fields"));
    };
    let number = |s: &str| {
        s.parse::<u64>()
            .map_err(|_| syntax(n, "o= session id or version is not a u64"))
    };
    Ok(Origin {
        username: (*username).to_owned(),
        session_id: number(id)?,
        session_version: number(version)?,
        address: parse_address(n, rest)?.to_owned(),
    })
}

fn parse_connection(n: usize, value: &str) -> Result<Connection, SdpError> {
    let fields: Vec<&str> = value.split_ascii_whitespace().take(4).collect();
    Ok(Connection {
        address: parse_address(n, &fields)?.to_owned(),
    })
}

fn parse_media(n: usize, value: &str) -> Result<Media, SdpError> {
    let mut it = value.split_ascii_whitespace();
    let (Some(kind), Some(port), Some(proto)) = (it.next(), it.next(), it.next()) else {
        return Err(syntax(n, "m= has too few fields"));
    };
    if !is_token(kind) {
        return Err(syntax(n, "bad media type"));
    }
    if port.contains('/') {
        return Err(syntax(n, "port counts are not supported"));
    }
    let port = port
        .parse()
        .map_err(|_| syntax(n, format!("bad port {:?}", clip(port))))?;
    if !proto.split('/').all(is_token) {
        return Err(syntax(n, "bad transport protocol"));
    }
    let mut formats = Vec::new();
    for f in it {
        if formats.len() >= MAX_FORMATS {
            return Err(SdpError::TooLarge);
        }
        if !is_token(f) {
            return Err(syntax(n, "bad format"));
        }
        formats.push(f.to_owned());
    }
    if formats.is_empty() {
        return Err(syntax(n, "m= lists no format"));
    }
    Ok(Media {
        kind: kind.to_owned(),
        port,
        proto: proto.to_owned(),
        formats,
        connection: None,
        attributes: Vec::new(),
    })
}

fn write_attributes(f: &mut fmt::Formatter<'_>, attrs: &[Attribute]) -> fmt::Result {
    for a in attrs {
        match &a.value {
            Some(v) => write!(f, "a={}:{}\r\n", a.name, v)?,
            None => write!(f, "a={}\r\n", a.name)?,
        }
    }
    Ok(())
}

impl fmt::Display for Connection {
    /// The value of a `c=` line: `IN IP4 192.0.2.1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IN {} {}", self.addrtype(), self.address)
    }
}

impl fmt::Display for Session {
    /// The description with CRLF line ends, in RFC 4566 order. Fields are
    /// written as they are: one built in code must not hold line breaks.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        write!(f, "v=0\r\n")?;
        write!(
            f,
            "o={} {} {} IN {} {}\r\n",
            o.username,
            o.session_id,
            o.session_version,
            addrtype(&o.address),
            o.address
        )?;
        write!(f, "s={}\r\n", self.name)?;
        let extras = |f: &mut fmt::Formatter<'_>, pick: &dyn Fn(char) -> bool| -> fmt::Result {
            for e in self.extra.iter().filter(|e| pick(e.kind)) {
                write!(f, "{}={}\r\n", e.kind, e.value)?;
            }
            Ok(())
        };
        extras(f, &|k| BEFORE_C.contains(&k))?;
        if let Some(c) = &self.connection {
            write!(f, "c={c}\r\n")?;
        }
        extras(f, &|k| BEFORE_T.contains(&k))?;
        write!(f, "t={} {}\r\n", self.timing.start, self.timing.stop)?;
        extras(f, &|k| !BEFORE_C.contains(&k) && !BEFORE_T.contains(&k))?;
        write_attributes(f, &self.attributes)?;
        for m in &self.media {
            write!(f, "m={} {} {}", m.kind, m.port, m.proto)?;
            for fmt in &m.formats {
                write!(f, " {fmt}")?;
            }
            write!(f, "\r\n")?;
            if let Some(c) = &m.connection {
                write!(f, "c={c}\r\n")?;
            }
            write_attributes(f, &m.attributes)?;
        }
        Ok(())
    }
}
