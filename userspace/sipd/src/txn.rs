//! Client transactions (RFC 3261 §17.1) and the identifiers SIP needs.
//!
//! A request is sent on a flow and its responses come back to the waiting
//! task through a per-branch channel. Over UDP the request is retransmitted
//! (timer A for INVITE until a provisional response, timer E for others,
//! doubling from T1 and capped at T2 for non-INVITE); over streams it is
//! sent once. Timer B/F (64·T1) bounds the wait for a first response.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};
use sipmsg::{Message, Method, Via};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::transport::Flow;

/// RFC 3261 T1 (round-trip estimate).
pub const T1: Duration = Duration::from_millis(500);
/// RFC 3261 T2 (longest non-INVITE retransmit interval).
pub const T2: Duration = Duration::from_secs(4);
/// Timers B and F: 64·T1.
pub const TIMER_B: Duration = Duration::from_secs(32);
/// The magic cookie of RFC 3261 branches.
pub const BRANCH_COOKIE: &str = "z9hG4bK";

/// `n` random bytes as lower-case hex.
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    // The system RNG failing is not recoverable for a security daemon;
    // fall back to a clock-derived value only to stay panic-free, and say so.
    if SystemRandom::new().fill(&mut b).is_err() {
        log::error!(target: "sipd", "system random generator failed");
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        for (i, x) in b.iter_mut().enumerate() {
            *x = (t >> ((i % 16) * 8)) as u8;
        }
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A new branch parameter.
pub fn new_branch() -> String {
    format!("{BRANCH_COOKIE}{}", random_hex(10))
}

/// A new tag.
pub fn new_tag() -> String {
    random_hex(8)
}

/// Why a client transaction ended without a final response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnError {
    /// No (final) response in time.
    Timeout,
    /// The flow closed, or sending failed.
    Transport(String),
}

impl fmt::Display for TxnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxnError::Timeout => f.write_str("no response (timeout)"),
            TxnError::Transport(e) => write!(f, "transport error: {e}"),
        }
    }
}

impl std::error::Error for TxnError {}

/// Waiting client transactions, by branch and method.
#[derive(Clone, Default)]
pub struct Registry {
    waiting: Arc<Mutex<HashMap<String, mpsc::UnboundedSender<Message>>>>,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::UnboundedSender<Message>>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Routes a response to its transaction; false if none waits for it.
    pub fn deliver(&self, response: Message) -> bool {
        let Ok(via) = response.top_via() else {
            return false;
        };
        let Some(branch) = via.branch() else {
            return false;
        };
        let Ok((_, method)) = response.cseq() else {
            return false;
        };
        // CANCEL shares its INVITE's branch: the method tells them apart
        // (RFC 3261 §17.1.3).
        let key = format!("{branch} {method}");
        let mut map = self.lock();
        match map.get(&key) {
            Some(tx) => {
                if tx.send(response).is_err() {
                    map.remove(&key);
                    return false;
                }
                true
            }
            None => false,
        }
    }

    /// How many transactions wait.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A client transaction in progress.
pub struct ClientTxn {
    registry: Registry,
    /// The branch.
    pub branch: String,
    key: String,
    /// The request as sent (with our Via).
    pub request: Message,
    /// The flow it went on.
    pub flow: Flow,
    rx: mpsc::UnboundedReceiver<Message>,
    started: Instant,
    provisional_seen: bool,
    next_retransmit: Option<(Instant, Duration)>,
}

impl Drop for ClientTxn {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.key);
    }
}

/// The Via we put on requests: sent-by is our address on the flow and our
/// listening port; `rport` (RFC 3581) asks for the source port back.
pub fn our_via(flow: &Flow, listen_port: u16, branch: &str) -> Via {
    let mut v = Via {
        transport: flow.transport.via_token().to_string(),
        host: crate::ip_for_uri(flow.local.ip()),
        port: Some(listen_port),
        params: Vec::new(),
    };
    v.set_param("branch", Some(branch));
    v.set_param("rport", None);
    v
}

impl ClientTxn {
    /// Adds our Via (a new branch, unless the request is a CANCEL or a
    /// non-2xx ACK that must reuse `branch`) and sends the request.
    pub async fn start(
        registry: &Registry,
        flow: &Flow,
        listen_port: u16,
        mut request: Message,
        branch: Option<String>,
    ) -> Result<ClientTxn, TxnError> {
        let branch = branch.unwrap_or_else(new_branch);
        let via = our_via(flow, listen_port, &branch);
        // Our Via goes on top of any already there (we are the UAC: none).
        let others: Vec<String> = request.headers.get_all("Via").map(str::to_string).collect();
        request.headers.remove("Via");
        request.headers.push("Via", &via.to_string());
        for o in others {
            request.headers.push("Via", &o);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let method = request.method().map(|m| m.to_string()).unwrap_or_default();
        let key = format!("{branch} {method}");
        registry.lock().insert(key.clone(), tx);
        let txn = ClientTxn {
            registry: registry.clone(),
            branch,
            key,
            request,
            flow: flow.clone(),
            rx,
            started: Instant::now(),
            provisional_seen: false,
            next_retransmit: (!flow.transport.is_reliable()).then(|| (Instant::now() + T1, T1)),
        };
        flow.send(txn.request.to_bytes())
            .await
            .map_err(|e| TxnError::Transport(e.to_string()))?;
        Ok(txn)
    }

    fn is_invite(&self) -> bool {
        self.request.method() == Some(&Method::Invite)
    }

    /// The next response (provisional or final). `patience` bounds the wait
    /// once a provisional response has arrived (INVITE); before that, timer
    /// B/F applies.
    pub async fn next_response(&mut self, patience: Duration) -> Result<Message, TxnError> {
        loop {
            let deadline = if self.provisional_seen {
                Instant::now() + patience
            } else {
                self.started + TIMER_B
            };
            let wake = match self.next_retransmit {
                Some((t, _)) if t < deadline => t,
                _ => deadline,
            };
            match tokio::time::timeout_at(wake, self.rx.recv()).await {
                Ok(Some(m)) => {
                    if m.code().is_some_and(|c| c < 200) {
                        self.provisional_seen = true;
                        if self.is_invite() {
                            self.next_retransmit = None; // timer A stops
                        }
                    }
                    return Ok(m);
                }
                Ok(None) => return Err(TxnError::Transport("transaction closed".into())),
                Err(_) if wake >= deadline => return Err(TxnError::Timeout),
                Err(_) => {
                    if self.flow.is_closed() {
                        return Err(TxnError::Transport("connection closed".into()));
                    }
                    let _ = self.flow.send(self.request.to_bytes()).await;
                    if let Some((_, interval)) = self.next_retransmit {
                        let mut next = interval * 2;
                        if !self.is_invite() || self.provisional_seen {
                            next = next.min(T2);
                        }
                        self.next_retransmit = Some((Instant::now() + next, next));
                    }
                }
            }
        }
    }

    /// Skips provisional responses and returns the final one.
    pub async fn final_response(&mut self, patience: Duration) -> Result<Message, TxnError> {
        loop {
            let m = self.next_response(patience).await?;
            if m.code().is_some_and(|c| c >= 200) {
                return Ok(m);
            }
        }
    }
}
