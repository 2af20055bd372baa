//! The dhclient exit hook that hands the ACS URL from DHCP option 43
//! (sub-option 1) to cwmpd, run by the shells the image and the
//! workstation have (dash, and busybox when installed).

use std::path::Path;
use std::process::Command;

const HOOK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/dhcp/dhclient-exit-hook");

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn tlv(code: u8, value: &[u8]) -> Vec<u8> {
    let mut v = vec![code, value.len() as u8];
    v.extend_from_slice(value);
    v
}

/// Runs the hook with `reason` and option 43 = `opt`; returns the file.
fn run(shell: &[&str], dir: &Path, reason: &str, opt: &str) -> Option<String> {
    let file = dir.join("acs-url");
    let script = format!(". {HOOK}");
    let st = Command::new(shell[0])
        .args(&shell[1..])
        .args(["-c", &script])
        .env("reason", reason)
        .env("new_vendor_encapsulated_options", opt)
        .env("DGW_ACS_FILE", &file)
        .status()
        .unwrap();
    assert!(st.success(), "{shell:?} {reason}");
    std::fs::read_to_string(&file).ok()
}

#[test]
fn option_43_sub_option_1_becomes_the_acs_url_file() {
    let mut shells: Vec<Vec<&str>> = vec![vec!["sh"]];
    if Path::new("/bin/busybox").exists() {
        shells.push(vec!["busybox", "sh"]);
    }
    for shell in shells {
        let dir = std::env::temp_dir().join(format!("cwmpd-dhcp-{}-{}", shell.len(), std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let url = b"https://acs.example.net:7548/cwmp";
        // Other sub-options around it are skipped.
        let mut opt = tlv(2, b"abc");
        opt.extend(tlv(1, url));
        opt.extend(tlv(3, b"x"));
        assert_eq!(
            run(&shell, &dir, "BOUND", &hex(&opt)).as_deref(),
            Some("https://acs.example.net:7548/cwmp\n"),
            "{shell:?}"
        );
        // Expiry removes it.
        assert_eq!(run(&shell, &dir, "EXPIRE", ""), None);
        // Refused: no sub-option 1, a truncated TLV, a space (shell and URL
        // injection), another scheme, garbage instead of hex.
        for bad in [
            hex(&tlv(2, b"abc")),
            hex(&[1, 40, b'h', b't']),
            hex(&tlv(1, b"https://acs/ x; reboot")),
            hex(&tlv(1, b"ftp://acs/")),
            "zz:01".to_string(),
        ] {
            assert_eq!(run(&shell, &dir, "BOUND", &bad), None, "{shell:?}: {bad}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
