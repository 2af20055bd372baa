//! The parameter schema: every configurable value of the gateway, declared
//! once. Validation, the CLI, configuration scripts, the D-Bus API, the web
//! UI and the TR-069 mapping all read it from here.
//!
//! Names follow the Media5 Mediatrix DGW (`SipEp.TransportTlsVersion`, ...).
//! Where the DGW's default is insecure, ours is secure and `dgw_default`
//! records what the DGW ships, so the docs can say so.

use crate::check;

/// Who may read or write a parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read and write.
    ReadWrite,
    /// Status reported by a service; scripts and `set` cannot change it.
    ReadOnly,
    /// Write-only (passwords): never returned by `get`, `list` or a plain
    /// export; only an admin's export with secrets includes it.
    Secret,
}

/// When a change takes effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Apply {
    /// The owning service applies it at once.
    Live,
    /// The owning service must restart (it is marked "restart required").
    Restart,
}

/// A syntax check for text: `Err` says what is allowed.
pub type TextCheck = fn(&str) -> Result<(), String>;

/// The type of a value, with its constraints.
#[derive(Clone, Copy)]
pub enum Kind {
    /// One of `values` (case-insensitive on input, canonical on output).
    /// `refused` lists values the DGW knows that we reject, with why.
    Enum {
        /// Accepted values, canonical spelling.
        values: &'static [&'static str],
        /// Known but refused values and the reason (said to the user).
        refused: &'static [(&'static str, &'static str)],
    },
    /// An unsigned integer in `min..=max`.
    UInt {
        /// Smallest accepted.
        min: u64,
        /// Largest accepted.
        max: u64,
    },
    /// Text up to `max_len` bytes, printable, checked by `check` if given.
    Text {
        /// Longest accepted, in bytes.
        max_len: usize,
        /// Extra syntax check: `Err` carries what is allowed.
        check: Option<TextCheck>,
        /// What the check accepts, for docs and errors.
        what: &'static str,
    },
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Kind {
    /// A short description of what is allowed.
    pub fn describe(&self) -> String {
        match self {
            Kind::Enum { values, .. } => values.join(" | "),
            Kind::UInt { min, max } => format!("integer {min}..{max}"),
            Kind::Text { max_len, what, .. } => format!("{what} (up to {max_len} characters)"),
        }
    }
}

/// A scalar parameter.
#[derive(Debug)]
pub struct Param {
    /// Service, e.g. `SipEp`.
    pub service: &'static str,
    /// Name within the service, e.g. `TransportTlsVersion`.
    pub name: &'static str,
    /// Type and constraints.
    pub kind: Kind,
    /// Factory default, canonical spelling.
    pub default: &'static str,
    /// Who may read and write it.
    pub access: Access,
    /// When a change applies.
    pub apply: Apply,
    /// One-line description.
    pub doc: &'static str,
    /// TR-181 `Device.` name it maps to, if any.
    pub tr181: Option<&'static str>,
    /// The DGW's own default where ours differs for security, with why.
    pub dgw_default: Option<(&'static str, &'static str)>,
}

/// A column of a table.
#[derive(Debug)]
pub struct Column {
    /// Column name, e.g. `HostName`.
    pub name: &'static str,
    /// Type and constraints.
    pub kind: Kind,
    /// Value of a new row's cell.
    pub default: &'static str,
    /// Who may read and write it.
    pub access: Access,
    /// One-line description.
    pub doc: &'static str,
}

/// A table of rows identified by a key (e.g. `Hoc.StaticSntpServers[1]`).
#[derive(Debug)]
pub struct Table {
    /// Service.
    pub service: &'static str,
    /// Table name.
    pub name: &'static str,
    /// The key column's name (e.g. `Priority`) and type.
    pub key: (&'static str, Kind),
    /// The other columns.
    pub columns: &'static [Column],
    /// Most rows allowed.
    pub max_rows: usize,
    /// When changes apply.
    pub apply: Apply,
    /// One-line description.
    pub doc: &'static str,
    /// Rows present in the factory configuration (keys; cells take column defaults).
    pub default_rows: &'static [&'static str],
}

impl Param {
    /// `Service.Name`.
    pub fn full_name(&self) -> String {
        format!("{}.{}", self.service, self.name)
    }
}

