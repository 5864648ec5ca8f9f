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
    };
}
