//! `WWW-Authenticate`, `Proxy-Authenticate` and `Authorization` values
//! come from the network: any text must parse or be refused with a
//! `DigestError`, never panic. A parsed challenge must either be
//! answered or refused cleanly, and its answer must parse back as an
//! `Authorization` that verifies with the same password and method and
//! fails with another password. A parsed authorization must verify
//! without panicking.
//!
//! Input: the header value (UTF-8; anything else is skipped).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipdigest::{respond, strongest, Authorization, Challenge, Credentials};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(auth) = Authorization::parse(s) {
        let _ = auth.verify("Circle of Life", "INVITE");
    }
    let challenge = match Challenge::parse(s) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let creds = Credentials {
        username: "Mufasa".into(),
        password: "Circle of Life".into(),
    };
    assert!(!format!("{creds:?}").contains("Circle"));
    let picked = strongest(std::slice::from_ref(&challenge));
    assert_eq!(picked.is_some(), challenge.is_supported());
    for method in ["REGISTER", "INVITE"] {
        let Ok(resp) = respond(&challenge, &creds, method, "sip:bob@example.org", 1, "0a4f113b") else {
            continue;
        };
        let auth = Authorization::parse(&resp.header_value)
            .unwrap_or_else(|e| panic!("{s:?} -> {:?}: {e}", resp.header_value));
        assert_eq!(auth.realm, challenge.realm);
        assert_eq!(auth.nonce, challenge.nonce);
        assert_eq!(auth.opaque, challenge.opaque);
        assert!(auth.verify(&creds.password, method), "{s:?}");
        assert!(!auth.verify("circle of life", method), "{s:?}");
    }
});
