//! rtnetlink wire format, just enough to read links and addresses.
//!
//! Everything here takes untrusted bytes and returns `Result`: every length
//! is checked against what is actually there before it is used, so a
//! malformed message yields a [`ParseError`], never a panic or an endless loop.
//! Layouts and numbers are the kernel UAPI (`linux/netlink.h`,
//! `linux/rtnetlink.h`, `linux/if_link.h`, `linux/if_addr.h`); netlink uses
//! the host's byte order.

use crate::model::{Address, HwAddr, Link, OperState};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `struct nlmsghdr`: len u32, type u16, flags u16, seq u32, pid u32.
pub(crate) const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;

const NLM_F_REQUEST: u16 = 0x1;
/// Set on dump messages when the dumped table changed during the dump.
pub(crate) const NLM_F_DUMP_INTR: u16 = 0x10;
/// `NLM_F_ROOT | NLM_F_MATCH`.
const NLM_F_DUMP: u16 = 0x300;

pub(crate) const RTM_NEWLINK: u16 = 16;
pub(crate) const RTM_DELLINK: u16 = 17;
pub(crate) const RTM_GETLINK: u16 = 18;
pub(crate) const RTM_NEWADDR: u16 = 20;
pub(crate) const RTM_DELADDR: u16 = 21;
pub(crate) const RTM_GETADDR: u16 = 22;

/// `struct ifinfomsg`: family u8, pad u8, type u16, index i32, flags u32, change u32.
const IFINFOMSG_LEN: usize = 16;
/// `struct ifaddrmsg`: family u8, prefixlen u8, flags u8, scope u8, index u32.
const IFADDRMSG_LEN: usize = 8;

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_EXT_MASK: u16 = 29;
const IFLA_CARRIER: u16 = 33;
/// Leaves the (large) statistics blocks out of link dumps: we never use them.
const RTEXT_FILTER_SKIP_STATS: u32 = 1 << 3;

const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_FLAGS: u16 = 8;

const AF_UNSPEC: u8 = 0;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// Attribute type bits that are flags, not part of the type.
const NLA_TYPE_MASK: u16 = !(0x8000 | 0x4000);

/// A message or attribute that does not follow the format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ParseError(pub(crate) &'static str);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

fn align4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// One netlink message: header fields and payload.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Message<'a> {
    pub(crate) ty: u16,
    pub(crate) flags: u16,
    pub(crate) seq: u32,
    pub(crate) payload: &'a [u8],
}

/// The messages of one datagram. After the first malformed header the rest
/// of the datagram cannot be framed, so iteration ends with that error.
pub(crate) struct Messages<'a> {
    rest: &'a [u8],
}

pub(crate) fn messages(buf: &[u8]) -> Messages<'_> {
    Messages { rest: buf }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let buf = self.rest;
        // Whatever happens below, this datagram yields nothing after an error.
        self.rest = &[];
        let (Some(len), Some(ty), Some(flags), Some(seq)) =
            (u32_at(buf, 0), u16_at(buf, 4), u16_at(buf, 6), u32_at(buf, 8))
        else {
            return Some(Err(ParseError("truncated netlink header")));
        };
        let len = len as usize;
        if len < NLMSG_HDRLEN {
            return Some(Err(ParseError("netlink length shorter than its header")));
        }
        if len > buf.len() {
            return Some(Err(ParseError("netlink length beyond the datagram")));
        }
        // The next message starts at the aligned end; the last one may omit
        // its padding, hence min().
        self.rest = &buf[align4(len).min(buf.len())..];
        Some(Ok(Message {
            ty,
            flags,
            seq,
            payload: &buf[NLMSG_HDRLEN..len],
        }))
    }
}

/// Iterates over `struct rtattr` (len u16, type u16, value) records.
struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<(u16, &'a [u8]), ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let buf = self.rest;
        self.rest = &[];
        let (Some(len), Some(ty)) = (u16_at(buf, 0), u16_at(buf, 2)) else {
            return Some(Err(ParseError("truncated attribute header")));
        };
        let len = usize::from(len);
        if len < 4 || len > buf.len() {
            return Some(Err(ParseError("attribute length out of bounds")));
        }
        self.rest = &buf[align4(len).min(buf.len())..];
        Some(Ok((ty & NLA_TYPE_MASK, &buf[4..len])))
    }
}

fn attrs(buf: &[u8]) -> Attrs<'_> {
    Attrs { rest: buf }
}

