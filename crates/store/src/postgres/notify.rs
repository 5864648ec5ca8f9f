//! Cross-process notifications (cluster mode) on PostgreSQL's LISTEN/NOTIFY: a node tells the
//! others that something they may act on changed (a signal was announced, a workflow's
//! triggers changed). One channel per schema; one dedicated listening connection per store,
//! re-established when it breaks. Notifications are a wake-up, not the truth: receivers re-read
//! the store, and after a reconnect (when some may have been missed) they get an empty message
//! meaning "re-check everything".

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};

/// The channel of a schema (a short identifier whatever the schema's length).
pub(crate) fn channel(schema: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in schema.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("baton_{hash:016x}")
}

/// Starts the listening connection; messages arrive on the receiver until it is dropped.
pub(crate) fn listen(
    config: tokio_postgres::Config,
    channel: String,
) -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut first = true;
        while !tx.is_closed() {
            match config.connect(NoTls).await {
                Ok((client, mut connection)) => {
                    let (inbox, mut notices) = mpsc::unbounded_channel::<String>();
                    let driver = tokio::spawn(async move {
                        while let Some(message) =
                            std::future::poll_fn(|cx| connection.poll_message(cx)).await
                        {
                            match message {
                                Ok(AsyncMessage::Notification(n)) => {
                                    if inbox.send(n.payload().to_string()).is_err() {
                                        return;
                                    }
                                }
                                Ok(_) => {}
                                Err(_) => return,
                            }
                        }
                    });
                    if client
                        .batch_execute(&format!("LISTEN \"{channel}\""))
                        .await
                        .is_ok()
                    {
                        if !first && tx.send(String::new()).is_err() {
                            driver.abort();
                            return;
                        }
                        first = false;
                        while let Some(message) = notices.recv().await {
                            if tx.send(message).is_err() {
                                driver.abort();
                                return;
                            }
                        }
                    }
                    driver.abort();
                    tracing::warn!("the PostgreSQL notification connection ended; reconnecting");
                }
                Err(err) => {
                    tracing::warn!(error = %super::error_text(&err), "cannot open the PostgreSQL notification connection");
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    rx
}
