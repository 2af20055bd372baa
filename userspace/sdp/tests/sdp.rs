//! Real-world shaped descriptions, offer/answer in both directions, SDES
//! rules and hostile input.

use sdp::{
    answer, check_answer, offer, AnswerOptions, Codec, Crypto, CryptoSuite, Direction, OfferOptions,
    SdpError, Session, SrtpPolicy, MAX_SDP_LEN,
};

// 30, 28 and 44 bytes: AES_CM_128 (16+14), AEAD_AES_128_GCM (16+12),
// AEAD_AES_256_GCM (32+12).
const KEY30: &str = "CzBVep/E6Q4zWH2ix+wRNluApcrvFDleg6jN8hc8";
const KEY28: &str = "CzBVep/E6Q4zWH2ix+wRNluApcrvFDleg6jN8g==";
const KEY44: &str = "CzBVep/E6Q4zWH2ix+wRNluApcrvFDleg6jN8hc8YYar0PUaP2SJrtP4HUI=";
const KEY29: &str = "CzBVep/E6Q4zWH2ix+wRNluApcrvFDleg6jN8hc=";
const KEY31: &str = "CzBVep/E6Q4zWH2ix+wRNluApcrvFDleg6jN8hc8YQ==";

/// A baresip call: SAVP audio with its two SDES lines, plus video.
fn baresip(proto: &str) -> String {
    format!(
        "v=0\r\n\
         o=- 1394720183 2050286343 IN IP4 192.168.1.100\r\n\
         s=-\r\n\
         c=IN IP4 192.168.1.100\r\n\
         t=0 0\r\n\
         a=tool:baresip 3.10.1\r\n\
         m=audio 10100 {proto} 96 0 8 101\r\n\
         b=AS:128\r\n\
         a=rtpmap:96 opus/48000/2\r\n\
         a=fmtp:96 stereo=1;sprop-stereo=1\r\n\
         a=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\n\
         a=fmtp:101 0-15\r\n\
         a=rtcp-rsize\r\n\
         a=sendrecv\r\n\
         a=label:1\r\n\
         a=ssrc:3735928559 cname:ab1e5f2c-0e2f-4a4f-9b0c-2b1a3c4d5e6f\r\n\
         a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{KEY30}\r\n\
         a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:{KEY30}\r\n\
         a=ptime:20\r\n\
         m=video 10102 {proto} 100\r\n\
         a=rtpmap:100 H264/90000\r\n\
         a=fmtp:100 packetization-mode=0;profile-level-id=42e01f\r\n\
         a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{KEY30}\r\n"
    )
}

/// Kamailio in front of rtpengine, plain RTP, session-level direction.
const KAMAILIO: &str = "v=0\r\n\
o=root 3815398765 3815398766 IN IP4 203.0.113.5\r\n\
s=Kamailio Media Gateway\r\n\
c=IN IP4 203.0.113.5\r\n\
b=CT:384\r\n\
t=0 0\r\n\
a=sendonly\r\n\
m=audio 30000 RTP/AVP 18 8 0 101\r\n\
a=rtpmap:18 G729/8000\r\n\
a=fmtp:18 annexb=no\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=rtcp:30001\r\n\
a=ptime:20\r\n";

fn answer_opts(srtp: SrtpPolicy) -> AnswerOptions {
    AnswerOptions {
        address: "10.0.0.2".parse().unwrap(),
        port: 4000,
        session_id: 99,
        codecs: Codec::defaults(),
        srtp,
    }
}

fn offer_opts(srtp: SrtpPolicy) -> OfferOptions {
    OfferOptions {
        address: "2001:db8::7".parse().unwrap(),
        port: 5004,
        session_id: 1_700_000_000,
        codecs: Codec::defaults(),
        srtp,
    }
}

fn reparse(s: &Session) -> Session {
    let text = s.to_string();
    assert!(text.ends_with("\r\n"));
    assert!(!text.replace("\r\n", "").contains('\n'));
    Session::parse(&text).unwrap()
}

