//! Flows: the connections (TLS, TCP) and the UDP socket SIP messages travel
//! on, with stream framing, keep-alive answers and the defences against
//! misbehaving peers.
//!
//! Every connection is two tasks: a reader that frames messages by
//! Content-Length (RFC 3261 §18.3) and hands them to the core, and a writer
//! that drains a queue. A peer that sends garbage, a header section longer
//! than the 5120-byte limit, or half a message and then nothing for
//! [`Limits::partial_message`] loses its connection; nobody else notices.
//! A message whose body would exceed the limit is answered 513 and skipped,
//! and the connection stays up.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sipmsg::{Frame, FrameError, Framer, Message, MAX_MESSAGE};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch, Notify};
use tokio::time::Instant;

use crate::config::Transport;
use crate::status::{ids, Severity, Status};

/// Read chunk size: the framer's buffer stays below the limit plus this.
const CHUNK: usize = 4096;

/// Time limits on peers.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// A message started must be complete within this (slow-loris).
    pub partial_message: Duration,
    /// An accepted connection that carries no message for this long is
    /// closed (persistent connections we open are never idle-closed: their
    /// keep-alive decides).
    pub idle_incoming: Duration,
    /// TCP connect and TLS handshake bound.
    pub handshake: Duration,
    /// Most accepted connections open at once.
    pub max_incoming: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            partial_message: Duration::from_secs(10),
            idle_incoming: Duration::from_secs(300),
            handshake: Duration::from_secs(10),
            max_incoming: 64,
        }
    }
}

/// What flows deliver to the core.
#[derive(Debug)]
pub enum Inbound {
    /// A parsed message, and the flow it came on.
    Message(Flow, Box<Message>),
    /// A flow closed.
    Closed(u64),
}

#[derive(Clone, Debug)]
enum Tx {
    Stream(mpsc::Sender<Vec<u8>>),
    Udp(Arc<UdpSocket>),
}

/// One path to a peer: a connection, or the UDP socket and the peer's
/// address. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Flow {
    /// Unique id.
    pub id: u64,
    /// Transport.
    pub transport: Transport,
    /// Our address on it.
    pub local: SocketAddr,
    /// The peer's address.
    pub remote: SocketAddr,
    tx: Tx,
    pong: Arc<Notify>,
    closer: Arc<watch::Sender<bool>>,
}

static NEXT_FLOW: AtomicU64 = AtomicU64::new(1);

fn next_id() -> u64 {
    NEXT_FLOW.fetch_add(1, Ordering::Relaxed)
}

impl Flow {
    /// Sends bytes (a whole message, or a keep-alive).
    pub async fn send(&self, bytes: Vec<u8>) -> io::Result<()> {
        match &self.tx {
            Tx::Stream(tx) => tx
                .send(bytes)
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::NotConnected, "connection closed")),
            Tx::Udp(sock) => sock.send_to(&bytes, self.remote).await.map(|_| ()),
        }
    }

    /// Whether the connection is gone (never for UDP).
    pub fn is_closed(&self) -> bool {
        match &self.tx {
            Tx::Stream(tx) => tx.is_closed() || *self.closer.borrow(),
            Tx::Udp(_) => false,
        }
    }

    /// Closes the connection (close_notify, then FIN); no-op for UDP.
    pub fn close(&self) {
        self.closer.send_replace(true);
    }

    /// The next CRLF pong on this flow (call `enable` on the pinned future
    /// before sending the ping, so a quick pong is not missed).
    pub fn pong(&self) -> tokio::sync::futures::Notified<'_> {
        self.pong.notified()
    }

    /// The same UDP socket toward another address.
    pub fn udp_to(&self, remote: SocketAddr) -> Flow {
        Flow {
            id: self.id,
            remote,
            ..self.clone()
        }
    }
}

/// What every connection task needs from the service.
#[derive(Clone)]
pub struct FlowContext {
    /// Peer limits.
    pub limits: Limits,
    /// Where messages go.
    pub sink: mpsc::Sender<Inbound>,
    /// Where notifications go.
    pub status: Status,
}

/// The two ends of a connection.
#[derive(Clone, Copy, Debug)]
pub struct Endpoints {
    /// Ours.
    pub local: SocketAddr,
    /// The peer's.
    pub remote: SocketAddr,
    /// Whether the peer opened it (then it is closed when idle).
    pub incoming: bool,
}