/// What a message means to us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    NewLink(Link),
    DelLink(Link),
    NewAddr(Address),
    DelAddr(Address),
    /// End of a dump; a non-zero value is the dump's (negative) error code.
    Done(i32),
    /// `NLMSG_ERROR`: 0 is an acknowledgement, otherwise a negative errno.
    Error(i32),
    /// Anything else (other families, message types we do not use).
    Ignored,
}

pub(crate) fn decode(msg: &Message<'_>) -> Result<Decoded, ParseError> {
    match msg.ty {
        NLMSG_ERROR => {
            let code = u32_at(msg.payload, 0).ok_or(ParseError("truncated NLMSG_ERROR"))?;
            Ok(Decoded::Error(code as i32))
        }
        // Older kernels send DONE without the status word.
        NLMSG_DONE => Ok(Decoded::Done(u32_at(msg.payload, 0).unwrap_or(0) as i32)),
        RTM_NEWLINK | RTM_DELLINK => {
            let Some(link) = parse_link(msg.payload)? else {
                return Ok(Decoded::Ignored);
            };
            Ok(if msg.ty == RTM_NEWLINK {
                Decoded::NewLink(link)
            } else {
                Decoded::DelLink(link)
            })
        }
        RTM_NEWADDR | RTM_DELADDR => {
            let Some(addr) = parse_addr(msg.payload)? else {
                return Ok(Decoded::Ignored);
            };
            Ok(if msg.ty == RTM_NEWADDR {
                Decoded::NewAddr(addr)
            } else {
                Decoded::DelAddr(addr)
            })
        }
        _ => Ok(Decoded::Ignored),
    }
}

/// `None` for messages of another family: RTNLGRP_LINK also carries
/// AF_BRIDGE messages about bridge ports, whose RTM_DELLINK means "left the
/// bridge", not "link removed".
fn parse_link(p: &[u8]) -> Result<Option<Link>, ParseError> {
    if p.len() < IFINFOMSG_LEN {
        return Err(ParseError("truncated ifinfomsg"));
    }
    if p[0] != AF_UNSPEC {
        return Ok(None);
    }
    let index = u32_at(p, 4).ok_or(ParseError("truncated ifinfomsg"))?;
    let flags = u32_at(p, 8).ok_or(ParseError("truncated ifinfomsg"))?;
    if index == 0 || index > i32::MAX as u32 {
        return Err(ParseError("invalid interface index"));
    }
    let mut link = Link {
        index,
        name: String::new(),
        flags,
        oper_state: OperState::Unknown,
        carrier: None,
        mac: None,
        mtu: None,
        addresses: Vec::new(),
    };
    let mut have_name = false;
    for attr in attrs(&p[IFINFOMSG_LEN..]) {
        let (ty, v) = attr?;
        match ty {
            IFLA_IFNAME => {
                // NUL-terminated; names are bytes to the kernel, shown lossily.
                let name = v.split(|b| *b == 0).next().unwrap_or_default();
                if name.is_empty() || name.len() > 15 {
                    return Err(ParseError("interface name empty or longer than IFNAMSIZ"));
                }
                link.name = String::from_utf8_lossy(name).into_owned();
                have_name = true;
            }
            IFLA_ADDRESS => {
                link.mac = Some(HwAddr::new(v).ok_or(ParseError("hardware address too long"))?);
            }
            IFLA_MTU => link.mtu = Some(u32_at(v, 0).ok_or(ParseError("short IFLA_MTU"))?),
            IFLA_OPERSTATE => {
                link.oper_state =
                    OperState::from_kernel(*v.first().ok_or(ParseError("empty IFLA_OPERSTATE"))?)
            }
            IFLA_CARRIER => link.carrier = Some(*v.first().ok_or(ParseError("empty IFLA_CARRIER"))? != 0),
            _ => {}
        }
    }
    if !have_name {
        return Err(ParseError("link message without IFLA_IFNAME"));
    }
    Ok(Some(link))
}

