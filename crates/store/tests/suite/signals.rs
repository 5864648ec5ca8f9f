//! The behavioural suite of signals and trigger state: every backend must pass it.

use std::sync::Arc;

use baton_store::{
    AddSignalOutcome, CompareOp, NewSignal, SignalCondition, SignalQuery, SignalValue, Store,
    StoreError, TriggerWrite, WriteOp, WriteOutcome,
};

fn signal(name: &str, id: &str, params: &[(&str, SignalValue)]) -> NewSignal {
    NewSignal {
        name: name.to_string(),
        instance_id: id.to_string(),
        instance: format!(r#"{{"name": "{name}"}}"#),
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        create_ts: 7,
    }
}

async fn add(store: &dyn Store, s: NewSignal) -> AddSignalOutcome {
    match store
        .write(vec![WriteOp::AddSignal(s)])
        .await
        .unwrap()
        .pop()
    {
        Some(WriteOutcome::Signal(o)) => o,
        other => panic!("unexpected outcome {other:?}"),
    }
}

fn long(n: i64) -> SignalValue {
    SignalValue::Long(n)
}

fn text(s: &str) -> SignalValue {
    SignalValue::String(s.to_string())
}

fn cond(param: &str, op: CompareOp, value: SignalValue) -> SignalCondition {
    SignalCondition {
        param: param.to_string(),
        op,
        value,
    }
}

async fn seqs(
    store: &dyn Store,
    name: &str,
    after: i64,
    conditions: Vec<SignalCondition>,
) -> Vec<i64> {
    store
        .find_signals(&SignalQuery {
            name: name.to_string(),
            after_seq: after,
            conditions,
            limit: 100,
        })
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.seq_id)
        .collect()
}

pub async fn signals_are_sequenced_per_name_and_deduplicated(store: Arc<dyn Store>) {
    let s = store.as_ref();
    assert_eq!(
        add(s, signal("a", "i1", &[])).await,
        AddSignalOutcome::Created { seq_id: 1 }
    );
    assert_eq!(
        add(s, signal("a", "i2", &[])).await,
        AddSignalOutcome::Created { seq_id: 2 }
    );
    assert_eq!(
        add(s, signal("b", "i1", &[])).await,
        AddSignalOutcome::Created { seq_id: 1 }
    );
    assert_eq!(
        add(s, signal("a", "i1", &[])).await,
        AddSignalOutcome::Duplicated { seq_id: 1 }
    );
    let latest = s.get_signal("a", None).await.unwrap().unwrap();
    assert_eq!((latest.seq_id, latest.instance_id.as_str()), (2, "i2"));
    let first = s.get_signal("a", Some(1)).await.unwrap().unwrap();
    assert_eq!(
        (first.instance.as_str(), first.create_ts),
        (r#"{"name": "a"}"#, 7)
    );
    assert!(s.get_signal("a", Some(3)).await.unwrap().is_none());
    assert!(s.get_signal("zzz", None).await.unwrap().is_none());
}

pub async fn signal_matches_compare_by_type(store: Arc<dyn Store>) {
    let s = store.as_ref();
    add(
        s,
        signal("t", "1", &[("d", long(20240101)), ("h", text("00"))]),
    )
    .await;
    add(
        s,
        signal("t", "2", &[("d", long(20240102)), ("h", text("01"))]),
    )
    .await;
    add(
        s,
        signal("t", "3", &[("d", text("20240103")), ("h", text("00"))]),
    )
    .await;
    add(s, signal("t", "4", &[("d", long(-7))])).await;
    // Without conditions: every signal of the name after the given sequence id.
    assert_eq!(seqs(s, "t", 0, vec![]).await, vec![1, 2, 3, 4]);
    assert_eq!(seqs(s, "t", 2, vec![]).await, vec![3, 4]);
    // Longs compare numerically and never match strings.
    assert_eq!(
        seqs(s, "t", 0, vec![cond("d", CompareOp::Ge, long(20240101))]).await,
        vec![1, 2]
    );
    assert_eq!(
        seqs(s, "t", 0, vec![cond("d", CompareOp::Lt, long(0))]).await,
        vec![4]
    );
    assert_eq!(
        seqs(s, "t", 0, vec![cond("d", CompareOp::Gt, long(-10))]).await,
        vec![1, 2, 4]
    );
    assert_eq!(
        seqs(s, "t", 0, vec![cond("d", CompareOp::Eq, text("20240103"))]).await,
        vec![3]
    );
    assert_eq!(
        seqs(s, "t", 0, vec![cond("d", CompareOp::Le, text("9"))]).await,
        vec![3]
    );
    // Several conditions all hold; the equality drives, the range is checked per signal.
    assert_eq!(
        seqs(
            s,
            "t",
            0,
            vec![
                cond("d", CompareOp::Ge, long(20240101)),
                cond("h", CompareOp::Eq, text("00"))
            ]
        )
        .await,
        vec![1]
    );
    assert_eq!(
        seqs(
            s,
            "t",
            1,
            vec![
                cond("h", CompareOp::Eq, text("00")),
                cond("d", CompareOp::Gt, long(0))
            ]
        )
        .await,
        Vec::<i64>::new()
    );
    // A param the signal lacks never matches.
    assert_eq!(
        seqs(s, "t", 0, vec![cond("h", CompareOp::Le, text("zz"))]).await,
        vec![1, 2, 3]
    );
    let limited = s
        .find_signals(&SignalQuery {
            name: "t".into(),
            after_seq: 0,
            conditions: vec![],
            limit: 1,
        })
        .await
        .unwrap();
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0].seq_id, 1);
}

