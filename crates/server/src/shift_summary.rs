//! The shift or daily summary, sent at the times of `[alerts] summary_at` to the group
//! robots and the webhook: per machine availability, OEE, strokes and the longest stop
//! with its reason, and a chart picture (PNG) where the receiver takes one (WeCom, the
//! webhook). Each summary covers the time since the previous configured time (a single
//! time: the last 24 hours). The period, message and picture are pure; [`scheduler`]
//! sends when due and `POST /api/v1/summary/send` sends at once.

use std::sync::Arc;

use chrono::{NaiveTime, TimeZone};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sheetsight_base::time::UnixMillis;
use sheetsight_config::shift::Tz;
use sheetsight_config::{Config, Language, ShiftWindow};
use sheetsight_store::summary::{self, Summary};

use crate::AppState;
use crate::chat_robots::{self, Message};
use crate::error::{ApiError, ApiResult};

const DAY_MS: i64 = 24 * 3_600_000;

/// The zone `summary_at` is read in: the first shift's (UTC without shifts).
pub fn time_zone(config: &Config) -> Tz {
    config.shifts.first().map_or(Tz::UTC, |s| s.time_zone)
}

/// The instants of `times` on the local days around `at`, ascending.
fn instants(times: &[NaiveTime], tz: Tz, at: UnixMillis) -> Vec<UnixMillis> {
    let Some(day) = at.to_datetime().map(|t| t.with_timezone(&tz).date_naive()) else { return Vec::new() };
    let mut out: Vec<UnixMillis> = (-2..=1)
        .filter_map(|d| day.checked_add_signed(chrono::Duration::days(d)))
        .flat_map(|date| times.iter().map(move |t| date.and_time(*t)))
        .filter_map(|local| tz.from_local_datetime(&local).earliest())
        .map(|t| UnixMillis(t.timestamp_millis()))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The first summary time after `now`.
pub fn next_after(times: &[NaiveTime], tz: Tz, now: UnixMillis) -> Option<UnixMillis> {
    instants(times, tz, now).into_iter().find(|t| *t > now)
}

/// The period a summary sent at `end` covers: from the configured time before it (at
/// most 24 hours back), or the last 24 hours without one.
pub fn period_ending(times: &[NaiveTime], tz: Tz, end: UnixMillis) -> (UnixMillis, UnixMillis) {
    let start = instants(times, tz, end)
        .into_iter()
        .filter(|t| *t < end && end - *t <= DAY_MS)
        .min_by_key(|t| end - *t)
        .filter(|_| times.len() > 1)
        .unwrap_or(end.plus_ms(-DAY_MS));
    (start, end)
}

/// The summary of `from..to`: the shift windows that overlap it, cut to it.
pub async fn compute(state: &AppState, config: &Config, from: UnixMillis, to: UnixMillis) -> ApiResult<Summary> {
    let (Some(a), Some(b)) = (from.to_datetime(), to.to_datetime()) else {
        return Err(ApiError::bad_request("the period is out of range"));
    };
    let dates = (a.date_naive() - chrono::Duration::days(1), b.date_naive());
    let windows: Vec<ShiftWindow> = config
        .shifts_or_whole_days()
        .iter()
        .flat_map(|s| s.windows(dates.0, dates.1))
        .filter_map(|mut w| {
            w.start = w.start.max(a);
            w.end = w.end.min(b);
            (w.end > w.start).then_some(w)
        })
        .collect();
    let machines: Vec<(String, Option<f64>)> = config.ideal_rates();
    let query = sheetsight_store::Query { from, to, key: None };
    let history = state.store.report_history(&query).await?;
    let notes = state.store.notes(None, from, to).await?;
    Ok(summary::compute(&windows, &machines, &history, &notes, to.min(UnixMillis::now())))
}

fn percent(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), |x| format!("{:.1} %", 100.0 * x))
}

fn minutes(s: f64, lang: Language) -> String {
    let m = (s / 60.0).round() as i64;
    match (lang, m >= 60) {
        (Language::En, true) => format!("{} h {} min", m / 60, m % 60),
        (Language::En, false) => format!("{m} min"),
        (Language::Zh, true) => format!("{} 小时 {} 分钟", m / 60, m % 60),
        (Language::Zh, false) => format!("{m} 分钟"),
    }
}

/// `MM-DD HH:MM–HH:MM` (or with the end's date when it differs) in `tz`.
pub fn period_text(from: UnixMillis, to: UnixMillis, tz: Tz) -> String {
    let local = |t: UnixMillis| t.to_datetime().map(|t| t.with_timezone(&tz));
    match (local(from), local(to)) {
        (Some(a), Some(b)) if a.date_naive() == b.date_naive() => {
            format!("{} {}–{}", a.format("%Y-%m-%d"), a.format("%H:%M"), b.format("%H:%M"))
        }
        (Some(a), Some(b)) => format!("{} – {}", a.format("%Y-%m-%d %H:%M"), b.format("%Y-%m-%d %H:%M")),
        _ => String::new(),
    }
}

