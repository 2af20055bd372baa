//! RFC 3264 offer/answer for the gateway's single audio stream, with
//! SDES keys.

use std::net::IpAddr;

use crate::{
    syntax, Attribute, Connection, Crypto, Direction, Media, Origin, SdpError, Session, Timing,
    OFFERED_SUITES,
};

/// The two RTP profiles negotiated; `None` for anything else (DTLS,
/// AVPF...). Gives the canonical spelling.
pub(crate) fn rtp_proto(proto: &str) -> Option<&'static str> {
    if proto.eq_ignore_ascii_case("RTP/AVP") {
        Some("RTP/AVP")
    } else if proto.eq_ignore_ascii_case("RTP/SAVP") {
        Some("RTP/SAVP")
    } else {
        None
    }
}

fn is_savp(proto: &str) -> bool {
    rtp_proto(proto) == Some("RTP/SAVP")
}

/// An RTP payload format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Codec {
    /// RTP payload type, 0 to 127.
    pub payload_type: u8,
    /// Encoding name as in `a=rtpmap` (`PCMU`, `telephone-event`).
    pub name: String,
    /// RTP clock rate in Hz.
    pub clock_rate: u32,
}

impl Codec {
    /// The gateway's default list: PCMU (0), PCMA (8) and
    /// telephone-event (101) for DTMF, all at 8000 Hz.
    pub fn defaults() -> Vec<Codec> {
        vec![
            Codec {
                payload_type: 0,
                name: "PCMU".into(),
                clock_rate: 8000,
            },
            Codec {
                payload_type: 8,
                name: "PCMA".into(),
                clock_rate: 8000,
            },
            Codec {
                payload_type: 101,
                name: "telephone-event".into(),
                clock_rate: 8000,
            },
        ]
    }

    /// Whether this is RFC 4733 telephone-event (DTMF), which rides along
    /// with a voice codec and is never the call's codec.
    pub fn is_telephone_event(&self) -> bool {
        self.name.eq_ignore_ascii_case("telephone-event")
    }

    fn same_as(&self, other: &Codec) -> bool {
        self.name.eq_ignore_ascii_case(&other.name) && self.clock_rate == other.clock_rate
    }
}

/// How SRTP is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SrtpPolicy {
    /// Plain RTP only; offered keys are ignored.
    Off,
    /// Best effort (the DGW's "SecureOptional"): offer `RTP/AVP` with
    /// `a=crypto`, so a peer without SRTP can still answer in clear.
    Optional,
    /// SRTP or no call: offer `RTP/SAVP` with `a=crypto`.
    Mandatory,
}

/// What [`offer`] needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferOptions {
    /// Our RTP address, as put in `o=` and `c=`.
    pub address: IpAddr,
    /// Our RTP port.
    pub port: u16,
    /// Session id, also used as the first session version.
    pub session_id: u64,
    /// Codecs in order of preference.
    pub codecs: Vec<Codec>,
    /// SRTP policy.
    pub srtp: SrtpPolicy,
}

/// What [`answer`] needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerOptions {
    /// Our RTP address, as put in `o=` and `c=`.
    pub address: IpAddr,
    /// Our RTP port.
    pub port: u16,
    /// Session id, also used as the session version.
    pub session_id: u64,
    /// Codecs we accept (the offer's order decides).
    pub codecs: Vec<Codec>,
    /// SRTP policy.
    pub srtp: SrtpPolicy,
}

/// The outcome of offer/answer, for setting up the media path.
///
/// `Debug` is safe to log: [`Crypto`] redacts its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// Where to send RTP (bare address from the far end's `c=`; may be
    /// `0.0.0.0` for an old-style hold).
    pub remote_address: String,
    /// Far end's RTP port.
    pub remote_port: u16,
    /// The voice codec, with the payload type to send and expect.
    pub codec: Codec,
    /// `(ours, theirs)` SDES keys when SRTP was agreed: we encrypt with
    /// ours and decrypt with theirs. Both have the same tag and suite.
    pub srtp: Option<(Crypto, Crypto)>,
}

