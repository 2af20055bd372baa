//! The LED logic against the simulated backend: same code as on sysfs, with
//! the kernel's write side effects reproduced in a temporary directory.

use leds::{
    Backend, Indicators, LedClass, LedError, Pattern, ReadyIndicator, ReadyInputs, Role, RoleMap, SimLed,
    NOT_READY_BLINK,
};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A private directory removed on drop, even when the test fails.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "leds-test-{}-{}-{tag}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const READY: &str = "dgw:green:ready";
const POWER: &str = "dgw:green:power";

fn class(tmp: &TempDir, leds: &[SimLed]) -> LedClass {
    LedClass::create_simulated(tmp.0.join("leds"), leds).unwrap()
}

fn read(dir: &Path, attr: &str) -> String {
    fs::read_to_string(dir.join(attr)).unwrap()
}

#[test]
fn every_pattern_is_written_and_read_back() {
    let tmp = TempDir::new("patterns");
    let class = class(&tmp, &[SimLed::new(READY)]);
    assert_eq!(class.backend(), Backend::Simulated);
    let dir = class.root().join(READY);
    let mut led = class.open(READY).unwrap();
    assert_eq!(led.max_brightness(), 255);
    assert_eq!(led.pattern().unwrap(), Some(Pattern::Off));

    led.set_pattern(Pattern::On).unwrap();
    assert_eq!(led.pattern().unwrap(), Some(Pattern::On));
    assert_eq!(read(&dir, "brightness"), "255\n");
    assert_eq!(read(&dir, "trigger"), "[none] timer heartbeat\n");

    let blink = Pattern::blink(300, 700).unwrap();
    led.set_pattern(blink).unwrap();
    assert_eq!(led.pattern().unwrap(), Some(blink));
    assert_eq!(read(&dir, "trigger"), "none [timer] heartbeat\n");
    assert_eq!(read(&dir, "delay_on"), "300\n");
    assert_eq!(read(&dir, "delay_off"), "700\n");
    let state = led.state().unwrap();
    assert_eq!(state.trigger.as_deref(), Some("timer"));

    // Changing the timing keeps the trigger and rewrites the delays only.
    led.set_pattern(Pattern::Updating).unwrap();
    assert_eq!(led.pattern().unwrap(), Some(Pattern::Updating));
    assert_eq!(read(&dir, "delay_on"), "100\n");
    assert_eq!(read(&dir, "delay_off"), "100\n");
    // A Blink with the update timing is indistinguishable on the wire.
    led.set_pattern(Pattern::Blink {
        on_ms: 100,
        off_ms: 100,
    })
    .unwrap();
    assert_eq!(led.pattern().unwrap(), Some(Pattern::Updating));

    led.set_pattern(Pattern::Off).unwrap();
    assert_eq!(led.pattern().unwrap(), Some(Pattern::Off));
    assert_eq!(read(&dir, "trigger"), "[none] timer heartbeat\n");
    assert!(!dir.join("delay_on").exists(), "timer files go with the trigger");

    led.set_pattern(NOT_READY_BLINK).unwrap();
    led.set_pattern(Pattern::On).unwrap();
    assert_eq!(led.pattern().unwrap(), Some(Pattern::On));
    assert_eq!(led.state().unwrap().trigger, None);

    let status = led.status();
    assert_eq!(status.requested, Some(Pattern::On));
    assert!(!status.software_blink);
    assert_eq!(status.note, None);
}

