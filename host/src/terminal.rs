//! lamina's terminal, when its stdin is one: raw for the run, so that the
//! guest's line discipline is the only one the keystrokes meet (^C reaches
//! the workload's foreground job, not lamina), and restored on every way
//! out: the guard's drop (a normal end, a terminating signal the loop
//! handled, an error) and a panic (the hook runs before the abort).
//! Its window size goes to the guest at start (the kernel command line)
//! and on every SIGWINCH (a ctl message).

use std::sync::{Mutex, Once};

use lamina_proto::control::WindowSize;
use rustix::termios::{self, OptionalActions, Termios};

/// The settings to restore, for the panic hook.
static SAVED: Mutex<Option<Termios>> = Mutex::new(None);
static PANIC_HOOK: Once = Once::new();

/// The terminal in raw mode until this is dropped.
#[derive(Debug)]
pub struct RawMode {
    _private: (),
}

impl RawMode {
    /// Puts lamina's stdin terminal in raw mode; None when stdin is not a
    /// terminal (or cannot be changed: the run then goes on cooked).
    pub fn enter() -> Option<Self> {
        let stdin = rustix::stdio::stdin();
        if !termios::isatty(stdin) {
            return None;
        }
        // A background lamina leaves the terminal alone (changing it would
        // stop lamina with SIGTTOU, as any background program).
        if termios::tcgetpgrp(stdin).ok() != Some(rustix::process::getpgrp()) {
            tracing::info!("lamina is not in its terminal's foreground: the terminal stays cooked");
            return None;
        }
        let saved = match termios::tcgetattr(stdin) {
            Ok(saved) => saved,
            Err(err) => {
                tracing::info!("cannot read the terminal's settings: {err}");
                return None;
            }
        };
        let mut raw = saved.clone();
        raw.make_raw();
        *SAVED.lock().unwrap_or_else(|e| e.into_inner()) = Some(saved);
        PANIC_HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore();
                previous(info);
            }));
        });
        if let Err(err) = termios::tcsetattr(stdin, OptionalActions::Drain, &raw) {
            tracing::info!("cannot put the terminal in raw mode: {err}");
            SAVED.lock().unwrap_or_else(|e| e.into_inner()).take();
            return None;
        }
        Some(Self { _private: () })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts the saved settings back on stdin (once).
fn restore() {
    restore_on(rustix::stdio::stdin());
}

fn restore_on(terminal: impl std::os::fd::AsFd) {
    let saved = SAVED.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(saved) = saved {
        let _ = termios::tcsetattr(terminal, OptionalActions::Now, &saved);
    }
}

/// The size of lamina's terminal: the first of stdin, stdout and stderr
/// that is one and has a size.
pub fn window_size() -> Option<WindowSize> {
    [
        rustix::stdio::stdin(),
        rustix::stdio::stdout(),
        rustix::stdio::stderr(),
    ]
    .into_iter()
    .filter_map(|fd| termios::tcgetwinsize(fd).ok())
    .find(|size| size.ws_row != 0 || size.ws_col != 0)
    .map(|size| WindowSize {
        rows: size.ws_row,
        cols: size.ws_col,
        xpixel: size.ws_xpixel,
        ypixel: size.ws_ypixel,
    })
}

/// Whether any of lamina's standard streams is a terminal (its resizes
/// then matter to the guest).
pub fn any_is_terminal() -> bool {
    [
        rustix::stdio::stdin(),
        rustix::stdio::stdout(),
        rustix::stdio::stderr(),
    ]
    .into_iter()
    .any(termios::isatty)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The settings a pty's slave starts with come back after the guard.
    #[test]
    fn raw_mode_is_restored_on_drop() {
        // A pty of the test's own, never the terminal running the tests.
        let master =
            rustix::pty::openpt(rustix::pty::OpenptFlags::RDWR | rustix::pty::OpenptFlags::NOCTTY)
                .unwrap();
        rustix::pty::grantpt(&master).unwrap();
        rustix::pty::unlockpt(&master).unwrap();
        let name = rustix::pty::ptsname(&master, Vec::new()).unwrap();
        let slave = rustix::fs::open(
            name.as_c_str(),
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::NOCTTY,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
        let before = termios::tcgetattr(&slave).unwrap();
        assert!(before.local_modes.contains(termios::LocalModes::ICANON));
        // A raw copy, restored by hand: the same calls the guard makes.
        let mut raw = before.clone();
        raw.make_raw();
        termios::tcsetattr(&slave, OptionalActions::Now, &raw).unwrap();
        let now = termios::tcgetattr(&slave).unwrap();
        assert!(!now.local_modes.contains(termios::LocalModes::ICANON));
        assert!(!now.local_modes.contains(termios::LocalModes::ISIG));
        assert!(!now.output_modes.contains(termios::OutputModes::OPOST));
        *SAVED.lock().unwrap() = Some(before.clone());
        restore_on(&slave);
        restore_on(&slave);
        let after = termios::tcgetattr(&slave).unwrap();
        assert_eq!(after.local_modes, before.local_modes);
        assert_eq!(after.output_modes, before.output_modes);
        assert!(SAVED.lock().unwrap().is_none(), "restores once");
    }
}
