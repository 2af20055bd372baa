//! Calls: INVITE dialogs as caller (UAC) and callee (UAS), with SDP
//! offer/answer carrying SDES SRTP keys over TLS, ACK, BYE, CANCEL and
//! digest authentication of INVITEs.
//!
//! There are no telephony lines yet: an incoming call to a configured user
//! is answered at once when [`crate::SipdOptions::auto_answer`] is set, and
//! each call reserves a UDP port for its media without sending RTP.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sipmsg::{Message, Method, NameAddr, Uri};
use tokio::sync::{broadcast, Notify};

use crate::config::Transport;
use crate::register::{new_request, outbound_route, AuthState};
use crate::status::{ids, Severity};
use crate::transport::Flow;
use crate::txn::{new_branch, new_tag, our_via, random_hex, ClientTxn, TxnError, T1, T2, TIMER_B};
use crate::Core;

/// The methods sipd accepts.
pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS";

/// Longest a call may ring before the caller gives up.
const RING_LIMIT: Duration = Duration::from_secs(180);
/// Ended calls kept for [`crate::Sipd::calls`].
const KEEP_ENDED: usize = 256;

/// Who started the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// We sent the INVITE.
    Outgoing,
    /// We received it.
    Incoming,
}

/// A call's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallState {
    /// INVITE sent, nothing back yet.
    Calling,
    /// A provisional response (or, incoming, we sent 180).
    Ringing,
    /// 200 OK exchanged.
    Established,
    /// Over.
    Ended,
}

/// What was agreed for the media.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaInfo {
    /// Where the peer wants RTP.
    pub remote: String,
    /// Our reserved RTP port.
    pub local_port: u16,
    /// The codec.
    pub codec: String,
    /// The SRTP suite agreed by SDES, if any (keys are not exposed).
    pub srtp_suite: Option<String>,
}

/// A call, as reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallInfo {
    /// The Call-ID.
    pub call_id: String,
    /// Direction.
    pub direction: Direction,
    /// State.
    pub state: CallState,
    /// Our user.
    pub user: String,
    /// The other party's URI.
    pub remote_uri: String,
    /// Negotiated media (once the answer is known).
    pub media: Option<MediaInfo>,
    /// Why it ended.
    pub end_reason: Option<String>,
    /// The transport of the signalling.
    pub transport: Transport,
}

/// A call changed state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallEvent {
    /// The call.
    pub call_id: String,
    /// Its new state.
    pub state: CallState,
    /// Direction.
    pub direction: Direction,
    /// Details (response code, reason).
    pub detail: String,
}

/// Why a call operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// The calling user is not configured.
    UnknownUser(String),
    /// The target is not a valid user or URI.
    BadTarget(String),
    /// A `sips:` target needs the TLS transport.
    SipsNeedsTls,
    /// No connection to the next hop.
    NoRoute(String),
    /// SDP could not be built.
    Sdp(String),
    /// Sending failed.
    Transport(String),
    /// No such call.
    NoSuchCall,
    /// As many calls as [`crate::SipdOptions::max_calls`] are up.
    TooManyCalls,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::UnknownUser(u) => write!(f, "user {u:?} is not configured"),
            CallError::BadTarget(t) => write!(f, "bad target: {t}"),
            CallError::SipsNeedsTls => f.write_str("a sips: target needs the TLS transport"),
            CallError::NoRoute(w) => write!(f, "no route: {w}"),
            CallError::Sdp(w) => write!(f, "SDP: {w}"),
            CallError::Transport(w) => write!(f, "transport: {w}"),
            CallError::NoSuchCall => f.write_str("no such call"),
            CallError::TooManyCalls => f.write_str("too many calls"),
        }
    }
}

impl std::error::Error for CallError {}

struct Dialog {
    local_tag: String,
    remote_tag: Option<String>,
    /// Our URI (From for outgoing calls, To for incoming), without tag.
    local_uri: String,
    /// Theirs, without tag.
    remote_uri: String,
    remote_target: Option<Uri>,
    route_set: Vec<String>,
    local_cseq: u32,
    flow: Flow,
}

