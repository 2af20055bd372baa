//! Worked examples of the RFCs, round trips and hostile input.
//!
//! Expected values not printed in an RFC were computed independently of
//! this crate, with `openssl dgst -md5` / `-sha256` / `-sha512-256` over
//! the RFC's A1, A2 and request-digest strings.

use sipdigest::{
    respond, strongest, Algorithm, Authorization, Challenge, Credentials, DigestError, MAX_CHALLENGE_LEN,
};

// RFC 7616 §3.9.1 (note its nonce: "...URrv/xwf94BcCAzFZH4GiTo0v").
const R7616_REALM: &str = "http-auth@example.org";
const R7616_NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
const R7616_OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
const R7616_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

fn mufasa() -> Credentials {
    Credentials {
        username: "Mufasa".into(),
        password: "Circle of Life".into(),
    }
}

fn rfc7616_challenge(alg: &str) -> Challenge {
    Challenge::parse(&format!(
        "Digest\r\n realm=\"{R7616_REALM}\",\r\n qop=\"auth, auth-int\",\r\n algorithm={alg},\r\n \
         nonce=\"{R7616_NONCE}\",\r\n opaque=\"{R7616_OPAQUE}\""
    ))
    .unwrap()
}

fn response_of(header: &str) -> String {
    Authorization::parse(header).unwrap().response
}

#[test]
fn rfc7616_md5_and_sha256() {
    let md5 = rfc7616_challenge("MD5");
    assert_eq!(md5.algorithm, Algorithm::Md5);
    assert_eq!(md5.qop, ["auth", "auth-int"]);
    assert_eq!(md5.opaque.as_deref(), Some(R7616_OPAQUE));
    let r = respond(&md5, &mufasa(), "GET", "/dir/index.html", 1, R7616_CNONCE).unwrap();
    assert_eq!(response_of(&r.header_value), "8ca523f5e9506fed4657c9700eebdbec");
    assert_eq!(
        r.header_value,
        format!(
            "Digest username=\"Mufasa\", realm=\"{R7616_REALM}\", nonce=\"{R7616_NONCE}\", \
             uri=\"/dir/index.html\", response=\"8ca523f5e9506fed4657c9700eebdbec\", algorithm=MD5, \
             cnonce=\"{R7616_CNONCE}\", qop=auth, nc=00000001, opaque=\"{R7616_OPAQUE}\""
        )
    );

    let sha = rfc7616_challenge("SHA-256");
    let r = respond(&sha, &mufasa(), "GET", "/dir/index.html", 1, R7616_CNONCE).unwrap();
    assert_eq!(
        response_of(&r.header_value),
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    );
    assert!(r.header_value.contains(", algorithm=SHA-256, "));
}

#[test]
fn sha512_256_and_sess_variants() {
    // openssl dgst -sha512-256 over the same inputs as RFC 7616 §3.9.1.
    let c = rfc7616_challenge("SHA-512-256");
    let r = respond(&c, &mufasa(), "GET", "/dir/index.html", 1, R7616_CNONCE).unwrap();
    assert_eq!(
        response_of(&r.header_value),
        "430d05014cecc49cab6fbe03176d41a1da86cbfe24a16580e22aaad928d960d0"
    );
    let c = rfc7616_challenge("sha-512-256-SESS");
    assert_eq!(c.algorithm, Algorithm::Sha512_256Sess);
    let r = respond(&c, &mufasa(), "GET", "/dir/index.html", 1, R7616_CNONCE).unwrap();
    assert_eq!(
        response_of(&r.header_value),
        "3f2a34f923c38b0fb26dce2fdfc2ce326c23cecf86fbb1444f3e51fbbc2cb92e"
    );
    let c = rfc7616_challenge("SHA-256-sess");
    let r = respond(&c, &mufasa(), "GET", "/dir/index.html", 1, R7616_CNONCE).unwrap();
    assert_eq!(
        response_of(&r.header_value),
        "2fd51b3a77ad75bad6afad6003e818d767133c46d9e2749e7f5232ae1ea3efd7"
    );
    let c = rfc7616_challenge("MD5-sess");
    let r = respond(&c, &mufasa(), "REGISTER", "sip:example.org", 10, R7616_CNONCE).unwrap();
    assert!(r.header_value.contains("nc=0000000a"));
    assert_eq!(response_of(&r.header_value), "8ce2e200c4304c0a832fa0a8903562ff");
}

