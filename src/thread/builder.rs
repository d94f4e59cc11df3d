//! [`Builder`]: std's `thread::Builder` shape with Python's options (name, stack size, daemon),
//! building ordinary threadkit [`Thread`]s: named, listed by `enumerate()`, traced, their
//! `Local` values dropped at exit.

use super::Thread;
use super::scope::{Scope, ScopedJoinHandle};
use super::spawn::{JoinHandle, discard_target, packaged};
use crate::error::Error;

/// Configures a thread before it starts, as std's `thread::Builder` does, with Python's
/// `daemon=` added. Threads made by a `Builder` are daemon threads unless
/// [`daemon(false)`](Builder::daemon) says otherwise (std's exit rule: a daemon thread does not
/// keep the process alive once `main` returns).
///
/// ```
/// let h = threadkit::Builder::new()
///     .name("worker")
///     .stack_size(256 * 1024)
///     .spawn(|| threadkit::current_thread().name())
///     .unwrap();
/// assert_eq!(h.join().unwrap(), "worker");
/// ```
#[derive(Debug, Clone)]
#[must_use = "a Builder does nothing until spawn is called"]
pub struct Builder {
    name: Option<String>,
    stack_size: usize,
    daemon: bool,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// A builder for an automatically named ("Thread-N") daemon thread with the module's
    /// default stack size ([`stack_size`](crate::stack_size)).
    ///
    /// ```
    /// let h = threadkit::Builder::new().spawn(|| 1).unwrap();
    /// assert!(h.thread().daemon());
    /// assert_eq!(h.join().unwrap(), 1);
    /// ```
    pub fn new() -> Builder {
        Builder {
            name: None,
            stack_size: 0,
            daemon: true,
        }
    }

    /// The thread's name (`""`: the automatic "Thread-N", as Python's `name or _newname()`).
    ///
    /// ```
    /// let h = threadkit::Builder::new().name("io").spawn(|| ()).unwrap();
    /// assert_eq!(h.thread().name(), "io");
    /// h.join().unwrap();
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// The thread's stack size in bytes (0: the module default); below
    /// [`MIN_STACK_SIZE`](crate::MIN_STACK_SIZE) the spawn fails with
    /// [`Error::InvalidStackSize`].
    ///
    /// ```
    /// let r = threadkit::Builder::new().stack_size(1024).spawn(|| ());
    /// assert!(matches!(r, Err(threadkit::Error::InvalidStackSize(_))));
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = bytes;
        self
    }

    /// Whether the thread is a daemon thread (the default: `true`, std's rule). A non-daemon
    /// thread keeps the process alive after `main` returns until it finishes (Python's rule).
    ///
    /// ```
    /// let h = threadkit::Builder::new().daemon(false).spawn(|| ()).unwrap();
    /// assert!(!h.thread().daemon());
    /// h.join().unwrap();
    /// ```
    pub fn daemon(mut self, daemon: bool) -> Builder {
        self.daemon = daemon;
        self
    }

    /// Applies the options to a built thread.
    fn configure(self, thread: Thread) -> Thread {
        let thread = thread.with_stack_size(self.stack_size);
        match self.name {
            Some(name) => thread.with_name(name),
            None => thread,
        }
    }

    /// Starts the thread and returns a handle to join it for its result. Errors:
    /// [`Error::InvalidStackSize`], [`Error::Os`] (the OS refused).
    ///
    /// ```
    /// let h = threadkit::Builder::new().spawn(|| 6 * 7).unwrap();
    /// assert_eq!(h.join().unwrap(), 42);
    /// ```
    pub fn spawn<T: Send + 'static>(
        self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<JoinHandle<T>, Error> {
        // SAFETY: `'static`: nothing to outlive.
        let (thread, result) = unsafe { packaged(f, self.daemon) };
        let thread = self.configure(thread);
        thread.start()?;
        Ok(JoinHandle { thread, result })
    }

    /// Starts a thread in `scope` (see [`scope`](crate::scope)): it may borrow from outside
    /// the scope, and is joined before the scope returns.
    ///
    /// ```
    /// let data = vec![1, 2, 3];
    /// let sum = threadkit::scope(|s| {
    ///     let h = threadkit::Builder::new().name("adder").spawn_scoped(s, || data.iter().sum::<i32>()).unwrap();
    ///     h.join().unwrap()
    /// });
    /// assert_eq!(sum, 6);
    /// ```
    pub fn spawn_scoped<'scope, 'env, T: Send + 'scope>(
        self,
        scope: &'scope Scope<'scope, 'env>,
        f: impl FnOnce() -> T + Send + 'scope,
    ) -> Result<ScopedJoinHandle<'scope, T>, Error> {
        // SAFETY: the thread is listed in the scope once started, and `scope` joins every
        // listed thread before `'scope` ends; if the start fails, its target is dropped here.
        let (thread, result) = unsafe { packaged(f, self.daemon) };
        let thread = self.configure(thread);
        if let Err(e) = thread.start() {
            discard_target(&thread);
            return Err(e);
        }
        scope.add(thread.clone());
        Ok(ScopedJoinHandle::new(thread, result))
    }
}
