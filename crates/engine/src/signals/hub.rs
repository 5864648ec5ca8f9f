//! The in-engine index from signal name to what waits for it: run actors with steps in
//! WAITING_FOR_SIGNALS and signal-trigger actors. A new signal is delivered to each subscriber's
//! mailbox at once, so a wait ends on the announcement itself, not on a poll.
//!
//! Every delivery carries a [`Delivery`] token; the subscriber drops it when it has handled the
//! signal. [`Hub::settled`] waits until no token is alive, which lets a command or a test know
//! that every match a signal caused has been decided.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use baton_model::instance::SignalInstance;
use baton_store::RunKey;
use tokio::sync::Notify;

/// Who subscribed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum SubscriberKey {
    /// A run actor (its waiting steps).
    Run(RunKey),
    /// A signal-trigger actor: workflow id and trigger uuid.
    Trigger(String, String),
}

/// Hands a signal to a subscriber's mailbox; false when the subscriber is gone.
pub(crate) type Deliver = Arc<dyn Fn(Arc<SignalInstance>, Delivery) -> bool + Send + Sync>;

#[derive(Default)]
struct Counter {
    pending: AtomicUsize,
    idle: Notify,
}

/// Alive while a delivered signal is being handled.
pub(crate) struct Delivery(Arc<Counter>);

impl Drop for Delivery {
    fn drop(&mut self) {
        if self.0.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Delivery")
    }
}

#[derive(Default)]
struct State {
    by_name: HashMap<String, HashMap<SubscriberKey, Deliver>>,
    names_of: HashMap<SubscriberKey, HashSet<String>>,
}

/// The subscriptions of one engine.
#[derive(Default)]
pub(crate) struct Hub {
    state: Mutex<State>,
    counter: Arc<Counter>,
}

impl Hub {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Subscribes `key` to signals named `name` (idempotent).
    pub fn subscribe(&self, name: &str, key: SubscriberKey, deliver: Deliver) {
        let mut st = self.state();
        st.names_of
            .entry(key.clone())
            .or_default()
            .insert(name.to_string());
        st.by_name
            .entry(name.to_string())
            .or_default()
            .insert(key, deliver);
    }

    /// Whether `key` is subscribed to `name`.
    pub fn is_subscribed(&self, name: &str, key: &SubscriberKey) -> bool {
        self.state()
            .by_name
            .get(name)
            .is_some_and(|m| m.contains_key(key))
    }

    /// The names `key` is subscribed to.
    pub fn names_of(&self, key: &SubscriberKey) -> Vec<String> {
        self.state()
            .names_of
            .get(key)
            .map(|n| n.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Ends `key`'s subscription to `name`.
    pub fn unsubscribe(&self, name: &str, key: &SubscriberKey) {
        let mut st = self.state();
        remove(&mut st, name, key);
    }

    /// Ends every subscription of `key`.
    pub fn unsubscribe_all(&self, key: &SubscriberKey) {
        let mut st = self.state();
        let names = st.names_of.remove(key).unwrap_or_default();
        for name in names {
            if let Some(m) = st.by_name.get_mut(&name) {
                m.remove(key);
                if m.is_empty() {
                    st.by_name.remove(&name);
                }
            }
        }
    }

    /// A token counted by [`Hub::settled`] (for work a subscriber does later on a signal's
    /// behalf, e.g. a catch-up scan).
    pub fn token(&self) -> Delivery {
        self.counter.pending.fetch_add(1, Ordering::AcqRel);
        Delivery(self.counter.clone())
    }

    /// Delivers a stored signal to every subscriber of its name.
    pub fn dispatch(&self, instance: Arc<SignalInstance>) {
        let targets: Vec<(SubscriberKey, Deliver)> = match self.state().by_name.get(&instance.name)
        {
            Some(m) => m.iter().map(|(k, d)| (k.clone(), d.clone())).collect(),
            None => return,
        };
        for (key, deliver) in targets {
            if !deliver(instance.clone(), self.token()) {
                let mut st = self.state();
                remove(&mut st, &instance.name, &key);
            }
        }
    }

    /// Waits until every delivered signal has been handled.
    pub async fn settled(&self) {
        loop {
            let idle = self.counter.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.counter.pending.load(Ordering::Acquire) == 0 {
                return;
            }
            idle.await;
        }
    }
}

fn remove(st: &mut State, name: &str, key: &SubscriberKey) {
    if let Some(m) = st.by_name.get_mut(name) {
        m.remove(key);
        if m.is_empty() {
            st.by_name.remove(name);
        }
    }
    if let Some(names) = st.names_of.get_mut(key) {
        names.remove(name);
        if names.is_empty() {
            st.names_of.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn signals_reach_subscribers_of_their_name_and_settle() {
        let hub = Hub::default();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let key = SubscriberKey::Trigger("w".into(), "u".into());
        hub.subscribe(
            "a",
            key.clone(),
            Arc::new(move |s, d| tx.send((s, d)).is_ok()),
        );
        let signal = |name: &str| {
            Arc::new(SignalInstance {
                name: name.into(),
                ..Default::default()
            })
        };
        hub.dispatch(signal("b"));
        hub.dispatch(signal("a"));
        let (got, token) = rx.recv().await.unwrap();
        assert_eq!(got.name, "a");
        assert!(rx.try_recv().is_err(), "only the subscribed name arrives");
        let settled = tokio::time::timeout(std::time::Duration::from_millis(50), hub.settled());
        assert!(settled.await.is_err(), "not settled while the token lives");
        drop(token);
        hub.settled().await;
        hub.unsubscribe_all(&key);
        assert!(!hub.is_subscribed("a", &key));
        drop(rx);
        hub.dispatch(signal("a"));
        hub.settled().await;
    }
}
