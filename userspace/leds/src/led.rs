//! An LED class tree and the LEDs in it.

use crate::sysfs::{self, read_u32, Backend, SimLed, Triggers};
use crate::{LedError, Pattern};
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Where the kernel publishes LED class devices.
pub const SYSFS_LEDS: &str = "/sys/class/leds";
/// Kernel module providing the `timer` trigger.
const TIMER_MODULE: &str = "ledtrig-timer";
/// How long a `modprobe` may take before we give up on it.
const MODPROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on directory entries listed by [`LedClass::names`].
const MAX_LEDS: usize = 4096;

/// A directory with the LED class layout: the kernel's or a simulated one.
/// Cheap to clone; clones share the one-time `modprobe` attempt.
#[derive(Clone, Debug)]
pub struct LedClass {
    inner: Arc<ClassInner>,
}

#[derive(Debug)]
struct ClassInner {
    root: PathBuf,
    backend: Backend,
    /// Outcome of `modprobe ledtrig-timer`, tried at most once per class:
    /// repeating a failing modprobe on every pattern change would only spam.
    modprobe: OnceLock<Result<(), String>>,
}

impl LedClass {
    /// The kernel's LED class at [`SYSFS_LEDS`].
    pub fn sysfs() -> LedClass {
        LedClass::new(PathBuf::from(SYSFS_LEDS), Backend::Sysfs)
    }

    /// A simulated LED class already laid out in `root` (e.g. made earlier by
    /// [`LedClass::create_simulated`]).
    pub fn simulated(root: impl Into<PathBuf>) -> LedClass {
        LedClass::new(root.into(), Backend::Simulated)
    }

    /// Creates `root` and, in it, the directory and files of each LED in
    /// `leds` (an existing LED of the same name is reset to off), and returns
    /// the simulated class.
    pub fn create_simulated(root: impl Into<PathBuf>, leds: &[SimLed]) -> Result<LedClass, LedError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|source| LedError::Io {
            op: "write",
            path: root.clone(),
            source,
        })?;
        for led in leds {
            led.create(&root)?;
        }
        Ok(LedClass::simulated(root))
    }

    fn new(root: PathBuf, backend: Backend) -> LedClass {
        LedClass {
            inner: Arc::new(ClassInner {
                root,
                backend,
                modprobe: OnceLock::new(),
            }),
        }
    }

    /// The class directory.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Real or simulated.
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// Names of the LEDs present, sorted.
    pub fn names(&self) -> Result<Vec<String>, LedError> {
        let root = self.root();
        let io_err = |source| LedError::Io {
            op: "read",
            path: root.to_owned(),
            source,
        };
        let mut names = Vec::new();
        for entry in fs::read_dir(root).map_err(io_err)?.take(MAX_LEDS) {
            let entry = entry.map_err(io_err)?;
            if let Some(name) = entry.file_name().to_str() {
                if sysfs::validate_name(name).is_ok() && entry.path().join("brightness").exists() {
                    names.push(name.to_owned());
                }
            }
        }
        names.sort();
        Ok(names)
    }

    /// Opens the LED `name`.
    pub fn open(&self, name: &str) -> Result<Led, LedError> {
        sysfs::validate_name(name)?;
        let dir = self.root().join(name);
        match fs::metadata(dir.join("brightness")) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(LedError::NotFound {
                    name: name.to_owned(),
                    root: self.root().to_owned(),
                })
            }
            Err(source) => {
                return Err(LedError::Io {
                    op: "read",
                    path: dir.join("brightness"),
                    source,
                })
            }
        }
        let max_path = dir.join("max_brightness");
        let max_brightness = read_u32(&max_path)?;
        if max_brightness == 0 {
            // Every brightness would be "off": nothing we could show.
            return Err(LedError::Malformed {
                path: max_path,
                detail: "max_brightness is 0".into(),
            });
        }
        Ok(Led {
            class: self.clone(),
            name: name.to_owned(),
            dir,
            max_brightness,
            requested: None,
            note: None,
            soft: None,
        })
    }

    /// Tries once to load the `timer` trigger module. `None` when not
    /// attempted: only the real backend run as root may load kernel modules;
    /// a simulated tree has no kernel behind it.
    fn load_timer_trigger(&self) -> Option<Result<(), String>> {
        if self.inner.backend != Backend::Sysfs {
            return None;
        }
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            return None;
        }
        Some(
            self.inner
                .modprobe
                .get_or_init(|| run_modprobe(TIMER_MODULE))
                .clone(),
        )
    }
}

