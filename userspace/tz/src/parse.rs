//! The `Hoc.StaticTimeZone` grammar: a POSIX TZ string (IEEE 1003.1
//! "TZ" environment variable, with the RFC 8536 extension for rule times)
//! optionally followed by `;` and an IANA zone name.
//!
//! ```text
//! value   = posix [ ";" iana ]
//! posix   = std offset [ dst [ offset ] "," rule "," rule ]
//! std,dst = 3+ ASCII letters | "<" 3+ of [A-Za-z0-9+-] ">"
//! offset  = [ "+" | "-" ] hh [ ":" mm [ ":" ss ] ]      hh 0-24, west positive
//! rule    = ( "M" m "." w "." d | "J" n | n ) [ "/" time ]
//! time    = [ "+" | "-" ] hh [ ":" mm [ ":" ss ] ]      hh 0-167 (RFC 8536)
//! ```
//!
//! Deliberate differences from glibc's permissive parser (all rejected
//! here, with the position of the offending character):
//! * a DST name without rules (glibc then silently applies US rules: its
//!   `posixrules` file's if the image has one, else built-in ones);
//! * offset hours above 24 (glibc silently clamps them to 24);
//! * signs inside rule dates (`M+3.2.0`, which `sscanf` would take);
//! * a missing `,` between the rules, trailing characters after the end
//!   rule, and a leading `:` (a zoneinfo file name, not a rule string).

use std::fmt;

use crate::zone::{DstRules, RuleDate, TimeZone, TransitionRule, DEFAULT_RULE_TIME};

/// Longest accepted value, in characters: the DGW `Hoc.StaticTimeZone`
/// limit, IANA suffix included.
pub const MAX_LEN: usize = 255;

/// Which part of the string an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// The standard-time name (`EST`).
    StdName,
    /// The standard-time offset (`5`).
    StdOffset,
    /// The daylight-saving time name (`EDT`).
    DstName,
    /// The daylight-saving time offset (`4`).
    DstOffset,
    /// The date of the DST start rule (`M3.2.0`).
    StartRule,
    /// The time of the DST start rule (`/02:00:00`).
    StartTime,
    /// The date of the DST end rule (`M11.1.0`).
    EndRule,
    /// The time of the DST end rule.
    EndTime,
    /// The IANA name after `;`.
    IanaName,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::StdName => "standard time name",
            Field::StdOffset => "standard time offset",
            Field::DstName => "daylight time name",
            Field::DstOffset => "daylight time offset",
            Field::StartRule => "DST start rule",
            Field::StartTime => "DST start time",
            Field::EndRule => "DST end rule",
            Field::EndTime => "DST end time",
            Field::IanaName => "IANA zone name",
        })
    }
}

/// What is wrong with a time zone string.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The string is empty.
    Empty,
    /// Longer than [`MAX_LEN`] characters.
    TooLong {
        /// Length of the string, in characters.
        chars: usize,
    },
    /// Starts with `:`, which names a zoneinfo file in glibc; the DGW
    /// parameter holds rules, not file names.
    ZoneFile,
    /// A character (or the end of the string) where something else was
    /// needed.
    Expected {
        /// The part being parsed.
        field: Field,
        /// What would have been accepted there.
        expected: &'static str,
        /// What was there instead; `None` at the end of the string.
        found: Option<char>,
    },
    /// A zone name shorter than the 3 characters POSIX requires.
    NameTooShort {
        /// Which name.
        field: Field,
        /// Its length.
        len: usize,
    },
    /// A number with more digits than its field allows (hours 3, minutes
    /// and seconds 2), even if its value is in range (`EST0005`).
    TooManyDigits {
        /// The part being parsed.
        field: Field,
        /// Which number.
        what: &'static str,
        /// The most digits allowed.
        max: usize,
    },
    /// A `<` with no matching `>`.
    UnclosedName {
        /// Which name.
        field: Field,
    },
    /// A number outside its range.
    OutOfRange {
        /// The part being parsed.
        field: Field,
        /// Which number: "hours", "month", "week"...
        what: &'static str,
        /// The value found (saturated at `u32::MAX`).
        value: u32,
        /// Smallest allowed value.
        min: u32,
        /// Largest allowed value.
        max: u32,
    },
    /// A DST name without `,start,end` rules. POSIX leaves the dates to
    /// the implementation; glibc then applies US rules (its `posixrules`
    /// file's, else built-in `M3.2.0,M11.1.0`), so the result would depend
    /// on the C library rather than on the configuration.
    DstWithoutRules,
    /// Rules after the standard offset but no DST name to switch to.
    RulesWithoutDst,
    /// Characters after a complete rule string.
    Trailing {
        /// The first extra character.
        found: char,
    },
    /// The IANA part after `;` does not have the shape of a zone name.
    BadIanaName {
        /// Why.
        reason: &'static str,
    },
}

