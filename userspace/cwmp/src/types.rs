//! CWMP value types: date-times, the `xsi:type` of parameter values and their lexical forms,
//! event codes, notification levels and statuses.

use std::fmt;

use crate::xml::is_xml_space;

/// An `xsd:dateTime`, kept as the text it was given (so it writes back unchanged), checked to
/// be a valid `YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]` at construction.
///
/// Only four-digit positive years are accepted, a strict subset of XML Schema that covers
/// every real date and the CWMP "unknown time" `0001-01-01T00:00:00Z`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DateTime(String);

struct Parts {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    /// Minutes east of UTC, `None` when the text has no zone.
    offset: Option<i64>,
}

fn digits(s: &[u8], at: usize, n: usize) -> Option<u32> {
    let part = s.get(at..at + n)?;
    part.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn parse_parts(s: &str) -> Option<Parts> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = i64::from(digits(b, 0, 4)?);
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if year == 0 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut rest = &b[19..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = &frac[n..];
    }
    let offset = match rest {
        [] => None,
        [b'Z'] => Some(0),
        [sign @ (b'+' | b'-'), ..] if rest.len() == 6 && rest[3] == b':' => {
            let h = digits(rest, 1, 2)?;
            let m = digits(rest, 4, 2)?;
            if m > 59 || h > 14 || (h == 14 && m != 0) {
                return None;
            }
            let minutes = i64::from(h * 60 + m);
            Some(if *sign == b'-' { -minutes } else { minutes })
        }
        _ => return None,
    };
    Some(Parts {
        year,
        month,
        day,
        hour,
        minute,
        second,
        offset,
    })
}

impl DateTime {
    /// The text CWMP uses for "unknown time" (TR-069 A.2.1).
    pub const UNKNOWN: &'static str = "0001-01-01T00:00:00Z";

    /// Checks the lexical form; `None` when it is not a valid date-time.
    pub fn parse(s: &str) -> Option<DateTime> {
        parse_parts(s).map(|_| DateTime(s.to_string()))
    }

    /// The unknown time, `0001-01-01T00:00:00Z`.
    pub fn unknown() -> DateTime {
        DateTime(Self::UNKNOWN.to_string())
    }

    /// Whether this is the unknown time (any zone, any fraction).
    pub fn is_unknown(&self) -> bool {
        self.0.starts_with("0001-01-01T00:00:00")
    }

    /// UTC time from seconds since the Unix epoch, `None` outside years 1..=9999.
    pub fn from_unix(secs: i64) -> Option<DateTime> {
        let days = secs.div_euclid(86_400);
        let tod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        if !(1..=9999).contains(&y) {
            return None;
        }
        let (h, mi, s) = (tod / 3600, tod / 60 % 60, tod % 60);
        Some(DateTime(format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")))
    }

    /// Seconds since the Unix epoch (fraction dropped). A time without a zone is taken as UTC.
    pub fn to_unix(&self) -> i64 {
        // parse_parts cannot fail: the constructor checked the same text.
        let Some(p) = parse_parts(&self.0) else { return 0 };
        let days = days_from_civil(p.year, p.month, p.day);
        days * 86_400 + i64::from(p.hour * 3600 + p.minute * 60 + p.second) - p.offset.unwrap_or(0) * 60
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DateTime({})", self.0)
    }
}

/// The `xsi:type` of a parameter value: the CWMP data types (TR-069 A.2.1 / TR-106).
///
/// Each variant is one exact type name, so a value writes back with the type it came with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// `xsd:string`.
    String,
    /// `xsd:int` (32-bit signed).
    Int,
    /// `xsd:unsignedInt` (32-bit unsigned).
    UnsignedInt,
    /// `xsd:long` (64-bit signed).
    Long,
    /// `xsd:unsignedLong` (64-bit unsigned).
    UnsignedLong,
    /// `xsd:boolean` (`true`, `false`, `1`, `0`).
    Boolean,
    /// `xsd:dateTime`.
    DateTime,
    /// `xsd:base64Binary`.
    Base64Binary,
    /// `soap-enc:base64`, the SOAP 1.1 encoding's name for the same thing.
    SoapEncBase64,
    /// `xsd:hexBinary`.
    HexBinary,
}

impl ValueType {
    /// The qualified name the writer uses (prefixes as declared on the envelope).
    pub fn qname(self) -> &'static str {
        match self {
            ValueType::String => "xsd:string",
            ValueType::Int => "xsd:int",
            ValueType::UnsignedInt => "xsd:unsignedInt",
            ValueType::Long => "xsd:long",
            ValueType::UnsignedLong => "xsd:unsignedLong",
            ValueType::Boolean => "xsd:boolean",
            ValueType::DateTime => "xsd:dateTime",
            ValueType::Base64Binary => "xsd:base64Binary",
            ValueType::SoapEncBase64 => "soap-enc:base64",
            ValueType::HexBinary => "xsd:hexBinary",
        }
    }

