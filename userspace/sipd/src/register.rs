//! Registration (RFC 3261 §10) with digest authentication, refresh before
//! expiry, re-registration on a new connection, and unregistration at
//! shutdown; plus the OPTIONS keep-alive.

use std::sync::Arc;
use std::time::Duration;

use sipdigest::{Challenge, Credentials};
use sipmsg::{Message, Method, Uri};

use crate::config::{Server, User};
use crate::status::{ids, RegistrationState, Severity};
use crate::transport::Flow;
use crate::txn::{new_tag, random_hex, ClientTxn, TxnError, TIMER_B};
use crate::Core;

/// A request with the headers every request carries.
pub(crate) fn new_request(
    core: &Core,
    method: Method,
    ruri: Uri,
    from: &str,
    to: &str,
    call_id: &str,
    cseq: u32,
) -> Message {
    let mut m = Message::request(method.clone(), ruri);
    m.headers.push("Max-Forwards", "70");
    m.headers.push("From", from);
    m.headers.push("To", to);
    m.headers.push("Call-ID", call_id);
    m.headers.push("CSeq", &format!("{cseq} {method}"));
    m.headers.push("User-Agent", &core.opts.user_agent);
    m
}

/// The Route header toward the outbound proxy, if there is one
/// (loose routing, RFC 3261 §8.1.2).
pub(crate) fn outbound_route(core: &Core) -> Option<String> {
    let p = core.cfg.outbound_proxy.as_ref()?;
    let t = core.cfg.transport;
    Some(format!(
        "<sip:{}:{};transport={};lr>",
        p.uri_host(),
        p.port,
        t.uri_param()
    ))
}

/// The last digest challenge, reused (with a growing nonce count) so a
/// refresh costs one round trip.
pub(crate) struct AuthState {
    challenge: Challenge,
    proxy: bool,
    nc: u32,
    /// Whether the credentials last sent came from a challenge received just
    /// before (a refusal then means a wrong password) rather than a cached
    /// one (whose nonce may simply have expired).
    fresh: bool,
}

impl AuthState {
    /// Takes the strongest challenge of a 401/407; None if it has none we
    /// can answer.
    pub(crate) fn from_response(resp: &Message) -> Option<AuthState> {
        let proxy = resp.code() == Some(407);
        let header = if proxy {
            "Proxy-Authenticate"
        } else {
            "WWW-Authenticate"
        };
        let challenges: Vec<Challenge> = resp
            .headers
            .get_all(header)
            .filter_map(|v| Challenge::parse(v).ok())
            .collect();
        let best = sipdigest::strongest(&challenges)?.clone();
        Some(AuthState {
            challenge: best,
            proxy,
            nc: 0,
            fresh: true,
        })
    }

    /// Adds the credentials to `req`.
    pub(crate) fn authorize(&mut self, req: &mut Message, user: &User) -> bool {
        let (method, uri) = match &req.start {
            sipmsg::StartLine::Request { method, uri } => (method.to_string(), uri.to_string()),
            _ => return false,
        };
        self.nc += 1;
        let creds = Credentials {
            username: user.auth_name.clone(),
            password: user.password.clone(),
        };
        match sipdigest::respond(
            &self.challenge,
            &creds,
            &method,
            &uri,
            self.nc,
            &sipdigest::new_cnonce(),
        ) {
            Ok(r) => {
                let name = if self.proxy {
                    "Proxy-Authorization"
                } else {
                    "Authorization"
                };
                req.headers.set(name, &r.header_value);
                true
            }
            Err(e) => {
                log::warn!(target: "sipd", "cannot answer the digest challenge: {e}");
                false
            }
        }
    }
}

enum RegError {
    Unreachable(String),
    AuthFailed,
    Rejected(u16, String),
    Invalid(String),
}

struct Registration {
    user: User,
    call_id: String,
    tag: String,
    cseq: u32,
    auth: Option<AuthState>,
    expires: u32,
}

fn registrar_uri(core: &Core) -> Option<Uri> {
    let r = core.cfg.registrar.as_ref()?;
    let port = if r.port == core.cfg.transport.default_port() {
        String::new()
    } else {
        format!(":{}", r.port)
    };
    Uri::parse(&format!("sip:{}{port}", r.uri_host())).ok()
}