impl Table {
    /// `Service.Table`.
    pub fn full_name(&self) -> String {
        format!("{}.{}", self.service, self.name)
    }
    /// Finds a column (case-insensitive).
    pub fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }
}

/// Services that own parameters, with what they are.
pub const SERVICES: &[(&str, &str)] = &[
    (
        "SipEp",
        "SIP endpoint: transport, TLS, servers, registrations, keep-alive",
    ),
    ("Cwmp", "TR-069 (CWMP) agent"),
    ("Web", "Management web server"),
    ("Cert", "Certificate stores and certificate transfer"),
    ("File", "File transfer"),
    ("Conf", "Configuration scripts"),
    ("Hoc", "Host configuration: time (SNTP) and time zone"),
    ("Eth", "Ethernet: 802.1X"),
    ("Scm", "Service control"),
];

const ENABLE: &[&str] = &["Enable", "Disable"];

/// Minimum TLS version ("this version and up", as on the DGW).
const TLS_VERSION: Kind = Kind::Enum {
    values: &["TLSv1_2", "TLSv1_3"],
    refused: &[
        ("SSLv3", "SSL 3.0 is broken (POODLE, RFC 7568) and not implemented; use TLSv1_2 (TLS 1.2 and up) or TLSv1_3"),
        ("TLSv1", "TLS 1.0 is deprecated by RFC 8996 and not implemented; use TLSv1_2 (TLS 1.2 and up) or TLSv1_3"),
        ("TLSv1_1", "TLS 1.1 is deprecated by RFC 8996 and not implemented; use TLSv1_2 (TLS 1.2 and up) or TLSv1_3"),
    ],
};

/// Cipher-suite sets. CS3 is implemented as its ECDHE + AEAD subset (plus
/// the TLS 1.3 suites); CS1/CS2 are refused.
const CIPHER_SUITE: Kind = Kind::Enum {
    values: &["CS3"],
    refused: &[
        ("CS1", "CS1 is CBC, 3DES and RC4 suites with static RSA key exchange (no forward secrecy, broken ciphers); use CS3 (ECDHE with AES-GCM or ChaCha20-Poly1305)"),
        ("CS2", "CS2 is CBC and 3DES suites, some without forward secrecy; use CS3 (ECDHE with AES-GCM or ChaCha20-Poly1305)"),
    ],
};

const YES_NO: Kind = Kind::Enum {
    values: &["Yes", "No"],
    refused: &[],
};

/// Certificate trust levels: the OCSP ones need responders reachable from
/// the unit, which this firmware does not implement, so they are refused
/// rather than silently treated as LocallyTrusted.
const TRUST_LEVEL: Kind = Kind::Enum {
    values: &["LocallyTrusted"],
    refused: &[
        ("OcspOptional", "OCSP checking is not implemented; use LocallyTrusted and remove revoked CAs from the Others store"),
        ("OcspMandatory", "OCSP checking is not implemented; use LocallyTrusted and remove revoked CAs from the Others store"),
    ],
};

const VALIDATION_HOSTNAME: Kind = Kind::Enum {
    values: &["NoValidation", "HostName"],
    refused: &[],
};

const HOST: Kind = Kind::Text {
    max_len: 255,
    check: Some(check::host_port),
    what: "host name or IP address, optional :port",
};
const URL: Kind = Kind::Text {
    max_len: 1024,
    check: Some(check::http_url),
    what: "http:// or https:// URL",
};
const NAME: Kind = Kind::Text {
    max_len: 64,
    check: Some(check::token),
    what: "letters, digits, . _ -",
};
const ANY_TEXT: Kind = Kind::Text {
    max_len: 255,
    check: None,
    what: "text",
};
/// Status tables rendered as text (read-only, written by the services).
const STATUS_TEXT: Kind = Kind::Text {
    max_len: 8192,
    check: None,
    what: "status text",
};
const SECRET_TEXT: Kind = Kind::Text {
    max_len: 128,
    check: None,
    what: "secret text",
};
const PORT: Kind = Kind::UInt { min: 1, max: 65535 };