struct Entry {
    info: CallInfo,
    dialog: Dialog,
    /// Outgoing: the INVITE as sent (for CANCEL). Incoming: the INVITE
    /// received (for 487 and matching CANCEL).
    invite: Option<Message>,
    /// Outgoing: the ACK we sent for the 2xx (re-sent if the 2xx repeats).
    ack: Option<Vec<u8>>,
    acked: Arc<Notify>,
    /// Incoming: the answer we sent, re-sent on re-INVITE.
    local_sdp: Option<String>,
    /// Outgoing: hung up before the answer (a 2xx that crosses the CANCEL
    /// is then ended with BYE).
    cancelled: bool,
    _rtp: Option<std::net::UdpSocket>,
}

/// The call table.
pub(crate) struct Calls {
    map: Mutex<HashMap<String, Entry>>,
    events: broadcast::Sender<CallEvent>,
}

impl Default for Calls {
    fn default() -> Self {
        Calls {
            map: Mutex::default(),
            events: broadcast::channel(1024).0,
        }
    }
}

impl Calls {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<CallEvent> {
        self.events.subscribe()
    }

    pub(crate) fn info(&self, id: &str) -> Option<CallInfo> {
        self.lock().get(id).map(|e| e.info.clone())
    }

    /// Calls not yet ended.
    pub(crate) fn active(&self) -> usize {
        self.lock()
            .values()
            .filter(|e| e.info.state != CallState::Ended)
            .count()
    }

    pub(crate) fn all(&self) -> Vec<CallInfo> {
        self.lock().values().map(|e| e.info.clone()).collect()
    }

    fn set_state(&self, id: &str, state: CallState, detail: &str) {
        let mut map = self.lock();
        let Some(e) = map.get_mut(id) else { return };
        if e.info.state == state || e.info.state == CallState::Ended {
            return;
        }
        e.info.state = state;
        if state == CallState::Ended {
            e.info.end_reason = Some(detail.to_string());
            e._rtp = None;
        }
        let ev = CallEvent {
            call_id: id.to_string(),
            state,
            direction: e.info.direction,
            detail: detail.to_string(),
        };
        // Forget the oldest ended calls.
        if map.len() > KEEP_ENDED {
            let ended: Vec<String> = map
                .iter()
                .filter(|(_, e)| e.info.state == CallState::Ended)
                .map(|(k, _)| k.clone())
                .take(map.len() - KEEP_ENDED)
                .collect();
            for k in ended {
                map.remove(&k);
            }
        }
        drop(map);
        let _ = self.events.send(ev);
    }

    /// A response no transaction waits for: a repeated 2xx to our INVITE
    /// lost its ACK, so send it again (RFC 3261 §13.2.2.4).
    pub(crate) async fn stray_response(&self, _core: &Core, flow: &Flow, msg: Message) {
        let is_invite_2xx = msg.code().is_some_and(|c| (200..300).contains(&c))
            && msg.cseq().map(|(_, m)| m == Method::Invite).unwrap_or(false);
        if !is_invite_2xx {
            return;
        }
        let ack = msg
            .call_id()
            .and_then(|id| self.lock().get(id).and_then(|e| e.ack.clone()));
        if let Some(ack) = ack {
            let _ = flow.send(ack).await;
        }
    }
}

fn tag_of(h: Option<&str>) -> Option<String> {
    NameAddr::parse(h?).ok()?.tag().map(str::to_string)
}

fn without_tag(h: &str) -> String {
    match NameAddr::parse(h) {
        Ok(mut n) => {
            n.params.retain(|(k, _)| !k.eq_ignore_ascii_case("tag"));
            n.to_string()
        }
        Err(_) => h.to_string(),
    }
}

fn media_port_socket(ip: IpAddr) -> Result<std::net::UdpSocket, CallError> {
    std::net::UdpSocket::bind((ip, 0)).map_err(|e| CallError::Sdp(format!("no RTP port: {e}")))
}

fn media_info(n: &sdp::Negotiated, local_port: u16) -> MediaInfo {
    MediaInfo {
        remote: if n.remote_address.contains(':') {
            format!("[{}]:{}", n.remote_address, n.remote_port)
        } else {
            format!("{}:{}", n.remote_address, n.remote_port)
        },
        local_port,
        codec: n.codec.name.clone(),
        srtp_suite: n.srtp.as_ref().map(|(ours, _)| ours.suite.as_str().to_string()),
    }
}

fn session_id() -> u64 {
    u64::from_str_radix(&random_hex(6), 16).unwrap_or(1)
}