impl Registration {
    /// One REGISTER exchange, answering challenges. Ok: the lifetime granted.
    async fn register(&mut self, core: &Core, flow: &Flow, expires: u32) -> Result<u32, RegError> {
        let ruri = registrar_uri(core).ok_or_else(|| RegError::Invalid("no registrar".into()))?;
        let aor = format!("<{}>", core.aor(&self.user.name));
        let contact = core.contact(&self.user.name, flow);
        let mut asked = expires;
        for _ in 0..4 {
            self.cseq += 1;
            let mut req = new_request(
                core,
                Method::Register,
                ruri.clone(),
                &format!("{aor};tag={}", self.tag),
                &aor,
                &self.call_id,
                self.cseq,
            );
            if let Some(r) = outbound_route(core) {
                req.headers.push("Route", &r);
            }
            req.headers.push("Contact", &contact);
            req.headers.push("Expires", &asked.to_string());
            req.headers.push("Allow", crate::call::ALLOW);
            let sent_fresh = match self.auth.as_mut() {
                Some(a) => {
                    let fresh = a.fresh;
                    a.fresh = false;
                    a.authorize(&mut req, &self.user) && fresh
                }
                None => false,
            };
            let mut txn = ClientTxn::start(&core.registry, flow, core.listen_port, req, None)
                .await
                .map_err(|e| RegError::Unreachable(e.to_string()))?;
            let resp = txn.final_response(TIMER_B).await.map_err(|e| match e {
                TxnError::Timeout => RegError::Unreachable("no response from the registrar".into()),
                TxnError::Transport(t) => RegError::Unreachable(t),
            })?;
            let code = resp.code().unwrap_or(0);
            match code {
                200..=299 => return Ok(granted(&resp, flow, core, &self.user.name).unwrap_or(asked)),
                401 | 407 => {
                    let Some(next) = AuthState::from_response(&resp) else {
                        return Err(RegError::Invalid(format!(
                            "{code} without a usable digest challenge"
                        )));
                    };
                    if self.user.password.is_empty() {
                        self.auth = None;
                        return Err(RegError::AuthFailed);
                    }
                    if sent_fresh && !next.challenge.stale {
                        self.auth = None;
                        return Err(RegError::AuthFailed);
                    }
                    self.auth = Some(next);
                }
                423 => {
                    // Interval Too Brief: ask for what the registrar wants.
                    let min = resp
                        .headers
                        .get("Min-Expires")
                        .and_then(|v| v.trim().parse::<u32>().ok())
                        .filter(|m| *m > asked && *m <= 86400)
                        .ok_or_else(|| RegError::Invalid("423 without a usable Min-Expires".into()))?;
                    asked = min;
                }
                _ => {
                    let reason = match &resp.start {
                        sipmsg::StartLine::Response { reason, .. } => reason.clone(),
                        _ => String::new(),
                    };
                    return Err(RegError::Rejected(code, reason));
                }
            }
        }
        Err(RegError::AuthFailed)
    }
}

/// The lifetime the registrar granted our contact: its `expires` parameter
/// in the 200's Contact list, else the Expires header.
fn granted(resp: &Message, flow: &Flow, core: &Core, user: &str) -> Option<u32> {
    let ours = core.contact(user, flow);
    let ours = sipmsg::NameAddr::parse(&ours).ok()?.uri;
    if let Ok(contacts) = resp.contacts() {
        for c in contacts {
            if c.uri.host.eq_ignore_ascii_case(&ours.host)
                && c.uri.port == ours.port
                && c.uri.user == ours.user
            {
                if let Some(Some(e)) = c.param("expires") {
                    if let Ok(n) = e.parse() {
                        return Some(n);
                    }
                }
            }
        }
    }
    resp.expires()
}

/// When to refresh a registration that lasts `granted` seconds: a minute
/// before expiry for long ones, half-way for short ones.
fn refresh_after(granted: u32) -> Duration {
    let s = if granted > 120 { granted - 60 } else { granted / 2 };
    Duration::from_secs(u64::from(s.max(1)))
}

