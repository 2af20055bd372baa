//! The XML layer: a bounded element tree built from quick-xml's namespace-aware reader, and
//! the escaping used by the writer.
//!
//! The decoder works on a small tree rather than on the event stream because CWMP messages
//! are small (the envelope is capped at [`crate::MAX_ENVELOPE`]) and a tree lets the
//! message decoders look children up by name, accept them in any order and report missing
//! or duplicate ones precisely. Every limit is enforced here, while reading, so that no
//! input can make the tree large or deep.

use quick_xml::events::Event;
use quick_xml::name::{Namespace, QName, ResolveResult};
use quick_xml::reader::NsReader;

use crate::error::{shorten, SoapError};
use crate::messages::CwmpVersion;
use crate::{MAX_DEPTH, MAX_ENVELOPE, MAX_LIST};

/// SOAP 1.1 envelope namespace.
pub(crate) const NS_SOAP_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// SOAP 1.1 encoding namespace.
pub(crate) const NS_SOAP_ENC: &str = "http://schemas.xmlsoap.org/soap/encoding/";
/// XML Schema namespace.
pub(crate) const NS_XSD: &str = "http://www.w3.org/2001/XMLSchema";
/// XML Schema instance namespace.
pub(crate) const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The namespaces the decoder tells apart; everything else is `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ns {
    /// No namespace (CWMP's message children are unqualified).
    None,
    SoapEnv,
    SoapEnc,
    Xsd,
    Xsi,
    Cwmp(CwmpVersion),
    Other,
}

impl Ns {
    fn from_uri(uri: &[u8]) -> Ns {
        match uri {
            b"http://schemas.xmlsoap.org/soap/envelope/" => Ns::SoapEnv,
            b"http://schemas.xmlsoap.org/soap/encoding/" => Ns::SoapEnc,
            b"http://www.w3.org/2001/XMLSchema" => Ns::Xsd,
            b"http://www.w3.org/2001/XMLSchema-instance" => Ns::Xsi,
            _ => std::str::from_utf8(uri)
                .ok()
                .and_then(CwmpVersion::from_namespace)
                .map_or(Ns::Other, Ns::Cwmp),
        }
    }
}

/// One element: its resolved name, the two attributes CWMP gives meaning to, its children
/// and its character data.
#[derive(Debug)]
pub(crate) struct Elem {
    pub ns: Ns,
    pub local: String,
    /// `xsi:type`, its QName value resolved against the namespaces in scope.
    pub xsi_type: Option<(Ns, String)>,
    /// `soap-env:mustUnderstand`, trimmed.
    pub must_understand: Option<String>,
    pub children: Vec<Elem>,
    /// All character data directly inside, unescaped, CDATA included.
    pub text: String,
}

fn malformed(position: u64, reason: &'static str) -> SoapError {
    SoapError::Malformed { position, reason }
}

/// Characters XML 1.0 allows in a document. Checked after unescaping, because quick-xml
/// accepts `&#0;` and raw control characters, and the writer could not write them back.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn check_chars(s: &str, position: u64) -> Result<(), SoapError> {
    if s.chars().all(is_xml_char) {
        Ok(())
    } else {
        Err(malformed(position, "character not allowed in XML"))
    }
}

fn resolve(r: ResolveResult<'_>, position: u64) -> Result<Ns, SoapError> {
    match r {
        ResolveResult::Bound(Namespace(uri)) => Ok(Ns::from_uri(uri)),
        ResolveResult::Unbound => Ok(Ns::None),
        ResolveResult::Unknown(_) => Err(malformed(position, "undeclared namespace prefix")),
    }
}

fn utf8(bytes: &[u8], position: u64) -> Result<&str, SoapError> {
    std::str::from_utf8(bytes).map_err(|_| malformed(position, "name is not UTF-8"))
}

