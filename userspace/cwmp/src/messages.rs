//! The CWMP messages (TR-069 Amendment 6, A.3 and A.4) as plain data, and the schema rules
//! they must follow ([`Envelope::validate`]).

use std::fmt;

use crate::error::{shorten, FaultCode, SoapError};
use crate::types::{is_numbered_words, is_vendor_form, DateTime, EventCode, Notification, Status, ValueType};
use crate::MAX_VALUE;

/// The `urn:dslforum-org:cwmp-1-x` namespace a peer used. Replies are written in the namespace
/// of the request (TR-069 3.5: the CPE answers in the version the ACS used).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CwmpVersion {
    /// `urn:dslforum-org:cwmp-1-0` (TR-069 Amendment 1, still what GenieACS sends).
    V1_0,
    /// `urn:dslforum-org:cwmp-1-1`.
    V1_1,
    /// `urn:dslforum-org:cwmp-1-2`, the namespace of CWMP 1.2 to 1.4 and the default.
    #[default]
    V1_2,
    /// `urn:dslforum-org:cwmp-1-3`: not a Broadband Forum namespace (CWMP 1.3 kept 1-2), accepted
    /// because some peers derive it from the protocol version.
    V1_3,
    /// `urn:dslforum-org:cwmp-1-4`: as `V1_3`.
    V1_4,
}

impl CwmpVersion {
    /// The namespace URI.
    pub fn namespace(self) -> &'static str {
        match self {
            CwmpVersion::V1_0 => "urn:dslforum-org:cwmp-1-0",
            CwmpVersion::V1_1 => "urn:dslforum-org:cwmp-1-1",
            CwmpVersion::V1_2 => "urn:dslforum-org:cwmp-1-2",
            CwmpVersion::V1_3 => "urn:dslforum-org:cwmp-1-3",
            CwmpVersion::V1_4 => "urn:dslforum-org:cwmp-1-4",
        }
    }

    /// The version of a namespace URI, `None` if it is not a CWMP one.
    pub fn from_namespace(uri: &str) -> Option<CwmpVersion> {
        [
            CwmpVersion::V1_0,
            CwmpVersion::V1_1,
            CwmpVersion::V1_2,
            CwmpVersion::V1_3,
            CwmpVersion::V1_4,
        ]
        .into_iter()
        .find(|v| v.namespace() == uri)
    }
}

/// One SOAP envelope: the CWMP headers and one message.
///
/// ```
/// use cwmp::{Body, Envelope};
/// let request = Envelope::parse(br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"
///     xmlns:c="urn:dslforum-org:cwmp-1-0"><s:Body><c:Reboot><CommandKey>k</CommandKey></c:Reboot>
///     </s:Body></s:Envelope>"#).unwrap();
/// let reply = request.reply(Body::RebootResponse);
/// assert!(reply.to_xml().contains(r#"xmlns:cwmp="urn:dslforum-org:cwmp-1-0""#));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The namespace the message is (to be) written in.
    pub version: CwmpVersion,
    /// The `cwmp:ID` header, which a response must echo.
    pub id: Option<String>,
    /// The `cwmp:HoldRequests` header (ACS to CPE only): `true` asks the CPE to send no more
    /// requests in this envelope's HTTP response.
    pub hold_requests: Option<bool>,
    /// The message.
    pub body: Body,
}

impl Envelope {
    /// An envelope in the default namespace (cwmp-1-2) with no headers.
    pub fn new(body: Body) -> Envelope {
        Envelope {
            version: CwmpVersion::default(),
            id: None,
            hold_requests: None,
            body,
        }
    }

    /// The same envelope with a `cwmp:ID` header.
    pub fn with_id(mut self, id: impl Into<String>) -> Envelope {
        self.id = Some(id.into());
        self
    }

    /// A response (or fault) to this request: same namespace, same `cwmp:ID`, no HoldRequests.
    pub fn reply(&self, body: Body) -> Envelope {
        Envelope {
            version: self.version,
            id: self.id.clone(),
            hold_requests: None,
            body,
        }
    }

    /// Checks every rule of the schema the types do not enforce themselves (string lengths,
    /// patterns, list sizes, value lexical forms). The decoder runs it on every envelope; run
    /// it on envelopes you build to be sure [`Envelope::to_xml`] writes a schema-valid message.
    pub fn validate(&self) -> Result<(), SoapError> {
        self.body.validate()
    }
}

