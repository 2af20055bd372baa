//! `docs/tr069-datamodel.md` is the generated reference of the data model: it must match
//! what the code builds. `UPDATE_DOCS=1 cargo test -p cwmpd --test docs` rewrites it.

use std::path::Path;

#[test]
fn the_data_model_reference_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/tr069-datamodel.md");
    let generated = cwmpd::datamodel::docs::markdown();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/tr069-datamodel.md");
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/tr069-datamodel.md is stale: run `UPDATE_DOCS=1 cargo test -p cwmpd --test docs`"
    );
}
