//! Runs the ktls-offload interoperability suite.
//!
//! `ktls-interop --expect userspace` on a host without kTLS,
//! `ktls-interop --expect kernel --rekey yes|no` in the test VM. The last line
//! is `N passed, M failed`; the exit status is 1 if anything failed.

use std::sync::Arc;

use ktls_interop::{kit::Pki, run_all, Ctx, Expect};

fn usage() -> ! {
    eprintln!(
        "usage: ktls-interop --expect kernel|userspace [--rekey yes|no] [--filter TEXT] \
         [--openssl PATH] [--curl PATH] [--work DIR]"
    );
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let mut expect = None;
    let mut rekey = None;
    let mut filter = String::new();
    let mut openssl = "openssl".to_string();
    let mut curl = "curl".to_string();
    let mut work = std::env::temp_dir().join(format!("ktls-interop-{}", std::process::id()));
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--expect" => expect = Some(val()),
            "--rekey" => rekey = Some(val()),
            "--filter" => filter = val(),
            "--openssl" => openssl = val(),
            "--curl" => curl = val(),
            "--work" => work = val().into(),
            "-h" | "--help" => usage(),
            _ => usage(),
        }
    }
    let probe = ktls_offload::probe();
    println!("{probe}");
    let expect = match (expect.as_deref(), rekey.as_deref()) {
        (Some("userspace"), _) => Expect::Userspace,
        (Some("kernel"), Some(r @ ("yes" | "no"))) => Expect::Kernel { rekey: r == "yes" },
        (Some("kernel"), None) => Expect::Kernel {
            rekey: probe.tls13_rekey,
        },
        _ => usage(),
    };
    // The environment must be what the caller says, or every "pass" below
    // would prove the wrong thing.
    // (The userspace expectation forces the userspace path, so it holds on
    // any kernel.)
    let env_ok = match expect {
        Expect::Userspace => true,
        Expect::Kernel { rekey } => probe.any() && probe.tls13_rekey == rekey,
    };
    if !env_ok {
        println!("FAIL environment: expected {expect:?}, the probe found otherwise");
        println!("0 passed, 1 failed");
        std::process::exit(1);
    }
    let pki = Pki::generate(&work.join("pki")).expect("generate test PKI");
    let ctx = Arc::new(Ctx {
        expect,
        pki,
        openssl,
        curl,
        work: work.clone(),
    });
    let (pass, fail) = run_all(ctx, &filter).await;
    let _ = std::fs::remove_dir_all(&work);
    if let Some(stat) = ktls_offload::tls_stat() {
        let line: Vec<String> = stat
            .iter()
            .filter(|(_, v)| *v > 0)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!("/proc/net/tls_stat: {}", line.join(" "));
    }
    println!("{pass} passed, {fail} failed");
    std::process::exit(if fail == 0 && pass > 0 { 0 } else { 1 });
}
