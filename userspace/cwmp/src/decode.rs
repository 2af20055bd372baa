//! From the element tree to typed messages.
//!
//! Lenient where real peers differ and nothing is lost: any prefixes, children in any order,
//! message children unqualified or in the cwmp namespace, `soap-enc:arrayType` absent or
//! wrong (items are counted), white space around numbers, names and booleans, unknown
//! headers that need not be understood. Strict everywhere else: unknown or duplicated
//! elements, missing required ones, out-of-range values and every schema length.

use crate::error::{shorten, FaultCode, SoapError};
use crate::messages::*;
use crate::types::{parse_bool, DateTime, EventCode, Notification, Status, ValueType};
use crate::xml::{is_xml_space, parse_document, Elem, Ns};

type R<T> = Result<T, SoapError>;

/// Parses and validates one envelope.
pub(crate) fn decode(input: &[u8]) -> R<Envelope> {
    let root = parse_document(input)?;
    if root.ns != Ns::SoapEnv || root.local != "Envelope" {
        return Err(SoapError::NotSoapEnvelope);
    }
    no_text(&root)?;
    let (mut header, mut body) = (None, None);
    for child in &root.children {
        match (child.ns, child.local.as_str()) {
            (Ns::SoapEnv, "Header") if header.is_none() && body.is_none() => header = Some(child),
            (Ns::SoapEnv, "Body") if body.is_none() => body = Some(child),
            _ => return Err(unexpected(child)),
        }
    }
    let body = body.ok_or(SoapError::Missing { element: "Body" })?;
    let (mut id, mut hold_requests) = (None, None);
    for h in header.map_or(&[][..], |h| &h.children[..]) {
        match (h.ns, h.local.as_str()) {
            (Ns::Cwmp(_), "ID") => {
                if id.is_some() {
                    return Err(SoapError::Duplicate { element: "ID" });
                }
                id = Some(leaf(h)?.to_string());
            }
            (Ns::Cwmp(_), "HoldRequests") => {
                if hold_requests.is_some() {
                    return Err(SoapError::Duplicate {
                        element: "HoldRequests",
                    });
                }
                hold_requests = Some(boolean(h, "HoldRequests")?);
            }
            // Deprecated (NoMoreRequests) or CWMP 1.4 negotiation headers sent with
            // mustUnderstand="0": nothing to do for a 1.2 peer.
            (Ns::Cwmp(_), "NoMoreRequests" | "SessionTimeout" | "SupportedCWMPVersions") => {}
            _ if matches!(h.must_understand.as_deref(), Some("1" | "true")) => {
                return Err(SoapError::MustUnderstand {
                    header: shorten(&h.local),
                });
            }
            _ => {}
        }
    }
    no_text(body)?;
    let method = match body.children.as_slice() {
        [one] => one,
        [] => {
            return Err(SoapError::Missing {
                element: "message in Body",
            })
        }
        [_, second, ..] => return Err(unexpected(second)),
    };
    let (version, body) = decode_body(method)?;
    let envelope = Envelope {
        version,
        id,
        hold_requests,
        body,
    };
    envelope.validate()?;
    Ok(envelope)
}

fn unexpected(e: &Elem) -> SoapError {
    SoapError::Unexpected {
        element: shorten(&e.local),
    }
}

/// Structural elements hold only elements and white space.
fn no_text(e: &Elem) -> R<()> {
    if e.text.trim_matches(is_xml_space).is_empty() {
        Ok(())
    } else {
        Err(SoapError::Unexpected {
            element: format!("text in {}", shorten(&e.local)),
        })
    }
}

/// Message children are unqualified in the schema; some CPEs qualify them with the cwmp
/// prefix, which loses nothing, so both are read.
fn is_field_ns(ns: Ns) -> bool {
    matches!(ns, Ns::None | Ns::Cwmp(_))
}

/// The children of a struct, by name: each at most once, no others.
fn fields<'a, const N: usize>(e: &'a Elem, names: [&'static str; N]) -> R<[Option<&'a Elem>; N]> {
    no_text(e)?;
    let mut found = [None; N];
    for child in &e.children {
        let slot = names
            .iter()
            .position(|n| *n == child.local)
            .filter(|_| is_field_ns(child.ns));
        let Some(i) = slot else {
            return Err(unexpected(child));
        };
        if found[i].is_some() {
            return Err(SoapError::Duplicate { element: names[i] });
        }
        found[i] = Some(child);
    }
    Ok(found)
}

