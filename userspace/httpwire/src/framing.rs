//! Body framing: how long a body is (RFC 9112 §6), and the chunked transfer decoder.

use crate::error::HttpError;
use crate::head::{parse_field_line, Headers, Version, MAX_HEADERS, MAX_HEAD_LEN, MAX_LINE_LEN};

/// How a message body is delimited.
///
/// The parsers refuse every ambiguous combination, because a proxy and a server that frame the
/// same bytes differently is what request smuggling exploits:
///
/// * `Content-Length` and `Transfer-Encoding` together;
/// * several `Content-Length` values that differ (identical repeats, `5, 5`, are allowed as
///   RFC 9110 §8.6 says), or one that is not plain digits (`+5`, `0x5`, ` 5 5`);
/// * any `Transfer-Encoding` other than exactly one `chunked` (no `gzip, chunked`: this crate
///   decodes no content coding; no `chunked, chunked`);
/// * `Transfer-Encoding` in an HTTP/1.0 request (RFC 9112 §6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFraming {
    /// Exactly this many bytes follow the head (`0` for no body).
    Length(u64),
    /// `Transfer-Encoding: chunked`: feed the bytes after the head to a [`ChunkedDecoder`].
    Chunked,
    /// A response without length: the body is everything until the server closes the
    /// connection, which then cannot be reused. Over TLS only a `close_notify` proves the body
    /// complete (an attacker can cut TCP), so prefer servers that send a length.
    UntilClose,
}

/// The `Content-Length` the fields declare, if any, after the smuggling checks.
fn content_length(headers: &Headers) -> Result<Option<u64>, HttpError> {
    let mut found: Option<u64> = None;
    for value in headers.get_all("content-length") {
        for item in value.split(',') {
            let item = item.trim_matches([' ', '\t']);
            if item.is_empty() || item.len() > 19 || !item.bytes().all(|b| b.is_ascii_digit()) {
                return Err(HttpError::Smuggling("Content-Length is not a decimal number"));
            }
            let n: u64 = item
                .parse()
                .map_err(|_| HttpError::Smuggling("Content-Length out of range"))?;
            match found {
                Some(prev) if prev != n => {
                    return Err(HttpError::Smuggling("differing Content-Length values"))
                }
                _ => found = Some(n),
            }
        }
    }
    Ok(found)
}

/// Whether the fields ask for chunked transfer coding, after the smuggling checks.
pub(crate) fn check_framing_fields(
    version: Version,
    headers: &Headers,
    is_request: bool,
) -> Result<(Option<u64>, bool), HttpError> {
    let length = content_length(headers)?;
    if !headers.contains("transfer-encoding") {
        return Ok((length, false));
    }
    if length.is_some() {
        return Err(HttpError::Smuggling("both Content-Length and Transfer-Encoding"));
    }
    if is_request && version == Version::Http10 {
        return Err(HttpError::Smuggling("Transfer-Encoding in an HTTP/1.0 request"));
    }
    let mut codings = headers
        .get_all("transfer-encoding")
        .flat_map(|v| v.split(','))
        .map(|c| c.trim_matches([' ', '\t']));
    match (codings.next(), codings.next()) {
        (Some(c), None) if c.eq_ignore_ascii_case("chunked") => Ok((None, true)),
        _ => Err(HttpError::Smuggling(
            "Transfer-Encoding other than a single chunked",
        )),
    }
}

pub(crate) fn request_framing(version: Version, headers: &Headers) -> Result<BodyFraming, HttpError> {
    let (length, chunked) = check_framing_fields(version, headers, true)?;
    Ok(if chunked {
        BodyFraming::Chunked
    } else {
        BodyFraming::Length(length.unwrap_or(0))
    })
}

