//! Tag permits (maestro-model.md §4.3–§4.4): concurrency limits on tags, which is how Maestro
//! caps running steps. A step attempt in WAITING_FOR_PERMITS asks for all of its tags at once —
//! its own tags plus the system tags (`maestro_<workflow>` for `step_concurrency`,
//! `maestro_<workflow>:<step>`, `maestro_<correlation id>` for `instance_step_concurrency`) —
//! and holds them from STARTING until it is terminal.
//!
//! Maestro keeps requests in a table and scans it every 30 s. Baton keeps them in memory, in
//! request order, and grants the moment a permit frees: a release wakes the first waiting
//! requests whose every tag has room (a blocked request does not block later ones whose tags are
//! free). The store holds only the user-set limits (`tag_permit` table). After a restart the
//! holders are rebuilt from the store before anything is granted: steps stored in STARTING,
//! RUNNING or FINISHING hold their permits again (`recovery`), and waiting steps ask again when
//! their runs resume.
//!
//! Limits are per engine process; in a cluster each node enforces them for the runs it owns.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use baton_model::definition::{TagList, User};
use baton_model::instance::{Timeline, TimelineEvent};
use baton_store::{TagPermitRow, WriteOp};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::now_millis;
use crate::engine::Engine;
use crate::error::{EngineError, Result};

/// Maestro's default `step_concurrency` and per-step limit (`Defaults.DEFAULT_STEP_CONCURRENCY`).
pub const DEFAULT_STEP_CONCURRENCY: i64 = 20;

/// A user-set tag permit as the API shows it (`TagPermit`): the tag, its limit, its timeline
/// and any extra keys of the request, flattened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagPermit {
    pub tag: String,
    pub max_allowed: i64,
    #[serde(default)]
    pub timeline: Timeline,
    #[serde(flatten)]
    pub extra_info: IndexMap<String, Value>,
}

/// A tag a step asks for, with the limit it carries (system tags) or none (user tags, limited
/// only by a tag permit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRequest {
    pub tag: String,
    pub carried_limit: Option<i64>,
}

/// What decides a step's tags (§4.3, `WorkflowSummary.deriveRuntimeTagPermits`).
pub struct StepTagFacts<'a> {
    pub workflow_id: &'a str,
    pub correlation_id: &'a str,
    /// `run_properties.step_concurrency`.
    pub step_concurrency: Option<i64>,
    /// The workflow's `instance_step_concurrency` (inherited from the root of the tree).
    pub instance_step_concurrency: Option<i64>,
    pub step_id: &'a str,
    pub is_leaf: bool,
    pub tags: Option<&'a TagList>,
}

/// The tags a step attempt must hold to start: its own tags, then the system tags.
pub fn step_tags(f: &StepTagFacts<'_>) -> Vec<TagRequest> {
    let mut out: Vec<TagRequest> = Vec::new();
    let mut push = |tag: String, carried_limit: Option<i64>| {
        if !out.iter().any(|t| t.tag == tag) {
            out.push(TagRequest { tag, carried_limit });
        }
    };
    if let Some(tags) = f.tags {
        for t in tags.tags() {
            push(t.name.clone(), None);
        }
    }
    match f.instance_step_concurrency {
        Some(isc) => {
            if let Some(sc) = f.step_concurrency {
                push(format!("maestro_{}", f.workflow_id), Some(sc));
            }
            if f.is_leaf {
                push(format!("maestro_{}", f.correlation_id), Some(isc));
            }
        }
        None => {
            push(
                format!("maestro_{}", f.workflow_id),
                Some(f.step_concurrency.unwrap_or(DEFAULT_STEP_CONCURRENCY)),
            );
            push(
                format!("maestro_{}:{}", f.workflow_id, f.step_id),
                Some(DEFAULT_STEP_CONCURRENCY),
            );
        }
    }
    out
}

/// Called when a waiting request is granted; false when the waiter is gone (its run stopped),
/// in which case the grant is taken back.
pub(crate) type Wake = Box<dyn FnOnce() -> bool + Send>;

struct Waiter {
    uuid: String,
    tags: Vec<TagRequest>,
    wake: Wake,
}

#[derive(Default)]
struct State {
    /// Grants wait until recovery has rebuilt every holder.
    ready: bool,
    /// User-set limits by tag.
    limits: HashMap<String, i64>,
    /// Current holders by tag.
    holders: HashMap<String, i64>,
    /// Tags held, by step attempt uuid.
    held: HashMap<String, Vec<String>>,
    /// Waiting requests in arrival order.
    waiting: BTreeMap<u64, Waiter>,
    waiting_by_uuid: HashMap<String, u64>,
    /// Waiting requests by tag, so a release looks only at requests it may unblock.
    waiting_by_tag: HashMap<String, BTreeSet<u64>>,
    next_seq: u64,
}