/// A connection's reader and writer tasks, started on `stream`. Returns the
/// flow and the reader task, which ends (after reporting
/// [`Inbound::Closed`]) when the peer closes, on a fatal framing error, or
/// when [`Flow::close`] is called.
pub fn spawn_stream<S>(
    stream: S,
    transport: Transport,
    ends: Endpoints,
    ctx: &FlowContext,
) -> (Flow, tokio::task::JoinHandle<()>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let Endpoints {
        local,
        remote,
        incoming,
    } = ends;
    let FlowContext { limits, sink, status } = ctx.clone();
    let (rd, mut wr) = tokio::io::split(stream);
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(256);
    let flow = Flow {
        id: next_id(),
        transport,
        local,
        remote,
        tx: Tx::Stream(tx),
        pong: Arc::new(Notify::new()),
        closer: Arc::new(watch::channel(false).0),
    };
    let mut close_w = flow.closer.subscribe();
    let mut close_r = flow.closer.subscribe();
    let writer = tokio::spawn(async move {
        loop {
            tokio::select! {
                m = rx.recv() => {
                    let Some(bytes) = m else { break };
                    if wr.write_all(&bytes).await.is_err() || wr.flush().await.is_err() {
                        break;
                    }
                }
                _ = closed(&mut close_w) => break,
            }
        }
        // Closing: close_notify on TLS, then FIN.
        let _ = tokio::time::timeout(Duration::from_secs(2), wr.shutdown()).await;
    });
    let reader_flow = flow.clone();
    let reader = tokio::spawn(async move {
        let reason = tokio::select! {
            r = read_loop(rd, &reader_flow, incoming, limits, &sink, &status) => r,
            _ = closed(&mut close_r) => "closed locally".to_string(),
        };
        log::debug!(target: "sipd", "flow {} to {} ended: {reason}", reader_flow.id, reader_flow.remote);
        reader_flow.close();
        let _ = sink.send(Inbound::Closed(reader_flow.id)).await;
        let _ = tokio::time::timeout(Duration::from_secs(3), writer).await;
    });
    (flow, reader)
}