macro_rules! p {
    ($svc:literal, $name:literal, $kind:expr, $def:literal, $access:ident, $apply:ident, $doc:literal $(, tr181 = $tr:literal)? $(, dgw = ($dd:literal, $why:literal))?) => {
        Param {
            service: $svc, name: $name, kind: $kind, default: $def, access: Access::$access, apply: Apply::$apply,
            doc: $doc, tr181: p!(@opt $($tr)?), dgw_default: p!(@dgw $($dd, $why)?),
        }
    };
    (@opt) => { None };
    (@opt $v:literal) => { Some($v) };
    (@dgw) => { None };
    (@dgw $d:literal, $w:literal) => { Some(($d, $w)) };
}

/// Every scalar parameter.
pub static PARAMS: &[Param] = &[
    // --- SipEp: transport and TLS
    p!("SipEp", "TransportTlsVersion", TLS_VERSION, "TLSv1_2", ReadWrite, Restart,
       "Lowest TLS version for SIP over TLS (this version and up).",
       dgw = ("TLSv1", "TLS 1.0/1.1 are deprecated (RFC 8996)")),
    p!("SipEp", "TransportTlsCipherSuite", CIPHER_SUITE, "CS3", ReadWrite, Restart,
       "Cipher-suite set for SIP over TLS.",
       dgw = ("CS1", "CS1 has no forward secrecy and includes RC4 and 3DES")),
    p!("SipEp", "InteropTlsCertificateValidation",
       Kind::Enum { values: &["NoValidation", "TrustedCertificate", "DnsSrvResponse", "HostName"], refused: &[] },
       "HostName", ReadWrite, Restart,
       "How the SIP server's certificate is validated: NoValidation (lab only), TrustedCertificate (chain to a trusted CA), DnsSrvResponse (trusted, and name matches the configured server or its DNS SRV target), HostName (trusted, and name matches the configured server)."),
    p!("SipEp", "InteropTlsClientAuthenticationEnable", Kind::Enum { values: ENABLE, refused: &[] }, "Disable", ReadWrite, Restart,
       "As TLS server, require a client certificate (validated at TrustedCertificate level)."),
    p!("SipEp", "TransportTlsCertificateTrustLevel", TRUST_LEVEL, "LocallyTrusted", ReadWrite, Restart,
       "How far a certificate is trusted: LocallyTrusted (the stores and validity; OCSP levels are not implemented)."),
    p!("SipEp", "InteropForceDnsNaptrInTls", Kind::Enum { values: ENABLE, refused: &[] }, "Disable", ReadWrite, Restart,
       "Force a DNS NAPTR query for SIP over TLS; the call fails if there is no TLS entry."),
    p!("SipEp", "NeedRestartInfo", YES_NO, "No", ReadOnly, Live, "Whether SipEp must restart for changes to apply (status)."),
    p!("SipEp", "TransportPersistentBasePort", Kind::UInt { min: 1025, max: 64535 }, "16000", ReadWrite, Restart,
       "First local port of persistent TLS connections."),
    p!("SipEp", "TransportPersistentPortInterval", Kind::UInt { min: 0, max: 1000 }, "0", ReadWrite, Restart,
       "Port spacing between gateways' persistent connections (0: the system picks)."),
    p!("SipEp", "TransportFailbackInterval", Kind::UInt { min: 5, max: 3600 }, "15", ReadWrite, Live,
       "Seconds between attempts to go back to a higher-priority server."),
    p!("SipEp", "SipKeepAliveMethod", Kind::Enum { values: &["None", "SipOptions", "Ping", "TcpKeepAlive"], refused: &[] }, "Ping", ReadWrite, Live,
       "Keep-alive on persistent connections: SIP OPTIONS, RFC 5626 CRLF ping/pong, or TCP keep-alive.",
       dgw = ("None", "without keep-alive a dead TLS link is only noticed when a call fails")),
    p!("SipEp", "SipKeepAliveInterval", Kind::UInt { min: 15, max: 3600 }, "30", ReadWrite, Live,
       "Seconds between keep-alives."),
    p!("SipEp", "SipKeepAliveRetry", Kind::UInt { min: 1, max: 10 }, "3", ReadWrite, Live,
       "Unanswered TCP keep-alives before the link is declared down."),
    p!("SipEp", "DefaultStaticProxyOutboundHost", HOST, "", ReadWrite, Restart,
       "Outbound proxy (host[:port]); empty: none."),
    p!("SipEp", "DefaultStaticRegistrarHost", HOST, "", ReadWrite, Restart,
       "Registrar (host[:port])."),
    p!("SipEp", "DefaultStaticProxyHomeDomainHost", HOST, "", ReadWrite, Restart,
       "Home-domain proxy (host[:port])."),
    p!("SipEp", "DefaultRegistrationExpiration", Kind::UInt { min: 60, max: 86400 }, "3600", ReadWrite, Live,
       "Registration lifetime asked for, in seconds."),
    p!("SipEp", "GatewayStatus", STATUS_TEXT, "", ReadOnly, Live,
       "Gateway=name State=state: Ready, Waiting for time synchronization, Cannot start, port already in use, Invalid Configuration (why), Restarting (status)."),
    p!("SipEp", "RegistrationStatus", STATUS_TEXT, "", ReadOnly, Live,
       "Rows \"User=u Gateway=g State=s\" separated by \"; \"; states Unregistered, Registering, Registered, Refreshing, Unregistering, Unreachable, AuthFailed, Rejected, ConfigError, InvalidResponse (status)."),
    p!("SipEp", "TlsPersistentConnectionStatus", STATUS_TEXT, "", ReadOnly, Live,
       "Rows \"Gateway=g LocalPort=p RemoteHost=h:p RemoteHostIpAddr=a State=s\" separated by \"; \"; states Up, Down, WaitingUp, WaitingShutdown (status)."),
    p!("SipEp", "MinSeverity", Kind::Enum { values: &["Disable", "Debug", "Info", "Warning", "Error", "Critical"], refused: &[] }, "Warning", ReadWrite, Live,
       "Lowest severity of SipEp notifications that are logged."),
    // --- Cwmp
    p!("Cwmp", "Enable", Kind::Enum { values: ENABLE, refused: &[] }, "Disable", ReadWrite, Restart,
       "Run the TR-069 agent."),
    p!("Cwmp", "AcsUrlConfigSource", Kind::Enum { values: &["Static", "Dhcp"], refused: &[] }, "Dhcp", ReadWrite, Restart,
       "Where the ACS URL comes from: this configuration, or DHCP option 43 (sub-option 1)."),
    p!("Cwmp", "AcsStaticUrl", URL, "", ReadWrite, Restart,
       "ACS URL when AcsUrlConfigSource is Static.", tr181 = "Device.ManagementServer.URL"),
    p!("Cwmp", "AcsUsername", ANY_TEXT, "", ReadWrite, Restart,
       "User name for the ACS.", tr181 = "Device.ManagementServer.Username"),
    p!("Cwmp", "AcsPassword", SECRET_TEXT, "", Secret, Restart,
       "Password for the ACS.", tr181 = "Device.ManagementServer.Password"),
    p!("Cwmp", "PeriodicInformEnable", Kind::Enum { values: ENABLE, refused: &[] }, "Enable", ReadWrite, Live,
       "Send periodic Informs.", tr181 = "Device.ManagementServer.PeriodicInformEnable"),
    p!("Cwmp", "PeriodicInformInterval", Kind::UInt { min: 30, max: 604800 }, "86400", ReadWrite, Live,
       "Seconds between periodic Informs.", tr181 = "Device.ManagementServer.PeriodicInformInterval"),
    p!("Cwmp", "ListeningPort", PORT, "7547", ReadWrite, Restart,
       "Port of the connection-request server."),
    p!("Cwmp", "ConnectionRequestUsername", ANY_TEXT, "", ReadWrite, Live,
       "User name the ACS must use for connection requests.", tr181 = "Device.ManagementServer.ConnectionRequestUsername"),
    p!("Cwmp", "ConnectionRequestPassword", SECRET_TEXT, "", Secret, Live,
       "Password the ACS must use for connection requests.", tr181 = "Device.ManagementServer.ConnectionRequestPassword"),
    p!("Cwmp", "TransportCertificateValidation", VALIDATION_HOSTNAME, "HostName", ReadWrite, Restart,
       "How the ACS certificate is validated."),
    p!("Cwmp", "InteropAllowUnauthenticatedUDPConnectionRequests", Kind::Enum { values: ENABLE, refused: &[] }, "Disable", ReadWrite, Live,
       "Accept UDP connection requests (TR-111) without authentication. Keep disabled."),
    p!("Cwmp", "NeedRestartInfo", YES_NO, "No", ReadOnly, Live, "Whether Cwmp must restart for changes to apply (status)."),
    p!("Cwmp", "TransportHttpsTlsVersion", TLS_VERSION, "TLSv1_2", ReadWrite, Restart,
       "Lowest TLS version towards the ACS.", dgw = ("TLSv1", "TLS 1.0/1.1 are deprecated (RFC 8996)")),
    p!("Cwmp", "TransportHttpsCipherSuite", CIPHER_SUITE, "CS3", ReadWrite, Restart,
       "Cipher-suite set towards the ACS.", dgw = ("CS1", "CS1 has no forward secrecy and includes RC4 and 3DES")),
    // --- Web
    p!("Web", "HttpMode", Kind::Enum { values: &["Secure", "Unsecure", "Both"], refused: &[] }, "Secure", ReadWrite, Restart,
       "Serve the web UI over HTTPS only, HTTP only, or both.",
       dgw = ("Both", "plain HTTP exposes the administrator's password")),
    p!("Web", "ServerPort", PORT, "80", ReadWrite, Restart, "HTTP port."),
    p!("Web", "NeedRestartInfo", YES_NO, "No", ReadOnly, Live, "Whether Web must restart for changes to apply (status)."),
    p!("Web", "SecureServerPort", PORT, "443", ReadWrite, Restart, "HTTPS port."),
    p!("Web", "HttpsCipherSuite", CIPHER_SUITE, "CS3", ReadWrite, Restart,
       "Cipher-suite set of the HTTPS server.", dgw = ("CS1", "CS1 has no forward secrecy and includes RC4 and 3DES")),
    p!("Web", "TlsVersion", TLS_VERSION, "TLSv1_2", ReadWrite, Restart,
       "Lowest TLS version of the HTTPS server.", dgw = ("TLSv1", "TLS 1.0/1.1 are deprecated (RFC 8996)")),
    // --- Cert
    p!("Cert", "TransferHttpsCipherSuite", CIPHER_SUITE, "CS3", ReadWrite, Live,
       "Cipher-suite set for certificate transfers.", dgw = ("CS1", "CS1 has no forward secrecy and includes RC4 and 3DES")),
    p!("Cert", "TransferHttpsTlsVersion", TLS_VERSION, "TLSv1_2", ReadWrite, Live,
       "Lowest TLS version for certificate transfers.", dgw = ("TLSv1", "TLS 1.0/1.1 are deprecated (RFC 8996)")),
    p!("Cert", "TrustSystemCas", Kind::Enum { values: ENABLE, refused: &[] }, "Disable", ReadWrite, Live,
       "Also trust the operating system's CA bundle, in addition to the Others store."),
    // --- File
    p!("File", "TransferHttpsCipherSuite", CIPHER_SUITE, "CS3", ReadWrite, Live,
       "Cipher-suite set for file transfers.", dgw = ("CS1", "CS1 has no forward secrecy and includes RC4 and 3DES")),
    p!("File", "TransferHttpsTlsVersion", TLS_VERSION, "TLSv1_2", ReadWrite, Live,
       "Lowest TLS version for file transfers.", dgw = ("TLSv1", "TLS 1.0/1.1 are deprecated (RFC 8996)")),
    p!("File", "TransferCertificateValidation", VALIDATION_HOSTNAME, "HostName", ReadWrite, Live,
       "How file servers' certificates are validated."),
    // --- Conf
    p!("Conf", "ScriptsTransferCertificateValidation", VALIDATION_HOSTNAME, "HostName", ReadWrite, Live,
       "How configuration-script servers' certificates are validated."),
    p!("Conf", "ScriptsTransferCertificateTrustLevel", TRUST_LEVEL, "LocallyTrusted", ReadWrite, Live,
       "How far script servers' certificates are trusted (OCSP levels are not implemented)."),
    p!("Conf", "ScriptsTransferCipherSuite", CIPHER_SUITE, "CS3", ReadWrite, Live,
       "Cipher-suite set for script transfers.", dgw = ("CS1", "CS1 has no forward secrecy and includes RC4 and 3DES")),
    p!("Conf", "ScriptsTransferTlsVersion", TLS_VERSION, "TLSv1_2", ReadWrite, Live,
       "Lowest TLS version for script transfers.", dgw = ("TLSv1", "TLS 1.0/1.1 are deprecated (RFC 8996)")),
    // --- Hoc: time
    p!("Hoc", "SntpConfigSource", Kind::Enum { values: &["Automatic", "AutomaticIpv6", "Static", "AutomaticWithFallback"], refused: &[] }, "Automatic", ReadWrite, Live,
       "Where SNTP servers come from: DHCP (option 42), DHCPv6, StaticSntpServers, or DHCP falling back to the static list."),
    p!("Hoc", "SntpSynchronizationPeriod", Kind::UInt { min: 1, max: 1440 }, "1440", ReadWrite, Live,
       "Minutes between synchronisations."),
    p!("Hoc", "SntpSynchronizationPeriodOnError", Kind::UInt { min: 1, max: 1440 }, "60", ReadWrite, Live,
       "Minutes before retrying after a failed synchronisation."),
    p!("Hoc", "StaticTimeZone", Kind::Text { max_len: 255, check: Some(check::posix_tz), what: "POSIX TZ string, optionally followed by ;IANA-name" },
       "EST5EDT4,M3.2.0/02:00:00,M11.1.0/02:00:00", ReadWrite, Live,
       "Time zone as a POSIX TZ string (IEEE 1003.1), e.g. CET-1CEST,M3.5.0/2,M10.5.0/3.", tr181 = "Device.Time.LocalTimeZone"),
    p!("Hoc", "SystemTime", ANY_TEXT, "", ReadOnly, Live,
       "Current local date and time (status).", tr181 = "Device.Time.CurrentLocalTime"),
    p!("Hoc", "SntpCurrentSource", ANY_TEXT, "", ReadOnly, Live,
       "The SNTP server the clock was last set from (status)."),
    p!("Hoc", "ClockSynchronized", Kind::Enum { values: &["Yes", "No"], refused: &[] }, "No", ReadOnly, Live,
       "Whether the clock has been synchronised (status); TLS validation waits for it."),
    p!("Hoc", "LedRoles", Kind::Text { max_len: 512, check: Some(check::role_map), what: "Role=led-name pairs separated by commas" },
       "Ready=dgw:green:ready,Power=dgw:green:power", ReadWrite, Live,
       "Which LED (its /sys/class/leds name) shows each role (Ready, Power, or any name)."),
    // --- Eth: 802.1X
    p!("Eth", "Eap.CertificateValidation", Kind::Enum { values: &["NoValidation", "TrustedAndValid"], refused: &[] }, "TrustedAndValid", ReadWrite, Live,
       "802.1X: NoValidation, or TrustedAndValid (attempted once the clock is synchronised, with the valid host certificate that expires last)."),
    p!("Eth", "Ieee8021XStatus", Kind::Text { max_len: 1024, check: None, what: "link=state pairs" }, "", ReadOnly, Live,
       "802.1X state of each configured link, e.g. eth0=Authenticated (status)."),
    p!("Eth", "Ieee8021XVersion", Kind::Enum { values: &["2001", "2004"], refused: &[] }, "2001", ReadWrite, Live,
       "EAPOL version sent."),
];

