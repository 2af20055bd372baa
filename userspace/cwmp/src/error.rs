//! Decoding errors and the CWMP fault codes they map to.

use std::fmt;

use crate::messages::Fault;

/// A CWMP fault code (TR-069 Amendment 6, A.5): 8000-8899 from the ACS, 9000-9899 from the CPE.
///
/// The range check is in the constructor so that every `FaultCode` writes schema-valid XML.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FaultCode(u32);

impl FaultCode {
    /// 8000 (ACS): Method not supported.
    pub const ACS_METHOD_NOT_SUPPORTED: FaultCode = FaultCode(8000);
    /// 8001 (ACS): Request denied (no reason specified).
    pub const ACS_REQUEST_DENIED: FaultCode = FaultCode(8001);
    /// 8002 (ACS): Internal error.
    pub const ACS_INTERNAL_ERROR: FaultCode = FaultCode(8002);
    /// 8003 (ACS): Invalid arguments.
    pub const ACS_INVALID_ARGUMENTS: FaultCode = FaultCode(8003);
    /// 8004 (ACS): Resources exceeded.
    pub const ACS_RESOURCES_EXCEEDED: FaultCode = FaultCode(8004);
    /// 8005 (ACS): Retry request.
    pub const ACS_RETRY_REQUEST: FaultCode = FaultCode(8005);
    /// 9000: Method not supported.
    pub const METHOD_NOT_SUPPORTED: FaultCode = FaultCode(9000);
    /// 9001: Request denied (no reason specified).
    pub const REQUEST_DENIED: FaultCode = FaultCode(9001);
    /// 9002: Internal error.
    pub const INTERNAL_ERROR: FaultCode = FaultCode(9002);
    /// 9003: Invalid arguments.
    pub const INVALID_ARGUMENTS: FaultCode = FaultCode(9003);
    /// 9004: Resources exceeded.
    pub const RESOURCES_EXCEEDED: FaultCode = FaultCode(9004);
    /// 9005: Invalid parameter name.
    pub const INVALID_PARAMETER_NAME: FaultCode = FaultCode(9005);
    /// 9006: Invalid parameter type.
    pub const INVALID_PARAMETER_TYPE: FaultCode = FaultCode(9006);
    /// 9007: Invalid parameter value.
    pub const INVALID_PARAMETER_VALUE: FaultCode = FaultCode(9007);
    /// 9008: Attempt to set a non-writable parameter.
    pub const NON_WRITABLE_PARAMETER: FaultCode = FaultCode(9008);
    /// 9009: Notification request rejected.
    pub const NOTIFICATION_REJECTED: FaultCode = FaultCode(9009);
    /// 9010: File transfer failure (download failure).
    pub const DOWNLOAD_FAILURE: FaultCode = FaultCode(9010);
    /// 9011: Upload failure.
    pub const UPLOAD_FAILURE: FaultCode = FaultCode(9011);
    /// 9012: File transfer server authentication failure.
    pub const FILE_TRANSFER_AUTH_FAILURE: FaultCode = FaultCode(9012);
    /// 9013: Unsupported protocol for file transfer.
    pub const UNSUPPORTED_PROTOCOL: FaultCode = FaultCode(9013);
    /// 9014: File transfer failure: unable to join multicast group.
    pub const MULTICAST_JOIN_FAILURE: FaultCode = FaultCode(9014);
    /// 9015: File transfer failure: unable to contact file server.
    pub const CONTACT_SERVER_FAILURE: FaultCode = FaultCode(9015);
    /// 9016: File transfer failure: unable to access file.
    pub const ACCESS_FILE_FAILURE: FaultCode = FaultCode(9016);
    /// 9017: File transfer failure: unable to complete download.
    pub const INCOMPLETE_DOWNLOAD: FaultCode = FaultCode(9017);
    /// 9018: File transfer failure: file corrupted.
    pub const FILE_CORRUPTED: FaultCode = FaultCode(9018);
    /// 9019: File transfer failure: file authentication failure.
    pub const FILE_AUTH_FAILURE: FaultCode = FaultCode(9019);

    /// A fault code in the ranges the schema allows (8000-8899, 9000-9899), else `None`.
    pub const fn new(code: u32) -> Option<FaultCode> {
        match code {
            8000..=8899 | 9000..=9899 => Some(FaultCode(code)),
            _ => None,
        }
    }

