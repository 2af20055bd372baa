//! A NETLINK_ROUTE socket driven by tokio, and the dump procedure.

use crate::model::{Link, NetError};
use crate::wire::{self, Decoded, NLM_F_DUMP_INTR, RTM_GETADDR, RTM_GETLINK};
use std::collections::BTreeMap;
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use tokio::io::unix::AsyncFd;

/// First receive buffer size; grown on demand (see `recv`).
const INITIAL_BUF: usize = 64 * 1024;
/// Largest datagram we accept. Link messages with many VFs can get big, but
/// not this big; anything larger is dropped as an error rather than
/// allocated on the kernel's (or a bug's) say-so.
const MAX_DATAGRAM: usize = 4 * 1024 * 1024;
/// Kernel receive buffer asked for: bursts (a bridge with many ports going
/// down) must fit, or events are lost and we have to resynchronise.
const RCVBUF: libc::c_int = 1 << 20;
/// A dump interrupted by concurrent changes is retried this many times.
const DUMP_ATTEMPTS: usize = 5;
/// Upper bound on messages accepted in one dump.
const MAX_DUMP_MESSAGES: usize = 1 << 20;

pub(crate) struct NlSocket {
    fd: AsyncFd<OwnedFd>,
    buf: Vec<u8>,
    seq: u32,
}

fn io_err(context: &'static str) -> impl FnOnce(io::Error) -> NetError {
    move |source| NetError::Io { context, source }
}

fn check(ret: libc::c_int, context: &'static str) -> Result<(), NetError> {
    if ret < 0 {
        Err(NetError::Io {
            context,
            source: io::Error::last_os_error(),
        })
    } else {
        Ok(())
    }
}

fn setsockopt_int(fd: RawFd, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> libc::c_int {
    // SAFETY: the option value is a live c_int and its exact size is passed.
    unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    }
}