#[test]
fn on_off_led_and_brightness_range() {
    let tmp = TempDir::new("range");
    let class = class(&tmp, &[SimLed::new("input0::capslock").with_max_brightness(1)]);
    let mut led = class.open("input0::capslock").unwrap();
    led.set_pattern(Pattern::On).unwrap();
    assert_eq!(led.state().unwrap().brightness, 1);

    let err = led.set_brightness(2).unwrap_err();
    assert!(
        matches!(
            err,
            LedError::OutOfRange {
                what: "brightness",
                value: 2,
                max: 1,
                ..
            }
        ),
        "{err}"
    );
    led.set_brightness(0).unwrap();
    assert_eq!(led.pattern().unwrap(), Some(Pattern::Off));

    // An invalid blink is refused before anything is written.
    led.set_pattern(Pattern::On).unwrap();
    for bad in [
        Pattern::Blink {
            on_ms: 0,
            off_ms: 500,
        },
        Pattern::Blink {
            on_ms: 500,
            off_ms: 60_000,
        },
    ] {
        assert!(matches!(led.set_pattern(bad), Err(LedError::OutOfRange { .. })));
        assert_eq!(led.pattern().unwrap(), Some(Pattern::On));
    }
}

#[test]
fn dimmed_brightness_reads_as_on() {
    let tmp = TempDir::new("dim");
    let class = class(&tmp, &[SimLed::new(READY)]);
    let mut led = class.open(READY).unwrap();
    led.set_brightness(10).unwrap();
    let state = led.state().unwrap();
    assert_eq!((state.brightness, state.pattern), (10, Some(Pattern::On)));
}

#[test]
fn a_foreign_trigger_is_reported_and_replaced() {
    let tmp = TempDir::new("foreign");
    let class = class(&tmp, &[SimLed::new(READY)]);
    let dir = class.root().join(READY);
    fs::write(dir.join("trigger"), "none timer [heartbeat]\n").unwrap();
    let mut led = class.open(READY).unwrap();
    let state = led.state().unwrap();
    assert_eq!(state.trigger.as_deref(), Some("heartbeat"));
    assert_eq!(state.pattern, None);
    assert_eq!(led.available_triggers().unwrap(), ["none", "timer", "heartbeat"]);

    led.set_pattern(Pattern::On).unwrap();
    assert_eq!(read(&dir, "trigger"), "[none] timer heartbeat\n");
    assert_eq!(led.pattern().unwrap(), Some(Pattern::On));
}

#[test]
fn missing_and_invalid_leds() {
    let tmp = TempDir::new("missing");
    let class = class(&tmp, &[SimLed::new(READY), SimLed::new(POWER)]);
    assert_eq!(class.names().unwrap(), [POWER, READY]);
    assert!(matches!(
        class.open("dgw:red:alarm"),
        Err(LedError::NotFound { .. })
    ));
    for bad in ["", "..", "../leds", "a/b", "a b"] {
        assert!(
            matches!(class.open(bad), Err(LedError::InvalidName { .. })),
            "{bad:?}"
        );
    }
    let nowhere = LedClass::simulated(tmp.0.join("does-not-exist"));
    assert!(matches!(nowhere.open(READY), Err(LedError::NotFound { .. })));
    assert!(matches!(nowhere.names(), Err(LedError::Io { .. })));

    // A simulated LED description is validated too.
    assert!(LedClass::create_simulated(tmp.0.join("x"), &[SimLed::new("a/b")]).is_err());
    assert!(LedClass::create_simulated(tmp.0.join("x"), &[SimLed::new("z").with_max_brightness(0)]).is_err());
}

#[test]
fn malformed_files_are_errors_not_panics() {
    let tmp = TempDir::new("malformed");
    let class = class(&tmp, &[SimLed::new(READY)]);
    let dir = class.root().join(READY);

    for content in ["abc\n", "", "-1\n", "4294967296\n", "0\n"] {
        fs::write(dir.join("max_brightness"), content).unwrap();
        let err = class.open(READY).unwrap_err();
        assert!(matches!(err, LedError::Malformed { .. }), "{content:?}: {err}");
    }
    fs::write(dir.join("max_brightness"), "255\n").unwrap();
    let led = class.open(READY).unwrap();

    // Reads are bounded: an oversized attribute is refused, not slurped.
    fs::write(dir.join("brightness"), "1".repeat(5000)).unwrap();
    let err = led.state().unwrap_err();
    assert!(err.to_string().contains("longer than 4096 bytes"), "{err}");
    fs::write(dir.join("brightness"), "0\n").unwrap();

    fs::write(dir.join("trigger"), "x ".repeat(40_000)).unwrap();
    assert!(matches!(led.state(), Err(LedError::Malformed { .. })));
    fs::write(dir.join("trigger"), [0xff, 0xfe, b'\n']).unwrap();
    assert!(matches!(led.state(), Err(LedError::Malformed { .. })));

    // timer active but its files are missing: an I/O error naming the file.
    fs::write(dir.join("trigger"), "none [timer]\n").unwrap();
    let err = led.state().unwrap_err();
    assert!(err.to_string().contains("delay_on"), "{err}");
}