pub(crate) fn response_framing(
    version: Version,
    status: u16,
    request_method: &str,
    headers: &Headers,
) -> Result<BodyFraming, HttpError> {
    let (length, chunked) = check_framing_fields(version, headers, false)?;
    // RFC 9112 §6.3 rule 1: these never have a body, whatever the fields say (a HEAD response
    // carries the Content-Length a GET would have had).
    if request_method == "HEAD" || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(BodyFraming::Length(0));
    }
    // Rule 2: a successful CONNECT turns the connection into a tunnel; there is no body.
    if request_method == "CONNECT" && (200..300).contains(&status) {
        return Ok(BodyFraming::Length(0));
    }
    Ok(match (chunked, length) {
        (true, _) => BodyFraming::Chunked,
        (false, Some(n)) => BodyFraming::Length(n),
        (false, None) => BodyFraming::UntilClose,
    })
}

/// Longest chunk line (size and extensions) accepted. Extensions are ignored, so anything
/// longer is more likely an attack (extension-based resource exhaustion) than a real peer.
pub const MAX_CHUNK_LINE: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading a chunk-size line (size and extensions) into `line`.
    SizeLine,
    /// Reading chunk data; this many bytes are left.
    Data(u64),
    /// Expecting the CR after chunk data.
    DataCr,
    /// Expecting the LF after chunk data.
    DataLf,
    /// Reading trailer lines into `line`.
    Trailer,
    /// The body is complete.
    Done,
}

/// Decodes a `Transfer-Encoding: chunked` body (RFC 9112 §7.1), fed any number of bytes at a time.
///
/// ```
/// use httpwire::ChunkedDecoder;
/// let mut dec = ChunkedDecoder::new(1024);
/// let mut body = Vec::new();
/// let input = b"5;ext=1\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\nNEXT";
/// let used = dec.decode(input, &mut body)?;
/// assert_eq!(body, b"hello");
/// assert!(dec.is_done());
/// assert_eq!(&input[used..], b"NEXT"); // the next message on the connection
/// assert_eq!(dec.trailers().get("x-sum"), Some("1"));
/// # Ok::<(), httpwire::HttpError>(())
/// ```
///
/// Strict like the head parser: a chunk size is 1 to 16 hex digits (no sign, no `0x`, no
/// whitespace before it); chunk extensions are checked for control characters and skipped;
/// every line ends in CRLF; trailer fields follow the header grammar (no obs-fold) and the
/// limits on heads, and are kept apart in [`ChunkedDecoder::trailers`] rather than merged into
/// the head (a trailer must not be able to change framing or routing fields after the fact).
#[derive(Clone, Debug)]
pub struct ChunkedDecoder {
    state: State,
    /// The line being read (chunk size line or trailer line), bounded.
    line: Vec<u8>,
    /// A CR was the last byte of `line` so far.
    saw_cr: bool,
    limit: u64,
    total: u64,
    trailer_bytes: usize,
    trailers: Headers,
}

