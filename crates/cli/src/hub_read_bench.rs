//! `sheetsight bench-hub-read`: how fast the hub's dashboard answers with many shops.
//!
//! Fills a throwaway database with `--shops` shops of 20 machines each (shops
//! `read-N`): a state every 10 minutes and a stroke every 12 s per machine since
//! midnight UTC of the day measured, three shifts; shop `read-0` also with `--days` days
//! before it, with a cycle every 2 minutes per machine. The rows are written by SQL
//! (`generate_series`), not through the ingest, so that 25 million strokes take a
//! minute, not hours; the hourly stroke counts are made from them as the ingest makes
//! them. Then it asks the real HTTP API with a platform token, on loopback:
//! `GET /api/v1/overview` of every shop, and `GET /api/v1/shops/read-0/report` of the
//! `--days` days, and prints the median and slowest of `--runs` answers.

use std::time::{Duration, Instant};

use anyhow::Context;
use sheetsight_base::UnixMillis;
use sheetsight_config::ServerConfig;
use sheetsight_server::auth;
use sheetsight_server::hub::HubWeb;
use sheetsight_store::postgres::PgDatabase;
use sheetsight_store::profile::{ProfileMachine, ProfileShift, ShopProfile};

use crate::live::runtime;

/// 2026-10-20 00:00 UTC: the day measured.
const DAY0: i64 = 1_792_454_400_000;
/// The moment the overview is asked for: 10:30 UTC of that day.
const AT: i64 = DAY0 + 10 * 3_600_000 + 1_800_000;
const MACHINES: i64 = 20;

fn profile() -> ShopProfile {
    let shift = |name: &str, start: &str, end: &str| ProfileShift {
        name: name.into(),
        start: start.into(),
        end: end.into(),
        days: [true; 7],
        time_zone: "UTC".into(),
    };
    ShopProfile {
        machines: (0..MACHINES)
            .map(|m| ProfileMachine { id: format!("m{m}"), kind: None, ideal_strokes_per_hour: Some(360.0) })
            .collect(),
        shifts: vec![
            shift("early", "06:00", "14:00"),
            shift("late", "14:00", "22:00"),
            shift("night", "22:00", "06:00"),
        ],
    }
}

/// States, strokes (and cycles) of shops `first..last` from `from` to `to`.
async fn fill(db: &PgDatabase, shops: std::ops::Range<i64>, from: i64, to: i64, cycles: bool) -> anyhow::Result<()> {
    let mut tx = db.scoped("*").await?;
    let bind =
        |q: &'static str| sqlx::query(q).bind(shops.start).bind(shops.end - 1).bind(from).bind(to).bind(MACHINES - 1);
    bind(
        "INSERT INTO machine_state (shop_id, machine, state, start_ms, end_ms, run_id) \
         SELECT 'read-' || s, 'm' || m, \
                (ARRAY['Executing','Executing','Executing','NotExecuting','OutOfService'])[1 + abs(hashtext(s || '/' || m || '/' || t)) % 5], \
                t, CASE WHEN t + 600000 >= $4 THEN NULL ELSE t + 600000 END, 1 \
         FROM generate_series($1::BIGINT, $2::BIGINT) s, generate_series(0, $5::BIGINT) m, \
              generate_series($3::BIGINT, $4::BIGINT - 1, 600000) t",
    )
    .execute(&mut *tx)
    .await
    .context("states")?;
    bind(
        "INSERT INTO stroke (shop_id, machine, start_ms, end_ms, run_id) \
         SELECT 'read-' || s, 'm' || m, t - 800, t, 1 \
         FROM generate_series($1::BIGINT, $2::BIGINT) s, generate_series(0, $5::BIGINT) m, \
              generate_series($3::BIGINT + m * 577, $4::BIGINT - 1, 12000) t",
    )
    .execute(&mut *tx)
    .await
    .context("strokes")?;
    bind(
        "INSERT INTO stroke_hour (shop_id, machine, hour_ms, strokes) \
         SELECT shop_id, machine, end_ms - mod(end_ms, 3600000), count(*) FROM stroke \
         WHERE shop_id IN (SELECT 'read-' || s FROM generate_series($1::BIGINT, $2::BIGINT) s) \
           AND end_ms >= $3 AND end_ms < $4 AND $5 >= 0 GROUP BY 1, 2, 3 \
         ON CONFLICT (shop_id, machine, hour_ms) DO UPDATE SET strokes = stroke_hour.strokes + EXCLUDED.strokes",
    )
    .execute(&mut *tx)
    .await
    .context("hourly stroke counts")?;
    if cycles {
        bind(
            "INSERT INTO cycle (shop_id, machine, start_ms, end_ms, strokes, job, run_id) \
             SELECT 'read-' || s, 'm' || m, t - 110000, t, 9, 'P-' || (t / 3600000 % 7), 1 \
             FROM generate_series($1::BIGINT, $2::BIGINT) s, generate_series(0, $5::BIGINT) m, \
                  generate_series($3::BIGINT + 120000, $4::BIGINT - 1, 120000) t",
        )
        .execute(&mut *tx)
        .await
        .context("cycles")?;
    }
    tx.commit().await.context("committing")?;
    Ok(())
}

