//! RFC 4568 `a=crypto` values (SDES), with the suites of RFC 4568 and
//! RFC 7714 that SIP phones and SBCs use.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::GeneralPurposeConfig;
use base64::engine::{DecodePaddingMode, GeneralPurpose};
use base64::Engine as _;

use crate::SdpError;

/// Standard alphabet, padded on output; on input padding is optional,
/// because some stacks strip it from the 28- and 44-byte AEAD keys.
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Most session parameters kept from one `a=crypto` line; RFC 4568
/// defines six.
const MAX_SESSION_PARAMS: usize = 8;

/// SRTP crypto suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CryptoSuite {
    /// `AES_CM_128_HMAC_SHA1_80` (RFC 4568), the one everybody has.
    AesCm128HmacSha1_80,
    /// `AES_CM_128_HMAC_SHA1_32` (RFC 4568), shorter tag.
    AesCm128HmacSha1_32,
    /// `AEAD_AES_128_GCM` (RFC 7714).
    AeadAes128Gcm,
    /// `AEAD_AES_256_GCM` (RFC 7714).
    AeadAes256Gcm,
}

/// What [`crate::offer`] proposes, in order of preference (tag 1, 2...):
/// the two suites every SDES implementation has, as baresip and most
/// phones offer them.
pub const OFFERED_SUITES: [CryptoSuite; 2] =
    [CryptoSuite::AesCm128HmacSha1_80, CryptoSuite::AesCm128HmacSha1_32];

impl CryptoSuite {
    const ALL: [CryptoSuite; 4] = [
        CryptoSuite::AesCm128HmacSha1_80,
        CryptoSuite::AesCm128HmacSha1_32,
        CryptoSuite::AeadAes128Gcm,
        CryptoSuite::AeadAes256Gcm,
    ];

    /// The registered name.
    pub fn as_str(self) -> &'static str {
        match self {
            CryptoSuite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            CryptoSuite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
            CryptoSuite::AeadAes128Gcm => "AEAD_AES_128_GCM",
            CryptoSuite::AeadAes256Gcm => "AEAD_AES_256_GCM",
        }
    }

    /// Master key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            CryptoSuite::AesCm128HmacSha1_80
            | CryptoSuite::AesCm128HmacSha1_32
            | CryptoSuite::AeadAes128Gcm => 16,
            CryptoSuite::AeadAes256Gcm => 32,
        }
    }

    /// Master salt length in bytes: 112 bits for AES-CM, 96 for GCM.
    pub fn salt_len(self) -> usize {
        match self {
            CryptoSuite::AesCm128HmacSha1_80 | CryptoSuite::AesCm128HmacSha1_32 => 14,
            CryptoSuite::AeadAes128Gcm | CryptoSuite::AeadAes256Gcm => 12,
        }
    }
}

impl fmt::Display for CryptoSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CryptoSuite {
    type Err = SdpError;

    /// Exact names: RFC 4568 suite names are case-sensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CryptoSuite::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| SdpError::BadCrypto(format!("unsupported suite {:?}", crate::clip(s))))
    }
}

/// One `a=crypto` line: a tag, a suite and one inline master key.
///
/// `Debug` shows the key's length only.
#[derive(Clone, PartialEq, Eq)]
pub struct Crypto {
    /// Tag, 1 to 999999999; the answer repeats the chosen offer's tag.
    pub tag: u32,
    /// Crypto suite.
    pub suite: CryptoSuite,
    /// Master key followed by master salt, exactly
    /// `suite.key_len() + suite.salt_len()` bytes. Secret.
    pub key_salt: Vec<u8>,
    /// Key lifetime as written (`2^31`, `1048576`), if any.
    pub lifetime: Option<String>,
    /// `MKI:length` as written (`1:4`), if any.
    pub mki: Option<String>,
    /// Session parameters (`UNENCRYPTED_SRTP`, `KDR=...`), as written.
    pub session_params: Vec<String>,
}

impl fmt::Debug for Crypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Crypto")
            .field("tag", &self.tag)
            .field("suite", &self.suite)
            .field(
                "key_salt",
                &format_args!("<redacted {} bytes>", self.key_salt.len()),
            )
            .field("lifetime", &self.lifetime)
            .field("mki", &self.mki)
            .field("session_params", &self.session_params)
            .finish()
    }
}

fn bad(what: &str) -> SdpError {
    SdpError::BadCrypto(what.to_owned())
}

