//! The behavioural suite on the SQLite backend, plus SQLite-specific checks (durability across
//! reopen, migrations run once).

mod suite;

use std::sync::Arc;

use baton_store::Store;
use baton_store::sqlite::{SqliteOptions, SqliteStore};

async fn fresh() -> Arc<dyn Store> {
    // The directory must outlive the store: leak it for the test's duration.
    let dir = tempfile::tempdir().expect("tempdir").keep();
    Arc::new(SqliteStore::open(dir.join("t.db"), SqliteOptions::default()).expect("open"))
}

store_suite!(fresh);
signal_suite!(fresh);
store_flow_suite!(fresh);
store_api_suite!(fresh);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
        store
            .write(vec![baton_store::WriteOp::PutVersion(suite::version(
                "w", 0, true,
            ))])
            .await
            .unwrap();
    }
    let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
    let row = store
        .get_workflow("w")
        .await
        .unwrap()
        .expect("workflow after reopen");
    assert_eq!(row.latest_version_id, 1);
}