    /// The number.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// Whether the code is one a CPE sends (9000-9899); the others are the ACS's.
    pub const fn is_cpe(self) -> bool {
        self.0 >= 9000
    }

    /// The standard fault string of TR-069 A.5.1/A.5.2, or a generic one for vendor codes.
    pub fn description(self) -> &'static str {
        match self.0 {
            8000 | 9000 => "Method not supported",
            8001 | 9001 => "Request denied (no reason specified)",
            8002 | 9002 => "Internal error",
            8003 | 9003 => "Invalid arguments",
            8004 | 9004 => "Resources exceeded",
            8005 => "Retry request",
            9005 => "Invalid parameter name",
            9006 => "Invalid parameter type",
            9007 => "Invalid parameter value",
            9008 => "Attempt to set a non-writable parameter",
            9009 => "Notification request rejected",
            9010 => "Download failure",
            9011 => "Upload failure",
            9012 => "File transfer server authentication failure",
            9013 => "Unsupported protocol for file transfer",
            9014 => "Download failure: unable to join multicast group",
            9015 => "Download failure: unable to contact file server",
            9016 => "Download failure: unable to access file",
            9017 => "Download failure: unable to complete download",
            9018 => "Download failure: file corrupted",
            9019 => "Download failure: file authentication failure",
            9800..=9899 | 8800..=8899 => "Vendor fault",
            _ => "Fault",
        }
    }

    /// The SOAP `faultcode` TR-069 A.5 assigns to this code: `Client` when the request was at
    /// fault (bad arguments, names, types, values, non-writable), `Server` otherwise.
    pub fn soap_fault_code(self) -> &'static str {
        match self.0 {
            8003 | 9003 | 9005 | 9006 | 9007 | 9008 => "Client",
            _ => "Server",
        }
    }
}

impl fmt::Display for FaultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.description())
    }
}

/// Which side of the session received the bad envelope: it decides whether the answer is a
/// 9xxx (CPE) or 8xxx (ACS) fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The CPE (the gateway) received it from the ACS.
    Cpe,
    /// The ACS received it from a CPE.
    Acs,
}

/// Why an envelope was refused.
///
/// Messages never contain element text (values could be passwords); names of elements and
/// parameters from the input are shown shortened to 64 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SoapError {
    /// The envelope is larger than [`crate::MAX_ENVELOPE`].
    TooLarge {
        /// Its size in bytes.
        size: usize,
    },
    /// Elements nest deeper than [`crate::MAX_DEPTH`].
    TooDeep,
    /// An element has more than [`crate::MAX_LIST`] children.
    TooManyItems {
        /// The element's local name.
        element: String,
    },
    /// The bytes are not UTF-8, or the XML declaration names another encoding.
    NotUtf8,
    /// A document type declaration (DTD): refused, so no entity can be declared or expanded.
    Dtd,
    /// The XML is not well-formed (or uses an undeclared prefix, an unknown entity, a
    /// character XML forbids).
    Malformed {
        /// Byte offset near the error.
        position: u64,
        /// What is wrong, without quoting the input.
        reason: &'static str,
    },
    /// The root is not a SOAP 1.1 `Envelope` (wrong element or namespace, e.g. SOAP 1.2).
    NotSoapEnvelope,
    /// The Body holds an element that is no CWMP method this crate knows (or a method in a
    /// namespace other than `urn:dslforum-org:cwmp-1-x`).
    UnknownMethod {
        /// The element's local name.
        name: String,
    },
    /// A header the receiver must understand (`mustUnderstand="1"`) but does not.
    MustUnderstand {
        /// The header element's local name.
        header: String,
    },
    /// A required element is missing.
    Missing {
        /// Its name.
        element: &'static str,
    },
    /// An element that does not belong where it is.
    Unexpected {
        /// Its local name.
        element: String,
    },
    /// An element that may appear once appears twice.
    Duplicate {
        /// Its name.
        element: &'static str,
    },
    /// An element's content breaks the schema: not a number, not a boolean, too long, wrong
    /// pattern, out of range, wrong count.
    InvalidValue {
        /// The element.
        element: &'static str,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A parameter name longer than 256 characters.
    InvalidParameterName {
        /// The name, shortened.
        name: String,
    },
    /// A `Value` whose `xsi:type` is not a CWMP type.
    InvalidParameterType {
        /// The parameter's name.
        name: String,
    },
    /// A `Value` whose text is not of its `xsi:type`, or is too long.
    InvalidParameterValue {
        /// The parameter's name.
        name: String,
    },
}