/// A parameter and its value (`ParameterValueStruct`).
///
/// `Debug` hides the value when the name looks like a secret (its last part contains
/// "password", "passphrase", "secret", "key" or "psk", in any case), so that SetParameterValues
/// requests can be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct ParameterValue {
    /// Full parameter name, at most 256 characters.
    pub name: String,
    /// The value as text, at most [`MAX_VALUE`] bytes.
    pub value: String,
    /// Its `xsi:type`; `None` when the peer sent none (the schema allows it).
    pub value_type: Option<ValueType>,
}

impl ParameterValue {
    /// A value with its type.
    pub fn new(name: impl Into<String>, value: impl Into<String>, value_type: ValueType) -> ParameterValue {
        ParameterValue {
            name: name.into(),
            value: value.into(),
            value_type: Some(value_type),
        }
    }

    /// Whether the name looks like it holds a secret (see the type's documentation).
    pub fn is_secret(&self) -> bool {
        let last = self.name.trim_end_matches('.').rsplit('.').next().unwrap_or("");
        let last = last.to_ascii_lowercase();
        ["password", "passphrase", "secret", "key", "psk"]
            .iter()
            .any(|w| last.contains(w))
    }
}

impl fmt::Debug for ParameterValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ParameterValue");
        d.field("name", &self.name);
        if self.is_secret() {
            d.field("value", &"<redacted>");
        } else {
            d.field("value", &self.value);
        }
        d.field("value_type", &self.value_type).finish()
    }
}

/// `DeviceIdStruct`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DeviceId {
    /// At most 64 characters.
    pub manufacturer: String,
    /// Six upper-case hexadecimal digits.
    pub oui: String,
    /// At most 64 characters.
    pub product_class: String,
    /// At most 64 characters.
    pub serial_number: String,
}

/// `EventStruct`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The event.
    pub code: EventCode,
    /// The CommandKey of the method that caused it (empty if none), at most 32 characters.
    pub command_key: String,
}

/// `Inform` (CPE to ACS, A.3.3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inform {
    /// Who the CPE is.
    pub device_id: DeviceId,
    /// Why it calls, at most 64 events.
    pub events: Vec<Event>,
    /// Always 1 since CWMP 1.1 (the CPE accepts one envelope per HTTP response).
    pub max_envelopes: u32,
    /// The CPE's clock.
    pub current_time: DateTime,
    /// Failed attempts since the last successful session.
    pub retry_count: u32,
    /// The Inform parameters and the changed ones.
    pub parameters: Vec<ParameterValue>,
}

/// `ParameterInfoStruct`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParameterInfo {
    /// Parameter or object name (objects end with a dot), at most 256 characters.
    pub name: String,
    /// Whether it can be set (objects: whether instances can be added or deleted).
    pub writable: bool,
}

/// `SetParameterAttributesStruct`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetParameterAttributesStruct {
    /// Parameter name or partial path, at most 256 characters.
    pub name: String,
    /// Whether to change the notification.
    pub notification_change: bool,
    /// The new notification.
    pub notification: Notification,
    /// Whether to change the access list.
    pub access_list_change: bool,
    /// The new access list; the schema allows only `Subscriber`.
    pub access_list: Vec<String>,
}

/// `ParameterAttributeStruct`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParameterAttribute {
    /// Parameter name, at most 256 characters.
    pub name: String,
    /// Its notification.
    pub notification: Notification,
    /// Who besides the ACS may write it; the schema allows only `Subscriber`.
    pub access_list: Vec<String>,
}

/// `Download` (ACS to CPE, A.3.2.8). `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Download {
    /// Echoed in TransferComplete, at most 32 characters.
    pub command_key: String,
    /// `1 Firmware Upgrade Image`, `3 Vendor Configuration File`, `X OUI ...`, at most 64.
    pub file_type: String,
    /// Where to fetch the file, at most 256 characters.
    pub url: String,
    /// File server user name, at most 256 characters.
    pub username: String,
    /// File server password, at most 256 characters.
    pub password: String,
    /// Size in bytes, 0 when unknown.
    pub file_size: u32,
    /// Name to store it under, at most 256 characters.
    pub target_file_name: String,
    /// Seconds to wait before starting.
    pub delay_seconds: u32,
    /// Where to send the user after success (web content), at most 256 characters.
    pub success_url: String,
    /// Where to send the user after failure, at most 256 characters.
    pub failure_url: String,
}

