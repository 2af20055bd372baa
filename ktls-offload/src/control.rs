//! Parsing of the non-data records the kernel hands back after the handshake.
//!
//! Sans-IO: these functions take the plaintext of alert and handshake records
//! and say what they mean. They never panic, whatever the input, and they
//! bound how much they buffer; the fuzz target `control_records` checks that.

use std::fmt;

/// The largest post-handshake handshake message we accept. A
/// NewSessionTicket is the only large one; real tickets are a few hundred
/// bytes, and rustls itself refuses ticket messages far below this.
pub const MAX_HANDSHAKE_MESSAGE: usize = 16 * 1024;

/// Handshake message types that may appear after the handshake (RFC 8446 §4).
const HS_HELLO_REQUEST: u8 = 0;
const HS_NEW_SESSION_TICKET: u8 = 4;
const HS_KEY_UPDATE: u8 = 24;

/// A TLS alert as received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alert {
    /// 1 = warning, 2 = fatal (TLS 1.3 treats every alert but close_notify
    /// and user_canceled as fatal whatever this says).
    pub level: u8,
    /// The AlertDescription code.
    pub description: u8,
}

impl Alert {
    /// close_notify (0).
    pub const CLOSE_NOTIFY: u8 = 0;
    /// user_canceled (90), a warning even in TLS 1.3.
    pub const USER_CANCELED: u8 = 90;
    /// no_renegotiation (100), our answer to a TLS 1.2 HelloRequest.
    pub const NO_RENEGOTIATION: u8 = 100;

    /// Parses an alert record's plaintext: exactly two bytes.
    pub fn parse(payload: &[u8]) -> Result<Alert, ControlError> {
        match payload {
            [level, description] => Ok(Alert {
                level: *level,
                description: *description,
            }),
            _ => Err(ControlError::MalformedAlert(payload.len())),
        }
    }

    /// Whether this alert ends the connection with an error.
    pub fn is_fatal(&self, tls13: bool) -> bool {
        match self.description {
            Self::CLOSE_NOTIFY | Self::USER_CANCELED => false,
            _ if tls13 => true,
            _ => self.level != 1,
        }
    }

    /// The alert's name from the IANA registry, or "unknown".
    pub fn name(&self) -> &'static str {
        alert_name(self.description)
    }
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.description)
    }
}

/// Names of alert descriptions (RFC 8446 §6, RFC 5246 §7.2).
pub fn alert_name(code: u8) -> &'static str {
    match code {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        _ => "unknown",
    }
}

/// A complete post-handshake message.
#[derive(Debug, PartialEq, Eq)]
pub enum PostHandshake {
    /// TLS 1.2 HelloRequest: the peer asks to renegotiate.
    HelloRequest,
    /// TLS 1.3 NewSessionTicket; the payload without the 4-byte header.
    NewSessionTicket(Vec<u8>),
    /// TLS 1.3 KeyUpdate; `update_requested` asks us to rekey our side too.
    /// `at_record_end` says whether it was the last byte of its record, which
    /// RFC 8446 §5.1 requires (a key change must align with a record).
    KeyUpdate {
        /// The peer asks us to update our sending keys too.
        update_requested: bool,
        /// The message ended its record.
        at_record_end: bool,
    },
}

/// Errors in control records. Each becomes a connection error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControlError {
    /// An alert record that is not two bytes long.
    MalformedAlert(usize),
    /// A handshake message longer than [`MAX_HANDSHAKE_MESSAGE`].
    HandshakeTooLarge(usize),
    /// A KeyUpdate with a body other than one byte of 0 or 1.
    MalformedKeyUpdate,
    /// A handshake message that must not appear after the handshake.
    UnexpectedHandshake(u8),
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlError::MalformedAlert(n) => {
                write!(f, "malformed alert record ({n} bytes, expected 2)")
            }
            ControlError::HandshakeTooLarge(n) => {
                write!(
                    f,
                    "post-handshake message of {n} bytes exceeds the {MAX_HANDSHAKE_MESSAGE}-byte limit"
                )
            }
            ControlError::MalformedKeyUpdate => write!(f, "malformed KeyUpdate message"),
            ControlError::UnexpectedHandshake(t) => {
                write!(f, "unexpected handshake message type {t} after the handshake")
            }
        }
    }
}

impl std::error::Error for ControlError {}

/// Reassembles handshake messages from handshake records.
///
/// Messages may span records and a record may hold several messages
/// (RFC 8446 §5.1), so bytes are kept until a whole message is present.
#[derive(Default)]
pub struct HandshakeReassembler {
    buf: Vec<u8>,
}

