//! netmon against the real kernel, inside network namespaces the tests
//! create (root needed; skipped with a SKIP message otherwise). The monitor
//! runs on a thread that has joined the namespace, so the netlink sockets
//! are created there; `ip -n` changes the namespace from outside.

use netmon::{Link, NetEvent, Network, OperState};
use std::future::Future;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::mpsc::Receiver;

/// How long any single expected event may take. veth carrier changes go
/// through the kernel's linkwatch work, which can lag by up to a second.
const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

/// A network namespace deleted on drop, also when the test panics (the
/// veths inside it go with it).
struct Netns {
    name: String,
}

impl Netns {
    /// `None` (after printing why) when the test cannot run here.
    fn create(tag: &str) -> Option<Netns> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("SKIP: {tag}: network namespace tests need root");
            return None;
        }
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "netmon-t{}-{}-{tag}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let out = Command::new("ip").args(["netns", "add", &name]).output();
        match out {
            Ok(o) if o.status.success() => Some(Netns { name }),
            Ok(o) => {
                eprintln!(
                    "SKIP: {tag}: ip netns add failed: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIP: {tag}: cannot run ip: {e}");
                None
            }
        }
    }

    /// Runs `ip -n <ns> <args>`, failing the test if it fails.
    fn ip(&self, args: &str) -> String {
        let mut cmd = Command::new("ip");
        cmd.args(["-n", &self.name]).args(args.split_whitespace());
        let out = cmd.output().expect("run ip");
        assert!(
            out.status.success(),
            "ip -n {} {args}: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs the async `body` on a thread inside this namespace, with its own runtime.
    fn run<F, Fut>(&self, body: F)
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = ()>,
    {
        let path = format!("/run/netns/{}", self.name);
        std::thread::scope(|s| {
            s.spawn(|| {
                let ns = std::fs::File::open(&path).expect("open netns");
                // SAFETY: a valid namespace fd; CLONE_NEWNET switches only this thread.
                let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(body());
            });
        });
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let ok = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("warning: could not delete network namespace {}", self.name);
        }
    }
}

/// Waits for the first event matching `pred`, recording every event seen.
async fn expect(
    rx: &mut Receiver<NetEvent>,
    log: &mut Vec<NetEvent>,
    what: &str,
    pred: impl Fn(&NetEvent) -> bool,
) -> NetEvent {
    let found = tokio::time::timeout(EVENT_TIMEOUT, async {
        loop {
            let e = rx.recv().await.expect("event stream ended");
            log.push(e.clone());
            if pred(&e) {
                return e;
            }
        }
    })
    .await;
    match found {
        Ok(e) => e,
        Err(_) => panic!("no {what} within {EVENT_TIMEOUT:?}; events so far: {log:#?}"),
    }
}

/// Waits until `classify` has named each of `want` once, in any order.
async fn expect_each(
    rx: &mut Receiver<NetEvent>,
    log: &mut Vec<NetEvent>,
    what: &str,
    want: &[&str],
    classify: impl Fn(&NetEvent) -> Option<String>,
) {
    let mut missing: Vec<&str> = want.to_vec();
    while !missing.is_empty() {
        let e = expect(rx, log, what, |e| {
            classify(e).is_some_and(|k| missing.contains(&k.as_str()))
        })
        .await;
        let k = classify(&e).unwrap_or_default();
        missing.retain(|m| *m != k);
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn link_named<'a>(links: &'a [Link], name: &str) -> &'a Link {
    links
        .iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("no link {name} in {links:#?}"))
}

