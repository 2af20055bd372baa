//! The CPE side of one CWMP session (TR-069 3.7.1), sans-IO: the caller moves the bytes
//! over HTTP and answers the ACS's requests from its data model; this module decides what
//! goes in each POST and when the session is over.
//!
//! The flow: POST the Inform; expect an InformResponse; POST each queued CPE request
//! (TransferComplete, GetRPCMethods) and take its response; POST an empty body; then every
//! HTTP response holding an ACS request is handed to the caller, whose answer is the next
//! POST, until the ACS sends an empty HTTP response. Envelopes the CPE cannot decode are
//! answered with the fault their error maps to, without bothering the caller.
//!
//! ```
//! use cwmp::session::{CpeSession, Step};
//! use cwmp::{Body, DateTime, DeviceId, Envelope, Event, EventCode, Inform};
//!
//! let inform = Inform {
//!     device_id: DeviceId { manufacturer: "dgw".into(), oui: "00256D".into(),
//!                           product_class: "DGW".into(), serial_number: "1".into() },
//!     events: vec![Event { code: EventCode::Boot, command_key: String::new() }],
//!     max_envelopes: 1, current_time: DateTime::unknown(), retry_count: 0, parameters: vec![],
//! };
//! let mut session = CpeSession::new(inform);
//! let first_post = session.start();
//! assert!(first_post.contains("<cwmp:Inform>"));
//! // The ACS answers InformResponse: nothing queued, so the CPE posts an empty body.
//! let acs = Envelope::new(Body::InformResponse { max_envelopes: 1 }).to_xml();
//! assert_eq!(session.on_http_response(acs.as_bytes()).unwrap(), Step::Send(String::new()));
//! // The ACS's empty response ends the session.
//! assert_eq!(session.on_http_response(b"").unwrap(), Step::Done);
//! ```

use std::collections::VecDeque;
use std::fmt;

use crate::error::{Role, SoapError};
use crate::messages::{Body, CwmpVersion, Envelope, Fault, Inform, MessageKind};

/// What the caller does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// POST this body to the ACS (an empty string is the empty POST) and feed the HTTP
    /// response to [`CpeSession::on_http_response`].
    Send(String),
    /// The ACS asks something: execute it and pass the answer (a response or
    /// [`Body::Fault`]) to [`CpeSession::respond`]. Boxed: envelopes are large next to the
    /// other steps.
    Request(Box<Envelope>),
    /// The session is over: close the connection.
    Done,
}

/// Why a session failed. The caller retries later (TR-069 3.2.1.1 back-off) with a new
/// session and `RetryCount` incremented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionError {
    /// The ACS's answer to the Inform or to a CPE request could not be decoded.
    Soap(SoapError),
    /// The ACS answered the Inform with a fault (8005: retry later).
    InformFault(Fault),
    /// The ACS sent something the session did not expect at this point.
    Unexpected {
        /// What the session was waiting for.
        expected: &'static str,
        /// The message that came (`"empty"` for an empty HTTP body).
        got: &'static str,
    },
    /// The caller called a method out of turn (a bug in the caller).
    OutOfTurn,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Soap(e) => write!(f, "ACS response not understood: {e}"),
            SessionError::InformFault(fault) => write!(f, "ACS refused the Inform: {}", fault.code),
            SessionError::Unexpected { expected, got } => {
                write!(f, "expected {expected} from the ACS, got {got}")
            }
            SessionError::OutOfTurn => write!(f, "session method called out of turn"),
        }
    }
}

impl std::error::Error for SessionError {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    New,
    AwaitInformResponse,
    /// A CPE request is out; its response is due.
    AwaitCpeResponse,
    /// The empty POST or a response to the ACS is out; the ACS's next request (or nothing) is due.
    AwaitAcsRequest,
    /// An ACS request was handed to the caller; its answer is due.
    AwaitCallerAnswer,
    Done,
}

/// One CPE session. Create one per connection to the ACS.
#[derive(Debug)]
pub struct CpeSession {
    state: State,
    inform: Option<Inform>,
    queued: VecDeque<Body>,
    /// The CPE request awaiting its response.
    in_flight: Option<Body>,
    /// CPE requests the ACS answered with a fault, for the caller to retry in a later session.
    failed: Vec<(Body, Fault)>,
    /// The namespace of the ACS's last message; the CPE starts in cwmp-1-2 (TR-069 3.5 lets
    /// the ACS answer in an older one, and the CPE then follows).
    version: CwmpVersion,
    /// The request being answered, for its cwmp:ID.
    answering: Option<Envelope>,
    next_id: u64,
    /// The ACS's `cwmp:HoldRequests` is on: the CPE sends no request of its
    /// own (TR-069 3.7.1.4; A.3.1.1) until a message from the ACS lifts it.
    hold: bool,
}

impl CpeSession {
    /// A session that will send this Inform.
    pub fn new(inform: Inform) -> CpeSession {
        CpeSession {
            state: State::New,
            inform: Some(inform),
            queued: VecDeque::new(),
            in_flight: None,
            failed: Vec::new(),
            version: CwmpVersion::default(),
            answering: None,
            next_id: 1,
            hold: false,
        }
    }

    /// Queues a CPE request (TransferComplete, GetRPCMethods) to send after the
    /// InformResponse, in order.
    pub fn queue_request(&mut self, body: Body) {
        self.queued.push_back(body);
    }

    /// The first POST: the Inform.
    pub fn start(&mut self) -> String {
        match (self.state, self.inform.take()) {
            (State::New, Some(inform)) => {
                self.state = State::AwaitInformResponse;
                self.envelope(Body::Inform(inform)).to_xml()
            }
            _ => {
                self.state = State::Done;
                String::new()
            }
        }
    }