    /// The type from a resolved `xsi:type`: its namespace is XML Schema (`xsd == true`) or the
    /// SOAP encoding (`xsd == false`), with the given local name.
    pub(crate) fn from_resolved(xsd: bool, local: &str) -> Option<ValueType> {
        Some(match (xsd, local) {
            (true, "string") => ValueType::String,
            (true, "int") => ValueType::Int,
            (true, "unsignedInt") => ValueType::UnsignedInt,
            (true, "long") => ValueType::Long,
            (true, "unsignedLong") => ValueType::UnsignedLong,
            (true, "boolean") => ValueType::Boolean,
            (true, "dateTime") => ValueType::DateTime,
            (true, "base64Binary") => ValueType::Base64Binary,
            (true, "hexBinary") => ValueType::HexBinary,
            (false, "base64") => ValueType::SoapEncBase64,
            _ => return None,
        })
    }

    /// Whether `text` is a valid lexical form of this type. Surrounding XML white space is
    /// allowed for every type but strings, as XML Schema's whitespace collapsing does.
    pub fn is_valid(self, text: &str) -> bool {
        let t = text.trim_matches(is_xml_space);
        match self {
            ValueType::String => true,
            ValueType::Int => t.parse::<i32>().is_ok(),
            ValueType::UnsignedInt => !t.starts_with('+') && t.parse::<u32>().is_ok(),
            ValueType::Long => t.parse::<i64>().is_ok(),
            ValueType::UnsignedLong => !t.starts_with('+') && t.parse::<u64>().is_ok(),
            ValueType::Boolean => parse_bool(t).is_some(),
            ValueType::DateTime => parse_parts(t).is_some(),
            ValueType::Base64Binary | ValueType::SoapEncBase64 => is_base64(t),
            ValueType::HexBinary => t.len() % 2 == 0 && t.bytes().all(|b| b.is_ascii_hexdigit()),
        }
    }
}