impl fmt::Debug for Download {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Download")
            .field("command_key", &self.command_key)
            .field("file_type", &self.file_type)
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("file_size", &self.file_size)
            .field("target_file_name", &self.target_file_name)
            .field("delay_seconds", &self.delay_seconds)
            .field("success_url", &self.success_url)
            .field("failure_url", &self.failure_url)
            .finish()
    }
}

/// `Upload` (ACS to CPE, A.4.1.5). `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Upload {
    /// Echoed in TransferComplete, at most 32 characters.
    pub command_key: String,
    /// `1 Vendor Configuration File`, `2 Vendor Log File`, `X OUI ...`, at most 64.
    pub file_type: String,
    /// Where to put the file, at most 256 characters.
    pub url: String,
    /// File server user name, at most 256 characters.
    pub username: String,
    /// File server password, at most 256 characters.
    pub password: String,
    /// Seconds to wait before starting.
    pub delay_seconds: u32,
}

impl fmt::Debug for Upload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upload")
            .field("command_key", &self.command_key)
            .field("file_type", &self.file_type)
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("delay_seconds", &self.delay_seconds)
            .finish()
    }
}

/// `DownloadResponse` and `UploadResponse`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferResponse {
    /// `Applied`: done (times are real); `Pending`: a TransferComplete will follow (times
    /// are [`DateTime::unknown`]).
    pub status: Status,
    /// When the transfer started.
    pub start_time: DateTime,
    /// When it completed.
    pub complete_time: DateTime,
}

/// `TransferCompleteFaultStruct`: code 0 means success.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferFault {
    /// 0, or one of 9001, 9002, 9010-9012, 9014-9020, or 9033-9899 (schema).
    pub code: u32,
    /// Human-readable, at most 256 characters; empty on success.
    pub string: String,
}

impl TransferFault {
    /// Success (code 0, empty string).
    pub fn success() -> TransferFault {
        TransferFault {
            code: 0,
            string: String::new(),
        }
    }

    /// Whether the code is one the schema allows in TransferComplete.
    pub fn code_is_valid(code: u32) -> bool {
        matches!(code, 0 | 9001 | 9002 | 9010..=9012 | 9014..=9020 | 9033..=9899)
    }
}

/// `TransferComplete` (CPE to ACS, A.3.3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferComplete {
    /// The Download's or Upload's CommandKey, at most 32 characters.
    pub command_key: String,
    /// The outcome.
    pub fault: TransferFault,
    /// When the transfer started.
    pub start_time: DateTime,
    /// When it completed.
    pub complete_time: DateTime,
}

/// One `SetParameterValuesFault` in a 9003 fault answering SetParameterValues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetParameterValuesFault {
    /// The parameter that could not be set.
    pub parameter_name: String,
    /// Why (a CPE code, 9000-9899).
    pub code: FaultCode,
    /// Human-readable.
    pub string: String,
}

/// A SOAP Fault with its `cwmp:Fault` detail (A.5). The SOAP `faultcode` (Client/Server) is
/// derived from the code and `faultstring` is always "CWMP fault", as TR-069 specifies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The CWMP fault code.
    pub code: FaultCode,
    /// Human-readable (written even when empty; a missing one reads as empty).
    pub string: String,
    /// Per-parameter faults, for SetParameterValues only.
    pub set_parameter_values_faults: Vec<SetParameterValuesFault>,
}

impl Fault {
    /// A fault with the code's standard string.
    pub fn new(code: FaultCode) -> Fault {
        Fault {
            code,
            string: code.description().to_string(),
            set_parameter_values_faults: Vec::new(),
        }
    }
}