#[test]
fn write_errors_are_reported() {
    let tmp = TempDir::new("write-errors");
    let class = class(&tmp, &[SimLed::new(READY), SimLed::new(POWER)]);

    // An attribute that cannot be written.
    let dir = class.root().join(READY);
    let mut led = class.open(READY).unwrap();
    fs::remove_file(dir.join("brightness")).unwrap();
    fs::create_dir(dir.join("brightness")).unwrap();
    let err = led.set_pattern(Pattern::On).unwrap_err();
    assert!(matches!(err, LedError::Io { op: "write", .. }), "{err}");
    assert_eq!(
        led.status().requested,
        None,
        "a failed set is not reported as shown"
    );

    // The LED disappears while open (driver unbound, module removed).
    let mut power = class.open(POWER).unwrap();
    fs::remove_dir_all(class.root().join(POWER)).unwrap();
    let err = power.set_pattern(Pattern::Off).unwrap_err();
    assert!(matches!(err, LedError::Io { .. }), "{err}");
    assert!(power.pattern().is_err());
}

#[test]
fn software_blink_needs_a_runtime() {
    let tmp = TempDir::new("no-runtime");
    let class = class(&tmp, &[SimLed::new(READY).without_timer()]);
    let mut led = class.open(READY).unwrap();
    let err = led.set_pattern(Pattern::Updating).unwrap_err();
    assert!(matches!(err, LedError::NoRuntime { .. }), "{err}");
}

