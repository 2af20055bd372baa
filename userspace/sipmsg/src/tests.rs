//! Unit tests: RFC 4475-style torture cases (written for this crate), the framer, and a
//! deterministic mutation test.

use crate::*;

const REGISTER: &str = "REGISTER sips:registrar.example.com SIP/2.0\r\n\
Via: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK74bf9;rport\r\n\
Max-Forwards: 70\r\n\
From: \"Alice\" <sips:alice@example.com>;tag=456248\r\n\
To: <sips:alice@example.com>\r\n\
Call-ID: 843817637684230@998sdasdh09\r\n\
CSeq: 1826 REGISTER\r\n\
Contact: <sips:alice@192.0.2.10:5061;transport=tls>;expires=3600\r\n\
Expires: 7200\r\n\
Content-Length: 0\r\n\
\r\n";

const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
v: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74b43\r\n\
Max-Forwards: 70\r\n\
f: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n\
t: Bob <sip:bob@biloxi.example.com>\r\n\
i: 3848276298220188511@atlanta.example.com\r\n\
CSeq: 1 INVITE\r\n\
m: <sip:alice@client.atlanta.example.com;transport=tcp>\r\n\
c: application/sdp\r\n\
l: 31\r\n\
\r\n\
v=0\r\n\
o=- 1 1 IN IP4 192.0.2.1\r\n";

const OK: &str = "SIP/2.0 200 OK\r\n\
Via: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK74bf9;received=192.0.2.10\r\n\
From: \"Alice\" <sips:alice@example.com>;tag=456248\r\n\
To: <sips:alice@example.com>;tag=2493k59kd\r\n\
Call-ID: 843817637684230@998sdasdh09\r\n\
CSeq: 1826 REGISTER\r\n\
Contact: <sips:alice@192.0.2.10:5061;transport=tls>;expires=3600\r\n\
Content-Length: 0\r\n\
\r\n";

fn parse(s: &str) -> Result<Message, ParseError> {
    Message::parse(s.as_bytes())
}

#[test]
fn register_parses() {
    let m = parse(REGISTER).unwrap();
    assert!(m.is_request());
    assert_eq!(m.method(), Some(&Method::Register));
    assert_eq!(m.code(), None);
    assert_eq!(m.call_id(), Some("843817637684230@998sdasdh09"));
    assert_eq!(m.cseq().unwrap(), (1826, Method::Register));
    let from = m.from().unwrap();
    assert_eq!(from.display.as_deref(), Some("Alice"));
    assert_eq!(from.tag(), Some("456248"));
    assert_eq!(from.uri.scheme, Scheme::Sips);
    assert_eq!(m.to().unwrap().tag(), None);
    let via = m.top_via().unwrap();
    assert_eq!(via.transport, "TLS");
    assert_eq!(via.host, "192.0.2.10");
    assert_eq!(via.port, Some(5061));
    assert_eq!(via.branch(), Some("z9hG4bK74bf9"));
    assert_eq!(via.param("RPORT"), Some(None));
    let contacts = m.contacts().unwrap();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].param("expires"), Some(Some("3600")));
    assert_eq!(contacts[0].uri.transport(), Some("tls"));
    assert!(!m.is_star_contact());
    assert_eq!(m.expires(), Some(7200));
    assert_eq!(m.max_forwards(), Some(70));
    assert!(m.body.is_empty());
}