    /// CPE requests the ACS refused with a fault (8005 asks to retry them in a later session).
    pub fn take_failed_requests(&mut self) -> Vec<(Body, Fault)> {
        std::mem::take(&mut self.failed)
    }

    /// CPE requests never sent (the ACS held requests until the session
    /// ended): still owed, for a later session.
    pub fn take_unsent_requests(&mut self) -> Vec<Body> {
        self.queued.drain(..).collect()
    }

    /// Whether the session is over.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    fn envelope(&mut self, body: Body) -> Envelope {
        let id = self.next_id.to_string();
        self.next_id += 1;
        Envelope {
            version: self.version,
            id: Some(id),
            hold_requests: None,
            body,
        }
    }

    /// The next CPE request, or the empty POST once there are none.
    fn send_next_request(&mut self) -> Step {
        match self.queued.pop_front() {
            Some(body) => {
                self.in_flight = Some(body.clone());
                self.state = State::AwaitCpeResponse;
                Step::Send(self.envelope(body).to_xml())
            }
            None => {
                self.state = State::AwaitAcsRequest;
                Step::Send(String::new())
            }
        }
    }

    /// Feeds the body of the ACS's HTTP response (empty when it sent none).
    pub fn on_http_response(&mut self, body: &[u8]) -> Result<Step, SessionError> {
        let empty = body.iter().all(u8::is_ascii_whitespace);
        let result = match self.state {
            State::AwaitInformResponse => self.on_inform_response(body, empty),
            State::AwaitCpeResponse => self.on_cpe_response(body, empty),
            // The ACS has nothing more: that ends its hold (it sends no
            // further message that could), so the CPE's held requests go
            // now; with none, the session is over.
            State::AwaitAcsRequest if empty && !self.queued.is_empty() => {
                self.hold = false;
                Ok(self.send_next_request())
            }
            State::AwaitAcsRequest if empty => {
                self.state = State::Done;
                Ok(Step::Done)
            }
            State::AwaitAcsRequest => Ok(self.on_acs_request(body)),
            State::New | State::AwaitCallerAnswer | State::Done => Err(SessionError::OutOfTurn),
        };
        if result.is_err() {
            self.state = State::Done;
        }
        result
    }

    fn on_inform_response(&mut self, body: &[u8], empty: bool) -> Result<Step, SessionError> {
        if empty {
            return Err(SessionError::Unexpected {
                expected: "InformResponse",
                got: "empty",
            });
        }
        let env = Envelope::parse(body).map_err(SessionError::Soap)?;
        self.version = env.version;
        self.hold = env.hold_requests == Some(true);
        match env.body {
            Body::InformResponse { .. } if self.hold => {
                self.state = State::AwaitAcsRequest;
                Ok(Step::Send(String::new()))
            }
            Body::InformResponse { .. } => Ok(self.send_next_request()),
            Body::Fault(fault) => Err(SessionError::InformFault(fault)),
            other => Err(SessionError::Unexpected {
                expected: "InformResponse",
                got: other.method_name(),
            }),
        }
    }

    fn on_cpe_response(&mut self, body: &[u8], empty: bool) -> Result<Step, SessionError> {
        let request = self.in_flight.take().ok_or(SessionError::OutOfTurn)?;
        let expected = match &request {
            Body::TransferComplete(_) => "TransferCompleteResponse",
            Body::GetRpcMethods => "GetRPCMethodsResponse",
            _ => "a response",
        };
        if empty {
            return Err(SessionError::Unexpected {
                expected,
                got: "empty",
            });
        }
        let env = Envelope::parse(body).map_err(SessionError::Soap)?;
        match env.body {
            Body::Fault(fault) => self.failed.push((request, fault)),
            b if b.kind() == MessageKind::Response
                && (expected == "a response" || b.method_name() == expected) => {}
            other => {
                return Err(SessionError::Unexpected {
                    expected,
                    got: other.method_name(),
                })
            }
        }
        Ok(self.send_next_request())
    }

    fn on_acs_request(&mut self, body: &[u8]) -> Step {
        match Envelope::parse(body) {
            Ok(env) if env.body.kind() == MessageKind::Request => {
                self.version = env.version;
                self.hold = env.hold_requests == Some(true);
                self.answering = Some(env.clone());
                self.state = State::AwaitCallerAnswer;
                Step::Request(Box::new(env))
            }
            // A response or fault where a request belongs: the ACS is confused; say so with
            // a fault rather than dropping the session.
            Ok(env) => {
                self.version = env.version;
                let reply = env.reply(Body::Fault(Fault::new(crate::error::FaultCode::REQUEST_DENIED)));
                Step::Send(reply.to_xml())
            }
            // Undecodable: answer with the fault the error maps to (9000 for an unknown
            // method, 9003 for bad arguments, 9004 for oversize) and keep going.
            Err(e) => {
                let fault = Envelope {
                    version: self.version,
                    id: None,
                    hold_requests: None,
                    body: Body::Fault(e.to_fault(Role::Cpe)),
                };
                Step::Send(fault.to_xml())
            }
        }
    }

    /// The caller's answer to the request of the last [`Step::Request`]: a response or a
    /// fault. Returns the body to POST.
    pub fn respond(&mut self, answer: Body) -> Result<String, SessionError> {
        if self.state != State::AwaitCallerAnswer {
            return Err(SessionError::OutOfTurn);
        }
        let request = self.answering.take().ok_or(SessionError::OutOfTurn)?;
        self.state = State::AwaitAcsRequest;
        Ok(request.reply(answer).to_xml())
    }
}
