//! How fast stored cycles are listed: fills a history with 1,000,000 cycles (20 machines,
//! 500 jobs, one cycle a minute per machine) and times the listings the API and
//! `sheetsight cycles` make. `cargo run --release -p sheetsight-store --example cycle_list_bench`

use std::time::Instant;

use sheetsight_store::sqlite::{DATABASE_FILE, SqliteStore};
use sheetsight_store::{CycleFilter, Query, Store, UnixMillis};

const CYCLES: i64 = 1_000_000;

/// Median milliseconds of `runs` listings by `filter`, and how many cycles one returned.
async fn time(
    store: &SqliteStore,
    filter: &CycleFilter,
    runs: usize,
) -> Result<(f64, usize), Box<dyn std::error::Error>> {
    let mut ms = Vec::new();
    let mut found = 0;
    for _ in 0..runs {
        let started = Instant::now();
        found = store.cycles(filter).await?.len();
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    Ok((ms[ms.len() / 2], found))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(dir.path()).await?;
    let run = store.begin_run(UnixMillis(0), "bench").await?;
    // Filled straight through SQL: the benchmark is of the listing, not of writing.
    let filled = Instant::now();
    let url = format!("sqlite://{}", dir.path().join(DATABASE_FILE).display());
    let pool = sqlx::SqlitePool::connect(&url).await?;
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1) \
         INSERT INTO cycle (machine, start_ms, end_ms, strokes, job, operator, run_id) \
         SELECT 'machine-' || (i % 20), (i / 20) * 60000, (i / 20) * 60000 + 45000, 4, 'PN-' || (i % 500), 'op', ? FROM n",
    )
    .bind(CYCLES)
    .bind(run)
    .execute(&pool)
    .await?;
    pool.close().await;
    println!("{CYCLES} cycles stored in {:.1} s", filled.elapsed().as_secs_f64());

    let all = Query { from: UnixMillis::EPOCH, to: UnixMillis::MAX, key: None };
    let page = |job: Option<&str>, machine: Option<&str>, offset: u64| CycleFilter {
        query: Query { key: machine.map(String::from), ..all.clone() },
        job: job.map(String::from),
        limit: Some(101),
        offset,
    };
    for (what, filter) in [
        ("newest 100 of one job", page(Some("PN-7"), None, 0)),
        ("last page of one job (offset 1900)", page(Some("PN-7"), None, 1900)),
        ("newest 100 of one job on one machine", page(Some("PN-7"), Some("machine-7"), 0)),
        ("newest 100 of one machine", page(None, Some("machine-3"), 0)),
        ("newest 100 of all", page(None, None, 0)),
        ("every cycle of one job (2000)", CycleFilter { limit: None, ..page(Some("PN-42"), None, 0) }),
    ] {
        let (ms, n) = time(&store, &filter, 21).await?;
        println!("{what}: {n} cycles in {ms:.2} ms (median of 21)");
    }
    store.close().await;
    Ok(())
}