impl SoapError {
    /// The fault code the receiver answers with (TR-069 A.5): malformed or schema-breaking input
    /// is `Invalid arguments` (9003/8003), limits are `Resources exceeded` (9004/8004), an
    /// unknown method is `Method not supported` (9000/8000), and parameter problems have their
    /// own CPE codes (9005/9006/9007; the ACS has none, so 8003).
    pub fn fault_code(&self, role: Role) -> FaultCode {
        let cpe = match self {
            SoapError::TooLarge { .. } | SoapError::TooDeep | SoapError::TooManyItems { .. } => {
                FaultCode::RESOURCES_EXCEEDED
            }
            SoapError::UnknownMethod { .. } => FaultCode::METHOD_NOT_SUPPORTED,
            SoapError::InvalidParameterName { .. } => FaultCode::INVALID_PARAMETER_NAME,
            SoapError::InvalidParameterType { .. } => FaultCode::INVALID_PARAMETER_TYPE,
            SoapError::InvalidParameterValue { .. } => FaultCode::INVALID_PARAMETER_VALUE,
            _ => FaultCode::INVALID_ARGUMENTS,
        };
        match role {
            Role::Cpe => cpe,
            Role::Acs => match cpe.get() {
                9000 => FaultCode::ACS_METHOD_NOT_SUPPORTED,
                9004 => FaultCode::ACS_RESOURCES_EXCEEDED,
                _ => FaultCode::ACS_INVALID_ARGUMENTS,
            },
        }
    }

    /// The fault to answer with: [`SoapError::fault_code`] and its standard fault string.
    pub fn to_fault(&self, role: Role) -> Fault {
        Fault::new(self.fault_code(role))
    }
}

/// Input names in messages are shortened so that a hostile peer cannot make the logs huge.
fn short(s: &str) -> String {
    const MAX: usize = 64;
    match s.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}...", &s[..at]),
        None => s.to_string(),
    }
}

impl fmt::Display for SoapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SoapError::TooLarge { size } => {
                write!(
                    f,
                    "envelope of {size} bytes exceeds the {} byte limit",
                    crate::MAX_ENVELOPE
                )
            }
            SoapError::TooDeep => write!(f, "elements nest deeper than {}", crate::MAX_DEPTH),
            SoapError::TooManyItems { element } => {
                write!(
                    f,
                    "<{}> has more than {} children",
                    short(element),
                    crate::MAX_LIST
                )
            }
            SoapError::NotUtf8 => write!(f, "envelope is not UTF-8"),
            SoapError::Dtd => write!(f, "document type declarations are refused"),
            SoapError::Malformed { position, reason } => {
                write!(f, "malformed XML near byte {position}: {reason}")
            }
            SoapError::NotSoapEnvelope => write!(f, "root is not a SOAP 1.1 Envelope"),
            SoapError::UnknownMethod { name } => write!(f, "method not supported: {}", short(name)),
            SoapError::MustUnderstand { header } => {
                write!(f, "header <{}> must be understood but is not", short(header))
            }
            SoapError::Missing { element } => write!(f, "missing <{element}>"),
            SoapError::Unexpected { element } => write!(f, "unexpected <{}>", short(element)),
            SoapError::Duplicate { element } => write!(f, "<{element}> appears more than once"),
            SoapError::InvalidValue { element, reason } => write!(f, "invalid <{element}>: {reason}"),
            SoapError::InvalidParameterName { name } => {
                write!(f, "invalid parameter name {}", short(name))
            }
            SoapError::InvalidParameterType { name } => {
                write!(f, "invalid xsi:type for parameter {}", short(name))
            }
            SoapError::InvalidParameterValue { name } => {
                write!(f, "invalid value for parameter {}", short(name))
            }
        }
    }
}

impl std::error::Error for SoapError {}

/// Shortens an input name for an error (public within the crate for the decoder).
pub(crate) fn shorten(s: &str) -> String {
    short(s)
}