/// What people read: a line per machine, the shop's totals, and what the picture shows.
pub fn message(summary: &Summary, period: &str, lang: Language, with_picture: bool) -> Message {
    let mut lines = Vec::new();
    for m in &summary.machines {
        let t = &m.totals;
        let stop = (m.longest_stop_s > 0.0).then(|| {
            let reason = m.longest_stop_reason.clone().unwrap_or_else(|| match lang {
                Language::En => "no reason given".into(),
                Language::Zh => "未填原因".into(),
            });
            (minutes(m.longest_stop_s, lang), reason)
        });
        lines.push(match (lang, stop) {
            (Language::En, Some((d, r))) => format!(
                "**{}**: availability {}, OEE {}, {} strokes, longest stop {d} ({r})",
                m.machine,
                percent(t.availability),
                percent(t.oee),
                t.strokes
            ),
            (Language::En, None) => format!(
                "**{}**: availability {}, OEE {}, {} strokes, no stop",
                m.machine,
                percent(t.availability),
                percent(t.oee),
                t.strokes
            ),
            (Language::Zh, Some((d, r))) => format!(
                "**{}**：开动率 {}，OEE {}，冲程 {}，最长停机 {d}（{r}）",
                m.machine,
                percent(t.availability),
                percent(t.oee),
                t.strokes
            ),
            (Language::Zh, None) => format!(
                "**{}**：开动率 {}，OEE {}，冲程 {}，无停机",
                m.machine,
                percent(t.availability),
                percent(t.oee),
                t.strokes
            ),
        });
    }
    let all = &summary.all;
    lines.push(match lang {
        Language::En => format!(
            "All machines: availability {}, OEE {}, {} strokes; watched {} of the planned time",
            percent(all.availability),
            percent(all.oee),
            all.strokes,
            percent(all.watched_share)
        ),
        Language::Zh => format!(
            "全部设备：开动率 {}，OEE {}，冲程 {}；监看时间占计划时间 {}",
            percent(all.availability),
            percent(all.oee),
            all.strokes,
            percent(all.watched_share)
        ),
    });
    if with_picture {
        lines.push(match lang {
            Language::En => "Picture: availability in blue, OEE in orange, per machine.".into(),
            Language::Zh => "附图：每台设备蓝色为开动率，橙色为 OEE。".into(),
        });
    }
    let title = match lang {
        Language::En => format!("SheetSight summary {period}"),
        Language::Zh => format!("SheetSight 生产汇总 {period}"),
    };
    Message { title, lines }
}

#[derive(Serialize)]
pub struct Sent {
    pub from: String,
    pub to: String,
    /// The robots the summary went to (`wecom`, `dingtalk`, `feishu`).
    pub robots: Vec<&'static str>,
    pub webhook: bool,
    #[serde(flatten)]
    pub summary: Summary,
}

/// Sends the summary of `from..to` to the robots and the webhook (in the background,
/// retried); returns what was sent.
pub async fn send(state: &AppState, from: UnixMillis, to: UnixMillis) -> ApiResult<Sent> {
    let config = state.config();
    let summary = compute(state, &config, from, to).await?;
    let tz = time_zone(&config);
    let period = period_text(from, to, tz);
    let png = Arc::new(crate::summary_picture::render(&summary, &period));
    let lang = config.alerts.language.unwrap_or(Language::En);
    let robots = chat_robots::robots(&config.alerts);
    let with_picture = robots.iter().any(|(app, r)| chat_robots::picture_request(*app, r, &png).is_some());
    chat_robots::deliver_with_picture(&config, message(&summary, &period, lang, with_picture), Some(png.clone()));
    let webhook = config.alerts.webhook.clone();
    if let Some(url) = &webhook {
        let body = json!({
            "type": "summary", "from": from.rfc3339(), "to": to.rfc3339(), "summary": &summary,
            "chart_png_base64": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, png.as_slice()),
        });
        tokio::spawn(crate::alerts::post_webhook(url.clone(), body));
    }
    tracing::info!(from = %from.rfc3339(), to = %to.rfc3339(), robots = robots.len(), webhook = webhook.is_some(), "summary sent");
    Ok(Sent {
        from: from.rfc3339(),
        to: to.rfc3339(),
        robots: robots.iter().map(|(app, _)| app.as_str()).collect(),
        webhook: webhook.is_some(),
        summary,
    })
}