#[test]
fn rfc2617_example() {
    let c = Challenge::parse(
        "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", \
         nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
    )
    .unwrap();
    assert_eq!(c.algorithm, Algorithm::Md5);
    let creds = Credentials {
        username: "Mufasa".into(),
        password: "Circle Of Life".into(),
    };
    let r = respond(&c, &creds, "GET", "/dir/index.html", 1, "0a4f113b").unwrap();
    let a = Authorization::parse(&r.header_value).unwrap();
    assert_eq!(a.response, "6629fae49393a05397450978507c4ef1");
    assert_eq!(a.opaque.as_deref(), Some("5ccc069c403ebaf9f0171e9517f40e41"));
    assert!(a.verify("Circle Of Life", "GET"));

    // The RFC's own Authorization header, as a server receives it.
    let theirs = Authorization::parse(
        "Digest username=\"Mufasa\",\n realm=\"testrealm@host.com\",\n \
         nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\n uri=\"/dir/index.html\",\n qop=auth,\n \
         nc=00000001,\n cnonce=\"0a4f113b\",\n response=\"6629fae49393a05397450978507c4ef1\",\n \
         opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
    )
    .unwrap();
    assert!(theirs.verify("Circle Of Life", "GET"));
    assert!(!theirs.verify("Circle of Life", "GET"));
    assert!(!theirs.verify("Circle Of Life", "POST"));
}

#[test]
fn rfc2069_without_qop() {
    // openssl: H(H(A1):nonce:H(A2)) with RFC 7616's inputs.
    let c = Challenge::parse(&format!(
        "Digest realm=\"{R7616_REALM}\", nonce=\"{R7616_NONCE}\""
    ))
    .unwrap();
    assert!(c.qop.is_empty());
    let r = respond(&c, &mufasa(), "GET", "/dir/index.html", 1, "ignored").unwrap();
    assert!(!r.header_value.contains("cnonce"));
    assert!(!r.header_value.contains("qop"));
    let a = Authorization::parse(&r.header_value).unwrap();
    assert_eq!(a.response, "7b2cc3b30e75b4777ea31027084363fd");
    assert!(a.verify("Circle of Life", "GET"));

    let sess = Challenge::parse("Digest realm=\"r\", nonce=\"n\", algorithm=MD5-sess").unwrap();
    assert!(matches!(
        respond(&sess, &mufasa(), "GET", "/", 1, "c"),
        Err(DigestError::Malformed(_))
    ));
}

