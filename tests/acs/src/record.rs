//! What the ACS records: HTTP exchanges, sessions, uploads, validation results.

use std::path::PathBuf;
use std::time::Duration;

use cwmp::{Body, Envelope, EventCode, Fault, Inform};

/// One HTTP request the ACS (or its file server) received, and what it answered.
///
/// Secrets are removed from the request head: `Authorization` keeps only its scheme
/// (`Digest <redacted>`), `Cookie` only the cookie names. Bodies are kept as received (a
/// SetParameterValues answer may hold test passwords; they are test data).
#[derive(Clone, Debug)]
pub struct HttpExchange {
    /// The connection it came on (numbered from 1 in accept order).
    pub connection: u64,
    /// Request method.
    pub method: String,
    /// Request-target as received.
    pub target: String,
    /// Request header fields, redacted.
    pub headers: Vec<(String, String)>,
    /// Request body (empty for an upload: see [`UploadRecord`]).
    pub body: Vec<u8>,
    /// Status answered; 0 when the ACS closed the connection without answering.
    pub status: u16,
    /// Response header fields (the ACS's own, so nothing secret).
    pub response_headers: Vec<(String, String)>,
    /// Response body for CWMP exchanges; empty for file downloads (see `response_len`).
    pub response_body: Vec<u8>,
    /// Length of the response body sent.
    pub response_len: u64,
}

impl HttpExchange {
    /// The first request header called `name` (any case), redacted as stored.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a session ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// The ACS sent its empty response and the CPE then closed the connection: the normal end.
    Completed,
    /// The CPE closed the connection (or it broke) before the ACS had sent its empty response.
    CpeClosed,
    /// The ACS closed the connection on purpose ([`crate::Behaviour::CloseAfterPosts`]).
    AcsClosed,
    /// The CPE started a new session (a new Inform) on the same connection.
    Replaced,
    /// A POST came without the session cookie and [`crate::AcsOptions::enforce_cookie`] is on:
    /// the ACS answered 403 and closed.
    CookieRefused,
    /// The CPE already had a session open on another connection: answered 503 and closed.
    Overlapping,
    /// Nothing came for [`crate::AcsOptions::idle_timeout`].
    IdleTimeout,
    /// The HTTP framing broke (the text says how).
    HttpError(String),
}

/// The result of checking a session's envelopes with `tests/cwmp-schema/validate`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Validation {
    /// Every envelope the CPE sent is valid against the cwmp-1-2 schema.
    Valid,
    /// At least one is not; the report names the files and what xmllint said.
    Invalid(String),
    /// The validator could not run (xmllint missing): the text says what to install.
    Unavailable(String),
    /// Validation was turned off ([`crate::AcsOptions::validate`]).
    Skipped,
}

/// What the ACS sent where it would normally send a queued request, in a misbehaving session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sent {
    /// A CWMP request from the queue.
    Rpc(Body),
    /// The raw text of a deliberately bad message ([`crate::Behaviour`]), named by the behaviour.
    Raw(&'static str),
}

/// One TR-069 session as the ACS saw it: from the Inform to the end of the connection.
#[derive(Clone, Debug)]
pub struct Session {
    /// Numbered from 1 in the order sessions started.
    pub id: u64,
    /// The connection it ran on.
    pub connection: u64,
    /// The Inform that opened it.
    pub inform: Inform,
    /// The behaviour the ACS had in this session.
    pub behaviour: crate::Behaviour,
    /// Every envelope the CPE sent that parsed, in order (the Inform first).
    pub cpe_messages: Vec<Envelope>,
    /// The CPE's requests after the Inform (TransferComplete, GetRPCMethods, ...), in order.
    pub cpe_requests: Vec<Envelope>,
    /// Each ACS request of the session with the CPE's answer (a response or a fault).
    pub responses: Vec<(Sent, Envelope)>,
    /// ACS requests the CPE never answered (the session ended first, or it sent something else).
    pub unanswered: Vec<Sent>,
    /// Bodies the CPE sent that did not parse, with the decoder's error.
    pub unparsable: Vec<(Vec<u8>, String)>,
    /// Every HTTP exchange of the session, in order.
    pub http: Vec<HttpExchange>,
    /// Where the CPE broke TR-069 as this ACS checks it (missing cookie, SOAPAction or
    /// Content-Type on an empty POST, a request while HoldRequests was on, an empty POST while
    /// a response was due, a response with the wrong cwmp:ID, a second Inform, ...).
    pub violations: Vec<String>,
    /// The files the CPE's envelopes were written to, for the schema check.
    pub files: Vec<PathBuf>,
    /// The schema check of those files.
    pub validation: Validation,
    /// Why it ended.
    pub end: EndReason,
    /// Time from the Inform to the end.
    pub duration: Duration,
}