/// A time zone string that does not parse: what is wrong and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Index (0-based, in characters) of the character the error is about;
    /// the string length for errors at the end.
    pub position: usize,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::Empty => f.write_str("empty time zone"),
            ParseErrorKind::TooLong { chars } => {
                write!(f, "{chars} characters, at most {MAX_LEN} allowed")
            }
            ParseErrorKind::ZoneFile => f.write_str(
                "a leading ':' names a zoneinfo file; give POSIX rules such as EST5EDT4,M3.2.0/02:00:00,M11.1.0/02:00:00",
            ),
            ParseErrorKind::Expected {
                field,
                expected,
                found,
            } => {
                write!(f, "{field}: expected {expected}, found ")?;
                match found {
                    Some(c) => write!(f, "{c:?}"),
                    None => f.write_str("end of string"),
                }
            }
            ParseErrorKind::NameTooShort { field, len } => {
                write!(f, "{field}: {len} characters, at least 3 needed")
            }
            ParseErrorKind::TooManyDigits { field, what, max } => {
                write!(f, "{field}: {what} take at most {max} digits")
            }
            ParseErrorKind::UnclosedName { field } => write!(f, "{field}: '<' without '>'"),
            ParseErrorKind::OutOfRange {
                field,
                what,
                value,
                min,
                max,
            } => write!(f, "{field}: {what} {value} out of range {min}-{max}"),
            ParseErrorKind::DstWithoutRules => f.write_str(
                "a daylight time name needs ,start[/time],end[/time] rules (e.g. ,M3.2.0/02:00:00,M11.1.0/02:00:00); without them the C library would pick the dates",
            ),
            ParseErrorKind::RulesWithoutDst => f.write_str(
                "DST rules without a daylight time name (e.g. EST5EDT,M3.2.0,M11.1.0)",
            ),
            ParseErrorKind::Trailing { found } => {
                write!(f, "unexpected {found:?} after the end rule")
            }
            ParseErrorKind::BadIanaName { reason } => write!(f, "IANA zone name: {reason}"),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Operators count from 1.
        write!(f, "{} (at character {})", self.kind, self.position + 1)
    }
}

impl std::error::Error for ParseError {}