impl State {
    fn limit(&self, t: &TagRequest) -> Option<i64> {
        self.limits.get(&t.tag).copied().or(t.carried_limit)
    }

    fn has_room(&self, tags: &[TagRequest]) -> bool {
        tags.iter().all(|t| match self.limit(t) {
            Some(limit) => self.holders.get(&t.tag).copied().unwrap_or(0) < limit,
            None => true,
        })
    }

    fn take(&mut self, uuid: &str, tags: &[TagRequest]) {
        for t in tags {
            *self.holders.entry(t.tag.clone()).or_insert(0) += 1;
        }
        self.held.insert(
            uuid.to_string(),
            tags.iter().map(|t| t.tag.clone()).collect(),
        );
    }

    /// Drops what `uuid` holds; returns the tags that gained room.
    fn give_back(&mut self, uuid: &str) -> Vec<String> {
        let Some(tags) = self.held.remove(uuid) else {
            return Vec::new();
        };
        for tag in &tags {
            if let Some(n) = self.holders.get_mut(tag) {
                *n -= 1;
                if *n <= 0 {
                    self.holders.remove(tag);
                }
            }
        }
        tags
    }

    fn remove_waiter(&mut self, seq: u64) -> Option<Waiter> {
        let w = self.waiting.remove(&seq)?;
        self.waiting_by_uuid.remove(&w.uuid);
        for t in &w.tags {
            if let Some(set) = self.waiting_by_tag.get_mut(&t.tag) {
                set.remove(&seq);
                if set.is_empty() {
                    self.waiting_by_tag.remove(&t.tag);
                }
            }
        }
        Some(w)
    }

    /// Grants waiting requests that involve `freed` tags (all of them when `None`), in arrival
    /// order: each one whose every tag has room at its turn.
    fn grant(&mut self, freed: Option<&[String]>) {
        if !self.ready {
            return;
        }
        let candidates: Vec<u64> = match freed {
            None => self.waiting.keys().copied().collect(),
            Some(tags) => {
                let mut set = BTreeSet::new();
                for t in tags {
                    if let Some(s) = self.waiting_by_tag.get(t) {
                        set.extend(s.iter().copied());
                    }
                }
                set.into_iter().collect()
            }
        };
        for seq in candidates {
            let Some(w) = self.waiting.get(&seq) else {
                continue;
            };
            if !self.has_room(&w.tags) {
                continue;
            }
            let Some(w) = self.remove_waiter(seq) else {
                continue;
            };
            self.take(&w.uuid, &w.tags);
            if !(w.wake)() {
                self.give_back(&w.uuid);
            }
        }
    }
}

/// The engine's permit manager.
#[derive(Default)]
pub(crate) struct Permits {
    state: Mutex<State>,
}

impl Permits {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Takes every tag of `uuid` at once if all have room (or it already holds them); else
    /// queues the request and calls `wake` when it is granted. True when granted now.
    pub fn acquire(&self, uuid: &str, tags: Vec<TagRequest>, wake: Wake) -> bool {
        let mut st = self.lock();
        if st.held.contains_key(uuid) {
            return true;
        }
        if st.ready && st.has_room(&tags) {
            st.take(uuid, &tags);
            return true;
        }
        if let Some(seq) = st.waiting_by_uuid.get(uuid).copied() {
            // Asked again while waiting (the run resumed): keep its place, take the new waker.
            if let Some(w) = st.waiting.get_mut(&seq) {
                w.wake = wake;
            }
            return false;
        }
        let seq = st.next_seq;
        st.next_seq += 1;
        for t in &tags {
            st.waiting_by_tag
                .entry(t.tag.clone())
                .or_default()
                .insert(seq);
        }
        st.waiting_by_uuid.insert(uuid.to_string(), seq);
        st.waiting.insert(
            seq,
            Waiter {
                uuid: uuid.to_string(),
                tags,
                wake,
            },
        );
        false
    }

    /// Records that `uuid` holds its tags without asking (a step that was running when the
    /// engine stopped).
    pub fn hold(&self, uuid: &str, tags: &[TagRequest]) {
        let mut st = self.lock();
        if !st.held.contains_key(uuid) {
            st.take(uuid, tags);
        }
    }

    /// Gives back what `uuid` holds, or withdraws its request, and wakes whoever can go now.
    pub fn release(&self, uuid: &str) {
        let mut st = self.lock();
        if let Some(seq) = st.waiting_by_uuid.get(uuid).copied() {
            st.remove_waiter(seq);
            return;
        }
        let freed = st.give_back(uuid);
        if !freed.is_empty() {
            st.grant(Some(&freed));
        }
    }

