//! Thin, checked wrappers over the Linux system calls kTLS needs.
//!
//! Everything `unsafe` in the crate lives here, so the rest of the crate is
//! safe Rust. The structures mirror `include/uapi/linux/tls.h`; `libc` only
//! carries `SOL_TLS` and `TCP_ULP`, not the crypto-info layouts.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// `SOL_TLS` from `linux/socket.h`.
pub const SOL_TLS: libc::c_int = 282;
/// `TCP_ULP` from `linux/tcp.h`.
pub const TCP_ULP: libc::c_int = 31;
/// Direction selectors for `setsockopt(SOL_TLS, ...)`.
pub const TLS_TX: libc::c_int = 1;
pub const TLS_RX: libc::c_int = 2;
/// Control-message types for `sendmsg`/`recvmsg` on a kTLS socket.
pub const TLS_SET_RECORD_TYPE: libc::c_int = 1;
pub const TLS_GET_RECORD_TYPE: libc::c_int = 2;

pub const TLS_1_2_VERSION: u16 = 0x0303;
pub const TLS_1_3_VERSION: u16 = 0x0304;

pub const TLS_CIPHER_AES_GCM_128: u16 = 51;
pub const TLS_CIPHER_AES_GCM_256: u16 = 52;
pub const TLS_CIPHER_CHACHA20_POLY1305: u16 = 54;

/// Records a TLS 1.2 AES-GCM key may protect in the kernel: the stream
/// enforces rustls' limit for those suites (2^24), well inside this.
pub const TLS12_NONCE_WINDOW: u64 = 1 << 32;

/// TLS record content types (RFC 8446 §5.1).
pub const CONTENT_ALERT: u8 = 21;
pub const CONTENT_HANDSHAKE: u8 = 22;
pub const CONTENT_APPLICATION_DATA: u8 = 23;

#[repr(C)]
#[derive(Default)]
pub struct CryptoInfoHeader {
    version: u16,
    cipher_type: u16,
}

#[repr(C)]
#[derive(Default)]
pub struct AesGcm128 {
    info: CryptoInfoHeader,
    iv: [u8; 8],
    key: [u8; 16],
    salt: [u8; 4],
    rec_seq: [u8; 8],
}

#[repr(C)]
#[derive(Default)]
pub struct AesGcm256 {
    info: CryptoInfoHeader,
    iv: [u8; 8],
    key: [u8; 32],
    salt: [u8; 4],
    rec_seq: [u8; 8],
}

#[repr(C)]
#[derive(Default)]
pub struct Chacha20Poly1305 {
    info: CryptoInfoHeader,
    iv: [u8; 12],
    key: [u8; 32],
    salt: [u8; 0],
    rec_seq: [u8; 8],
}

// The layouts must match `include/uapi/linux/tls.h` byte for byte.
const _: () = assert!(size_of::<AesGcm128>() == 40);
const _: () = assert!(size_of::<AesGcm256>() == 56);
const _: () = assert!(size_of::<Chacha20Poly1305>() == 56);

/// Key material for one direction of a kTLS socket, in the kernel's layout.
///
/// The key bytes are wiped when the value is dropped.
pub enum CryptoInfo {
    AesGcm128(AesGcm128),
    AesGcm256(AesGcm256),
    Chacha20Poly1305(Chacha20Poly1305),
}

impl Drop for CryptoInfo {
    fn drop(&mut self) {
        // Overwrite the key material so it does not linger in freed memory.
        // `write_volatile` keeps the compiler from eliding the stores.
        fn wipe<T: Default>(v: &mut T) {
            // SAFETY: `v` is a valid, aligned, exclusive reference to a `T`.
            unsafe { std::ptr::write_volatile(v, T::default()) }
        }
        match self {
            CryptoInfo::AesGcm128(c) => wipe(c),
            CryptoInfo::AesGcm256(c) => wipe(c),
            CryptoInfo::Chacha20Poly1305(c) => wipe(c),
        }
    }
}

/// Which AEAD a [`CryptoInfo`] is for; used by the probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aead {
    AesGcm128,
    AesGcm256,
    Chacha20Poly1305,
}

