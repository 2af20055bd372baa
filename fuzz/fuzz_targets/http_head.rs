//! HTTP/1.1 heads and chunked bodies come from the network (the ACS, file servers, anyone who
//! reaches the Connection Request port): any bytes must parse or be refused with an
//! `HttpError`, never panic. A parsed head must serialize and parse back to the same head with
//! its framing decided; the chunked decoder must give the same verdict whether the bytes arrive
//! at once or one at a time; `WWW-Authenticate` splitting, URL and `Set-Cookie` parsing must
//! not panic on the same bytes as text.
//!
//! Input: raw bytes, tried as a request head, a response head, and a chunked body.
#![no_main]

use std::time::SystemTime;

use httpwire::{parse_request_head, parse_response_head, split_challenges, ChunkedDecoder, CookieJar, Url};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((head, used))) = parse_request_head(data) {
        assert!(used <= data.len());
        let _ = head.body_framing();
        let again = parse_request_head(&head.to_bytes())
            .expect("serialized head parses")
            .expect("complete");
        assert_eq!(again.0, head);
    }
    if let Ok(Some((head, used))) = parse_response_head(data) {
        assert!(used <= data.len());
        for method in ["GET", "HEAD"] {
            let _ = head.body_framing(method);
        }
        let again = parse_response_head(&head.to_bytes())
            .expect("serialized head parses")
            .expect("complete");
        assert_eq!(again.0, head);
    }

    let mut whole = ChunkedDecoder::new(1 << 20);
    let mut out_whole = Vec::new();
    let res_whole = whole.decode(data, &mut out_whole);
    let mut split = ChunkedDecoder::new(1 << 20);
    let mut out_split = Vec::new();
    let mut used = 0usize;
    let mut res_split = Ok(0);
    for b in data {
        if split.is_done() {
            break;
        }
        match split.decode(std::slice::from_ref(b), &mut out_split) {
            Ok(n) => used += n,
            Err(e) => {
                res_split = Err(e);
                break;
            }
        }
    }
    match (res_whole, res_split) {
        (Ok(n), Ok(_)) => {
            assert_eq!(n, used);
            assert_eq!(out_whole, out_split);
            assert_eq!(whole.is_done(), split.is_done());
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!("chunked verdicts differ: {a:?} vs {b:?}"),
    }

    let text = String::from_utf8_lossy(data);
    let _ = split_challenges(&text);
    if let Ok(url) = Url::parse(&text) {
        assert_eq!(Url::parse(&url.to_string()).expect("display parses"), url);
    }
    let mut jar = CookieJar::new();
    let now = SystemTime::now();
    jar.store(&text, "acs.example.net", "/cwmp", now);
    let _ = jar.header_value("acs.example.net", "/cwmp", true, now);
});