/// Sends an ACK or other response-less request with our Via.
async fn send_stateless(core: &Core, flow: &Flow, mut req: Message, branch: &str) -> Option<Vec<u8>> {
    req.headers.remove("Via");
    req.headers
        .push("Via", &our_via(flow, core.listen_port, branch).to_string());
    let bytes = req.to_bytes();
    flow.send(bytes.clone()).await.ok()?;
    Some(bytes)
}

/// The flow for in-dialog requests: the dialog's own, or when it closed,
/// the connection to the next hop (the route set leads through it).
async fn dialog_flow(core: &Core, flow: &Flow) -> Option<Flow> {
    if !flow.is_closed() {
        return Some(flow.clone());
    }
    core.flow_to(core.cfg.call_next_hop()?).await
}

/// Builds an in-dialog request.
fn in_dialog(core: &Core, d: &Dialog, call_id: &str, method: Method, cseq: u32) -> Option<Message> {
    let target = d.remote_target.clone()?;
    let to = match &d.remote_tag {
        Some(t) => format!("{};tag={t}", d.remote_uri),
        None => d.remote_uri.clone(),
    };
    let from = format!("{};tag={}", d.local_uri, d.local_tag);
    let mut req = new_request(core, method, target, &from, &to, call_id, cseq);
    for r in &d.route_set {
        req.headers.push("Route", r);
    }
    Some(req)
}

/// Places a call.
pub(crate) async fn place(core: &Arc<Core>, user: &str, target: &str) -> Result<String, CallError> {
    let u = core
        .cfg
        .users
        .iter()
        .find(|u| u.name == user)
        .cloned()
        .ok_or_else(|| CallError::UnknownUser(user.to_string()))?;
    let target_uri = if target.contains(':') {
        Uri::parse(target).map_err(|e| CallError::BadTarget(e.message().to_string()))?
    } else {
        let domain = core
            .cfg
            .domain()
            .ok_or_else(|| CallError::NoRoute("no home domain".into()))?;
        Uri::parse(&format!("sip:{target}@{}", domain.uri_host()))
            .map_err(|e| CallError::BadTarget(e.message().to_string()))?
    };
    if target_uri.scheme == sipmsg::Scheme::Sips && core.cfg.transport != Transport::Tls {
        return Err(CallError::SipsNeedsTls);
    }
    if core.calls.active() >= core.opts.max_calls {
        return Err(CallError::TooManyCalls);
    }
    let hop = core
        .cfg
        .call_next_hop()
        .ok_or_else(|| CallError::NoRoute("no proxy configured".into()))?;
    let flow = core
        .flow_to(hop)
        .await
        .ok_or_else(|| CallError::NoRoute(format!("no connection to {hop}")))?;
    let rtp = media_port_socket(flow.local.ip())?;
    let rtp_port = rtp
        .local_addr()
        .map_err(|e| CallError::Sdp(e.to_string()))?
        .port();
    let secure = flow.transport == Transport::Tls;
    let offer = sdp::offer(
        &sdp::OfferOptions {
            address: flow.local.ip(),
            port: rtp_port,
            session_id: session_id(),
            codecs: sdp::Codec::defaults(),
            srtp: if secure {
                core.opts.srtp
            } else {
                sdp::SrtpPolicy::Off
            },
        },
        secure,
    )
    .map_err(|e| CallError::Sdp(e.to_string()))?;
    let call_id = format!("{}@dgw", random_hex(12));
    let local_tag = new_tag();
    let local_uri = format!("<{}>", core.aor(&u.name));
    let remote_uri = format!("<{target_uri}>");
    let mut invite = new_request(
        core,
        Method::Invite,
        target_uri.clone(),
        &format!("{local_uri};tag={local_tag}"),
        &remote_uri,
        &call_id,
        1,
    );
    if let Some(r) = outbound_route(core) {
        invite.headers.push("Route", &r);
    }
    invite.headers.push("Contact", &core.contact(&u.name, &flow));
    invite.headers.push("Allow", ALLOW);
    invite.headers.push("Content-Type", "application/sdp");
    invite.body = offer.to_string().into_bytes();
    let entry = Entry {
        info: CallInfo {
            call_id: call_id.clone(),
            direction: Direction::Outgoing,
            state: CallState::Calling,
            user: u.name.clone(),
            remote_uri: target_uri.to_string(),
            media: None,
            end_reason: None,
            transport: flow.transport,
        },
        dialog: Dialog {
            local_tag,
            remote_tag: None,
            local_uri,
            remote_uri,
            remote_target: None,
            route_set: Vec::new(),
            local_cseq: 1,
            flow: flow.clone(),
        },
        invite: None,
        ack: None,
        acked: Arc::new(Notify::new()),
        local_sdp: None,
        cancelled: false,
        _rtp: Some(rtp),
    };
    core.calls.lock().insert(call_id.clone(), entry);
    let txn = ClientTxn::start(&core.registry, &flow, core.listen_port, invite, None)
        .await
        .map_err(|e| {
            core.calls.set_state(&call_id, CallState::Ended, &e.to_string());
            CallError::Transport(e.to_string())
        })?;
    if let Some(e) = core.calls.lock().get_mut(&call_id) {
        e.invite = Some(txn.request.clone());
    }
    let _ = core.calls.events.send(CallEvent {
        call_id: call_id.clone(),
        state: CallState::Calling,
        direction: Direction::Outgoing,
        detail: String::new(),
    });
    let c = core.clone();
    let id = call_id.clone();
    tokio::spawn(async move { uac(c, id, txn, offer, u, rtp_port).await });
    Ok(call_id)
}