impl ChunkedDecoder {
    /// A decoder that refuses bodies whose decoded data is longer than `limit` bytes.
    pub fn new(limit: u64) -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::SizeLine,
            line: Vec::new(),
            saw_cr: false,
            limit,
            total: 0,
            trailer_bytes: 0,
            trailers: Headers::new(),
        }
    }

    /// Whether the last chunk and the trailer section have been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decoded data bytes so far.
    pub fn decoded_len(&self) -> u64 {
        self.total
    }

    /// Trailer fields received after the last chunk (empty until [`ChunkedDecoder::is_done`]).
    pub fn trailers(&self) -> &Headers {
        &self.trailers
    }

    /// Decodes as much of `input` as it can, appending body data to `out`. Returns the number of
    /// bytes of `input` used: all of it unless the body ended inside `input`, in which case the
    /// rest belongs to the next message. After an error the decoder must not be used again.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, HttpError> {
        let mut i = 0;
        while i < input.len() {
            match self.state {
                State::Done => break,
                State::Data(left) => {
                    let avail = input.len() - i;
                    let take = usize::try_from(left).map_or(avail, |l| l.min(avail));
                    out.extend_from_slice(&input[i..i + take]);
                    i += take;
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::DataCr
                    } else {
                        State::Data(left)
                    };
                }
                State::DataCr => {
                    if input[i] != b'\r' {
                        return Err(HttpError::Malformed("chunk data not followed by CRLF"));
                    }
                    i += 1;
                    self.state = State::DataLf;
                }
                State::DataLf => {
                    if input[i] != b'\n' {
                        return Err(HttpError::BareCr);
                    }
                    i += 1;
                    self.state = State::SizeLine;
                }
                State::SizeLine | State::Trailer => {
                    let b = input[i];
                    i += 1;
                    if let Some(line) = self.line_byte(b)? {
                        if self.state == State::SizeLine {
                            self.size_line(&line)?;
                        } else {
                            self.trailer_line(&line)?;
                        }
                    }
                }
            }
        }
        Ok(i)
    }

    /// Adds one byte to the current line; returns the line (without CRLF) when it is complete.
    fn line_byte(&mut self, b: u8) -> Result<Option<Vec<u8>>, HttpError> {
        if self.saw_cr {
            if b != b'\n' {
                return Err(HttpError::BareCr);
            }
            self.saw_cr = false;
            return Ok(Some(std::mem::take(&mut self.line)));
        }
        match b {
            b'\r' => self.saw_cr = true,
            b'\n' => return Err(HttpError::BareLf),
            _ => {
                let max = if self.state == State::SizeLine {
                    MAX_CHUNK_LINE
                } else {
                    MAX_LINE_LEN
                };
                if self.line.len() >= max {
                    return Err(HttpError::LineTooLong);
                }
                self.line.push(b);
            }
        }
        Ok(None)
    }

    fn size_line(&mut self, line: &[u8]) -> Result<(), HttpError> {
        let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        if digits == 0 {
            return Err(HttpError::Malformed("chunk size is not hexadecimal"));
        }
        if digits > 16 {
            return Err(HttpError::Malformed("chunk size too large"));
        }
        let (hex, ext) = line.split_at(digits);
        let mut size: u64 = 0;
        for &d in hex {
            // At most 16 hex digits, so this cannot overflow u64.
            let v = (d as char).to_digit(16).unwrap_or(0);
            size = size << 4 | u64::from(v);
        }
        check_extensions(ext)?;
        if size == 0 {
            self.state = State::Trailer;
            return Ok(());
        }
        let total = self.total.checked_add(size).ok_or(HttpError::BodyTooLarge)?;
        if total > self.limit {
            return Err(HttpError::BodyTooLarge);
        }
        self.total = total;
        self.state = State::Data(size);
        Ok(())
    }

    fn trailer_line(&mut self, line: &[u8]) -> Result<(), HttpError> {
        if line.is_empty() {
            self.state = State::Done;
            return Ok(());
        }
        self.trailer_bytes += line.len() + 2;
        if self.trailer_bytes > MAX_HEAD_LEN {
            return Err(HttpError::HeadTooLarge);
        }
        if self.trailers.len() >= MAX_HEADERS {
            return Err(HttpError::TooManyHeaders);
        }
        parse_field_line(line, &mut self.trailers)
    }
}

/// Checks `*( BWS ";" BWS name [ BWS "=" BWS value ] )` loosely: extensions are ignored, so
/// what matters is that they start with `;` (or whitespace then `;`) and hold no control
/// character that another parser might take for a line end.
fn check_extensions(ext: &[u8]) -> Result<(), HttpError> {
    let rest = ext
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .map_or(&[][..], |p| &ext[p..]);
    match rest.first() {
        None if ext.is_empty() => Ok(()),
        // Whitespace after the size with nothing behind it.
        None => Err(HttpError::Malformed("whitespace after chunk size")),
        Some(b';') => {
            if rest
                .iter()
                .all(|&b| b == b'\t' || (0x20..=0x7e).contains(&b) || b >= 0x80)
            {
                Ok(())
            } else {
                Err(HttpError::Malformed("control character in chunk extension"))
            }
        }
        Some(_) => Err(HttpError::Malformed("junk after chunk size")),
    }
}
