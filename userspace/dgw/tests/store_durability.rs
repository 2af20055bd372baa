//! The order of system calls that makes a configuration save survive a
//! power cut, checked with strace on the real binary: the new file is
//! written and fsync'd before the rename, and the directory is fsync'd after
//! it. (The crash test in params kills writers, which the page cache
//! survives; this checks what a power cut needs.)

mod common;

use std::process::Command;

use common::{text, workdir, DGW};

#[test]
fn save_writes_fsyncs_renames_then_fsyncs_the_directory() {
    let have = Command::new("sh")
        .args(["-c", "command -v strace"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !have {
        assert!(
            std::env::var_os("DGW_ALLOW_SKIP").is_some(),
            "strace is needed (make test installs it)"
        );
        return;
    }
    let dir = workdir("durability");
    let store = dir.join("store");
    let trace = dir.join("trace");
    let o = Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=openat,write,fsync,fdatasync,rename,renameat,renameat2,close",
            "-o",
        ])
        .arg(&trace)
        .args([
            DGW,
            "ctl",
            "--store",
            store.to_str().unwrap(),
            "set",
            "Web.ServerPort=8081",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let t = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = t.lines().collect();
    let find = |from: usize, pred: &dyn Fn(&str) -> bool| {
        lines.iter().skip(from).position(|l| pred(l)).map(|p| p + from)
    };
    // openat(..., ".config.json.PID.N.tmp", O_WRONLY|O_CREAT...) = FD
    let open_tmp = find(0, &|l| {
        l.contains("openat(") && l.contains(".config.json.") && l.contains(".tmp")
    })
    .unwrap_or_else(|| panic!("temporary file never opened:\n{t}"));
    let fd = lines[open_tmp].rsplit("= ").next().unwrap().trim().to_string();
    let write =
        find(open_tmp, &|l| l.contains(&format!("write({fd},"))).expect("no write to the temporary file");
    let fsync_file = find(write, &|l| {
        l.contains(&format!("fsync({fd})")) || l.contains(&format!("fdatasync({fd})"))
    })
    .unwrap_or_else(|| panic!("the temporary file is not fsync'd:\n{t}"));
    let rename = find(fsync_file, &|l| {
        l.contains("rename") && l.contains("config.json\"")
    })
    .unwrap_or_else(|| panic!("no rename after the fsync:\n{t}"));
    let open_dir = find(rename, &|l| {
        l.contains("openat(") && l.contains(&format!("\"{}\"", store.display()))
    })
    .unwrap_or_else(|| panic!("the directory is not opened after the rename:\n{t}"));
    let dfd = lines[open_dir].rsplit("= ").next().unwrap().trim().to_string();
    find(open_dir, &|l| l.contains(&format!("fsync({dfd})")))
        .unwrap_or_else(|| panic!("the directory is not fsync'd:\n{t}"));
    let _ = std::fs::remove_dir_all(&dir);
}
