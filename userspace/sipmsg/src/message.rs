//! Whole messages: parsing, checking, accessors and serializing.

use crate::headers::same_name;
use crate::{
    err, is_lws, is_token, parse_u32_saturating, split_list, trim_lws, Headers, Method, NameAddr, ParseError,
    Uri, Via, MAX_HEADERS, MAX_MESSAGE,
};

/// The first line of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartLine {
    /// `METHOD uri SIP/2.0`
    Request {
        /// The method.
        method: Method,
        /// The Request-URI.
        uri: Uri,
    },
    /// `SIP/2.0 code reason`
    Response {
        /// The status code, 100..=699.
        code: u16,
        /// The reason phrase (may be empty).
        reason: String,
    },
}

/// A SIP request or response. Header values are kept as received (unfolded and trimmed); the
/// typed accessors parse them on demand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The request or status line.
    pub start: StartLine,
    /// The headers, in order.
    pub headers: Headers,
    /// The body, opaque bytes.
    pub body: Vec<u8>,
}

/// Where the header section ends in `bytes`: (end of the last header line's text, start of the
/// body). The blank line may use CRLF or LF independently of the line before it.
fn find_head_end(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'\n' {
            match (bytes.get(i + 1), bytes.get(i + 2)) {
                (Some(b'\n'), _) => return Some((i, i + 2)),
                (Some(b'\r'), Some(b'\n')) => return Some((i, i + 3)),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

/// Parses the start line.
fn parse_start(line: &str) -> Result<StartLine, ParseError> {
    let is_response = line.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("SIP/"));
    if is_response {
        let (version, rest) = line.split_once(' ').unwrap_or((line, ""));
        if !version.eq_ignore_ascii_case("SIP/2.0") {
            return err("unsupported SIP version");
        }
        let rest = rest.trim_start_matches(is_lws);
        let (code, reason) = match rest.split_once([' ', '\t']) {
            Some((c, r)) => (c, r),
            None => (rest, ""),
        };
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return err("bad status code");
        }
        let code: u16 = code.parse().or_else(|_| err("bad status code"))?;
        if !(100..=699).contains(&code) {
            return err("status code out of range");
        }
        return Ok(StartLine::Response {
            code,
            reason: trim_lws(reason).to_string(),
        });
    }
    // Elements are separated by single spaces in RFC 3261; runs of spaces are tolerated.
    let mut words = line.split(is_lws).filter(|w| !w.is_empty());
    let (Some(method), Some(uri), Some(version), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return err("bad request line");
    };
    if !version.eq_ignore_ascii_case("SIP/2.0") {
        return err("unsupported SIP version");
    }
    let method: Method = method.parse()?;
    let uri = Uri::parse(uri)?;
    Ok(StartLine::Request { method, uri })
}

/// Parses a `CSeq` value: `4711 INVITE`.
fn parse_cseq(value: &str) -> Result<(u32, Method), ParseError> {
    let value = trim_lws(value);
    let Some((num, method)) = value.split_once(is_lws) else {
        return err("bad CSeq");
    };
    if num.is_empty() || num.len() > 10 || !num.bytes().all(|b| b.is_ascii_digit()) {
        return err("bad CSeq number");
    }
    let num: u32 = num.parse().or_else(|_| err("bad CSeq number"))?;
    Ok((num, trim_lws(method).parse()?))
}

/// Parses a Content-Length value.
fn parse_content_length(value: &str) -> Result<usize, ParseError> {
    let v = trim_lws(value);
    if v.is_empty() || v.len() > 10 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return err("bad Content-Length");
    }
    v.parse().or_else(|_| err("bad Content-Length"))
}

/// Whether a header line's text is acceptable: no control characters but tab (a bare CR inside
/// a line, NUL and the like are refused rather than passed on).
fn clean_line(line: &str) -> bool {
    !line.chars().any(|c| c.is_control() && c != '\t')
}

