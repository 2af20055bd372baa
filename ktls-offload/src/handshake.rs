//! Drives a rustls unbuffered connection through its handshake on a TCP
//! socket, reading exactly one TLS record at a time.
//!
//! Why record by record: once the handshake is done the kernel takes over
//! the socket. Anything already read from the socket but not yet decrypted
//! (a record that arrived right behind the peer's Finished, or half of one)
//! would be lost to the kernel, and with it the sequence numbers. Reading the
//! 5-byte header and then exactly the body leaves every later byte in the
//! socket for the kernel. The few extra system calls happen only during the
//! handshake.

use std::io;
use std::ops::DerefMut;

use rustls::client::{ClientConnectionData, UnbufferedClientConnection};
use rustls::server::{ServerConnectionData, UnbufferedServerConnection};
use rustls::unbuffered::{
    ConnectionState, EncodeError, ReadEarlyData, UnbufferedConnectionCommon, UnbufferedStatus,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest record on the wire: 2^14 plaintext + 256 expansion (RFC 8446 §5.2),
/// plus room for TLS 1.2's larger allowance (2048).
const MAX_RECORD_BODY: usize = 16384 + 2048;

/// The side-specific parts of rustls' unbuffered API behind one trait, so the
/// handshake loop is written once.
pub(crate) trait Unbuffered: DerefMut<Target = UnbufferedConnectionCommon<Self::Data>> {
    type Data;
    fn process<'c, 'i>(&'c mut self, incoming: &'i mut [u8]) -> UnbufferedStatus<'c, 'i, Self::Data>;
    /// Moves 0-RTT data rustls decrypted into `out` (server only).
    fn take_early(state: ReadEarlyData<'_, '_, Self::Data>, out: &mut Vec<u8>) -> Result<(), rustls::Error>;
}

impl Unbuffered for UnbufferedClientConnection {
    type Data = ClientConnectionData;
    fn process<'c, 'i>(
        &'c mut self,
        incoming: &'i mut [u8],
    ) -> UnbufferedStatus<'c, 'i, ClientConnectionData> {
        self.process_tls_records(incoming)
    }
    fn take_early(
        _: ReadEarlyData<'_, '_, ClientConnectionData>,
        _: &mut Vec<u8>,
    ) -> Result<(), rustls::Error> {
        Err(rustls::Error::General(
            "a client never receives early data".into(),
        ))
    }
}

impl Unbuffered for UnbufferedServerConnection {
    type Data = ServerConnectionData;
    fn process<'c, 'i>(
        &'c mut self,
        incoming: &'i mut [u8],
    ) -> UnbufferedStatus<'c, 'i, ServerConnectionData> {
        self.process_tls_records(incoming)
    }
    fn take_early(
        mut state: ReadEarlyData<'_, '_, ServerConnectionData>,
        out: &mut Vec<u8>,
    ) -> Result<(), rustls::Error> {
        while let Some(rec) = state.next_record() {
            out.extend_from_slice(rec?.payload);
        }
        Ok(())
    }
}

pub(crate) fn tls_err(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// Reads one whole TLS record (header and body) and appends it to `buf`.
async fn read_one_record(tcp: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<()> {
    let mut header = [0u8; 5];
    tcp.read_exact(&mut header).await.map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "peer closed the connection during the TLS handshake",
            )
        } else {
            e
        }
    })?;
    // A TLS record starts with a content type (20..=24) and a legacy version
    // 3.x. Anything else is another protocol (an HTTP or SSH banner, say):
    // say so at once instead of waiting for a "record" that never completes.
    if !(20..=24).contains(&header[0]) || header[1] != 3 {
        let shown: String = header
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("peer is not speaking TLS (it sent {shown:?} where a TLS record header belongs)"),
        ));
    }
    let len = u16::from_be_bytes([header[3], header[4]]) as usize;
    if len > MAX_RECORD_BODY {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("peer sent a {len}-byte TLS record during the handshake (limit {MAX_RECORD_BODY}): not TLS, or corrupt"),
        ));
    }
    let start = buf.len();
    buf.extend_from_slice(&header);
    buf.resize(start + 5 + len, 0);
    tcp.read_exact(&mut buf[start + 5..]).await?;
    Ok(())
}

