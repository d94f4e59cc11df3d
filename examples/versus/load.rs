//! `--load N`: N CPU-bound child processes that run for the whole measurement, the way a
//! user's machine is busy with other work (two `yes > /dev/null`, say). They are this same
//! program started with `--burn`, so nothing outside the build is needed.
//!
//! Cleanup, in layers: [`Load`]'s `Drop` kills and reaps every child (normal exit, `?`, and a
//! panic that unwinds); on Linux each child also asks the kernel for `SIGKILL` when its parent
//! dies (`PR_SET_PDEATHSIG`: the watchdog's `exit`, a crash, `kill -9`); and every child checks
//! twenty times a second that its parent is still the one that started it, and exits if not
//! (other unixes). Ctrl-C reaches the children directly: they are in the terminal's
//! foreground process group too.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The hidden flag that turns this program into one busy process.
pub const BURN_FLAG: &str = "--burn";

/// The running load processes; dropping it stops them.
pub struct Load {
    children: Vec<Child>,
}

impl Load {
    /// Starts `n` busy processes (none for 0).
    pub fn start(n: usize) -> std::io::Result<Load> {
        let exe = std::env::current_exe()?;
        let mut load = Load {
            children: Vec::with_capacity(n),
        };
        for _ in 0..n {
            let child = Command::new(&exe)
                .arg(BURN_FLAG)
                .arg(std::process::id().to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?;
            load.children.push(child); // pushed at once: an error later still kills it
        }
        // Let them get going (and the scheduler see them as CPU-bound) before measuring.
        if n > 0 {
            std::thread::sleep(Duration::from_millis(300));
        }
        Ok(load)
    }

    /// The process ids, for the report.
    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().map(Child::id).collect()
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
        }
        for c in &mut self.children {
            let _ = c.wait();
        }
    }
}

/// The body of a load process: spins on arithmetic until its parent (`parent`, the pid passed
/// by [`Load::start`]) is gone. Never returns.
pub fn burn(parent: Option<u32>) -> ! {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_PDEATHSIG, SIGKILL) only sets a flag of the calling process.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    let orphaned = || {
        #[cfg(unix)]
        {
            // SAFETY: getppid has no preconditions.
            let ppid = unsafe { libc::getppid() } as u32;
            parent.is_some_and(|p| p != ppid)
        }
        #[cfg(not(unix))]
        {
            let _ = parent;
            false
        }
    };
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    loop {
        let t = std::time::Instant::now();
        while t.elapsed() < Duration::from_millis(50) {
            for _ in 0..10_000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
            }
            std::hint::black_box(x);
        }
        if orphaned() {
            std::process::exit(0);
        }
    }
}
