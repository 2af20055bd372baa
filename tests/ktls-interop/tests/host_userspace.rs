//! The interoperability suite on the host with the userspace path forced
//! (whether or not this kernel has kTLS): every scenario must pass there too.

use std::sync::Arc;

use ktls_interop::{kit::Pki, run_all, Ctx, Expect};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interop_suite_in_userspace() {
    let work = std::env::temp_dir().join(format!("ktls-interop-test-{}", std::process::id()));
    let pki = Pki::generate(&work.join("pki")).unwrap();
    let ctx = Arc::new(Ctx {
        expect: Expect::Userspace,
        pki,
        openssl: "openssl".into(),
        curl: "curl".into(),
        work: work.clone(),
    });
    let (pass, fail) = run_all(ctx, "").await;
    let _ = std::fs::remove_dir_all(&work);
    assert_eq!(fail, 0, "{fail} scenarios failed (see the lines above)");
    assert!(pass >= 30, "only {pass} scenarios ran");
}