/// ACK for a non-2xx final response: same branch, To from the response
/// (RFC 3261 §17.1.1.3).
async fn ack_failure(core: &Core, txn: &ClientTxn, resp: &Message) {
    let sipmsg::StartLine::Request { uri, .. } = &txn.request.start else {
        return;
    };
    let mut ack = Message::request(Method::Ack, uri.clone());
    for h in ["From", "Call-ID", "Route"] {
        for v in txn.request.headers.get_all(h) {
            ack.headers.push(h, v);
        }
    }
    if let Some(to) = resp.headers.get("To") {
        ack.headers.push("To", to);
    }
    let n = txn.request.cseq().map(|(n, _)| n).unwrap_or(1);
    ack.headers.push("CSeq", &format!("{n} ACK"));
    ack.headers.push("Max-Forwards", "70");
    send_stateless(core, &txn.flow, ack, &txn.branch).await;
}

async fn uac(
    core: Arc<Core>,
    id: String,
    mut txn: ClientTxn,
    offer: sdp::Session,
    user: crate::User,
    port: u16,
) {
    let mut authenticated = false;
    loop {
        let resp = match txn.next_response(RING_LIMIT).await {
            Ok(r) => r,
            Err(e) => {
                let why = match e {
                    TxnError::Timeout => "no answer".to_string(),
                    other => other.to_string(),
                };
                return end(&core, &id, &why, ids::CALL_FAILED);
            }
        };
        let code = resp.code().unwrap_or(0);
        let reason = match &resp.start {
            sipmsg::StartLine::Response { reason, .. } => reason.clone(),
            _ => String::new(),
        };
        match code {
            100 => {}
            101..=199 => {
                if let Some(e) = core.calls.lock().get_mut(&id) {
                    e.dialog.remote_tag = tag_of(resp.headers.get("To"));
                }
                core.calls
                    .set_state(&id, CallState::Ringing, &format!("{code} {reason}"));
            }
            200..=299 => {
                let answer = std::str::from_utf8(&resp.body)
                    .ok()
                    .and_then(|t| sdp::Session::parse(t).ok());
                let negotiated = answer.as_ref().map(|a| sdp::check_answer(&offer, a));
                let (ack_req, flow) = {
                    let mut map = core.calls.lock();
                    let Some(e) = map.get_mut(&id) else { return };
                    let d = &mut e.dialog;
                    d.remote_tag = tag_of(resp.headers.get("To"));
                    d.remote_target = resp
                        .contacts()
                        .ok()
                        .and_then(|c| c.into_iter().next())
                        .map(|c| c.uri);
                    let mut rr: Vec<String> = resp
                        .headers
                        .get_all("Record-Route")
                        .flat_map(|v| {
                            sipmsg::split_list(v)
                                .into_iter()
                                .map(str::to_string)
                                .collect::<Vec<_>>()
                        })
                        .collect();
                    rr.reverse();
                    d.route_set = rr;
                    let n = txn.request.cseq().map(|(n, _)| n).unwrap_or(1);
                    d.local_cseq = n;
                    if let Some(Ok(n)) = &negotiated {
                        e.info.media = Some(media_info(n, port));
                    }
                    (in_dialog(&core, d, &id, Method::Ack, n), d.flow.clone())
                };
                if let Some(mut ack) = ack_req {
                    // The 2xx ACK carries the CSeq number of the INVITE.
                    ack.headers.set(
                        "CSeq",
                        &format!("{} ACK", txn.request.cseq().map(|c| c.0).unwrap_or(1)),
                    );
                    let sent = send_stateless(&core, &flow, ack, &new_branch()).await;
                    if let Some(e) = core.calls.lock().get_mut(&id) {
                        e.ack = sent;
                    }
                }
                let cancelled = core.calls.lock().get(&id).is_none_or(|e| e.cancelled);
                if cancelled {
                    // Hung up (CANCEL) while the 200 was on its way: the
                    // callee answered anyway, so end its side with BYE.
                    let _ = bye(&core, &id).await;
                    return end(
                        &core,
                        &id,
                        "cancelled (answered meanwhile, ended with BYE)",
                        ids::CALL_ENDED,
                    );
                }
                match negotiated {
                    Some(Ok(_)) => {
                        core.calls
                            .set_state(&id, CallState::Established, &format!("{code} {reason}"));
                        core.status.notify(
                            ids::CALL_ESTABLISHED,
                            Severity::Info,
                            format!("Call {id} from {} established", user.name),
                        );
                    }
                    other => {
                        let why = match other {
                            Some(Err(e)) => format!("unusable SDP answer: {e}"),
                            _ => "no SDP answer".to_string(),
                        };
                        // The dialog exists: end it with BYE.
                        core.calls.set_state(&id, CallState::Established, &why);
                        let _ = bye(&core, &id).await;
                        return end(&core, &id, &why, ids::CALL_FAILED);
                    }
                }
                return;
            }
            401 | 407 if !authenticated => {
                ack_failure(&core, &txn, &resp).await;
                let Some(mut auth) = AuthState::from_response(&resp) else {
                    return end(
                        &core,
                        &id,
                        &format!("{code} without a usable challenge"),
                        ids::CALL_FAILED,
                    );
                };
                authenticated = true;
                let mut again = txn.request.clone();
                again.headers.remove("Via");
                let n = again.cseq().map(|(n, _)| n + 1).unwrap_or(2);
                again.headers.set("CSeq", &format!("{n} INVITE"));
                auth.authorize(&mut again, &user);
                let flow = txn.flow.clone();
                txn = match ClientTxn::start(&core.registry, &flow, core.listen_port, again, None).await {
                    Ok(t) => t,
                    Err(e) => return end(&core, &id, &e.to_string(), ids::CALL_FAILED),
                };
                if let Some(e) = core.calls.lock().get_mut(&id) {
                    e.invite = Some(txn.request.clone());
                }
            }
            _ => {
                ack_failure(&core, &txn, &resp).await;
                let why = format!("{code} {reason}");
                let id_kind = if code == 487 {
                    ids::CALL_ENDED
                } else {
                    ids::CALL_FAILED
                };
                return end(&core, &id, &why, id_kind);
            }
        }
    }
}

