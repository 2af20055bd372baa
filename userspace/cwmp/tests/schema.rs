//! Every message this crate writes is valid against the Broadband Forum's cwmp-1-2 schema
//! (checked by xmllint through tests/cwmp-schema/validate) and reads back equal.

mod common;

use std::path::PathBuf;
use std::process::Command;

use cwmp::Envelope;

/// Runs tests/cwmp-schema/validate on the files: whether all are valid, and its report. A
/// missing xmllint fails the test (it does not skip it), saying what to install.
fn validate(files: &[PathBuf]) -> (bool, String) {
    let script = common::crate_dir().join("../../tests/cwmp-schema/validate");
    let out = Command::new(&script)
        .args(files)
        .output()
        .expect("run tests/cwmp-schema/validate");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.code() == Some(2) {
        panic!(
            "xmllint is needed to check CWMP messages against the schema: install libxml2-utils \
             (apt-get install libxml2-utils, or run scripts/install-deps)\n{report}"
        );
    }
    (out.status.success(), report)
}

#[test]
fn every_message_round_trips() {
    for env in common::every_message() {
        env.validate()
            .unwrap_or_else(|e| panic!("{}: {e}", env.body.method_name()));
        let xml = env.to_xml();
        let back = Envelope::parse(xml.as_bytes()).unwrap_or_else(|e| panic!("{xml}\n{e}"));
        assert_eq!(back, env, "{xml}");
        // The other namespaces round-trip the same way.
        for version in [
            cwmp::CwmpVersion::V1_0,
            cwmp::CwmpVersion::V1_1,
            cwmp::CwmpVersion::V1_4,
        ] {
            let env = Envelope {
                version,
                ..env.clone()
            };
            assert_eq!(Envelope::parse(env.to_xml().as_bytes()).as_ref(), Ok(&env));
        }
    }
}

#[test]
fn every_message_is_schema_valid() {
    let dir = std::env::temp_dir().join(format!("cwmp-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut files = Vec::new();
    for (i, env) in common::every_message().iter().enumerate() {
        let path = dir.join(format!("{i:02}-{}.xml", env.body.method_name()));
        std::fs::write(&path, env.to_xml()).expect("write message");
        files.push(path);
    }
    let (valid, report) = validate(&files);
    assert!(valid, "schema validation failed:\n{report}");
    assert_eq!(report.matches("ok   ").count(), files.len(), "{report}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The validator is not vacuous: it rejects what the schema forbids.
#[test]
fn the_validator_rejects_invalid_messages() {
    let dir = std::env::temp_dir().join(format!("cwmp-schema-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let good = Envelope::new(cwmp::Body::Reboot {
        command_key: "k".into(),
    })
    .to_xml();
    let bad = [
        // CommandKey longer than 32.
        good.replace(
            "<CommandKey>k</CommandKey>",
            &format!("<CommandKey>{}</CommandKey>", "k".repeat(33)),
        ),
        // A misspelt element.
        good.replace("CommandKey", "CommandKee"),
        // An ID header without mustUnderstand.
        Envelope::new(cwmp::Body::RebootResponse)
            .with_id("1")
            .to_xml()
            .replace(" soap-env:mustUnderstand=\"1\"", ""),
    ];
    for (i, xml) in bad.iter().enumerate() {
        let path = dir.join(format!("bad{i}.xml"));
        std::fs::write(&path, xml).expect("write");
        let (valid, report) = validate(&[path]);
        assert!(!valid, "accepted:\n{xml}\n{report}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
