//! The baselines that need a little glue: an "event" and a counting semaphore built from a
//! mutex and a condition variable (what std and parking_lot users write instead of
//! `threading.Event` and `threading.Semaphore`), and thin
//! wrappers over libc's `pthread_mutex_t`, `sem_t`, `pthread_barrier_t` and `pthread_create`.

/// A `threading.Event` written the usual way with `std::sync::{Mutex, Condvar}`.
#[derive(Default)]
pub struct StdEvent {
    flag: std::sync::Mutex<bool>,
    cv: std::sync::Condvar,
}

impl StdEvent {
    pub fn set(&self) {
        *self.flag.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cv.notify_all();
    }
    pub fn clear(&self) {
        *self.flag.lock().unwrap_or_else(|e| e.into_inner()) = false;
    }
    pub fn wait(&self) {
        let mut g = self.flag.lock().unwrap_or_else(|e| e.into_inner());
        while !*g {
            g = self.cv.wait(g).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// The same with `parking_lot::{Mutex, Condvar}`.
#[derive(Default)]
pub struct PlEvent {
    flag: parking_lot::Mutex<bool>,
    cv: parking_lot::Condvar,
}

impl PlEvent {
    pub fn set(&self) {
        *self.flag.lock() = true;
        self.cv.notify_all();
    }
    pub fn clear(&self) {
        *self.flag.lock() = false;
    }
    pub fn wait(&self) {
        let mut g = self.flag.lock();
        while !*g {
            self.cv.wait(&mut g);
        }
    }
}

/// A counting semaphore written the usual way with `std::sync::{Mutex, Condvar}`.
#[derive(Default)]
pub struct StdSem {
    count: std::sync::Mutex<u32>,
    cv: std::sync::Condvar,
}

impl StdSem {
    pub fn release(&self) {
        *self.count.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.cv.notify_one();
    }
    pub fn acquire(&self) {
        let mut g = self.count.lock().unwrap_or_else(|e| e.into_inner());
        while *g == 0 {
            g = self.cv.wait(g).unwrap_or_else(|e| e.into_inner());
        }
        *g -= 1;
    }
}

/// The same with `parking_lot::{Mutex, Condvar}`.
#[derive(Default)]
pub struct PlSem {
    count: parking_lot::Mutex<u32>,
    cv: parking_lot::Condvar,
}

impl PlSem {
    pub fn release(&self) {
        *self.count.lock() += 1;
        self.cv.notify_one();
    }
    pub fn acquire(&self) {
        let mut g = self.count.lock();
        while *g == 0 {
            self.cv.wait(&mut g);
        }
        *g -= 1;
    }
}

#[cfg(unix)]
pub use self::unix::*;

#[cfg(unix)]
mod unix {
    use std::cell::UnsafeCell;
    use std::io;

    /// A `pthread_mutex_t` (default attributes) at a fixed heap address.
    pub struct PthreadMutex(Box<UnsafeCell<libc::pthread_mutex_t>>);

    // SAFETY: a pthread mutex is made to be used from several threads at once; we only ever
    // hand out the raw pointer to pthread functions.
    unsafe impl Sync for PthreadMutex {}
    // SAFETY: an unlocked default mutex has no thread affinity, and it is only moved unlocked.
    unsafe impl Send for PthreadMutex {}

    impl PthreadMutex {
        pub fn new() -> Self {
            PthreadMutex(Box::new(UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER)))
        }
        pub fn lock(&self) {
            // SAFETY: the mutex was statically initialized and lives (boxed, never moved) as
            // long as `self`.
            unsafe { libc::pthread_mutex_lock(self.0.get()) };
        }
        pub fn unlock(&self) {
            // SAFETY: as in `lock`; the callers unlock only what they locked.
            unsafe { libc::pthread_mutex_unlock(self.0.get()) };
        }
    }

    impl Drop for PthreadMutex {
        fn drop(&mut self) {
            // SAFETY: `&mut self`: nobody else can hold or wait on the mutex now.
            unsafe { libc::pthread_mutex_destroy(self.0.get()) };
        }
    }

    /// Starts a raw `pthread_create` thread running nothing and joins it; `stack` 0 means the
    /// default attributes.
    pub fn pthread_start_join(stack: usize) -> io::Result<()> {
        extern "C" fn entry(arg: *mut libc::c_void) -> *mut libc::c_void {
            std::hint::black_box(arg)
        }
        // SAFETY: `attr` is initialized by pthread_attr_init before any other use and
        // destroyed once; `entry` is a valid start routine that touches nothing; `thread` is
        // written by pthread_create before pthread_join reads it, and joined exactly once.
        unsafe {
            let mut attr: libc::pthread_attr_t = std::mem::zeroed();
            if libc::pthread_attr_init(&mut attr) != 0 {
                return Err(io::Error::last_os_error());
            }
            if stack != 0 {
                let min = libc::PTHREAD_STACK_MIN;
                libc::pthread_attr_setstacksize(&mut attr, stack.max(min));
            }
            let mut thread: libc::pthread_t = std::mem::zeroed();
            let rc = libc::pthread_create(&mut thread, &attr, entry, std::ptr::null_mut());
            libc::pthread_attr_destroy(&mut attr);
            if rc != 0 {
                return Err(io::Error::from_raw_os_error(rc));
            }
            libc::pthread_join(thread, std::ptr::null_mut());
        }
        Ok(())
    }

    #[cfg(target_os = "linux")]
    pub use self::linux::*;

    #[cfg(target_os = "linux")]
    mod linux {
        use std::cell::UnsafeCell;

        /// An unnamed process-private `sem_t` at a fixed heap address.
        pub struct Sem(Box<UnsafeCell<libc::sem_t>>);

        // SAFETY: POSIX semaphores are made to be shared between threads.
        unsafe impl Sync for Sem {}
        // SAFETY: a semaphore nobody waits on has no thread affinity.
        unsafe impl Send for Sem {}

        impl Sem {
            pub fn new(value: u32) -> Self {
                // SAFETY: an all-zero sem_t is just storage; sem_init initializes it in place
                // before any other use, and the box keeps its address fixed afterwards.
                let s = Sem(Box::new(UnsafeCell::new(unsafe { std::mem::zeroed() })));
                // SAFETY: the pointer is valid and unshared (see above); pshared = 0.
                unsafe { libc::sem_init(s.0.get(), 0, value) };
                s
            }
            pub fn wait(&self) {
                // SAFETY: initialized in `new`, alive as long as `self`.
                while unsafe { libc::sem_wait(self.0.get()) } != 0 {}
            }
            pub fn post(&self) {
                // SAFETY: as in `wait`.
                unsafe { libc::sem_post(self.0.get()) };
            }
        }

        impl Drop for Sem {
            fn drop(&mut self) {
                // SAFETY: `&mut self`: no thread can be waiting on it any more.
                unsafe { libc::sem_destroy(self.0.get()) };
            }
        }

        /// A `pthread_barrier_t` for `parties` threads at a fixed heap address.
        pub struct PthreadBarrier(Box<UnsafeCell<libc::pthread_barrier_t>>);

        // SAFETY: a pthread barrier is made to be shared between threads.
        unsafe impl Sync for PthreadBarrier {}
        // SAFETY: a barrier nobody waits on has no thread affinity.
        unsafe impl Send for PthreadBarrier {}

        impl PthreadBarrier {
            pub fn new(parties: u32) -> Self {
                // SAFETY: zeroed storage, initialized in place by pthread_barrier_init before
                // use; the box keeps the address fixed.
                let b = PthreadBarrier(Box::new(UnsafeCell::new(unsafe { std::mem::zeroed() })));
                // SAFETY: valid, unshared pointer; default attributes; parties > 0.
                unsafe { libc::pthread_barrier_init(b.0.get(), std::ptr::null(), parties.max(1)) };
                b
            }
            pub fn wait(&self) {
                // SAFETY: initialized in `new`, alive as long as `self`.
                unsafe { libc::pthread_barrier_wait(self.0.get()) };
            }
        }

        impl Drop for PthreadBarrier {
            fn drop(&mut self) {
                // SAFETY: `&mut self`: no thread can be waiting on it any more.
                unsafe { libc::pthread_barrier_destroy(self.0.get()) };
            }
        }
    }
}