/// Checks codecs given in options: they end up in SDP lines.
fn check_codecs(codecs: &[Codec]) -> Result<(), SdpError> {
    for c in codecs {
        let name_ok = !c.name.is_empty()
            && c.name.len() <= 32
            && c.name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !name_ok || c.payload_type > 127 || c.clock_rate == 0 {
            return Err(syntax(0, format!("invalid codec {:?}", crate::clip(&c.name))));
        }
        if codecs.iter().filter(|o| o.payload_type == c.payload_type).count() > 1 {
            return Err(syntax(0, format!("payload type {} used twice", c.payload_type)));
        }
    }
    if !codecs.iter().any(|c| !c.is_telephone_event()) {
        return Err(SdpError::NoCommonCodec);
    }
    Ok(())
}

fn rtpmap(c: &Codec) -> Attribute {
    Attribute::new(
        "rtpmap",
        format!("{} {}/{}", c.payload_type, c.name, c.clock_rate),
    )
}

fn skeleton(address: IpAddr, session_id: u64, media: Vec<Media>) -> Session {
    let address = address.to_string();
    Session {
        origin: Origin {
            username: "-".into(),
            session_id,
            session_version: session_id,
            address: address.clone(),
        },
        name: "-".into(),
        connection: Some(Connection { address }),
        attributes: Vec::new(),
        media,
        timing: Timing::default(),
        extra: Vec::new(),
    }
}

/// Builds our offer: one audio stream with `opts.codecs`, and with
/// `a=crypto` lines for [`OFFERED_SUITES`] unless the policy is
/// [`SrtpPolicy::Off`] (`RTP/SAVP` when [`SrtpPolicy::Mandatory`],
/// `RTP/AVP` otherwise).
///
/// Errors: [`SdpError::SdesNeedsTls`] for an SRTP policy over insecure
/// signalling; [`SdpError::NoCommonCodec`] when there is no voice codec;
/// [`SdpError::Syntax`] (line 0) for an invalid or duplicate codec.
pub fn offer(opts: &OfferOptions, signalling_secure: bool) -> Result<Session, SdpError> {
    if opts.srtp != SrtpPolicy::Off && !signalling_secure {
        return Err(SdpError::SdesNeedsTls);
    }
    check_codecs(&opts.codecs)?;
    let mut attributes: Vec<Attribute> = opts.codecs.iter().map(rtpmap).collect();
    for c in opts.codecs.iter().filter(|c| c.is_telephone_event()) {
        attributes.push(Attribute::new("fmtp", format!("{} 0-16", c.payload_type)));
    }
    attributes.push(Attribute::new("ptime", "20"));
    attributes.push(Attribute::flag(Direction::SendRecv.as_str()));
    if opts.srtp != SrtpPolicy::Off {
        for (tag, suite) in (1..).zip(OFFERED_SUITES) {
            attributes.push(Attribute::new(
                "crypto",
                Crypto::try_generate(tag, suite)?.to_string(),
            ));
        }
    }
    let media = Media {
        kind: "audio".into(),
        port: opts.port,
        proto: if opts.srtp == SrtpPolicy::Mandatory {
            "RTP/SAVP"
        } else {
            "RTP/AVP"
        }
        .into(),
        formats: opts.codecs.iter().map(|c| c.payload_type.to_string()).collect(),
        connection: None,
        attributes,
    };
    Ok(skeleton(opts.address, opts.session_id, vec![media]))
}

