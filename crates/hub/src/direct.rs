//! The edge's outbox straight into the hub's PostgreSQL, without a broker (`[hub]
//! database = "postgres://…"`): for a single shop that keeps its history in PostgreSQL,
//! or an edge on the hub's own network.
//!
//! The same rows, the same idempotent ingest and the same acknowledgement as through
//! MQTT ([`crate::uplink`], [`crate::ingest`]): a batch is stored and the shop's
//! watermark moved in one transaction, and only then do its rows leave the outbox. A
//! crash between the two resends rows the database already has, which it ignores.
//! While PostgreSQL cannot be reached, everything waits in the outbox; the link tries
//! again after 1 s, doubling to 30 s.

use std::time::Duration;

use sheetsight_base::error::with_causes;
use sheetsight_base::shutdown;
use sheetsight_store::UnixMillis;
use sheetsight_store::postgres::PgDatabase;
use sheetsight_store::sqlite::SqliteStore;
use tokio::task::JoinHandle;

const BATCH_ROWS: u32 = 500;
const BATCH_BYTES: usize = 1 << 20;
/// How often an outbox that was empty is looked at again.
const IDLE: Duration = Duration::from_millis(500);
const FIRST_WAIT: Duration = Duration::from_secs(1);
const LONGEST_WAIT: Duration = Duration::from_secs(30);

/// Starts sending `store`'s outbox as shop `shop` into the database at `url`; it ends at
/// `stop`.
pub fn spawn(store: SqliteStore, url: String, shop: String, stop: shutdown::Receiver) -> JoinHandle<()> {
    tokio::spawn(run(store, url, shop, stop))
}

async fn run(store: SqliteStore, url: String, shop: String, stop: shutdown::Receiver) {
    let mut wait = FIRST_WAIT;
    let mut last_error = String::new();
    let mut link: Option<(PgDatabase, String)> = None;
    loop {
        let pause = match send_some(&store, &url, &shop, &mut link).await {
            Ok(sent) => {
                wait = FIRST_WAIT;
                if !last_error.is_empty() {
                    tracing::info!(%shop, "history reaches the hub's database again");
                    last_error.clear();
                }
                if sent { Duration::ZERO } else { IDLE }
            }
            Err(error) => {
                if error != last_error {
                    tracing::warn!(%shop, %error, retry_s = wait.as_secs_f64(), "cannot send history to the hub's database; it waits in the outbox");
                    last_error = error;
                }
                link = None;
                let pause = wait;
                wait = (wait * 2).min(LONGEST_WAIT);
                pause
            }
        };
        tokio::select! {
            _ = stop.wait() => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

/// Sends one batch; true if there was one. `link` is the database and the outbox's epoch
/// (read once per connection: it never changes while the process runs).
async fn send_some(
    store: &SqliteStore,
    url: &str,
    shop: &str,
    link: &mut Option<(PgDatabase, String)>,
) -> Result<bool, String> {
    let failed = |e: sheetsight_store::StoreError| with_causes(&e);
    if link.is_none() {
        let opened = PgDatabase::connect(url, 2).await.map_err(failed)?;
        opened.ensure_shop(shop, UnixMillis::now()).await.map_err(failed)?;
        let epoch = store.outbox_epoch().await.map_err(failed)?;
        tracing::info!(%shop, "sending history straight into the hub's database");
        *link = Some((opened, epoch));
    }
    let Some((database, epoch)) = link.as_ref() else { return Ok(false) };
    let forgotten = store.outbox_forgotten().await.map_err(failed)?;
    let rows = store.outbox_after(forgotten, BATCH_ROWS, BATCH_BYTES).await.map_err(failed)?;
    if rows.is_empty() {
        return Ok(false);
    }
    let batch: Vec<(i64, &str)> = rows.iter().map(|r| (r.seq, r.body.as_str())).collect();
    let outcome = database.ingest(shop, epoch, forgotten, &batch, UnixMillis::now()).await.map_err(failed)?;
    if outcome.gap {
        // Cannot happen when sending from the acknowledged position; said if it does.
        return Err(format!("the database's watermark {} is behind the outbox at {forgotten}", outcome.watermark));
    }
    store.outbox_acknowledged(outcome.watermark).await.map_err(failed)?;
    Ok(true)
}