impl CryptoInfo {
    /// Builds the kernel structure from a version, an AEAD, the 12-byte IV
    /// rustls derived, the key and the next record sequence number.
    ///
    /// For AES-GCM the kernel wants the IV split: the first four bytes are
    /// the implicit "salt", the last eight the nonce part. ChaCha20 takes all
    /// twelve bytes as IV and has no salt.
    ///
    /// TLS 1.2 AES-GCM needs care. There the 8-byte nonce part is *explicit*
    /// (sent in each record) and the kernel does not derive it from the
    /// sequence number: it sends the `iv` it is given as the next record's
    /// explicit nonce and counts up from there. rustls, before the hand-off,
    /// used `iv[4..] XOR seq` for its records (the Finished at sequence 0 went
    /// out with `iv[4..]` itself). Handing the kernel `iv[4..]` would make its
    /// first record reuse that nonce under the same key, which breaks
    /// AES-GCM. So the kernel starts from the record sequence number instead
    /// (the counter construction of RFC 5288 §3), and [`CryptoInfo::new`]
    /// refuses in the astronomically unlikely case where rustls' nonces fall
    /// in the range the counter will use. TLS 1.3 and ChaCha20 XOR the
    /// sequence number on both sides, so their `iv` passes through.
    pub fn new(version: u16, aead: Aead, key: &[u8], iv: &[u8], seq: u64) -> io::Result<Self> {
        let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("kTLS: {what}"));
        if iv.len() != 12 {
            return Err(bad("IV must be 12 bytes"));
        }
        let rec_seq = seq.to_be_bytes();
        let tls12_gcm = version == TLS_1_2_VERSION && aead != Aead::Chacha20Poly1305;
        let explicit: [u8; 8] = if tls12_gcm {
            // rustls used base ^ j for j < seq (a handful of handshake
            // records); the kernel will use start, start+1, ... for at most
            // the suite's limit (2^24 records, enforced by the stream).
            // Start at seq, or, if one of rustls' nonces lies in that window
            // (chance 2^-32), in a window a quarter of the space away: seq
            // used nonces can block at most seq of the four windows.
            let base = u64::from_be_bytes(iv[4..12].try_into().expect("length checked"));
            let used = |start: u64| (0..seq).any(|j| (base ^ j).wrapping_sub(start) < TLS12_NONCE_WINDOW);
            let start = (0..4u64)
                .map(|k| seq.wrapping_add(k << 62))
                .find(|&start| !used(start))
                .ok_or_else(|| bad("no unused TLS 1.2 nonce range; refusing to offload this connection"))?;
            start.to_be_bytes()
        } else {
            iv[4..12].try_into().expect("length checked")
        };
        Ok(match aead {
            Aead::AesGcm128 => {
                let mut c = AesGcm128 {
                    info: CryptoInfoHeader {
                        version,
                        cipher_type: TLS_CIPHER_AES_GCM_128,
                    },
                    rec_seq,
                    ..Default::default()
                };
                if key.len() != c.key.len() {
                    return Err(bad("AES-128-GCM key must be 16 bytes"));
                }
                c.key.copy_from_slice(key);
                c.salt.copy_from_slice(&iv[..4]);
                c.iv = explicit;
                CryptoInfo::AesGcm128(c)
            }
            Aead::AesGcm256 => {
                let mut c = AesGcm256 {
                    info: CryptoInfoHeader {
                        version,
                        cipher_type: TLS_CIPHER_AES_GCM_256,
                    },
                    rec_seq,
                    ..Default::default()
                };
                if key.len() != c.key.len() {
                    return Err(bad("AES-256-GCM key must be 32 bytes"));
                }
                c.key.copy_from_slice(key);
                c.salt.copy_from_slice(&iv[..4]);
                c.iv = explicit;
                CryptoInfo::AesGcm256(c)
            }
            Aead::Chacha20Poly1305 => {
                let mut c = Chacha20Poly1305 {
                    info: CryptoInfoHeader {
                        version,
                        cipher_type: TLS_CIPHER_CHACHA20_POLY1305,
                    },
                    rec_seq,
                    ..Default::default()
                };
                if key.len() != c.key.len() {
                    return Err(bad("ChaCha20-Poly1305 key must be 32 bytes"));
                }
                c.key.copy_from_slice(key);
                c.iv.copy_from_slice(iv);
                CryptoInfo::Chacha20Poly1305(c)
            }
        })
    }

    fn as_bytes(&self) -> (*const libc::c_void, libc::socklen_t) {
        match self {
            CryptoInfo::AesGcm128(c) => (c as *const _ as *const _, size_of::<AesGcm128>() as _),
            CryptoInfo::AesGcm256(c) => (c as *const _ as *const _, size_of::<AesGcm256>() as _),
            CryptoInfo::Chacha20Poly1305(c) => {
                (c as *const _ as *const _, size_of::<Chacha20Poly1305>() as _)
            }
        }
    }
}

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn cvt_size(ret: libc::ssize_t) -> io::Result<usize> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret as usize)
    }
}