impl Message {
    /// Parses one whole message (a datagram, or a [`crate::Frame::Message`]) and checks it: see
    /// the crate documentation for what is checked.
    pub fn parse(bytes: &[u8]) -> Result<Message, ParseError> {
        if bytes.len() > MAX_MESSAGE {
            return err("message too large");
        }
        // RFC 3261 7.5: CRLFs before the start line are ignored.
        let mut bytes = bytes;
        while let Some(rest) = bytes.strip_prefix(b"\r\n").or_else(|| bytes.strip_prefix(b"\n")) {
            bytes = rest;
        }
        let Some((head_end, body_start)) = find_head_end(bytes) else {
            return err("no end of header section");
        };
        let head = bytes.get(..head_end).unwrap_or_default();
        let body = bytes.get(body_start..).unwrap_or_default();
        let Ok(head) = std::str::from_utf8(head) else {
            return err("header section is not UTF-8");
        };
        let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let start_line = lines.next().unwrap_or("");
        if !clean_line(start_line) {
            return err("control character in start line");
        }
        let start = parse_start(start_line)?;

        // Unfold: a line starting with a space or tab continues the previous header.
        let mut raw: Vec<(String, String)> = Vec::new();
        for line in lines {
            if !clean_line(line) {
                return err("control character in header");
            }
            if line.starts_with(is_lws) {
                let Some((_, value)) = raw.last_mut() else {
                    return err("continuation line before any header");
                };
                let more = trim_lws(line);
                if !more.is_empty() {
                    if !value.is_empty() {
                        value.push(' ');
                    }
                    value.push_str(more);
                }
                continue;
            }
            if raw.len() >= MAX_HEADERS {
                return err("too many headers");
            }
            let Some((name, value)) = line.split_once(':') else {
                return err("header line without colon");
            };
            let name = name.trim_end_matches(is_lws);
            if !is_token(name) {
                return err("bad header name");
            }
            raw.push((name.to_string(), trim_lws(value).to_string()));
        }
        let mut headers = Headers::default();
        for (n, v) in raw {
            headers.push_raw(n, v);
        }
        let msg = Message {
            start,
            headers,
            body: body.to_vec(),
        };
        msg.check()?;
        Ok(msg)
    }

    /// The checks [`Message::parse`] makes once the message is split into its parts.
    fn check(&self) -> Result<(), ParseError> {
        for name in ["To", "From", "CSeq", "Call-ID"] {
            match self.headers.get_all(name).count() {
                0 => return err("missing mandatory header"),
                1 => {}
                _ => return err("repeated single-value header"),
            }
        }
        let call_id = self.call_id().unwrap_or("");
        if call_id.is_empty() || call_id.contains(is_lws) {
            return err("bad Call-ID");
        }
        let (_, cseq_method) = self.cseq()?;
        if let StartLine::Request { method, .. } = &self.start {
            if *method != cseq_method {
                return err("CSeq method does not match request method");
            }
        }
        self.from()?;
        self.to()?;
        self.vias()?;
        let mut lengths = self.headers.get_all("Content-Length");
        if let Some(cl) = lengths.next() {
            if lengths.next().is_some() {
                return err("repeated Content-Length");
            }
            if parse_content_length(cl)? != self.body.len() {
                return err("body length does not match Content-Length");
            }
        }
        Ok(())
    }

    /// A request with no headers and no body: add at least Via, From, To, Call-ID, CSeq and
    /// Max-Forwards before sending.
    pub fn request(method: Method, uri: Uri) -> Message {
        Message {
            start: StartLine::Request { method, uri },
            headers: Headers::default(),
            body: Vec::new(),
        }
    }