#[test]
fn parses_baresip() {
    let s = Session::parse(&baresip("RTP/SAVP")).unwrap();
    assert_eq!(s.origin.username, "-");
    assert_eq!(s.origin.session_id, 1394720183);
    assert_eq!(s.origin.session_version, 2050286343);
    assert_eq!(s.origin.address, "192.168.1.100");
    assert_eq!(s.connection.as_ref().unwrap().address, "192.168.1.100");
    assert_eq!(s.media.len(), 2);
    let a = &s.media[0];
    assert_eq!(
        (a.kind.as_str(), a.port, a.proto.as_str()),
        ("audio", 10100, "RTP/SAVP")
    );
    assert_eq!(a.formats, ["96", "0", "8", "101"]);
    assert_eq!(a.rtpmap("96"), Some("opus/48000/2"));
    assert_eq!(a.rtpmap("7"), None);
    assert_eq!(a.fmtp("101"), Some("0-15"));
    assert_eq!(a.direction(), Direction::SendRecv);
    assert_eq!(a.telephone_event(), Some(101));
    let keys = a.crypto();
    assert_eq!(keys.len(), 2);
    assert_eq!(
        (keys[0].tag, keys[0].suite),
        (1, CryptoSuite::AesCm128HmacSha1_80)
    );
    assert_eq!(
        (keys[1].tag, keys[1].suite),
        (2, CryptoSuite::AesCm128HmacSha1_32)
    );
    assert_eq!(keys[0].key().len(), 16);
    assert_eq!(keys[0].salt().len(), 14);
    assert_eq!(s.audio_index(), Some(0));
    // b= in a media section is dropped; everything else comes back.
    let again = reparse(&s);
    assert_eq!(again, s);
    assert_eq!(s.to_string(), baresip("RTP/SAVP").replace("b=AS:128\r\n", ""));
}

#[test]
fn kamailio_round_trips_exactly() {
    let s = Session::parse(KAMAILIO).unwrap();
    assert_eq!(s.to_string(), KAMAILIO);
    assert_eq!(s.name, "Kamailio Media Gateway");
    assert_eq!(s.media[0].direction(), Direction::SendRecv);
    assert_eq!(s.direction_of(&s.media[0]), Direction::SendOnly);
    assert_eq!(s.media[0].codec("18").unwrap().name, "G729");
    // LF-only input parses to the same thing.
    assert_eq!(Session::parse(&KAMAILIO.replace("\r\n", "\n")).unwrap(), s);
}

#[test]
fn answers_baresip_savp_over_tls() {
    let o = Session::parse(&baresip("RTP/SAVP")).unwrap();
    let (a, neg) = answer(&o, &answer_opts(SrtpPolicy::Optional), true).unwrap();
    assert_eq!(
        (neg.remote_address.as_str(), neg.remote_port),
        ("192.168.1.100", 10100)
    );
    assert_eq!(
        neg.codec,
        Codec {
            payload_type: 0,
            name: "PCMU".into(),
            clock_rate: 8000
        }
    );
    let (ours, theirs) = neg.srtp.clone().unwrap();
    assert_eq!((ours.tag, ours.suite), (1, CryptoSuite::AesCm128HmacSha1_80));
    assert_eq!(theirs, o.media[0].crypto()[0]);
    assert_ne!(ours.key_salt, theirs.key_salt);

    let a = reparse(&a);
    assert_eq!(a.media.len(), 2);
    let am = &a.media[0];
    assert_eq!((am.port, am.proto.as_str()), (4000, "RTP/SAVP"));
    assert_eq!(am.formats, ["0", "101"]);
    assert_eq!(am.fmtp("101"), Some("0-15"));
    assert_eq!(am.direction(), Direction::SendRecv);
    assert_eq!(am.crypto(), std::slice::from_ref(&ours));
    assert_eq!(a.media[1].port, 0, "video is refused");
    assert_eq!(a.media[1].kind, "video");
    assert_eq!(a.connection.as_ref().unwrap().address, "10.0.0.2");

    // baresip's side of it.
    let theirs_view = check_answer(&o, &a).unwrap();
    assert_eq!(theirs_view.remote_address, "10.0.0.2");
    assert_eq!(theirs_view.remote_port, 4000);
    assert_eq!(theirs_view.codec.payload_type, 0);
    assert_eq!(theirs_view.srtp, Some((theirs, ours)));
}

