//! `[alerts]` and `[[alert]]`: when a long stop, a dead camera or a failing recording
//! raises an alert, and the webhook and group robots that hear of it.
//!
//! ```toml
//! [alerts]
//! webhook = "http://mes.local/hooks/sheetsight"   # JSON of the alert, for programs
//! language = "zh"                                  # en | zh: the robots' messages (default en)
//! wecom = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=..."     # 企业微信 group robot
//! dingtalk = "https://oapi.dingtalk.com/robot/send?access_token=..."     # 钉钉 group robot
//! dingtalk_secret = "SEC..."                       # its 加签 secret, if set
//! feishu = "https://open.feishu.cn/open-apis/bot/v2/hook/..."            # 飞书 / Lark group robot
//! feishu_secret = "..."                            # its signature secret, if set
//! summary_at = ["08:00", "20:00"]                  # the shift or daily summary to the robots and
//!                                                  # the webhook, covering the time since the
//!                                                  # previous one (first shift's time zone)
//!
//! [[alert]]
//! name = "long-stop"
//! when = "machine_state"         # or "camera_down", "recording_failed"
//! states = ["OutOfService", "NotExecuting"]
//! minutes = 10                   # above 0, at most a week
//! machines = ["brake-1"]         # default: every machine (camera_down, recording_failed: `cameras`)
//! ```
//!
//! That the listed machines and cameras exist is checked with the other references
//! ([`crate::references`]).

use serde::Deserialize;
use sheetsight_vision::state::MachineState;
use toml::Spanned;

use crate::diagnostics::Checker;
use crate::state_rules::check_state;

/// Longest time a rule may wait, in minutes: a week.
const MAX_MINUTES: f64 = 7.0 * 24.0 * 60.0;
const CONDITIONS: [&str; 3] = ["machine_state", "camera_down", "recording_failed"];

