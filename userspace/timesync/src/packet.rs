//! SNTPv4 packets (RFC 4330, RFC 5905 §7.3): encoding, decoding, the sanity
//! checks a client applies to a server reply, and the offset/delay
//! computation from the four timestamps.
//!
//! Only the 48-byte header is interpreted. Extension fields and a MAC may
//! follow it (RFC 5905 §7.5); they are ignored, not rejected, because this
//! client authenticates nothing with them and servers may add them.

use std::fmt;
use std::time::Duration;

use crate::timestamp::{NtpTimestamp, Offset, ERA_PIVOT_FLOOR_UNIX_SECS};

/// Size of the NTP header, the whole of an SNTP request.
pub const PACKET_LEN: usize = 48;
/// The NTP/SNTP UDP port.
pub const NTP_PORT: u16 = 123;
/// Mode of a client request.
pub const MODE_CLIENT: u8 = 3;
/// Mode of a server reply.
pub const MODE_SERVER: u8 = 4;
/// Leap indicator value meaning "clock unsynchronised".
pub const LEAP_UNSYNCHRONISED: u8 = 3;
/// Largest accepted root delay and root dispersion: RFC 5905's MAXDISP
/// (16 s). A server further than that from its reference is no time source.
pub const MAX_ROOT_DISTANCE: Duration = Duration::from_secs(16);
/// Slack allowed on a negative round-trip delay before the reply is called
/// inconsistent. Timestamp precision makes tiny negative delays possible on
/// loopback; the delay is then reported as zero.
pub const NEGATIVE_DELAY_SLACK: Duration = Duration::from_millis(1);

/// An NTP header, field by field (RFC 5905 figure 8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet {
    /// Leap indicator (2 bits): 0 none, 1 +1 s, 2 -1 s, 3 unsynchronised.
    pub leap: u8,
    /// Version number (3 bits).
    pub version: u8,
    /// Mode (3 bits): 3 client, 4 server.
    pub mode: u8,
    /// Stratum: 0 Kiss-o'-Death/unspecified, 1 primary, 2..15 secondary,
    /// 16 unsynchronised.
    pub stratum: u8,
    /// Poll exponent (log2 seconds).
    pub poll: i8,
    /// Precision exponent (log2 seconds).
    pub precision: i8,
    /// Root delay, NTP short format (16.16 seconds).
    pub root_delay: u32,
    /// Root dispersion, NTP short format (16.16 seconds).
    pub root_dispersion: u32,
    /// Reference ID; the kiss code when stratum is 0.
    pub reference_id: [u8; 4],
    /// When the server's clock was last set.
    pub reference_timestamp: NtpTimestamp,
    /// Origin timestamp: the client's transmit timestamp, echoed.
    pub origin_timestamp: NtpTimestamp,
    /// When the server received the request (T2).
    pub receive_timestamp: NtpTimestamp,
    /// When the server sent the reply (T3).
    pub transmit_timestamp: NtpTimestamp,
}

impl Packet {
    /// An SNTPv4 client request whose transmit timestamp is `transmit`
    /// (RFC 4330 §5: every other field zero).
    pub fn client_request(transmit: NtpTimestamp) -> Packet {
        Packet {
            leap: 0,
            version: 4,
            mode: MODE_CLIENT,
            stratum: 0,
            poll: 0,
            precision: 0,
            root_delay: 0,
            root_dispersion: 0,
            reference_id: [0; 4],
            reference_timestamp: NtpTimestamp::ZERO,
            origin_timestamp: NtpTimestamp::ZERO,
            receive_timestamp: NtpTimestamp::ZERO,
            transmit_timestamp: transmit,
        }
    }

