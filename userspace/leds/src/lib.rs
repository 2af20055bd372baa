//! # leds
//!
//! The gateway's front-panel LEDs through the Linux LED class
//! (`/sys/class/leds/<name>/{brightness,max_brightness,trigger}`, plus
//! `delay_on`/`delay_off` while the `timer` trigger is active).
//!
//! - [`LedClass`] is a directory with that layout: the kernel's
//!   ([`LedClass::sysfs`]) or a simulated one made of plain files
//!   ([`LedClass::create_simulated`]) for workstations and tests. Both run the
//!   same code; only the kernel's side effects of a write are reproduced for
//!   the simulated tree (see [`Backend`]).
//! - [`Led`] shows a [`Pattern`] (off, on, blink, the update blink) and reads
//!   back what the files say. Without a `timer` trigger it tries
//!   `modprobe ledtrig-timer` (real backend, root only), then blinks in
//!   software from a tokio task and says so in [`Led::status`].
//! - [`RoleMap`] maps roles ([`Role::Ready`], [`Role::Power`], named ones) to
//!   LED names from a parameter such as `Ready=dgw:green:ready,Power=dgw:green:power`;
//!   [`Indicators`] opens them.
//! - [`ReadyInputs::state`] / [`ready_pattern`] decide what the Ready LED
//!   shows: the update blink during an update, a 500/500 ms blink while any
//!   configured TLS connection is missing or the service failed, steady on
//!   when all are up. [`ReadyIndicator`] reports only changes.
//!
//! ```no_run
//! use leds::{Indicators, LedClass, ReadyIndicator, ReadyInputs, Role, RoleMap};
//!
//! let map: RoleMap = "Ready=dgw:green:ready,Power=dgw:green:power".parse()?;
//! let mut leds = Indicators::open(&LedClass::sysfs(), &map);
//! let mut ready = ReadyIndicator::new();
//! let now = ReadyInputs { tls_expected: 2, tls_up: 1, ..Default::default() };
//! if let Some(pattern) = ready.update(&now) {
//!     leds.set(&Role::Ready, pattern)?;
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod error;
mod led;
mod pattern;
mod ready;
mod roles;
mod sysfs;

pub use error::LedError;
pub use led::{Led, LedClass, LedState, LedStatus, SYSFS_LEDS};
pub use pattern::Pattern;
pub use ready::{ready_pattern, ReadyIndicator, ReadyInputs, ReadyState, NOT_READY_BLINK};
pub use roles::{Indicators, Role, RoleMap, RoleMapError};
pub use sysfs::{Backend, SimLed};