#[test]
fn sdes_refused_without_tls() {
    let savp = Session::parse(&baresip("RTP/SAVP")).unwrap();
    for policy in [SrtpPolicy::Off, SrtpPolicy::Optional, SrtpPolicy::Mandatory] {
        assert_eq!(
            answer(&savp, &answer_opts(policy), false).unwrap_err(),
            SdpError::SdesNeedsTls
        );
    }
    // Best-effort offer over plain signalling: answered in clear.
    let avp = Session::parse(&baresip("RTP/AVP")).unwrap();
    let (a, neg) = answer(&avp, &answer_opts(SrtpPolicy::Optional), false).unwrap();
    assert_eq!(neg.srtp, None);
    assert!(!a.to_string().contains("crypto"));
    assert_eq!(a.media[0].proto, "RTP/AVP");
    assert_eq!(check_answer(&avp, &a).unwrap().srtp, None);
    assert_eq!(
        answer(&avp, &answer_opts(SrtpPolicy::Mandatory), false).unwrap_err(),
        SdpError::SdesNeedsTls
    );
    // ...and with TLS, best effort becomes SRTP.
    let (_, neg) = answer(&avp, &answer_opts(SrtpPolicy::Optional), true).unwrap();
    assert!(neg.srtp.is_some());
    let (_, neg) = answer(&avp, &answer_opts(SrtpPolicy::Off), true).unwrap();
    assert!(neg.srtp.is_none());

    for policy in [SrtpPolicy::Optional, SrtpPolicy::Mandatory] {
        assert_eq!(
            offer(&offer_opts(policy), false).unwrap_err(),
            SdpError::SdesNeedsTls
        );
    }
    let plain = offer(&offer_opts(SrtpPolicy::Off), false).unwrap();
    assert!(!plain.to_string().contains("crypto"));
}

#[test]
fn crypto_policy_outcomes() {
    let kam = Session::parse(KAMAILIO).unwrap();
    assert_eq!(
        answer(&kam, &answer_opts(SrtpPolicy::Mandatory), true).unwrap_err(),
        SdpError::NoCommonCrypto
    );
    let savp = Session::parse(&baresip("RTP/SAVP")).unwrap();
    assert_eq!(
        answer(&savp, &answer_opts(SrtpPolicy::Off), true).unwrap_err(),
        SdpError::NoCommonCrypto
    );
    // Only unknown suites or lines with session parameters: nothing usable.
    let odd = baresip("RTP/SAVP")
        .replace("1 AES_CM_128_HMAC_SHA1_80", "1 AES_256_CM_HMAC_SHA1_80")
        .replace(
            &format!("2 AES_CM_128_HMAC_SHA1_32 inline:{KEY30}"),
            &format!("2 AES_CM_128_HMAC_SHA1_32 inline:{KEY30} UNENCRYPTED_SRTP"),
        );
    let odd = Session::parse(&odd).unwrap();
    assert_eq!(
        answer(&odd, &answer_opts(SrtpPolicy::Optional), true).unwrap_err(),
        SdpError::NoCommonCrypto
    );
    // The first usable one is chosen even if it is not the first line.
    let second = baresip("RTP/SAVP").replace("1 AES_CM_128_HMAC_SHA1_80", "1 AES_256_CM_HMAC_SHA1_80");
    let (_, neg) = answer(
        &Session::parse(&second).unwrap(),
        &answer_opts(SrtpPolicy::Optional),
        true,
    )
    .unwrap();
    let (ours, _) = neg.srtp.unwrap();
    assert_eq!((ours.tag, ours.suite), (2, CryptoSuite::AesCm128HmacSha1_32));
}