/// `ip -j link show` for one link: (index, MAC).
fn ip_link_facts(ns: &Netns, name: &str) -> (u32, String) {
    let json: serde_json::Value = serde_json::from_str(&ns.ip(&format!("-j link show dev {name}"))).unwrap();
    let link = &json[0];
    (
        link["ifindex"].as_u64().unwrap() as u32,
        link["address"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn events_arrive_in_order_and_dump_matches() {
    let Some(ns) = Netns::create("events") else {
        return;
    };
    ns.ip("link add va type veth peer name vb");
    let (va_index, va_mac) = ip_link_facts(&ns, "va");
    let v4a = ip("10.77.0.1");
    let v4b = ip("10.77.0.2");
    let v6 = ip("fd00:77::1");

    ns.run(|| async {
        let mut sub = Network::events().await.expect("subscribe");
        let va = link_named(&sub.initial, "va");
        assert_eq!(va.index, va_index);
        assert!(!va.is_up() && !va.admin_up());
        link_named(&sub.initial, "vb");
        link_named(&sub.initial, "lo");

        let rx = &mut sub.events;
        let mut log = Vec::new();
        let on_va = |e: &NetEvent| match e {
            NetEvent::LinkAdded(l)
            | NetEvent::LinkRemoved(l)
            | NetEvent::LinkUp(l)
            | NetEvent::LinkDown(l)
            | NetEvent::LinkChanged(l) => l.index == va_index,
            NetEvent::AddressAdded(a) | NetEvent::AddressRemoved(a) => a.index == va_index,
        };
        let addr_added = |want: IpAddr, len: u8| {
            move |e: &NetEvent| {
                matches!(e, NetEvent::AddressAdded(a) if a.index == va_index && a.addr == want && a.prefix_len == len)
            }
        };
        let addr_removed = |want: IpAddr| {
            move |e: &NetEvent| matches!(e, NetEvent::AddressRemoved(a) if a.index == va_index && a.addr == want)
        };
        let va_up = |e: &NetEvent| matches!(e, NetEvent::LinkUp(l) if l.index == va_index);
        let va_down = |e: &NetEvent| matches!(e, NetEvent::LinkDown(l) if l.index == va_index);

        // Up: both ends must be up for a veth to get carrier.
        ns.ip("link set vb up");
        ns.ip("link set va up");
        let NetEvent::LinkUp(l) = expect(rx, &mut log, "va up", va_up).await else {
            unreachable!()
        };
        assert_eq!(l.name, "va");
        assert_eq!(l.oper_state, OperState::Up);
        assert_eq!(l.carrier, Some(true));
        assert_eq!(l.mac.as_ref().map(ToString::to_string), Some(va_mac.clone()));

        ns.ip("addr add 10.77.0.1/24 dev va");
        expect(rx, &mut log, "10.77.0.1/24 added", addr_added(v4a, 24)).await;
        ns.ip("-6 addr add fd00:77::1/64 dev va nodad");
        expect(rx, &mut log, "fd00:77::1/64 added", addr_added(v6, 64)).await;
        ns.ip("addr del 10.77.0.1/24 dev va");
        expect(rx, &mut log, "10.77.0.1 removed", addr_removed(v4a)).await;

        // Down: IPv6 addresses are flushed with it (keep_addr_on_down is 0);
        // the kernel does not promise which of the two messages comes first.
        ns.ip("link set va down");
        expect_each(rx, &mut log, "va down and fd00:77::1 removed", &["down", "flush"], |e| {
            if va_down(e) {
                Some("down".into())
            } else if addr_removed(v6)(e) {
                Some("flush".into())
            } else {
                None
            }
        })
        .await;

        ns.ip("link set va up");
        expect(rx, &mut log, "va up again", va_up).await;
        ns.ip("addr add 10.77.0.2/24 dev va");
        expect(rx, &mut log, "10.77.0.2/24 added", addr_added(v4b, 24)).await;

        // A link pair appears and goes (the kernel registers the peer
        // first, but that order is its business: accept either).
        ns.ip("link add vc type veth peer name vd");
        expect_each(rx, &mut log, "vc and vd added", &["vc", "vd"], |e| match e {
            NetEvent::LinkAdded(l) if !l.is_up() => Some(l.name.clone()),
            _ => None,
        })
        .await;
        ns.ip("link del vc");
        expect_each(rx, &mut log, "vc and vd removed", &["vc", "vd"], |e| match e {
            NetEvent::LinkRemoved(l) => Some(l.name.clone()),
            _ => None,
        })
        .await;

        // Exactly these edges for va, in this order: no repeats, no extras.
        let edges: Vec<String> = log
            .iter()
            .filter(|e| on_va(e) && !matches!(e, NetEvent::LinkChanged(_)))
            .filter(|e| match e {
                NetEvent::AddressAdded(a) | NetEvent::AddressRemoved(a) => [v4a, v4b, v6].contains(&a.addr),
                _ => true,
            })
            .map(|e| match e {
                NetEvent::LinkUp(_) => "up".to_owned(),
                NetEvent::LinkDown(_) => "down".to_owned(),
                NetEvent::AddressAdded(a) => format!("+{}", a.addr),
                NetEvent::AddressRemoved(a) => format!("-{}", a.addr),
                other => format!("{other:?}"),
            })
            .collect();
        let mut want = vec!["up", "+10.77.0.1", "+fd00:77::1", "-10.77.0.1"];
        // Down and the IPv6 flush in kernel order, as checked above.
        let down_pos = edges.iter().position(|e| e == "down");
        let flush_pos = edges.iter().position(|e| e == "-fd00:77::1");
        if down_pos < flush_pos {
            want.extend(["down", "-fd00:77::1"]);
        } else {
            want.extend(["-fd00:77::1", "down"]);
        }
        want.extend(["up", "+10.77.0.2"]);
        assert_eq!(edges, want, "full log: {log:#?}");

        // The dump agrees with ip(8) and with what the events said.
        let links = Network::dump().await.expect("dump");
        let va = link_named(&links, "va");
        assert_eq!(va.index, va_index);
        assert!(va.is_up() && va.admin_up());
        assert_eq!(va.oper_state, OperState::Up);
        assert_eq!(va.carrier, Some(true));
        assert_eq!(va.mac.as_ref().map(ToString::to_string), Some(va_mac.clone()));
        assert_eq!(va.mtu, Some(1500));
        let addrs: Vec<(IpAddr, u8)> = va.addresses.iter().map(|a| (a.addr, a.prefix_len)).collect();
        assert!(addrs.contains(&(v4b, 24)), "{addrs:?}");
        assert!(!addrs.iter().any(|(a, _)| *a == v4a || *a == v6), "{addrs:?}");
        assert!(links.iter().all(|l| l.name != "vc" && l.name != "vd"));
        assert!(link_named(&links, "vb").is_up());
        let lo = link_named(&links, "lo");
        assert!(!lo.is_up(), "lo starts down in a new namespace");
    });
}

#[test]
fn dump_of_a_fresh_namespace() {
    let Some(ns) = Netns::create("dump") else {
        return;
    };
    ns.ip("link set lo up");
    ns.ip("link add dgw0 type veth peer name dgw1");
    ns.ip("addr add 192.0.2.10/24 dev dgw0");
    ns.ip("-6 addr add 2001:db8::10/64 dev dgw0 nodad");
    let (dgw0_index, dgw0_mac) = ip_link_facts(&ns, "dgw0");
    ns.run(|| async {
        let links = Network::dump().await.expect("dump");
        assert_eq!(
            links.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().len(),
            3,
            "{links:#?}"
        );
        let lo = link_named(&links, "lo");
        assert_eq!(lo.index, 1);
        assert!(lo.is_up());
        assert_eq!(lo.oper_state, OperState::Unknown);
        let lo_addrs: Vec<IpAddr> = lo.addresses.iter().map(|a| a.addr).collect();
        assert!(lo_addrs.contains(&ip("127.0.0.1")), "{lo_addrs:?}");
        assert!(lo_addrs.contains(&ip("::1")), "{lo_addrs:?}");

        let d = link_named(&links, "dgw0");
        assert_eq!(d.index, dgw0_index);
        assert_eq!(d.mac.as_ref().unwrap().to_string(), dgw0_mac);
        assert_eq!(d.mac.as_ref().unwrap().as_bytes().len(), 6);
        assert!(!d.is_up() && !d.admin_up());
        assert_eq!(d.oper_state, OperState::Down);
        let mut addrs: Vec<String> = d
            .addresses
            .iter()
            .map(|a| format!("{}/{}", a.addr, a.prefix_len))
            .collect();
        addrs.sort();
        assert_eq!(addrs, ["192.0.2.10/24", "2001:db8::10/64"]);
        assert!(d.addresses.iter().all(|a| a.index == dgw0_index));
    });
}

#[tokio::test]
async fn dump_in_the_current_namespace_needs_no_privileges() {
    let links = Network::dump().await.expect("dump");
    assert!(links.iter().any(|l| l.name == "lo"), "{links:#?}");
    assert!(links.windows(2).all(|w| w[0].index < w[1].index));
}

#[test]
fn outside_a_runtime_is_an_error_not_a_panic() {
    let fut = Network::dump();
    // Poll it once by hand, with no tokio runtime around.
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut fut = std::pin::pin!(fut);
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(Err(netmon::NetError::NoRuntime)) => {}
        other => panic!("unexpected {:?}", other.map(|r| r.map(|l| l.len()))),
    }
}

#[test]
fn a_reader_that_falls_behind_still_sees_every_change() {
    let Some(ns) = Netns::create("overflow") else {
        return;
    };
    ns.ip("link add va type veth peer name vb");
    const N: usize = 3000;
    let batch: String = (0..N)
        .map(|i| format!("address add 10.88.{}.{}/32 dev va\n", i / 250, i % 250 + 1))
        .collect();
    let file = std::env::temp_dir().join(format!("{}.batch", ns.name));
    std::fs::write(&file, batch).unwrap();
    ns.run(|| async {
        // Room for one event only, and nobody reading while ip(8) runs (this
        // runtime is blocked in it): the kernel's socket buffer overflows.
        let mut sub = Network::events_with_capacity(1).await.expect("subscribe");
        ns.ip(&format!("-batch {}", file.display()));
        let mut seen = std::collections::HashSet::new();
        let all = tokio::time::timeout(Duration::from_secs(30), async {
            while seen.len() < N {
                match sub.events.recv().await.expect("event stream ended") {
                    NetEvent::AddressAdded(a) if a.addr.to_string().starts_with("10.88.") => {
                        assert!(seen.insert(a.addr), "{} reported twice", a.addr);
                    }
                    _ => {}
                }
            }
        })
        .await;
        assert!(all.is_ok(), "only {} of {N} addresses reported", seen.len());
    });
    let _ = std::fs::remove_file(&file);
}