#[test]
fn compact_forms_and_body() {
    let m = parse(INVITE).unwrap();
    assert_eq!(m.call_id(), Some("3848276298220188511@atlanta.example.com"));
    assert_eq!(m.content_type(), Some("application/sdp"));
    assert_eq!(m.headers.get("CONTENT-LENGTH"), Some("31"));
    assert_eq!(m.headers.get("l"), Some("31"));
    assert_eq!(m.from().unwrap().display.as_deref(), Some("Alice"));
    assert_eq!(m.body, b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n");
    assert_eq!(m.vias().unwrap()[0].transport, "TCP");
}

#[test]
fn response_parses() {
    let m = parse(OK).unwrap();
    assert_eq!(m.code(), Some(200));
    assert_eq!(m.method(), None);
    assert_eq!(
        m.start,
        StartLine::Response {
            code: 200,
            reason: "OK".into()
        }
    );
    assert_eq!(m.to().unwrap().tag(), Some("2493k59kd"));
    assert_eq!(m.top_via().unwrap().param("received"), Some(Some("192.0.2.10")));
}

/// Folding, odd spacing, mixed-case names and compact forms, bare LF line ends, escaped URIs.
#[test]
fn torture_valid() {
    let msg = "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\n\
TO :\n sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\n\
from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\n  ;\n  tag = 98asjd8\n\
MaX-fOrWaRdS: 0068\n\
Call-ID: wsinv.ndaksdj@192.0.2.1\n\
Content-Length   : 0\n\
cseq: 0009\n  INVITE\n\
Via  : SIP  /   2.0\n /UDP\n    192.0.2.2;rport;branch=390skdjuw\n\
s :\n\
NewFangledHeader:   newfangled value\n continued newfangled value\n\
UnknownHeaderWithUnusualValue: ;;,,;;,;\n\
v:  SIP  / 2.0  / TCP     spindle.example.com   ;\n  branch  =   z9hG4bK9ikj8  ,\n SIP  /    2.0   / UDP  192.168.255.111   ; branch=\n z9hG4bK30239\n\
m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\n      newvalue ;\n  secondparam ; q = 0.33\n\
\n";
    let m = parse(msg).unwrap();
    assert_eq!(m.max_forwards(), Some(68));
    assert_eq!(m.cseq().unwrap(), (9, Method::Invite));
    let to = m.to().unwrap();
    assert_eq!(to.tag(), Some("1918181833n"));
    assert_eq!(to.display, None);
    let from = m.from().unwrap();
    assert_eq!(from.display.as_deref(), Some("J Rosenberg \\\""));
    assert_eq!(from.tag(), Some("98asjd8"));
    let vias = m.vias().unwrap();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[0].host, "192.0.2.2");
    assert_eq!(vias[1].transport, "TCP");
    assert_eq!(vias[1].branch(), Some("z9hG4bK9ikj8"));
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(m.headers.get("Subject"), Some(""));
    assert_eq!(
        m.headers.get("newfangledheader"),
        Some("newfangled value continued newfangled value")
    );
    let c = &m.contacts().unwrap()[0];
    assert_eq!(c.display.as_deref(), Some("Quoted string \"\""));
    assert_eq!(c.param("newparam"), Some(Some("newvalue")));
    assert_eq!(c.param("secondparam"), Some(None));
    assert_eq!(c.param("q"), Some(Some("0.33")));
    let StartLine::Request { uri, .. } = &m.start else {
        panic!()
    };
    assert_eq!(uri.param("unknownparam"), Some(None));
    // The serialized form parses to the same message.
    let again = Message::parse(&m.to_bytes()).unwrap();
    assert_eq!(again.start, m.start);
    assert_eq!(again.from(), m.from());
    assert_eq!(again.vias(), m.vias());
}

#[test]
fn escaped_uris() {
    let u = Uri::parse("sip:sips%3Auser%40example.com@example.net").unwrap();
    assert_eq!(u.user.as_deref(), Some("sips%3Auser%40example.com"));
    assert_eq!(u.host, "example.net");
    let u = Uri::parse("sip:user;par=u%40example.net@example.com").unwrap();
    assert_eq!(u.user.as_deref(), Some("user;par=u%40example.net"));
    assert!(u.params.is_empty());
    let u =
        Uri::parse("SIP:alice:secret@atlanta.com:5070;Transport=TCP;lr?subject=project%20x&priority=urgent")
            .unwrap();
    assert_eq!(u.password.as_deref(), Some("secret"));
    assert_eq!(u.port, Some(5070));
    assert_eq!(u.transport(), Some("TCP"));
    assert_eq!(u.param("LR"), Some(None));
    assert_eq!(
        u.headers,
        vec![
            ("subject".into(), "project%20x".into()),
            ("priority".into(), "urgent".into())
        ]
    );
    assert_eq!(
        u.to_string(),
        "sip:alice:secret@atlanta.com:5070;Transport=TCP;lr?subject=project%20x&priority=urgent"
    );
    assert_eq!(u.host_port(), "atlanta.com:5070");
    assert!(Uri::parse("sip:user%4@example.com").is_err());
    assert!(Uri::parse("sip:us er@example.com").is_err());
    assert!(Uri::parse("tel:+15551234").is_err());
    assert!(Uri::parse("sip:").is_err());
    assert!(Uri::parse("sip:@example.com").is_err());
    assert!(Uri::parse("sip:example.com:65536").is_err());
    assert!(Uri::parse("sip:example.com:").is_err());
    assert!(Uri::parse("sip:example.com;;lr").is_err());
    assert!(Uri::parse("sip:example.com?noequals").is_err());
    let many = format!("sip:example.com{}", ";p".repeat(MAX_PARAMS + 1));
    assert!(Uri::parse(&many).is_err());
}