/// A cursor over the POSIX part. Only ASCII is ever consumed, so byte
/// positions equal character positions up to the first error.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn found(&self) -> Option<char> {
        self.text.get(self.pos..).and_then(|rest| rest.chars().next())
    }

    fn error_at(&self, position: usize, kind: ParseErrorKind) -> ParseError {
        ParseError { position, kind }
    }

    fn expected(&self, field: Field, expected: &'static str) -> ParseError {
        self.error_at(
            self.pos,
            ParseErrorKind::Expected {
                field,
                expected,
                found: self.found(),
            },
        )
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn name(&mut self, field: Field) -> Result<String, ParseError> {
        let start = self.pos;
        if self.eat(b'<') {
            while self
                .peek()
                .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-')
            {
                self.pos += 1;
            }
            match self.peek() {
                Some(b'>') => {}
                None => return Err(self.error_at(start, ParseErrorKind::UnclosedName { field })),
                Some(_) => {
                    return Err(self.expected(field, "letters, digits, '+' or '-' up to '>'"));
                }
            }
            let name = &self.text[start + 1..self.pos];
            self.pos += 1;
            if name.len() < 3 {
                return Err(self.error_at(
                    start,
                    ParseErrorKind::NameTooShort {
                        field,
                        len: name.len(),
                    },
                ));
            }
            return Ok(name.to_owned());
        }
        while self.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
            self.pos += 1;
        }
        let name = &self.text[start..self.pos];
        if name.is_empty() {
            return Err(self.expected(field, "a name of 3 or more letters, or <...>"));
        }
        if name.len() < 3 {
            return Err(self.error_at(
                start,
                ParseErrorKind::NameTooShort {
                    field,
                    len: name.len(),
                },
            ));
        }
        Ok(name.to_owned())
    }

    /// Decimal digits; saturates rather than overflowing so that absurdly
    /// long numbers still get a range error with their position.
    fn number(&mut self, field: Field, expected: &'static str) -> Result<(u32, usize), ParseError> {
        let start = self.pos;
        let mut value: u32 = 0;
        while let Some(b) = self.peek().filter(u8::is_ascii_digit) {
            value = value.saturating_mul(10).saturating_add(u32::from(b - b'0'));
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.expected(field, expected));
        }
        Ok((value, start))
    }

    fn ranged(
        &mut self,
        field: Field,
        what: &'static str,
        expected: &'static str,
        min: u32,
        max: u32,
    ) -> Result<u32, ParseError> {
        self.ranged_digits(field, what, expected, min, max, usize::MAX)
    }

    /// [`ranged`](Self::ranged) with a digit limit. The range is checked
    /// first: "hours 99999 out of range" says more than "too many digits".
    fn ranged_digits(
        &mut self,
        field: Field,
        what: &'static str,
        expected: &'static str,
        min: u32,
        max: u32,
        max_digits: usize,
    ) -> Result<u32, ParseError> {
        let (value, at) = self.number(field, expected)?;
        if value >= min && value <= max && self.pos - at > max_digits {
            return Err(self.error_at(
                at + max_digits,
                ParseErrorKind::TooManyDigits {
                    field,
                    what,
                    max: max_digits,
                },
            ));
        }
        if value < min || value > max {
            return Err(self.error_at(
                at,
                ParseErrorKind::OutOfRange {
                    field,
                    what,
                    value,
                    min,
                    max,
                },
            ));
        }
        Ok(value)
    }

    /// `[+-]hh[:mm[:ss]]` in seconds, sign applied as written.
    fn hms(&mut self, field: Field, max_hours: u32) -> Result<i32, ParseError> {
        let negative = match self.peek() {
            Some(b'-') => {
                self.pos += 1;
                true
            }
            Some(b'+') => {
                self.pos += 1;
                false
            }
            _ => false,
        };
        // Digit limits as in params' checker: hh up to 3 digits (for
        // RFC 8536's 167), mm and ss 2.
        let hours = self.ranged_digits(field, "hours", "hours (hh[:mm[:ss]])", 0, max_hours, 3)?;
        let mut secs = hours * 3600;
        if self.eat(b':') {
            secs += 60 * self.ranged_digits(field, "minutes", "minutes after ':'", 0, 59, 2)?;
            if self.eat(b':') {
                secs += self.ranged_digits(field, "seconds", "seconds after ':'", 0, 59, 2)?;
            }
        }
        // At most 167:59:59 = 604799 s: fits an i32.
        let secs = secs as i32;
        Ok(if negative { -secs } else { secs })
    }

    fn rule(&mut self, date_field: Field, time_field: Field) -> Result<TransitionRule, ParseError> {
        let date = match self.peek() {
            Some(b'M') => {
                self.pos += 1;
                let month = self.ranged(date_field, "month", "a month (1-12)", 1, 12)?;
                if !self.eat(b'.') {
                    return Err(self.expected(date_field, "'.' after the month (Mm.w.d)"));
                }
                let week = self.ranged(date_field, "week", "a week (1-5, 5 = last)", 1, 5)?;
                if !self.eat(b'.') {
                    return Err(self.expected(date_field, "'.' after the week (Mm.w.d)"));
                }
                let weekday =
                    self.ranged(date_field, "day of week", "a day of week (0-6, 0 = Sunday)", 0, 6)?;
                // All three were range-checked to fit a u8.
                RuleDate::MonthWeekDay {
                    month: month as u8,
                    week: week as u8,
                    weekday: weekday as u8,
                }
            }
            Some(b'J') => {
                self.pos += 1;
                let day = self.ranged(date_field, "Julian day", "a day 1-365 after 'J'", 1, 365)?;
                RuleDate::Julian1 { day: day as u16 }
            }
            Some(b) if b.is_ascii_digit() => {
                let day = self.ranged(date_field, "day of year", "a day of year (0-365)", 0, 365)?;
                RuleDate::Julian0 { day: day as u16 }
            }
            _ => return Err(self.expected(date_field, "a date: Mm.w.d, Jn or n")),
        };
        let time = if self.eat(b'/') {
            self.hms(time_field, 167)?
        } else {
            DEFAULT_RULE_TIME
        };
        Ok(TransitionRule { date, time })
    }
}