/// `xsd:boolean`'s four spellings.
pub(crate) fn parse_bool(t: &str) -> Option<bool> {
    match t {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// Canonical base64 as XML Schema defines it: groups of four, white space between characters
/// allowed, `=` padding only at the end and only after a character whose unused bits are zero.
fn is_base64(t: &str) -> bool {
    let b: Vec<u8> = t
        .bytes()
        .filter(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .collect();
    if b.len() % 4 != 0 {
        return false;
    }
    let pad = b.iter().rev().take_while(|&&c| c == b'=').count();
    let body = &b[..b.len() - pad];
    let alphabet = |c: &u8| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/';
    if pad > 2 || !body.iter().all(alphabet) {
        return false;
    }
    match (pad, body.last()) {
        (0, _) => true,
        (1, Some(c)) => b"AEIMQUYcgkosw048".contains(c),
        (2, Some(c)) => b"AQgw".contains(c),
        _ => false,
    }
}

/// An Inform event code (TR-069 3.7.1.5). The standard ones are variants; vendor (`X OUI ...`)
/// and other codes matching the schema's patterns are kept as `Other`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EventCode {
    /// `0 BOOTSTRAP`.
    Bootstrap,
    /// `1 BOOT`.
    Boot,
    /// `2 PERIODIC`.
    Periodic,
    /// `3 SCHEDULED`.
    Scheduled,
    /// `4 VALUE CHANGE`.
    ValueChange,
    /// `5 KICKED`.
    Kicked,
    /// `6 CONNECTION REQUEST`.
    ConnectionRequest,
    /// `7 TRANSFER COMPLETE`.
    TransferComplete,
    /// `8 DIAGNOSTICS COMPLETE`.
    DiagnosticsComplete,
    /// `9 REQUEST DOWNLOAD`.
    RequestDownload,
    /// `10 AUTONOMOUS TRANSFER COMPLETE`.
    AutonomousTransferComplete,
    /// `11 DU STATE CHANGE COMPLETE`.
    DuStateChangeComplete,
    /// `12 AUTONOMOUS DU STATE CHANGE COMPLETE`.
    AutonomousDuStateChangeComplete,
    /// `M Reboot`.
    MReboot,
    /// `M ScheduleInform`.
    MScheduleInform,
    /// `M Download`.
    MDownload,
    /// `M ScheduleDownload`.
    MScheduleDownload,
    /// `M Upload`.
    MUpload,
    /// `M ChangeDUState`.
    MChangeDuState,
    /// Any other code the schema allows (`X 00256D MyEvent`, `M X_Vendor`, ...). Never one of
    /// the standard strings: [`EventCode::parse`] maps those to their variant.
    Other(String),
}

const STANDARD_EVENTS: [(&str, EventCode); 19] = [
    ("0 BOOTSTRAP", EventCode::Bootstrap),
    ("1 BOOT", EventCode::Boot),
    ("2 PERIODIC", EventCode::Periodic),
    ("3 SCHEDULED", EventCode::Scheduled),
    ("4 VALUE CHANGE", EventCode::ValueChange),
    ("5 KICKED", EventCode::Kicked),
    ("6 CONNECTION REQUEST", EventCode::ConnectionRequest),
    ("7 TRANSFER COMPLETE", EventCode::TransferComplete),
    ("8 DIAGNOSTICS COMPLETE", EventCode::DiagnosticsComplete),
    ("9 REQUEST DOWNLOAD", EventCode::RequestDownload),
    (
        "10 AUTONOMOUS TRANSFER COMPLETE",
        EventCode::AutonomousTransferComplete,
    ),
    ("11 DU STATE CHANGE COMPLETE", EventCode::DuStateChangeComplete),
    (
        "12 AUTONOMOUS DU STATE CHANGE COMPLETE",
        EventCode::AutonomousDuStateChangeComplete,
    ),
    ("M Reboot", EventCode::MReboot),
    ("M ScheduleInform", EventCode::MScheduleInform),
    ("M Download", EventCode::MDownload),
    ("M ScheduleDownload", EventCode::MScheduleDownload),
    ("M Upload", EventCode::MUpload),
    ("M ChangeDUState", EventCode::MChangeDuState),
];

/// XML Schema's `\S`: not one of the four XML white space characters.
fn non_space(s: &str) -> bool {
    !s.is_empty() && !s.contains(is_xml_space)
}

/// XML Schema's `.`: any character but `\n` and `\r`.
fn any_line(s: &str) -> bool {
    !s.is_empty() && !s.contains(['\n', '\r'])
}

/// `X [0-9A-F]{6} .+` and `X \S+ .+`: the vendor form shared by event codes and file types
/// (the first pattern is a case of the second).
pub(crate) fn is_vendor_form(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("X ") else {
        return false;
    };
    match rest.split_once(' ') {
        Some((word, tail)) => non_space(word) && any_line(tail),
        None => false,
    }
}

/// `[1-9]\d*( \S+)+` (`first_nonzero`) or `\d+( \S+)+`: a number, then space-separated words.
pub(crate) fn is_numbered_words(s: &str, first_nonzero: bool) -> bool {
    let Some((num, words)) = s.split_once(' ') else {
        return false;
    };
    let numeric = !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit());
    numeric && !(first_nonzero && num.starts_with('0')) && words.split(' ').all(non_space)
}

impl EventCode {
    /// The code from its text: a standard variant, or `Other` when the text matches the
    /// schema's `EventCodeType` patterns (at most 64 characters), else `None`.
    pub fn parse(s: &str) -> Option<EventCode> {
        if let Some((_, code)) = STANDARD_EVENTS.iter().find(|(text, _)| *text == s) {
            return Some(code.clone());
        }
        let method = s.strip_prefix("M ").is_some_and(non_space);
        let valid = is_numbered_words(s, false) || method || is_vendor_form(s);
        (valid && s.chars().count() <= 64).then(|| EventCode::Other(s.to_string()))
    }

    /// The text on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            EventCode::Other(s) => s,
            code => STANDARD_EVENTS
                .iter()
                .find(|(_, c)| c == code)
                .map_or("", |(text, _)| text),
        }
    }

    /// Whether the code is valid: a standard one, or an `Other` that [`EventCode::parse`]
    /// would produce (so that it writes and reads back as itself).
    pub fn is_valid(&self) -> bool {
        match self {
            EventCode::Other(s) => EventCode::parse(s).as_ref() == Some(self),
            _ => true,
        }
    }
}

impl fmt::Display for EventCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parameter's notification attribute (TR-069 A.3.2.4): 0-2, and 3-6 for lightweight
/// notifications (cwmp-1-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Notification {
    /// 0: off.
    Off = 0,
    /// 1: passive (in the next Inform).
    Passive = 1,
    /// 2: active (starts a session).
    Active = 2,
    /// 3: passive lightweight.
    PassiveLightweight = 3,
    /// 4: passive with passive lightweight.
    PassivePassiveLightweight = 4,
    /// 5: active lightweight.
    ActiveLightweight = 5,
    /// 6: passive with active lightweight.
    PassiveActiveLightweight = 6,
}