    /// The message on the wire: CRLF line ends, headers in order under the names they have, and a
    /// `Content-Length` giving the body's length last (any Content-Length header is replaced).
    /// Control characters in the start line or a header become spaces.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        let mut line = |text: &str| {
            out.extend(
                text.chars()
                    .map(|c| if c.is_control() && c != '\t' { ' ' } else { c }),
            );
            out.push_str("\r\n");
        };
        match &self.start {
            StartLine::Request { method, uri } => line(&format!("{method} {uri} SIP/2.0")),
            StartLine::Response { code, reason } => line(&format!("SIP/2.0 {code} {reason}")),
        }
        for (n, v) in self.headers.iter() {
            if !same_name(n, "Content-Length") {
                line(&format!("{n}: {v}"));
            }
        }
        line(&format!("Content-Length: {}", self.body.len()));
        line("");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }

    /// Whether this is a request.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The request method (`None` for a response: use [`Message::cseq`]).
    pub fn method(&self) -> Option<&Method> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The status code of a response.
    pub fn code(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { code, .. } => Some(code),
            StartLine::Request { .. } => None,
        }
    }

    /// The Call-ID.
    pub fn call_id(&self) -> Option<&str> {
        self.headers.get("Call-ID")
    }

    /// The CSeq number and method.
    pub fn cseq(&self) -> Result<(u32, Method), ParseError> {
        match self.headers.get("CSeq") {
            Some(v) => parse_cseq(v),
            None => err("missing CSeq"),
        }
    }

    /// The From header.
    pub fn from(&self) -> Result<NameAddr, ParseError> {
        match self.headers.get("From") {
            Some(v) => NameAddr::parse(v),
            None => err("missing From"),
        }
    }

    /// The To header.
    pub fn to(&self) -> Result<NameAddr, ParseError> {
        match self.headers.get("To") {
            Some(v) => NameAddr::parse(v),
            None => err("missing To"),
        }
    }

    /// Every Via value, top first, across Via headers and comma-separated lists. An error if
    /// there is none or one does not parse.
    pub fn vias(&self) -> Result<Vec<Via>, ParseError> {
        let vias = self
            .headers
            .get_all("Via")
            .flat_map(split_list)
            .map(Via::parse)
            .collect::<Result<Vec<Via>, ParseError>>()?;
        if vias.is_empty() {
            return err("missing Via");
        }
        Ok(vias)
    }

    /// The topmost Via value.
    pub fn top_via(&self) -> Result<Via, ParseError> {
        match self.headers.get_all("Via").flat_map(split_list).next() {
            Some(v) => Via::parse(v),
            None => err("missing Via"),
        }
    }

    /// Every Contact value, across headers and lists. A lone `*` (REGISTER removing all bindings)
    /// gives an empty list: tell it from no Contact at all with [`Message::is_star_contact`]. A
    /// `*` among other values is an error.
    pub fn contacts(&self) -> Result<Vec<NameAddr>, ParseError> {
        let items: Vec<&str> = self.headers.get_all("Contact").flat_map(split_list).collect();
        if items.contains(&"*") {
            return if items.len() == 1 {
                Ok(Vec::new())
            } else {
                err("* among other Contacts")
            };
        }
        items.into_iter().map(NameAddr::parse).collect()
    }

    /// Whether the Contact is the single `*` value (RFC 3261 10.2.2).
    pub fn is_star_contact(&self) -> bool {
        let mut items = self.headers.get_all("Contact").flat_map(split_list);
        items.next() == Some("*") && items.next().is_none()
    }

    /// The Expires header, in seconds (values beyond `u32::MAX` saturate); `None` when absent or
    /// not a number.
    pub fn expires(&self) -> Option<u32> {
        self.headers.get("Expires").and_then(parse_u32_saturating)
    }

    /// The Max-Forwards header; `None` when absent or not a number.
    pub fn max_forwards(&self) -> Option<u32> {
        self.headers.get("Max-Forwards").and_then(parse_u32_saturating)
    }

    /// The Content-Type header, as written.
    pub fn content_type(&self) -> Option<&str> {
        self.headers.get("Content-Type")
    }

    /// A response to `request` per RFC 3261 8.2.6: the Via values (in order), From, To, Call-ID
    /// and CSeq are copied, the body is empty. Adding a To tag (for codes above 100) is the
    /// caller's business, as is any other header.
    pub fn response_to(request: &Message, code: u16, reason: &str) -> Message {
        let mut headers = Headers::default();
        for v in request.headers.get_all("Via") {
            headers.push("Via", v);
        }
        for name in ["From", "To", "Call-ID", "CSeq"] {
            if let Some(v) = request.headers.get(name) {
                headers.push(name, v);
            }
        }
        Message {
            start: StartLine::Response {
                code,
                reason: reason.to_string(),
            },
            headers,
            body: Vec::new(),
        }
    }
}

/// The standard reason phrase for a status code (RFC 3261 21 and later RFCs), or `""`.
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        199 => "Early Dialog Terminated",
        200 => "OK",
        202 => "Accepted",
        204 => "No Notification",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        305 => "Use Proxy",
        380 => "Alternative Service",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        412 => "Conditional Request Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        417 => "Unknown Resource-Priority",
        420 => "Bad Extension",
        421 => "Extension Required",
        422 => "Session Interval Too Small",
        423 => "Interval Too Brief",
        428 => "Use Identity Header",
        429 => "Provide Referrer Identity",
        433 => "Anonymity Disallowed",
        436 => "Bad Identity-Info",
        437 => "Unsupported Certificate",
        438 => "Invalid Identity Header",
        439 => "First Hop Lacks Outbound Support",
        440 => "Max-Breadth Exceeded",
        469 => "Bad Info Package",
        470 => "Consent Needed",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        485 => "Ambiguous",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        489 => "Bad Event",
        491 => "Request Pending",
        493 => "Undecipherable",
        494 => "Security Agreement Required",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        555 => "Push Notification Service Not Supported",
        580 => "Precondition Failure",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        607 => "Unwanted",
        608 => "Rejected",
        _ => "",
    }
}