/// Checks the informational IANA part: `Region/City`-like components of
/// ASCII letters, digits, `_`, `-` and `+`, each starting with a letter
/// (true of every tzdb name, e.g. `Etc/GMT+5`, `America/Port-au-Prince`).
/// Its existence is not checked: the gateway need not carry tzdata.
fn check_iana(name: &str, base: usize) -> Result<(), ParseError> {
    let bad = |offset: usize, reason| ParseError {
        position: base + offset,
        kind: ParseErrorKind::BadIanaName { reason },
    };
    if name.is_empty() {
        return Err(bad(0, "empty after ';'"));
    }
    let mut offset = 0;
    for component in name.split('/') {
        match component.chars().next() {
            None => return Err(bad(offset, "empty component (doubled, leading or trailing '/')")),
            Some(c) if !c.is_ascii_alphabetic() => {
                return Err(bad(offset, "each component must start with a letter"));
            }
            Some(_) => {}
        }
        // Positions count characters; everything before here was ASCII.
        if let Some(i) = component
            .chars()
            .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+')))
        {
            return Err(bad(
                offset + i,
                "only letters, digits, '_', '-', '+' and '/' are allowed",
            ));
        }
        offset += component.len() + 1;
    }
    Ok(())
}

pub(crate) fn parse(s: &str) -> Result<TimeZone, ParseError> {
    if s.is_empty() {
        return Err(ParseError {
            position: 0,
            kind: ParseErrorKind::Empty,
        });
    }
    let chars = s.chars().count();
    if chars > MAX_LEN {
        return Err(ParseError {
            position: MAX_LEN,
            kind: ParseErrorKind::TooLong { chars },
        });
    }
    // ';' cannot occur in a valid POSIX part, so the first one splits.
    let (posix, iana) = match s.split_once(';') {
        Some((p, i)) => (p, Some(i)),
        None => (s, None),
    };
    if posix.starts_with(':') {
        return Err(ParseError {
            position: 0,
            kind: ParseErrorKind::ZoneFile,
        });
    }
    let mut c = Cursor { text: posix, pos: 0 };
    let std_name = c.name(Field::StdName)?;
    // POSIX offsets count west of Greenwich; store east-positive UTC
    // offsets like everything else (tm_gmtoff, TZif, ISO 8601).
    let std_offset = -c.hms(Field::StdOffset, 24)?;
    let dst = match c.peek() {
        None => None,
        Some(b',') => {
            return Err(ParseError {
                position: c.pos,
                kind: ParseErrorKind::RulesWithoutDst,
            })
        }
        Some(_) => {
            let name = c.name(Field::DstName)?;
            let offset = match c.peek() {
                Some(b) if b.is_ascii_digit() || b == b'+' || b == b'-' => -c.hms(Field::DstOffset, 24)?,
                // POSIX: one hour ahead of standard time when omitted.
                _ => std_offset + 3600,
            };
            if c.peek().is_none() {
                return Err(ParseError {
                    position: c.pos,
                    kind: ParseErrorKind::DstWithoutRules,
                });
            }
            if !c.eat(b',') {
                return Err(c.expected(Field::StartRule, "',' before the DST start rule"));
            }
            let start = c.rule(Field::StartRule, Field::StartTime)?;
            if !c.eat(b',') {
                return Err(c.expected(Field::EndRule, "',' and the DST end rule"));
            }
            let end = c.rule(Field::EndRule, Field::EndTime)?;
            Some(DstRules {
                name,
                utc_offset: offset,
                start,
                end,
            })
        }
    };
    if let Some(found) = c.found() {
        if dst.is_some() {
            return Err(c.error_at(c.pos, ParseErrorKind::Trailing { found }));
        }
        // Unreachable: without DST the match above consumed or rejected
        // everything; kept as an error rather than a panic.
        return Err(c.expected(Field::StdOffset, "end of string"));
    }
    if let Some(name) = iana {
        check_iana(name, posix.len() + 1)?;
    }
    Ok(TimeZone {
        std_name,
        std_offset,
        dst,
        iana: iana.map(str::to_owned),
    })
}