/// Every table.
pub static TABLES: &[Table] = &[
    Table {
        service: "SipEp",
        name: "TransportConfig",
        key: ("GatewayName", NAME),
        columns: &[
            Column { name: "UdpEnable", kind: Kind::Enum { values: ENABLE, refused: &[] }, default: "Disable", access: Access::ReadWrite, doc: "SIP over UDP." },
            Column { name: "TcpEnable", kind: Kind::Enum { values: ENABLE, refused: &[] }, default: "Disable", access: Access::ReadWrite, doc: "SIP over TCP." },
            Column { name: "TlsEnable", kind: Kind::Enum { values: ENABLE, refused: &[] }, default: "Enable", access: Access::ReadWrite, doc: "SIP over TLS (excludes UDP and TCP, for the whole unit)." },
            Column { name: "SecurePort", kind: Kind::UInt { min: 0, max: 65535 }, default: "0", access: Access::ReadWrite, doc: "TLS listening port; 0 means 5061." },
            Column { name: "Port", kind: Kind::UInt { min: 0, max: 65535 }, default: "0", access: Access::ReadWrite, doc: "UDP and TCP listening port; 0 means 5060." },
        ],
        max_rows: 8,
        apply: Apply::Restart,
        doc: "Transports per SIP gateway. The first row's transport applies to the whole unit. Our default is TLS only (the DGW's is UDP).",
        default_rows: &["default"],
    },
    Table {
        service: "SipEp",
        name: "Registration",
        key: ("UserName", NAME),
        columns: &[
            Column { name: "GatewayName", kind: NAME, default: "default", access: Access::ReadWrite, doc: "Gateway the user registers through." },
            Column { name: "AuthUserName", kind: ANY_TEXT, default: "", access: Access::ReadWrite, doc: "Digest user name (empty: the user name)." },
            Column { name: "AuthPassword", kind: SECRET_TEXT, default: "", access: Access::Secret, doc: "Digest password." },
            Column { name: "Enable", kind: Kind::Enum { values: ENABLE, refused: &[] }, default: "Enable", access: Access::ReadWrite, doc: "Register this user." },
        ],
        max_rows: 64,
        apply: Apply::Live,
        doc: "Users the unit registers, with their digest credentials.",
        default_rows: &[],
    },
    Table {
        service: "Hoc",
        name: "StaticSntpServers",
        key: ("Priority", Kind::UInt { min: 1, max: 4 }),
        columns: &[Column { name: "HostName", kind: HOST, default: "", access: Access::ReadWrite, doc: "SNTP server (host[:port])." }],
        max_rows: 4,
        apply: Apply::Live,
        doc: "Static SNTP servers, by priority (1 first).",
        default_rows: &[],
    },
    Table {
        service: "Eth",
        name: "Ieee8021X",
        key: ("Link", NAME),
        columns: &[
            Column { name: "Enable", kind: Kind::Enum { values: ENABLE, refused: &[] }, default: "Disable", access: Access::ReadWrite, doc: "Authenticate this link with EAP-TLS." },
            Column { name: "UserName", kind: ANY_TEXT, default: "", access: Access::ReadWrite, doc: "EAP identity for this link." },
        ],
        max_rows: 8,
        apply: Apply::Live,
        doc: "802.1X per Ethernet link.",
        default_rows: &[],
    },
];

