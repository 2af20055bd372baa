//! Message framing on stream transports (TCP, TLS: RFC 3261 18.3) with RFC 5626 keep-alives.
//!
//! On a stream the only way to find where a message ends is its Content-Length, which is
//! therefore mandatory. Between messages a peer may send `CRLFCRLF` (a keep-alive ping) or a
//! single `CRLF` (the pong answering one).

use crate::is_token_char;

/// The longest method token accepted at the start of a request; longer is taken as garbage.
const MAX_METHOD: usize = 32;

/// What [`Framer::next_frame`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// Exactly one message's bytes, header section and body: give them to
    /// [`crate::Message::parse`] (which may still refuse them).
    Message(Vec<u8>),
    /// `CRLFCRLF` between messages: an RFC 5626 keep-alive ping, to answer with a `CRLF` pong.
    Ping,
    /// A lone `CRLF` between messages: an RFC 5626 pong.
    Pong,
}

/// Why the stream could not be framed. Only [`FrameError::TooLarge`] lets the connection go on;
/// the others are fatal ([`FrameError::is_fatal`]): the framer refuses everything afterwards and
/// the caller should close the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The header section fits within the limit but header section plus body does not. `head` is
    /// the header section so that the caller can answer 513 (Message Too Large); the framer
    /// discards the body bytes itself as they arrive and then frames the next message.
    TooLarge {
        /// The header section, blank line included.
        head: Vec<u8>,
        /// The Content-Length it announced.
        content_length: usize,
    },
    /// No end of the header section within the limit. Fatal.
    HeaderTooLong,
    /// The header section has no Content-Length, which streams require. Fatal.
    MissingContentLength,
    /// Content-Length is not a number, overflows, or is given twice with different values. Fatal.
    BadContentLength,
    /// Bytes that cannot start a SIP message (binary data, a TLS record on a TCP port, a line
    /// that starts neither with `METHOD ` nor with `SIP/2.0 `, a lone LF). Fatal.
    Garbage,
}

impl FrameError {
    /// Whether the connection must be closed (everything but [`FrameError::TooLarge`]).
    pub fn is_fatal(&self) -> bool {
        !matches!(self, FrameError::TooLarge { .. })
    }
}

/// Splits a byte stream into messages and keep-alives.
///
/// # Usage
///
/// Read at most a fixed chunk (e.g. 4096 bytes), [`push`](Framer::push) it, then call
/// [`next_frame`](Framer::next_frame) until it gives `Ok(None)` (wait for more bytes) or a fatal
/// error (close the connection). [`FrameError::TooLarge`] is not fatal: answer 513 and keep
/// draining. Used like this the buffer never holds more than `max` plus one chunk
/// ([`buffered`](Framer::buffered)): whenever `next_frame` gives `Ok(None)` fewer than `max` bytes
/// are buffered, since a header section that long is an error and a message's body is only waited
/// for when the whole message fits.
///
/// # Keep-alives
///
/// At a message boundary `\r\n\r\n` is a [`Frame::Ping`] (only once all four bytes are there) and
/// `\r\n` followed by anything but `\r` is a [`Frame::Pong`]. When only `\r\n` or `\r\n\r` is
/// buffered the framer cannot yet tell a pong from the start of a ping and waits, so that a ping
/// split across two reads is never taken for two pongs. When the read side then goes idle, call
/// [`flush_keepalive`](Framer::flush_keepalive) to take such a lingering `\r\n` as the pong it is.
///
/// # Slow senders
///
/// The framer has no timers. [`in_message`](Framer::in_message) says whether part of a message is
/// buffered (or an oversize body is still being discarded): the caller should time that out (a
/// few seconds) so that a peer trickling bytes cannot hold a connection forever.
#[derive(Debug)]
pub struct Framer {
    max: usize,
    buf: Vec<u8>,
    /// Body bytes of an oversize message still to discard as they arrive (the buffer is empty
    /// whenever this is not zero).
    skip: usize,
    /// How far the search for the end of the header section has got, so that a message trickling
    /// in byte by byte is not scanned again from the start each time.
    scanned: usize,
    /// The whole length of the message at the front, once its header section has been read.
    pending: Option<usize>,
    /// The fatal error met, repeated to every later call.
    dead: Option<FrameError>,
}

