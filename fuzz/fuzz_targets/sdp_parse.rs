//! Session descriptions come from the network in INVITEs and their
//! answers: any text must parse or be refused with an `SdpError`, never
//! panic. A parsed description must write back to text that parses to
//! the same description (a fixed point after one round). Answering it,
//! over secure and insecure signalling and with each SRTP policy, must
//! succeed or fail cleanly; a produced answer must parse, be accepted
//! by `check_answer` against the offer with the same codec and the same
//! keys seen from the other side, and never show a key in `Debug`.
//!
//! Input: the SDP text (UTF-8; anything else is skipped).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sdp::{answer, check_answer, AnswerOptions, Codec, SdpError, Session, SrtpPolicy, MAX_SDP_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let offer = match Session::parse(text) {
        Ok(s) => s,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let out = offer.to_string();
    // LF-only input grows by the CRs written back and may pass the bound.
    if out.len() <= MAX_SDP_LEN {
        let again = Session::parse(&out).unwrap_or_else(|e| panic!("{text:?} -> {out:?}: {e}"));
        assert_eq!(again.to_string(), out);
    }
    let _ = format!("{offer:?}");
    for c in offer.media.iter().flat_map(|m| m.crypto()) {
        assert_eq!(c.key_salt.len(), c.suite.key_len() + c.suite.salt_len());
    }
    for secure in [false, true] {
        for srtp in [SrtpPolicy::Off, SrtpPolicy::Optional, SrtpPolicy::Mandatory] {
            let opts = AnswerOptions {
                address: "192.0.2.1".parse().unwrap(),
                port: 40000,
                session_id: 1,
                codecs: Codec::defaults(),
                srtp,
            };
            let (ans, neg) = match answer(&offer, &opts, secure) {
                Ok(r) => r,
                Err(e) => {
                    let _ = e.to_string();
                    continue;
                }
            };
            if !secure {
                assert!(neg.srtp.is_none());
            }
            if let Some((ours, _)) = &neg.srtp {
                let key = ours.to_string();
                let key = key.split("inline:").nth(1).unwrap();
                assert!(!format!("{neg:?}{ans:?}").contains(key));
            }
            let ans = match Session::parse(&ans.to_string()) {
                Ok(a) => a,
                // The answer may be a little longer than a maximal offer.
                Err(SdpError::TooLarge) => continue,
                Err(e) => panic!("{text:?}: answer does not parse: {e}"),
            };
            let back = check_answer(&offer, &ans).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(back.codec.payload_type, neg.codec.payload_type);
            assert_eq!(back.remote_port, opts.port);
            assert_eq!(back.srtp.map(|(o, t)| (t, o)), neg.srtp);
        }
    }
});