    /// Decodes the header of `bytes`. Only the length can fail here; the
    /// field checks are [`check_reply`]'s. Bytes past the header are ignored.
    pub fn decode(bytes: &[u8]) -> Result<Packet, ReplyError> {
        let Some(b) = bytes.first_chunk::<PACKET_LEN>() else {
            return Err(ReplyError::TooShort { len: bytes.len() });
        };
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let ts_at = |i: usize| NtpTimestamp((u64::from(u32_at(i)) << 32) | u64::from(u32_at(i + 4)));
        Ok(Packet {
            leap: b[0] >> 6,
            version: (b[0] >> 3) & 0x7,
            mode: b[0] & 0x7,
            stratum: b[1],
            poll: b[2] as i8,
            precision: b[3] as i8,
            root_delay: u32_at(4),
            root_dispersion: u32_at(8),
            reference_id: [b[12], b[13], b[14], b[15]],
            reference_timestamp: ts_at(16),
            origin_timestamp: ts_at(24),
            receive_timestamp: ts_at(32),
            transmit_timestamp: ts_at(40),
        })
    }

    /// The 48-byte wire form.
    pub fn encode(&self) -> [u8; PACKET_LEN] {
        let mut b = [0u8; PACKET_LEN];
        b[0] = ((self.leap & 0x3) << 6) | ((self.version & 0x7) << 3) | (self.mode & 0x7);
        b[1] = self.stratum;
        b[2] = self.poll as u8;
        b[3] = self.precision as u8;
        b[4..8].copy_from_slice(&self.root_delay.to_be_bytes());
        b[8..12].copy_from_slice(&self.root_dispersion.to_be_bytes());
        b[12..16].copy_from_slice(&self.reference_id);
        b[16..24].copy_from_slice(&self.reference_timestamp.0.to_be_bytes());
        b[24..32].copy_from_slice(&self.origin_timestamp.0.to_be_bytes());
        b[32..40].copy_from_slice(&self.receive_timestamp.0.to_be_bytes());
        b[40..48].copy_from_slice(&self.transmit_timestamp.0.to_be_bytes());
        b
    }

    /// Root delay as a `Duration`.
    pub fn root_delay_duration(&self) -> Duration {
        short_to_duration(self.root_delay)
    }

    /// Root dispersion as a `Duration`.
    pub fn root_dispersion_duration(&self) -> Duration {
        short_to_duration(self.root_dispersion)
    }
}

/// NTP short format (16.16 unsigned seconds) to `Duration`.
fn short_to_duration(v: u32) -> Duration {
    let secs = u64::from(v >> 16);
    let nanos = (u64::from(v & 0xffff) * 1_000_000_000) >> 16;
    Duration::new(secs, nanos as u32)
}

/// A Kiss-o'-Death code (RFC 5905 §7.4): the reference ID of a stratum-0
/// reply, four ASCII characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KissCode {
    /// `RATE`: the client polls too often; it must poll that server less.
    Rate,
    /// `DENY`: access denied; the client must stop using that server.
    Deny,
    /// `RSTR`: access restricted; the client must stop using that server.
    Rstr,
    /// Any other code (`INIT`, `STEP`, `AUTH`...): no protocol meaning for
    /// a client, the reply is just unusable.
    Other([u8; 4]),
}

impl KissCode {
    /// The kiss code carried by a reference ID, if it is one: four ASCII
    /// letters or digits. Anything else in a stratum-0 reply is not a kiss.
    pub fn from_reference_id(id: [u8; 4]) -> Option<KissCode> {
        if !id.iter().all(u8::is_ascii_alphanumeric) {
            return None;
        }
        Some(match &id {
            b"RATE" => KissCode::Rate,
            b"DENY" => KissCode::Deny,
            b"RSTR" => KissCode::Rstr,
            _ => KissCode::Other(id),
        })
    }

    /// The four code bytes.
    pub fn as_bytes(&self) -> [u8; 4] {
        match self {
            KissCode::Rate => *b"RATE",
            KissCode::Deny => *b"DENY",
            KissCode::Rstr => *b"RSTR",
            KissCode::Other(b) => *b,
        }
    }

    /// True for the codes that mean "stop using this server" (DENY, RSTR).
    pub fn is_refusal(&self) -> bool {
        matches!(self, KissCode::Deny | KissCode::Rstr)
    }
}