impl Crypto {
    /// Parses an `a=crypto` value (what follows `crypto:`), such as
    /// `1 AES_CM_128_HMAC_SHA1_80 inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj|2^20|1:32`.
    ///
    /// Refused: unknown suites, a key method other than `inline`, several
    /// keys, a key and salt that do not decode to the suite's length.
    pub fn parse(value: &str) -> Result<Crypto, SdpError> {
        let mut fields = value.split_ascii_whitespace();
        let (Some(tag), Some(suite), Some(key_params)) = (fields.next(), fields.next(), fields.next()) else {
            return Err(bad("expected <tag> <suite> <key-params>"));
        };
        if tag.is_empty() || tag.len() > 9 || !tag.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("tag is not 1 to 9 digits"));
        }
        let tag: u32 = tag.parse().map_err(|_| bad("bad tag"))?;
        let suite: CryptoSuite = suite.parse()?;
        if key_params.contains(';') {
            return Err(bad("several keys in one line are not supported"));
        }
        let Some((method, info)) = key_params.split_once(':') else {
            return Err(bad("key-params is not <method>:<info>"));
        };
        if !method.eq_ignore_ascii_case("inline") {
            return Err(bad("key method is not inline"));
        }
        let mut parts = info.split('|');
        let key = parts.next().unwrap_or_default();
        // The error must not echo the key: it may reach a log.
        let key_salt = B64.decode(key).map_err(|_| bad("key is not base64"))?;
        let want = suite.key_len() + suite.salt_len();
        if key_salt.len() != want {
            return Err(SdpError::BadCrypto(format!(
                "{suite} needs a {want}-byte key and salt, got {}",
                key_salt.len()
            )));
        }
        let mut lifetime = None;
        let mut mki = None;
        for p in parts {
            if let Some((value, len)) = p.split_once(':') {
                let digits =
                    |s: &str| !s.is_empty() && s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit());
                if mki.is_some() || !digits(value) || !digits(len) || !matches!(len.parse(), Ok(1..=128)) {
                    return Err(bad("bad MKI"));
                }
                mki = Some(p.to_owned());
            } else {
                let ok = match p.strip_prefix("2^") {
                    Some(exp) => matches!(exp.parse::<u8>(), Ok(1..=64)),
                    None => !p.is_empty() && p.len() <= 20 && p.bytes().all(|b| b.is_ascii_digit()),
                };
                // Lifetime comes before the MKI (RFC 4568 §9.2).
                if !ok || lifetime.is_some() || mki.is_some() {
                    return Err(bad("bad key lifetime"));
                }
                lifetime = Some(p.to_owned());
            }
        }
        let mut session_params = Vec::new();
        for p in fields {
            if session_params.len() >= MAX_SESSION_PARAMS {
                return Err(bad("too many session parameters"));
            }
            session_params.push(p.to_owned());
        }
        Ok(Crypto {
            tag,
            suite,
            key_salt,
            lifetime,
            mki,
            session_params,
        })
    }

    /// A fresh random key and salt for `suite`, without lifetime or MKI.
    ///
    /// # Panics
    ///
    /// If the system random generator fails (see [`Crypto::try_generate`]).
    pub fn generate(tag: u32, suite: CryptoSuite) -> Crypto {
        Crypto::try_generate(tag, suite).expect("system random generator failed")
    }

    /// [`Crypto::generate`] that reports a failing random generator as
    /// [`SdpError::BadCrypto`] instead of panicking.
    pub fn try_generate(tag: u32, suite: CryptoSuite) -> Result<Crypto, SdpError> {
        use ring::rand::SecureRandom as _;
        let mut key_salt = vec![0u8; suite.key_len() + suite.salt_len()];
        ring::rand::SystemRandom::new()
            .fill(&mut key_salt)
            .map_err(|_| bad("system random generator failed"))?;
        Ok(Crypto {
            tag,
            suite,
            key_salt,
            lifetime: None,
            mki: None,
            session_params: Vec::new(),
        })
    }

    /// The master key part of [`Crypto::key_salt`] (empty if the
    /// vector was shortened by hand).
    pub fn key(&self) -> &[u8] {
        self.key_salt.get(..self.suite.key_len()).unwrap_or_default()
    }

    /// The master salt part of [`Crypto::key_salt`].
    pub fn salt(&self) -> &[u8] {
        self.key_salt.get(self.suite.key_len()..).unwrap_or_default()
    }
}

impl fmt::Display for Crypto {
    /// The `a=crypto` value, `1 AES_CM_128_HMAC_SHA1_80 inline:BASE64`
    /// (then `|lifetime`, `|MKI:len`, session parameters). This is the
    /// one place the key is written out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} inline:{}",
            self.tag,
            self.suite,
            B64.encode(&self.key_salt)
        )?;
        for p in self.lifetime.iter().chain(&self.mki) {
            write!(f, "|{p}")?;
        }
        for p in &self.session_params {
            write!(f, " {p}")?;
        }
        Ok(())
    }
}