/// How the start of the buffer looks.
enum Start {
    Plausible,
    NeedMore,
    Garbage,
}

/// Whether `buf` can be the start of a request line (`TOKEN SP`) or a status line (`SIP/2.0 `).
fn check_start(buf: &[u8]) -> Start {
    const SIP: &[u8] = b"SIP/2.0 ";
    let n = buf.len().min(SIP.len());
    if let (Some(have), Some(want)) = (buf.get(..n), SIP.get(..n)) {
        if have.eq_ignore_ascii_case(want) {
            return if n == SIP.len() {
                Start::Plausible
            } else {
                Start::NeedMore
            };
        }
    }
    for (i, &b) in buf.iter().enumerate().take(MAX_METHOD + 1) {
        if b == b' ' {
            return if i > 0 { Start::Plausible } else { Start::Garbage };
        }
        if !is_token_char(b) {
            return Start::Garbage;
        }
    }
    if buf.len() > MAX_METHOD {
        Start::Garbage
    } else {
        Start::NeedMore
    }
}

/// Searches `buf` from `from` for the end of the header section (a blank line, CRLF or LF).
/// Gives the length of the header section with its blank line, if found, and where to resume.
fn find_head_end(buf: &[u8], from: usize) -> (Option<usize>, usize) {
    let mut i = from;
    while let Some(&b) = buf.get(i) {
        if b == b'\n' {
            match (buf.get(i + 1), buf.get(i + 2)) {
                (Some(b'\n'), _) => return (Some(i + 2), i),
                (Some(b'\r'), Some(b'\n')) => return (Some(i + 3), i),
                // Cannot tell yet: look at this newline again when more has come.
                (None, _) | (Some(b'\r'), None) => return (None, i),
                _ => {}
            }
        }
        i += 1;
    }
    (None, i)
}

/// The Content-Length of a header section (start line first, folded lines allowed).
fn content_length(head: &[u8]) -> Result<usize, FrameError> {
    let mut found: Option<usize> = None;
    // The value of the Content-Length header being read, if the current header is one.
    let mut current: Option<Vec<u8>> = None;
    let finish = |value: Option<Vec<u8>>, found: &mut Option<usize>| -> Result<(), FrameError> {
        let Some(value) = value else { return Ok(()) };
        let digits = value.trim_ascii();
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(FrameError::BadContentLength);
        }
        let mut n: usize = 0;
        for &d in digits {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(usize::from(d - b'0')))
                .ok_or(FrameError::BadContentLength)?;
        }
        match *found {
            Some(f) if f != n => Err(FrameError::BadContentLength),
            _ => {
                *found = Some(n);
                Ok(())
            }
        }
    };
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
            if let Some(v) = current.as_mut() {
                // Unfolded, "12" and a continuation " 34" read "12 34": not a number.
                v.push(b' ');
                v.extend_from_slice(line);
            }
            continue;
        }
        finish(current.take(), &mut found)?;
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = line.split_at(colon);
        let name = name.trim_ascii_end();
        if name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l") {
            current = Some(value.get(1..).unwrap_or_default().to_vec());
        }
    }
    finish(current.take(), &mut found)?;
    found.ok_or(FrameError::MissingContentLength)
}

impl Framer {
    /// A framer for messages of at most `max` bytes (header section and body): normally
    /// [`crate::MAX_MESSAGE`]. A `max` below 4 is taken as 4, so that a partial keep-alive always
    /// fits.
    pub fn new(max: usize) -> Framer {
        Framer {
            max: max.max(4),
            buf: Vec::new(),
            skip: 0,
            scanned: 0,
            pending: None,
            dead: None,
        }
    }