/// Parses a whole document into its root element, enforcing the size, depth, breadth, DTD and
/// encoding rules.
pub(crate) fn parse_document(input: &[u8]) -> Result<Elem, SoapError> {
    if input.len() > MAX_ENVELOPE {
        return Err(SoapError::TooLarge { size: input.len() });
    }
    let text = std::str::from_utf8(input).map_err(|_| SoapError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = NsReader::from_str(text);
    let config = reader.config_mut();
    config.trim_text(false);
    config.expand_empty_elements = true;
    config.check_end_names = true;

    let mut stack: Vec<Elem> = Vec::new();
    let mut root: Option<Elem> = None;
    loop {
        let position = reader.buffer_position();
        // Resolve the namespace at once: quick-xml's answer borrows the reader.
        let next = reader
            .read_resolved_event()
            .map(|(ns, event)| (resolve(ns, position), event));
        let Ok((ns, event)) = next else {
            return Err(malformed(reader.error_position(), "not well-formed"));
        };
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(malformed(position, "content after the root element"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(SoapError::TooDeep);
                }
                let ns = ns?;
                let local = utf8(start.local_name().into_inner(), position)?.to_string();
                let mut elem = Elem {
                    ns,
                    local,
                    xsi_type: None,
                    must_understand: None,
                    children: Vec::new(),
                    text: String::new(),
                };
                for attr in start.attributes() {
                    let attr = attr.map_err(|_| malformed(position, "bad attribute"))?;
                    let value = attr
                        .unescape_value()
                        .map_err(|_| malformed(position, "bad attribute value"))?;
                    check_chars(&value, position)?;
                    let (attr_ns, attr_local) = reader.resolve_attribute(attr.key);
                    let attr_ns = resolve(attr_ns, position)?;
                    match (attr_ns, attr_local.into_inner()) {
                        (Ns::Xsi, b"type") => {
                            let qname = value.trim();
                            let (type_ns, type_local) = reader.resolve_element(QName(qname.as_bytes()));
                            let type_ns = resolve(type_ns, position)?;
                            let type_local = utf8(type_local.into_inner(), position)?.to_string();
                            elem.xsi_type = Some((type_ns, type_local));
                        }
                        (Ns::SoapEnv, b"mustUnderstand") => {
                            elem.must_understand = Some(value.trim().to_string());
                        }
                        // Every other attribute (soap-enc:arrayType, encodingStyle, xmlns, ...)
                        // carries nothing the decoder needs: arrays are counted from their items.
                        _ => {}
                    }
                }
                if let Some(parent) = stack.last() {
                    if parent.children.len() >= MAX_LIST {
                        return Err(SoapError::TooManyItems {
                            element: shorten(&parent.local),
                        });
                    }
                }
                stack.push(elem);
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err(malformed(position, "unmatched end tag"));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Empty(_) => {
                // expand_empty_elements turns these into Start + End.
                return Err(malformed(position, "unexpected empty element event"));
            }
            Event::Text(t) => {
                let s = t
                    .unescape()
                    .map_err(|_| malformed(position, "bad character or entity reference"))?;
                check_chars(&s, position)?;
                match stack.last_mut() {
                    Some(elem) => elem.text.push_str(&s),
                    None if s.trim_matches(is_xml_space).is_empty() => {}
                    None => return Err(malformed(position, "text outside the root element")),
                }
            }
            Event::CData(t) => {
                let s = std::str::from_utf8(&t).map_err(|_| SoapError::NotUtf8)?;
                check_chars(s, position)?;
                match stack.last_mut() {
                    Some(elem) => elem.text.push_str(s),
                    None => return Err(malformed(position, "CDATA outside the root element")),
                }
            }
            Event::Decl(decl) => {
                if position != 0 {
                    return Err(malformed(position, "XML declaration not at the start"));
                }
                if let Some(Ok(encoding)) = decl.encoding() {
                    if !encoding.eq_ignore_ascii_case(b"utf-8") {
                        return Err(SoapError::NotUtf8);
                    }
                }
            }
            Event::DocType(_) => return Err(SoapError::Dtd),
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(malformed(reader.buffer_position(), "unclosed element"));
    }
    root.ok_or_else(|| malformed(0, "no root element"))
}

/// XML's white space (S production): what may surround structure and numbers.
pub(crate) fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Escapes character data. `\r` becomes a character reference, because a raw one would be
/// turned into `\n` by a conforming parser and the value would not survive the round trip;
/// `"` is escaped so the same function serves attribute values.
pub(crate) fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}