impl NlSocket {
    /// Opens a socket in the calling thread's network namespace, joined to
    /// the multicast `groups` (`RTNLGRP_*` numbers). Needs a tokio runtime
    /// with IO enabled.
    pub(crate) fn open(groups: &[u32]) -> Result<NlSocket, NetError> {
        // AsyncFd::register would panic outside a runtime; say it instead.
        tokio::runtime::Handle::try_current().map_err(|_| NetError::NoRuntime)?;
        // SAFETY: plain system call; the result is checked before use.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                libc::NETLINK_ROUTE,
            )
        };
        check(raw, "creating the NETLINK_ROUTE socket")?;
        // SAFETY: `raw` is a freshly created descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        if setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_RCVBUF, RCVBUF) < 0 {
            // Not fatal: the default buffer works, overflows are handled by resync.
            log::debug!("netlink SO_RCVBUF: {}", io::Error::last_os_error());
        }
        // SAFETY: sockaddr_nl is plain data for which all-zero is valid.
        let mut addr: libc::sockaddr_nl = unsafe { mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: `addr` is a valid sockaddr_nl and its size is passed.
        let ret = unsafe {
            libc::bind(
                raw,
                (&addr as *const libc::sockaddr_nl).cast(),
                mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        check(ret, "binding the netlink socket")?;
        for &group in groups {
            let group = libc::c_int::try_from(group)
                .map_err(|_| NetError::Protocol(format!("bad multicast group {group}")))?;
            check(
                setsockopt_int(raw, libc::SOL_NETLINK, libc::NETLINK_ADD_MEMBERSHIP, group),
                "joining a netlink multicast group",
            )?;
        }
        // SAFETY: an OwnedFd is open until dropped and always returns the
        // same descriptor, which is what register() requires.
        let fd = unsafe { AsyncFd::register(fd) }
            .map_err(|e| io_err("registering the netlink socket with tokio")(e.into()))?;
        Ok(NlSocket {
            fd,
            buf: vec![0; INITIAL_BUF],
            seq: 0,
        })
    }

    async fn send(&self, msg: &[u8]) -> Result<(), NetError> {
        // SAFETY: sockaddr_nl is plain data for which all-zero is valid;
        // pid 0 addresses the kernel.
        let mut to: libc::sockaddr_nl = unsafe { mem::zeroed() };
        to.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        loop {
            let mut guard = self.fd.writable().await.map_err(io_err("netlink send"))?;
            let res = guard.try_io(|fd| {
                // SAFETY: `msg` and `to` are valid for the lengths passed.
                let n = unsafe {
                    libc::sendto(
                        fd.as_raw_fd(),
                        msg.as_ptr().cast(),
                        msg.len(),
                        0,
                        (&to as *const libc::sockaddr_nl).cast(),
                        mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
                    )
                };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            match res {
                Ok(Ok(n)) if n == msg.len() => return Ok(()),
                Ok(Ok(_)) => return Err(NetError::Protocol("short netlink send".into())),
                Ok(Err(e)) => {
                    return Err(NetError::Io {
                        context: "netlink send",
                        source: e,
                    })
                }
                Err(_would_block) => continue,
            }
        }
    }

    /// Receives the next datagram sent by the kernel. Errors are the
    /// socket's, e.g. ENOBUFS when the kernel had to drop messages for us.
    pub(crate) async fn recv(&mut self) -> io::Result<&[u8]> {
        loop {
            let mut guard = self.fd.readable().await?;
            let buf = &mut self.buf;
            match guard.try_io(|fd| recv_datagram(fd.as_raw_fd(), buf)) {
                Ok(Ok(Some(n))) => return Ok(&self.buf[..n]),
                // Not from the kernel: any local process may unicast to our
                // port id, and it must not be able to forge network events.
                Ok(Ok(None)) => continue,
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }

    /// Dumps links, then addresses, and puts each address on its link.
    pub(crate) async fn dump(&mut self) -> Result<Vec<Link>, NetError> {
        for _ in 0..DUMP_ATTEMPTS {
            let Some(links) = self.dump_once(RTM_GETLINK, "link dump").await? else {
                continue;
            };
            let Some(addrs) = self.dump_once(RTM_GETADDR, "address dump").await? else {
                continue;
            };
            let mut by_index: BTreeMap<u32, Link> = BTreeMap::new();
            for d in links {
                if let Decoded::NewLink(l) = d {
                    by_index.insert(l.index, l);
                }
            }
            for d in addrs {
                if let Decoded::NewAddr(a) = d {
                    // An address of a link created after the link dump is
                    // skipped here; the event stream reports it.
                    if let Some(l) = by_index.get_mut(&a.index) {
                        l.addresses.push(a);
                    }
                }
            }
            return Ok(by_index.into_values().collect());
        }
        Err(NetError::Protocol(format!(
            "dump interrupted by concurrent changes {DUMP_ATTEMPTS} times"
        )))
    }

    /// One dump request. `Ok(None)` when the kernel flagged it inconsistent
    /// (the table changed while it was being dumped).
    async fn dump_once(&mut self, ty: u16, what: &'static str) -> Result<Option<Vec<Decoded>>, NetError> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        self.send(&wire::dump_request(ty, seq)).await?;
        let mut items = Vec::new();
        let mut interrupted = false;
        loop {
            let dgram = self.recv().await.map_err(io_err(what))?;
            for m in wire::messages(dgram) {
                let m = m.map_err(|e| NetError::Protocol(format!("{what}: {e}")))?;
                if m.seq != seq {
                    // Left over from an earlier, abandoned request.
                    continue;
                }
                interrupted |= m.flags & NLM_F_DUMP_INTR != 0;
                match wire::decode(&m) {
                    Ok(Decoded::Done(0)) => return Ok((!interrupted).then_some(items)),
                    Ok(Decoded::Done(code)) | Ok(Decoded::Error(code)) if code != 0 => {
                        return Err(NetError::Kernel {
                            request: what,
                            errno: code.saturating_neg(),
                        })
                    }
                    Ok(Decoded::Ignored) | Ok(Decoded::Error(_)) | Ok(Decoded::Done(_)) => {}
                    Ok(d) => {
                        if items.len() >= MAX_DUMP_MESSAGES {
                            return Err(NetError::Protocol(format!("{what}: too many entries")));
                        }
                        items.push(d);
                    }
                    // One bad entry should not hide all the others.
                    Err(e) => log::warn!("{what}: skipping a malformed entry: {e}"),
                }
            }
        }
    }
}

/// Reads one datagram into `buf`, growing it to fit. `Ok(None)` for a
/// datagram that did not come from the kernel (it is consumed and dropped).
fn recv_datagram(fd: RawFd, buf: &mut Vec<u8>) -> io::Result<Option<usize>> {
    // Peek with MSG_TRUNC to learn the real size, so a large message is read
    // whole instead of being cut off.
    // SAFETY: buf is valid for buf.len() bytes; null address is allowed.
    let size = unsafe {
        libc::recv(
            fd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_PEEK | libc::MSG_TRUNC,
        )
    };
    if size < 0 {
        return Err(io::Error::last_os_error());
    }
    let size = size as usize;
    if size > buf.len() && size <= MAX_DATAGRAM {
        buf.resize(size, 0);
    }
    // SAFETY: sockaddr_nl is plain data for which all-zero is valid.
    let mut from: libc::sockaddr_nl = unsafe { mem::zeroed() };
    let mut from_len = mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
    // SAFETY: buf, from and from_len are valid for the sizes passed.
    let n = unsafe {
        libc::recvfrom(
            fd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_TRUNC,
            (&mut from as *mut libc::sockaddr_nl).cast(),
            &mut from_len,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    if n > buf.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("netlink datagram of {n} bytes exceeds the {MAX_DATAGRAM}-byte limit"),
        ));
    }
    if from.nl_pid != 0 {
        log::debug!("netlink: ignoring a datagram from port {}", from.nl_pid);
        return Ok(None);
    }
    Ok(Some(n))
}