#[test]
fn our_offer_their_answer() {
    for policy in [SrtpPolicy::Off, SrtpPolicy::Optional, SrtpPolicy::Mandatory] {
        let o = offer(&offer_opts(policy), true).unwrap();
        let text = o.to_string();
        assert!(text.starts_with(
            "v=0\r\no=- 1700000000 1700000000 IN IP6 2001:db8::7\r\ns=-\r\nc=IN IP6 2001:db8::7\r\nt=0 0\r\n"
        ));
        let o2 = Session::parse(&text).unwrap();
        assert_eq!(o2, o);
        let m = &o.media[0];
        assert_eq!(m.formats, ["0", "8", "101"]);
        assert_eq!(m.rtpmap("101"), Some("telephone-event/8000"));
        assert_eq!(m.fmtp("101"), Some("0-16"));
        assert_eq!(
            m.proto,
            if policy == SrtpPolicy::Mandatory {
                "RTP/SAVP"
            } else {
                "RTP/AVP"
            }
        );
        let keys = m.crypto();
        if policy == SrtpPolicy::Off {
            assert!(keys.is_empty());
        } else {
            assert_eq!(
                keys.iter().map(|k| (k.tag, k.suite)).collect::<Vec<_>>(),
                [
                    (1, CryptoSuite::AesCm128HmacSha1_80),
                    (2, CryptoSuite::AesCm128HmacSha1_32)
                ]
            );
        }

        // The far end prefers PCMA and sends only recvonly.
        let mut far = answer_opts(SrtpPolicy::Optional);
        far.codecs.swap(0, 1);
        let (a, far_neg) = answer(&o2, &far, true).unwrap();
        assert_eq!(far_neg.codec.name, "PCMU", "the offer's order wins");
        let a = reparse(&a);
        let neg = check_answer(&o, &a).unwrap();
        assert_eq!((neg.remote_address.as_str(), neg.remote_port), ("10.0.0.2", 4000));
        assert_eq!(
            neg.codec,
            Codec {
                payload_type: 0,
                name: "PCMU".into(),
                clock_rate: 8000
            }
        );
        assert_eq!(a.media[0].telephone_event(), Some(101));
        match (policy, &neg.srtp, &far_neg.srtp) {
            (SrtpPolicy::Off, None, None) => {}
            (_, Some((ours, theirs)), Some((far_ours, far_theirs))) => {
                assert_eq!(ours, far_theirs);
                assert_eq!(theirs, far_ours);
                assert_eq!(ours.tag, 1);
            }
            other => panic!("{policy:?}: {other:?}"),
        }
    }
}