impl fmt::Display for KissCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only alphanumeric ASCII gets here (from_reference_id), but Other
        // can be built by hand: escape to stay printable.
        for b in self.as_bytes() {
            write!(f, "{}", std::ascii::escape_default(b))?;
        }
        Ok(())
    }
}

/// Why a server reply was rejected. Every check of [`check_reply`] and
/// [`compute_sample`] has its own variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplyError {
    /// Fewer than 48 bytes.
    TooShort {
        /// Bytes received.
        len: usize,
    },
    /// Mode is not 4 (server).
    WrongMode {
        /// Mode received.
        mode: u8,
    },
    /// Version is not 3 or 4.
    UnsupportedVersion {
        /// Version received.
        version: u8,
    },
    /// The origin timestamp is not the transmit timestamp of our request:
    /// spoofed, stale or replayed (RFC 5905 §8 "bogus" test).
    OriginMismatch,
    /// No query was waiting for a reply (late, duplicate or unsolicited).
    Unsolicited,
    /// A Kiss-o'-Death (stratum 0 with a kiss code).
    KissOfDeath(KissCode),
    /// Stratum 0 without a kiss code: the server is unsynchronised.
    StratumZero {
        /// The reference ID received.
        reference_id: [u8; 4],
    },
    /// Stratum above 15: 16 is "unsynchronised", above is reserved.
    BadStratum {
        /// Stratum received.
        stratum: u8,
    },
    /// Leap indicator 3: the server's clock is not synchronised.
    ServerUnsynchronised,
    /// Transmit timestamp (T3) zero.
    ZeroTransmitTimestamp,
    /// Receive timestamp (T2) zero.
    ZeroReceiveTimestamp,
    /// The server says it sent the reply before it received the request.
    TimestampsReversed,
    /// Root delay beyond [`MAX_ROOT_DISTANCE`].
    RootDelayTooLarge {
        /// Root delay received.
        root_delay: Duration,
    },
    /// Root dispersion beyond [`MAX_ROOT_DISTANCE`].
    RootDispersionTooLarge {
        /// Root dispersion received.
        root_dispersion: Duration,
    },
    /// The server claims more processing time than our whole round trip.
    NegativeDelay {
        /// How negative, in nanoseconds.
        nanos: i64,
    },
    /// The offset does not fit the ±292-year range (cannot happen with
    /// era-resolved timestamps; kept so that no input can panic).
    OffsetOutOfRange,
}