/// Sends each summary when its time comes, until `stop`. The times are read afresh
/// each round, so an edited configuration takes effect.
pub async fn scheduler(state: Arc<AppState>, stop: sheetsight_base::shutdown::Receiver) {
    loop {
        let config = state.config();
        let now = UnixMillis::now();
        let tz = time_zone(&config);
        // Without times, look again in a minute (the configuration may change).
        let due = next_after(&config.alerts.summary_at, tz, now);
        let wait_ms = due.map_or(60_000, |d| (d - now).clamp(0, 60_000));
        tokio::select! {
            _ = stop.wait() => return,
            _ = tokio::time::sleep(std::time::Duration::from_millis(wait_ms as u64)) => {}
        }
        if let Some(due) = due
            && UnixMillis::now() >= due
        {
            let (from, to) = period_ending(&config.alerts.summary_at, tz, due);
            if let Err(e) = send(&state, from, to).await {
                tracing::error!(error = %e.message, "the summary could not be made");
            }
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SendBody {
    /// Start and end, RFC 3339; default: the period that ended last (the last 24 hours
    /// without `summary_at`).
    pub from: Option<String>,
    pub to: Option<String>,
}

/// `POST /api/v1/summary/send`: the summary of a period to the robots and the webhook
/// now, to try the set-up or to send one again.
pub async fn send_now(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    body: Option<axum::Json<SendBody>>,
) -> ApiResult<axum::Json<Sent>> {
    let body = body.map(|b| b.0).unwrap_or_default();
    let time = |s: &Option<String>, name: &str| -> ApiResult<Option<UnixMillis>> {
        s.as_ref()
            .map(|t| {
                chrono::DateTime::parse_from_rfc3339(t)
                    .map(|t| UnixMillis(t.timestamp_millis()))
                    .map_err(|_| ApiError::field(name, format!("`{name}`: `{t}` is not an RFC 3339 time")))
            })
            .transpose()
    };
    let (from, to) = (time(&body.from, "from")?, time(&body.to, "to")?);
    let config = state.config();
    let now = UnixMillis::now();
    let (from, to) = match (from, to) {
        (Some(a), Some(b)) => (a, b),
        (None, None) => {
            let tz = time_zone(&config);
            let last = instants(&config.alerts.summary_at, tz, now).into_iter().filter(|t| *t <= now).max();
            period_ending(&config.alerts.summary_at, tz, last.unwrap_or(now))
        }
        _ => return Err(ApiError::bad_request("give both `from` and `to`, or neither")),
    };
    if !(from < to && to - from <= 31 * DAY_MS) {
        return Err(ApiError::bad_request("`from` must be before `to`, and at most 31 days before it"));
    }
    Ok(axum::Json(send(&state, from, to).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).expect("time")
    }

    fn at(s: &str) -> UnixMillis {
        UnixMillis(chrono::DateTime::parse_from_rfc3339(s).expect("time").timestamp_millis())
    }

    #[test]
    fn each_summary_covers_the_time_since_the_one_before() {
        let times = [t(8, 0), t(20, 0)];
        let tz: Tz = "Asia/Shanghai".parse().expect("zone");
        // 20:00 in Shanghai is 12:00 UTC.
        let now = at("2026-12-04T11:59:00Z");
        let due = next_after(&times, tz, now).expect("due");
        assert_eq!(due, at("2026-12-04T12:00:00Z"));
        assert_eq!(period_ending(&times, tz, due), (at("2026-12-04T00:00:00Z"), due), "the day shift");
        let night = next_after(&times, tz, due).expect("next");
        assert_eq!(night, at("2026-12-05T00:00:00Z"));
        assert_eq!(period_ending(&times, tz, night).0, due, "the night shift");
        // One time a day: the last 24 hours.
        let daily = [t(7, 30)];
        let due = next_after(&daily, Tz::UTC, now).expect("daily");
        assert_eq!(due, at("2026-12-05T07:30:00Z"));
        assert_eq!(period_ending(&daily, Tz::UTC, due).0, at("2026-12-04T07:30:00Z"));
        assert_eq!(next_after(&[], Tz::UTC, now), None);
        assert_eq!(period_text(at("2026-12-04T00:00:00Z"), at("2026-12-04T12:00:00Z"), tz), "2026-12-04 08:00–20:00");
    }

    #[test]
    fn the_message_names_each_machine_its_figures_and_longest_stop() {
        use sheetsight_store::summary::{MachineTotals, Totals};
        let totals = Totals::default();
        let summary = Summary {
            machines: vec![MachineTotals {
                machine: "brake-1".into(),
                totals,
                longest_stop_s: 42.0 * 60.0,
                longest_stop_start: None,
                longest_stop_reason: Some("换模".into()),
            }],
            ..Default::default()
        };
        let m = message(&summary, "2026-12-04 08:00–20:00", Language::Zh, true);
        assert_eq!(m.title, "SheetSight 生产汇总 2026-12-04 08:00–20:00");
        assert_eq!(m.lines[0], "**brake-1**：开动率 –，OEE –，冲程 0，最长停机 42 分钟（换模）");
        assert!(m.lines[2].contains("蓝色为开动率"));
        let m = message(&summary, "p", Language::En, false);
        assert_eq!(m.lines[0], "**brake-1**: availability –, OEE –, 0 strokes, longest stop 42 min (换模)");
        assert_eq!(m.lines.len(), 2);
    }
}