/// The message in an envelope's Body: every CWMP 1.2 method TR-069 requires of a CPE (A.3,
/// plus the optional Upload, FactoryReset and ScheduleInform of A.4), each way, and faults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    // CPE to ACS.
    /// `Inform`.
    Inform(Inform),
    /// `TransferComplete`.
    TransferComplete(TransferComplete),
    /// `GetRPCMethods` (either way).
    GetRpcMethods,
    // ACS responses.
    /// `InformResponse` with its `MaxEnvelopes`.
    InformResponse {
        /// Always 1 since CWMP 1.1.
        max_envelopes: u32,
    },
    /// `TransferCompleteResponse`.
    TransferCompleteResponse,
    /// `GetRPCMethodsResponse` with the method names (at least one, each at most 64).
    GetRpcMethodsResponse(Vec<String>),
    // ACS to CPE.
    /// `GetParameterNames`.
    GetParameterNames {
        /// Full parameter name or partial path (ends with a dot; empty: the whole tree).
        parameter_path: String,
        /// Only the next level below the path.
        next_level: bool,
    },
    /// `GetParameterValues` with the names (at least one).
    GetParameterValues(Vec<String>),
    /// `SetParameterValues`.
    SetParameterValues {
        /// What to set; all or nothing.
        parameters: Vec<ParameterValue>,
        /// The new `ParameterKey`, at most 32 characters.
        parameter_key: String,
    },
    /// `GetParameterAttributes` with the names (at least one).
    GetParameterAttributes(Vec<String>),
    /// `SetParameterAttributes` (at least one entry).
    SetParameterAttributes(Vec<SetParameterAttributesStruct>),
    /// `AddObject`.
    AddObject {
        /// Path of the table, ending with a dot.
        object_name: String,
        /// The new `ParameterKey`.
        parameter_key: String,
    },
    /// `DeleteObject`.
    DeleteObject {
        /// Path of the instance, ending with a dot.
        object_name: String,
        /// The new `ParameterKey`.
        parameter_key: String,
    },
    /// `Download`.
    Download(Download),
    /// `Upload`.
    Upload(Upload),
    /// `Reboot`.
    Reboot {
        /// Reported back in the `M Reboot` event.
        command_key: String,
    },
    /// `FactoryReset`.
    FactoryReset,
    /// `ScheduleInform`.
    ScheduleInform {
        /// Seconds from now.
        delay_seconds: u32,
        /// Reported back in the `M ScheduleInform` event.
        command_key: String,
    },
    // CPE responses.
    /// `GetParameterNamesResponse`.
    GetParameterNamesResponse(Vec<ParameterInfo>),
    /// `GetParameterValuesResponse`.
    GetParameterValuesResponse(Vec<ParameterValue>),
    /// `SetParameterValuesResponse`.
    SetParameterValuesResponse(Status),
    /// `GetParameterAttributesResponse`.
    GetParameterAttributesResponse(Vec<ParameterAttribute>),
    /// `SetParameterAttributesResponse`.
    SetParameterAttributesResponse,
    /// `AddObjectResponse`.
    AddObjectResponse {
        /// The new instance number, at least 1.
        instance_number: u32,
        /// Whether it is applied yet.
        status: Status,
    },
    /// `DeleteObjectResponse`.
    DeleteObjectResponse(Status),
    /// `DownloadResponse`.
    DownloadResponse(TransferResponse),
    /// `UploadResponse`.
    UploadResponse(TransferResponse),
    /// `RebootResponse`.
    RebootResponse,
    /// `FactoryResetResponse`.
    FactoryResetResponse,
    /// `ScheduleInformResponse`.
    ScheduleInformResponse,
    /// A SOAP Fault carrying a `cwmp:Fault`.
    Fault(Fault),
}

/// Whether a message starts an exchange, answers one, or is a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// A request (from either side).
    Request,
    /// A response.
    Response,
    /// A fault (a response that failed).
    Fault,
}