/// `None` for families other than IPv4/IPv6.
fn parse_addr(p: &[u8]) -> Result<Option<Address>, ParseError> {
    if p.len() < IFADDRMSG_LEN {
        return Err(ParseError("truncated ifaddrmsg"));
    }
    let (family, prefix_len, flags8, scope) = (p[0], p[1], p[2], p[3]);
    let index = u32_at(p, 4).ok_or(ParseError("truncated ifaddrmsg"))?;
    let max_prefix = match family {
        AF_INET => 32,
        AF_INET6 => 128,
        _ => return Ok(None),
    };
    if prefix_len > max_prefix {
        return Err(ParseError("prefix length too long for the family"));
    }
    let mut local = None;
    let mut address = None;
    let mut flags = u32::from(flags8);
    for attr in attrs(&p[IFADDRMSG_LEN..]) {
        let (ty, v) = attr?;
        match ty {
            IFA_LOCAL | IFA_ADDRESS => {
                let ip = match (family, v.len()) {
                    (AF_INET, 4) => IpAddr::V4(Ipv4Addr::new(v[0], v[1], v[2], v[3])),
                    (AF_INET6, 16) => {
                        let mut o = [0u8; 16];
                        o.copy_from_slice(v);
                        IpAddr::V6(Ipv6Addr::from(o))
                    }
                    _ => return Err(ParseError("address length does not match the family")),
                };
                if ty == IFA_LOCAL {
                    local = Some(ip);
                } else {
                    address = Some(ip);
                }
            }
            // The 8-bit ifa_flags cannot hold the newer flags; IFA_FLAGS has them all.
            IFA_FLAGS => flags = u32_at(v, 0).ok_or(ParseError("short IFA_FLAGS"))?,
            _ => {}
        }
    }
    // On point-to-point links IFA_ADDRESS is the peer and IFA_LOCAL ours;
    // otherwise they are equal or only IFA_ADDRESS is sent (IPv6).
    let addr = local
        .or(address)
        .ok_or(ParseError("address message without an address"))?;
    Ok(Some(Address {
        index,
        addr,
        prefix_len,
        scope,
        flags,
    }))
}

