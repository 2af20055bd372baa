//! SIP messages arrive from any peer on the network: any bytes must parse or be refused, never
//! panic. A parsed message must answer every accessor without panicking; From, To, Via and the
//! Request-URI must write back to text that parses to the same value; the serialized message must
//! parse again to the same start line, headers (Content-Length aside, which the serializer writes
//! itself) and body; and a response built from it must parse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipmsg::{reason_phrase, Message, NameAddr, StartLine, Uri, Via, MAX_HEADERS, MAX_MESSAGE};

/// Headers but Content-Length, which `to_bytes` rewrites.
fn without_length(m: &Message) -> Vec<(String, String)> {
    m.headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("content-length") && !n.eq_ignore_ascii_case("l"))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Message::parse(data) else { return };
    let _ = (
        m.is_request(),
        m.method(),
        m.code(),
        m.call_id(),
        m.content_type(),
    );
    let _ = (m.contacts(), m.is_star_contact(), m.expires(), m.max_forwards());
    let (_, method) = m.cseq().expect("parse checks CSeq");
    for na in [
        m.from().expect("parse checks From"),
        m.to().expect("parse checks To"),
    ] {
        let _ = na.tag();
        assert_eq!(
            NameAddr::parse(&na.to_string()).as_ref(),
            Ok(&na),
            "name-addr round trip"
        );
    }
    let vias = m.vias().expect("parse checks Via");
    for via in &vias {
        let _ = via.branch();
        assert_eq!(Via::parse(&via.to_string()).as_ref(), Ok(via), "Via round trip");
    }
    assert_eq!(m.top_via().ok().as_ref(), vias.first());
    if let StartLine::Request {
        method: request_method,
        uri,
    } = &m.start
    {
        assert_eq!(request_method, &method, "parse checks the CSeq method");
        let _ = (uri.transport(), uri.host_port());
        assert_eq!(Uri::parse(&uri.to_string()).as_ref(), Ok(uri), "URI round trip");
    }
    if let Ok(contacts) = m.contacts() {
        for c in contacts {
            assert_eq!(
                NameAddr::parse(&c.to_string()).as_ref(),
                Ok(&c),
                "Contact round trip"
            );
        }
    }

    let bytes = m.to_bytes();
    // Writing Content-Length may add a header or lengthen the message past the limits.
    let had_length = m.headers.get("Content-Length").is_some();
    if bytes.len() <= MAX_MESSAGE && (had_length || m.headers.len() < MAX_HEADERS) {
        let again = Message::parse(&bytes).expect("a serialized message parses");
        assert_eq!(again.start, m.start);
        assert_eq!(again.body, m.body);
        assert_eq!(without_length(&again), without_length(&m));
    }

    let response = Message::response_to(&m, 500, reason_phrase(500));
    assert!(
        Message::parse(&response.to_bytes()).is_ok(),
        "a response to a parsed message parses"
    );
});
