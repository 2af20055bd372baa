//! Parser paths: heads, framing (smuggling defences), chunked decoding, each also split at
//! every byte boundary.

use httpwire::{
    parse_request_head, parse_response_head, BodyFraming, ChunkedDecoder, Headers, HttpError, RequestHead,
    ResponseHead, Version, MAX_HEADERS, MAX_HEAD_LEN, MAX_LINE_LEN,
};

fn req(s: &str) -> Result<Option<(RequestHead, usize)>, HttpError> {
    parse_request_head(s.as_bytes())
}

fn resp(s: &str) -> Result<Option<(ResponseHead, usize)>, HttpError> {
    parse_response_head(s.as_bytes())
}

/// Every proper prefix of a valid head must ask for more bytes, and the whole must parse to the
/// same head whatever follows it.
fn check_prefixes_request(msg: &[u8]) -> RequestHead {
    for cut in 0..msg.len() {
        match parse_request_head(&msg[..cut]) {
            Ok(None) => {}
            other => panic!("prefix {cut} of {:?}: {other:?}", String::from_utf8_lossy(msg)),
        }
    }
    let (head, used) = parse_request_head(msg).unwrap().unwrap();
    assert_eq!(used, msg.len());
    let mut more = msg.to_vec();
    more.extend_from_slice(b"BODY BYTES\r\n\r\n");
    let (again, used2) = parse_request_head(&more).unwrap().unwrap();
    assert_eq!((again, used2), (head.clone(), used));
    head
}

fn check_prefixes_response(msg: &[u8]) -> ResponseHead {
    for cut in 0..msg.len() {
        match parse_response_head(&msg[..cut]) {
            Ok(None) => {}
            other => panic!("prefix {cut} of {:?}: {other:?}", String::from_utf8_lossy(msg)),
        }
    }
    let (head, used) = parse_response_head(msg).unwrap().unwrap();
    assert_eq!(used, msg.len());
    head
}

#[test]
fn request_head_fields_and_split_points() {
    let msg = b"\r\nPOST /cwmp?x=1 HTTP/1.1\r\nHost: acs.example.net:7547\r\nContent-Type:text/xml; charset=\"utf-8\"\r\n\
X-Empty:\r\nX-Tab:\t a\tb \t\r\nContent-Length: 5\r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n";
    let head = check_prefixes_request(msg);
    assert_eq!(head.method(), "POST");
    assert_eq!(head.target(), "/cwmp?x=1");
    assert_eq!(head.version(), Version::Http11);
    let h = head.headers();
    assert_eq!(h.get("HOST"), Some("acs.example.net:7547"));
    assert_eq!(h.get("content-type"), Some("text/xml; charset=\"utf-8\""));
    assert_eq!(h.get("x-empty"), Some(""));
    assert_eq!(h.get("x-tab"), Some("a\tb"));
    assert_eq!(h.get_all("Set-Cookie").collect::<Vec<_>>(), vec!["a=1", "b=2"]);
    assert_eq!(
        h.iter().map(|(n, _)| n).collect::<Vec<_>>()[..2],
        ["Host", "Content-Type"]
    );
    assert_eq!(head.body_framing().unwrap(), BodyFraming::Length(5));
    assert!(head.keep_alive());
    // Serializing and parsing again gives the same head.
    let (back, _) = parse_request_head(&head.to_bytes()).unwrap().unwrap();
    assert_eq!(back, head);
    // Debug hides cookies.
    assert!(!format!("{head:?}").contains("a=1"));
}

