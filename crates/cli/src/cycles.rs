//! `sheetsight cycles`: the stored cycles of work, with the job each ran for, or (`--stats`)
//! their cycle-time statistics per machine and job against the standards, as a table,
//! CSV or JSON.

use std::path::PathBuf;

use anyhow::Context;
use chrono::{NaiveDate, NaiveTime, TimeZone};
use sheetsight_store::cycle_stats;
use sheetsight_store::report::csv_field as field;
use sheetsight_store::sqlite::SqliteStore;
use sheetsight_store::{CycleFilter, CycleRecord, Query, Store, UnixMillis};

use crate::live::{ReportFormat, history_folder, known_machine, runtime};

pub struct CyclesOptions {
    pub config: PathBuf,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub machine: Option<String>,
    pub job: Option<String>,
    pub format: ReportFormat,
    /// Statistics per machine and job instead of the cycles.
    pub stats: bool,
}

/// Midnight at the start of `date` in `tz`, as wall time.
fn midnight(tz: sheetsight_config::shift::Tz, date: NaiveDate) -> UnixMillis {
    let local = date.and_time(NaiveTime::MIN);
    tz.from_local_datetime(&local).earliest().map_or_else(|| UnixMillis::from(local.and_utc()), UnixMillis::from)
}

fn table(cycles: &[CycleRecord]) -> String {
    let mut out = format!(
        "{:>8} {:<12} {:<20} {:<24} {:>10} {:>7}  {}\n",
        "id", "machine", "job", "end", "duration s", "strokes", "operator"
    );
    for c in cycles {
        out += &format!(
            "{:>8} {:<12} {:<20} {:<24} {:>10.1} {:>7}  {}\n",
            c.id,
            c.machine,
            c.job.as_deref().unwrap_or("-"),
            c.end.rfc3339(),
            (c.end - c.start) as f64 / 1000.0,
            c.strokes,
            c.operator.as_deref().unwrap_or("-")
        );
    }
    out + &format!("{} cycles\n", cycles.len())
}

fn csv(cycles: &[CycleRecord]) -> String {
    let mut out = String::from("id,machine,job,operator,start,end,duration_s,strokes\n");
    for c in cycles {
        out += &format!(
            "{},{},{},{},{},{},{:.3},{}\n",
            c.id,
            field(&c.machine),
            field(c.job.as_deref().unwrap_or("")),
            field(c.operator.as_deref().unwrap_or("")),
            c.start.rfc3339(),
            c.end.rfc3339(),
            (c.end - c.start) as f64 / 1000.0,
            c.strokes
        );
    }
    out
}

/// Runs `cycles`: the days `from..=to` in the first shift's time zone (UTC without
/// shifts).
pub fn cycles(o: &CyclesOptions) -> anyhow::Result<bool> {
    anyhow::ensure!(o.from <= o.to, "--from {} is after --to {}", o.from, o.to);
    let config = sheetsight_config::load(&o.config)?;
    let machine = o.machine.as_deref().map(|m| known_machine(&config, m)).transpose()?;
    let tz = config.shifts_or_whole_days()[0].time_zone;
    let next_day = o.to.succ_opt().context("--to is the last date there is")?;
    let query = Query { from: midnight(tz, o.from), to: midnight(tz, next_day), key: machine };
    let data_dir = history_folder(&config)?;
    let (cycles, standards) = runtime()?.block_on(async {
        let store = SqliteStore::open(data_dir).await.with_context(|| format!("history in {}", data_dir.display()))?;
        let filter = CycleFilter { query, job: o.job.clone(), ..CycleFilter::default() };
        let mut cycles = store.cycles(&filter).await?;
        cycles.reverse(); // in the order they ended
        let standards = store.standards(o.machine.as_deref()).await?;
        store.close().await;
        anyhow::Ok((cycles, standards))
    })?;
    let text = if o.stats {
        let rows = cycle_stats::compute(&cycles, &standards);
        o.format.render(&rows, cycle_stats::table, cycle_stats::csv)?
    } else {
        o.format.render(&cycles, table, csv)?
    };
    print!("{text}");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_it() {
        let c = CycleRecord {
            id: 7,
            machine: "brake-1".into(),
            start: UnixMillis(1_000),
            end: UnixMillis(31_500),
            strokes: 4,
            job: Some("PN \"7\", left".into()),
            operator: None,
        };
        assert_eq!(
            csv(&[c]).lines().nth(1),
            Some("7,brake-1,\"PN \"\"7\"\", left\",,1970-01-01T00:00:01.000Z,1970-01-01T00:00:31.500Z,30.500,4")
        );
    }
}