enum Step {
    Transmit,
    NeedRecord,
    Done,
}

/// Runs the handshake to completion. Returns application data rustls
/// already decrypted (0-RTT early data on a server, or data that shared a
/// flight with the handshake), which the caller must deliver before anything
/// the kernel decrypts.
pub(crate) async fn drive<C: Unbuffered>(conn: &mut C, tcp: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut incoming: Vec<u8> = Vec::with_capacity(MAX_RECORD_BODY + 5);
    let mut outgoing: Vec<u8> = vec![0; 4096];
    let mut out_len = 0usize;
    let mut plaintext = Vec::new();
    loop {
        let UnbufferedStatus { discard, state } = conn.process(&mut incoming);
        let step = match state {
            Err(e) => {
                // rustls queued an alert for the peer; send it, best effort,
                // so the peer learns why.
                let _ = flush_alert(conn, tcp).await;
                return Err(tls_err(e));
            }
            Ok(ConnectionState::EncodeTlsData(mut enc)) => {
                loop {
                    match enc.encode(&mut outgoing[out_len..]) {
                        Ok(n) => {
                            out_len += n;
                            break;
                        }
                        Err(EncodeError::InsufficientSize(s)) => {
                            outgoing.resize(out_len + s.required_size, 0);
                        }
                        Err(e) => return Err(io::Error::other(format!("TLS encode: {e}"))),
                    }
                }
                None
            }
            Ok(ConnectionState::TransmitTlsData(t)) => {
                t.done();
                Some(Step::Transmit)
            }
            Ok(ConnectionState::BlockedHandshake) => Some(Step::NeedRecord),
            Ok(ConnectionState::WriteTraffic(_)) => Some(Step::Done),
            Ok(ConnectionState::ReadTraffic(mut rt)) => {
                while let Some(rec) = rt.next_record() {
                    plaintext.extend_from_slice(rec.map_err(tls_err)?.payload);
                }
                None
            }
            Ok(ConnectionState::ReadEarlyData(ed)) => {
                C::take_early(ed, &mut plaintext).map_err(tls_err)?;
                None
            }
            Ok(ConnectionState::PeerClosed) | Ok(ConnectionState::Closed) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "peer sent close_notify during the TLS handshake",
                ));
            }
            Ok(_) => {
                return Err(io::Error::other(
                    "unexpected TLS connection state during the handshake",
                ))
            }
        };
        incoming.drain(..discard);
        match step {
            None => {}
            Some(Step::Transmit) => {
                // `done()` above only marks the bytes as taken; send them now,
                // before asking rustls for anything else.
                tcp.write_all(&outgoing[..out_len]).await?;
                out_len = 0;
            }
            Some(Step::NeedRecord) => read_one_record(tcp, &mut incoming).await?,
            Some(Step::Done) => {
                if out_len > 0 {
                    tcp.write_all(&outgoing[..out_len]).await?;
                    out_len = 0;
                }
                if conn.is_handshaking() {
                    // A TLS 1.3 server may send (0.5-RTT) but still waits for
                    // the client's Finished.
                    read_one_record(tcp, &mut incoming).await?;
                } else {
                    break;
                }
            }
        }
    }
    if !incoming.is_empty() {
        // Cannot happen when reading record by record; refuse rather than
        // lose bytes the kernel would never see.
        return Err(io::Error::other("TLS bytes left unprocessed at hand-off"));
    }
    tcp.flush().await?;
    Ok(plaintext)
}

async fn flush_alert<C: Unbuffered>(conn: &mut C, tcp: &mut TcpStream) -> io::Result<()> {
    let mut out = [0u8; 64];
    let mut len = 0;
    for _ in 0..4 {
        let UnbufferedStatus { state, .. } = conn.process(&mut []);
        match state {
            Ok(ConnectionState::EncodeTlsData(mut enc)) => {
                if let Ok(n) = enc.encode(&mut out[len..]) {
                    len += n;
                }
            }
            Ok(ConnectionState::TransmitTlsData(t)) => {
                t.done();
                break;
            }
            _ => break,
        }
    }
    if len > 0 {
        tcp.write_all(&out[..len]).await?;
    }
    Ok(())
}