#[test]
fn check_answer_rejects_bad_answers() {
    let o = offer(&offer_opts(SrtpPolicy::Mandatory), true).unwrap();
    let (a, _) = answer(&reparse(&o), &answer_opts(SrtpPolicy::Mandatory), true).unwrap();
    let text = a.to_string();
    let bad = |t: &str| check_answer(&o, &Session::parse(t).unwrap()).unwrap_err();

    assert_eq!(
        bad(&text.replace("a=crypto:1 ", "a=crypto:7 ")),
        SdpError::BadCrypto("tag 7 was not offered".into())
    );
    assert!(matches!(
        bad(&text.replace("1 AES_CM_128_HMAC_SHA1_80", "1 AES_CM_128_HMAC_SHA1_32")),
        SdpError::BadCrypto(_)
    ));
    let crypto_line = text.lines().find(|l| l.starts_with("a=crypto")).unwrap();
    assert_eq!(
        bad(&text.replace(&format!("{crypto_line}\r\n"), "")),
        SdpError::NoCommonCrypto
    );
    assert!(matches!(
        bad(&text.replace(crypto_line, &format!("{crypto_line}\r\n{crypto_line}"))),
        SdpError::BadCrypto(_)
    ));
    assert!(matches!(
        bad(&text.replace(crypto_line, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAA")),
        SdpError::BadCrypto(_)
    ));
    assert_eq!(bad(&text.replace("m=audio 4000", "m=audio 0")), SdpError::NoAudio);
    assert_eq!(
        bad(&text.replace(" 0 101\r\n", " 9 101\r\n")),
        SdpError::NoCommonCodec
    );
    assert!(matches!(
        bad(&text.replace("RTP/SAVP", "RTP/AVP")),
        SdpError::Syntax { .. }
    ));
    assert!(matches!(
        bad(&format!("{text}m=video 0 RTP/AVP 31\r\n")),
        SdpError::Syntax { .. }
    ));

    // Keys in an answer to a plain offer.
    let plain = offer(&offer_opts(SrtpPolicy::Off), true).unwrap();
    let (pa, _) = answer(&plain, &answer_opts(SrtpPolicy::Off), true).unwrap();
    let keyed = format!(
        "{pa}a=crypto:{crypto_line_value}\r\n",
        crypto_line_value = &crypto_line[9..]
    );
    assert!(matches!(
        check_answer(&plain, &Session::parse(&keyed).unwrap()),
        Err(SdpError::BadCrypto(_))
    ));
}

#[test]
fn negotiation_failures() {
    let g729_only = KAMAILIO.replace("m=audio 30000 RTP/AVP 18 8 0 101", "m=audio 30000 RTP/AVP 18 101");
    let s = Session::parse(&g729_only).unwrap();
    assert_eq!(
        answer(&s, &answer_opts(SrtpPolicy::Off), true).unwrap_err(),
        SdpError::NoCommonCodec
    );
    let video_only = Session::parse(
        "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\n\
         m=audio 0 RTP/AVP 0\r\nm=audio 5002 UDP/TLS/RTP/SAVPF 0\r\n",
    )
    .unwrap();
    assert_eq!(
        answer(&video_only, &answer_opts(SrtpPolicy::Off), true).unwrap_err(),
        SdpError::NoAudio
    );

    // A second audio stream is refused; direction and ptime follow the offer.
    let two = format!("{KAMAILIO}m=audio 30002 RTP/AVP 0\r\n");
    let (a, neg) = answer(
        &Session::parse(&two).unwrap(),
        &answer_opts(SrtpPolicy::Off),
        false,
    )
    .unwrap();
    assert_eq!(neg.codec.name, "PCMA");
    assert_eq!(neg.codec.payload_type, 8);
    assert_eq!(a.media[0].direction(), Direction::RecvOnly);
    assert_eq!(
        a.media[0]
            .attributes
            .iter()
            .find(|x| x.name == "ptime")
            .unwrap()
            .value
            .as_deref(),
        Some("20")
    );
    assert_eq!(a.media[1].port, 0);

    // "08" is not payload type 8 as far as the answer is concerned.
    let zero = KAMAILIO.replace("RTP/AVP 18 8 0 101", "RTP/AVP 08 101");
    assert_eq!(
        answer(
            &Session::parse(&zero).unwrap(),
            &answer_opts(SrtpPolicy::Off),
            false
        )
        .unwrap_err(),
        SdpError::NoCommonCodec
    );

    let mut bad_codecs = answer_opts(SrtpPolicy::Off);
    bad_codecs.codecs.push(Codec {
        payload_type: 8,
        name: "G722".into(),
        clock_rate: 8000,
    });
    assert!(matches!(
        answer(&Session::parse(KAMAILIO).unwrap(), &bad_codecs, false),
        Err(SdpError::Syntax { .. })
    ));
    let mut injection = offer_opts(SrtpPolicy::Off);
    injection.codecs[0].name = "PCMU/8000\r\na=evil".into();
    assert!(matches!(
        offer(&injection, false),
        Err(SdpError::Syntax { line: 0, .. })
    ));
    let mut dtmf_only = offer_opts(SrtpPolicy::Off);
    dtmf_only.codecs.retain(Codec::is_telephone_event);
    assert_eq!(offer(&dtmf_only, false).unwrap_err(), SdpError::NoCommonCodec);
}

#[test]
fn crypto_key_lengths() {
    let parse = |suite: &str, key: &str| Crypto::parse(&format!("1 {suite} inline:{key}"));
    assert_eq!(
        parse("AES_CM_128_HMAC_SHA1_80", KEY30).unwrap().key_salt.len(),
        30
    );
    assert_eq!(
        parse("AES_CM_128_HMAC_SHA1_32", KEY30).unwrap().key_salt.len(),
        30
    );
    assert_eq!(parse("AEAD_AES_128_GCM", KEY28).unwrap().key_salt.len(), 28);
    assert_eq!(
        parse("AEAD_AES_128_GCM", KEY28.trim_end_matches('='))
            .unwrap()
            .key_salt
            .len(),
        28
    );
    assert_eq!(parse("AEAD_AES_256_GCM", KEY44).unwrap().key_salt.len(), 44);
    for (suite, key) in [
        ("AES_CM_128_HMAC_SHA1_80", KEY29),
        ("AES_CM_128_HMAC_SHA1_80", KEY31),
        ("AES_CM_128_HMAC_SHA1_80", KEY28),
        ("AEAD_AES_128_GCM", KEY30),
        ("AEAD_AES_256_GCM", KEY30),
        ("AES_CM_128_HMAC_SHA1_80", "not base64!"),
    ] {
        let err = parse(suite, key).unwrap_err();
        assert!(matches!(err, SdpError::BadCrypto(_)), "{suite} {key}");
        assert!(!err.to_string().contains(key), "errors never quote the key");
    }
    for suite in [
        CryptoSuite::AesCm128HmacSha1_80,
        CryptoSuite::AesCm128HmacSha1_32,
        CryptoSuite::AeadAes128Gcm,
        CryptoSuite::AeadAes256Gcm,
    ] {
        let c = Crypto::generate(42, suite);
        assert_eq!(c.key_salt.len(), suite.key_len() + suite.salt_len());
        assert_eq!(Crypto::parse(&c.to_string()).unwrap(), c);
        assert_eq!(suite.as_str().parse::<CryptoSuite>(), Ok(suite));
    }
    assert_eq!(CryptoSuite::AeadAes256Gcm.key_len(), 32);

    // RFC 4568 §9.1's line (lifetime and MKI) and its Display.
    let rfc =
        Crypto::parse("1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32")
            .unwrap();
    assert_eq!(rfc.lifetime.as_deref(), Some("2^20"));
    assert_eq!(rfc.mki.as_deref(), Some("1:32"));
    assert_eq!(
        rfc.to_string(),
        "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32"
    );
    let params = Crypto::parse(&format!(
        "3 AES_CM_128_HMAC_SHA1_32 inline:{KEY30}|1:4 KDR=1 UNENCRYPTED_SRTCP"
    ))
    .unwrap();
    assert_eq!(params.session_params, ["KDR=1", "UNENCRYPTED_SRTCP"]);
    assert_eq!(params.lifetime, None);
    for bad in [
        "",
        "1",
        "1 AES_CM_128_HMAC_SHA1_80",
        &format!("x AES_CM_128_HMAC_SHA1_80 inline:{KEY30}"),
        &format!("1234567890 AES_CM_128_HMAC_SHA1_80 inline:{KEY30}"),
        &format!("1 aes_cm_128_hmac_sha1_80 inline:{KEY30}"),
        &format!("1 AES_CM_128_HMAC_SHA1_80 uri:{KEY30}"),
        &format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY30};inline:{KEY30}"),
        &format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY30}|1:4|2^20"),
        &format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY30}|2^99"),
        &format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY30}|1:0"),
    ] {
        assert!(matches!(Crypto::parse(bad), Err(SdpError::BadCrypto(_))), "{bad}");
    }
}

