//! The facts reported: links, addresses, events, errors.

use std::fmt;
use std::io;
use std::net::IpAddr;

/// RFC 2863 operational state, as the kernel reports it in `IFLA_OPERSTATE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OperState {
    /// The driver does not track it (e.g. `lo`, tun devices).
    Unknown,
    /// Hardware missing.
    NotPresent,
    /// Down.
    Down,
    /// Down because a lower device is (e.g. a veth whose peer is down).
    LowerLayerDown,
    /// In test mode.
    Testing,
    /// Up but waiting for something (e.g. 802.1X authentication).
    Dormant,
    /// Up and passing traffic.
    Up,
    /// A value this crate does not know.
    Other(u8),
}

impl OperState {
    pub(crate) fn from_kernel(v: u8) -> OperState {
        // IF_OPER_* in include/uapi/linux/if.h.
        match v {
            0 => OperState::Unknown,
            1 => OperState::NotPresent,
            2 => OperState::Down,
            3 => OperState::LowerLayerDown,
            4 => OperState::Testing,
            5 => OperState::Dormant,
            6 => OperState::Up,
            other => OperState::Other(other),
        }
    }
}

/// A link-layer address (MAC for Ethernet; other lengths for other link
/// types, up to the kernel's 32 bytes).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct HwAddr(Vec<u8>);

impl HwAddr {
    /// Longest hardware address the kernel has (MAX_ADDR_LEN).
    pub const MAX_LEN: usize = 32;

    /// `None` if longer than [`HwAddr::MAX_LEN`].
    pub fn new(bytes: &[u8]) -> Option<HwAddr> {
        (bytes.len() <= Self::MAX_LEN).then(|| HwAddr(bytes.to_vec()))
    }

    /// The address bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for HwAddr {
    /// Lower-case hex bytes separated by colons, as `ip link` prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for HwAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HwAddr({self})")
    }
}

/// An IPv4 or IPv6 address assigned to a link.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Address {
    /// Index of the link it is on.
    pub index: u32,
    /// The local address (for point-to-point links, not the peer's).
    pub addr: IpAddr,
    /// Prefix length of the subnet.
    pub prefix_len: u8,
    /// `RT_SCOPE_*` (0 universe/global, 253 link, 254 host).
    pub scope: u8,
    /// `IFA_F_*` flags (e.g. 0x40 tentative, 0x80 permanent).
    pub flags: u32,
}

impl Address {
    /// What identifies an address on a link: the same IP may exist with
    /// several prefix lengths (IPv4), and flags/scope change in place.
    pub(crate) fn key(&self) -> (u32, IpAddr, u8) {
        (self.index, self.addr, self.prefix_len)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} on link {}", self.addr, self.prefix_len, self.index)
    }
}

/// A network interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Interface index (stable for the link's lifetime).
    pub index: u32,
    /// Interface name, e.g. `eth0`.
    pub name: String,
    /// `IFF_*` flags from the kernel (`IFF_UP` 0x1, `IFF_RUNNING` 0x40, `IFF_LOWER_UP` 0x10000...).
    pub flags: u32,
    /// RFC 2863 operational state.
    pub oper_state: OperState,
    /// Carrier (cable / peer present), when the kernel reports it.
    pub carrier: Option<bool>,
    /// Link-layer address, when the link type has one.
    pub mac: Option<HwAddr>,
    /// MTU, when reported.
    pub mtu: Option<u32>,
    /// IPv4 and IPv6 addresses on the link.
    pub addresses: Vec<Address>,
}

/// `IFF_UP`: administratively up.
const IFF_UP: u32 = 0x1;
/// `IFF_RUNNING`: the kernel's "operationally up" (RFC 2863 up or unknown).
const IFF_RUNNING: u32 = 0x40;

impl Link {
    /// Administratively up (`ip link set ... up`).
    pub fn admin_up(&self) -> bool {
        self.flags & IFF_UP != 0
    }

    /// Up and able to pass traffic: administratively up and operationally up
    /// (the kernel's `IFF_RUNNING`, i.e. oper state up, or unknown for links
    /// like `lo` that do not track it). This is what `LinkUp`/`LinkDown` follow.
    pub fn is_up(&self) -> bool {
        self.admin_up() && self.flags & IFF_RUNNING != 0
    }

    /// Same link facts ignoring addresses.
    pub(crate) fn same_link_facts(&self, other: &Link) -> bool {
        self.index == other.index
            && self.name == other.name
            && self.flags == other.flags
            && self.oper_state == other.oper_state
            && self.carrier == other.carrier
            && self.mac == other.mac
            && self.mtu == other.mtu
    }
}

/// A change in the network configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetEvent {
    /// A new link appeared.
    LinkAdded(Link),
    /// A link disappeared (its addresses with it).
    LinkRemoved(Link),
    /// A link became up (see [`Link::is_up`]).
    LinkUp(Link),
    /// A link stopped being up.
    LinkDown(Link),
    /// Something else about a link changed (name, flags, carrier, MAC, MTU)
    /// without an up/down transition.
    LinkChanged(Link),
    /// An address was added.
    AddressAdded(Address),
    /// An address was removed.
    AddressRemoved(Address),
}

/// Why reading the network state failed.
#[derive(Debug)]
pub enum NetError {
    /// A system call failed.
    Io {
        /// What we were doing.
        context: &'static str,
        /// The operating system's error.
        source: io::Error,
    },
    /// The kernel answered a request with an error.
    Kernel {
        /// The request.
        request: &'static str,
        /// The errno.
        errno: i32,
    },
    /// The kernel's answer could not be used.
    Protocol(String),
    /// No tokio runtime is running on this thread.
    NoRuntime,
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::Io { context, source } => write!(f, "{context}: {source}"),
            NetError::Kernel { request, errno } => {
                write!(f, "{request}: {}", io::Error::from_raw_os_error(*errno))
            }
            NetError::Protocol(msg) => write!(f, "netlink: {msg}"),
            NetError::NoRuntime => f.write_str("netmon needs a tokio runtime with IO enabled"),
        }
    }
}

impl std::error::Error for NetError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NetError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
