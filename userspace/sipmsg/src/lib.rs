//! dgw SIP messages: a defensive parser, serializer and stream framer (Content-Length, RFC 5626
//! keep-alives, the DGW's 5120-byte limit).
//!
//! # Design
//!
//! Everything this crate parses comes from the network, so the parser is written to refuse rather
//! than to guess, and never to panic: there is no unchecked indexing, no `unwrap` on input-derived
//! values and all arithmetic on input-derived numbers is checked. Every input has a size limit:
//!
//! | limit | value | why |
//! |---|---|---|
//! | [`MAX_MESSAGE`] | 5120 bytes | the Media5 DGW's SIP message limit; a whole message, header section and body |
//! | [`MAX_HEADERS`] | 64 | header lines (after unfolding) in one message |
//! | [`MAX_PARAMS`] | 32 | parameters of one URI, URI headers of one URI, or parameters of one header value |
//! | [`MAX_URI`] | 1024 bytes | one URI |
//! | method token | 32 bytes | for the framer's early garbage detection ([`Framer`]) |
//!
//! Parsed values are kept as they were written (URI users keep their `%` escapes, parameter values
//! keep their quotes, header names keep their spelling and case), so that a parsed message writes
//! back unchanged and nothing is lost; comparisons (header names, parameter names, URI schemes,
//! `SIP/2.0`) are case-insensitive where RFC 3261 says so. Header names may be given in full or in
//! their compact form (RFC 3261 7.3.3: `c e f i k l m s t v`, plus `o` = Event from RFC 6665)
//! wherever a name is looked up.
//!
//! [`Message::parse`] takes one whole message (a UDP datagram or a [`Frame::Message`] from the
//! [`Framer`]). It accepts CRLF and bare LF line ends, unfolds continuation lines, ignores CRLFs
//! before the start line (RFC 3261 7.5) and checks what a transaction layer relies on: the
//! mandatory headers are present exactly once (To, From, CSeq, Call-ID; Via at least once) and
//! parse, the CSeq method is the request method, the status code is 100..=699 and the body is as
//! long as Content-Length says. Serializing ([`Message::to_bytes`]) always writes CRLF and writes
//! Content-Length itself.
//!
//! On streams (TCP, TLS) the [`Framer`] cuts the byte stream into messages by Content-Length and
//! reports RFC 5626 keep-alives; its buffer stays within the limit plus one read chunk, an
//! oversize message is skipped without losing the connection, and anything that cannot be framed
//! is a fatal [`FrameError`]. See [`Framer`] for how it must be driven.
//!
//! # Limits
//!
//! * Only `sip:` and `sips:` URIs are understood; a request whose Request-URI is, say, `tel:` is
//!   refused as a parse error (so it cannot be answered 416 from a parsed message).
//! * URI `%` escapes are validated but not decoded; comparing URIs per RFC 3261 19.1.4 is the
//!   caller's business.
//! * Via comments and multipart bodies are not interpreted; bodies are opaque bytes.
//! * Values given to [`Headers::push`]/[`Headers::set`] are sanitized (control characters become
//!   spaces) so that a caller can never inject a header line; no other validation is done on
//!   values the program builds itself.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod addr;
mod framer;
mod headers;
mod message;
mod method;

#[cfg(test)]
mod tests;

use std::fmt;

pub use addr::{NameAddr, Scheme, Uri, Via};
pub use framer::{Frame, FrameError, Framer};
pub use headers::{split_list, Headers};
pub use message::{reason_phrase, Message, StartLine};
pub use method::Method;

/// The largest SIP message handled, header section and body together, in bytes (the Media5 DGW's
/// limit). [`Message::parse`] refuses longer input; give the same value to [`Framer::new`].
pub const MAX_MESSAGE: usize = 5120;

/// The most header lines (after unfolding) one message may have.
pub const MAX_HEADERS: usize = 64;

/// The most parameters one URI or header value may carry (and the most `?` headers in one URI).
pub const MAX_PARAMS: usize = 32;

/// The longest URI accepted, in bytes.
pub const MAX_URI: usize = 1024;

/// Why some input could not be parsed: a short, fixed description that never echoes the input (so
/// it is safe to log and to put in a reason phrase).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    what: &'static str,
}

impl ParseError {
    /// An error with this description.
    pub fn new(what: &'static str) -> ParseError {
        ParseError { what }
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        self.what
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)
    }
}

impl std::error::Error for ParseError {}

/// Shorthand for an `Err(ParseError)`.
pub(crate) fn err<T>(what: &'static str) -> Result<T, ParseError> {
    Err(ParseError::new(what))
}

/// RFC 3261 `token` characters.
pub(crate) fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// A non-empty RFC 3261 `token`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_char)
}

/// Linear white space within one (already unfolded) line.
pub(crate) fn is_lws(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// `s` without leading and trailing spaces and tabs.
pub(crate) fn trim_lws(s: &str) -> &str {
    s.trim_matches(is_lws)
}

/// Parses a run of decimal digits, saturating at `u32::MAX` (RFC 3261 says an Expires larger than
/// 2**32-1 means 2**32-1); `None` unless the whole (trimmed) value is digits.
pub(crate) fn parse_u32_saturating(s: &str) -> Option<u32> {
    let s = trim_lws(s);
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut n: u32 = 0;
    for b in s.bytes() {
        n = n.saturating_mul(10).saturating_add(u32::from(b - b'0'));
    }
    Some(n)
}