fn req<'a>(f: Option<&'a Elem>, element: &'static str) -> R<&'a Elem> {
    f.ok_or(SoapError::Missing { element })
}

/// The text of an element that must have no children.
fn leaf(e: &Elem) -> R<&str> {
    match e.children.first() {
        Some(child) => Err(unexpected(child)),
        None => Ok(&e.text),
    }
}

fn invalid(element: &'static str, reason: &'static str) -> SoapError {
    SoapError::InvalidValue { element, reason }
}

/// A free-text field (CommandKey, URL, ...): kept exactly as sent.
fn string(f: Option<&Elem>, element: &'static str) -> R<String> {
    Ok(leaf(req(f, element)?)?.to_string())
}

/// A name-like field (parameter names, paths): surrounding white space dropped.
fn name(f: Option<&Elem>, element: &'static str) -> R<String> {
    Ok(trimmed(req(f, element)?)?.to_string())
}

fn trimmed(e: &Elem) -> R<&str> {
    Ok(leaf(e)?.trim_matches(is_xml_space))
}

fn unsigned(f: Option<&Elem>, element: &'static str) -> R<u32> {
    let t = trimmed(req(f, element)?)?;
    match t.parse::<u32>() {
        Ok(n) if !t.starts_with('+') => Ok(n),
        _ => Err(invalid(element, "not an unsignedInt")),
    }
}

fn int(f: Option<&Elem>, element: &'static str) -> R<i64> {
    trimmed(req(f, element)?)?
        .parse::<i32>()
        .map(i64::from)
        .map_err(|_| invalid(element, "not an int"))
}

fn boolean(e: &Elem, element: &'static str) -> R<bool> {
    parse_bool(trimmed(e)?).ok_or(invalid(element, "not a boolean"))
}

fn bool_field(f: Option<&Elem>, element: &'static str) -> R<bool> {
    boolean(req(f, element)?, element)
}

fn date_time(f: Option<&Elem>, element: &'static str) -> R<DateTime> {
    DateTime::parse(trimmed(req(f, element)?)?).ok_or(invalid(element, "not a dateTime"))
}

fn status(f: Option<&Elem>, element: &'static str) -> R<Status> {
    Status::from_number(int(f, element)?).ok_or(invalid(element, "not 0 or 1"))
}

fn notification(f: Option<&Elem>) -> R<Notification> {
    Notification::from_number(int(f, "Notification")?).ok_or(invalid("Notification", "not 0 to 6"))
}

/// The items of a SOAP-encoded array, all named `item`.
fn items<'a>(f: Option<&'a Elem>, element: &'static str, item: &str) -> R<&'a [Elem]> {
    let e = req(f, element)?;
    no_text(e)?;
    match e.children.iter().find(|c| c.local != item || !is_field_ns(c.ns)) {
        Some(bad) => Err(unexpected(bad)),
        None => Ok(&e.children),
    }
}

/// An array of strings: items are `<string>`, which some peers qualify as `xsd:string` or
/// `soap-enc:string`.
fn strings(f: Option<&Elem>, element: &'static str) -> R<Vec<String>> {
    let e = req(f, element)?;
    no_text(e)?;
    let string_ns = |ns| matches!(ns, Ns::None | Ns::Cwmp(_) | Ns::Xsd | Ns::SoapEnc);
    e.children
        .iter()
        .map(|c| match c.local == "string" && string_ns(c.ns) {
            true => Ok(trimmed(c)?.to_string()),
            false => Err(unexpected(c)),
        })
        .collect()
}

fn parameter_values(f: Option<&Elem>) -> R<Vec<ParameterValue>> {
    items(f, "ParameterList", "ParameterValueStruct")?
        .iter()
        .map(|s| {
            let [n, v] = fields(s, ["Name", "Value"])?;
            let name = name(n, "Name")?;
            let v = req(v, "Value")?;
            let value_type = match &v.xsi_type {
                None => None,
                Some((ns, local)) => {
                    let known = match ns {
                        Ns::Xsd => ValueType::from_resolved(true, local),
                        Ns::SoapEnc => ValueType::from_resolved(false, local),
                        _ => None,
                    };
                    Some(known.ok_or_else(|| SoapError::InvalidParameterType { name: shorten(&name) })?)
                }
            };
            let value = leaf(v)?.to_string();
            Ok(ParameterValue {
                name,
                value,
                value_type,
            })
        })
        .collect()
}