#[test]
fn debug_never_shows_keys() {
    let o = Session::parse(&baresip("RTP/SAVP")).unwrap();
    let (a, neg) = answer(&o, &answer_opts(SrtpPolicy::Mandatory), true).unwrap();
    let (ours, theirs) = neg.srtp.clone().unwrap();
    let b64 = |c: &Crypto| c.to_string().split("inline:").nth(1).unwrap().to_owned();
    for dbg in [
        format!("{o:?}"),
        format!("{a:?}"),
        format!("{neg:?}"),
        format!("{ours:?}"),
        format!("{:?}", o.media[0]),
    ] {
        assert!(!dbg.contains(KEY30), "{dbg}");
        assert!(!dbg.contains(&b64(&ours)), "{dbg}");
        assert!(!dbg.contains(&b64(&theirs)), "{dbg}");
        assert!(!dbg.contains(&format!("{:?}", ours.key_salt)));
    }
    assert!(format!("{ours:?}").contains("<redacted 30 bytes>"));
    assert!(format!("{a:?}").contains("AES_CM_128_HMAC_SHA1_80 <key redacted>"));
    let k = Session::parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nk=clear:secretkey\r\nt=0 0\r\n").unwrap();
    assert!(!format!("{k:?}").contains("secretkey"));
}