fn end(core: &Core, id: &str, why: &str, notification: u16) {
    let Some(info) = core.calls.info(id) else { return };
    if info.state == CallState::Ended {
        return;
    }
    core.calls.set_state(id, CallState::Ended, why);
    core.status.notify(
        notification,
        Severity::Info,
        format!(
            "Call {id} of user {} with {} ended: {why}",
            info.user, info.remote_uri
        ),
    );
}

async fn bye(core: &Core, id: &str) -> Result<(), CallError> {
    let (req, flow) = {
        let mut map = core.calls.lock();
        let e = map.get_mut(id).ok_or(CallError::NoSuchCall)?;
        e.dialog.local_cseq += 1;
        let req = in_dialog(core, &e.dialog, id, Method::Bye, e.dialog.local_cseq)
            .ok_or_else(|| CallError::Transport("no remote target".into()))?;
        (req, e.dialog.flow.clone())
    };
    let flow = dialog_flow(core, &flow)
        .await
        .ok_or_else(|| CallError::NoRoute("no connection".into()))?;
    let mut txn = ClientTxn::start(&core.registry, &flow, core.listen_port, req, None)
        .await
        .map_err(|e| CallError::Transport(e.to_string()))?;
    // Whatever the answer, the call is over for us.
    let r = txn.final_response(TIMER_B).await;
    log::debug!(target: "sipd", "BYE {id}: {:?}", r.as_ref().map(|m| m.code()));
    Ok(())
}