/// Attaches the "tls" upper-layer protocol to a connected TCP socket.
///
/// Until crypto state is installed the socket behaves as plain TCP, so this
/// is done before the handshake: a kernel without kTLS says so here
/// (`ENOENT`) and the caller can still choose the userspace path.
pub fn set_ulp_tls(fd: BorrowedFd<'_>) -> io::Result<()> {
    let name = b"tls";
    // SAFETY: `fd` is a live descriptor for the duration of the call; the
    // option value points at `name`, valid for `name.len()` bytes.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_TCP,
            TCP_ULP,
            name.as_ptr() as *const libc::c_void,
            name.len() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// Installs (or, on kernels with TLS 1.3 rekey, replaces) the crypto state
/// for one direction.
pub fn set_crypto(fd: BorrowedFd<'_>, direction: libc::c_int, info: &CryptoInfo) -> io::Result<()> {
    let (ptr, len) = info.as_bytes();
    // SAFETY: `ptr`/`len` describe a live `#[repr(C)]` structure owned by
    // `info`, which outlives the call; the kernel only reads it.
    cvt(unsafe { libc::setsockopt(fd.as_raw_fd(), SOL_TLS, direction, ptr, len) }).map(drop)
}

/// Space for one control message carrying a single byte (the record type):
/// `CMSG_SPACE(1)`, which is 24 on 64-bit Linux (checked below).
const CMSG_SPACE_1: usize = 24;
// SAFETY: CMSG_SPACE is pure arithmetic on its argument.
const _: () = assert!(unsafe { libc::CMSG_SPACE(1) } as usize <= CMSG_SPACE_1);

#[repr(C, align(8))]
struct CmsgBuf([u8; CMSG_SPACE_1]);

/// Result of one `recvmsg` on a kTLS socket.
pub struct Received {
    /// Bytes of plaintext written to the buffer.
    pub len: usize,
    /// The TLS content type of the record(s) read, when the kernel said.
    pub record_type: Option<u8>,
}

/// Reads decrypted records through `recvmsg` with room for the record-type
/// control message, as the kernel requires: without it a control record
/// (alert, NewSessionTicket, KeyUpdate) makes a plain `read` fail with `EIO`.
pub fn recv_record(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<Received> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the call.
    unsafe { recv_record_raw(fd, buf.as_mut_ptr(), buf.len()) }
}

/// [`recv_record`] into uninitialised memory (a `Vec`'s spare capacity), so
/// a buffer need not be zeroed before each read. The first `len` bytes of
/// `buf` are initialised when it returns `Ok`.
pub fn recv_record_uninit(fd: BorrowedFd<'_>, buf: &mut [std::mem::MaybeUninit<u8>]) -> io::Result<Received> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes; the kernel only
    // writes into it (never reads), so uninitialised bytes are fine.
    unsafe { recv_record_raw(fd, buf.as_mut_ptr() as *mut u8, buf.len()) }
}

/// # Safety
/// `ptr` must be valid for writes of `len` bytes for the duration of the call.
unsafe fn recv_record_raw(fd: BorrowedFd<'_>, ptr: *mut u8, len: usize) -> io::Result<Received> {
    let mut cmsg = CmsgBuf([0; CMSG_SPACE_1]);
    let mut iov = libc::iovec {
        iov_base: ptr as *mut libc::c_void,
        iov_len: len,
    };
    // SAFETY: an all-zero msghdr is a valid "no name, no iov, no control" value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.0.as_mut_ptr() as *mut libc::c_void;
    msg.msg_controllen = CMSG_SPACE_1 as _;
    // SAFETY: `msg` points at `iov` (describing `buf`) and `cmsg`, both live
    // and exclusively borrowed for the duration of the call.
    let len = cvt_size(unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, 0) })?;
    if msg.msg_flags & libc::MSG_CTRUNC != 0 {
        // The record type did not fit: never guess it.
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "kTLS control message truncated",
        ));
    }
    let mut record_type = None;
    // SAFETY: `msg` was filled by the kernel; CMSG_FIRSTHDR/CMSG_NXTHDR walk
    // only within `msg_control`/`msg_controllen`, which the kernel bounded.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == SOL_TLS
                && (*c).cmsg_type == TLS_GET_RECORD_TYPE
                && (*c).cmsg_len as usize >= libc::CMSG_LEN(1) as usize
            {
                record_type = Some(*libc::CMSG_DATA(c));
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok(Received { len, record_type })
}

