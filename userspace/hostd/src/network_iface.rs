//! `net.dgw.Network1`: the links and addresses services need, kept current
//! from rtnetlink events, so they react to a cable pulled and plugged back.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use netmon::{Link, NetEvent, Network};
use zbus::object_server::SignalEmitter;

/// Object path.
pub const PATH: &str = "/net/dgw/Host/Network";

/// One link as D-Bus returns it: (name, up, MAC, addresses as "ip/prefix").
pub type LinkEntry = (String, bool, String, Vec<String>);

fn entry(l: &Link) -> LinkEntry {
    let mac = l.mac.as_ref().map(|m| m.to_string()).unwrap_or_default();
    let addrs = l
        .addresses
        .iter()
        .map(|a| format!("{}/{}", a.addr, a.prefix_len))
        .collect();
    (l.name.clone(), l.is_up(), mac, addrs)
}

/// The network-facts service.
#[derive(Clone, Default)]
pub struct NetworkFacts {
    links: Arc<Mutex<BTreeMap<u32, Link>>>,
    /// Names of links that just came up (a cable plugged back), for other
    /// parts of hostd (802.1X re-authenticates then).
    came_up: Option<tokio::sync::broadcast::Sender<String>>,
}

impl NetworkFacts {
    /// Starts watching rtnetlink; signals go out through `conn`'s object
    /// server once this object is served at [`PATH`].
    pub async fn start(conn: zbus::Connection) -> std::io::Result<NetworkFacts> {
        let sub = Network::events()
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let (tx, _) = tokio::sync::broadcast::channel(16);
        let facts = NetworkFacts {
            came_up: Some(tx.clone()),
            ..NetworkFacts::default()
        };
        {
            let mut m = facts.links.lock().unwrap_or_else(|p| p.into_inner());
            for l in sub.initial {
                m.insert(l.index, l);
            }
        }
        let links = facts.links.clone();
        let mut events = sub.events;
        tokio::spawn(async move {
            while let Some(ev) = events.recv().await {
                let changed: Option<Link> = {
                    let mut m = links.lock().unwrap_or_else(|p| p.into_inner());
                    match ev {
                        NetEvent::LinkRemoved(l) => {
                            m.remove(&l.index);
                            Some(l)
                        }
                        NetEvent::LinkUp(l) => {
                            let _ = tx.send(l.name.clone());
                            m.insert(l.index, l.clone());
                            Some(l)
                        }
                        NetEvent::LinkAdded(l) | NetEvent::LinkDown(l) | NetEvent::LinkChanged(l) => {
                            m.insert(l.index, l.clone());
                            Some(l)
                        }
                        NetEvent::AddressAdded(a) => m.get_mut(&a.index).map(|l| {
                            l.addresses.retain(|x| x.addr != a.addr);
                            l.addresses.push(a);
                            l.clone()
                        }),
                        NetEvent::AddressRemoved(a) => m.get_mut(&a.index).map(|l| {
                            l.addresses.retain(|x| x.addr != a.addr);
                            l.clone()
                        }),
                    }
                };
                if let Some(l) = changed {
                    if let Ok(iface) = conn.object_server().interface::<_, NetworkFacts>(PATH).await {
                        let (name, up, _, addrs) = entry(&l);
                        let _ = NetworkFacts::link_changed(iface.signal_emitter(), name, up, addrs).await;
                    }
                }
            }
        });
        Ok(facts)
    }
}

impl NetworkFacts {
    /// Subscribes to "link came up" events.
    pub fn subscribe_up(&self) -> Option<tokio::sync::broadcast::Receiver<String>> {
        self.came_up.as_ref().map(|t| t.subscribe())
    }
}

// The interface macro generates undocumented helpers.
#[allow(missing_docs)]
mod object {
    use super::*;

    #[zbus::interface(name = "net.dgw.Network1")]
    impl NetworkFacts {
        /// Every link: (name, up, MAC, addresses).
        async fn links(&self) -> Vec<LinkEntry> {
            self.links
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .values()
                .map(entry)
                .collect()
        }

        /// A link went up or down, or its addresses changed.
        #[zbus(signal)]
        pub async fn link_changed(
            emitter: &SignalEmitter<'_>,
            name: String,
            up: bool,
            addresses: Vec<String>,
        ) -> zbus::Result<()>;
    }
}