/// Resolves once the flow is closed locally.
async fn closed(rx: &mut watch::Receiver<bool>) {
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

async fn read_loop<R: AsyncRead>(
    rd: R,
    flow: &Flow,
    incoming: bool,
    limits: Limits,
    sink: &mpsc::Sender<Inbound>,
    status: &Status,
) -> String {
    tokio::pin!(rd);
    let mut framer = Framer::new(MAX_MESSAGE);
    let mut buf = vec![0u8; CHUNK];
    let mut partial_since: Option<Instant> = None;
    let mut last_message = Instant::now();
    let drop_conn = |why: String| {
        status.notify(
            ids::CONNECTION_DROPPED,
            Severity::Warning,
            format!("Connection with remote host {} closed: {why}", flow.remote),
        );
        why
    };
    loop {
        let deadline = match partial_since {
            Some(t) => Some(t + limits.partial_message),
            None if incoming => Some(last_message + limits.idle_incoming),
            None => None,
        };
        let read = match deadline {
            Some(d) => match tokio::time::timeout_at(d, rd.as_mut().read(&mut buf)).await {
                Ok(r) => r,
                Err(_) if partial_since.is_some() => {
                    return drop_conn("a message was not completed in time".into());
                }
                Err(_) => return "idle".into(),
            },
            None => rd.as_mut().read(&mut buf).await,
        };
        let n = match read {
            Ok(0) => return "closed by the peer".into(),
            Ok(n) => n,
            Err(e) => return format!("read error: {e}"),
        };
        framer.push(&buf[..n]);
        loop {
            match framer.next_frame() {
                Ok(Some(Frame::Message(bytes))) => {
                    last_message = Instant::now();
                    match Message::parse(&bytes) {
                        Ok(m) => {
                            if sink
                                .send(Inbound::Message(flow.clone(), Box::new(m)))
                                .await
                                .is_err()
                            {
                                return "service stopping".into();
                            }
                        }
                        Err(e) => status.notify(
                            ids::MESSAGE_REFUSED,
                            Severity::Warning,
                            format!("Malformed message from {} dropped: {}", flow.remote, e.message()),
                        ),
                    }
                }
                Ok(Some(Frame::Ping)) => {
                    // RFC 5626 §4.4.1: answer a double-CRLF ping with a pong.
                    let _ = flow.send(b"\r\n".to_vec()).await;
                }
                Ok(Some(Frame::Pong)) => flow.pong.notify_waiters(),
                Ok(None) => break,
                Err(FrameError::TooLarge { head, content_length }) => {
                    status.notify(
                        ids::MESSAGE_REFUSED,
                        Severity::Warning,
                        format!(
                            "Message of {} bytes from {} refused (limit {MAX_MESSAGE})",
                            head.len() + content_length,
                            flow.remote
                        ),
                    );
                    if let Some(resp) = too_large_response(&head) {
                        let _ = flow.send(resp.to_bytes()).await;
                    }
                }
                Err(e) => return drop_conn(format!("{e:?}")),
            }
        }
        if let Some(Frame::Pong) = framer.flush_keepalive() {
            flow.pong.notify_waiters();
        }
        partial_since = if framer.in_message() {
            partial_since.or(Some(Instant::now()))
        } else {
            None
        };
    }
}

/// The 513 answer to an oversize request, built from its header section
/// alone (responses are just dropped).
fn too_large_response(head: &[u8]) -> Option<Message> {
    let text = std::str::from_utf8(head).ok()?;
    // The header section claims a body we skipped: parse it without the
    // Content-Length so the parser does not look for the body.
    let kept: Vec<&str> = text
        .split('\n')
        .filter(|l| {
            let l = l.trim_start().to_ascii_lowercase();
            !(l.starts_with("content-length") || l.starts_with("l:") || l.starts_with("l :"))
        })
        .collect();
    let req = Message::parse(kept.join("\n").as_bytes()).ok()?;
    if !req.is_request() || req.method() == Some(&sipmsg::Method::Ack) {
        return None;
    }
    Some(Message::response_to(&req, 513, "Message Too Large"))
}

/// The UDP socket's receive loop: every datagram that parses goes to the
/// core; others are dropped (and counted in the log).
pub fn spawn_udp(sock: Arc<UdpSocket>, sink: mpsc::Sender<Inbound>, status: Status) -> Flow {
    let local = sock
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let flow = Flow {
        id: next_id(),
        transport: Transport::Udp,
        local,
        remote: local,
        tx: Tx::Udp(sock.clone()),
        pong: Arc::new(Notify::new()),
        closer: Arc::new(watch::channel(false).0),
    };
    let base = flow.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; MAX_MESSAGE + 1];
        loop {
            let (n, from) = match sock.recv_from(&mut buf).await {
                Ok(r) => r,
                Err(e) => {
                    log::warn!(target: "sipd", "UDP receive: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            if n > MAX_MESSAGE {
                status.notify(
                    ids::MESSAGE_REFUSED,
                    Severity::Warning,
                    format!("Datagram of more than {MAX_MESSAGE} bytes from {from} dropped"),
                );
                continue;
            }
            let data = &buf[..n];
            if data.iter().all(|b| *b == b'\r' || *b == b'\n') {
                continue; // keep-alive
            }
            match Message::parse(data) {
                Ok(m) => {
                    if sink
                        .send(Inbound::Message(base.udp_to(from), Box::new(m)))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Err(e) => status.notify(
                    ids::MESSAGE_REFUSED,
                    Severity::Warning,
                    format!("Malformed datagram from {from} dropped: {}", e.message()),
                ),
            }
        }
    });
    flow
}

/// Sets TCP keep-alive probing on a socket: first probe after `idle`, then
/// every `idle / retry` (at least 1 s), `retry` probes.
pub fn set_tcp_keepalive(sock: &tokio::net::TcpStream, idle: Duration, retry: u32) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = sock.as_raw_fd();
    let set = |level: libc::c_int, name: libc::c_int, value: libc::c_int| -> io::Result<()> {
        // SAFETY: fd is a live socket owned by `sock`; the option value is a
        // c_int on the stack whose size is passed.
        let r = unsafe {
            libc::setsockopt(
                fd,
                level,
                name,
                &value as *const libc::c_int as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    };
    let idle_s = idle.as_secs().clamp(1, i32::MAX as u64) as libc::c_int;
    let intvl = (idle_s / retry.max(1) as libc::c_int).max(1);
    set(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1)?;
    set(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, idle_s)?;
    set(libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, intvl)?;
    set(libc::IPPROTO_TCP, libc::TCP_KEEPCNT, retry.max(1) as libc::c_int)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversize_request_gets_513_from_its_head() {
        let head =
            b"INVITE sip:bob@example.net SIP/2.0\r\nVia: SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bKx\r\n\
To: <sip:bob@example.net>\r\nFrom: <sip:alice@example.net>;tag=1\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\
Max-Forwards: 70\r\nContent-Length: 9000\r\n\r\n";
        let r = too_large_response(head).expect("a response");
        assert_eq!(r.code(), Some(513));
        assert_eq!(r.call_id(), Some("c1"));
        let resp = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS h;branch=z9hG4bKx\r\nTo: <sip:b@h>\r\nFrom: <sip:a@h>;tag=1\r\n\
Call-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 9000\r\n\r\n";
        assert!(too_large_response(resp).is_none());
    }
}