/// Waits until `brightness` has shown every value in `want`, or fails after 3 s.
async fn observe(dir: &Path, want: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut seen: Vec<String> = Vec::new();
    while !want.iter().all(|w| seen.iter().any(|s| s == w)) {
        assert!(Instant::now() < deadline, "saw only {seen:?}, want {want:?}");
        let b = fs::read_to_string(dir.join("brightness")).unwrap_or_default();
        if !seen.contains(&b) {
            seen.push(b);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_timer_trigger_blinks_in_software() {
    let tmp = TempDir::new("soft");
    let class = class(&tmp, &[SimLed::new(READY).without_timer()]);
    let dir = class.root().join(READY);
    let mut led = class.open(READY).unwrap();

    let blink = Pattern::blink(20, 20).unwrap();
    led.set_pattern(blink).unwrap();
    let status = led.status();
    assert!(status.software_blink);
    let note = status.note.unwrap();
    assert!(
        note.contains("no timer trigger") && note.contains("software"),
        "{note}"
    );
    assert!(note.contains("modprobe not tried"), "{note}");
    assert_eq!(led.pattern().unwrap(), Some(blink));
    assert_eq!(read(&dir, "trigger"), "[none] heartbeat\n");
    observe(&dir, &["255\n", "0\n"]).await;

    // A steady pattern stops the blinker for good: no late toggle may
    // overwrite it, even from a task running on another worker thread.
    led.set_pattern(Pattern::On).unwrap();
    assert!(!led.status().software_blink);
    assert_eq!(led.status().note, None);
    for _ in 0..30 {
        assert_eq!(read(&dir, "brightness"), "255\n");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // Dropping the handle stops it too.
    led.set_pattern(Pattern::Updating).unwrap();
    observe(&dir, &["255\n", "0\n"]).await;
    drop(led);
    tokio::time::sleep(Duration::from_millis(30)).await;
    let frozen = read(&dir, "brightness");
    for _ in 0..30 {
        assert_eq!(read(&dir, "brightness"), frozen);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn software_blink_stops_on_write_error_and_says_so() {
    let tmp = TempDir::new("soft-error");
    let class = class(&tmp, &[SimLed::new(READY).without_timer()]);
    let dir = class.root().join(READY);
    let mut led = class.open(READY).unwrap();
    led.set_pattern(Pattern::blink(20, 20).unwrap()).unwrap();
    fs::remove_file(dir.join("brightness")).unwrap();
    fs::create_dir(dir.join("brightness")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    while led.status().software_blink {
        assert!(Instant::now() < deadline, "blinker did not stop");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let note = led.status().note.unwrap();
    assert!(note.contains("software blinking stopped"), "{note}");
}

#[test]
fn roles_drive_their_leds_and_report_missing_ones() {
    let tmp = TempDir::new("roles");
    let class = class(&tmp, &[SimLed::new(READY), SimLed::new(POWER)]);
    let map = RoleMap::parse(&format!("Ready={READY},Power={POWER},Alarm=dgw:red:alarm")).unwrap();
    let mut ind = Indicators::open(&class, &map);

    let problems: Vec<_> = ind.problems().collect();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].0, &Role::Named("Alarm".into()));
    assert!(problems[0].1.contains("no LED named"), "{}", problems[0].1);

    ind.set(&Role::Power, Pattern::On).unwrap();
    ind.set(&Role::Ready, NOT_READY_BLINK).unwrap();
    assert_eq!(read(&class.root().join(POWER), "brightness"), "255\n");
    assert_eq!(read(&class.root().join(READY), "delay_on"), "500\n");
    assert_eq!(
        ind.led(&Role::Ready).unwrap().pattern().unwrap(),
        Some(NOT_READY_BLINK)
    );

    let err = ind.set(&Role::Named("Alarm".into()), Pattern::On).unwrap_err();
    assert!(err.to_string().contains("no LED named"), "{err}");
    let err = ind.set(&Role::Named("Other".into()), Pattern::On).unwrap_err();
    assert!(err.to_string().contains("not in the LED role map"), "{err}");
}

#[test]
fn ready_indicator_drives_the_ready_led() {
    let tmp = TempDir::new("ready");
    let class = class(&tmp, &[SimLed::new(READY)]);
    let map = RoleMap::parse(&format!("Ready={READY}")).unwrap();
    let mut ind = Indicators::open(&class, &map);
    let mut ready = ReadyIndicator::new();
    let steps = [
        (
            ReadyInputs {
                tls_expected: 2,
                tls_up: 0,
                ..Default::default()
            },
            NOT_READY_BLINK,
        ),
        (
            ReadyInputs {
                tls_expected: 2,
                tls_up: 2,
                ..Default::default()
            },
            Pattern::On,
        ),
        (
            ReadyInputs {
                tls_expected: 2,
                tls_up: 1,
                update_in_progress: true,
                ..Default::default()
            },
            Pattern::Updating,
        ),
        (
            ReadyInputs {
                tls_expected: 2,
                tls_up: 2,
                service_failed: true,
                ..Default::default()
            },
            NOT_READY_BLINK,
        ),
        (
            ReadyInputs {
                tls_expected: 2,
                tls_up: 2,
                ..Default::default()
            },
            Pattern::On,
        ),
    ];
    for (inputs, want) in steps {
        if let Some(p) = ready.update(&inputs) {
            ind.set(&Role::Ready, p).unwrap();
        }
        let shown = ind.led(&Role::Ready).unwrap().pattern().unwrap();
        assert_eq!(shown, Some(want), "{inputs:?}");
    }
}

#[test]
fn sysfs_class_points_at_the_kernel() {
    let class = LedClass::sysfs();
    assert_eq!(class.root(), Path::new("/sys/class/leds"));
    assert_eq!(class.backend(), Backend::Sysfs);
    // Whatever this machine has, asking never panics.
    let _ = class.names();
    assert!(class.open("no-such-led-here").is_err());
}