/// Answers a peer's offer.
///
/// The negotiated stream is the offer's first active `RTP/AVP` or
/// `RTP/SAVP` audio line ([`Session::audio_index`]); every other `m=`
/// line is rejected with port 0. The codec is the first offered voice
/// codec found in `opts.codecs` (same name and clock rate), answered with
/// the offer's payload type, plus telephone-event if both have it. The
/// direction mirrors the offer's (`sendonly` gets `recvonly`).
///
/// SRTP, with `secure` = `signalling_secure`:
///
/// | offer | policy | outcome |
/// |---|---|---|
/// | `RTP/SAVP`, not secure | any | [`SdpError::SdesNeedsTls`] |
/// | any, not secure | `Mandatory` | [`SdpError::SdesNeedsTls`] |
/// | `RTP/SAVP` | `Off` | [`SdpError::NoCommonCrypto`] |
/// | `RTP/AVP` (with or without `a=crypto`), not secure | `Off`, `Optional` | plain RTP |
/// | with `a=crypto`, secure | `Optional`, `Mandatory` | first usable offered line: same tag and suite, a fresh key of ours |
/// | no usable `a=crypto` | `Mandatory`, or `RTP/SAVP` | [`SdpError::NoCommonCrypto`] |
/// | no usable `a=crypto`, `RTP/AVP` | `Off`, `Optional` | plain RTP |
///
/// "Usable" means valid ([`Media::crypto`]) and without session
/// parameters. Other errors: [`SdpError::NoAudio`],
/// [`SdpError::NoCommonCodec`], and [`SdpError::Syntax`] (line 0) for
/// invalid options or an audio line without a connection address.
pub fn answer(
    offer: &Session,
    opts: &AnswerOptions,
    signalling_secure: bool,
) -> Result<(Session, Negotiated), SdpError> {
    check_codecs(&opts.codecs)?;
    let idx = offer.audio_index().ok_or(SdpError::NoAudio)?;
    let om = &offer.media[idx];
    let conn = offer
        .connection_of(om)
        .ok_or_else(|| syntax(0, "offered audio has no c="))?;

    // Voice codec: the offerer's order, as RFC 3264 §6.1 suggests.
    let mut chosen = None;
    for pt in &om.formats {
        let Some(theirs) = om.codec(pt) else { continue };
        if theirs.is_telephone_event() {
            continue;
        }
        if let Some(ours) = opts.codecs.iter().find(|c| c.same_as(&theirs)) {
            chosen = Some(Codec {
                payload_type: theirs.payload_type,
                ..ours.clone()
            });
            break;
        }
    }
    let codec = chosen.ok_or(SdpError::NoCommonCodec)?;
    let dtmf = om.formats.iter().filter_map(|pt| om.codec(pt)).find(|theirs| {
        theirs.is_telephone_event()
            && opts
                .codecs
                .iter()
                .any(|c| c.is_telephone_event() && c.same_as(theirs))
    });

    let proto = rtp_proto(&om.proto).unwrap_or("RTP/AVP");
    let savp = is_savp(proto);
    if !signalling_secure && (savp || opts.srtp == SrtpPolicy::Mandatory) {
        return Err(SdpError::SdesNeedsTls);
    }
    if savp && opts.srtp == SrtpPolicy::Off {
        return Err(SdpError::NoCommonCrypto);
    }
    // Keys offered over plain signalling are public: never use them.
    let theirs = if signalling_secure && opts.srtp != SrtpPolicy::Off {
        om.crypto().into_iter().find(|c| c.session_params.is_empty())
    } else {
        None
    };
    let srtp = match theirs {
        Some(theirs) => Some((Crypto::try_generate(theirs.tag, theirs.suite)?, theirs)),
        None if savp || opts.srtp == SrtpPolicy::Mandatory => return Err(SdpError::NoCommonCrypto),
        None => None,
    };

    let mut formats = vec![codec.payload_type.to_string()];
    let mut attributes = vec![rtpmap(&codec)];
    if let Some(te) = &dtmf {
        formats.push(te.payload_type.to_string());
        attributes.push(rtpmap(te));
        let pt = te.payload_type.to_string();
        let events = om.fmtp(&pt).unwrap_or("0-15");
        attributes.push(Attribute::new("fmtp", format!("{pt} {events}")));
    }
    if let Some(ptime) = om
        .attributes
        .iter()
        .find(|a| a.name == "ptime")
        .and_then(|a| a.value.clone())
    {
        attributes.push(Attribute::new("ptime", ptime));
    }
    attributes.push(Attribute::flag(offer.direction_of(om).answer().as_str()));
    if let Some((ours, _)) = &srtp {
        attributes.push(Attribute::new("crypto", ours.to_string()));
    }

    let media = offer
        .media
        .iter()
        .enumerate()
        .map(|(i, m)| {
            if i == idx {
                Media {
                    kind: m.kind.clone(),
                    port: opts.port,
                    proto: proto.into(),
                    formats: formats.clone(),
                    connection: None,
                    attributes: attributes.clone(),
                }
            } else {
                // RFC 3264 §6: a refused stream keeps its m= line, port 0.
                Media {
                    kind: m.kind.clone(),
                    port: 0,
                    proto: m.proto.clone(),
                    formats: m.formats.clone(),
                    connection: None,
                    attributes: Vec::new(),
                }
            }
        })
        .collect();
    let negotiated = Negotiated {
        remote_address: conn.address.clone(),
        remote_port: om.port,
        codec,
        srtp,
    };
    Ok((skeleton(opts.address, opts.session_id, media), negotiated))
}

