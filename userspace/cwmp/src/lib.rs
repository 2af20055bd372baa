//! CWMP (TR-069) SOAP codec for the dgw gateway and its test ACS.
//!
//! Encodes and decodes every CWMP 1.2 message of TR-069 Amendment 6 that a CPE must support
//! (A.3) plus Upload, FactoryReset and ScheduleInform (A.4), in both directions, and SOAP
//! faults with their `cwmp:Fault` detail. The crate is sans-IO: it turns bytes into an
//! [`Envelope`] and an [`Envelope`] into text; HTTP, sessions, retries and the data model
//! belong to the caller (the `cwmpd` daemon on the CPE side, the test ACS on the other). The
//! CPE's session flow is layered on top, apart from the codec, in [`session`]: bytes in, bytes
//! out, no sockets.
//!
//! ```
//! use cwmp::{Body, Envelope, Role, SoapError, FaultCode};
//!
//! // What an ACS sends (any prefixes, any cwmp-1-x namespace).
//! let wire = br#"<?xml version="1.0"?>
//! <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
//!                   xmlns:cwmp="urn:dslforum-org:cwmp-1-0">
//!   <soapenv:Header><cwmp:ID soapenv:mustUnderstand="1">42</cwmp:ID></soapenv:Header>
//!   <soapenv:Body>
//!     <cwmp:GetParameterValues>
//!       <ParameterNames><string>Device.DeviceInfo.SoftwareVersion</string></ParameterNames>
//!     </cwmp:GetParameterValues>
//!   </soapenv:Body>
//! </soapenv:Envelope>"#;
//! let request = Envelope::parse(wire)?;
//! let Body::GetParameterValues(names) = &request.body else { panic!("not a GPV") };
//! assert_eq!(names, &["Device.DeviceInfo.SoftwareVersion"]);
//!
//! // The answer echoes the ID and uses the ACS's namespace.
//! let value = cwmp::ParameterValue::new(&names[0], "1.0.3", cwmp::ValueType::String);
//! let response = request.reply(Body::GetParameterValuesResponse(vec![value]));
//! let xml = response.to_xml();
//! assert!(xml.contains(r#"soap-enc:arrayType="cwmp:ParameterValueStruct[1]""#));
//! assert_eq!(Envelope::parse(xml.as_bytes())?, response);
//!
//! // A request the CPE cannot parse is answered with the fault the error maps to.
//! let unknown = br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"
//!   xmlns:c="urn:dslforum-org:cwmp-1-2"><s:Body><c:X_Frobnicate/></s:Body></s:Envelope>"#;
//! let err = Envelope::parse(unknown).unwrap_err();
//! assert_eq!(err.fault_code(Role::Cpe), FaultCode::METHOD_NOT_SUPPORTED);
//! let fault = Envelope::new(Body::Fault(err.to_fault(Role::Cpe)));
//! assert!(fault.to_xml().contains("<FaultCode>9000</FaultCode>"));
//! # Ok::<(), SoapError>(())
//! ```
//!
//! # Why quick-xml
//!
//! The XML is tokenized by [`quick_xml`]'s namespace-aware reader rather than a parser of our
//! own: it is small, has no unsafe code on this path, has been fuzzed for years, checks
//! well-formedness (matching end tags, attribute syntax, escapes) and resolves prefixes, and
//! it never fetches or expands anything. On top of it this crate refuses DTDs outright (so
//! no entity can be declared, let alone expanded), caps size, depth and breadth while
//! reading, rejects characters XML forbids, and builds a small tree the message decoders
//! query by namespace URI and local name; prefixes in the input are never compared.
//!
//! # Limits
//!
//! An envelope is refused beyond [`MAX_ENVELOPE`] bytes, [`MAX_DEPTH`] nested elements or
//! [`MAX_LIST`] children of one element; a parameter value beyond [`MAX_VALUE`] bytes; every
//! other string beyond its length in the cwmp-1-2 schema (256 for names and URLs, 64 for
//! file types and device identity, 32 for keys). Errors are [`SoapError`]s, each mapping to
//! the fault the receiver answers with ([`SoapError::fault_code`]).
//!
//! # Secrets
//!
//! `Debug` of [`Download`] and [`Upload`] hides the password, and of [`ParameterValue`] the
//! value of parameters whose name looks secret. Errors never quote element text. The XML
//! itself ([`Envelope::to_xml`], the input bytes) carries them in clear and must not be logged.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod decode;
mod encode;
mod error;
mod messages;
pub mod session;
mod types;
mod xml;

pub use error::{FaultCode, Role, SoapError};
pub use messages::{
    Body, CwmpVersion, DeviceId, Download, Envelope, Event, Fault, Inform, MessageKind, ParameterAttribute,
    ParameterInfo, ParameterValue, SetParameterAttributesStruct, SetParameterValuesFault, TransferComplete,
    TransferFault, TransferResponse, Upload,
};
pub use types::{DateTime, EventCode, Notification, Status, ValueType};

/// Largest envelope accepted, in bytes (256 KiB): a full GetParameterValuesResponse of the
/// gateway's data model fits several times over, and a hostile peer cannot make the CPE hold
/// more.
pub const MAX_ENVELOPE: usize = 256 * 1024;

/// Deepest element nesting accepted. The deepest CWMP message (SetParameterAttributes'
/// AccessList items) is 7 levels; 32 leaves room for vendor headers.
pub const MAX_DEPTH: usize = 32;

/// Most children of one element, so most entries in any list (ParameterList,
/// ParameterNames, ...).
pub const MAX_LIST: usize = 4096;

/// Largest parameter value, in bytes (64 KiB): TR-106's longest strings (certificates,
/// configuration blobs in base64) fit.
pub const MAX_VALUE: usize = 64 * 1024;

impl Envelope {
    /// Decodes and validates one SOAP envelope as received in an HTTP body.
    ///
    /// Any input gives an `Ok` or an `Err`, never a panic. An `Ok` envelope passes
    /// [`Envelope::validate`] and writes back ([`Envelope::to_xml`]) to text that parses to an
    /// equal envelope.
    pub fn parse(input: &[u8]) -> Result<Envelope, SoapError> {
        decode::decode(input)
    }

    /// Encodes the envelope with the `soap-env`, `soap-enc`, `xsd`, `xsi` and `cwmp` prefixes
    /// declared on the root, in [`Envelope::version`]'s namespace. An envelope that passes
    /// [`Envelope::validate`] gives a message valid against the cwmp-1-2 schema (for the
    /// cwmp-1-2 namespace; the older ones have the same shape for these messages).
    pub fn to_xml(&self) -> String {
        encode::encode(self)
    }
}