fn transfer_response(e: &Elem) -> R<TransferResponse> {
    let [s, start, complete] = fields(e, ["Status", "StartTime", "CompleteTime"])?;
    Ok(TransferResponse {
        status: status(s, "Status")?,
        start_time: date_time(start, "StartTime")?,
        complete_time: date_time(complete, "CompleteTime")?,
    })
}

fn object(e: &Elem) -> R<(String, String)> {
    let [o, k] = fields(e, ["ObjectName", "ParameterKey"])?;
    Ok((name(o, "ObjectName")?, string(k, "ParameterKey")?))
}

fn fault_code(f: Option<&Elem>) -> R<FaultCode> {
    FaultCode::new(unsigned(f, "FaultCode")?).ok_or(invalid("FaultCode", "not a CWMP fault code"))
}

/// The SOAP Fault: `faultcode` and `faultstring` must be there but are not kept (they follow
/// from the CWMP code); the `cwmp:Fault` in `detail` is the message.
fn soap_fault(e: &Elem) -> R<(CwmpVersion, Body)> {
    let [code, string, _actor, detail] = fields(e, ["faultcode", "faultstring", "faultactor", "detail"])?;
    req(code, "faultcode")?;
    req(string, "faultstring")?;
    let detail = req(detail, "detail")?;
    no_text(detail)?;
    let cwmp_fault = match detail.children.as_slice() {
        [] => {
            return Err(SoapError::Missing {
                element: "cwmp:Fault",
            })
        }
        [one] => one,
        [_, second, ..] => return Err(unexpected(second)),
    };
    let Ns::Cwmp(version) = cwmp_fault.ns else {
        return Err(unexpected(cwmp_fault));
    };
    if cwmp_fault.local != "Fault" {
        return Err(unexpected(cwmp_fault));
    }
    no_text(cwmp_fault)?;
    let (mut code, mut string, mut spv) = (None, None, Vec::new());
    for c in &cwmp_fault.children {
        match c.local.as_str() {
            _ if !is_field_ns(c.ns) => return Err(unexpected(c)),
            "FaultCode" if code.is_none() => code = Some(fault_code(Some(c))?),
            "FaultString" if string.is_none() => string = Some(leaf(c)?.to_string()),
            "SetParameterValuesFault" => {
                let [n, fc, fs] = fields(c, ["ParameterName", "FaultCode", "FaultString"])?;
                spv.push(SetParameterValuesFault {
                    parameter_name: name(n, "ParameterName")?,
                    code: fault_code(fc)?,
                    string: fs.map(leaf).transpose()?.unwrap_or_default().to_string(),
                });
            }
            _ => return Err(unexpected(c)),
        }
    }
    let fault = Fault {
        code: code.ok_or(SoapError::Missing { element: "FaultCode" })?,
        string: string.unwrap_or_default(),
        set_parameter_values_faults: spv,
    };
    Ok((version, Body::Fault(fault)))
}