impl ReplyError {
    /// True once the reply is known to answer our query (its origin
    /// timestamp matched): such a reply ends the query at once. Errors found
    /// before that point may come from anyone, so the query keeps waiting
    /// for the genuine reply (RFC 5905 §8: bogus packets are discarded).
    pub fn matched_origin(&self) -> bool {
        !matches!(
            self,
            ReplyError::TooShort { .. }
                | ReplyError::WrongMode { .. }
                | ReplyError::UnsupportedVersion { .. }
                | ReplyError::OriginMismatch
                | ReplyError::Unsolicited
        )
    }
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::TooShort { len } => {
                write!(f, "reply too short: {len} bytes, an NTP header is {PACKET_LEN}")
            }
            ReplyError::WrongMode { mode } => write!(f, "not a server reply: mode {mode}, expected 4"),
            ReplyError::UnsupportedVersion { version } => {
                write!(f, "unsupported NTP version {version}, expected 3 or 4")
            }
            ReplyError::OriginMismatch => f.write_str(
                "origin timestamp does not match our request (spoofed, stale or replayed reply)",
            ),
            ReplyError::Unsolicited => f.write_str("no query outstanding (late, duplicate or unsolicited reply)"),
            ReplyError::KissOfDeath(code) => {
                let meaning = match code {
                    KissCode::Rate => "server asks us to poll less often",
                    KissCode::Deny => "server denies access",
                    KissCode::Rstr => "server restricts access",
                    KissCode::Other(_) => "server unusable",
                };
                write!(f, "Kiss-o'-Death {code}: {meaning}")
            }
            ReplyError::StratumZero { reference_id } => write!(
                f,
                "stratum 0 without a kiss code (reference ID {:02x}{:02x}{:02x}{:02x}): server unsynchronised",
                reference_id[0], reference_id[1], reference_id[2], reference_id[3]
            ),
            ReplyError::BadStratum { stratum } => {
                write!(f, "stratum {stratum} outside 1..15: server unsynchronised")
            }
            ReplyError::ServerUnsynchronised => {
                f.write_str("leap indicator 3: server clock not synchronised")
            }
            ReplyError::ZeroTransmitTimestamp => f.write_str("transmit timestamp is zero"),
            ReplyError::ZeroReceiveTimestamp => f.write_str("receive timestamp is zero"),
            ReplyError::TimestampsReversed => {
                f.write_str("server transmit timestamp is earlier than its receive timestamp")
            }
            ReplyError::RootDelayTooLarge { root_delay } => write!(
                f,
                "root delay {:.3} s exceeds {} s",
                root_delay.as_secs_f64(),
                MAX_ROOT_DISTANCE.as_secs()
            ),
            ReplyError::RootDispersionTooLarge { root_dispersion } => write!(
                f,
                "root dispersion {:.3} s exceeds {} s",
                root_dispersion.as_secs_f64(),
                MAX_ROOT_DISTANCE.as_secs()
            ),
            ReplyError::NegativeDelay { nanos } => write!(
                f,
                "inconsistent timestamps: round-trip delay {:.6} s",
                *nanos as f64 / 1e9
            ),
            ReplyError::OffsetOutOfRange => f.write_str("offset out of range"),
        }
    }
}

impl std::error::Error for ReplyError {}

/// Checks a server reply against the request whose transmit timestamp was
/// `sent_transmit`, in this order:
///
/// 1. at least 48 bytes; mode 4; version 3 or 4 (a server reply at all);
/// 2. origin timestamp equal to `sent_transmit` (anti-spoofing, anti-replay);
/// 3. stratum 0: Kiss-o'-Death with its code, or unsynchronised without one
///    (before the leap check: KoD replies usually carry leap 3);
/// 4. stratum 1..=15; leap indicator not 3;
/// 5. receive and transmit timestamps non-zero, transmit not before receive;
/// 6. root delay and root dispersion below [`MAX_ROOT_DISTANCE`].
///
/// The origin check comes before any content check so that a forged
/// Kiss-o'-Death cannot make us drop a server (RFC 5905 §7.4, §8).
pub fn check_reply(bytes: &[u8], sent_transmit: NtpTimestamp) -> Result<Packet, ReplyError> {
    let p = Packet::decode(bytes)?;
    if p.mode != MODE_SERVER {
        return Err(ReplyError::WrongMode { mode: p.mode });
    }
    if !(3..=4).contains(&p.version) {
        return Err(ReplyError::UnsupportedVersion { version: p.version });
    }
    if p.origin_timestamp != sent_transmit {
        return Err(ReplyError::OriginMismatch);
    }
    if p.stratum == 0 {
        return Err(match KissCode::from_reference_id(p.reference_id) {
            Some(code) => ReplyError::KissOfDeath(code),
            None => ReplyError::StratumZero {
                reference_id: p.reference_id,
            },
        });
    }
    if p.stratum > 15 {
        return Err(ReplyError::BadStratum { stratum: p.stratum });
    }
    if p.leap == LEAP_UNSYNCHRONISED {
        return Err(ReplyError::ServerUnsynchronised);
    }
    if p.transmit_timestamp.is_zero() {
        return Err(ReplyError::ZeroTransmitTimestamp);
    }
    if p.receive_timestamp.is_zero() {
        return Err(ReplyError::ZeroReceiveTimestamp);
    }
    if p.transmit_timestamp.wrapping_diff_nanos(p.receive_timestamp) < 0 {
        return Err(ReplyError::TimestampsReversed);
    }
    let root_delay = p.root_delay_duration();
    if root_delay >= MAX_ROOT_DISTANCE {
        return Err(ReplyError::RootDelayTooLarge { root_delay });
    }
    let root_dispersion = p.root_dispersion_duration();
    if root_dispersion >= MAX_ROOT_DISTANCE {
        return Err(ReplyError::RootDispersionTooLarge { root_dispersion });
    }
    Ok(p)
}

