//! Every provisioning recipe in recipes/ applies cleanly to a factory
//! configuration (offline, as at image build time) and leaves the values it
//! sets in the store.

mod common;

use std::process::Command;

use common::{text, workdir, DGW};

#[test]
fn every_recipe_applies() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../recipes");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let path = e.path();
        if path.extension().is_none_or(|x| x != "cfg") {
            continue;
        }
        let store = workdir(&format!("recipe-{n}"));
        let o = Command::new(DGW)
            .args([
                "ctl",
                "--store",
                store.to_str().unwrap(),
                "apply",
                path.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{} does not apply:\n{}",
            path.display(),
            text(&o)
        );
        // Every value the recipe sets is what the store now holds (some
        // recipes only restate our secure defaults, so "changed" is not
        // required).
        for line in std::fs::read_to_string(&path).unwrap().lines().map(str::trim) {
            let Some((name, value)) = line.split_once('=') else {
                continue;
            };
            if line.starts_with('#') || name.contains("Password") {
                continue;
            }
            let g = Command::new(DGW)
                .args(["ctl", "--store", store.to_str().unwrap(), "get", name])
                .output()
                .unwrap();
            let want = format!("{name}={}\n", value.trim_matches('"'));
            assert_eq!(
                String::from_utf8_lossy(&g.stdout),
                want,
                "{}: {name}",
                path.display()
            );
        }
        n += 1;
        let _ = std::fs::remove_dir_all(&store);
    }
    assert!(n >= 4, "only {n} recipes found");
}
