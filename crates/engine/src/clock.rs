//! The engine's clock: epoch milliseconds, the unit of every Maestro timestamp.
//!
//! Most of the engine reads the system clock through [`now_millis`]. The time-trigger scheduler
//! reads an injectable [`Clock`] instead, so tests can move time across a due fire time, a DST
//! change or an engine restart without waiting for it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Milliseconds since the Unix epoch, from the system clock.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A source of time that can also wait for a moment.
pub trait Clock: Send + Sync + 'static {
    /// The current time in epoch milliseconds.
    fn now_millis(&self) -> i64;
    /// Resolves once the clock reads `due` or later.
    fn sleep_until(&self, due: i64) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The system clock with tokio timers.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        now_millis()
    }

    fn sleep_until(&self, due: i64) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            // Re-check after waking: the system clock may have been set back meanwhile.
            loop {
                let now = now_millis();
                if now >= due {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis((due - now) as u64)).await;
            }
        })
    }
}

/// A clock that moves only when told to (tests, simulations). Cheap to clone; clones share the
/// time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<tokio::sync::watch::Sender<i64>>,
}

impl ManualClock {
    /// A clock reading `now`.
    pub fn new(now: i64) -> Self {
        ManualClock {
            now: Arc::new(tokio::sync::watch::Sender::new(now)),
        }
    }

    /// Sets the time (it may also go back) and wakes every sleeper that is due.
    pub fn set(&self, now: i64) {
        self.now.send_replace(now);
    }

    /// Moves the time forward by `millis`.
    pub fn advance(&self, millis: i64) {
        self.now.send_modify(|t| *t = t.saturating_add(millis));
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        *self.now.borrow()
    }

    fn sleep_until(&self, due: i64) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let mut rx = self.now.subscribe();
        Box::pin(async move {
            // `wait_for` checks the current value first, then every change.
            let _ = rx.wait_for(|now| *now >= due).await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_wakes_sleepers_when_it_reaches_them() {
        let clock = ManualClock::new(1_000);
        let c = clock.clone();
        let sleeper = tokio::spawn(async move { c.sleep_until(5_000).await });
        tokio::task::yield_now().await;
        clock.advance(3_000);
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.set(5_000);
        tokio::time::timeout(std::time::Duration::from_secs(5), sleeper)
            .await
            .expect("woken")
            .unwrap();
        assert_eq!(clock.now_millis(), 5_000);
    }
}
