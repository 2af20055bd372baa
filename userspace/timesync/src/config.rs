//! The SNTP configuration, shaped like the DGW `Hoc.Sntp*` parameters, and
//! the `host[:port]` server names they hold.

use std::fmt;
use std::time::Duration;

use crate::packet::NTP_PORT;

/// Most servers taken from one list: `Hoc.StaticSntpServers` has 4 rows,
/// and DHCP lists are cut to the same length.
pub const MAX_SERVERS_PER_LIST: usize = 4;
/// Longest server name accepted (the DGW HostName column's limit).
pub const MAX_SERVER_NAME_LEN: usize = 255;
/// Default `Hoc.SntpSynchronizationPeriod`: 1440 minutes.
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(1440 * 60);
/// Default `Hoc.SntpSynchronizationPeriodOnError`: 60 minutes.
pub const DEFAULT_PERIOD_ON_ERROR: Duration = Duration::from_secs(60 * 60);
/// Default time allowed for one query: name resolution, and then the reply.
pub const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// `Hoc.SntpConfigSource`: where the SNTP servers come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ConfigSource {
    /// Servers learned from DHCPv4 (option 42). The DGW default.
    #[default]
    Automatic,
    /// Servers learned from DHCPv6 (options 31/56).
    AutomaticIpv6,
    /// `Hoc.StaticSntpServers`, by priority.
    Static,
    /// DHCPv4 servers first, then the static ones as fallback.
    AutomaticWithFallback,
}

impl ConfigSource {
    /// Parses the DGW value (case-insensitive, as the DGW CLI is).
    pub fn parse(s: &str) -> Option<ConfigSource> {
        [
            ConfigSource::Automatic,
            ConfigSource::AutomaticIpv6,
            ConfigSource::Static,
            ConfigSource::AutomaticWithFallback,
        ]
        .into_iter()
        .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// The DGW value.
    pub fn as_str(&self) -> &'static str {
        match self {
            ConfigSource::Automatic => "Automatic",
            ConfigSource::AutomaticIpv6 => "AutomaticIpv6",
            ConfigSource::Static => "Static",
            ConfigSource::AutomaticWithFallback => "AutomaticWithFallback",
        }
    }
}

impl fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything the time service needs, as the configuration layer holds it.
///
/// Field to parameter map: `source` = `Hoc.SntpConfigSource`,
/// `static_servers` = `Hoc.StaticSntpServers[1..4].HostName` in priority
/// order, `period` = `Hoc.SntpSynchronizationPeriod`, `period_on_error` =
/// `Hoc.SntpSynchronizationPeriodOnError`. `dhcp_servers` and
/// `dhcpv6_servers` are what the network layer learned. `query_timeout` is
/// not a DGW parameter (the DGW does not expose it); tests shorten it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SntpConfig {
    /// Which list to use.
    pub source: ConfigSource,
    /// Static servers (`host[:port]`), highest priority first.
    pub static_servers: Vec<String>,
    /// Servers from DHCPv4 option 42, in the order received.
    pub dhcp_servers: Vec<String>,
    /// Servers from DHCPv6, in the order received.
    pub dhcpv6_servers: Vec<String>,
    /// Time between synchronisations after a success.
    pub period: Duration,
    /// Upper bound of the retry back-off after failures.
    pub period_on_error: Duration,
    /// Time allowed for name resolution, and again for the reply.
    pub query_timeout: Duration,
}

impl Default for SntpConfig {
    fn default() -> Self {
        SntpConfig {
            source: ConfigSource::Automatic,
            static_servers: Vec::new(),
            dhcp_servers: Vec::new(),
            dhcpv6_servers: Vec::new(),
            period: DEFAULT_PERIOD,
            period_on_error: DEFAULT_PERIOD_ON_ERROR,
            query_timeout: DEFAULT_QUERY_TIMEOUT,
        }
    }
}

impl SntpConfig {
    /// A `Static` configuration with these servers and default periods.
    pub fn with_static_servers<S: Into<String>>(servers: impl IntoIterator<Item = S>) -> Self {
        SntpConfig {
            source: ConfigSource::Static,
            static_servers: servers.into_iter().map(Into::into).collect(),
            ..SntpConfig::default()
        }
    }

    /// The servers to use, by priority, as `source` selects them: at most
    /// [`MAX_SERVERS_PER_LIST`] from each list, blank rows dropped (an
    /// empty DGW row is no server), duplicates kept once.
    pub fn servers(&self) -> Vec<String> {
        let lists: &[&Vec<String>] = match self.source {
            ConfigSource::Automatic => &[&self.dhcp_servers],
            ConfigSource::AutomaticIpv6 => &[&self.dhcpv6_servers],
            ConfigSource::Static => &[&self.static_servers],
            ConfigSource::AutomaticWithFallback => &[&self.dhcp_servers, &self.static_servers],
        };
        let mut out: Vec<String> = Vec::new();
        for list in lists {
            for s in list
                .iter()
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .take(MAX_SERVERS_PER_LIST)
            {
                if !out.iter().any(|o| o == s) {
                    out.push(s.to_owned());
                }
            }
        }
        out
    }
}