#[test]
fn ipv6() {
    let u = Uri::parse("sip:[2001:db8::10]:5070").unwrap();
    assert_eq!(u.host, "[2001:db8::10]");
    assert_eq!(u.port, Some(5070));
    assert_eq!(u.host_port(), "[2001:db8::10]:5070");
    assert_eq!(
        Uri::parse("sips:alice@[::ffff:192.0.2.1]").unwrap().host,
        "[::ffff:192.0.2.1]"
    );
    assert!(Uri::parse("sip:[2001:db8::10").is_err());
    assert!(Uri::parse("sip:2001:db8::10").is_err());
    assert!(Uri::parse("sip:[zz::1]").is_err());
    let v =
        Via::parse("SIP/2.0/UDP [2001:db8::9:1]:5060;received=[2001:db8::9:255];branch=z9hG4bKas3").unwrap();
    assert_eq!(v.host, "[2001:db8::9:1]");
    assert_eq!(v.param("received"), Some(Some("[2001:db8::9:255]")));
    assert_eq!(
        v.to_string(),
        "SIP/2.0/UDP [2001:db8::9:1]:5060;received=[2001:db8::9:255];branch=z9hG4bKas3"
    );
}

#[test]
fn name_addr_forms() {
    let n = NameAddr::parse("sip:alice@example.com;tag=abc").unwrap();
    assert!(
        n.uri.params.is_empty(),
        "addr-spec parameters belong to the header"
    );
    assert_eq!(n.tag(), Some("abc"));
    assert_eq!(n.to_string(), "<sip:alice@example.com>;tag=abc");
    let n = NameAddr::parse("<sip:alice@example.com;transport=tls>;tag=abc").unwrap();
    assert_eq!(n.uri.transport(), Some("tls"));
    assert_eq!(n.tag(), Some("abc"));
    let n = NameAddr::parse("Alice  Smith <sip:alice@example.com>").unwrap();
    assert_eq!(n.display.as_deref(), Some("Alice  Smith"));
    let n = NameAddr::parse(r#""Ali\"ce" <sip:alice@example.com>;+sip.instance="<urn:uuid:1;2>""#).unwrap();
    assert_eq!(n.display.as_deref(), Some("Ali\"ce"));
    assert_eq!(n.param("+sip.instance"), Some(Some("\"<urn:uuid:1;2>\"")));
    assert_eq!(NameAddr::parse(&n.to_string()).unwrap(), n);
    let mut n = NameAddr::parse("<sip:bob@example.com>").unwrap();
    n.set_param("tag", Some("x1"));
    n.set_param("TAG", Some("x2"));
    assert_eq!(n.to_string(), "<sip:bob@example.com>;tag=x2");
    for bad in [
        "\"unterminated <sip:a@b>",
        "<sip:a@b",
        "Alice sip:a@b",
        "<sip:a@b> junk",
        "<sip:a@b>;",
        "<sip:a@b>;tag=",
        "<sip:a@b>;tag=\"x",
        "<sip:a@b>;t@g=1",
        "\"a\" sip:a@b",
        "",
    ] {
        assert!(NameAddr::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn via_forms() {
    let mut v = Via::parse("SIP / 2.0 / tls host.example.com : 5061 ; branch = z9hG4bK1 ;rport").unwrap();
    assert_eq!(v.transport, "TLS");
    assert_eq!(v.port, Some(5061));
    assert_eq!(v.branch(), Some("z9hG4bK1"));
    v.set_param("rport", Some("40000"));
    v.set_param("received", Some("192.0.2.7"));
    assert_eq!(
        v.to_string(),
        "SIP/2.0/TLS host.example.com:5061;branch=z9hG4bK1;rport=40000;received=192.0.2.7"
    );
    assert_eq!(Via::parse(&v.to_string()).unwrap(), v);
    for bad in [
        "SIP/3.0/UDP h",
        "SIP/2.0/UDP",
        "SIP/2.0/UDPh",
        "SIP/2.0 UDP h",
        "SIP/2.0/UDP h (comment)",
        "",
    ] {
        assert!(Via::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn methods() {
    assert_eq!("INVITE".parse::<Method>().unwrap(), Method::Invite);
    assert_eq!(
        "invite".parse::<Method>().unwrap(),
        Method::Other("invite".into())
    );
    assert_eq!("NOTIFY".parse::<Method>().unwrap().as_str(), "NOTIFY");
    assert_eq!(Method::Cancel.to_string(), "CANCEL");
    assert!("IN VITE".parse::<Method>().is_err());
    assert!("".parse::<Method>().is_err());
    assert!("A/B".parse::<Method>().is_err());
}

#[test]
fn headers_api() {
    let mut h = Headers::default();
    assert!(h.is_empty());
    h.push("Via", "a");
    h.push("Max-Forwards", "70");
    h.push("v", "b");
    h.push("VIA", "c");
    assert_eq!(h.get("via"), Some("a"));
    assert_eq!(h.get_all("v").collect::<Vec<_>>(), ["a", "b", "c"]);
    h.set("Via", "z");
    assert_eq!(
        h.iter().collect::<Vec<_>>(),
        [("Via", "z"), ("Max-Forwards", "70")]
    );
    h.set("Subject", "hi");
    assert_eq!(h.len(), 3);
    h.remove("s");
    assert_eq!(h.get("Subject"), None);
    // Values cannot inject header lines; bad names are cleaned.
    h.push("X-Evil", "a\r\nInjected: yes");
    assert_eq!(h.get("X-Evil"), Some("a  Injected: yes"));
    h.push("Bad Name:", "v");
    assert_eq!(h.get("BadName"), Some("v"));
    h.push(":", "dropped");
    assert_eq!(h.len(), 4);
}

#[test]
fn split_lists() {
    assert_eq!(split_list("INVITE, ACK ,BYE,,"), ["INVITE", "ACK", "BYE"]);
    assert_eq!(
        split_list(r#""Doe, J" <sip:a@b;x=1,2>;p="a,\"b", <sip:c@d>"#),
        [r#""Doe, J" <sip:a@b;x=1,2>;p="a,\"b""#, "<sip:c@d>"]
    );
    assert!(split_list("  ").is_empty());
    assert_eq!(split_list("\"unterminated, x"), ["\"unterminated, x"]);
}

#[test]
fn star_contact() {
    let m = parse(&REGISTER.replace(
        "Contact: <sips:alice@192.0.2.10:5061;transport=tls>;expires=3600",
        "Contact: *",
    ))
    .unwrap();
    assert!(m.is_star_contact());
    assert_eq!(m.contacts().unwrap(), vec![]);
    let m = parse(&REGISTER.replace("Contact: <", "Contact: *, <")).unwrap();
    assert!(!m.is_star_contact());
    assert!(m.contacts().is_err());
    let m = parse(&REGISTER.replace(
        "Contact: <sips:alice@192.0.2.10:5061;transport=tls>;expires=3600\r\n",
        "",
    ))
    .unwrap();
    assert_eq!(m.contacts().unwrap(), vec![]);
    assert!(!m.is_star_contact());
}

#[test]
fn expires_saturates() {
    let m = parse(&REGISTER.replace("Expires: 7200", "Expires: 99999999999999999999")).unwrap();
    assert_eq!(m.expires(), Some(u32::MAX));
    let m = parse(&REGISTER.replace("Expires: 7200", "Expires: soon")).unwrap();
    assert_eq!(m.expires(), None);
}

#[test]
fn invalid_messages() {
    let cases: Vec<(String, &str)> = vec![
        (
            REGISTER.replace("CSeq: 1826 REGISTER", "CSeq: -1 REGISTER"),
            "negative CSeq",
        ),
        (
            REGISTER.replace("CSeq: 1826 REGISTER", "CSeq: 1826 INVITE"),
            "CSeq method mismatch",
        ),
        (
            REGISTER.replace("CSeq: 1826 REGISTER", "CSeq: 4294967296 REGISTER"),
            "CSeq overflow",
        ),
        (
            REGISTER.replace("CSeq: 1826 REGISTER", "CSeq: 1826"),
            "CSeq without method",
        ),
        (
            REGISTER.replace("Content-Length: 0", "Content-Length: 5"),
            "Content-Length too big",
        ),
        (INVITE.replace("l: 31", "l: 30"), "Content-Length too small"),
        (
            REGISTER.replace("Content-Length: 0", "Content-Length: zero"),
            "Content-Length not a number",
        ),
        (
            REGISTER.replace("Content-Length: 0", "Content-Length: 0\r\nl: 0"),
            "two Content-Length",
        ),
        (
            REGISTER.replace("Call-ID: 843817637684230@998sdasdh09\r\n", ""),
            "missing Call-ID",
        ),
        (
            REGISTER.replace("Call-ID: 843817637684230@998sdasdh09", "Call-ID: a b"),
            "Call-ID with space",
        ),
        (REGISTER.replace("Via: ", "X-Via: "), "missing Via"),
        (
            REGISTER.replace(
                "To: <sips:alice@example.com>",
                "To: <sips:alice@example.com>\r\nt: sip:x@y",
            ),
            "two To",
        ),
        (REGISTER.replace("From: ", "From: <bad"), "bad From"),
        (REGISTER.replace("SIP/2.0\r\n", "SIP/7.0\r\n"), "bad version"),
        (
            REGISTER.replace("REGISTER sips", "REGISTER tel"),
            "unsupported scheme",
        ),
        (
            REGISTER.replace("REGISTER sips:registrar.example.com SIP/2.0", "REGISTER"),
            "short request line",
        ),
        (
            REGISTER.replace("REGISTER sips:", "REG/ISTER sips:"),
            "bad method",
        ),
        (OK.replace("200 OK", "99 Too Low"), "code 99"),
        (OK.replace("200 OK", "700 Too High"), "code 700"),
        (OK.replace("200 OK", "2000 OK"), "code 2000"),
        (OK.replace("200 OK", "OK"), "no code"),
        (
            REGISTER.replace("Expires: 7200\r\n", "Expires: 7200\r\nBroken header\r\n"),
            "no colon",
        ),
        (
            REGISTER.replace("Expires: 7200", "Expi res: 7200"),
            "space in name",
        ),
        (
            REGISTER.replace("Expires: 7200", "Expires: 72\x0000"),
            "NUL in value",
        ),
        (
            REGISTER.replace("Expires: 7200", "Expires: 72\r00"),
            "bare CR in value",
        ),
        (
            REGISTER.replace("Max-Forwards", " Max-Forwards").replace(
                "Via: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK74bf9;rport\r\n",
                "",
            ),
            "fold first",
        ),
        (REGISTER.replace("\r\n\r\n", "\r\n"), "no blank line"),
        (String::new(), "empty"),
        ("\r\n\r\n".to_string(), "only CRLFs"),
    ];
    for (msg, why) in cases {
        assert!(parse(&msg).is_err(), "{why} accepted");
    }
    // Too many headers.
    let many = REGISTER.replace("Expires: 7200\r\n", &"X-A: b\r\n".repeat(MAX_HEADERS));
    assert!(parse(&many).is_err());
    let just = REGISTER.replace("Expires: 7200\r\n", &"X-A: b\r\n".repeat(MAX_HEADERS - 9));
    assert!(parse(&just).is_ok());
    // Too large.
    let big = REGISTER.replace("Expires: 7200", &format!("X-Pad: {}", "a".repeat(MAX_MESSAGE)));
    assert_eq!(parse(&big).unwrap_err().message(), "message too large");
    // Non-UTF-8 in a header: an error, not a panic.
    let mut bytes = REGISTER.as_bytes().to_vec();
    bytes[70] = 0xff;
    assert!(Message::parse(&bytes).is_err());
}

#[test]
fn lenient_but_valid() {
    // Leading CRLFs, no Content-Length (rest is the body), multiple spaces in the request line.
    let msg = format!(
        "\r\n\r\n{}",
        REGISTER
            .replace("Content-Length: 0\r\n", "")
            .replace(" SIP/2.0\r\n", "   SIP/2.0\r\n")
    );
    let m = parse(&format!("{msg}body")).unwrap();
    assert_eq!(m.body, b"body");
    // Lower-case version, response without reason phrase, binary body.
    let m = parse(&OK.replace("SIP/2.0 200 OK", "sip/2.0 200")).unwrap();
    assert_eq!(
        m.start,
        StartLine::Response {
            code: 200,
            reason: String::new()
        }
    );
    let mut bytes = INVITE.replace("l: 31", "l: 4").into_bytes();
    bytes.truncate(bytes.len() - 31);
    bytes.extend_from_slice(&[0, 0xff, b'\r', b'\n']);
    assert_eq!(Message::parse(&bytes).unwrap().body, [0, 0xff, b'\r', b'\n']);
    // Non-ASCII UTF-8 in a display name and a reason phrase.
    let m = parse(
        &OK.replace("\"Alice\"", "\"Zoë\"")
            .replace("200 OK", "200 Très bien"),
    )
    .unwrap();
    assert_eq!(m.from().unwrap().display.as_deref(), Some("Zoë"));
    assert_eq!(
        m.start,
        StartLine::Response {
            code: 200,
            reason: "Très bien".into()
        }
    );
}

#[test]
fn serialize_round_trip() {
    for text in [REGISTER, INVITE, OK] {
        let m = parse(text).unwrap();
        let bytes = m.to_bytes();
        let again = Message::parse(&bytes).unwrap();
        assert_eq!(again.start, m.start);
        assert_eq!(again.body, m.body);
        assert_eq!(without_length(&again), without_length(&m));
        assert_eq!(again.to_bytes(), bytes);
    }
    assert_eq!(parse(REGISTER).unwrap().to_bytes(), REGISTER.as_bytes());
}

fn without_length(m: &Message) -> Vec<(String, String)> {
    m.headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("content-length") && !n.eq_ignore_ascii_case("l"))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[test]
fn build_request_and_response() {
    let mut m = Message::request(Method::Options, Uri::parse("sip:gw.example.com").unwrap());
    m.headers
        .push("Via", "SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bKx");
    m.headers
        .push("Via", "SIP/2.0/TLS 192.0.2.2:5061;branch=z9hG4bKy");
    m.headers.push("Max-Forwards", "70");
    m.headers.push("From", "<sip:gw@example.com>;tag=1");
    m.headers.push("To", "<sip:gw.example.com>");
    m.headers.push("Call-ID", "abc@192.0.2.1");
    m.headers.push("CSeq", "1 OPTIONS");
    m.headers.push("Content-Length", "999");
    let bytes = m.to_bytes();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with("OPTIONS sip:gw.example.com SIP/2.0\r\n"));
    assert!(text.ends_with("CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"));
    let req = Message::parse(&bytes).unwrap();
    let resp = Message::response_to(&req, 200, reason_phrase(200));
    let parsed = Message::parse(&resp.to_bytes()).unwrap();
    assert_eq!(parsed.code(), Some(200));
    assert_eq!(parsed.vias().unwrap().len(), 2);
    assert_eq!(parsed.vias().unwrap()[1].branch(), Some("z9hG4bKy"));
    assert_eq!(parsed.cseq().unwrap(), (1, Method::Options));
    assert_eq!(parsed.call_id(), Some("abc@192.0.2.1"));
    assert!(parsed.body.is_empty());
    // A reason phrase cannot inject lines either.
    let evil = Message::response_to(&req, 400, "Bad\r\nX: y");
    assert!(String::from_utf8(evil.to_bytes())
        .unwrap()
        .starts_with("SIP/2.0 400 Bad  X: y\r\n"));
}

#[test]
fn reason_phrases() {
    assert_eq!(reason_phrase(180), "Ringing");
    assert_eq!(reason_phrase(513), "Message Too Large");
    assert_eq!(reason_phrase(299), "");
}

#[test]
fn parse_error_display() {
    let e = parse("junk").unwrap_err();
    assert_eq!(e.to_string(), e.message());
    assert!(!e.message().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Framer

/// Pushes `data` in chunks of `chunk` bytes, draining after each; gives every frame or error.
fn frame_all(max: usize, data: &[u8], chunk: usize) -> Vec<Result<Frame, FrameError>> {
    let mut f = Framer::new(max);
    let mut out = Vec::new();
    for piece in data.chunks(chunk.max(1)) {
        f.push(piece);
        assert!(f.buffered() <= max + chunk, "buffer over bound");
        loop {
            match f.next_frame() {
                Ok(Some(frame)) => out.push(Ok(frame)),
                Ok(None) => break,
                Err(e) => {
                    let fatal = e.is_fatal();
                    out.push(Err(e));
                    if fatal {
                        return out;
                    }
                }
            }
        }
    }
    if let Some(k) = f.flush_keepalive() {
        out.push(Ok(k));
    }
    out
}

#[test]
fn framer_split_everywhere() {
    let stream = [REGISTER, "\r\n\r\n", INVITE, "\r\n", OK].concat();
    let expected = vec![
        Ok(Frame::Message(REGISTER.as_bytes().to_vec())),
        Ok(Frame::Ping),
        Ok(Frame::Message(INVITE.as_bytes().to_vec())),
        Ok(Frame::Pong),
        Ok(Frame::Message(OK.as_bytes().to_vec())),
    ];
    assert_eq!(frame_all(MAX_MESSAGE, stream.as_bytes(), stream.len()), expected);
    for chunk in 1..40 {
        assert_eq!(
            frame_all(MAX_MESSAGE, stream.as_bytes(), chunk),
            expected,
            "chunk {chunk}"
        );
    }
    // Split at every single position into two pushes.
    for cut in 0..=stream.len() {
        let mut f = Framer::new(MAX_MESSAGE);
        let mut got = Vec::new();
        for part in [&stream.as_bytes()[..cut], &stream.as_bytes()[cut..]] {
            f.push(part);
            while let Some(frame) = f.next_frame().unwrap() {
                got.push(Ok(frame));
            }
        }
        assert_eq!(got, expected, "cut at {cut}");
        assert_eq!(f.buffered(), 0);
    }
}

#[test]
fn framer_keepalives() {
    let mut f = Framer::new(MAX_MESSAGE);
    f.push(b"\r\n");
    assert_eq!(f.next_frame(), Ok(None), "could be the start of a ping");
    assert!(!f.in_message());
    f.push(b"\r");
    assert_eq!(f.next_frame(), Ok(None));
    f.push(b"\n");
    assert_eq!(f.next_frame(), Ok(Some(Frame::Ping)));
    f.push(b"\r\n");
    assert_eq!(f.next_frame(), Ok(None));
    assert_eq!(f.flush_keepalive(), Some(Frame::Pong));
    assert_eq!(f.flush_keepalive(), None);
    assert_eq!(f.buffered(), 0);
    f.push(b"\r\nOPTIONS");
    assert_eq!(f.next_frame(), Ok(Some(Frame::Pong)));
    assert_eq!(f.next_frame(), Ok(None));
    assert!(f.in_message());
    assert_eq!(f.flush_keepalive(), None);
    f.push(b"\r\n\r\n\r\n");
    assert!(
        f.next_frame().is_err(),
        "a request line needs a space after the method"
    );

    let mut f = Framer::new(MAX_MESSAGE);
    f.push(b"\r\n\r\n\r\n\r\n\r\n");
    assert_eq!(f.next_frame(), Ok(Some(Frame::Ping)));
    assert_eq!(f.next_frame(), Ok(Some(Frame::Ping)));
    assert_eq!(f.next_frame(), Ok(None));
    assert_eq!(f.flush_keepalive(), Some(Frame::Pong));
}

#[test]
fn framer_oversize_skipped() {
    let big_body = "x".repeat(6000);
    let big = INVITE.replace(
        "l: 31\r\n\r\nv=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n",
        &format!("l: 6000\r\n\r\n{big_body}"),
    );
    let head_len = big.find("\r\n\r\n").unwrap() + 4;
    let stream = [big.as_str(), OK].concat();
    for chunk in [1, 7, 100, 4096, stream.len()] {
        let frames = frame_all(MAX_MESSAGE, stream.as_bytes(), chunk);
        assert_eq!(
            frames,
            vec![
                Err(FrameError::TooLarge {
                    head: big.as_bytes()[..head_len].to_vec(),
                    content_length: 6000
                }),
                Ok(Frame::Message(OK.as_bytes().to_vec())),
            ],
            "chunk {chunk}"
        );
    }
    let mut f = Framer::new(MAX_MESSAGE);
    f.push(&big.as_bytes()[..head_len + 10]);
    assert!(matches!(f.next_frame(), Err(FrameError::TooLarge { .. })));
    assert_eq!(f.buffered(), 0);
    assert!(f.in_message(), "still discarding the body");
    f.push(&big.as_bytes()[head_len + 10..]);
    assert!(!f.in_message());
    assert_eq!(f.next_frame(), Ok(None));
}

#[test]
fn framer_fatal_errors() {
    // No end of headers within the limit.
    let long = format!("OPTIONS sip:a SIP/2.0\r\nX: {}", "a".repeat(MAX_MESSAGE));
    let frames = frame_all(MAX_MESSAGE, long.as_bytes(), 512);
    assert_eq!(frames.last(), Some(&Err(FrameError::HeaderTooLong)));
    // Missing and bad Content-Length.
    let no_cl = REGISTER.replace("Content-Length: 0\r\n", "");
    assert_eq!(
        frame_all(MAX_MESSAGE, no_cl.as_bytes(), 4096),
        vec![Err(FrameError::MissingContentLength)]
    );
    for bad in [
        "Content-Length: x",
        "Content-Length: 99999999999999999999999",
        "Content-Length: 1 2",
        "l: 0\r\nl: 1",
    ] {
        let m = REGISTER.replace("Content-Length: 0", bad);
        assert_eq!(
            frame_all(MAX_MESSAGE, m.as_bytes(), 4096),
            vec![Err(FrameError::BadContentLength)],
            "{bad}"
        );
    }
    // Folded Content-Length and the compact form are understood.
    let folded = REGISTER.replace("Content-Length: 0", "content-LENGTH :\r\n 0");
    assert_eq!(
        frame_all(MAX_MESSAGE, folded.as_bytes(), 4096),
        vec![Ok(Frame::Message(folded.clone().into_bytes()))]
    );
    // Garbage: a TLS ClientHello, a lone LF, a line without a method, a bad version.
    for junk in [
        &[0x16u8, 3, 1, 0, 0xa5][..],
        b"\n",
        b"\rX",
        b"<html>",
        b"SIP/2.1 200 OK\r\n",
        b" INVITE",
    ] {
        assert_eq!(
            frame_all(MAX_MESSAGE, junk, 4096),
            vec![Err(FrameError::Garbage)],
            "{junk:?}"
        );
    }
    let long_method = "A".repeat(40);
    assert_eq!(
        frame_all(MAX_MESSAGE, long_method.as_bytes(), 4096),
        vec![Err(FrameError::Garbage)]
    );
    // Fatal errors stick.
    let mut f = Framer::new(MAX_MESSAGE);
    f.push(b"\x00");
    assert_eq!(f.next_frame(), Err(FrameError::Garbage));
    f.push(REGISTER.as_bytes());
    assert_eq!(f.next_frame(), Err(FrameError::Garbage));
    assert_eq!(f.buffered(), 0);
    assert!(!f.in_message());
}

#[test]
fn framer_partial_message() {
    let mut f = Framer::new(MAX_MESSAGE);
    f.push(&INVITE.as_bytes()[..INVITE.len() - 3]);
    assert_eq!(f.next_frame(), Ok(None));
    assert!(f.in_message());
    f.push(&INVITE.as_bytes()[INVITE.len() - 3..]);
    assert_eq!(
        f.next_frame(),
        Ok(Some(Frame::Message(INVITE.as_bytes().to_vec())))
    );
    assert!(!f.in_message());
    // Bare-LF header sections are framed too.
    let lf = REGISTER.replace("\r\n", "\n");
    assert_eq!(
        frame_all(MAX_MESSAGE, lf.as_bytes(), 3),
        vec![Ok(Frame::Message(lf.clone().into_bytes()))]
    );
    assert!(Message::parse(lf.as_bytes()).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Mutation test

use mutation::Rng;

fn mutate(rng: &mut Rng, data: &mut Vec<u8>) {
    const INTERESTING: &[u8] = b"\r\n \t:;,<>\"\\@[]%=?&/0123456789\x00\xff\xc3";
    for _ in 0..=rng.below(4) {
        let len = data.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            1 => {
                let i = rng.below(len + 1);
                data.insert(i, INTERESTING[rng.below(INTERESTING.len())]);
            }
            2 if len > 0 => {
                let i = rng.below(len);
                let n = rng.below(20).min(len - i);
                data.drain(i..i + n);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = rng.below(60).min(len - i);
                let copy = data[i..i + n].to_vec();
                let at = rng.below(data.len() + 1);
                data.splice(at..at, copy);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                data[i] = rng.next() as u8;
            }
            5 => {
                // Replace a number with a huge one.
                if let Some(i) = data.iter().position(|b| b.is_ascii_digit()) {
                    data.splice(i..i, b"4294967299999".iter().copied());
                }
            }
            _ => {
                let i = rng.below(len + 1);
                data.splice(i..i, b"\r\n ".iter().copied());
            }
        }
    }
}

/// What the fuzz target checks on a parsed message.
fn check_parsed(m: &Message) {
    let _ = (
        m.is_request(),
        m.method(),
        m.code(),
        m.call_id(),
        m.content_type(),
    );
    let _ = (m.contacts(), m.is_star_contact(), m.expires(), m.max_forwards());
    let (_, method) = m.cseq().expect("checked by parse");
    for na in [
        m.from().expect("checked by parse"),
        m.to().expect("checked by parse"),
    ] {
        assert_eq!(NameAddr::parse(&na.to_string()).as_ref(), Ok(&na));
        let _ = na.tag();
    }
    for via in m.vias().expect("checked by parse") {
        assert_eq!(Via::parse(&via.to_string()).as_ref(), Ok(&via));
    }
    assert_eq!(m.top_via().ok(), m.vias().ok().and_then(|v| v.into_iter().next()));
    if let StartLine::Request { method: rm, uri } = &m.start {
        assert_eq!(rm, &method);
        assert_eq!(Uri::parse(&uri.to_string()).as_ref(), Ok(uri));
    }
    let bytes = m.to_bytes();
    let with_length = m.headers.get("Content-Length").is_some();
    if bytes.len() <= MAX_MESSAGE && (with_length || m.headers.len() < MAX_HEADERS) {
        let again = Message::parse(&bytes).expect("serialized message parses");
        assert_eq!(again.start, m.start);
        assert_eq!(again.body, m.body);
        assert_eq!(without_length(&again), without_length(m));
    }
    let resp = Message::response_to(m, 500, reason_phrase(500));
    assert!(Message::parse(&resp.to_bytes()).is_ok());
}

#[test]
fn mutated_messages_never_panic() {
    let seeds = [REGISTER, INVITE, OK];
    // SIPMSG_MUTATIONS=<rounds> and SIPMSG_SEED=<n> allow longer or different runs by hand.
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let rounds = env("SIPMSG_MUTATIONS", 20_000) as usize;
    let mut rng = Rng::new(env("SIPMSG_SEED", 0x9e37_79b9_7f4a_7c15) | 1);
    let mut parsed = 0;
    for round in 0..rounds {
        let mut data = seeds[round % seeds.len()].as_bytes().to_vec();
        for _ in 0..=rng.below(3) {
            mutate(&mut rng, &mut data);
        }
        if let Ok(m) = Message::parse(&data) {
            parsed += 1;
            check_parsed(&m);
        }
        // The same bytes, twice, with keep-alives, through the framer in random chunks.
        let mut stream = data.clone();
        stream.extend_from_slice(b"\r\n\r\n");
        stream.extend_from_slice(&data);
        let max = match round % 7 {
            0 => 200,
            1 => rng.below(40),
            _ => MAX_MESSAGE,
        };
        // Framer::new takes a limit below 4 as 4.
        let max_eff = max.max(4);
        let chunk = 1 + rng.below(700);
        let mut f = Framer::new(max);
        let max = max_eff;
        'outer: for piece in stream.chunks(chunk) {
            f.push(piece);
            assert!(f.buffered() <= max + chunk);
            loop {
                match f.next_frame() {
                    Ok(Some(Frame::Message(bytes))) => {
                        assert!(bytes.len() <= max);
                        let _ = Message::parse(&bytes);
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) if e.is_fatal() => break 'outer,
                    Err(_) => {}
                }
                assert!(f.buffered() <= max + chunk);
            }
            assert!(f.buffered() <= max);
            let _ = f.in_message();
        }
        let _ = f.flush_keepalive();
    }
    assert!(
        parsed > rounds / 40,
        "mutations too destructive: only {parsed} parsed"
    );
}