impl Body {
    /// The element name of the message (`"Inform"`, `"GetParameterValuesResponse"`, `"Fault"`).
    pub fn method_name(&self) -> &'static str {
        match self {
            Body::Inform(_) => "Inform",
            Body::TransferComplete(_) => "TransferComplete",
            Body::GetRpcMethods => "GetRPCMethods",
            Body::InformResponse { .. } => "InformResponse",
            Body::TransferCompleteResponse => "TransferCompleteResponse",
            Body::GetRpcMethodsResponse(_) => "GetRPCMethodsResponse",
            Body::GetParameterNames { .. } => "GetParameterNames",
            Body::GetParameterValues(_) => "GetParameterValues",
            Body::SetParameterValues { .. } => "SetParameterValues",
            Body::GetParameterAttributes(_) => "GetParameterAttributes",
            Body::SetParameterAttributes(_) => "SetParameterAttributes",
            Body::AddObject { .. } => "AddObject",
            Body::DeleteObject { .. } => "DeleteObject",
            Body::Download(_) => "Download",
            Body::Upload(_) => "Upload",
            Body::Reboot { .. } => "Reboot",
            Body::FactoryReset => "FactoryReset",
            Body::ScheduleInform { .. } => "ScheduleInform",
            Body::GetParameterNamesResponse(_) => "GetParameterNamesResponse",
            Body::GetParameterValuesResponse(_) => "GetParameterValuesResponse",
            Body::SetParameterValuesResponse(_) => "SetParameterValuesResponse",
            Body::GetParameterAttributesResponse(_) => "GetParameterAttributesResponse",
            Body::SetParameterAttributesResponse => "SetParameterAttributesResponse",
            Body::AddObjectResponse { .. } => "AddObjectResponse",
            Body::DeleteObjectResponse(_) => "DeleteObjectResponse",
            Body::DownloadResponse(_) => "DownloadResponse",
            Body::UploadResponse(_) => "UploadResponse",
            Body::RebootResponse => "RebootResponse",
            Body::FactoryResetResponse => "FactoryResetResponse",
            Body::ScheduleInformResponse => "ScheduleInformResponse",
            Body::Fault(_) => "Fault",
        }
    }

    /// Request, response or fault: what a session needs to know to route the message.
    pub fn kind(&self) -> MessageKind {
        match self {
            Body::Fault(_) => MessageKind::Fault,
            b if b.method_name().ends_with("Response") => MessageKind::Response,
            _ => MessageKind::Request,
        }
    }

    fn validate(&self) -> Result<(), SoapError> {
        match self {
            Body::Inform(i) => {
                let d = &i.device_id;
                max_chars(&d.manufacturer, 64, "Manufacturer")?;
                max_chars(&d.product_class, 64, "ProductClass")?;
                max_chars(&d.serial_number, 64, "SerialNumber")?;
                if d.oui.len() != 6
                    || !d
                        .oui
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
                {
                    return Err(invalid("OUI", "not six upper-case hexadecimal digits"));
                }
                if i.events.len() > 64 {
                    return Err(invalid("Event", "more than 64 events"));
                }
                for e in &i.events {
                    if !e.code.is_valid() {
                        return Err(invalid("EventCode", "not an event code"));
                    }
                    max_chars(&e.command_key, 32, "CommandKey")?;
                }
                values(&i.parameters)
            }
            Body::TransferComplete(t) => {
                max_chars(&t.command_key, 32, "CommandKey")?;
                if !TransferFault::code_is_valid(t.fault.code) {
                    return Err(invalid("FaultCode", "not a TransferComplete fault code"));
                }
                max_chars(&t.fault.string, 256, "FaultString")
            }
            Body::GetRpcMethodsResponse(methods) => {
                if methods.is_empty() {
                    return Err(invalid("MethodList", "empty"));
                }
                methods.iter().try_for_each(|m| max_chars(m, 64, "string"))
            }
            Body::GetParameterNames { parameter_path, .. } => max_chars(parameter_path, 256, "ParameterPath"),
            Body::GetParameterValues(names) | Body::GetParameterAttributes(names) => {
                if names.is_empty() {
                    return Err(invalid("ParameterNames", "empty"));
                }
                names.iter().try_for_each(|n| name(n))
            }
            Body::SetParameterValues {
                parameters,
                parameter_key,
            } => {
                max_chars(parameter_key, 32, "ParameterKey")?;
                values(parameters)
            }
            Body::SetParameterAttributes(list) => {
                if list.is_empty() {
                    return Err(invalid("ParameterList", "empty"));
                }
                list.iter().try_for_each(|s| {
                    name(&s.name)?;
                    access_list(&s.access_list)
                })
            }
            Body::AddObject {
                object_name,
                parameter_key,
            }
            | Body::DeleteObject {
                object_name,
                parameter_key,
            } => {
                max_chars(object_name, 256, "ObjectName")?;
                if !object_name.ends_with('.') {
                    return Err(invalid("ObjectName", "does not end with a dot"));
                }
                max_chars(parameter_key, 32, "ParameterKey")
            }
            Body::Download(d) => {
                max_chars(&d.command_key, 32, "CommandKey")?;
                file_type(&d.file_type)?;
                for (text, element) in [
                    (&d.url, "URL"),
                    (&d.username, "Username"),
                    (&d.password, "Password"),
                    (&d.target_file_name, "TargetFileName"),
                    (&d.success_url, "SuccessURL"),
                    (&d.failure_url, "FailureURL"),
                ] {
                    max_chars(text, 256, element)?;
                }
                Ok(())
            }
            Body::Upload(u) => {
                max_chars(&u.command_key, 32, "CommandKey")?;
                file_type(&u.file_type)?;
                max_chars(&u.url, 256, "URL")?;
                max_chars(&u.username, 256, "Username")?;
                max_chars(&u.password, 256, "Password")
            }
            Body::Reboot { command_key } | Body::ScheduleInform { command_key, .. } => {
                max_chars(command_key, 32, "CommandKey")
            }
            Body::GetParameterNamesResponse(list) => list.iter().try_for_each(|p| name(&p.name)),
            Body::GetParameterValuesResponse(list) => values(list),
            Body::GetParameterAttributesResponse(list) => list.iter().try_for_each(|a| {
                name(&a.name)?;
                access_list(&a.access_list)
            }),
            Body::AddObjectResponse { instance_number, .. } => {
                if *instance_number == 0 {
                    return Err(invalid("InstanceNumber", "must be at least 1"));
                }
                Ok(())
            }
            Body::Fault(f) => {
                if f.set_parameter_values_faults.iter().any(|s| !s.code.is_cpe()) {
                    return Err(invalid("FaultCode", "not a CPE fault code"));
                }
                Ok(())
            }
            Body::GetRpcMethods
            | Body::InformResponse { .. }
            | Body::TransferCompleteResponse
            | Body::FactoryReset
            | Body::SetParameterValuesResponse(_)
            | Body::SetParameterAttributesResponse
            | Body::DeleteObjectResponse(_)
            | Body::DownloadResponse(_)
            | Body::UploadResponse(_)
            | Body::RebootResponse
            | Body::FactoryResetResponse
            | Body::ScheduleInformResponse => Ok(()),
        }
    }
}