/// CANCEL of our pending INVITE (RFC 3261 §9.1).
async fn cancel(core: &Core, id: &str) -> Result<(), CallError> {
    let (invite, flow) = {
        let map = core.calls.lock();
        let e = map.get(id).ok_or(CallError::NoSuchCall)?;
        (
            e.invite.clone().ok_or(CallError::NoSuchCall)?,
            e.dialog.flow.clone(),
        )
    };
    let sipmsg::StartLine::Request { uri, .. } = &invite.start else {
        return Err(CallError::NoSuchCall);
    };
    let branch = invite
        .top_via()
        .ok()
        .and_then(|v| v.branch().map(str::to_string))
        .ok_or(CallError::NoSuchCall)?;
    let mut c = Message::request(Method::Cancel, uri.clone());
    for h in ["From", "To", "Call-ID", "Route", "Max-Forwards"] {
        for v in invite.headers.get_all(h) {
            c.headers.push(h, v);
        }
    }
    let n = invite.cseq().map(|(n, _)| n).unwrap_or(1);
    c.headers.push("CSeq", &format!("{n} CANCEL"));
    let mut txn = ClientTxn::start(&core.registry, &flow, core.listen_port, c, Some(branch))
        .await
        .map_err(|e| CallError::Transport(e.to_string()))?;
    txn.final_response(TIMER_B)
        .await
        .map_err(|e| CallError::Transport(e.to_string()))?;
    Ok(())
}

/// Hangs up: CANCEL before the answer, BYE after.
pub(crate) async fn hangup(core: &Arc<Core>, id: &str) -> Result<(), CallError> {
    let info = core.calls.info(id).ok_or(CallError::NoSuchCall)?;
    match (info.state, info.direction) {
        (CallState::Ended, _) => Err(CallError::NoSuchCall),
        (CallState::Established, _) => {
            let r = bye(core, id).await;
            end(core, id, "local hangup", ids::CALL_ENDED);
            r
        }
        (_, Direction::Outgoing) => {
            if let Some(e) = core.calls.lock().get_mut(id) {
                e.cancelled = true;
            }
            cancel(core, id).await
        }
        (_, Direction::Incoming) => {
            // Decline the ringing call.
            let (invite, flow, tag) = {
                let map = core.calls.lock();
                let e = map.get(id).ok_or(CallError::NoSuchCall)?;
                (
                    e.invite.clone(),
                    e.dialog.flow.clone(),
                    e.dialog.local_tag.clone(),
                )
            };
            if let Some(inv) = invite {
                let mut r = Message::response_to(&inv, 603, "Decline");
                add_to_tag(&mut r, &tag);
                core.send_response(&flow, &inv, r).await;
            }
            end(core, id, "declined", ids::CALL_ENDED);
            Ok(())
        }
    }
}

/// Ends every call (shutdown).
pub(crate) async fn hangup_all(core: &Arc<Core>, grace: Duration) {
    let ids: Vec<String> = core
        .calls
        .all()
        .into_iter()
        .filter(|c| c.state != CallState::Ended)
        .map(|c| c.call_id)
        .collect();
    let all = async {
        for id in &ids {
            let _ = hangup(core, id).await;
        }
    };
    let _ = tokio::time::timeout(grace, all).await;
}

fn add_to_tag(r: &mut Message, tag: &str) {
    if let Some(to) = r.headers.get("To").map(str::to_string) {
        if let Ok(mut n) = NameAddr::parse(&to) {
            if n.tag().is_none() {
                n.set_param("tag", Some(tag));
                r.headers.set("To", &n.to_string());
            }
        }
    }
}