impl HandshakeReassembler {
    /// Adds one record's plaintext and returns every message it completed.
    pub fn push_record(&mut self, record: &[u8]) -> Result<Vec<PostHandshake>, ControlError> {
        self.buf.extend_from_slice(record);
        let mut out = Vec::new();
        while let Some(&[typ, a, b, c]) = self.buf.get(..4) {
            let len = u32::from_be_bytes([0, a, b, c]) as usize;
            if len > MAX_HANDSHAKE_MESSAGE {
                self.buf.clear();
                return Err(ControlError::HandshakeTooLarge(len));
            }
            if self.buf.len() < 4 + len {
                break;
            }
            let body: Vec<u8> = self.buf[4..4 + len].to_vec();
            self.buf.drain(..4 + len);
            out.push(match typ {
                HS_HELLO_REQUEST if body.is_empty() => PostHandshake::HelloRequest,
                HS_NEW_SESSION_TICKET => PostHandshake::NewSessionTicket(body),
                HS_KEY_UPDATE => match body.as_slice() {
                    [v @ (0 | 1)] => PostHandshake::KeyUpdate {
                        update_requested: *v == 1,
                        at_record_end: self.buf.is_empty(),
                    },
                    _ => return Err(ControlError::MalformedKeyUpdate),
                },
                other => return Err(ControlError::UnexpectedHandshake(other)),
            });
        }
        Ok(out)
    }

    /// Whether a partial message is waiting for more records.
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty()
    }
}

/// The KeyUpdate message we send: handshake type 24, length 1, and
/// `update_requested` (1) or `update_not_requested` (0).
pub fn key_update_message(update_requested: bool) -> [u8; 5] {
    [HS_KEY_UPDATE, 0, 0, 1, u8::from(update_requested)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_parsing_and_fatality() {
        let a = Alert::parse(&[2, 40]).unwrap();
        assert_eq!(a.to_string(), "handshake_failure (40)");
        assert!(a.is_fatal(false));
        assert!(!Alert::parse(&[1, 0]).unwrap().is_fatal(true));
        assert!(
            !Alert::parse(&[1, 100]).unwrap().is_fatal(false),
            "TLS 1.2 warning"
        );
        assert!(
            Alert::parse(&[1, 100]).unwrap().is_fatal(true),
            "TLS 1.3: every other alert is fatal"
        );
        assert_eq!(Alert::parse(&[1]), Err(ControlError::MalformedAlert(1)));
        assert_eq!(Alert::parse(&[1, 2, 3]), Err(ControlError::MalformedAlert(3)));
    }

    #[test]
    fn messages_split_across_records_and_packed_in_one() {
        let mut r = HandshakeReassembler::default();
        let nst = [4u8, 0, 0, 3, 9, 8, 7];
        assert_eq!(r.push_record(&nst[..2]).unwrap(), vec![]);
        assert!(r.has_partial());
        assert_eq!(
            r.push_record(&nst[2..]).unwrap(),
            vec![PostHandshake::NewSessionTicket(vec![9, 8, 7])]
        );
        let mut two = nst.to_vec();
        two.extend_from_slice(&key_update_message(true));
        assert_eq!(
            r.push_record(&two).unwrap(),
            vec![
                PostHandshake::NewSessionTicket(vec![9, 8, 7]),
                PostHandshake::KeyUpdate {
                    update_requested: true,
                    at_record_end: true
                }
            ]
        );
        assert!(!r.has_partial());
    }

    #[test]
    fn key_update_not_at_record_end_is_flagged() {
        let mut r = HandshakeReassembler::default();
        let mut rec = key_update_message(false).to_vec();
        rec.extend_from_slice(&[4, 0]);
        assert_eq!(
            r.push_record(&rec).unwrap(),
            vec![PostHandshake::KeyUpdate {
                update_requested: false,
                at_record_end: false
            }]
        );
    }

    #[test]
    fn bad_messages_are_errors() {
        let mut r = HandshakeReassembler::default();
        assert_eq!(
            r.push_record(&[24, 0, 0, 1, 2]),
            Err(ControlError::MalformedKeyUpdate)
        );
        let mut r = HandshakeReassembler::default();
        assert_eq!(
            r.push_record(&[24, 0, 0, 0]),
            Err(ControlError::MalformedKeyUpdate)
        );
        let mut r = HandshakeReassembler::default();
        assert_eq!(
            r.push_record(&[1, 0, 0, 0]),
            Err(ControlError::UnexpectedHandshake(1))
        );
        let mut r = HandshakeReassembler::default();
        assert_eq!(
            r.push_record(&[4, 0xff, 0xff, 0xff]),
            Err(ControlError::HandshakeTooLarge(0xff_ffff))
        );
    }
}
