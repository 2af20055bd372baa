//! The one error type of the crate.

use std::fmt;
use std::io;

/// Why a message could not be parsed, framed, built, sent or authenticated.
///
/// Messages are fixed texts: nothing received from the network (and so no header value, which
/// may be a credential) is ever copied into an error, so errors are safe to log.
#[derive(Debug)]
#[non_exhaustive]
pub enum HttpError {
    /// The head (start line and header fields) is longer than [`crate::MAX_HEAD_LEN`].
    HeadTooLarge,
    /// More than [`crate::MAX_HEADERS`] header fields (or trailer fields).
    TooManyHeaders,
    /// A start line, header line or chunk-size line is longer than [`crate::MAX_LINE_LEN`].
    LineTooLong,
    /// A CR not followed by LF. Refused rather than read as a line end or a space: peers that
    /// disagree on bare CR are how requests get smuggled past a proxy.
    BareCr,
    /// An LF not preceded by CR (same reason as [`HttpError::BareCr`]).
    BareLf,
    /// A header line starting with whitespace: obsolete line folding (RFC 9112 §5.2).
    ObsFold,
    /// The message does not follow the HTTP/1.1 grammar; the text says what.
    Malformed(&'static str),
    /// An `HTTP/x.y` version other than 1.0 and 1.1.
    UnsupportedVersion,
    /// Ambiguous body framing, which a request-smuggling attack relies on; the text says which.
    Smuggling(&'static str),
    /// A body longer than the limit the caller gave.
    BodyTooLarge,
    /// The connection ended in the middle of a message.
    UnexpectedEof,
    /// The connection cannot carry another request (the server or the request asked to close it,
    /// or an earlier error left it in an unknown state).
    ConnectionClosed,
    /// [`crate::Client`] was asked to send a request before the previous response's body was read.
    BodyPending,
    /// A URL that [`crate::Url::parse`] refuses; the text says why.
    Url(&'static str),
    /// A digest header could not be parsed or answered.
    Digest(sipdigest::DigestError),
    /// The system random generator failed (no nonce or cnonce could be made).
    Random,
    /// An I/O error from the underlying stream.
    Io(io::Error),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::HeadTooLarge => write!(f, "HTTP head longer than {} bytes", crate::MAX_HEAD_LEN),
            HttpError::TooManyHeaders => write!(f, "more than {} HTTP header fields", crate::MAX_HEADERS),
            HttpError::LineTooLong => write!(f, "HTTP line longer than {} bytes", crate::MAX_LINE_LEN),
            HttpError::BareCr => f.write_str("bare CR in HTTP message (only CRLF ends a line)"),
            HttpError::BareLf => f.write_str("bare LF in HTTP message (only CRLF ends a line)"),
            HttpError::ObsFold => f.write_str("obsolete line folding in HTTP header (RFC 9112 5.2)"),
            HttpError::Malformed(what) => write!(f, "malformed HTTP message: {what}"),
            HttpError::UnsupportedVersion => f.write_str("unsupported HTTP version (only 1.0 and 1.1)"),
            HttpError::Smuggling(what) => write!(f, "ambiguous HTTP body framing: {what}"),
            HttpError::BodyTooLarge => f.write_str("HTTP body larger than the limit"),
            HttpError::UnexpectedEof => f.write_str("connection closed in the middle of an HTTP message"),
            HttpError::ConnectionClosed => f.write_str("HTTP connection is closed; open a new one"),
            HttpError::BodyPending => f.write_str("the previous HTTP response body has not been read"),
            HttpError::Url(what) => write!(f, "invalid URL: {what}"),
            HttpError::Digest(e) => write!(f, "HTTP digest authentication: {e}"),
            HttpError::Random => f.write_str("system random generator failed"),
            HttpError::Io(e) => write!(f, "HTTP connection: {e}"),
        }
    }
}

impl std::error::Error for HttpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HttpError::Io(e) => Some(e),
            HttpError::Digest(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for HttpError {
    fn from(e: io::Error) -> Self {
        HttpError::Io(e)
    }
}

impl From<sipdigest::DigestError> for HttpError {
    fn from(e: sipdigest::DigestError) -> Self {
        HttpError::Digest(e)
    }
}