fn decode_body(e: &Elem) -> R<(CwmpVersion, Body)> {
    let version = match e.ns {
        Ns::Cwmp(v) => v,
        Ns::SoapEnv if e.local == "Fault" => return soap_fault(e),
        _ => {
            return Err(SoapError::UnknownMethod {
                name: shorten(&e.local),
            })
        }
    };
    let body = match e.local.as_str() {
        "Inform" => {
            let [d, ev, me, ct, rc, pl] = fields(
                e,
                [
                    "DeviceId",
                    "Event",
                    "MaxEnvelopes",
                    "CurrentTime",
                    "RetryCount",
                    "ParameterList",
                ],
            )?;
            let [m, o, p, s] = fields(
                req(d, "DeviceId")?,
                ["Manufacturer", "OUI", "ProductClass", "SerialNumber"],
            )?;
            let device_id = DeviceId {
                manufacturer: string(m, "Manufacturer")?,
                oui: name(o, "OUI")?,
                product_class: string(p, "ProductClass")?,
                serial_number: string(s, "SerialNumber")?,
            };
            let events = items(ev, "Event", "EventStruct")?
                .iter()
                .map(|s| {
                    let [c, k] = fields(s, ["EventCode", "CommandKey"])?;
                    let code = EventCode::parse(&name(c, "EventCode")?)
                        .ok_or(invalid("EventCode", "not an event code"))?;
                    Ok(Event {
                        code,
                        command_key: string(k, "CommandKey")?,
                    })
                })
                .collect::<R<Vec<_>>>()?;
            Body::Inform(Inform {
                device_id,
                events,
                max_envelopes: unsigned(me, "MaxEnvelopes")?,
                current_time: date_time(ct, "CurrentTime")?,
                retry_count: unsigned(rc, "RetryCount")?,
                parameters: parameter_values(pl)?,
            })
        }
        "InformResponse" => {
            let [m] = fields(e, ["MaxEnvelopes"])?;
            Body::InformResponse {
                max_envelopes: unsigned(m, "MaxEnvelopes")?,
            }
        }
        "TransferComplete" => {
            let [k, f, start, complete] =
                fields(e, ["CommandKey", "FaultStruct", "StartTime", "CompleteTime"])?;
            let [fc, fs] = fields(req(f, "FaultStruct")?, ["FaultCode", "FaultString"])?;
            let code = unsigned(fc, "FaultCode")?;
            Body::TransferComplete(TransferComplete {
                command_key: string(k, "CommandKey")?,
                fault: TransferFault {
                    code,
                    string: string(fs, "FaultString")?,
                },
                start_time: date_time(start, "StartTime")?,
                complete_time: date_time(complete, "CompleteTime")?,
            })
        }
        "TransferCompleteResponse" => empty(e, Body::TransferCompleteResponse)?,
        "GetRPCMethods" => empty(e, Body::GetRpcMethods)?,
        "GetRPCMethodsResponse" => {
            let [m] = fields(e, ["MethodList"])?;
            Body::GetRpcMethodsResponse(strings(m, "MethodList")?)
        }
        "GetParameterNames" => {
            let [p, n] = fields(e, ["ParameterPath", "NextLevel"])?;
            Body::GetParameterNames {
                parameter_path: name(p, "ParameterPath")?,
                next_level: bool_field(n, "NextLevel")?,
            }
        }
        "GetParameterNamesResponse" => {
            let [l] = fields(e, ["ParameterList"])?;
            let list = items(l, "ParameterList", "ParameterInfoStruct")?
                .iter()
                .map(|s| {
                    let [n, w] = fields(s, ["Name", "Writable"])?;
                    Ok(ParameterInfo {
                        name: name(n, "Name")?,
                        writable: bool_field(w, "Writable")?,
                    })
                })
                .collect::<R<_>>()?;
            Body::GetParameterNamesResponse(list)
        }
        "GetParameterValues" => {
            let [n] = fields(e, ["ParameterNames"])?;
            Body::GetParameterValues(strings(n, "ParameterNames")?)
        }
        "GetParameterValuesResponse" => {
            let [l] = fields(e, ["ParameterList"])?;
            Body::GetParameterValuesResponse(parameter_values(l)?)
        }
        "SetParameterValues" => {
            let [l, k] = fields(e, ["ParameterList", "ParameterKey"])?;
            Body::SetParameterValues {
                parameters: parameter_values(l)?,
                parameter_key: string(k, "ParameterKey")?,
            }
        }
        "SetParameterValuesResponse" => {
            let [s] = fields(e, ["Status"])?;
            Body::SetParameterValuesResponse(status(s, "Status")?)
        }
        "GetParameterAttributes" => {
            let [n] = fields(e, ["ParameterNames"])?;
            Body::GetParameterAttributes(strings(n, "ParameterNames")?)
        }
        "GetParameterAttributesResponse" => {
            let [l] = fields(e, ["ParameterList"])?;
            let list = items(l, "ParameterList", "ParameterAttributeStruct")?
                .iter()
                .map(|s| {
                    let [n, no, a] = fields(s, ["Name", "Notification", "AccessList"])?;
                    Ok(ParameterAttribute {
                        name: name(n, "Name")?,
                        notification: notification(no)?,
                        access_list: strings(a, "AccessList")?,
                    })
                })
                .collect::<R<_>>()?;
            Body::GetParameterAttributesResponse(list)
        }
        "SetParameterAttributes" => {
            let [l] = fields(e, ["ParameterList"])?;
            let list = items(l, "ParameterList", "SetParameterAttributesStruct")?
                .iter()
                .map(|s| {
                    let [n, nc, no, ac, a] = fields(
                        s,
                        [
                            "Name",
                            "NotificationChange",
                            "Notification",
                            "AccessListChange",
                            "AccessList",
                        ],
                    )?;
                    Ok(SetParameterAttributesStruct {
                        name: name(n, "Name")?,
                        notification_change: bool_field(nc, "NotificationChange")?,
                        notification: notification(no)?,
                        access_list_change: bool_field(ac, "AccessListChange")?,
                        access_list: strings(a, "AccessList")?,
                    })
                })
                .collect::<R<_>>()?;
            Body::SetParameterAttributes(list)
        }
        "SetParameterAttributesResponse" => empty(e, Body::SetParameterAttributesResponse)?,
        "AddObject" => {
            let (object_name, parameter_key) = object(e)?;
            Body::AddObject {
                object_name,
                parameter_key,
            }
        }
        "AddObjectResponse" => {
            let [i, s] = fields(e, ["InstanceNumber", "Status"])?;
            Body::AddObjectResponse {
                instance_number: unsigned(i, "InstanceNumber")?,
                status: status(s, "Status")?,
            }
        }
        "DeleteObject" => {
            let (object_name, parameter_key) = object(e)?;
            Body::DeleteObject {
                object_name,
                parameter_key,
            }
        }
        "DeleteObjectResponse" => {
            let [s] = fields(e, ["Status"])?;
            Body::DeleteObjectResponse(status(s, "Status")?)
        }
        "Download" => {
            let [k, t, u, un, pw, size, target, delay, ok, fail] = fields(
                e,
                [
                    "CommandKey",
                    "FileType",
                    "URL",
                    "Username",
                    "Password",
                    "FileSize",
                    "TargetFileName",
                    "DelaySeconds",
                    "SuccessURL",
                    "FailureURL",
                ],
            )?;
            Body::Download(Download {
                command_key: string(k, "CommandKey")?,
                file_type: name(t, "FileType")?,
                url: name(u, "URL")?,
                username: string(un, "Username")?,
                password: string(pw, "Password")?,
                file_size: unsigned(size, "FileSize")?,
                target_file_name: string(target, "TargetFileName")?,
                delay_seconds: unsigned(delay, "DelaySeconds")?,
                success_url: name(ok, "SuccessURL")?,
                failure_url: name(fail, "FailureURL")?,
            })
        }
        "DownloadResponse" => Body::DownloadResponse(transfer_response(e)?),
        "Upload" => {
            let [k, t, u, un, pw, delay] = fields(
                e,
                [
                    "CommandKey",
                    "FileType",
                    "URL",
                    "Username",
                    "Password",
                    "DelaySeconds",
                ],
            )?;
            Body::Upload(Upload {
                command_key: string(k, "CommandKey")?,
                file_type: name(t, "FileType")?,
                url: name(u, "URL")?,
                username: string(un, "Username")?,
                password: string(pw, "Password")?,
                delay_seconds: unsigned(delay, "DelaySeconds")?,
            })
        }
        "UploadResponse" => Body::UploadResponse(transfer_response(e)?),
        "Reboot" => {
            let [k] = fields(e, ["CommandKey"])?;
            Body::Reboot {
                command_key: string(k, "CommandKey")?,
            }
        }
        "RebootResponse" => empty(e, Body::RebootResponse)?,
        "FactoryReset" => empty(e, Body::FactoryReset)?,
        "FactoryResetResponse" => empty(e, Body::FactoryResetResponse)?,
        "ScheduleInform" => {
            let [d, k] = fields(e, ["DelaySeconds", "CommandKey"])?;
            Body::ScheduleInform {
                delay_seconds: unsigned(d, "DelaySeconds")?,
                command_key: string(k, "CommandKey")?,
            }
        }
        "ScheduleInformResponse" => empty(e, Body::ScheduleInformResponse)?,
        other => return Err(SoapError::UnknownMethod { name: shorten(other) }),
    };
    Ok((version, body))
}

/// A message with no arguments.
fn empty(e: &Elem, body: Body) -> R<Body> {
    fields(e, [])?;
    Ok(body)
}