/// A dump request for all links (`RTM_GETLINK`) or addresses (`RTM_GETADDR`).
pub(crate) fn dump_request(ty: u16, seq: u32) -> Vec<u8> {
    let mut payload = Vec::new();
    if ty == RTM_GETLINK {
        // ifinfomsg, all zero: any family, any link.
        payload.extend_from_slice(&[0u8; IFINFOMSG_LEN]);
        payload.extend_from_slice(&8u16.to_ne_bytes());
        payload.extend_from_slice(&IFLA_EXT_MASK.to_ne_bytes());
        payload.extend_from_slice(&RTEXT_FILTER_SKIP_STATS.to_ne_bytes());
    } else {
        // ifaddrmsg, all zero: both families, all links.
        payload.extend_from_slice(&[0u8; IFADDRMSG_LEN]);
    }
    let len = (NLMSG_HDRLEN + payload.len()) as u32;
    let mut msg = Vec::with_capacity(len as usize);
    msg.extend_from_slice(&len.to_ne_bytes());
    msg.extend_from_slice(&ty.to_ne_bytes());
    msg.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    msg.extend_from_slice(&seq.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    msg.extend_from_slice(&payload);
    msg
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds one message the way the kernel lays it out.
    pub(crate) fn msg(ty: u16, flags: u16, seq: u32, fixed: &[u8], attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = fixed.to_vec();
        for (t, v) in attrs {
            body.extend_from_slice(&((4 + v.len()) as u16).to_ne_bytes());
            body.extend_from_slice(&t.to_ne_bytes());
            body.extend_from_slice(v);
            while body.len() % 4 != 0 {
                body.push(0);
            }
        }
        let mut m = Vec::new();
        m.extend_from_slice(&((NLMSG_HDRLEN + body.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&ty.to_ne_bytes());
        m.extend_from_slice(&flags.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(&body);
        m
    }

    pub(crate) fn ifinfo(family: u8, index: u32, flags: u32) -> Vec<u8> {
        let mut f = vec![family, 0, 1, 0];
        f.extend_from_slice(&index.to_ne_bytes());
        f.extend_from_slice(&flags.to_ne_bytes());
        f.extend_from_slice(&0u32.to_ne_bytes());
        f
    }

    pub(crate) fn link_msg(ty: u16, index: u32, name: &str, flags: u32, oper: u8) -> Vec<u8> {
        let mut n = name.as_bytes().to_vec();
        n.push(0);
        msg(
            ty,
            0,
            0,
            &ifinfo(AF_UNSPEC, index, flags),
            &[
                (IFLA_IFNAME, &n),
                (IFLA_ADDRESS, &[2, 0, 0, 0, 0, index as u8]),
                (IFLA_MTU, &1500u32.to_ne_bytes()),
                (IFLA_OPERSTATE, &[oper]),
                (IFLA_CARRIER, &[u8::from(oper == 6)]),
            ],
        )
    }

    pub(crate) fn addr_msg(ty: u16, index: u32, ip: IpAddr, prefix: u8) -> Vec<u8> {
        let (family, bytes) = match ip {
            IpAddr::V4(a) => (AF_INET, a.octets().to_vec()),
            IpAddr::V6(a) => (AF_INET6, a.octets().to_vec()),
        };
        let mut fixed = vec![family, prefix, 0x80, 0];
        fixed.extend_from_slice(&index.to_ne_bytes());
        msg(
            ty,
            0,
            0,
            &fixed,
            &[(IFA_ADDRESS, &bytes), (IFA_FLAGS, &0x80u32.to_ne_bytes())],
        )
    }

    fn decode_all(buf: &[u8]) -> Vec<Result<Decoded, ParseError>> {
        messages(buf).map(|m| m.and_then(|m| decode(&m))).collect()
    }

    #[test]
    fn decodes_links() {
        let mut buf = link_msg(RTM_NEWLINK, 7, "veth0", 0x1 | 0x40, 6);
        buf.extend(link_msg(RTM_DELLINK, 8, "veth1", 0, 2));
        let out = decode_all(&buf);
        assert_eq!(out.len(), 2);
        let Ok(Decoded::NewLink(l)) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!((l.index, l.name.as_str()), (7, "veth0"));
        assert!(l.is_up() && l.admin_up());
        assert_eq!(l.oper_state, OperState::Up);
        assert_eq!(l.carrier, Some(true));
        assert_eq!(l.mtu, Some(1500));
        assert_eq!(l.mac.as_ref().unwrap().to_string(), "02:00:00:00:00:07");
        let Ok(Decoded::DelLink(l)) = &out[1] else {
            panic!("{out:?}")
        };
        assert!(!l.is_up());
        assert_eq!(l.oper_state, OperState::Down);
    }

    #[test]
    fn bridge_port_messages_are_ignored() {
        let buf = msg(RTM_DELLINK, 0, 0, &ifinfo(7, 3, 0), &[(IFLA_IFNAME, b"eth0\0")]);
        assert_eq!(decode_all(&buf), [Ok(Decoded::Ignored)]);
    }

    #[test]
    fn decodes_addresses() {
        let v4: IpAddr = "10.1.2.3".parse().unwrap();
        let v6: IpAddr = "fd00::1".parse().unwrap();
        let mut buf = addr_msg(RTM_NEWADDR, 4, v4, 24);
        buf.extend(addr_msg(RTM_DELADDR, 4, v6, 64));
        let out = decode_all(&buf);
        let Ok(Decoded::NewAddr(a)) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!((a.index, a.addr, a.prefix_len, a.flags), (4, v4, 24, 0x80));
        let Ok(Decoded::DelAddr(a)) = &out[1] else {
            panic!("{out:?}")
        };
        assert_eq!((a.addr, a.prefix_len), (v6, 64));
    }

    #[test]
    fn point_to_point_uses_the_local_address() {
        let mut fixed = vec![AF_INET, 32, 0, 0];
        fixed.extend_from_slice(&5u32.to_ne_bytes());
        let buf = msg(
            RTM_NEWADDR,
            0,
            0,
            &fixed,
            &[(IFA_ADDRESS, &[192, 0, 2, 2]), (IFA_LOCAL, &[192, 0, 2, 1])],
        );
        let out = decode_all(&buf);
        let Ok(Decoded::NewAddr(a)) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(a.addr, "192.0.2.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn control_messages() {
        let done = msg(NLMSG_DONE, 2, 9, &0u32.to_ne_bytes(), &[]);
        let err = msg(NLMSG_ERROR, 0, 9, &(-13i32).to_ne_bytes(), &[]);
        let mut buf = done.clone();
        buf.extend(&err);
        assert_eq!(decode_all(&buf), [Ok(Decoded::Done(0)), Ok(Decoded::Error(-13))]);
        let m = messages(&done).next().unwrap().unwrap();
        assert_eq!((m.seq, m.flags), (9, 2));
    }

    #[test]
    fn malformed_messages_are_errors() {
        let good = link_msg(RTM_NEWLINK, 7, "veth0", 1, 6);
        // Truncated anywhere: an error (or nothing for an empty buffer), never a panic.
        for cut in 0..good.len() {
            for r in decode_all(&good[..cut]) {
                assert!(r.is_err(), "cut at {cut}: {r:?}");
            }
        }
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                msg(RTM_NEWLINK, 0, 0, &ifinfo(0, 1, 0), &[]),
                "without IFLA_IFNAME",
            ),
            (
                msg(RTM_NEWLINK, 0, 0, &ifinfo(0, 0, 0), &[(IFLA_IFNAME, b"a\0")]),
                "invalid interface index",
            ),
            (
                msg(
                    RTM_NEWLINK,
                    0,
                    0,
                    &ifinfo(0, 1, 0),
                    &[(IFLA_IFNAME, b"0123456789abcdef\0")],
                ),
                "IFNAMSIZ",
            ),
            (
                msg(
                    RTM_NEWLINK,
                    0,
                    0,
                    &ifinfo(0, 1, 0),
                    &[(IFLA_IFNAME, b"a\0"), (IFLA_ADDRESS, &[0; 33])],
                ),
                "too long",
            ),
            (
                msg(RTM_NEWADDR, 0, 0, &[AF_INET, 33, 0, 0, 1, 0, 0, 0], &[]),
                "prefix length",
            ),
            (
                msg(
                    RTM_NEWADDR,
                    0,
                    0,
                    &[AF_INET, 8, 0, 0, 1, 0, 0, 0],
                    &[(IFA_ADDRESS, &[1; 16])],
                ),
                "does not match",
            ),
            (
                msg(RTM_NEWADDR, 0, 0, &[AF_INET6, 8, 0, 0, 1, 0, 0, 0], &[]),
                "without an address",
            ),
        ];
        for (buf, want) in cases {
            let out = decode_all(&buf);
            assert!(
                matches!(&out[..], [Err(ParseError(m))] if m.contains(want)),
                "{want}: {out:?}"
            );
        }
        // A header claiming more than the datagram holds, or less than itself.
        let mut bad = good.clone();
        bad[0..4].copy_from_slice(&1000u32.to_ne_bytes());
        assert!(decode_all(&bad)[0].is_err());
        bad[0..4].copy_from_slice(&3u32.to_ne_bytes());
        assert!(decode_all(&bad)[0].is_err());
        // An attribute claiming more than the message holds.
        let mut bad = good;
        bad[NLMSG_HDRLEN + IFINFOMSG_LEN..][..2].copy_from_slice(&200u16.to_ne_bytes());
        assert!(decode_all(&bad)[0].is_err());
    }

    /// xorshift64*: a small deterministic generator, so a failure replays.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn fuzz_random_and_mutated_input_never_panics() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut seeds = vec![
            link_msg(RTM_NEWLINK, 3, "eth0", 0x41, 6),
            link_msg(RTM_DELLINK, 3, "eth0", 0, 2),
            addr_msg(RTM_NEWADDR, 3, "10.0.0.1".parse().unwrap(), 8),
            addr_msg(RTM_DELADDR, 3, "fe80::1".parse().unwrap(), 64),
            msg(NLMSG_DONE, 2, 1, &0u32.to_ne_bytes(), &[]),
        ];
        let all: Vec<u8> = seeds.concat();
        seeds.push(all);
        let mut decoded = 0usize;
        for round in 0..200_000 {
            let buf: Vec<u8> = if round % 2 == 0 {
                // Pure noise, biased toward small lengths like real headers.
                let len = rng.below(96);
                (0..len).map(|_| rng.next() as u8).collect()
            } else {
                // A valid stream with a few bytes flipped and maybe truncated or extended.
                let mut b = seeds[rng.below(seeds.len())].clone();
                for _ in 0..=rng.below(4) {
                    let i = rng.below(b.len());
                    b[i] = match rng.below(4) {
                        0 => 0,
                        1 => 0xff,
                        _ => rng.next() as u8,
                    };
                }
                match rng.below(4) {
                    0 => b.truncate(rng.below(b.len() + 1)),
                    1 => b.extend((0..rng.below(40)).map(|_| rng.next() as u8)),
                    _ => {}
                }
                b
            };
            let mut count = 0;
            for m in messages(&buf) {
                count += 1;
                // Each message consumes at least a header: iteration is bounded.
                assert!(count <= buf.len() / NLMSG_HDRLEN + 1);
                if let Ok(m) = m {
                    if decode(&m).is_ok() {
                        decoded += 1;
                    }
                }
            }
        }
        // The mutations must leave many messages decodable, or the fuzzing
        // would only be exercising the header checks.
        assert!(decoded > 10_000, "only {decoded} decodable messages");
    }

    #[test]
    fn dump_requests_are_well_formed() {
        for ty in [RTM_GETLINK, RTM_GETADDR] {
            let req = dump_request(ty, 42);
            let m = messages(&req).next().unwrap().unwrap();
            assert_eq!((m.ty, m.seq, m.flags), (ty, 42, NLM_F_REQUEST | NLM_F_DUMP));
            assert_eq!(req.len() % 4, 0);
        }
    }
}