/// Requests that belong to calls.
pub(crate) async fn handle_request(core: &Arc<Core>, flow: Flow, msg: Message, method: Method) {
    let call_id = msg.call_id().unwrap_or_default().to_string();
    match method {
        Method::Invite => {
            if tag_of(msg.headers.get("To")).is_some() {
                return reinvite(core, &flow, &msg, &call_id).await;
            }
            incoming_invite(core, flow, msg, call_id).await
        }
        Method::Ack => {
            if let Some(e) = core.calls.lock().get(&call_id) {
                e.acked.notify_one();
            }
        }
        Method::Bye => {
            let known = core
                .calls
                .lock()
                .get(&call_id)
                .is_some_and(|e| e.info.state != CallState::Ended);
            if !known {
                return core
                    .reply(&flow, &msg, 481, "Call/Transaction Does Not Exist")
                    .await;
            }
            core.reply(&flow, &msg, 200, "OK").await;
            end(core, &call_id, "remote hangup", ids::CALL_ENDED);
        }
        Method::Cancel => {
            let branch = msg.top_via().ok().and_then(|v| v.branch().map(str::to_string));
            let pending = {
                let map = core.calls.lock();
                map.get(&call_id).and_then(|e| {
                    let inv = e.invite.as_ref()?;
                    let same = inv.top_via().ok()?.branch().map(str::to_string) == branch;
                    (same && e.info.direction == Direction::Incoming && e.info.state != CallState::Ended)
                        .then(|| (inv.clone(), e.dialog.local_tag.clone(), e.info.state))
                })
            };
            let Some((inv, tag, state)) = pending else {
                return core
                    .reply(&flow, &msg, 481, "Call/Transaction Does Not Exist")
                    .await;
            };
            core.reply(&flow, &msg, 200, "OK").await;
            if state != CallState::Established {
                let mut r = Message::response_to(&inv, 487, "Request Terminated");
                add_to_tag(&mut r, &tag);
                core.send_response(&flow, &inv, r).await;
                end(core, &call_id, "cancelled by the caller", ids::CALL_ENDED);
            }
        }
        _ => {}
    }
}

async fn reinvite(core: &Arc<Core>, flow: &Flow, msg: &Message, call_id: &str) {
    let found = core.calls.lock().get(call_id).map(|e| {
        (
            e.local_sdp.clone(),
            e.dialog.local_tag.clone(),
            e.info.user.clone(),
            e.info.state,
        )
    });
    match found {
        Some((sdp_text, _tag, user, CallState::Established)) => {
            // Session refresh or hold: keep our media as it is.
            let mut r = Message::response_to(msg, 200, "OK");
            r.headers.push("Contact", &core.contact(&user, flow));
            if let Some(s) = sdp_text {
                r.headers.push("Content-Type", "application/sdp");
                r.body = s.into_bytes();
            }
            core.send_response(flow, msg, r).await;
        }
        _ => {
            core.reply(flow, msg, 481, "Call/Transaction Does Not Exist")
                .await
        }
    }
}