/// Checks the answer to our `offer` and extracts the call's parameters.
///
/// The answer must have as many `m=` lines as the offer and accept the
/// offer's audio stream (else [`SdpError::NoAudio`]) with the same
/// transport; its first format that we offered and that is not
/// telephone-event is the codec (else [`SdpError::NoCommonCodec`]).
///
/// If we offered keys, an answer with `a=crypto` must carry exactly one,
/// valid, whose tag is one we offered with the same suite (else
/// [`SdpError::BadCrypto`]); an answer without any is plain RTP, unless
/// we offered `RTP/SAVP` ([`SdpError::NoCommonCrypto`]). Keys in an
/// answer to an offer without any are [`SdpError::BadCrypto`].
pub fn check_answer(offer: &Session, answer: &Session) -> Result<Negotiated, SdpError> {
    if answer.media.len() != offer.media.len() {
        return Err(syntax(
            0,
            format!(
                "answer has {} m= lines, offer {}",
                answer.media.len(),
                offer.media.len()
            ),
        ));
    }
    let idx = offer.audio_index().ok_or(SdpError::NoAudio)?;
    let (om, am) = (&offer.media[idx], &answer.media[idx]);
    if am.port == 0 || !am.kind.eq_ignore_ascii_case(&om.kind) {
        return Err(SdpError::NoAudio);
    }
    if rtp_proto(&am.proto) != rtp_proto(&om.proto) {
        return Err(syntax(
            0,
            format!("answer changed the transport to {:?}", crate::clip(&am.proto)),
        ));
    }
    let codec = am
        .formats
        .iter()
        .filter(|pt| om.formats.contains(pt))
        .filter_map(|pt| om.codec(pt).or_else(|| am.codec(pt)))
        .find(|c| !c.is_telephone_event())
        .ok_or(SdpError::NoCommonCodec)?;

    let offered = om.crypto();
    let answered: Vec<&str> = am
        .attributes
        .iter()
        .filter(|a| a.name == "crypto")
        .map(|a| a.value.as_deref().unwrap_or(""))
        .collect();
    let srtp = match answered.as_slice() {
        [] if is_savp(&om.proto) => return Err(SdpError::NoCommonCrypto),
        [] => None,
        [_] if offered.is_empty() => {
            return Err(SdpError::BadCrypto("answer has keys, offer had none".into()))
        }
        [value] => {
            let theirs = Crypto::parse(value)?;
            if !offered.iter().any(|c| c.tag == theirs.tag) {
                return Err(SdpError::BadCrypto(format!("tag {} was not offered", theirs.tag)));
            }
            // Tags should be unique in an offer; if one is not, any line
            // with that tag and suite is the one answered.
            let ours = offered
                .into_iter()
                .find(|c| c.tag == theirs.tag && c.suite == theirs.suite)
                .ok_or_else(|| {
                    SdpError::BadCrypto(format!("tag {} was offered with another suite", theirs.tag))
                })?;
            Some((ours, theirs))
        }
        _ => return Err(SdpError::BadCrypto("answer has several a=crypto".into())),
    };
    let conn = answer
        .connection_of(am)
        .ok_or_else(|| syntax(0, "answered audio has no c="))?;
    Ok(Negotiated {
        remote_address: conn.address.clone(),
        remote_port: am.port,
        codec,
        srtp,
    })
}
