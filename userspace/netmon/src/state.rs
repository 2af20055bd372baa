//! The monitor's picture of the links and addresses, and the events that
//! changes to it produce.
//!
//! The kernel's notifications are state, not edges: RTM_NEWLINK is sent for
//! any change (and repeated), RTM_NEWADDR also for flag and lifetime updates
//! of an existing address. Comparing each one to what we know turns them
//! into the edges callers want (up/down, added/removed), drops repeats, and
//! makes a full re-dump after lost messages produce the same kind of events.

use crate::model::{Address, Link, NetEvent};
use crate::wire::{self, Decoded};
use std::collections::BTreeMap;
use std::net::IpAddr;

#[derive(Debug, Default)]
pub(crate) struct State {
    /// Links by index, with `addresses` left empty (they live in `addrs`).
    links: BTreeMap<u32, Link>,
    /// Addresses kept apart from links, so they can be tracked whatever the
    /// order of link and address messages.
    addrs: BTreeMap<(u32, IpAddr, u8), Address>,
}

impl State {
    /// The state a dump describes.
    pub(crate) fn from_links(links: Vec<Link>) -> State {
        let mut s = State::default();
        // The events are not wanted: this is the starting point.
        let _ = s.resync(links);
        s
    }

    /// The link as callers see it: with the addresses we know at this point.
    fn full(&self, link: &Link) -> Link {
        let mut l = link.clone();
        l.addresses = self
            .addrs
            .range((link.index, IpAddr::from([0u8; 4]), 0)..)
            .take_while(|(k, _)| k.0 == link.index)
            .map(|(_, a)| a.clone())
            .collect();
        l
    }

    /// Applies one decoded notification.
    pub(crate) fn apply(&mut self, d: Decoded) -> Option<NetEvent> {
        match d {
            Decoded::NewLink(mut l) => {
                l.addresses.clear();
                let event = match self.links.get(&l.index) {
                    None => NetEvent::LinkAdded(self.full(&l)),
                    Some(old) if old.same_link_facts(&l) => return None,
                    Some(old) if old.is_up() != l.is_up() => {
                        if l.is_up() {
                            NetEvent::LinkUp(self.full(&l))
                        } else {
                            NetEvent::LinkDown(self.full(&l))
                        }
                    }
                    Some(_) => NetEvent::LinkChanged(self.full(&l)),
                };
                self.links.insert(l.index, l);
                Some(event)
            }
            Decoded::DelLink(l) => {
                self.links.remove(&l.index)?;
                // The addresses went with the link: report them on it, and
                // forget them without separate events.
                let gone = self.full(&l);
                for a in &gone.addresses {
                    self.addrs.remove(&a.key());
                }
                Some(NetEvent::LinkRemoved(gone))
            }
            Decoded::NewAddr(a) => {
                // An existing address whose flags, scope or lifetimes changed
                // (e.g. IPv6 duplicate address detection finishing) is not news.
                let known = self.addrs.insert(a.key(), a.clone()).is_some();
                (!known).then_some(NetEvent::AddressAdded(a))
            }
            Decoded::DelAddr(a) => self.addrs.remove(&a.key()).map(NetEvent::AddressRemoved),
            Decoded::Done(_) | Decoded::Error(_) | Decoded::Ignored => None,
        }
    }

    /// Applies every message of a notification datagram.
    pub(crate) fn apply_datagram(&mut self, buf: &[u8]) -> Vec<NetEvent> {
        let mut events = Vec::new();
        for m in wire::messages(buf) {
            let m = match m {
                Ok(m) => m,
                Err(e) => {
                    log::warn!("netlink: dropping the rest of a malformed datagram: {e}");
                    break;
                }
            };
            match wire::decode(&m) {
                Ok(d) => events.extend(self.apply(d)),
                Err(e) => log::warn!("netlink: skipping a malformed message: {e}"),
            }
        }
        events
    }

    /// Replaces the state with a fresh dump and returns the events that lead
    /// from the old state to it, in the order a caller can apply them:
    /// removed links, added and changed links, removed addresses, added addresses.
    pub(crate) fn resync(&mut self, links: Vec<Link>) -> Vec<NetEvent> {
        let mut events = Vec::new();
        let new_index: std::collections::BTreeSet<u32> = links.iter().map(|l| l.index).collect();
        let gone: Vec<Link> = self
            .links
            .values()
            .filter(|l| !new_index.contains(&l.index))
            .cloned()
            .collect();
        for l in gone {
            events.extend(self.apply(Decoded::DelLink(l)));
        }
        let mut new_addrs = BTreeMap::new();
        for mut l in links {
            for a in l.addresses.drain(..) {
                new_addrs.insert(a.key(), a);
            }
            events.extend(self.apply(Decoded::NewLink(l)));
        }
        let stale: Vec<Address> = self
            .addrs
            .iter()
            .filter(|(k, _)| !new_addrs.contains_key(*k))
            .map(|(_, a)| a.clone())
            .collect();
        for a in stale {
            events.extend(self.apply(Decoded::DelAddr(a)));
        }
        for a in new_addrs.into_values() {
            events.extend(self.apply(Decoded::NewAddr(a)));
        }
        events
    }