#[test]
fn response_head_fields_and_split_points() {
    let head =
        check_prefixes_response(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!((head.status(), head.reason()), (200, "OK"));
    assert_eq!(head.body_framing("GET").unwrap(), BodyFraming::Length(12));
    assert_eq!(head.body_framing("HEAD").unwrap(), BodyFraming::Length(0));
    let head = check_prefixes_response(b"HTTP/1.0 404 Not Found, really \xc3\xa9\r\nServer: x\r\n\r\n");
    assert_eq!(head.reason(), "Not Found, really é");
    assert_eq!(head.body_framing("GET").unwrap(), BodyFraming::UntilClose);
    assert!(!head.keep_alive());
    let head = check_prefixes_response(b"HTTP/1.1 204\r\n\r\n");
    assert_eq!((head.status(), head.reason()), (204, ""));
    let head =
        check_prefixes_response(b"HTTP/1.1 200 \r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n");
    assert_eq!(head.body_framing("GET").unwrap(), BodyFraming::Chunked);
    assert!(!head.keep_alive());
    for (status, framing) in [(100, 0), (204, 0), (304, 0), (101, 0)] {
        let h = resp(&format!("HTTP/1.1 {status} X\r\nContent-Length: 9\r\n\r\n"))
            .unwrap()
            .unwrap()
            .0;
        assert_eq!(h.body_framing("GET").unwrap(), BodyFraming::Length(framing));
    }
    let h = resp("HTTP/1.1 200 OK\r\n\r\n").unwrap().unwrap().0;
    assert_eq!(h.body_framing("CONNECT").unwrap(), BodyFraming::Length(0));
    let (back, _) = parse_response_head(&head.to_bytes()).unwrap().unwrap();
    assert_eq!(back, head);
}

#[test]
fn http10_keep_alive() {
    let h = req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
        .unwrap()
        .unwrap()
        .0;
    assert_eq!(h.version(), Version::Http10);
    assert!(h.keep_alive());
    // HTTP/1.0 needs no Host.
    assert!(req("GET / HTTP/1.0\r\n\r\n").unwrap().is_some());
    let h = req("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, CLOSE\r\n\r\n")
        .unwrap()
        .unwrap()
        .0;
    assert!(!h.keep_alive());
}

fn is_err(r: Result<impl std::fmt::Debug, HttpError>, pred: fn(&HttpError) -> bool) -> bool {
    match r {
        Err(e) => pred(&e),
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

#[test]
fn malformed_request_lines() {
    for bad in [
        "GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
        " GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.1 \r\nHost: h\r\n\r\n",
        "GET /\r\nHost: h\r\n\r\n",
        "GET\r\n\r\n",
        "G(T / HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /a\x7fb HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /\u{e9} HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET / http/1.1\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.1x\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\n: empty name\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nName : x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01b\r\n\r\n",
    ] {
        assert!(
            is_err(req(bad), |e| matches!(
                e,
                HttpError::Malformed(_) | HttpError::Smuggling(_)
            )),
            "{bad:?}"
        );
    }
    assert!(is_err(req("GET / HTTP/2.0\r\n\r\n"), |e| matches!(
        e,
        HttpError::UnsupportedVersion
    )));
    assert!(is_err(req("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), |e| matches!(
        e,
        HttpError::UnsupportedVersion
    )));
    assert!(parse_request_head(b"GET / HTTP/1.1\r\nHost: h\r\nX: \xff\r\n\r\n").is_err());
}

#[test]
fn malformed_status_lines() {
    for bad in [
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 099 Low\r\n\r\n",
        "HTTP/1.1  200 OK\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",
        "HTTP/1.1 200 O\x01K\r\n\r\n",
        "HTTP/1.1\r\n\r\n",
        "ICY 200 OK\r\n\r\n",
        "\r\nHTTP/1.1 200 OK\r\n\r\n",
    ] {
        assert!(
            is_err(resp(bad), |e| matches!(e, HttpError::Malformed(_))),
            "{bad:?}"
        );
    }
    assert!(is_err(resp("HTTP/1.2 200 OK\r\n\r\n"), |e| matches!(
        e,
        HttpError::UnsupportedVersion
    )));
}

#[test]
fn line_ends_are_strict() {
    let bare_lf = [
        "GET / HTTP/1.1\nHost: h\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\n\n",
        "\nGET / HTTP/1.1\r\n",
    ];
    for m in bare_lf {
        assert!(is_err(req(m), |e| matches!(e, HttpError::BareLf)), "{m:?}");
    }
    let bare_cr = [
        "GET / HTTP/1.1\rHost: h\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\rb",
        "GET / HTTP/1.1\r\r\n",
    ];
    for m in bare_cr {
        assert!(is_err(req(m), |e| matches!(e, HttpError::BareCr)), "{m:?}");
    }
    assert!(is_err(resp("HTTP/1.1 200 OK\nX: y\r\n\r\n"), |e| matches!(
        e,
        HttpError::BareLf
    )));
    // A CR at the very end may be the start of a CRLF.
    assert!(req("GET / HTTP/1.1\r").unwrap().is_none());
}

#[test]
fn obs_fold_is_refused() {
    for m in [
        "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n",
        "GET / HTTP/1.1\r\n Host: h\r\n\r\n",
    ] {
        assert!(is_err(req(m), |e| matches!(e, HttpError::ObsFold)), "{m:?}");
    }
}

#[test]
fn limits() {
    // Header count: exactly the maximum passes, one more fails (even before the head ends).
    let mut ok = String::from("GET / HTTP/1.1\r\nHost: h\r\n");
    for i in 1..MAX_HEADERS {
        ok.push_str(&format!("X-{i}: v\r\n"));
    }
    let mut too_many = ok.clone();
    ok.push_str("\r\n");
    assert_eq!(req(&ok).unwrap().unwrap().0.headers().len(), MAX_HEADERS);
    too_many.push_str("X-Last: v\r\nX-More: v\r\n");
    assert!(is_err(req(&too_many), |e| matches!(e, HttpError::TooManyHeaders)));
    // Line length.
    let long = format!(
        "GET / HTTP/1.1\r\nHost: h\r\nX: {}\r\n\r\n",
        "a".repeat(MAX_LINE_LEN - 3)
    );
    assert!(req(&long).unwrap().is_some());
    let too_long = format!(
        "GET / HTTP/1.1\r\nHost: h\r\nX: {}\r\n\r\n",
        "a".repeat(MAX_LINE_LEN - 2)
    );
    assert!(is_err(req(&too_long), |e| matches!(e, HttpError::LineTooLong)));
    // An unfinished over-long line is refused without waiting for its end.
    let partial = format!("GET /{}", "a".repeat(MAX_LINE_LEN));
    assert!(is_err(req(&partial), |e| matches!(e, HttpError::LineTooLong)));
    // Head size: lines under the line limit but the total over 16 KiB.
    let mut big = String::from("GET / HTTP/1.1\r\nHost: h\r\n");
    while big.len() < MAX_HEAD_LEN {
        big.push_str(&format!("X: {}\r\n", "b".repeat(4000)));
    }
    assert!(is_err(req(&big), |e| matches!(e, HttpError::HeadTooLarge)));
    // A head of exactly the limit passes.
    let mut exact = String::from("GET / HTTP/1.1\r\nHost: h\r\n");
    let mut remaining = MAX_HEAD_LEN - exact.len() - 2;
    while remaining > 0 {
        let mut line = remaining.min(8000);
        if remaining - line > 0 && remaining - line < 5 {
            line -= 5;
        }
        exact.push_str(&format!("Y: {}\r\n", "d".repeat(line - 5)));
        remaining -= line;
    }
    exact.push_str("\r\n");
    assert_eq!(exact.len(), MAX_HEAD_LEN);
    assert!(req(&exact).unwrap().is_some());
    exact.insert(0, 'G');
    assert!(is_err(req(&exact), |e| matches!(
        e,
        HttpError::HeadTooLarge | HttpError::Malformed(_)
    )));
    // Empty lines before a request line count against the head limit.
    let crlfs = "\r\n".repeat(MAX_HEAD_LEN);
    assert!(is_err(req(&crlfs), |e| matches!(e, HttpError::HeadTooLarge)));
}

#[test]
fn smuggling_defences() {
    let smuggling = [
        "Content-Length: 5\r\nTransfer-Encoding: chunked",
        "Transfer-Encoding: chunked\r\nContent-Length: 5",
        "Content-Length: 5\r\nContent-Length: 6",
        "Content-Length: 5, 6",
        "Content-Length: +5",
        "Content-Length: 0x5",
        "Content-Length: 5 5",
        "Content-Length: -1",
        "Content-Length:",
        "Content-Length: 5,",
        "Content-Length: 99999999999999999999",
        "Transfer-Encoding: gzip, chunked",
        "Transfer-Encoding: chunked, gzip",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
        "Transfer-Encoding: chunked, chunked",
        "Transfer-Encoding: identity",
        "Transfer-Encoding: xchunked",
        "Transfer-Encoding: chunked;q=1",
        "Transfer-Encoding:",
        "Host: other",
    ];
    for f in smuggling {
        let m = format!("POST / HTTP/1.1\r\nHost: h\r\n{f}\r\n\r\n");
        assert!(is_err(req(&m), |e| matches!(e, HttpError::Smuggling(_))), "{f}");
    }
    // Whitespace tricks on the field name are refused by the grammar.
    for f in [
        "Transfer-Encoding : chunked",
        " Transfer-Encoding: chunked",
        "Transfer-Encoding\t: chunked",
    ] {
        let m = format!("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n{f}\r\n\r\n");
        assert!(req(&m).is_err(), "{f}");
    }
    // HTTP/1.0 request with Transfer-Encoding.
    assert!(is_err(
        req("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
        |e| matches!(e, HttpError::Smuggling(_))
    ));
    // Allowed: identical repeats and list form, chunked in any case with spaces.
    for (f, framing) in [
        ("Content-Length: 5\r\nContent-Length: 5", BodyFraming::Length(5)),
        ("Content-Length: 5 , 5", BodyFraming::Length(5)),
        ("Content-Length: 007", BodyFraming::Length(7)),
        ("Transfer-Encoding:  CHUNKED ", BodyFraming::Chunked),
        ("X: y", BodyFraming::Length(0)),
    ] {
        let m = format!("POST / HTTP/1.1\r\nHost: h\r\n{f}\r\n\r\n");
        assert_eq!(
            req(&m).unwrap().unwrap().0.body_framing().unwrap(),
            framing,
            "{f}"
        );
    }
    // Responses get the same checks.
    assert!(is_err(
        resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
        |e| matches!(e, HttpError::Smuggling(_))
    ));
    assert!(is_err(
        resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
        |e| matches!(e, HttpError::Smuggling(_))
    ));
    // A hand-built head is checked too.
    let mut h = RequestHead::new("POST", "/").unwrap();
    h.headers_mut().append("Content-Length", "1").unwrap();
    h.headers_mut().append("Transfer-Encoding", "chunked").unwrap();
    assert!(h.body_framing().is_err());
}

#[test]
fn building_refuses_injection() {
    let mut h = Headers::new();
    assert!(h.append("X", "a\r\nInjected: 1").is_err());
    assert!(h.append("X", "a\nb").is_err());
    assert!(h.append("X Y", "a").is_err());
    assert!(h.append("", "a").is_err());
    assert!(h.append("X", "  trimmed\t").is_ok());
    assert_eq!(h.get("x"), Some("trimmed"));
    h.set("x", "one").unwrap();
    h.append("Y", "2").unwrap();
    assert_eq!(h.iter().collect::<Vec<_>>(), vec![("x", "one"), ("Y", "2")]);
    assert_eq!(h.remove("X"), 1);
    assert!(RequestHead::new("GET", "/a b").is_err());
    assert!(RequestHead::new("GET", "").is_err());
    assert!(RequestHead::new("G ET", "/").is_err());
    assert!(ResponseHead::with_reason(200, "OK\r\nX: y").is_err());
    assert!(ResponseHead::new(99).is_err());
    assert!(ResponseHead::new(1000).is_err());
    let mut r = ResponseHead::new(401).unwrap();
    r.headers_mut()
        .append("WWW-Authenticate", "Digest secret-ish")
        .unwrap();
    assert_eq!(r.reason(), "Unauthorized");
    assert!(!format!("{r:?}").contains("secret-ish"));
}

/// Decodes `input` fed in pieces of `step` bytes; returns the body and the bytes left over.
fn decode_in_steps(input: &[u8], step: usize, limit: u64) -> Result<(Vec<u8>, usize), HttpError> {
    let mut dec = ChunkedDecoder::new(limit);
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < input.len() && !dec.is_done() {
        let end = (pos + step).min(input.len());
        pos += dec.decode(&input[pos..end], &mut out)?;
    }
    if !dec.is_done() {
        return Err(HttpError::UnexpectedEof);
    }
    Ok((out, input.len() - pos))
}

#[test]
fn chunked_valid_bodies_at_every_split() {
    let cases: [(&[u8], &[u8], usize); 6] = [
        (b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", b"hello world", 0),
        (b"0\r\n\r\n", b"", 0),
        (
            b"A;name=value;q=\"a;b\"\r\n0123456789\r\n0;last\r\n\r\nNEXT",
            b"0123456789",
            4,
        ),
        (b"1 ;x\r\na\r\n0\r\nX-Trailer: yes\r\nY: 2\r\n\r\n", b"a", 0),
        (b"0000000000000003\r\nabc\r\n000\r\n\r\n", b"abc", 0),
        (
            b"f\r\n0123456789abcde\r\n0\r\n\r\nGET / HTTP/1.1\r\n",
            b"0123456789abcde",
            16,
        ),
    ];
    for (input, body, left) in cases {
        for step in 1..=input.len() {
            let (got, rest) = decode_in_steps(input, step, 1024).unwrap();
            assert_eq!(
                (got.as_slice(), rest),
                (body, left),
                "{:?} step {step}",
                String::from_utf8_lossy(input)
            );
        }
    }
    let mut dec = ChunkedDecoder::new(10);
    let mut out = Vec::new();
    dec.decode(b"1\r\na\r\n0\r\nX-Trailer: yes\r\nY: 2\r\n\r\n", &mut out)
        .unwrap();
    assert_eq!(dec.trailers().get("x-trailer"), Some("yes"));
    assert_eq!(dec.trailers().len(), 2);
    assert_eq!(dec.decoded_len(), 1);
    // Once done, nothing more is taken.
    assert_eq!(dec.decode(b"more", &mut out).unwrap(), 0);
}

#[test]
fn chunked_errors() {
    type Case = (&'static [u8], fn(&HttpError) -> bool);
    let cases: [Case; 17] = [
        (b"x\r\n", |e| matches!(e, HttpError::Malformed(_))),
        (b"\r\n", |e| matches!(e, HttpError::Malformed(_))),
        (b"-1\r\n", |e| matches!(e, HttpError::Malformed(_))),
        (b"0x5\r\nhello\r\n", |e| matches!(e, HttpError::Malformed(_))),
        (b" 5\r\nhello\r\n", |e| matches!(e, HttpError::Malformed(_))),
        (b"5 \r\nhello\r\n", |e| matches!(e, HttpError::Malformed(_))),
        (b"5\nhello\r\n", |e| matches!(e, HttpError::BareLf)),
        (b"5\rhello\r\n", |e| matches!(e, HttpError::BareCr)),
        (b"5\r\nhelloXX", |e| matches!(e, HttpError::Malformed(_))),
        (b"5\r\nhello\rX", |e| matches!(e, HttpError::BareCr)),
        (b"5\r\nhello\n", |e| matches!(e, HttpError::Malformed(_))),
        (b"5;a\nb\r\nhello\r\n", |e| matches!(e, HttpError::BareLf)),
        (b"5;a\x00b\r\nhello\r\n", |e| matches!(e, HttpError::Malformed(_))),
        (b"11111111111111111\r\n", |e| matches!(e, HttpError::Malformed(_))),
        (b"0\r\nX : y\r\n\r\n", |e| matches!(e, HttpError::Malformed(_))),
        (b"0\r\nX: y\r\n folded\r\n\r\n", |e| {
            matches!(e, HttpError::ObsFold)
        }),
        (b"0\r\nX: y\n\r\n", |e| matches!(e, HttpError::BareLf)),
    ];
    for (input, pred) in cases {
        let err = decode_in_steps(input, input.len(), 1 << 20).unwrap_err();
        assert!(pred(&err), "{:?}: {err:?}", String::from_utf8_lossy(input));
        // Fed byte by byte, the same verdict.
        let err1 = decode_in_steps(input, 1, 1 << 20).unwrap_err();
        assert_eq!(format!("{err:?}"), format!("{err1:?}"));
    }
    // Body limit, also with a huge size that would overflow.
    assert!(matches!(
        decode_in_steps(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 3, 10),
        Err(HttpError::BodyTooLarge)
    ));
    assert!(matches!(
        decode_in_steps(b"ffffffffffffffff\r\n", 3, u64::MAX - 1),
        Err(HttpError::BodyTooLarge)
    ));
    let mut dec = ChunkedDecoder::new(u64::MAX);
    let mut out = Vec::new();
    dec.decode(b"ffffffffffffffff\r\nab", &mut out).unwrap();
    assert!(dec.decode(b"1\r\n", &mut out).is_ok());
    // Over-long chunk line and trailer limits.
    let long_ext = format!("1;{}\r\n", "e".repeat(5000));
    assert!(matches!(
        decode_in_steps(long_ext.as_bytes(), 100, 10),
        Err(HttpError::LineTooLong)
    ));
    let mut many = String::from("0\r\n");
    for i in 0..=MAX_HEADERS {
        many.push_str(&format!("T{i}: v\r\n"));
    }
    many.push_str("\r\n");
    assert!(matches!(
        decode_in_steps(many.as_bytes(), 64, 10),
        Err(HttpError::TooManyHeaders)
    ));
    let mut big = String::from("0\r\n");
    for i in 0..10 {
        big.push_str(&format!("T{i}: {}\r\n", "v".repeat(4000)));
    }
    assert!(matches!(
        decode_in_steps(big.as_bytes(), 64, 10),
        Err(HttpError::HeadTooLarge)
    ));
    // Truncated input is not done.
    assert!(matches!(
        decode_in_steps(b"5\r\nhel", 2, 10),
        Err(HttpError::UnexpectedEof)
    ));
}
