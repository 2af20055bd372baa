//! The SipEp parameters, read once into a typed configuration.
//!
//! The daemon never looks parameters up by name after start-up: every
//! value is checked here, so a bad configuration is reported as
//! "Invalid Configuration" with the parameter at fault, before any
//! connection is opened.

use std::fmt;
use std::time::Duration;

use params::Config;

/// The SIP transport, chosen for the whole unit by the first
/// `SipEp.TransportConfig` row (as on the DGW).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// SIP over UDP (RFC 3261 §18, retransmissions by timers A and E).
    Udp,
    /// SIP over TCP.
    Tcp,
    /// SIP over TLS (`SIP/2.0/TLS` in Via, port 5061 by default).
    Tls,
}

impl Transport {
    /// The Via sent-protocol token (`UDP`, `TCP`, `TLS`).
    pub fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }

    /// The `transport=` URI parameter value.
    pub fn uri_param(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }

    /// RFC 3261 §19.1.2: 5061 for TLS, 5060 otherwise.
    pub fn default_port(self) -> u16 {
        match self {
            Transport::Tls => 5061,
            _ => 5060,
        }
    }

    /// Whether the transport delivers in order and retransmits itself, so
    /// that timers A and E are not used (RFC 3261 §17.1.1.2).
    pub fn is_reliable(self) -> bool {
        self != Transport::Udp
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.via_token())
    }
}

/// How persistent connections are kept alive (`SipEp.SipKeepAliveMethod`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepAlive {
    /// No keep-alive: a dead server is found only when a request fails.
    None,
    /// An OPTIONS request every interval; any response means alive.
    SipOptions,
    /// RFC 5626 double-CRLF ping, single-CRLF pong within 10 s.
    Ping,
    /// TCP keep-alive probes by the kernel (idle = interval).
    TcpKeepAlive,
}

/// A configured server: host (FQDN or IP address) and port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Server {
    /// The configured host, as written (no brackets for IPv6). Certificates
    /// are matched against it at the HostName level.
    pub host: String,
    /// The port (the transport's default when none was configured).
    pub port: u16,
}

impl Server {
    /// Parses `host`, `host:port`, `[v6]:port`; `None` for an empty value.
    pub fn parse(value: &str, transport: Transport) -> Result<Option<Server>, String> {
        let v = value.trim();
        if v.is_empty() {
            return Ok(None);
        }
        params::check::host_port(v)?;
        let (host, port) = if let Some(rest) = v.strip_prefix('[') {
            let (h, after) = rest.split_once(']').ok_or("unclosed [")?;
            (h.to_string(), after.strip_prefix(':'))
        } else if v.parse::<std::net::Ipv6Addr>().is_ok() {
            (v.to_string(), None)
        } else {
            match v.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (v.to_string(), None),
            }
        };
        let port = match port {
            Some(p) => p.parse::<u16>().map_err(|_| format!("bad port {p:?}"))?,
            None => transport.default_port(),
        };
        Ok(Some(Server { host, port }))
    }

    /// The host as written in a SIP URI (IPv6 in brackets).
    pub fn uri_host(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.uri_host(), self.port)
    }
}

/// A user the unit registers (`SipEp.Registration[UserName]`).
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// The user part of the address of record.
    pub name: String,
    /// Digest user name (the user name when not configured).
    pub auth_name: String,
    /// Digest password. Never logged: `Debug` hides it.
    pub password: String,
    /// Whether the user registers.
    pub enabled: bool,
    /// The gateway it registers through.
    pub gateway: String,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("auth_name", &self.auth_name)
            .field("password", &if self.password.is_empty() { "" } else { "<set>" })
            .field("enabled", &self.enabled)
            .field("gateway", &self.gateway)
            .finish()
    }
}

