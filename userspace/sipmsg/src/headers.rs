//! The header list and comma-separated values.

use crate::is_token_char;

/// Headers in message order, names as written. Lookups are case-insensitive and treat a compact
/// form and its full name as the same header (`v` is `Via`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

/// The full name for a compact form (RFC 3261 7.3.3, plus `o` from RFC 6665), or the name itself.
pub(crate) fn expand(name: &str) -> &str {
    if name.len() != 1 {
        return name;
    }
    match name.as_bytes().first().map(u8::to_ascii_lowercase) {
        Some(b'c') => "Content-Type",
        Some(b'e') => "Content-Encoding",
        Some(b'f') => "From",
        Some(b'i') => "Call-ID",
        Some(b'k') => "Supported",
        Some(b'l') => "Content-Length",
        Some(b'm') => "Contact",
        Some(b'o') => "Event",
        Some(b's') => "Subject",
        Some(b't') => "To",
        Some(b'v') => "Via",
        _ => name,
    }
}

/// Whether two header names mean the same header.
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    expand(a).eq_ignore_ascii_case(expand(b))
}

/// Makes a value safe to write on one header line: control characters (CR, LF, NUL...) become
/// spaces, so a value can never start a new header line; surrounding spaces go.
fn clean_value(v: &str) -> String {
    let v: String = v
        .chars()
        .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
        .collect();
    v.trim_matches([' ', '\t']).to_string()
}

impl Headers {
    /// The first value of a header.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| same_name(n, name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, in order (one per header line: see [`split_list`] for values
    /// that are comma-separated lists).
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.0
            .iter()
            .filter(move |(n, _)| same_name(n, name))
            .map(|(_, v)| v.as_str())
    }

    /// Appends a header. Characters that are not token characters are dropped from the name
    /// (nothing is added if none is left) and control characters in the value become spaces:
    /// values from elsewhere can never inject a header line.
    pub fn push(&mut self, name: &str, value: &str) {
        let name: String = name
            .bytes()
            .filter(|&b| is_token_char(b))
            .map(char::from)
            .collect();
        if !name.is_empty() {
            self.0.push((name, clean_value(value)));
        }
    }

    /// Appends a header already known to be valid (from the parser).
    pub(crate) fn push_raw(&mut self, name: String, value: String) {
        self.0.push((name, value));
    }

    /// Replaces every value of a header by one, where the first one was (or at the end), with
    /// the same sanitizing as [`Headers::push`].
    pub fn set(&mut self, name: &str, value: &str) {
        let value = clean_value(value);
        let mut found = false;
        self.0.retain_mut(|(n, v)| {
            if !same_name(n, name) {
                true
            } else if !found {
                found = true;
                v.clone_from(&value);
                true
            } else {
                false
            }
        });
        if !found {
            self.push(name, &value);
        }
    }

    /// Removes every value of a header.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !same_name(n, name));
    }

    /// All headers, in order, as (name, value).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The number of header lines.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Splits a comma-separated header value (Via, Contact, Allow, Supported...) into its elements,
/// trimmed, ignoring commas inside quoted strings and `<...>`; empty elements are dropped.
pub fn split_list(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped, mut angle) = (0, false, false, false);
    for (i, b) in value.bytes().enumerate() {
        if escaped {
            escaped = false;
        } else if quoted {
            match b {
                b'\\' => escaped = true,
                b'"' => quoted = false,
                _ => {}
            }
        } else if angle {
            angle = b != b'>';
        } else {
            match b {
                b'"' => quoted = true,
                b'<' => angle = true,
                b',' => {
                    out.push(value.get(start..i).unwrap_or(""));
                    start = i + 1;
                }
                _ => {}
            }
        }
    }
    out.push(value.get(start..).unwrap_or(""));
    out.into_iter()
        .map(|s| s.trim_matches([' ', '\t']))
        .filter(|s| !s.is_empty())
        .collect()
}