    /// Every link with its addresses, by index.
    pub(crate) fn links(&self) -> Vec<Link> {
        self.links.values().map(|l| self.full(l)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tests::{addr_msg, link_msg};
    use crate::wire::{RTM_DELADDR, RTM_DELLINK, RTM_NEWADDR, RTM_NEWLINK};

    const UP: u32 = 0x1 | 0x40;

    fn names(events: &[NetEvent]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                NetEvent::LinkAdded(l) => format!("added {}", l.name),
                NetEvent::LinkRemoved(l) => {
                    format!("removed {} ({} addrs)", l.name, l.addresses.len())
                }
                NetEvent::LinkUp(l) => format!("up {}", l.name),
                NetEvent::LinkDown(l) => format!("down {}", l.name),
                NetEvent::LinkChanged(l) => format!("changed {}", l.name),
                NetEvent::AddressAdded(a) => format!("+{}/{}@{}", a.addr, a.prefix_len, a.index),
                NetEvent::AddressRemoved(a) => format!("-{}/{}@{}", a.addr, a.prefix_len, a.index),
            })
            .collect()
    }

    #[test]
    fn notifications_become_edges() {
        let mut s = State::default();
        let v4: IpAddr = "10.0.0.1".parse().unwrap();
        let v6: IpAddr = "fd00::1".parse().unwrap();
        let mut stream = Vec::new();
        for m in [
            link_msg(RTM_NEWLINK, 5, "veth0", 0, 2),
            link_msg(RTM_NEWLINK, 5, "veth0", 0, 2), // repeat: nothing
            link_msg(RTM_NEWLINK, 5, "veth0", 0x1, 3), // admin up, no carrier
            link_msg(RTM_NEWLINK, 5, "veth0", UP, 6),
            addr_msg(RTM_NEWADDR, 5, v4, 24),
            addr_msg(RTM_NEWADDR, 5, v4, 24), // flag update: nothing
            addr_msg(RTM_NEWADDR, 5, v4, 16), // same IP, other prefix: new
            addr_msg(RTM_NEWADDR, 5, v6, 64),
            addr_msg(RTM_DELADDR, 5, v4, 24),
            addr_msg(RTM_DELADDR, 5, v4, 24), // unknown: nothing
            link_msg(RTM_NEWLINK, 5, "veth0", 0, 2),
            link_msg(RTM_DELLINK, 5, "veth0", 0, 2),
            link_msg(RTM_DELLINK, 5, "veth0", 0, 2), // unknown: nothing
        ] {
            stream.extend(s.apply_datagram(&m));
        }
        assert_eq!(
            names(&stream),
            [
                "added veth0",
                "changed veth0",
                "up veth0",
                "+10.0.0.1/24@5",
                "+10.0.0.1/16@5",
                "+fd00::1/64@5",
                "-10.0.0.1/24@5",
                "down veth0",
                "removed veth0 (2 addrs)",
            ]
        );
        // The down event carried the addresses known at that point.
        let NetEvent::LinkDown(l) = &stream[7] else {
            panic!()
        };
        assert_eq!(l.addresses.len(), 2);
        assert!(s.links().is_empty());
    }

    #[test]
    fn resync_reports_the_difference() {
        let mut s = State::default();
        for m in [
            link_msg(RTM_NEWLINK, 1, "lo", UP, 0),
            link_msg(RTM_NEWLINK, 2, "eth0", UP, 6),
            link_msg(RTM_NEWLINK, 3, "eth1", UP, 6),
            addr_msg(RTM_NEWADDR, 2, "192.0.2.1".parse().unwrap(), 24),
            addr_msg(RTM_NEWADDR, 3, "192.0.2.9".parse().unwrap(), 24),
        ] {
            s.apply_datagram(&m);
        }
        let mut fresh = s.links();
        // eth1 vanished, eth0 went down and changed address, eth2 appeared.
        fresh.retain(|l| l.index != 3);
        fresh[1].flags = 0x1;
        fresh[1].addresses[0].addr = "192.0.2.2".parse().unwrap();
        let mut eth2 = fresh[1].clone();
        eth2.index = 4;
        eth2.name = "eth2".into();
        eth2.addresses.clear();
        fresh.push(eth2);
        let events = s.resync(fresh.clone());
        assert_eq!(
            names(&events),
            [
                "removed eth1 (1 addrs)",
                "down eth0",
                "added eth2",
                "-192.0.2.1/24@2",
                "+192.0.2.2/24@2",
            ]
        );
        assert_eq!(s.links(), fresh);
        // Resyncing to the same picture says nothing.
        assert!(s.resync(fresh).is_empty());
    }

    #[test]
    fn from_links_is_silent_and_complete() {
        let mut s = State::default();
        s.apply_datagram(&link_msg(RTM_NEWLINK, 2, "eth0", UP, 6));
        s.apply_datagram(&addr_msg(RTM_NEWADDR, 2, "fe80::1".parse().unwrap(), 64));
        let snapshot = s.links();
        let t = State::from_links(snapshot.clone());
        assert_eq!(t.links(), snapshot);
        assert_eq!(t.links()[0].addresses.len(), 1);
    }
}