/// Everything sipd needs from the SipEp parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipConfig {
    /// The gateway name (first `TransportConfig` row).
    pub gateway: String,
    /// The unit's transport.
    pub transport: Transport,
    /// The listening port: SecurePort (0 → 5061) for TLS, Port (0 → 5060)
    /// for UDP and TCP.
    pub listen_port: u16,
    /// `SipEp.DefaultStaticProxyOutboundHost`: every request goes there.
    pub outbound_proxy: Option<Server>,
    /// `SipEp.DefaultStaticRegistrarHost`.
    pub registrar: Option<Server>,
    /// `SipEp.DefaultStaticProxyHomeDomainHost`: the domain of the users'
    /// addresses of record, and where calls go without an outbound proxy.
    pub home_domain: Option<Server>,
    /// Requested registration lifetime.
    pub registration_expires: u32,
    /// Keep-alive method.
    pub keep_alive: KeepAlive,
    /// Keep-alive interval.
    pub keep_alive_interval: Duration,
    /// TCP keep-alive probe count.
    pub keep_alive_retry: u32,
    /// Local port of the first persistent connection.
    pub persistent_base_port: u16,
    /// Local port step between persistent connections (0: all share the
    /// base port, which TCP allows toward different servers).
    pub persistent_port_interval: u16,
    /// How often a connection on a backup address tries the preferred one.
    pub failback_interval: Duration,
    /// The users.
    pub users: Vec<User>,
}

/// A configuration sipd cannot run with ("Invalid Configuration").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The parameter at fault.
    pub parameter: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.parameter, self.reason)
    }
}

impl std::error::Error for ConfigError {}

fn cerr(parameter: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        parameter: parameter.to_string(),
        reason: reason.into(),
    }
}

fn get(cfg: &Config, name: &str) -> Result<String, ConfigError> {
    cfg.get_secret(name).map_err(|e| cerr(name, e.to_string()))
}

fn num<T: std::str::FromStr>(cfg: &Config, name: &str) -> Result<T, ConfigError> {
    let v = get(cfg, name)?;
    v.parse()
        .map_err(|_| cerr(name, format!("{v:?} is not a number")))
}

fn enabled(cfg: &Config, name: &str) -> Result<bool, ConfigError> {
    Ok(get(cfg, name)?.eq_ignore_ascii_case("Enable"))
}

impl SipConfig {
    /// Reads and checks the SipEp parameters.
    pub fn from_params(cfg: &Config) -> Result<SipConfig, ConfigError> {
        let rows = cfg
            .rows("SipEp.TransportConfig")
            .map_err(|e| cerr("SipEp.TransportConfig", e.to_string()))?;
        let gateway = rows
            .first()
            .cloned()
            .ok_or_else(|| cerr("SipEp.TransportConfig", "no gateway row"))?;
        let cell = |c: &str| format!("SipEp.TransportConfig[{gateway}].{c}");
        let (udp, tcp, tls) = (
            enabled(cfg, &cell("UdpEnable"))?,
            enabled(cfg, &cell("TcpEnable"))?,
            enabled(cfg, &cell("TlsEnable"))?,
        );
        let transport = match (udp, tcp, tls) {
            (false, false, true) => Transport::Tls,
            (_, _, true) => {
                return Err(cerr(&cell("TlsEnable"), "TLS excludes UDP and TCP"));
            }
            (_, true, false) => Transport::Tcp,
            (true, false, false) => Transport::Udp,
            (false, false, false) => return Err(cerr(&cell("TlsEnable"), "no transport is enabled")),
        };
        let secure_port: u16 = num(cfg, &cell("SecurePort"))?;
        let port: u16 = num(cfg, &cell("Port"))?;
        let listen_port = match transport {
            Transport::Tls if secure_port != 0 => secure_port,
            Transport::Udp | Transport::Tcp if port != 0 => port,
            t => t.default_port(),
        };
        let server = |name: &str| Server::parse(&get(cfg, name)?, transport).map_err(|e| cerr(name, e));
        let outbound_proxy = server("SipEp.DefaultStaticProxyOutboundHost")?;
        let registrar = server("SipEp.DefaultStaticRegistrarHost")?;
        let home_domain = server("SipEp.DefaultStaticProxyHomeDomainHost")?;
        let keep_alive = match get(cfg, "SipEp.SipKeepAliveMethod")?.as_str() {
            "None" => KeepAlive::None,
            "SipOptions" => KeepAlive::SipOptions,
            "Ping" => KeepAlive::Ping,
            "TcpKeepAlive" => KeepAlive::TcpKeepAlive,
            v => return Err(cerr("SipEp.SipKeepAliveMethod", format!("unknown method {v:?}"))),
        };
        let mut users = Vec::new();
        for name in cfg
            .rows("SipEp.Registration")
            .map_err(|e| cerr("SipEp.Registration", e.to_string()))?
        {
            let c = |col: &str| format!("SipEp.Registration[{name}].{col}");
            let auth = get(cfg, &c("AuthUserName"))?;
            users.push(User {
                auth_name: if auth.is_empty() { name.clone() } else { auth },
                password: get(cfg, &c("AuthPassword"))?,
                enabled: enabled(cfg, &c("Enable"))?,
                gateway: get(cfg, &c("GatewayName"))?,
                name,
            });
        }
        let c = SipConfig {
            gateway,
            transport,
            listen_port,
            outbound_proxy,
            registrar,
            home_domain,
            registration_expires: num(cfg, "SipEp.DefaultRegistrationExpiration")?,
            keep_alive,
            keep_alive_interval: Duration::from_secs(num(cfg, "SipEp.SipKeepAliveInterval")?),
            keep_alive_retry: num(cfg, "SipEp.SipKeepAliveRetry")?,
            persistent_base_port: num(cfg, "SipEp.TransportPersistentBasePort")?,
            persistent_port_interval: num(cfg, "SipEp.TransportPersistentPortInterval")?,
            failback_interval: Duration::from_secs(num(cfg, "SipEp.TransportFailbackInterval")?),
            users,
        };
        if c.users.iter().any(|u| u.enabled) && c.registrar.is_none() {
            return Err(cerr(
                "SipEp.DefaultStaticRegistrarHost",
                "users are configured but no registrar is",
            ));
        }
        Ok(c)
    }

