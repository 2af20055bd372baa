//! The interoperability suite on the host, where the kernel has no kTLS:
//! every stream must take the userspace path and behave the same.

use std::sync::Arc;

use ktls_interop::{kit::Pki, run_all, Ctx, Expect};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interop_suite_in_userspace() {
    if ktls_offload::probe().any() {
        eprintln!("this kernel has kTLS; the userspace expectation does not apply (the VM suite covers it)");
        return;
    }
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