/// Why a server name cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerNameError {
    /// Empty name.
    Empty,
    /// Longer than [`MAX_SERVER_NAME_LEN`].
    TooLong,
    /// Spaces, control characters or other bytes no host name has.
    BadCharacter,
    /// `[` without its `]`, or text after `]` that is not `:port`.
    BadBrackets,
    /// A port that is not a number in 1..=65535.
    BadPort,
}

impl fmt::Display for ServerNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServerNameError::Empty => "empty server name",
            ServerNameError::TooLong => "server name longer than 255 characters",
            ServerNameError::BadCharacter => "server name has characters no host name has",
            ServerNameError::BadBrackets => "unbalanced [ ] around an IPv6 address",
            ServerNameError::BadPort => "port is not a number in 1..65535",
        })
    }
}

impl std::error::Error for ServerNameError {}

/// Splits `host[:port]` into host and port (123 when absent). Accepted:
/// `name`, `name:port`, `1.2.3.4[:port]`, `[v6][:port]`, and a bare IPv6
/// address (more than one colon, no brackets: no port then).
pub fn parse_host_port(s: &str) -> Result<(String, u16), ServerNameError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(ServerNameError::Empty);
    }
    if s.len() > MAX_SERVER_NAME_LEN {
        return Err(ServerNameError::TooLong);
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or(ServerNameError::BadBrackets)?;
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(after.strip_prefix(':').ok_or(ServerNameError::BadBrackets)?),
            ),
        }
    } else if s.matches(':').count() > 1 {
        (s, None)
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return Err(ServerNameError::Empty);
    }
    // Host names, IPv4 and IPv6 literals (with a %zone) only: this keeps
    // odd bytes from configuration out of resolver calls and logs.
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'%'))
    {
        return Err(ServerNameError::BadCharacter);
    }
    let port = match port {
        None => NTP_PORT,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n != 0 && p.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => return Err(ServerNameError::BadPort),
        },
    };
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_forms() {
        let ok = |s: &str, h: &str, p: u16| assert_eq!(parse_host_port(s), Ok((h.to_owned(), p)), "{s}");
        ok("ntp.example.net", "ntp.example.net", 123);
        ok(" ntp.example.net:1123 ", "ntp.example.net", 1123);
        ok("192.0.2.1", "192.0.2.1", 123);
        ok("192.0.2.1:50123", "192.0.2.1", 50123);
        ok("[::1]", "::1", 123);
        ok("[2001:db8::1]:4123", "2001:db8::1", 4123);
        ok("2001:db8::1", "2001:db8::1", 123);
        ok("[fe80::1%eth0]:123", "fe80::1%eth0", 123);
        let err = |s: &str, e: ServerNameError| assert_eq!(parse_host_port(s), Err(e), "{s}");
        err("", ServerNameError::Empty);
        err(":123", ServerNameError::Empty);
        err("[]:123", ServerNameError::Empty);
        err("host:0", ServerNameError::BadPort);
        err("host:65536", ServerNameError::BadPort);
        err("host:+12", ServerNameError::BadPort);
        err("host:", ServerNameError::BadPort);
        err("[::1", ServerNameError::BadBrackets);
        err("[::1]123", ServerNameError::BadBrackets);
        err("bad host", ServerNameError::BadCharacter);
        err("ho\u{e9}st", ServerNameError::BadCharacter);
        err(&"a".repeat(256), ServerNameError::TooLong);
    }

    #[test]
    fn server_selection_follows_the_config_source() {
        let mut c = SntpConfig {
            static_servers: vec![
                "s1".into(),
                "".into(),
                "s2".into(),
                "s3".into(),
                "s4".into(),
                "s5".into(),
            ],
            dhcp_servers: vec!["d1".into(), "s2".into()],
            dhcpv6_servers: vec!["v6".into()],
            ..SntpConfig::default()
        };
        assert_eq!(c.servers(), ["d1", "s2"]);
        c.source = ConfigSource::AutomaticIpv6;
        assert_eq!(c.servers(), ["v6"]);
        c.source = ConfigSource::Static;
        // The blank row is no server: s1..s4 are the four taken.
        assert_eq!(c.servers(), ["s1", "s2", "s3", "s4"]);
        c.source = ConfigSource::AutomaticWithFallback;
        assert_eq!(c.servers(), ["d1", "s2", "s1", "s3", "s4"]);
    }

    #[test]
    fn config_source_names() {
        assert_eq!(
            ConfigSource::parse("automaticwithfallback"),
            Some(ConfigSource::AutomaticWithFallback)
        );
        assert_eq!(ConfigSource::parse("Static"), Some(ConfigSource::Static));
        assert_eq!(ConfigSource::parse("Dhcp"), None);
        assert_eq!(ConfigSource::default().to_string(), "Automatic");
        let d = SntpConfig::default();
        assert_eq!(d.period, Duration::from_secs(86_400));
        assert_eq!(d.period_on_error, Duration::from_secs(3_600));
    }
}