#[test]
fn qop_handling() {
    let c = Challenge::parse("Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"").unwrap();
    assert!(!c.is_supported());
    assert_eq!(
        respond(&c, &mufasa(), "INVITE", "sip:b@x", 1, "c"),
        Err(DigestError::UnsupportedQop("auth-int".into()))
    );
    // Token form, upper case: still auth.
    let c = Challenge::parse("Digest realm=\"r\", nonce=\"n\", qop=AUTH").unwrap();
    assert!(respond(&c, &mufasa(), "INVITE", "sip:b@x", 1, "c")
        .unwrap()
        .header_value
        .contains("qop=auth"));
    assert!(matches!(
        respond(&c, &mufasa(), "INVITE", "sip:b@x", 1, ""),
        Err(DigestError::Malformed(_))
    ));
    assert_eq!(
        Authorization::parse("Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\", qop=auth-int, nc=00000001, cnonce=\"c\""),
        Err(DigestError::UnsupportedQop("auth-int".into()))
    );
    assert_eq!(
        Authorization::parse("Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\", qop=auth, cnonce=\"c\""),
        Err(DigestError::MissingField("nc"))
    );
    assert!(matches!(
        Authorization::parse("Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\", qop=auth, nc=1, cnonce=\"c\""),
        Err(DigestError::Malformed(_))
    ));
}

#[test]
fn challenge_fields() {
    let c = Challenge::parse(
        "digest REALM=\"a \\\"quoted\\\" realm\", nonce=abc123=, stale=TRUE, userhash=true, \
         domain=\"sip:x\", charset=UTF-8, future-param=\"x,y\"",
    )
    .unwrap();
    assert_eq!(c.realm, "a \"quoted\" realm");
    assert_eq!(c.nonce, "abc123=");
    assert!(c.stale && c.userhash);
    assert_eq!(c.opaque, None);
    // Quotes and backslashes are escaped again when echoed.
    let r = respond(&c, &mufasa(), "REGISTER", "sip:x", 1, "c").unwrap();
    assert!(r.header_value.contains(r#"realm="a \"quoted\" realm""#));
    let a = Authorization::parse(&r.header_value).unwrap();
    assert_eq!(a.realm, c.realm);
    assert!(a.verify("Circle of Life", "REGISTER"));
}

#[test]
fn algorithm_tokens() {
    for a in [
        Algorithm::Md5,
        Algorithm::Md5Sess,
        Algorithm::Sha256,
        Algorithm::Sha256Sess,
        Algorithm::Sha512_256,
        Algorithm::Sha512_256Sess,
    ] {
        assert_eq!(a.as_str().parse::<Algorithm>(), Ok(a));
        assert_eq!(a.as_str().to_lowercase().parse::<Algorithm>(), Ok(a));
        assert_eq!(a.to_string(), a.as_str());
    }
    assert_eq!(
        Challenge::parse("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-1"),
        Err(DigestError::UnsupportedAlgorithm("SHA-1".into()))
    );
    // Some servers quote it.
    assert_eq!(
        Challenge::parse("Digest realm=\"r\", nonce=\"n\", algorithm=\"SHA-256\"")
            .unwrap()
            .algorithm,
        Algorithm::Sha256
    );
}

#[test]
fn strongest_follows_rfc8760() {
    let mk = |alg: &str, qop: &str| {
        Challenge::parse(&format!(
            "Digest realm=\"r\", nonce=\"{alg}\", algorithm={alg}{qop}"
        ))
        .unwrap()
    };
    let set = [
        mk("MD5", ""),
        mk("SHA-256", ", qop=\"auth\""),
        mk("SHA-512-256", ", qop=\"auth-int\""),
    ];
    // SHA-512-256 only offers auth-int: not answerable.
    assert_eq!(strongest(&set).unwrap().algorithm, Algorithm::Sha256);
    let set = [mk("MD5", ""), mk("SHA-512-256", ""), mk("SHA-256", "")];
    assert_eq!(strongest(&set).unwrap().algorithm, Algorithm::Sha512_256);
    let set = [mk("MD5", ", qop=\"auth\""), mk("MD5-sess", ", qop=\"auth\"")];
    assert_eq!(strongest(&set).unwrap().nonce, "MD5");
    assert_eq!(strongest(&[]), None);
}

#[test]
fn round_trip_every_algorithm() {
    let creds = Credentials {
        username: "ü\"ser\\".into(),
        password: "p@ss:w\"rd".into(),
    };
    for alg in [
        "MD5",
        "MD5-sess",
        "SHA-256",
        "SHA-256-sess",
        "SHA-512-256",
        "SHA-512-256-sess",
    ] {
        let c = Challenge::parse(&format!(
            "Digest realm=\"sip.example\", nonce=\"{}\", opaque=\"op\", algorithm={alg}, qop=\"auth\"",
            sipdigest::new_cnonce()
        ))
        .unwrap();
        let cnonce = sipdigest::new_cnonce();
        assert_eq!(cnonce.len(), 32);
        let r = respond(
            &c,
            &creds,
            "INVITE",
            "sip:bob@sip.example;transport=tls",
            7,
            &cnonce,
        )
        .unwrap();
        let a = Authorization::parse(&r.header_value).unwrap();
        assert_eq!(a.username, creds.username);
        assert_eq!(a.cnonce.as_deref(), Some(cnonce.as_str()));
        assert_eq!(a.nc.as_deref(), Some("00000007"));
        assert_eq!(a.algorithm, c.algorithm);
        assert!(a.verify(&creds.password, "INVITE"), "{alg}");
        assert!(!a.verify(&creds.password, "REGISTER"), "{alg}");
        assert!(!a.verify("p@ss:w\"rD", "INVITE"), "{alg}");
        // Upper-case hex is accepted, a truncated response is not.
        let mut upper = a.clone();
        upper.response = a.response.to_uppercase();
        assert!(upper.verify(&creds.password, "INVITE"));
        let mut short = a.clone();
        short.response.pop();
        assert!(!short.verify(&creds.password, "INVITE"));
    }
}

#[test]
fn debug_redacts_password() {
    let d = format!(
        "{:?}",
        Credentials {
            username: "alice".into(),
            password: "hunter2".into()
        }
    );
    assert!(d.contains("alice"));
    assert!(!d.contains("hunter2"));
}

#[test]
fn refuses_injection() {
    let c = Challenge::parse("Digest realm=\"r\", nonce=\"n\", qop=\"auth\"").unwrap();
    let bad = Credentials {
        username: "a\r\nVia: evil".into(),
        password: "x".into(),
    };
    assert!(respond(&c, &bad, "INVITE", "sip:x", 1, "c").is_err());
    assert!(respond(&c, &mufasa(), "INVITE", "sip:x\r\nX: y", 1, "c").is_err());
    assert!(respond(&c, &mufasa(), "INV ITE", "sip:x", 1, "c").is_err());
    assert!(respond(&c, &mufasa(), "INVITE", "sip:x", 1, "c\"\n").is_err());
}

#[test]
fn malformed_challenges() {
    let malformed = |s: &str| matches!(Challenge::parse(s), Err(DigestError::Malformed(_)));
    assert!(malformed("Digest realm=\"unterminated, nonce=\"n\""));
    assert!(malformed("Digest realm=\"r\", nonce=\"n\\"));
    assert!(malformed("Basic realm=\"r\""));
    assert!(malformed(""));
    assert!(malformed("Digest realm=\"r\" nonce=\"n\""));
    assert!(malformed("Digest realm=\"r\", realm=\"s\", nonce=\"n\""));
    assert!(malformed("Digest realm=\"r\", nonce="));
    assert!(malformed("Digest realm=\"r\", nonce=\"n\", Digest realm=\"x\""));
    assert!(malformed("Digest realm=\"r\u{1}\", nonce=\"n\""));
    assert!(malformed("Digestrealm=\"r\", nonce=\"n\""));
    assert!(malformed(&format!(
        "Digest {}realm=\"r\", nonce=\"n\"",
        "a=b, ".repeat(40)
    )));
    assert_eq!(
        Challenge::parse("Digest nonce=\"n\""),
        Err(DigestError::MissingField("realm"))
    );
    assert_eq!(
        Challenge::parse("Digest realm=\"r\""),
        Err(DigestError::MissingField("nonce"))
    );
    assert_eq!(
        Challenge::parse("Digest"),
        Err(DigestError::MissingField("realm"))
    );
    let huge = format!("Digest realm=\"{}\", nonce=\"n\"", "r".repeat(MAX_CHALLENGE_LEN));
    assert_eq!(Challenge::parse(&huge), Err(DigestError::TooLong));
    assert!(Authorization::parse("Digest username*=UTF-8''x, realm=\"r\"").is_err());
    for e in [
        DigestError::Malformed("x".into()),
        DigestError::UnsupportedAlgorithm("x".into()),
        DigestError::UnsupportedQop("x".into()),
        DigestError::TooLong,
        DigestError::MissingField("realm"),
    ] {
        assert!(!e.to_string().is_empty());
    }
}

use mutation::Rng;

#[test]
fn mutations_never_panic() {
    let samples = [
        format!(
            "Digest realm=\"{R7616_REALM}\", qop=\"auth, auth-int\", algorithm=SHA-256, \
             nonce=\"{R7616_NONCE}\", opaque=\"{R7616_OPAQUE}\""
        ),
        "Digest realm=\"a\\\"b\", nonce=abc, stale=true, userhash=false, algorithm=MD5-sess, qop=auth".into(),
        respond(
            &rfc7616_challenge("SHA-512-256"),
            &mufasa(),
            "GET",
            "/dir/index.html",
            1,
            R7616_CNONCE,
        )
        .unwrap()
        .header_value,
    ];
    let alphabet = b"\"\\,= \t\r\nDigestrealmnonceqopauth-int\x00\xff\xc3";
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let creds = mufasa();
    for round in 0..30_000 {
        let mut bytes = samples[round % samples.len()].clone().into_bytes();
        for _ in 0..1 + rng.below(6) {
            let at = rng.below(bytes.len() + 1);
            match rng.below(4) {
                0 if at < bytes.len() => {
                    bytes.remove(at);
                }
                1 if at < bytes.len() => bytes[at] = alphabet[rng.below(alphabet.len())],
                2 => bytes.insert(at, alphabet[rng.below(alphabet.len())]),
                _ => bytes.truncate(at),
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(c) = Challenge::parse(&text) {
            let _ = respond(&c, &creds, "REGISTER", "sip:x", round as u32, "cn");
            let _ = strongest(std::slice::from_ref(&c));
        }
        if let Ok(a) = Authorization::parse(&text) {
            let _ = a.verify("pw", "GET");
        }
    }
}