/// Sends one record of the given content type; the kernel encrypts it.
///
/// Used for alerts and post-handshake handshake messages (KeyUpdate). Returns
/// the number of payload bytes accepted.
pub fn send_record(fd: BorrowedFd<'_>, record_type: u8, payload: &[u8]) -> io::Result<usize> {
    let mut cmsg = CmsgBuf([0; CMSG_SPACE_1]);
    let mut iov = libc::iovec {
        iov_base: payload.as_ptr() as *mut libc::c_void,
        iov_len: payload.len(),
    };
    // SAFETY: an all-zero msghdr is a valid "no name, no iov, no control" value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.0.as_mut_ptr() as *mut libc::c_void;
    // SAFETY: CMSG_SPACE/CMSG_LEN are pure arithmetic.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE(1) } as _;
    // SAFETY: the control buffer is CMSG_SPACE_1 bytes, aligned to 8, which
    // holds one header plus one data byte; CMSG_FIRSTHDR is non-null because
    // msg_controllen is at least a header.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = SOL_TLS;
        (*c).cmsg_type = TLS_SET_RECORD_TYPE;
        (*c).cmsg_len = libc::CMSG_LEN(1) as _;
        *libc::CMSG_DATA(c) = record_type;
    }
    // SAFETY: `msg` references `iov` (describing `payload`) and `cmsg`, both
    // live for the call; the kernel only reads them.
    cvt_size(unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) })
}

/// `send(2)` with `MSG_NOSIGNAL`, so a closed peer is an error, not SIGPIPE.
pub fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes during the call.
    cvt_size(unsafe {
        libc::send(
            fd.as_raw_fd(),
            buf.as_ptr() as *const libc::c_void,
            buf.len(),
            libc::MSG_NOSIGNAL,
        )
    })
}

/// `sendfile(2)` from `file` at `*offset` into the socket; advances `offset`.
pub fn sendfile(
    sock: BorrowedFd<'_>,
    file: BorrowedFd<'_>,
    offset: &mut u64,
    len: usize,
) -> io::Result<usize> {
    let mut off = *offset as libc::off_t;
    // SAFETY: both descriptors are live; `off` is a valid, exclusive pointer.
    let n = cvt_size(unsafe { libc::sendfile(sock.as_raw_fd(), file.as_raw_fd(), &mut off, len) })?;
    *offset = off as u64;
    Ok(n)
}

/// `splice(2)` between two descriptors (one must be a pipe), no offsets.
pub fn splice(
    from: BorrowedFd<'_>,
    to: BorrowedFd<'_>,
    len: usize,
    flags: libc::c_uint,
) -> io::Result<usize> {
    // SAFETY: both descriptors are live; null offsets mean "use and advance
    // the file position", which is valid for sockets, pipes and files.
    cvt_size(unsafe {
        libc::splice(
            from.as_raw_fd(),
            std::ptr::null_mut(),
            to.as_raw_fd(),
            std::ptr::null_mut(),
            len,
            flags,
        )
    })
}