/// Runs `modprobe <module>` with a deadline, so a stuck module load cannot
/// hang whoever is setting an LED.
fn run_modprobe(module: &str) -> Result<(), String> {
    let mut child = Command::new("modprobe")
        .arg(module)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run modprobe: {e}"))?;
    let deadline = Instant::now() + MODPROBE_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("modprobe {module} timed out"));
            }
            Err(e) => return Err(format!("waiting for modprobe: {e}")),
        }
    };
    if status.success() {
        log::info!("loaded kernel module {module}");
        return Ok(());
    }
    let mut stderr = String::new();
    if let Some(pipe) = child.stderr.take() {
        let _ = pipe.take(512).read_to_string(&mut stderr);
    }
    Err(format!("modprobe {module} failed ({status}): {}", stderr.trim()))
}

/// What an LED's files say right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedState {
    /// Current `brightness` (toggles while blinking).
    pub brightness: u32,
    /// `max_brightness`.
    pub max_brightness: u32,
    /// The active trigger, `None` for `none`.
    pub trigger: Option<String>,
    /// The pattern shown, or `None` when a trigger this crate does not drive
    /// (e.g. `heartbeat`, `kbd-capslock`) owns the LED.
    pub pattern: Option<Pattern>,
}

/// How an LED is being driven, for status displays and logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedStatus {
    /// LED name.
    pub name: String,
    /// The last pattern set successfully through this handle.
    pub requested: Option<Pattern>,
    /// True while a task toggles `brightness` because the kernel offers no `timer` trigger.
    pub software_blink: bool,
    /// Why the LED is driven in a degraded way, if it is.
    pub note: Option<String>,
}

/// One LED of a [`LedClass`]. Dropping it stops software blinking (a kernel
/// `timer` trigger keeps running, as the kernel owns it).
#[derive(Debug)]
pub struct Led {
    class: LedClass,
    name: String,
    dir: PathBuf,
    max_brightness: u32,
    requested: Option<Pattern>,
    note: Option<String>,
    soft: Option<SoftBlink>,
}

/// A software blinker: the tokio task and the state it shares with the handle.
#[derive(Debug)]
struct SoftBlink {
    pattern: Pattern,
    shared: Arc<Mutex<SoftShared>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug, Default)]
struct SoftShared {
    /// Set under the lock by the handle; the task checks it under the same
    /// lock before each write. `abort()` alone is not enough: on a
    /// multi-threaded runtime the task may be in the middle of a write when
    /// we abort it, and would then overwrite the pattern we set next.
    stopped: bool,
    /// Why the task gave up, if it did.
    error: Option<String>,
}

