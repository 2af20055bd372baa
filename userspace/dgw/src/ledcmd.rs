//! `dgw leds`: drive the LED class directly (diagnostics, and the real-LED
//! test in the VM). Services use hostd's `net.dgw.Leds1` instead.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Args)]
pub struct LedsArgs {
    /// LED class directory (a simulated tree for workstations).
    #[arg(long, global = true, default_value = "/sys/class/leds")]
    root: PathBuf,
    #[command(subcommand)]
    cmd: LedsCommand,
}

#[derive(Subcommand)]
enum LedsCommand {
    /// List the LEDs and what each shows.
    List,
    /// Show a pattern: off, on, updating, blink:ON_MS:OFF_MS.
    Set {
        /// LED name (as in /sys/class/leds).
        name: String,
        /// The pattern.
        pattern: String,
    },
    /// Print the pattern an LED shows, read back from the device.
    Get {
        /// LED name.
        name: String,
    },
}

pub fn run(a: LedsArgs) -> i32 {
    // The kernel's tree gets the real backend (which may load the timer
    // trigger module); any other directory is a simulated tree.
    let class = if a.root == std::path::Path::new("/sys/class/leds") {
        leds::LedClass::sysfs()
    } else {
        leds::LedClass::simulated(&a.root)
    };
    let r: Result<(), String> = (|| {
        match &a.cmd {
            LedsCommand::List => {
                for n in class.names().map_err(|e| e.to_string())? {
                    let p = class
                        .open(&n)
                        .and_then(|l| l.pattern())
                        .map_err(|e| e.to_string());
                    let shown = match p {
                        Ok(Some(p)) => hostd::leds_iface::pattern_text(&p),
                        Ok(None) => "other".into(),
                        Err(e) => format!("error: {e}"),
                    };
                    println!("{n}\t{shown}");
                }
            }
            LedsCommand::Set { name, pattern } => {
                let p = hostd::leds_iface::parse_pattern(pattern).map_err(|e| format!("{e:?}"))?;
                let mut led = class.open(name).map_err(|e| e.to_string())?;
                led.set_pattern(p).map_err(|e| e.to_string())?;
                // The LED keeps its state after we exit (kernel trigger); a
                // software blink would stop, so say so.
                let st = led.status();
                println!("{name}: {} ({st:?})", hostd::leds_iface::pattern_text(&p));
            }
            LedsCommand::Get { name } => {
                let led = class.open(name).map_err(|e| e.to_string())?;
                match led.pattern().map_err(|e| e.to_string())? {
                    Some(p) => println!("{}", hostd::leds_iface::pattern_text(&p)),
                    None => println!("other"),
                }
            }
        }
        Ok(())
    })();
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("dgw leds: {e}");
            1
        }
    }
}