/// One clock measurement from a checked reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// True time minus local time.
    pub offset: Offset,
    /// Round-trip network delay.
    pub delay: Duration,
    /// The server's stratum.
    pub stratum: u8,
}

/// Offset and delay from the four timestamps (RFC 4330 §5, RFC 5905 §8):
/// `offset = ((T2 - T1) + (T3 - T4)) / 2`, `delay = (T4 - T1) - (T3 - T2)`.
///
/// `t1` and `t4` are our send and receive times in Unix nanoseconds, read
/// from the clock being disciplined. T2 and T3 carry no era: they are
/// placed in the era nearest to our clock, or to
/// [`ERA_PIVOT_FLOOR_UNIX_SECS`] if our clock is earlier (a unit that booted
/// in 1970), so that a clock decades off is still corrected in one step.
pub fn compute_sample(reply: &Packet, t1: i128, t4: i128) -> Result<Sample, ReplyError> {
    // Any SystemTime is within ±2^94 ns; bounding the inputs keeps the
    // arithmetic below free of overflow whatever a caller passes.
    const BOUND: i128 = 1 << 100;
    let (t1, t4) = (t1.clamp(-BOUND, BOUND), t4.clamp(-BOUND, BOUND));
    let floor = i128::from(ERA_PIVOT_FLOOR_UNIX_SECS) * 1_000_000_000;
    let pivot = t1.max(floor);
    let t2 = reply.receive_timestamp.to_unix_nanos_near(pivot);
    // T3 from T2 by wrapping difference, so that a reply straddling an era
    // boundary keeps both in order.
    let t3 = t2
        + reply
            .transmit_timestamp
            .wrapping_diff_nanos(reply.receive_timestamp);
    let offset = ((t2 - t1) + (t3 - t4)) / 2;
    let delay = (t4 - t1) - (t3 - t2);
    let slack = NEGATIVE_DELAY_SLACK.as_nanos() as i128;
    if delay < -slack {
        return Err(ReplyError::NegativeDelay {
            nanos: i64::try_from(delay).unwrap_or(i64::MIN),
        });
    }
    let delay = Duration::from_nanos(u64::try_from(delay.max(0)).unwrap_or(u64::MAX));
    let offset = Offset::try_from_nanos_i128(offset).ok_or(ReplyError::OffsetOutOfRange)?;
    Ok(Sample {
        offset,
        delay,
        stratum: reply.stratum,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: i128 = 1_000_000_000;
    /// 2026-06-01 12:00:00 UTC.
    const NOW: i128 = 1_780_315_200 * NS;
    const NONCE: NtpTimestamp = NtpTimestamp(0x0123_4567_89ab_cdef);

    fn good_reply() -> Packet {
        Packet {
            leap: 0,
            version: 4,
            mode: MODE_SERVER,
            stratum: 2,
            poll: 6,
            precision: -20,
            root_delay: 0x0000_0100,
            root_dispersion: 0x0000_0200,
            reference_id: [127, 0, 0, 1],
            reference_timestamp: NtpTimestamp::from_unix_nanos(NOW - 60 * NS),
            origin_timestamp: NONCE,
            receive_timestamp: NtpTimestamp::from_unix_nanos(NOW),
            transmit_timestamp: NtpTimestamp::from_unix_nanos(NOW + 1_000_000),
        }
    }

    fn check(p: Packet) -> Result<Packet, ReplyError> {
        check_reply(&p.encode(), NONCE)
    }

    #[test]
    fn request_layout() {
        let b = Packet::client_request(NONCE).encode();
        assert_eq!(b[0], 0x23, "LI 0, VN 4, mode 3");
        assert!(b[1..40].iter().all(|&x| x == 0));
        assert_eq!(&b[40..48], &NONCE.0.to_be_bytes());
    }

    #[test]
    fn encode_decode_round_trip() {
        let p = good_reply();
        assert_eq!(Packet::decode(&p.encode()), Ok(p));
    }

    #[test]
    fn accepts_a_good_reply_and_trailing_extension_fields() {
        assert!(check(good_reply()).is_ok());
        let mut long = good_reply().encode().to_vec();
        long.extend_from_slice(&[0x01, 0x04, 0x00, 0x10]);
        long.extend_from_slice(&[0xaa; 64]);
        assert!(check_reply(&long, NONCE).is_ok());
        let mut v3 = good_reply();
        v3.version = 3;
        assert!(check(v3).is_ok());
    }

    #[test]
    fn every_rejection_has_its_reason() {
        assert_eq!(
            check_reply(&[0x24; 47], NONCE),
            Err(ReplyError::TooShort { len: 47 })
        );
        assert_eq!(check_reply(&[], NONCE), Err(ReplyError::TooShort { len: 0 }));
        type Mutation = fn(&mut Packet);
        let cases: Vec<(Mutation, ReplyError)> = vec![
            (|p| p.mode = 3, ReplyError::WrongMode { mode: 3 }),
            (|p| p.mode = 5, ReplyError::WrongMode { mode: 5 }),
            (|p| p.version = 2, ReplyError::UnsupportedVersion { version: 2 }),
            (|p| p.version = 5, ReplyError::UnsupportedVersion { version: 5 }),
            (
                |p| p.origin_timestamp = NtpTimestamp(1),
                ReplyError::OriginMismatch,
            ),
            (
                |p| p.origin_timestamp = NtpTimestamp::ZERO,
                ReplyError::OriginMismatch,
            ),
            (
                |p| {
                    p.stratum = 0;
                    p.leap = 3;
                    p.reference_id = *b"RATE";
                },
                ReplyError::KissOfDeath(KissCode::Rate),
            ),
            (
                |p| {
                    p.stratum = 0;
                    p.reference_id = *b"DENY";
                },
                ReplyError::KissOfDeath(KissCode::Deny),
            ),
            (
                |p| {
                    p.stratum = 0;
                    p.reference_id = *b"RSTR";
                },
                ReplyError::KissOfDeath(KissCode::Rstr),
            ),
            (
                |p| {
                    p.stratum = 0;
                    p.reference_id = *b"INIT";
                },
                ReplyError::KissOfDeath(KissCode::Other(*b"INIT")),
            ),
            (
                |p| {
                    p.stratum = 0;
                    p.reference_id = [0, 0, 0, 0];
                },
                ReplyError::StratumZero { reference_id: [0; 4] },
            ),
            (|p| p.stratum = 16, ReplyError::BadStratum { stratum: 16 }),
            (|p| p.stratum = 255, ReplyError::BadStratum { stratum: 255 }),
            (|p| p.leap = 3, ReplyError::ServerUnsynchronised),
            (
                |p| p.transmit_timestamp = NtpTimestamp::ZERO,
                ReplyError::ZeroTransmitTimestamp,
            ),
            (
                |p| p.receive_timestamp = NtpTimestamp::ZERO,
                ReplyError::ZeroReceiveTimestamp,
            ),
            (
                |p| p.transmit_timestamp = NtpTimestamp::from_unix_nanos(NOW - NS),
                ReplyError::TimestampsReversed,
            ),
            (
                |p| p.root_delay = 16 << 16,
                ReplyError::RootDelayTooLarge {
                    root_delay: Duration::from_secs(16),
                },
            ),
            (
                |p| p.root_dispersion = u32::MAX,
                ReplyError::RootDispersionTooLarge {
                    root_dispersion: short_to_duration(u32::MAX),
                },
            ),
        ];
        for (mutate, want) in cases {
            let mut p = good_reply();
            mutate(&mut p);
            let got = check(p);
            assert_eq!(got, Err(want.clone()), "{want}");
            // Every reason reads as a sentence, for logs and status.
            assert!(!want.to_string().is_empty());
        }
    }

    #[test]
    fn only_pre_origin_errors_are_unauthenticated() {
        assert!(!ReplyError::OriginMismatch.matched_origin());
        assert!(!ReplyError::TooShort { len: 3 }.matched_origin());
        assert!(ReplyError::KissOfDeath(KissCode::Deny).matched_origin());
        assert!(ReplyError::ServerUnsynchronised.matched_origin());
    }

    #[test]
    fn offset_and_delay_from_four_timestamps() {
        // Local clock 10 s behind; 20 ms each way; server holds 1 ms.
        let p = good_reply(); // T2 = NOW, T3 = NOW + 1 ms (true time)
        let t1 = NOW - 20_000_000 - 10 * NS;
        let t4 = NOW + 1_000_000 + 20_000_000 - 10 * NS;
        let s = compute_sample(&p, t1, t4).unwrap();
        // The 32-bit NTP fraction (~0.23 ns) truncates: allow 2 ns.
        assert!((s.offset.as_nanos() - 10_000_000_000).abs() <= 2, "{s:?}");
        assert!(
            s.delay.abs_diff(Duration::from_millis(40)) <= Duration::from_nanos(2),
            "{s:?}"
        );
        assert_eq!(s.stratum, 2);
    }

    #[test]
    fn a_clock_from_1970_is_corrected_in_one_step() {
        let p = good_reply();
        let t1 = 5 * NS; // 1970-01-01 00:00:05, no RTC
        let s = compute_sample(&p, t1, t1 + 2_000_000).unwrap();
        let expected = NOW - t1; // ~56 years
        assert!((i128::from(s.offset.as_nanos()) - expected).abs() < 2_000_000);
    }

    #[test]
    fn replies_across_the_2036_era_boundary() {
        // 2036-02-07 06:28:15 UTC is the last second of era 0.
        let wrap = (1i128 << 32) * NS - 2_208_988_800 * NS;
        let mut p = good_reply();
        p.receive_timestamp = NtpTimestamp::from_unix_nanos(wrap - 500_000_000);
        p.transmit_timestamp = NtpTimestamp::from_unix_nanos(wrap + 500_000_000);
        assert!(check(p).is_ok(), "T3 < T2 numerically but not in time");
        let s = compute_sample(&p, wrap - NS, wrap + NS).unwrap();
        assert_eq!(s.offset, Offset::ZERO);
        assert_eq!(s.delay, Duration::from_secs(1));
    }

    #[test]
    fn negative_delay_is_inconsistent_but_precision_noise_is_not() {
        let p = good_reply(); // server holds 1 ms
                              // Our round trip 0.5 ms: delay -0.5 ms, within slack: clamped.
        let s = compute_sample(&p, NOW, NOW + 500_000).unwrap();
        assert_eq!(s.delay, Duration::ZERO);
        // Our round trip 0: delay -1 ms... still at the slack.
        assert!(compute_sample(&p, NOW, NOW).is_ok());
        let mut slow = p;
        slow.transmit_timestamp = NtpTimestamp::from_unix_nanos(NOW + 2 * NS);
        assert!(matches!(
            compute_sample(&slow, NOW, NOW + 100_000),
            Err(ReplyError::NegativeDelay { .. })
        ));
    }

    #[test]
    fn kiss_codes() {
        assert_eq!(KissCode::from_reference_id(*b"RATE"), Some(KissCode::Rate));
        assert_eq!(KissCode::from_reference_id([b'X', 0, 0, 0]), None);
        assert_eq!(KissCode::Other(*b"AUTH").to_string(), "AUTH");
        assert_eq!(KissCode::Other([0xff, b'A', b'B', b'C']).to_string(), "\\xffABC");
        assert!(KissCode::Deny.is_refusal() && KissCode::Rstr.is_refusal());
        assert!(!KissCode::Rate.is_refusal());
    }
}
