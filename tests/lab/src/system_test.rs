//! The gateway coming up, as the lab sees it, and the system test's checks.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::guest::Guest;
use crate::lab::{Lab, SIP_USER};
use crate::{say, BOOT_BOUND};

/// The services every image runs, all `Type=notify`.
pub const UNITS: [&str; 4] = ["dgw-confd", "dgw-hostd", "dgw-sipd", "dgw-cwmpd"];

/// How long after systemd starts userspace each dgw unit may take to report READY=1 under
/// QEMU without KVM (measured: 25-60 s on 2 cores, the most when the machine is busy).
pub const READY_BOUND: Duration = Duration::from_secs(150);

/// What [`come_up`] saw.
pub struct Up {
    /// The units, each with its time to ready.
    pub units: Vec<String>,
    /// The SIP registration, as `dgw ctl` reports it in the guest.
    pub registration: String,
    /// The guest's kTLS counters that moved.
    pub ktls: String,
    /// The event codes of the first Inform.
    pub inform_events: String,
    /// Each unit's time from userspace start to ready.
    pub ready: BTreeMap<String, Duration>,
}

/// `systemctl show` properties of a unit (or of the manager, for `None`).
async fn show(guest: &Guest, unit: Option<&str>, props: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let out = guest
        .run(&format!("systemctl show -p {props} {}", unit.unwrap_or("")))
        .await?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

/// `/proc/net/tls_stat` as numbers.
pub fn tls_stat(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect()
}

/// Waits (up to [`BOOT_BOUND`]) for every milestone: ssh, the units ready, the Inform at the
/// ACS, the SIP registration at Kamailio and in the guest's status, and kTLS in use in the
/// guest. Prints each as it happens.
///
/// `informs_before` is the number of ACS sessions before this boot: the Inform awaited is the
/// next one.
pub async fn come_up(t0: Instant, lab: &Lab, guest: &mut Guest, informs_before: usize) -> anyhow::Result<Up> {
    let deadline = t0 + BOOT_BOUND;
    let mut ssh_up = false;
    let mut ready: BTreeMap<String, Duration> = BTreeMap::new();
    let mut inform_events: Option<String> = None;
    let mut registered_at_kamailio = false;
    let mut registration: Option<String> = None;
    let mut ktls: Option<String> = None;
    let mut userspace_start: Option<u64> = None;
    loop {
        anyhow::ensure!(
            guest.running(),
            "the guest stopped ({:?})",
            guest.wait_exit_blocking(Duration::ZERO).ok()
        );
        if !ssh_up && guest.ssh("true").await.map(|r| r.0 == 0).unwrap_or(false) {
            ssh_up = true;
            say(t0, "guest: ssh answers");
        }
        if ssh_up && userspace_start.is_none() {
            let m = show(guest, None, "UserspaceTimestampMonotonic").await?;
            userspace_start = m.get("UserspaceTimestampMonotonic").and_then(|v| v.parse().ok());
        }
        if let (true, Some(start)) = (ssh_up, userspace_start) {
            for unit in UNITS {
                if ready.contains_key(unit) {
                    continue;
                }
                let p = show(
                    guest,
                    Some(&format!("{unit}.service")),
                    "Type,ActiveState,SubState,ActiveEnterTimestampMonotonic,Result",
                )
                .await?;
                let state = p.get("ActiveState").map(String::as_str).unwrap_or("");
                anyhow::ensure!(
                    state != "failed",
                    "{unit} failed: {p:?}\n{}",
                    guest
                        .run(&format!("journalctl -b -u {unit} --no-pager | tail -n 30"))
                        .await
                        .unwrap_or_default()
                );
                if state == "active" {
                    anyhow::ensure!(
                        p.get("Type").map(String::as_str) == Some("notify"),
                        "{unit} is not Type=notify: {p:?}"
                    );
                    let at: u64 = p
                        .get("ActiveEnterTimestampMonotonic")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    let d = Duration::from_micros(at.saturating_sub(start));
                    say(
                        t0,
                        &format!(
                            "guest: {unit} ready (READY=1) {:.1} s after userspace started",
                            d.as_secs_f64()
                        ),
                    );
                    ready.insert(unit.to_string(), d);
                }
            }
        }
        if inform_events.is_none() {
            if let Some(s) = lab.acs.sessions().get(informs_before) {
                let codes: Vec<String> = s.inform.events.iter().map(|e| e.code.to_string()).collect();
                let events = codes.join(", ");
                say(t0, &format!("ACS: Inform received ({events}) over HTTPS"));
                inform_events = Some(events);
            }
        }
        if !registered_at_kamailio && lab.kamailio.registered(SIP_USER) {
            registered_at_kamailio = true;
            say(t0, &format!("Kamailio: {SIP_USER} registered over TLS"));
        }
        if ssh_up && registered_at_kamailio && registration.is_none() {
            let status = guest.run("dgw ctl get SipEp.RegistrationStatus").await?;
            if status.contains("State=Registered") {
                let status = status.trim().to_string();
                say(
                    t0,
                    &format!("guest: dgw ctl get SipEp.RegistrationStatus: {status}"),
                );
                registration = Some(status);
            }
        }
        if registration.is_some() && ktls.is_none() {
            let stat = tls_stat(&guest.run("cat /proc/net/tls_stat").await?);
            let n = |k: &str| stat.get(k).copied().unwrap_or(0);
            if n("TlsCurrTxSw") >= 1 && n("TlsCurrRxSw") >= 1 {
                let s = format!(
                    "TlsCurrTxSw={} TlsCurrRxSw={} TlsTxSw={} TlsRxSw={} (/proc/net/tls_stat)",
                    n("TlsCurrTxSw"),
                    n("TlsCurrRxSw"),
                    n("TlsTxSw"),
                    n("TlsRxSw")
                );
                say(t0, &format!("guest: kernel TLS in use: {s}"));
                ktls = Some(s);
            }
        }
        if ready.len() == UNITS.len() && inform_events.is_some() && ktls.is_some() {
            let units = UNITS
                .iter()
                .map(|u| format!("{u} ({:.0} s)", ready[*u].as_secs_f64()))
                .collect();
            return Ok(Up {
                units,
                registration: registration.unwrap_or_default(),
                ktls: ktls.unwrap_or_default(),
                inform_events: inform_events.unwrap_or_default(),
                ready,
            });
        }
        if Instant::now() > deadline {
            let missing: Vec<&str> = [
                (!ssh_up, "ssh"),
                (ready.len() < UNITS.len(), "every unit ready"),
                (inform_events.is_none(), "an Inform at the ACS"),
                (!registered_at_kamailio, "the registration at Kamailio"),
                (registration.is_none(), "State=Registered in the guest"),
                (ktls.is_none(), "kTLS counters"),
            ]
            .into_iter()
            .filter(|(m, _)| *m)
            .map(|(_, w)| w)
            .collect();
            let journal = if ssh_up {
                guest
                    .run("journalctl -b -u 'dgw-*' --no-pager | tail -n 60")
                    .await
                    .unwrap_or_default()
            } else {
                String::new()
            };
            anyhow::bail!(
                "not up after {BOOT_BOUND:?}: missing {}\n--- dgw journal ---\n{journal}\n--- Kamailio ---\n{}",
                missing.join(", "),
                lab.kamailio.log()
            );
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// The results of the system test's checks, printed as they are made.
#[derive(Default)]
struct Checks {
    failures: Vec<String>,
}

impl Checks {
    fn check(&mut self, ok: bool, what: String) {
        println!("  {} {what}", if ok { "ok  " } else { "FAIL" });
        if !ok {
            self.failures.push(what);
        }
    }

    fn ready(&mut self, up: &Up, boot: u32) {
        for (unit, d) in &up.ready {
            self.check(
                *d <= READY_BOUND,
                format!(
                    "boot {boot}: {unit} ready {:.1} s after userspace start (bound {READY_BOUND:?})",
                    d.as_secs_f64()
                ),
            );
        }
    }
}

/// Which slot booted, from what, and the slot state in GRUB's environment block once
/// `dgw-boot-ok` ran: `expect` lists `NAME=VALUE` pairs it must hold.
async fn slot(guest: &Guest, checks: &mut Checks, slot: &str, expect: &[&str]) -> anyhow::Result<()> {
    let root = format!("root_{}", slot.to_lowercase());
    let cmdline = guest.run("cat /proc/cmdline").await?;
    let mounts = guest
        .run(
            "for m in / /var/lib/dgw /boot/efi; do \
             d=$(findmnt -no SOURCE $m); echo \"$m=$d:$(lsblk -no PARTLABEL $d)\"; done",
        )
        .await?;
    let labels: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.rsplit_once(':'))
        .map(|(_, p)| p.trim())
        .collect();
    checks.check(
        cmdline.contains(&format!("rauc.slot={slot}")) && labels == [root.as_str(), "data", "esp"],
        format!(
            "boot {}: slot {slot} booted; /, /var/lib/dgw and /boot/efi are {root}, data and esp ({})",
            guest.boots,
            mounts.split_whitespace().collect::<Vec<_>>().join(" ")
        ),
    );
    // dgw-boot-ok runs once the dgw services started: wait for it.
    let env = guest
        .run(
            "for i in $(seq 30); do systemctl is-active -q dgw-boot-ok.service && break; sleep 1; done; \
             systemctl is-active dgw-boot-ok.service; grub-editenv /boot/efi/EFI/dgw/grubenv list",
        )
        .await
        .unwrap_or_default();
    checks.check(
        env.starts_with("active") && expect.iter().all(|e| env.lines().any(|l| l == *e)),
        format!(
            "boot {}: grubenv holds {} after dgw-boot-ok ({})",
            guest.boots,
            expect.join(" "),
            env.split_whitespace().collect::<Vec<_>>().join(" ")
        ),
    );
    Ok(())
}

/// Reboots the guest and waits for it to come up again; checks the reboot was clean and the
/// new boot's Inform carries `1 BOOT` (not `0 BOOTSTRAP`: cwmpd's state is on the data
/// partition, shared by the slots).
async fn reboot(t0: Instant, lab: &Lab, guest: &mut Guest, checks: &mut Checks) -> anyhow::Result<()> {
    let informs = lab.acs.sessions().len();
    say(t0, "guest: systemctl reboot");
    let (status, console) = guest.reboot(Duration::from_secs(120)).await?;
    // A panic also ends QEMU with 0 (panic=10, then a reboot, and QEMU runs with -no-reboot):
    // the console tells the two apart.
    checks.check(
        status.success()
            && console.contains("reboot: Restarting system")
            && !console.contains("Kernel panic"),
        format!(
            "boot {}: the guest went down cleanly for the reboot ({status}, \"reboot: Restarting system\")",
            guest.boots - 1
        ),
    );
    say(t0, &format!("boot {}: booting again", guest.boots));
    let up = come_up(t0, lab, guest, informs).await?;
    checks.ready(&up, guest.boots);
    checks.check(
        up.inform_events.contains("1 BOOT") && !up.inform_events.contains("0 BOOTSTRAP"),
        format!(
            "boot {}: the Inform says 1 BOOT, not 0 BOOTSTRAP ({})",
            guest.boots, up.inform_events
        ),
    );
    Ok(())
}

/// The system test: the gateway comes up (every unit ready within [`READY_BOUND`]), `dgw ctl`
/// works on the system bus, the D-Bus policy refuses a change from a non-admin and takes it
/// from an admin, kTLS carries the SIP connection; the A/B boot switches to slot B and falls
/// back to A when B's try fails; the gateway powers off cleanly.
pub async fn run(t0: Instant, lab: &Lab, guest: &mut Guest) -> anyhow::Result<()> {
    let up = come_up(t0, lab, guest, 0).await?;
    let mut checks = Checks::default();
    checks.ready(&up, 1);

    // dgw ctl over the system bus, as root.
    let name = "Cwmp.PeriodicInformInterval";
    let before = guest.run(&format!("dgw ctl get {name}")).await?;
    checks.check(
        before.contains("300"),
        format!("dgw ctl get {name} over the system bus: {}", before.trim()),
    );
    checks.check(
        up.registration.contains("State=Registered"),
        format!("dgw ctl get SipEp.RegistrationStatus: {}", up.registration),
    );

    // The policy: nobody may read but not change; a dgwadmin member may change.
    let (code, _, err) = guest
        .ssh(&format!(
            "setpriv --reuid=nobody --regid=nogroup --clear-groups dgw ctl set {name}=7200"
        ))
        .await?;
    checks.check(
        code != 0 && (err.contains("AccessDenied") || err.to_lowercase().contains("denied")),
        format!(
            "a non-admin's `dgw ctl set` is refused by the D-Bus policy (exit {code}: {})",
            err.trim()
        ),
    );
    let (rcode, rout, _) = guest
        .ssh(&format!(
            "setpriv --reuid=nobody --regid=nogroup --clear-groups dgw ctl get {name}"
        ))
        .await?;
    checks.check(
        rcode == 0 && rout.contains("300"),
        format!("a non-admin may still read {name}: {}", rout.trim()),
    );
    let admin = guest
        .ssh(&format!(
            "id labop >/dev/null 2>&1 || useradd -M -N -G dgwadmin labop; \
             setpriv --reuid=labop --regid=users --init-groups dgw ctl set {name}=7200 && dgw ctl get {name}"
        ))
        .await?;
    checks.check(
        admin.0 == 0 && admin.1.contains("7200"),
        format!(
            "a dgwadmin member's `dgw ctl set` is taken: {}{}",
            admin.1.trim(),
            admin.2.trim()
        ),
    );

    // kTLS, by the kernel's counters.
    let stat = tls_stat(&guest.run("cat /proc/net/tls_stat").await?);
    let n = |k: &str| stat.get(k).copied().unwrap_or(0);
    checks.check(
        n("TlsCurrTxSw") >= 1 && n("TlsCurrRxSw") >= 1 && n("TlsTxSw") >= 1 && n("TlsRxSw") >= 1,
        format!(
            "guest /proc/net/tls_stat shows kTLS in use after registration: {}",
            up.ktls
        ),
    );

    // Secrets: the passwords provisioned (and applied through confd) never reach the journal.
    let journal = guest.run("journalctl -b --no-pager -o cat").await?;
    let leaked = lab
        .secrets
        .iter()
        .filter(|p| journal.contains(p.as_str()))
        .count();
    checks.check(
        leaked == 0 && journal.contains("dgw-provision: configuration script applied"),
        format!(
            "none of the {} provisioned passwords is in the guest's journal ({} lines; {leaked} found)",
            lab.secrets.len(),
            journal.lines().count()
        ),
    );

    // A/B: slot A boots and is marked good; slot B (in the development image a copy of A,
    // not yet bootable) is made the first choice as an update would, boots and is marked good;
    // then its try is left unfinished, as when a new slot fails before the services start,
    // and GRUB falls back to A.
    slot(
        guest,
        &mut checks,
        "A",
        &["ORDER=A B", "A_OK=1", "A_TRY=0", "B_OK=0"],
    )
    .await?;
    guest
        .run("grub-editenv /boot/efi/EFI/dgw/grubenv set 'ORDER=B A' B_OK=1 B_TRY=0")
        .await?;
    reboot(t0, lab, guest, &mut checks).await?;
    slot(guest, &mut checks, "B", &["ORDER=B A", "B_OK=1", "B_TRY=0"]).await?;
    let kept = guest.run(&format!("dgw ctl get {name}")).await?;
    checks.check(
        kept.contains("7200"),
        format!(
            "boot 2: slot B has the configuration made on slot A (data partition): {}",
            kept.trim()
        ),
    );
    guest
        .run("grub-editenv /boot/efi/EFI/dgw/grubenv set B_TRY=1")
        .await?;
    reboot(t0, lab, guest, &mut checks).await?;
    slot(
        guest,
        &mut checks,
        "A",
        &["ORDER=B A", "A_OK=1", "A_TRY=0", "B_TRY=1"],
    )
    .await?;

    checks.check(
        lab.acs.sessions().iter().all(|s| s.violations.is_empty()),
        format!(
            "the ACS saw no TR-069 protocol violation in {} sessions",
            lab.acs.sessions().len()
        ),
    );

    // Clean shutdown: poweroff; every unit stops (sipd unregisters), QEMU exits 0.
    say(t0, "guest: systemctl poweroff");
    let shutdown = Instant::now();
    let _ = guest.ssh("systemctl poweroff").await;
    let status = tokio::task::block_in_place(|| guest.wait_exit_blocking(Duration::from_secs(120)));
    let console = guest.consoles();
    match status {
        Ok(s) => checks.check(
            s.success(),
            format!(
                "QEMU exited ({s}) {:.1} s after poweroff",
                shutdown.elapsed().as_secs_f64()
            ),
        ),
        Err(e) => checks.check(false, format!("the guest powers off within 120 s: {e}")),
    }
    checks.check(
        console.contains("reboot: Power down") && !console.contains("Kernel panic"),
        "the console shows the kernel's power down".to_string(),
    );
    let stop_failures: Vec<&str> = console
        .lines()
        .filter(|l| {
            l.contains("dgw") && (l.contains("Failed") || l.contains("FAILED") || l.contains("timed out"))
        })
        .collect();
    checks.check(
        stop_failures.is_empty(),
        format!(
            "no dgw unit failed or timed out on the console of any of the {} boots: {stop_failures:?}",
            guest.boots
        ),
    );
    checks.check(
        !lab.kamailio.registered(SIP_USER),
        format!("{SIP_USER} unregistered at Kamailio on shutdown (sipd's SIGTERM)"),
    );

    if checks.failures.is_empty() {
        say(t0, "system test: every check passed");
        Ok(())
    } else {
        anyhow::bail!(
            "{} check(s) failed: {}",
            checks.failures.len(),
            checks.failures.join("; ")
        )
    }
}