/// Keeps `user` registered until shutdown, then unregisters.
pub(crate) async fn run(core: Arc<Core>, user: User) {
    let status = core.status.clone();
    let name = user.name.clone();
    let gw = core.cfg.gateway.clone();
    status.set_registration(&name, RegistrationState::Unregistered, None);
    let Some(next_hop) = core.cfg.register_next_hop().cloned() else {
        status.set_registration(&name, RegistrationState::ConfigError, None);
        return;
    };
    let mut reg = Registration {
        call_id: format!("{}@dgw", random_hex(12)),
        tag: new_tag(),
        cseq: 0,
        auth: None,
        expires: core.cfg.registration_expires,
        user,
    };
    let mut shutdown = core.shutdown.subscribe();
    let mut flows = core.watch_server(&next_hop);
    let mut registered_on: Option<u64> = None;
    loop {
        if core.is_shutting_down() {
            break;
        }
        let Some(flow) = core.flow_to(&next_hop).await else {
            if registered_on.take().is_some() {
                status.set_registration(&name, RegistrationState::Unreachable, None);
            }
            wait_change(&mut flows, &mut shutdown, core.opts.registration_retry).await;
            continue;
        };
        let refreshing = registered_on == Some(flow.id);
        status.set_registration(
            &name,
            if refreshing {
                RegistrationState::Refreshing
            } else {
                RegistrationState::Registering
            },
            None,
        );
        let wait = match reg.register(&core, &flow, reg.expires).await {
            Ok(granted) => {
                registered_on = Some(flow.id);
                status.set_registration(&name, RegistrationState::Registered, Some(granted));
                if !refreshing {
                    status.notify(
                        ids::REGISTERED,
                        Severity::Info,
                        format!(
                            "User {name} is registered with {next_hop} for SIP gateway {gw} for {granted} s"
                        ),
                    );
                }
                refresh_after(granted)
            }
            Err(e) => {
                registered_on = None;
                let (state, why) = match e {
                    RegError::Unreachable(w) => (RegistrationState::Unreachable, w),
                    RegError::AuthFailed => (RegistrationState::AuthFailed, "authentication failed".into()),
                    RegError::Rejected(c, r) => (RegistrationState::Rejected, format!("{c} {r}")),
                    RegError::Invalid(w) => (RegistrationState::InvalidResponse, w),
                };
                status.set_registration(&name, state, None);
                status.notify(
                    ids::REGISTRATION_FAILED,
                    Severity::Warning,
                    format!("Registration of user {name} with {next_hop} for SIP gateway {gw} failed: {state} ({why})"),
                );
                core.opts.registration_retry
            }
        };
        // Sleep until the refresh or retry, a new connection, or shutdown.
        let changed = wait_change(&mut flows, &mut shutdown, wait).await;
        if changed && registered_on.is_some() {
            // The connection we registered on went away: the binding at the
            // registrar points to a dead flow, so register again (RFC 5626
            // §4.4.1 does the same on flow failure).
            if core.flow_to(&next_hop).await.map(|f| f.id) != registered_on {
                registered_on = None;
                status.set_registration(&name, RegistrationState::Unreachable, None);
            }
        }
    }
    // Shutdown: remove the binding if we have one.
    if registered_on.is_some() {
        if let Some(flow) = core.flow_to(&next_hop).await {
            status.set_registration(&name, RegistrationState::Unregistering, None);
            let r = tokio::time::timeout(Duration::from_secs(3), reg.register(&core, &flow, 0)).await;
            if matches!(r, Ok(Ok(_))) {
                status.notify(
                    ids::UNREGISTERED,
                    Severity::Info,
                    format!("User {name} is unregistered from {next_hop} for SIP gateway {gw}"),
                );
            }
        }
    }
    status.set_registration(&name, RegistrationState::Unregistered, None);
}

/// Waits `wait`, or until the server's flow changes (true) or shutdown.
async fn wait_change(
    flows: &mut Option<tokio::sync::watch::Receiver<Option<Flow>>>,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
    wait: Duration,
) -> bool {
    let flow_changed = async {
        match flows {
            Some(f) => {
                if f.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::time::sleep(wait) => false,
        _ = flow_changed => true,
        _ = shutdown.wait_for(|s| *s) => false,
    }
}

/// The OPTIONS keep-alive: any answer means the server is alive.
pub(crate) async fn options_ping(core: &Core, server: &Server, flow: &Flow) -> bool {
    let Ok(ruri) = Uri::parse(&format!("sip:{}:{}", server.uri_host(), server.port)) else {
        return false;
    };
    let from = format!("<{}>;tag={}", core.aor("keepalive"), new_tag());
    let to = format!("<{ruri}>");
    let mut req = new_request(
        core,
        Method::Options,
        ruri,
        &from,
        &to,
        &format!("{}@dgw", random_hex(12)),
        1,
    );
    req.headers.push("Accept", "application/sdp");
    let Ok(mut txn) = ClientTxn::start(&core.registry, flow, core.listen_port, req, None).await else {
        return false;
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(10), txn.final_response(TIMER_B)).await,
        Ok(Ok(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_comes_before_expiry() {
        assert_eq!(refresh_after(3600), Duration::from_secs(3540));
        assert_eq!(refresh_after(60), Duration::from_secs(30));
        assert_eq!(refresh_after(1), Duration::from_secs(1));
        assert_eq!(refresh_after(0), Duration::from_secs(1));
    }
}
