//! From typed messages to the SOAP text.
//!
//! The output is compact (no indentation: fewer bytes on the wire, and white space between
//! elements means nothing to a SOAP peer), declares the five namespaces on the Envelope
//! under the prefixes TR-069's examples use, and gives every array its `soap-enc:arrayType`,
//! which the schema requires.

use crate::messages::*;
use crate::types::{DateTime, Notification, Status};
use crate::xml::{escape_into, NS_SOAP_ENC, NS_SOAP_ENV, NS_XSD, NS_XSI};

struct W(String);

impl W {
    fn open(&mut self, name: &str) {
        self.0.push('<');
        self.0.push_str(name);
        self.0.push('>');
    }

    fn close(&mut self, name: &str) {
        self.0.push_str("</");
        self.0.push_str(name);
        self.0.push('>');
    }

    /// An array element: `<name soap-enc:arrayType="item_type[n]">`.
    fn open_array(&mut self, name: &str, item_type: &str, n: usize) {
        self.0
            .push_str(&format!("<{name} soap-enc:arrayType=\"{item_type}[{n}]\">"));
    }

    fn text(&mut self, name: &str, text: &str) {
        self.open(name);
        escape_into(&mut self.0, text);
        self.close(name);
    }

    fn num(&mut self, name: &str, n: impl std::fmt::Display) {
        self.text(name, &n.to_string());
    }

    fn boolean(&mut self, name: &str, b: bool) {
        self.text(name, if b { "true" } else { "false" });
    }

    fn time(&mut self, name: &str, t: &DateTime) {
        self.text(name, t.as_str());
    }

    fn status(&mut self, s: Status) {
        self.num("Status", s.number());
    }

    fn notification(&mut self, n: Notification) {
        self.num("Notification", n.number());
    }

    fn strings(&mut self, name: &str, list: &[String]) {
        self.open_array(name, "xsd:string", list.len());
        for s in list {
            self.text("string", s);
        }
        self.close(name);
    }

    fn values(&mut self, list: &[ParameterValue]) {
        self.open_array("ParameterList", "cwmp:ParameterValueStruct", list.len());
        for p in list {
            self.open("ParameterValueStruct");
            self.text("Name", &p.name);
            match p.value_type {
                Some(t) => self.0.push_str(&format!("<Value xsi:type=\"{}\">", t.qname())),
                None => self.0.push_str("<Value>"),
            }
            escape_into(&mut self.0, &p.value);
            self.close("Value");
            self.close("ParameterValueStruct");
        }
        self.close("ParameterList");
    }

    fn transfer_response(&mut self, r: &TransferResponse) {
        self.status(r.status);
        self.time("StartTime", &r.start_time);
        self.time("CompleteTime", &r.complete_time);
    }
}

/// Writes the envelope.
pub(crate) fn encode(env: &Envelope) -> String {
    let mut w = W(String::with_capacity(1024));
    w.0.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    w.0.push_str(&format!(
        "<soap-env:Envelope xmlns:soap-env=\"{NS_SOAP_ENV}\" xmlns:soap-enc=\"{NS_SOAP_ENC}\" \
         xmlns:xsd=\"{NS_XSD}\" xmlns:xsi=\"{NS_XSI}\" xmlns:cwmp=\"{}\">",
        env.version.namespace()
    ));
    if env.id.is_some() || env.hold_requests.is_some() {
        w.open("soap-env:Header");
        // mustUnderstand="1" is fixed by the schema for both headers.
        if let Some(id) = &env.id {
            w.0.push_str("<cwmp:ID soap-env:mustUnderstand=\"1\">");
            escape_into(&mut w.0, id);
            w.close("cwmp:ID");
        }
        if let Some(hold) = env.hold_requests {
            w.0.push_str("<cwmp:HoldRequests soap-env:mustUnderstand=\"1\">");
            w.0.push_str(if hold { "1" } else { "0" });
            w.close("cwmp:HoldRequests");
        }
        w.close("soap-env:Header");
    }
    w.open("soap-env:Body");
    body(&mut w, &env.body);
    w.close("soap-env:Body");
    w.close("soap-env:Envelope");
    w.0
}