fn trigger(state: &str, expected: i64) -> TriggerWrite {
    TriggerWrite {
        workflow_id: "w".into(),
        trigger_uuid: "u".into(),
        kind: "SIGNAL".into(),
        definition: "{}".into(),
        state: state.into(),
        expected_version: expected,
        ts: 9,
    }
}

pub async fn trigger_state_is_compare_and_set(store: Arc<dyn Store>) {
    let s = store.as_ref();
    s.write(vec![WriteOp::PutTrigger(trigger("s1", 0))])
        .await
        .unwrap();
    let err = s
        .write(vec![WriteOp::PutTrigger(trigger("again", 0))])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    s.write(vec![WriteOp::PutTrigger(trigger("s2", 1))])
        .await
        .unwrap();
    let err = s
        .write(vec![WriteOp::PutTrigger(trigger("stale", 1))])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let rows = s.list_triggers(Some("w")).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].state.as_str(), rows[0].version), ("s2", 2));
    assert!(s.list_triggers(Some("other")).await.unwrap().is_empty());
    assert_eq!(s.list_triggers(None).await.unwrap().len(), 1);
    s.write(vec![WriteOp::DeleteTrigger {
        workflow_id: "w".into(),
        trigger_uuid: "u".into(),
    }])
    .await
    .unwrap();
    assert!(s.list_triggers(None).await.unwrap().is_empty());
}

/// Many callers announcing signals of one name at once (some of them twice) get distinct,
/// consecutive sequence ids, and a duplicate gets the id of the stored one.
pub async fn concurrent_signals_of_one_name_get_consecutive_ids(store: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            // Every fifth caller repeats an earlier instance id.
            let id = if i % 5 == 4 { i - 1 } else { i };
            let outcome = add(
                &*store,
                signal("busy", &format!("id-{id}"), &[("n", long(id))]),
            )
            .await;
            (id, outcome)
        }));
    }
    let mut created = Vec::new();
    let mut by_id = std::collections::HashMap::new();
    let mut duplicates = Vec::new();
    for task in tasks {
        let (id, outcome) = task.await.unwrap();
        match outcome {
            AddSignalOutcome::Created { seq_id } => {
                created.push(seq_id);
                assert!(by_id.insert(id, seq_id).is_none(), "id-{id} stored twice");
            }
            AddSignalOutcome::Duplicated { seq_id } => duplicates.push((id, seq_id)),
        }
    }
    created.sort_unstable();
    assert_eq!(created, (1..=32).collect::<Vec<i64>>());
    assert_eq!(duplicates.len(), 8);
    for (id, seq_id) in duplicates {
        assert_eq!(by_id.get(&id), Some(&seq_id), "duplicate of id-{id}");
    }
    // Each stored signal is found by its own param.
    for (id, seq_id) in &by_id {
        let found = seqs(
            &*store,
            "busy",
            0,
            vec![cond("n", CompareOp::Eq, long(*id))],
        )
        .await;
        assert_eq!(found, [*seq_id]);
    }
    assert_eq!(
        store
            .get_signal("busy", None)
            .await
            .unwrap()
            .unwrap()
            .seq_id,
        32
    );
}

/// A signal in a batch that fails is not stored, does not use up its sequence id, and leaves no
/// param index rows behind.
pub async fn a_signal_in_a_failed_batch_leaves_nothing(store: Arc<dyn Store>) {
    let s = store.as_ref();
    assert_eq!(
        add(s, signal("sig", "a", &[("k", long(1))])).await,
        AddSignalOutcome::Created { seq_id: 1 }
    );
    s.write(vec![WriteOp::PutTrigger(trigger("s1", 0))])
        .await
        .unwrap();
    let err = s
        .write(vec![
            WriteOp::AddSignal(signal("sig", "b", &[("k", long(2))])),
            // A stale trigger version fails the whole batch.
            WriteOp::PutTrigger(trigger("stale", 7)),
        ])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(seqs(s, "sig", 0, vec![]).await, [1]);
    assert!(
        seqs(s, "sig", 0, vec![cond("k", CompareOp::Eq, long(2))])
            .await
            .is_empty()
    );
    assert_eq!(
        add(s, signal("sig", "b", &[("k", long(2))])).await,
        AddSignalOutcome::Created { seq_id: 2 }
    );
    let rows = s.list_triggers(Some("w")).await.unwrap();
    assert_eq!((rows[0].state.as_str(), rows[0].version), ("s1", 1));
}

/// Runs the signal checks against fresh stores made by `make`.
#[macro_export]
macro_rules! signal_suite {
    ($make:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn signals_are_sequenced_per_name_and_deduplicated() {
            suite::signals::signals_are_sequenced_per_name_and_deduplicated($make().await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn signal_matches_compare_by_type() {
            suite::signals::signal_matches_compare_by_type($make().await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn trigger_state_is_compare_and_set() {
            suite::signals::trigger_state_is_compare_and_set($make().await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn concurrent_signals_of_one_name_get_consecutive_ids() {
            suite::signals::concurrent_signals_of_one_name_get_consecutive_ids($make().await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_signal_in_a_failed_batch_leaves_nothing() {
            suite::signals::a_signal_in_a_failed_batch_leaves_nothing($make().await).await;
        }
    };
}
