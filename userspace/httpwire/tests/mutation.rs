//! A deterministic mutation loop over every parser: no input may panic, and what parses must
//! serialize and parse back to the same thing. (The fuzz target `http_head` does the same with
//! coverage guidance; this loop runs in every `cargo test`.)

use std::time::{Instant, SystemTime};

use httpwire::{
    parse_request_head, parse_response_head, split_challenges, Basic, ChunkedDecoder, CookieJar, Credentials,
    DigestServer, Url,
};

use mutation::Rng;

const SEEDS: &[&[u8]] = &[
    b"POST /cwmp HTTP/1.1\r\nHost: acs:7547\r\nContent-Length: 5\r\nCookie: a=b\r\n\r\nhello",
    b"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: v\r\n\r\n",
    b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"r\", nonce=\"n\", qop=\"auth\", Basic realm=x\r\n\
Content-Length: 0\r\n\r\n",
    b"HTTP/1.0 200 OK\r\nSet-Cookie: sid=1; Path=/; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Max-Age=5\r\n\r\nbody",
    b"a\r\n0123456789\r\n0\r\n\r\n",
    b"https://[2001:db8::1]:8443/a?b#c",
];

/// Bytes that matter to the grammar, preferred when inserting.
const INTERESTING: &[u8] = b"\r\n:; \t,=\"\\0f-+/[]@%\x00\x7f\x80\xff";

fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    for _ in 0..=rng.below(4) {
        let len = input.len();
        match rng.below(6) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 => {
                let b = if rng.below(2) == 0 {
                    INTERESTING[rng.below(INTERESTING.len())]
                } else {
                    rng.next() as u8
                };
                input.insert(rng.below(len + 1), b);
            }
            2 if len > 0 => {
                input.remove(rng.below(len));
            }
            3 if len > 0 => {
                let a = rng.below(len);
                let b = (a + rng.below(64)).min(len);
                let copy = input[a..b].to_vec();
                let at = rng.below(len + 1);
                input.splice(at..at, copy);
            }
            4 => input.truncate(rng.below(len + 1)),
            _ => {
                let i = rng.below(len + 1);
                input.splice(i..i, b"\r\n".iter().copied());
            }
        }
    }
}

fn check(data: &[u8]) {
    if let Ok(Some((head, used))) = parse_request_head(data) {
        assert!(used <= data.len());
        let _ = head.body_framing();
        let (again, n) = parse_request_head(&head.to_bytes()).unwrap().unwrap();
        assert_eq!(again, head);
        assert_eq!(n, head.to_bytes().len());
    }
    if let Ok(Some((head, used))) = parse_response_head(data) {
        assert!(used <= data.len());
        let _ = head.body_framing("GET");
        let (again, _) = parse_response_head(&head.to_bytes()).unwrap().unwrap();
        assert_eq!(again, head);
    }
    // The chunked decoder must give the same verdict fed at once or byte by byte.
    let whole = {
        let mut dec = ChunkedDecoder::new(1 << 16);
        let mut out = Vec::new();
        dec.decode(data, &mut out).map(|n| (n, out, dec.is_done()))
    };
    let bytewise = {
        let mut dec = ChunkedDecoder::new(1 << 16);
        let mut out = Vec::new();
        let mut used = 0;
        let mut res = Ok(());
        for b in data {
            if dec.is_done() {
                break;
            }
            match dec.decode(std::slice::from_ref(b), &mut out) {
                Ok(n) => used += n,
                Err(e) => {
                    res = Err(e);
                    break;
                }
            }
        }
        res.map(|()| (used, out, dec.is_done()))
    };
    match (whole, bytewise) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!("{:?}: whole {a:?} bytewise {b:?}", String::from_utf8_lossy(data)),
    }
    let text = String::from_utf8_lossy(data);
    for c in split_challenges(&text) {
        assert!(text.contains(c));
    }
    if let Ok(u) = Url::parse(&text) {
        assert_eq!(Url::parse(&u.to_string()).unwrap(), u);
    }
    let mut jar = CookieJar::new();
    let now = SystemTime::now();
    jar.store(&text, "acs.example.net", "/cwmp", now);
    let _ = jar.header_value("acs.example.net", "/cwmp", true, now);
    let _ = Basic::parse(&text);
    let mut server = DigestServer::new("r").unwrap();
    let _ = server.verify_value(
        &text,
        "GET",
        "/",
        &Credentials {
            username: "u".into(),
            password: "p".into(),
        },
        Instant::now(),
    );
}

#[test]
fn mutation_loop_never_panics() {
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    for _ in 0..100_000 {
        let mut input = SEEDS[rng.below(SEEDS.len())].to_vec();
        mutate(&mut rng, &mut input);
        check(&input);
    }
    for seed in SEEDS {
        check(seed);
    }
}