fn body(w: &mut W, body: &Body) {
    if let Body::Fault(f) = body {
        fault(w, f);
        return;
    }
    let element = format!("cwmp:{}", body.method_name());
    w.open(&element);
    match body {
        Body::Inform(i) => {
            w.open("DeviceId");
            w.text("Manufacturer", &i.device_id.manufacturer);
            w.text("OUI", &i.device_id.oui);
            w.text("ProductClass", &i.device_id.product_class);
            w.text("SerialNumber", &i.device_id.serial_number);
            w.close("DeviceId");
            w.open_array("Event", "cwmp:EventStruct", i.events.len());
            for e in &i.events {
                w.open("EventStruct");
                w.text("EventCode", e.code.as_str());
                w.text("CommandKey", &e.command_key);
                w.close("EventStruct");
            }
            w.close("Event");
            w.num("MaxEnvelopes", i.max_envelopes);
            w.time("CurrentTime", &i.current_time);
            w.num("RetryCount", i.retry_count);
            w.values(&i.parameters);
        }
        Body::TransferComplete(t) => {
            w.text("CommandKey", &t.command_key);
            w.open("FaultStruct");
            w.num("FaultCode", t.fault.code);
            w.text("FaultString", &t.fault.string);
            w.close("FaultStruct");
            w.time("StartTime", &t.start_time);
            w.time("CompleteTime", &t.complete_time);
        }
        Body::InformResponse { max_envelopes } => w.num("MaxEnvelopes", max_envelopes),
        Body::GetRpcMethodsResponse(methods) => w.strings("MethodList", methods),
        Body::GetParameterNames {
            parameter_path,
            next_level,
        } => {
            w.text("ParameterPath", parameter_path);
            w.boolean("NextLevel", *next_level);
        }
        Body::GetParameterValues(names) | Body::GetParameterAttributes(names) => {
            w.strings("ParameterNames", names)
        }
        Body::SetParameterValues {
            parameters,
            parameter_key,
        } => {
            w.values(parameters);
            w.text("ParameterKey", parameter_key);
        }
        Body::SetParameterAttributes(list) => {
            w.open_array("ParameterList", "cwmp:SetParameterAttributesStruct", list.len());
            for s in list {
                w.open("SetParameterAttributesStruct");
                w.text("Name", &s.name);
                w.boolean("NotificationChange", s.notification_change);
                w.notification(s.notification);
                w.boolean("AccessListChange", s.access_list_change);
                w.strings("AccessList", &s.access_list);
                w.close("SetParameterAttributesStruct");
            }
            w.close("ParameterList");
        }
        Body::AddObject {
            object_name,
            parameter_key,
        }
        | Body::DeleteObject {
            object_name,
            parameter_key,
        } => {
            w.text("ObjectName", object_name);
            w.text("ParameterKey", parameter_key);
        }
        Body::Download(d) => {
            w.text("CommandKey", &d.command_key);
            w.text("FileType", &d.file_type);
            w.text("URL", &d.url);
            w.text("Username", &d.username);
            w.text("Password", &d.password);
            w.num("FileSize", d.file_size);
            w.text("TargetFileName", &d.target_file_name);
            w.num("DelaySeconds", d.delay_seconds);
            w.text("SuccessURL", &d.success_url);
            w.text("FailureURL", &d.failure_url);
        }
        Body::Upload(u) => {
            w.text("CommandKey", &u.command_key);
            w.text("FileType", &u.file_type);
            w.text("URL", &u.url);
            w.text("Username", &u.username);
            w.text("Password", &u.password);
            w.num("DelaySeconds", u.delay_seconds);
        }
        Body::Reboot { command_key } => w.text("CommandKey", command_key),
        Body::ScheduleInform {
            delay_seconds,
            command_key,
        } => {
            w.num("DelaySeconds", delay_seconds);
            w.text("CommandKey", command_key);
        }
        Body::GetParameterNamesResponse(list) => {
            w.open_array("ParameterList", "cwmp:ParameterInfoStruct", list.len());
            for p in list {
                w.open("ParameterInfoStruct");
                w.text("Name", &p.name);
                w.boolean("Writable", p.writable);
                w.close("ParameterInfoStruct");
            }
            w.close("ParameterList");
        }
        Body::GetParameterValuesResponse(list) => w.values(list),
        Body::SetParameterValuesResponse(s) | Body::DeleteObjectResponse(s) => w.status(*s),
        Body::GetParameterAttributesResponse(list) => {
            w.open_array("ParameterList", "cwmp:ParameterAttributeStruct", list.len());
            for a in list {
                w.open("ParameterAttributeStruct");
                w.text("Name", &a.name);
                w.notification(a.notification);
                w.strings("AccessList", &a.access_list);
                w.close("ParameterAttributeStruct");
            }
            w.close("ParameterList");
        }
        Body::AddObjectResponse {
            instance_number,
            status,
        } => {
            w.num("InstanceNumber", instance_number);
            w.status(*status);
        }
        Body::DownloadResponse(r) | Body::UploadResponse(r) => w.transfer_response(r),
        Body::GetRpcMethods
        | Body::TransferCompleteResponse
        | Body::FactoryReset
        | Body::SetParameterAttributesResponse
        | Body::RebootResponse
        | Body::FactoryResetResponse
        | Body::ScheduleInformResponse
        | Body::Fault(_) => {}
    }
    w.close(&element);
}

/// SOAP 1.1 Fault: `faultcode`, `faultstring` and `detail` are unqualified (SOAP 1.1 4.4).
fn fault(w: &mut W, f: &Fault) {
    w.open("soap-env:Fault");
    w.text("faultcode", f.code.soap_fault_code());
    w.text("faultstring", "CWMP fault");
    w.open("detail");
    w.open("cwmp:Fault");
    w.num("FaultCode", f.code.get());
    w.text("FaultString", &f.string);
    for s in &f.set_parameter_values_faults {
        w.open("SetParameterValuesFault");
        w.text("ParameterName", &s.parameter_name);
        w.num("FaultCode", s.code.get());
        w.text("FaultString", &s.string);
        w.close("SetParameterValuesFault");
    }
    w.close("cwmp:Fault");
    w.close("detail");
    w.close("soap-env:Fault");
}