impl Notification {
    /// From the number, `None` outside 0-6.
    pub fn from_number(n: i64) -> Option<Notification> {
        Some(match n {
            0 => Notification::Off,
            1 => Notification::Passive,
            2 => Notification::Active,
            3 => Notification::PassiveLightweight,
            4 => Notification::PassivePassiveLightweight,
            5 => Notification::ActiveLightweight,
            6 => Notification::PassiveActiveLightweight,
            _ => return None,
        })
    }

    /// The number.
    pub fn number(self) -> u8 {
        self as u8
    }
}

/// The `Status` of SetParameterValues, AddObject, DeleteObject, Download and Upload responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// 0: done and applied.
    Applied = 0,
    /// 1: accepted, applied or completed later (after a reboot, or when the transfer ends).
    Pending = 1,
}

impl Status {
    /// From the number, `None` unless 0 or 1.
    pub fn from_number(n: i64) -> Option<Status> {
        match n {
            0 => Some(Status::Applied),
            1 => Some(Status::Pending),
            _ => None,
        }
    }

    /// The number.
    pub fn number(self) -> u8 {
        self as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times() {
        for ok in [
            "2026-11-27T06:10:36Z",
            "0001-01-01T00:00:00Z",
            "2024-02-29T23:59:59.123456+14:00",
            "2025-12-31T00:00:00-05:30",
            "2025-12-31T00:00:00",
        ] {
            assert!(DateTime::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "",
            "2025-02-29T00:00:00Z",
            "2025-13-01T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "2025-01-01T24:00:00Z",
            "2025-01-01 00:00:00Z",
            "2025-01-01T00:00:00.Z",
            "2025-01-01T00:00:00+15:00",
            "2025-01-01T00:00:00z",
            "2025-1-01T00:00:00Z",
            "2025-01-01T00:00:00Z ",
        ] {
            assert!(DateTime::parse(bad).is_none(), "{bad:?}");
        }
        let t = DateTime::from_unix(1_700_000_000).unwrap();
        assert_eq!(t.as_str(), "2023-11-14T22:13:20Z");
        assert_eq!(t.to_unix(), 1_700_000_000);
        assert_eq!(
            DateTime::parse("2023-11-14T23:13:20+01:00").unwrap().to_unix(),
            1_700_000_000
        );
        assert!(DateTime::unknown().is_unknown());
        assert_eq!(
            DateTime::parse(DateTime::UNKNOWN).unwrap().to_unix(),
            -62_135_596_800
        );
    }

    #[test]
    fn lexical_forms() {
        assert!(ValueType::Int.is_valid(" -2147483648 "));
        assert!(!ValueType::Int.is_valid("2147483648"));
        assert!(ValueType::UnsignedInt.is_valid("4294967295"));
        assert!(!ValueType::UnsignedInt.is_valid("-1"));
        assert!(!ValueType::UnsignedInt.is_valid(""));
        assert!(ValueType::Boolean.is_valid("1") && !ValueType::Boolean.is_valid("yes"));
        assert!(ValueType::Base64Binary.is_valid("aGVsbG8="));
        assert!(ValueType::Base64Binary.is_valid(""));
        assert!(!ValueType::Base64Binary.is_valid("aGVsbG9="));
        assert!(!ValueType::SoapEncBase64.is_valid("aGVsbG8"));
        assert!(ValueType::HexBinary.is_valid("00fF") && !ValueType::HexBinary.is_valid("0"));
        assert!(ValueType::String.is_valid(" anything "));
    }

    #[test]
    fn event_codes() {
        assert_eq!(EventCode::parse("1 BOOT"), Some(EventCode::Boot));
        assert_eq!(EventCode::Boot.as_str(), "1 BOOT");
        assert_eq!(EventCode::MScheduleInform.to_string(), "M ScheduleInform");
        for (text, code) in STANDARD_EVENTS.iter() {
            assert_eq!(EventCode::parse(text).as_ref(), Some(code));
            assert_eq!(code.as_str(), *text);
        }
        for other in [
            "X 00256D MyEvent",
            "M X_VENDOR_Thing",
            "13 NEW THING",
            "X vendor.example something",
        ] {
            assert_eq!(EventCode::parse(other), Some(EventCode::Other(other.into())));
        }
        for bad in ["", "BOOT", "1  BOOT", "1 BOOT ", "M ", "X 00256D", "M Two Words"] {
            assert_eq!(EventCode::parse(bad), None, "{bad:?}");
        }
        assert!(!EventCode::Other("1 BOOT".into()).is_valid());
    }
}