#[derive(Clone, Debug, PartialEq)]
pub enum AlertCondition {
    /// A machine in one of `states` for longer than the rule's time, inside a shift when
    /// shifts are configured.
    MachineState { states: Vec<MachineState> },
    /// A camera not `streaming` for longer than the rule's time.
    CameraDown,
    /// A recording camera whose video cannot be written (a full or failing disk) for
    /// longer than the rule's time.
    RecordingFailed,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AlertRule {
    pub name: String,
    pub condition: AlertCondition,
    pub minutes: f64,
    /// Machine (or camera) ids the rule watches; empty: all.
    pub subjects: Vec<String>,
}

sheetsight_base::named_enum! {
    /// The language of messages to people (the group robots).
    pub enum Language("language") {
        En = "en",
        Zh = "zh",
    }
}

/// A group robot of a chat app and its optional signing secret.
#[derive(Clone, Debug, PartialEq)]
pub struct RobotConfig {
    pub url: String,
    pub secret: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertsConfig {
    pub webhook: Option<String>,
    pub rules: Vec<AlertRule>,
    pub language: Option<Language>,
    pub wecom: Option<RobotConfig>,
    pub dingtalk: Option<RobotConfig>,
    pub feishu: Option<RobotConfig>,
    /// Local times (in the first shift's zone) at which the summary is sent, ascending.
    pub summary_at: Vec<chrono::NaiveTime>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlerts {
    webhook: Option<Spanned<String>>,
    language: Option<Spanned<String>>,
    wecom: Option<Spanned<String>>,
    dingtalk: Option<Spanned<String>>,
    dingtalk_secret: Option<Spanned<String>>,
    feishu: Option<Spanned<String>>,
    feishu_secret: Option<Spanned<String>>,
    summary_at: Option<Spanned<Vec<Spanned<String>>>>,
}

/// An `http://` or `https://` URL at `key`.
fn url(c: &Checker<'_>, raw: &Spanned<String>, key: &str) -> String {
    if !(raw.get_ref().starts_with("http://") || raw.get_ref().starts_with("https://")) {
        c.report(raw.span(), key, "this must be an http:// or https:// URL");
    }
    raw.get_ref().clone()
}

/// A robot's URL and secret; a secret without its robot is reported.
fn robot(
    c: &Checker<'_>,
    name: &str,
    raw_url: Option<&Spanned<String>>,
    secret: Option<&Spanned<String>>,
) -> Option<RobotConfig> {
    if let (None, Some(s)) = (raw_url, secret) {
        c.report(s.span(), format!("alerts.{name}_secret"), format!("a secret without `alerts.{name}`"));
    }
    let url = url(c, raw_url?, &format!("alerts.{name}"));
    Some(RobotConfig { url, secret: secret.map(|s| s.get_ref().clone()).filter(|s| !s.is_empty()) })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlertRule {
    name: Spanned<String>,
    when: Spanned<String>,
    states: Option<Spanned<Vec<Spanned<String>>>>,
    minutes: Spanned<f64>,
    pub machines: Option<Spanned<Vec<Spanned<String>>>>,
    pub cameras: Option<Spanned<Vec<Spanned<String>>>>,
}

pub(crate) fn check_alerts(
    c: &Checker<'_>,
    raw: Option<&RawAlerts>,
    rules: &[Option<Spanned<RawAlertRule>>],
) -> AlertsConfig {
    let webhook = raw.and_then(|r| r.webhook.as_ref()).map(|w| url(c, w, "alerts.webhook"));
    let language = raw
        .and_then(|r| r.language.as_ref())
        .and_then(|l| c.choice(l, "alerts.language", "language", &Language::NAMES));
    let wecom = raw.and_then(|r| robot(c, "wecom", r.wecom.as_ref(), None));
    let dingtalk = raw.and_then(|r| robot(c, "dingtalk", r.dingtalk.as_ref(), r.dingtalk_secret.as_ref()));
    let feishu = raw.and_then(|r| robot(c, "feishu", r.feishu.as_ref(), r.feishu_secret.as_ref()));
    let mut out: Vec<AlertRule> = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let Some(rule) = rule else { continue };
        let rule = rule.get_ref();
        let at = format!("alert[{i}]");
        if rule.name.get_ref().is_empty() || out.iter().any(|r| &r.name == rule.name.get_ref()) {
            c.report(rule.name.span(), format!("{at}.name"), "alert names must be given and differ");
        }
        if let Some(condition) = check_condition(c, &at, rule) {
            let subjects = match condition {
                AlertCondition::MachineState { .. } => &rule.machines,
                AlertCondition::CameraDown | AlertCondition::RecordingFailed => &rule.cameras,
            };
            out.push(AlertRule {
                name: rule.name.get_ref().clone(),
                condition,
                minutes: check_minutes(c, &at, &rule.minutes),
                subjects: subjects.iter().flat_map(|l| l.get_ref()).map(|s| s.get_ref().clone()).collect(),
            });
        }
    }
    let summary_at = raw.and_then(|r| r.summary_at.as_ref()).map_or_else(Vec::new, |times| check_times(c, times));
    AlertsConfig { webhook, rules: out, language, wecom, dingtalk, feishu, summary_at }
}

/// `HH:MM` times of day, each once, in ascending order.
fn check_times(c: &Checker<'_>, times: &Spanned<Vec<Spanned<String>>>) -> Vec<chrono::NaiveTime> {
    let mut out: Vec<chrono::NaiveTime> = Vec::new();
    for t in times.get_ref() {
        match chrono::NaiveTime::parse_from_str(t.get_ref(), "%H:%M") {
            Ok(time) if !out.contains(&time) => out.push(time),
            Ok(_) => c.report(t.span(), "alerts.summary_at", format!("`{}` is given twice", t.get_ref())),
            Err(_) => {
                c.report(t.span(), "alerts.summary_at", format!("`{}` is not a time of day (HH:MM)", t.get_ref()))
            }
        }
    }
    if times.get_ref().len() > 24 {
        c.report(times.span(), "alerts.summary_at", "at most 24 summaries a day");
    }
    out.sort();
    out
}

fn check_minutes(c: &Checker<'_>, at: &str, minutes: &Spanned<f64>) -> f64 {
    let m = *minutes.get_ref();
    if !(m.is_finite() && m > 0.0 && m <= MAX_MINUTES) {
        c.report(minutes.span(), format!("{at}.minutes"), "minutes must be above 0 and at most a week");
    }
    m
}

/// The rule's condition, and that it has only the keys its condition takes.
fn check_condition(c: &Checker<'_>, at: &str, rule: &RawAlertRule) -> Option<AlertCondition> {
    let key = |k: &str| format!("{at}.{k}");
    let condition = match rule.when.get_ref().as_str() {
        "machine_state" => {
            if let Some(cameras) = &rule.cameras {
                c.report(cameras.span(), key("cameras"), "a machine_state rule takes `machines`");
            }
            let Some(raw_states) = &rule.states else {
                c.report(rule.when.span(), key("states"), "list the `states` this rule watches");
                return None;
            };
            // Every state is checked before one that failed gives up the rule.
            let states: Vec<Option<MachineState>> =
                raw_states.get_ref().iter().map(|s| check_state(c, s, &key("states"))).collect();
            AlertCondition::MachineState { states: states.into_iter().collect::<Option<_>>()? }
        }
        when @ ("camera_down" | "recording_failed") => {
            if let Some(s) = &rule.states {
                c.report(s.span(), key("states"), format!("a {when} rule has no states"));
            }
            if let Some(m) = &rule.machines {
                c.report(m.span(), key("machines"), format!("a {when} rule takes `cameras`"));
            }
            if when == "camera_down" { AlertCondition::CameraDown } else { AlertCondition::RecordingFailed }
        }
        _ => {
            c.unknown_word(&rule.when, &key("when"), "condition", &CONDITIONS);
            return None;
        }
    };
    Some(condition)
}