    /// Adds bytes read from the connection (at most one chunk between drains: see the type's
    /// documentation). Body bytes of an oversize message are dropped here; after a fatal error
    /// everything is.
    pub fn push(&mut self, data: &[u8]) {
        if self.dead.is_some() {
            return;
        }
        let n = self.skip.min(data.len());
        self.skip -= n;
        self.buf.extend_from_slice(data.get(n..).unwrap_or_default());
    }

    /// The next message or keep-alive, `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if let Some(e) = &self.dead {
            return Err(e.clone());
        }
        if self.buf.is_empty() {
            return Ok(None);
        }
        if let Some(total) = self.pending {
            return Ok(self.take_message(total));
        }
        if self.buf.starts_with(b"\r") {
            return match (self.buf.get(1), self.buf.get(2), self.buf.get(3)) {
                (None, _, _) | (Some(b'\n'), None, _) | (Some(b'\n'), Some(b'\r'), None) => Ok(None),
                (Some(b'\n'), Some(b'\r'), Some(b'\n')) => {
                    self.buf.drain(..4);
                    Ok(Some(Frame::Ping))
                }
                (Some(b'\n'), _, _) => {
                    self.buf.drain(..2);
                    Ok(Some(Frame::Pong))
                }
                _ => self.fail(FrameError::Garbage),
            };
        }
        match check_start(&self.buf) {
            Start::Garbage => return self.fail(FrameError::Garbage),
            // Short of a method token or "SIP/2.0 ": only a tiny limit can be reached here.
            Start::NeedMore if self.buf.len() >= self.max => return self.fail(FrameError::HeaderTooLong),
            Start::NeedMore => return Ok(None),
            Start::Plausible => {}
        }
        let (end, resume) = find_head_end(&self.buf, self.scanned);
        self.scanned = resume;
        let head_len = match end {
            Some(end) if end <= self.max => end,
            Some(_) => return self.fail(FrameError::HeaderTooLong),
            None if self.buf.len() >= self.max => return self.fail(FrameError::HeaderTooLong),
            None => return Ok(None),
        };
        let cl = match content_length(self.buf.get(..head_len).unwrap_or_default()) {
            Ok(cl) => cl,
            Err(e) => return self.fail(e),
        };
        let Some(total) = head_len.checked_add(cl) else {
            return self.fail(FrameError::BadContentLength);
        };
        self.scanned = 0;
        if total > self.max {
            let head: Vec<u8> = self.buf.drain(..head_len).collect();
            let now = cl.min(self.buf.len());
            self.buf.drain(..now);
            self.skip = cl - now;
            return Err(FrameError::TooLarge {
                head,
                content_length: cl,
            });
        }
        self.pending = Some(total);
        Ok(self.take_message(total))
    }

    /// The message at the front once all `total` bytes of it are there.
    fn take_message(&mut self, total: usize) -> Option<Frame> {
        if self.buf.len() < total {
            return None;
        }
        self.pending = None;
        Some(Frame::Message(self.buf.drain(..total).collect()))
    }

    /// Records a fatal error and drops what is buffered.
    fn fail(&mut self, e: FrameError) -> Result<Option<Frame>, FrameError> {
        self.buf = Vec::new();
        self.skip = 0;
        self.pending = None;
        self.dead = Some(e.clone());
        Err(e)
    }

    /// Takes a lone `\r\n` left at a message boundary (see the type's documentation) as a
    /// [`Frame::Pong`]; call it when the read side has been idle for a moment.
    pub fn flush_keepalive(&mut self) -> Option<Frame> {
        if self.dead.is_none() && self.buf.len() < 4 && self.buf.starts_with(b"\r\n") {
            self.buf.drain(..2);
            return Some(Frame::Pong);
        }
        None
    }

    /// Bytes buffered (never more than `max` plus one pushed chunk when used as documented).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Whether part of a message is buffered, or the body of an oversize one is still being
    /// discarded: the caller should time this state out. A partial keep-alive does not count.
    pub fn in_message(&self) -> bool {
        if self.dead.is_some() {
            return false;
        }
        let keepalive = matches!(self.buf.as_slice(), b"\r" | b"\r\n" | b"\r\n\r");
        self.skip > 0 || (!self.buf.is_empty() && !keepalive)
    }
}