/// Commands a script or `dgw ctl` may run.
pub static COMMANDS: &[(&str, &str)] = &[
    (
        "Scm.RestartRequiredServices",
        "Restart every service marked restart-required.",
    ),
    (
        "Conf.FactoryReset",
        "Return every parameter to its factory default (scripts: only as the first line).",
    ),
];

/// Finds a scalar parameter by name, case-insensitively.
pub fn param(name: &str) -> Option<&'static Param> {
    let (svc, rest) = name.split_once('.')?;
    PARAMS
        .iter()
        .find(|p| p.service.eq_ignore_ascii_case(svc) && p.name.eq_ignore_ascii_case(rest))
}

/// Finds a table by `Service.Table`, case-insensitively.
pub fn table(name: &str) -> Option<&'static Table> {
    let (svc, rest) = name.split_once('.')?;
    TABLES
        .iter()
        .find(|t| t.service.eq_ignore_ascii_case(svc) && t.name.eq_ignore_ascii_case(rest))
}

/// Finds a command, case-insensitively; returns its canonical name.
pub fn command(name: &str) -> Option<&'static str> {
    COMMANDS
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(name))
        .map(|(c, _)| *c)
}

/// Whether `service` is one of [`SERVICES`] (case-insensitive); canonical name.
pub fn service(name: &str) -> Option<&'static str> {
    SERVICES
        .iter()
        .find(|(s, _)| s.eq_ignore_ascii_case(name))
        .map(|(s, _)| *s)
}