/// Median and slowest of `runs` GETs of `url`.
async fn time_get(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    runs: usize,
) -> anyhow::Result<(Duration, Duration, usize)> {
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let r = client.get(url).bearer_auth(token).send().await.with_context(|| url.to_string())?;
        anyhow::ensure!(r.status().is_success(), "{url}: {}", r.status());
        bytes = r.bytes().await?.len();
        times.push(started.elapsed());
    }
    times.sort();
    Ok((times[times.len() / 2], times[times.len() - 1], bytes))
}

pub fn run(database: &str, shops: i64, days: i64, runs: usize) -> anyhow::Result<()> {
    anyhow::ensure!(shops >= 1 && days >= 1, "--shops and --days must be at least 1");
    runtime()?.block_on(async {
        let db = PgDatabase::open(database).await?;
        let history_from = DAY0 - days * 86_400_000;
        db.ensure_partitions(UnixMillis(history_from), UnixMillis(DAY0 + 86_400_000)).await?;
        let (done,): (i64,) = sqlx::query_as("SELECT count(*) FROM shop WHERE id LIKE 'read-%'")
            .fetch_one(db.pool())
            .await?;
        if done != shops {
            anyhow::ensure!(done == 0, "the database holds {done} shops `read-N` of an earlier run: use a new database");
            let started = Instant::now();
            let body = serde_json::to_value(profile())?;
            for s in 0..shops {
                let shop = format!("read-{s}");
                db.add_shop(&shop, &format!("Shop {s}"), UnixMillis(DAY0)).await?;
                let mut tx = db.scoped(&shop).await?;
                sqlx::query("INSERT INTO shop_profile (shop_id, profile, updated_ms) VALUES ($1, $2, $3)")
                    .bind(&shop)
                    .bind(&body)
                    .bind(DAY0)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO alert (shop_id, epoch, edge_id, rule, subject, message, raised_ms) \
                     VALUES ($1, 'bench', 1, 'stopped', 'm3', 'm3 stopped for 20 min', $2)",
                )
                .bind(&shop)
                .bind(AT - 1_200_000)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
            }
            fill(&db, 1..shops, DAY0, AT, false).await?;
            fill(&db, 0..1, history_from, AT, true).await?;
            sqlx::query("ANALYZE").execute(db.pool()).await?;
            println!("filled {shops} shops in {:.0} s", started.elapsed().as_secs_f64());
        }
        let token = auth::random_hex(32).map_err(|e| anyhow::anyhow!(e.message))?;
        let name = format!("bench-{}", UnixMillis::now().0);
        db.add_hub_token(&name, &auth::digest(&token), None, UnixMillis::now()).await?;
        let (stop_tx, stop) = sheetsight_base::shutdown::channel();
        let server = ServerConfig { listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)), ..Default::default() };
        let web = HubWeb::start(db.clone(), server, stop).await?;
        let client = reqwest::Client::new();
        let base = format!("http://{}", web.addr);
        let (median, slowest, bytes) = time_get(&client, &format!("{base}/api/v1/overview?at={AT}"), &token, runs).await?;
        println!(
            "hub overview of {shops} shops × {MACHINES} machines (HTTP, platform token): median {:.0} ms, slowest {:.0} ms of {runs}, {} KiB; target 1000 ms",
            median.as_secs_f64() * 1000.0,
            slowest.as_secs_f64() * 1000.0,
            bytes / 1024
        );
        let to = chrono::DateTime::from_timestamp_millis(DAY0 - 1).context("date")?.date_naive();
        let from = to - chrono::Duration::days(days - 1);
        let url = format!("{base}/api/v1/shops/read-0/report?from={from}&to={to}");
        let (median, slowest, bytes) = time_get(&client, &url, &token, runs).await?;
        println!(
            "hub report of one shop, {days} days × 3 shifts × {MACHINES} machines: median {:.0} ms, slowest {:.0} ms of {runs}, {} KiB; target 500 ms",
            median.as_secs_f64() * 1000.0,
            slowest.as_secs_f64() * 1000.0,
            bytes / 1024
        );
        stop_tx.shut_down();
        web.join().await;
        Ok(())
    })
}