async fn incoming_invite(core: &Arc<Core>, flow: Flow, msg: Message, call_id: String) {
    let sipmsg::StartLine::Request { uri, .. } = &msg.start else {
        return;
    };
    let Some(user) = core
        .cfg
        .users
        .iter()
        .find(|u| u.enabled && uri.user.as_deref() == Some(u.name.as_str()))
        .cloned()
    else {
        return core.reply(&flow, &msg, 404, "Not Found").await;
    };
    if core.calls.lock().contains_key(&call_id) {
        return core.reply(&flow, &msg, 482, "Loop Detected").await;
    }
    if core.calls.active() >= core.opts.max_calls {
        return core.reply(&flow, &msg, 486, "Busy Here").await;
    }
    core.reply(&flow, &msg, 100, "Trying").await;
    if msg.body.is_empty() {
        // Offers in the ACK (late offer) are not supported yet.
        let mut r = Message::response_to(&msg, 488, "Not Acceptable Here");
        r.headers
            .push("Warning", "399 dgw \"an SDP offer in the INVITE is required\"");
        return core.send_response(&flow, &msg, r).await;
    }
    let is_sdp = msg.content_type().is_some_and(|t| {
        t.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .eq_ignore_ascii_case("application/sdp")
    });
    if !is_sdp {
        let mut r = Message::response_to(&msg, 415, "Unsupported Media Type");
        r.headers.push("Accept", "application/sdp");
        return core.send_response(&flow, &msg, r).await;
    }
    let offer = match std::str::from_utf8(&msg.body).ok().map(sdp::Session::parse) {
        Some(Ok(o)) => o,
        Some(Err(e)) => {
            return core.reply(&flow, &msg, 400, &format!("Bad SDP: {e}")).await;
        }
        None => return core.reply(&flow, &msg, 400, "Bad SDP: not UTF-8").await,
    };
    let rtp = match media_port_socket(flow.local.ip()) {
        Ok(s) => s,
        Err(_) => return core.reply(&flow, &msg, 503, "Service Unavailable").await,
    };
    let port = rtp.local_addr().map(|a| a.port()).unwrap_or(0);
    let secure = flow.transport == Transport::Tls;
    let (answer, negotiated) = match sdp::answer(
        &offer,
        &sdp::AnswerOptions {
            address: flow.local.ip(),
            port,
            session_id: session_id(),
            codecs: sdp::Codec::defaults(),
            srtp: if secure {
                core.opts.srtp
            } else {
                sdp::SrtpPolicy::Off
            },
        },
        secure,
    ) {
        Ok(a) => a,
        Err(e) => {
            core.status.notify(
                ids::CALL_FAILED,
                Severity::Info,
                format!("Incoming call {call_id} to {} refused: {e}", user.name),
            );
            let mut r = Message::response_to(&msg, 488, "Not Acceptable Here");
            r.headers.push("Warning", &format!("399 dgw \"{e}\""));
            return core.send_response(&flow, &msg, r).await;
        }
    };
    let from = msg.headers.get("From").unwrap_or_default().to_string();
    let to = msg.headers.get("To").unwrap_or_default().to_string();
    let local_tag = new_tag();
    let remote_target = msg
        .contacts()
        .ok()
        .and_then(|c| c.into_iter().next())
        .map(|c| c.uri);
    let route_set: Vec<String> = msg
        .headers
        .get_all("Record-Route")
        .flat_map(|v| {
            sipmsg::split_list(v)
                .into_iter()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    let acked = Arc::new(Notify::new());
    let answer_text = answer.to_string();
    let entry = Entry {
        info: CallInfo {
            call_id: call_id.clone(),
            direction: Direction::Incoming,
            state: CallState::Ringing,
            user: user.name.clone(),
            remote_uri: NameAddr::parse(&from)
                .map(|n| n.uri.to_string())
                .unwrap_or_default(),
            media: Some(media_info(&negotiated, port)),
            end_reason: None,
            transport: flow.transport,
        },
        dialog: Dialog {
            local_tag: local_tag.clone(),
            remote_tag: tag_of(Some(&from)),
            local_uri: without_tag(&to),
            remote_uri: without_tag(&from),
            remote_target,
            route_set: route_set.clone(),
            local_cseq: 0,
            flow: flow.clone(),
        },
        invite: Some(msg.clone()),
        ack: None,
        acked: acked.clone(),
        local_sdp: Some(answer_text.clone()),
        cancelled: false,
        _rtp: Some(rtp),
    };
    core.calls.lock().insert(call_id.clone(), entry);
    let _ = core.calls.events.send(CallEvent {
        call_id: call_id.clone(),
        state: CallState::Ringing,
        direction: Direction::Incoming,
        detail: from.clone(),
    });
    let contact = core.contact(&user.name, &flow);
    let mut ringing = Message::response_to(&msg, 180, "Ringing");
    add_to_tag(&mut ringing, &local_tag);
    ringing.headers.push("Contact", &contact);
    for rr in &route_set {
        ringing.headers.push("Record-Route", rr);
    }
    core.send_response(&flow, &msg, ringing).await;
    if !core.opts.auto_answer {
        return;
    }
    let mut ok = Message::response_to(&msg, 200, "OK");
    add_to_tag(&mut ok, &local_tag);
    ok.headers.push("Contact", &contact);
    for rr in &route_set {
        ok.headers.push("Record-Route", rr);
    }
    ok.headers.push("Allow", ALLOW);
    ok.headers.push("Content-Type", "application/sdp");
    ok.body = answer_text.into_bytes();
    let bytes = ok.to_bytes();
    core.send_response(&flow, &msg, ok).await;
    core.calls.set_state(&call_id, CallState::Established, "answered");
    core.status.notify(
        ids::CALL_ESTABLISHED,
        Severity::Info,
        format!("Incoming call {call_id} to {} established", user.name),
    );
    // RFC 3261 §13.3.1.4: repeat the 2xx until the ACK comes, T1 doubling
    // to T2, for 64·T1.
    let deadline = tokio::time::Instant::now() + TIMER_B;
    let mut interval = T1;
    loop {
        let wake = (tokio::time::Instant::now() + interval).min(deadline);
        if tokio::time::timeout_at(wake, acked.notified()).await.is_ok() {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            let _ = bye(core, &call_id).await;
            return end(core, &call_id, "no ACK", ids::CALL_FAILED);
        }
        if core
            .calls
            .info(&call_id)
            .is_none_or(|c| c.state == CallState::Ended)
        {
            return;
        }
        let _ = flow.send(bytes.clone()).await;
        interval = (interval * 2).min(T2);
    }
}