    /// Sets (or with `None` removes) the user limit of a tag.
    pub fn set_limit(&self, tag: &str, limit: Option<i64>) {
        let mut st = self.lock();
        match limit {
            Some(l) => st.limits.insert(tag.to_string(), l),
            None => st.limits.remove(tag),
        };
        let freed = [tag.to_string()];
        st.grant(Some(&freed));
    }

    /// Starts granting (after recovery rebuilt the holders).
    pub fn open(&self) {
        let mut st = self.lock();
        st.ready = true;
        st.grant(None);
    }

    /// How many attempts hold `tag` now.
    pub fn holders(&self, tag: &str) -> i64 {
        self.lock().holders.get(tag).copied().unwrap_or(0)
    }

    /// How many requests wait.
    #[cfg(test)]
    pub fn waiting(&self) -> usize {
        self.lock().waiting.len()
    }
}

impl Engine {
    /// Creates or changes the tag permit of `tag`: at most `max_allowed` step attempts carrying
    /// the tag run at once (`POST /api/v3/tag-permits`). `extra_info` keys are kept and shown.
    pub async fn set_tag_permit(
        &self,
        tag: &str,
        max_allowed: i64,
        extra_info: IndexMap<String, Value>,
        user: &User,
    ) -> Result<()> {
        if tag.trim().is_empty() {
            return Err(EngineError::invalid("tag permit: tag must not be empty"));
        }
        if max_allowed < 0 {
            return Err(EngineError::invalid(format!(
                "tag permit [{tag}]: max_allowed must be greater than or equal to 0, got {max_allowed}"
            )));
        }
        if let Some(k) = extra_info
            .keys()
            .find(|k| matches!(k.as_str(), "tag" | "max_allowed" | "timeline"))
        {
            return Err(EngineError::invalid(format!(
                "tag permit [{tag}]: extra info cannot contain the reserved key [{k}]"
            )));
        }
        let now = now_millis();
        let existing = self.inner.store.get_tag_permit(tag).await?;
        let mut timeline = match existing.as_ref().and_then(|r| r.timeline.as_deref()) {
            Some(text) => serde_json::from_str(text).unwrap_or_default(),
            None => Timeline::default(),
        };
        let verb = if existing.is_some() {
            "updated"
        } else {
            "created"
        };
        timeline.add(TimelineEvent::info(
            now,
            format!(
                "User [{}] {verb} the tag permit [{tag}] with max_allowed [{max_allowed}]",
                user.name
            ),
        ));
        let row = TagPermitRow {
            tag: tag.to_string(),
            max_allowed,
            timeline: Some(to_json(&timeline)?),
            extra_info: if extra_info.is_empty() {
                None
            } else {
                Some(to_json(&extra_info)?)
            },
            create_ts: existing.as_ref().map(|r| r.create_ts).unwrap_or(now),
            modify_ts: now,
        };
        self.inner
            .store
            .write(vec![WriteOp::PutTagPermit(row)])
            .await?;
        self.inner.permits.set_limit(tag, Some(max_allowed));
        Ok(())
    }

    /// The tag permit of `tag` (`GET /api/v3/tag-permits/{tag}`).
    pub async fn get_tag_permit(&self, tag: &str) -> Result<TagPermit> {
        let row = self
            .inner
            .store
            .get_tag_permit(tag)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("Cannot find tag permit [{tag}]")))?;
        let timeline = match row.timeline.as_deref() {
            Some(t) => serde_json::from_str(t).map_err(|e| {
                EngineError::Internal(format!("stored tag permit timeline is unreadable: {e}"))
            })?,
            None => Timeline::default(),
        };
        let extra_info = match row.extra_info.as_deref() {
            Some(t) => serde_json::from_str(t).map_err(|e| {
                EngineError::Internal(format!("stored tag permit extra info is unreadable: {e}"))
            })?,
            None => IndexMap::new(),
        };
        Ok(TagPermit {
            tag: row.tag,
            max_allowed: row.max_allowed,
            timeline,
            extra_info,
        })
    }

    /// Removes the tag permit of `tag` (`DELETE /api/v3/tag-permits/{tag}`): the tag no longer
    /// limits anything (system tags fall back to the limit they carry).
    pub async fn delete_tag_permit(&self, tag: &str) -> Result<()> {
        self.inner
            .store
            .write(vec![WriteOp::DeleteTagPermit {
                tag: tag.to_string(),
            }])
            .await?;
        self.inner.permits.set_limit(tag, None);
        Ok(())
    }

    /// How many step attempts hold a permit of `tag` in this engine now.
    pub fn tag_permit_holders(&self, tag: &str) -> i64 {
        self.inner.permits.holders(tag)
    }
}

fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| EngineError::Internal(format!("cannot serialize: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn req(tags: &[(&str, Option<i64>)]) -> Vec<TagRequest> {
        tags.iter()
            .map(|(t, l)| TagRequest {
                tag: t.to_string(),
                carried_limit: *l,
            })
            .collect()
    }

    fn counter() -> (Arc<AtomicUsize>, impl Fn() -> Wake) {
        let n = Arc::new(AtomicUsize::new(0));
        let m = n.clone();
        (n, move || {
            let m = m.clone();
            Box::new(move || {
                m.fetch_add(1, Ordering::SeqCst);
                true
            }) as Wake
        })
    }

    #[test]
    fn grants_in_order_and_skips_blocked_requests() {
        let p = Permits::default();
        p.open();
        let (woken, wake) = counter();
        assert!(p.acquire("a", req(&[("x", Some(1))]), wake()));
        // b waits on x; c waits on x and y; d needs only y and goes at once.
        assert!(!p.acquire("b", req(&[("x", Some(1))]), wake()));
        assert!(!p.acquire("c", req(&[("x", Some(1)), ("y", Some(1))]), wake()));
        assert!(p.acquire("d", req(&[("y", Some(1))]), wake()));
        assert_eq!(p.waiting(), 2);
        // x frees: b (first in line) gets it; c still needs x and y.
        p.release("a");
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        assert_eq!(p.holders("x"), 1);
        p.release("d");
        assert_eq!(woken.load(Ordering::SeqCst), 1, "c still needs x");
        p.release("b");
        assert_eq!(woken.load(Ordering::SeqCst), 2);
        assert_eq!((p.holders("x"), p.holders("y")), (1, 1));
        p.release("c");
        assert_eq!((p.holders("x"), p.holders("y"), p.waiting()), (0, 0, 0));
    }

    #[test]
    fn user_limits_override_and_unlimited_tags_never_block() {
        let p = Permits::default();
        p.open();
        let (woken, wake) = counter();
        for i in 0..5 {
            assert!(p.acquire(&format!("u{i}"), req(&[("free", None)]), wake()));
        }
        p.set_limit("free", Some(5));
        assert!(!p.acquire("u5", req(&[("free", None)]), wake()));
        // Raising the limit wakes the waiter at once.
        p.set_limit("free", Some(6));
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        // A user limit replaces a carried one.
        p.set_limit("sys", Some(0));
        assert!(!p.acquire("s", req(&[("sys", Some(10))]), wake()));
        p.set_limit("sys", None);
        assert_eq!(woken.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn nothing_is_granted_before_recovery_opens_and_withdrawn_waiters_go() {
        let p = Permits::default();
        let (woken, wake) = counter();
        p.hold("running", &req(&[("x", Some(1))]));
        assert!(!p.acquire("new", req(&[("z", Some(5))]), wake()));
        assert!(!p.acquire("gone", req(&[("z", Some(5))]), wake()));
        p.release("gone");
        p.open();
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        assert_eq!(p.holders("x"), 1);
        // A waiter whose run is gone does not keep the permit.
        assert!(!p.acquire("dead", req(&[("x", Some(1))]), Box::new(|| false)));
        p.release("running");
        assert_eq!(p.holders("x"), 0);
    }

    #[test]
    fn system_tags_follow_maestro() {
        let tags = |isc: Option<i64>, sc: Option<i64>, leaf: bool| {
            step_tags(&StepTagFacts {
                workflow_id: "wf",
                correlation_id: "wf:1:1",
                step_concurrency: sc,
                instance_step_concurrency: isc,
                step_id: "job",
                is_leaf: leaf,
                tags: None,
            })
        };
        assert_eq!(
            tags(None, None, true),
            req(&[("maestro_wf", Some(20)), ("maestro_wf:job", Some(20))])
        );
        assert_eq!(
            tags(None, Some(3), false),
            req(&[("maestro_wf", Some(3)), ("maestro_wf:job", Some(20))])
        );
        assert_eq!(
            tags(Some(2), None, true),
            req(&[("maestro_wf:1:1", Some(2))])
        );
        assert_eq!(tags(Some(2), None, false), req(&[]));
        assert_eq!(
            tags(Some(2), Some(7), true),
            req(&[("maestro_wf", Some(7)), ("maestro_wf:1:1", Some(2))])
        );
    }
}