    /// The domain of the users' addresses of record: the home domain, or
    /// the registrar's host.
    pub fn domain(&self) -> Option<&Server> {
        self.home_domain.as_ref().or(self.registrar.as_ref())
    }

    /// Where REGISTER goes first: the outbound proxy, or the registrar.
    pub fn register_next_hop(&self) -> Option<&Server> {
        self.outbound_proxy.as_ref().or(self.registrar.as_ref())
    }

    /// Where new calls go first: the outbound proxy, the home domain proxy,
    /// or the registrar.
    pub fn call_next_hop(&self) -> Option<&Server> {
        self.outbound_proxy
            .as_ref()
            .or(self.home_domain.as_ref())
            .or(self.registrar.as_ref())
    }

    /// The servers the unit keeps persistent connections to (stream
    /// transports), each once, in the order outbound proxy, registrar, home
    /// domain proxy.
    pub fn persistent_servers(&self) -> Vec<Server> {
        let mut out: Vec<Server> = Vec::new();
        for s in [&self.outbound_proxy, &self.registrar, &self.home_domain]
            .into_iter()
            .flatten()
        {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(lines: &str) -> Config {
        params::script::apply(&Config::factory(), lines)
            .expect("script")
            .config
    }

    #[test]
    fn secure_defaults_and_servers() {
        let c = SipConfig::from_params(&cfg("SipEp.DefaultStaticRegistrarHost=reg.example.net\n\
             SipEp.DefaultStaticProxyOutboundHost=[2001:db8::1]:5071\n\
             SipEp.Registration[alice].AuthPassword=\"s3cret\"\n"))
        .unwrap();
        assert_eq!(c.transport, Transport::Tls);
        assert_eq!(c.listen_port, 5061);
        assert_eq!(c.registrar.as_ref().unwrap().port, 5061);
        assert_eq!(
            c.outbound_proxy.as_ref().unwrap().to_string(),
            "[2001:db8::1]:5071"
        );
        assert_eq!(c.register_next_hop(), c.outbound_proxy.as_ref());
        assert_eq!(c.domain().unwrap().host, "reg.example.net");
        assert_eq!(c.users[0].auth_name, "alice");
        assert!(!format!("{:?}", c.users[0]).contains("s3cret"));
        assert_eq!(c.persistent_servers().len(), 2);
    }

    #[test]
    fn invalid_configurations_name_the_parameter() {
        let e = SipConfig::from_params(&cfg("SipEp.Registration[bob].Enable=Enable\n")).unwrap_err();
        assert_eq!(e.parameter, "SipEp.DefaultStaticRegistrarHost");
        // (No transport at all, or TLS with another, never gets here: the
        // parameter layer refuses such a configuration.)
        let c = SipConfig::from_params(&cfg(
            "SipEp.TransportConfig[default].TlsEnable=Disable\nSipEp.TransportConfig[default].TcpEnable=Enable\n",
        ))
        .unwrap();
        assert_eq!((c.transport, c.listen_port), (Transport::Tcp, 5060));
    }
}