fn invalid(element: &'static str, reason: &'static str) -> SoapError {
    SoapError::InvalidValue { element, reason }
}

/// XML Schema's `maxLength` counts characters, not bytes.
fn max_chars(s: &str, max: usize, element: &'static str) -> Result<(), SoapError> {
    if s.chars().nth(max).is_some() {
        return Err(invalid(element, "too long"));
    }
    Ok(())
}

fn name(n: &str) -> Result<(), SoapError> {
    if n.chars().nth(256).is_some() {
        return Err(SoapError::InvalidParameterName { name: shorten(n) });
    }
    Ok(())
}

fn values(list: &[ParameterValue]) -> Result<(), SoapError> {
    for p in list {
        name(&p.name)?;
        let fits = p.value.len() <= MAX_VALUE;
        if !fits || !p.value_type.is_none_or(|t| t.is_valid(&p.value)) {
            return Err(SoapError::InvalidParameterValue {
                name: shorten(&p.name),
            });
        }
    }
    Ok(())
}

fn access_list(list: &[String]) -> Result<(), SoapError> {
    if list.iter().any(|entry| entry != "Subscriber") {
        return Err(invalid("AccessList", "only \"Subscriber\" is defined"));
    }
    Ok(())
}

/// The `DownloadFileType` / `UploadFileType` patterns: `1 Firmware Upgrade Image`-like
/// numbered names (uploads also `3 Vendor Configuration File 2`, covered by the same pattern)
/// or the vendor form.
fn file_type(s: &str) -> Result<(), SoapError> {
    max_chars(s, 64, "FileType")?;
    if is_numbered_words(s, true) || is_vendor_form(s) {
        Ok(())
    } else {
        Err(invalid("FileType", "not a file type"))
    }
}