/// `splice(2)` from a pipe into a file at an explicit offset, advancing it.
pub fn splice_to_offset(
    pipe: BorrowedFd<'_>,
    file: BorrowedFd<'_>,
    offset: &mut u64,
    len: usize,
) -> io::Result<usize> {
    let mut off = *offset as libc::loff_t;
    // SAFETY: both descriptors are live; `off` is a valid, exclusive pointer.
    let n = cvt_size(unsafe {
        libc::splice(
            pipe.as_raw_fd(),
            std::ptr::null_mut(),
            file.as_raw_fd(),
            &mut off,
            len,
            libc::SPLICE_F_MOVE,
        )
    })?;
    *offset = off as u64;
    Ok(n)
}

/// Creates a close-on-exec pipe: (read end, write end).
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is valid for two ints.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: on success both are fresh descriptors that we now own.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Grows a pipe's buffer so one splice moves up to `size` bytes; a failure
/// only costs speed, so it is ignored by callers.
pub fn set_pipe_size(fd: BorrowedFd<'_>, size: usize) -> io::Result<()> {
    // SAFETY: F_SETPIPE_SZ takes an int argument and touches no memory.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, size as libc::c_int) }).map(drop)
}

/// `shutdown(2)` on the socket.
pub fn shutdown(fd: BorrowedFd<'_>, how: libc::c_int) -> io::Result<()> {
    // SAFETY: plain syscall on a live descriptor.
    cvt(unsafe { libc::shutdown(fd.as_raw_fd(), how) }).map(drop)
}

/// The running kernel's release string (`uname -r`).
pub fn kernel_release() -> String {
    // SAFETY: an all-zero utsname is valid; uname fills it with C strings.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, exclusive utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return "unknown".into();
    }
    let bytes: Vec<u8> = u
        .release
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls12_gcm_kernel_nonces_never_repeat_rustls_ones() {
        let key = [7u8; 16];
        let iv = [1, 2, 3, 4, 0xa0, 0xb1, 0xc2, 0xd3, 0xe4, 0xf5, 0x06, 0x17];
        for seq in [1u64, 2, 5] {
            let info = CryptoInfo::new(TLS_1_2_VERSION, Aead::AesGcm128, &key, &iv, seq).unwrap();
            let CryptoInfo::AesGcm128(c) = &info else {
                panic!("wrong variant")
            };
            // The kernel sends c.iv, c.iv+1, ... as explicit nonces.
            let first = u64::from_be_bytes(c.iv);
            assert_eq!(first, seq);
            let base = u64::from_be_bytes(iv[4..].try_into().unwrap());
            for j in 0..seq {
                let used = base ^ j; // what rustls sent at sequence j
                assert!(
                    used.wrapping_sub(first) >= TLS12_NONCE_WINDOW,
                    "kernel would reuse rustls' nonce of record {j}"
                );
            }
            assert_eq!(c.salt, [1, 2, 3, 4]);
            assert_eq!(c.rec_seq, seq.to_be_bytes());
        }
        // A base inside the counter's window moves the window away.
        let mut near = iv;
        near[4..].copy_from_slice(&3u64.to_be_bytes());
        let info = CryptoInfo::new(TLS_1_2_VERSION, Aead::AesGcm256, &[0; 32], &near, 1).unwrap();
        let CryptoInfo::AesGcm256(c) = &info else {
            panic!("wrong variant")
        };
        let start = u64::from_be_bytes(c.iv);
        assert_eq!(start, 1 + (1 << 62));
        assert!(3u64.wrapping_sub(start) >= TLS12_NONCE_WINDOW);
        // TLS 1.3 and ChaCha20 keep rustls' IV (both sides XOR the sequence).
        let info = CryptoInfo::new(TLS_1_3_VERSION, Aead::AesGcm128, &key, &iv, 3).unwrap();
        let CryptoInfo::AesGcm128(c) = &info else {
            panic!("wrong variant")
        };
        assert_eq!(c.iv, iv[4..]);
        let info = CryptoInfo::new(TLS_1_2_VERSION, Aead::Chacha20Poly1305, &[0; 32], &iv, 3).unwrap();
        let CryptoInfo::Chacha20Poly1305(c) = &info else {
            panic!("wrong variant")
        };
        assert_eq!(c.iv, iv);
    }
}