#[test]
fn syntax_errors() {
    let err = |t: &str| Session::parse(t).unwrap_err();
    let line = |t: &str| match err(t) {
        SdpError::Syntax { line, .. } => line,
        e => panic!("{t:?}: {e:?}"),
    };
    assert_eq!(line(""), 0);
    assert_eq!(line("v=1\r\n"), 1);
    assert_eq!(line("o=- 1 1 IN IP4 1.2.3.4\r\n"), 1);
    assert_eq!(line("v=0\r\ns=-\r\n"), 2);
    assert_eq!(line("v=0\r\no=- x 1 IN IP4 1.2.3.4\r\ns=-\r\n"), 2);
    assert_eq!(line("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0\r\n"), 4);
    assert_eq!(
        line("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n"),
        5
    );
    assert_eq!(
        line("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.1.1.1\r\nm=audio 5000/2 RTP/AVP 0\r\n"),
        5
    );
    assert_eq!(
        line("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.1.1.1\r\nm=audio 70000 RTP/AVP 0\r\n"),
        5
    );
    assert_eq!(
        line("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.1.1.1\r\nm=audio 7 RTP/AVP\r\n"),
        5
    );
    assert_eq!(line("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nx=1\r\n"), 4);
    assert_eq!(
        line("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=ATM NSAP 1\r\n"),
        4
    );
    assert_eq!(
        line("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.1.1.1\r\nm=audio 7 RTP/AVP 0\r\nt=0 0\r\n"),
        6
    );
    assert_eq!(line("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\na=:x\r\n"), 4);
    assert_eq!(line("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\na=x\ry\r\n"), 4);
    assert_eq!(
        line("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.1.1.1\r\nc=IN IP4 1.1.1.1\r\n"),
        5
    );

    let big = format!(
        "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns={}\r\n",
        "x".repeat(MAX_SDP_LEN)
    );
    assert_eq!(err(&big), SdpError::TooLarge);
    let head = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.1.1.1\r\nt=0 0\r\n";
    assert_eq!(
        err(&format!("{head}{}", "m=audio 0 RTP/AVP 0\r\n".repeat(17))),
        SdpError::TooLarge
    );
    assert!(Session::parse(&format!("{head}{}", "m=audio 0 RTP/AVP 0\r\n".repeat(16))).is_ok());
    assert_eq!(
        err(&format!("{head}m=audio 1 RTP/AVP 0\r\n{}", "a=x\r\n".repeat(65))),
        SdpError::TooLarge
    );
    assert_eq!(
        err(&format!("{head}m=audio 1 RTP/AVP{}\r\n", " 0".repeat(33))),
        SdpError::TooLarge
    );
    for e in [
        SdpError::Syntax {
            line: 3,
            what: "x".into(),
        },
        SdpError::TooLarge,
        SdpError::SdesNeedsTls,
        SdpError::NoCommonCodec,
        SdpError::NoCommonCrypto,
        SdpError::NoAudio,
        SdpError::BadCrypto("x".into()),
    ] {
        assert!(!e.to_string().is_empty());
    }
}

use mutation::Rng;

#[test]
fn mutations_never_panic() {
    let ours = offer(&offer_opts(SrtpPolicy::Optional), true)
        .unwrap()
        .to_string();
    let samples = [baresip("RTP/SAVP"), baresip("RTP/AVP"), KAMAILIO.to_owned(), ours];
    let alphabet = b"\r\n =:/|amcotsv0123456789\x00\xff";
    let mut rng = Rng::new(0x0123_4567_89ab_cdef);
    let mut answered = 0;
    for round in 0..4000 {
        let mut bytes = samples[round % samples.len()].clone().into_bytes();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(bytes.len() + 1);
            match rng.below(5) {
                0 if at < bytes.len() => {
                    bytes.remove(at);
                }
                1 if at < bytes.len() => bytes[at] = alphabet[rng.below(alphabet.len())],
                2 => bytes.insert(at, alphabet[rng.below(alphabet.len())]),
                3 => {
                    // Duplicate a chunk: repeated lines, tags, media.
                    let end = (at + rng.below(80)).min(bytes.len());
                    let chunk = bytes[at..end].to_vec();
                    bytes.splice(at..at, chunk);
                }
                _ => bytes.truncate(at),
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        let Ok(s) = Session::parse(&text) else { continue };
        let out = s.to_string();
        if out.len() > MAX_SDP_LEN {
            // LF-only input grows by the CRs written back.
            continue;
        }
        let again = Session::parse(&out).unwrap_or_else(|e| panic!("{text:?} -> {out:?}: {e}"));
        assert_eq!(again.to_string(), out);
        for secure in [false, true] {
            for policy in [SrtpPolicy::Off, SrtpPolicy::Optional, SrtpPolicy::Mandatory] {
                if let Ok((a, neg)) = answer(&s, &answer_opts(policy), secure) {
                    answered += 1;
                    let a = Session::parse(&a.to_string()).unwrap();
                    let back = check_answer(&s, &a).unwrap_or_else(|e| panic!("{text:?}: {e}"));
                    assert_eq!(back.codec.payload_type, neg.codec.payload_type);
                    assert_eq!(back.srtp.map(|(o, t)| (t, o)), neg.srtp);
                }
            }
        }
    }
    assert!(answered > 100, "{answered}");
}