fn lock(m: &Mutex<SoftShared>) -> MutexGuard<'_, SoftShared> {
    // A panic while holding this lock cannot leave SoftShared inconsistent
    // (two plain fields), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Led {
    /// LED name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `max_brightness`, read when the LED was opened.
    pub fn max_brightness(&self) -> u32 {
        self.max_brightness
    }

    /// Shows `pattern`.
    ///
    /// Blinking uses the kernel `timer` trigger. When the LED does not offer
    /// it, the real backend run as root tries `modprobe ledtrig-timer` once
    /// per [`LedClass`] (the call then blocks for the modprobe, at most 5 s);
    /// failing that, a tokio task toggles `brightness` (this needs a tokio
    /// runtime, with timers enabled) and [`Led::status`] says so.
    pub fn set_pattern(&mut self, pattern: Pattern) -> Result<(), LedError> {
        pattern.validate()?;
        self.stop_software_blink();
        self.requested = None;
        self.note = None;
        match pattern.blink_timing() {
            None => self.set_steady(if pattern == Pattern::On {
                self.max_brightness
            } else {
                0
            })?,
            Some((on_ms, off_ms)) => self.set_blink(pattern, on_ms, off_ms)?,
        }
        self.requested = Some(pattern);
        Ok(())
    }

    /// Sets a steady brightness, `0..=max_brightness`.
    pub fn set_brightness(&mut self, value: u32) -> Result<(), LedError> {
        if value > self.max_brightness {
            return Err(LedError::OutOfRange {
                what: "brightness",
                value: value.into(),
                min: 0,
                max: self.max_brightness.into(),
            });
        }
        self.stop_software_blink();
        self.requested = None;
        self.note = None;
        self.set_steady(value)?;
        self.requested = Some(if value == 0 { Pattern::Off } else { Pattern::On });
        Ok(())
    }

    fn store(&self, attr: &str, value: &str) -> Result<(), LedError> {
        self.class.backend().store(&self.dir, attr, value)
    }

    fn set_steady(&self, value: u32) -> Result<(), LedError> {
        // A trigger would keep changing the brightness we set, so detach it first.
        if Triggers::read(&self.dir)?.active_trigger().is_some() {
            self.store("trigger", "none")?;
        }
        self.store("brightness", &value.to_string())
    }

    fn set_blink(&mut self, pattern: Pattern, on_ms: u32, off_ms: u32) -> Result<(), LedError> {
        let mut triggers = Triggers::read(&self.dir)?;
        let mut why = "the kernel offers no timer trigger for this LED".to_owned();
        if !triggers.has("timer") {
            match self.class.load_timer_trigger() {
                None => why.push_str(" (modprobe not tried: needs root on the real backend)"),
                Some(Ok(())) => {
                    triggers = Triggers::read(&self.dir)?;
                    why.push_str(" (even after loading ledtrig-timer)");
                }
                Some(Err(e)) => {
                    why.push_str(" (");
                    why.push_str(&e);
                    why.push(')');
                }
            }
        }
        if !triggers.has("timer") {
            return self.start_software_blink(pattern, on_ms, off_ms, why);
        }
        // Re-selecting the active trigger restarts it on some kernels (a
        // visible glitch), and the delays can be changed in place.
        if triggers.active.as_deref() != Some("timer") {
            self.store("trigger", "timer")?;
        }
        self.store("delay_on", &on_ms.to_string())?;
        self.store("delay_off", &off_ms.to_string())
    }

    fn start_software_blink(
        &mut self,
        pattern: Pattern,
        on_ms: u32,
        off_ms: u32,
        why: String,
    ) -> Result<(), LedError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| LedError::NoRuntime {
            name: self.name.clone(),
        })?;
        self.set_steady(0)?;
        log::warn!("LED {}: {why}; blinking in software", self.name);
        let shared = Arc::new(Mutex::new(SoftShared::default()));
        let task = runtime.spawn(software_blink(
            self.class.backend(),
            self.dir.clone(),
            self.name.clone(),
            self.max_brightness,
            Duration::from_millis(on_ms.into()),
            Duration::from_millis(off_ms.into()),
            shared.clone(),
        ));
        self.note = Some(format!("{why}; blinking in software"));
        self.soft = Some(SoftBlink {
            pattern,
            shared,
            task,
        });
        Ok(())
    }

    fn stop_software_blink(&mut self) {
        if let Some(soft) = self.soft.take() {
            lock(&soft.shared).stopped = true;
            soft.task.abort();
        }
    }

    /// The pattern shown, read back from the files (or the software blinker).
    /// `None` when another trigger owns the LED.
    pub fn pattern(&self) -> Result<Option<Pattern>, LedError> {
        Ok(self.state()?.pattern)
    }

    /// Reads the LED's files.
    pub fn state(&self) -> Result<LedState, LedError> {
        let brightness = read_u32(&self.dir.join("brightness"))?;
        let triggers = Triggers::read(&self.dir)?;
        let trigger = triggers.active_trigger().map(str::to_owned);
        let pattern = if let Some(soft) = &self.soft {
            // The files only show a toggling brightness; the blinker knows the pattern.
            Some(soft.pattern)
        } else {
            match trigger.as_deref() {
                None if brightness == 0 => Some(Pattern::Off),
                None => Some(Pattern::On),
                Some("timer") => {
                    let on = read_u32(&self.dir.join("delay_on"))?;
                    let off = read_u32(&self.dir.join("delay_off"))?;
                    Some(Pattern::from_timer(on, off))
                }
                Some(_) => None,
            }
        };
        Ok(LedState {
            brightness,
            max_brightness: self.max_brightness,
            trigger,
            pattern,
        })
    }

    /// Trigger names the LED accepts (including `none`).
    pub fn available_triggers(&self) -> Result<Vec<String>, LedError> {
        Ok(Triggers::read(&self.dir)?.available)
    }

    /// How the LED is being driven.
    pub fn status(&self) -> LedStatus {
        let mut note = self.note.clone();
        let mut software_blink = false;
        if let Some(soft) = &self.soft {
            software_blink = !soft.task.is_finished();
            if let Some(err) = &lock(&soft.shared).error {
                note = Some(format!(
                    "{}; software blinking stopped: {err}",
                    note.unwrap_or_default()
                ));
            }
        }
        LedStatus {
            name: self.name.clone(),
            requested: self.requested,
            software_blink,
            note,
        }
    }
}

impl Drop for Led {
    fn drop(&mut self) {
        self.stop_software_blink();
    }
}

/// Toggles `brightness` between `max` and 0 until stopped, or until a write fails.
async fn software_blink(
    backend: Backend,
    dir: PathBuf,
    name: String,
    max: u32,
    on: Duration,
    off: Duration,
    shared: Arc<Mutex<SoftShared>>,
) {
    let max = max.to_string();
    let mut lit = true;
    loop {
        {
            let mut s = lock(&shared);
            if s.stopped {
                return;
            }
            let value = if lit { max.as_str() } else { "0" };
            if let Err(e) = backend.store(&dir, "brightness", value) {
                // A failing LED would fail again every few hundred ms: report
                // once and stop instead of flooding the log.
                log::warn!("LED {name}: software blinking stopped: {e}");
                s.error = Some(e.to_string());
                return;
            }
        }
        tokio::time::sleep(if lit { on } else { off }).await;
        lit = !lit;
    }
}
