//! Where a service daemon reads its configuration: confd over D-Bus (the
//! unit), or a store directory (offline diagnostics, tests without a bus).

use params::Config;

/// A configuration source.
pub enum Source {
    /// confd, and the bus connection (for other services such as hostd).
    Confd(confd::Config1Proxy<'static>, zbus::Connection),
    /// A store directory, read directly.
    Store(params::Store),
}

impl Source {
    /// confd on `bus` (`system`, `session` or an address), or the store.
    pub async fn open(bus: &str, store: Option<&std::path::Path>) -> Result<Source, String> {
        if let Some(dir) = store {
            return Ok(Source::Store(
                params::Store::open(dir).map_err(|e| e.to_string())?,
            ));
        }
        let b = match bus {
            "system" => zbus::connection::Builder::system(),
            "session" => zbus::connection::Builder::session(),
            addr => zbus::connection::Builder::address(addr),
        }
        .map_err(|e| e.to_string())?;
        let conn = b.build().await.map_err(|e| format!("D-Bus: {e}"))?;
        let proxy = confd::Config1Proxy::new(&conn).await.map_err(|e| e.to_string())?;
        Ok(Source::Confd(proxy, conn))
    }

    /// The whole configuration, secrets included (services need their
    /// passwords; confd's policy lets only root export them).
    pub async fn load(&self) -> Result<Config, String> {
        match self {
            Source::Confd(p, _) => {
                let text = p
                    .export_with_secrets()
                    .await
                    .map_err(|e| format!("reading the configuration from confd: {e}"))?;
                params::script::apply(&Config::factory(), &text)
                    .map(|a| a.config)
                    .map_err(|e| format!("confd's export does not apply: {e:?}"))
            }
            Source::Store(s) => s.load().map(|(c, _)| c).map_err(|e| e.to_string()),
        }
    }

    /// A status value (confd keeps them beside the configuration), e.g.
    /// `Hoc.ClockSynchronized`; `None` offline or when unset.
    pub async fn status(&self, name: &str) -> Option<String> {
        match self {
            Source::Confd(p, _) => p.get(name).await.ok(),
            Source::Store(_) => None,
        }
    }

    /// Whether hostd reported the clock synchronised.
    pub async fn clock_synchronized(&self) -> bool {
        self.status(pki::settings::CLOCK_SYNCHRONIZED)
            .await
            .is_some_and(|v| v.eq_ignore_ascii_case("Yes"))
    }

    /// Reports read-only status values (only through confd).
    pub async fn set_status(&self, values: &[(String, String)], who: &str) {
        if let Source::Confd(p, _) = self {
            let refs: Vec<(&str, &str)> = values.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            if let Err(e) = p.set_status(&refs).await {
                log::warn!(target: "dgw", "{who}: reporting status to confd: {e}");
            }
        }
    }

    /// The bus connection, when there is one.
    pub fn connection(&self) -> Option<&zbus::Connection> {
        match self {
            Source::Confd(_, c) => Some(c),
            Source::Store(_) => None,
        }
    }
}