impl Session {
    /// Whether the Inform carries this event.
    pub fn has_event(&self, code: &EventCode) -> bool {
        self.inform.events.iter().any(|e| &e.code == code)
    }

    /// The value of a parameter the Inform carried (e.g.
    /// `Device.ManagementServer.ConnectionRequestURL`).
    pub fn inform_value(&self, name: &str) -> Option<&str> {
        self.inform
            .parameters
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    }

    /// The CPE's answers to the queued RPCs, in order (answers to deliberately bad messages
    /// left out).
    pub fn rpc_responses(&self) -> Vec<(&Body, &Envelope)> {
        self.responses
            .iter()
            .filter_map(|(sent, env)| match sent {
                Sent::Rpc(b) => Some((b, env)),
                Sent::Raw(_) => None,
            })
            .collect()
    }

    /// The faults the CPE answered with, each with the method it answered.
    pub fn faults(&self) -> Vec<(String, Fault)> {
        self.responses
            .iter()
            .filter_map(|(sent, env)| match &env.body {
                Body::Fault(f) => {
                    let method = match sent {
                        Sent::Rpc(b) => b.method_name().to_string(),
                        Sent::Raw(what) => (*what).to_string(),
                    };
                    Some((method, f.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// The CPE's TransferComplete requests of this session.
    pub fn transfer_completes(&self) -> Vec<&cwmp::TransferComplete> {
        self.cpe_requests
            .iter()
            .filter_map(|e| match &e.body {
                Body::TransferComplete(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    /// Panics, listing the report, unless every envelope the CPE sent is schema-valid.
    pub fn assert_valid(&self) {
        match &self.validation {
            Validation::Valid | Validation::Skipped => {}
            Validation::Invalid(report) => {
                panic!(
                    "session {}: CPE sent schema-invalid envelopes:\n{report}",
                    self.id
                )
            }
            Validation::Unavailable(why) => panic!("session {}: {why}", self.id),
        }
        if !self.unparsable.is_empty() {
            let errors: Vec<&str> = self.unparsable.iter().map(|(_, e)| e.as_str()).collect();
            panic!(
                "session {}: CPE sent envelopes that do not parse: {errors:?}",
                self.id
            );
        }
    }

    /// Panics, listing them, if the CPE broke a TR-069 rule the ACS checks.
    pub fn assert_no_violations(&self) {
        assert!(
            self.violations.is_empty(),
            "session {}: CPE protocol violations:\n  {}",
            self.id,
            self.violations.join("\n  ")
        );
    }
}

/// A file the CPE uploaded (PUT or POST outside the CWMP path).
#[derive(Clone, Debug)]
pub struct UploadRecord {
    /// The connection it came on.
    pub connection: u64,
    /// `PUT` or `POST`.
    pub method: String,
    /// Path as requested (`/upload/NAME`).
    pub path: String,
    /// Request header fields, redacted.
    pub headers: Vec<(String, String)>,
    /// The file.
    pub body: Vec<u8>,
}

impl UploadRecord {
    /// The first request header called `name` (any case), redacted as stored.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
