//! Alerts to the group robots of the chat apps Chinese shops already use: WeCom (企业微信),
//! DingTalk (钉钉, with its 加签 signature) and Feishu / Lark (飞书, with its signature),
//! each in its own message format and in the configured language, beside the generic
//! JSON webhook.
//!
//! Building a request ([`request`]) is pure: the robot, the text and the time give the
//! URL and body, signature included, so that the formats are tested without a network.
//! [`send`] posts it and reads the robot's own answer (`errcode` / `code` 0), since these
//! robots answer 200 to a refused message.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use sheetsight_base::time::UnixMillis;
use sheetsight_config::{AlertCondition, AlertsConfig, Config, Language, RobotConfig};
use sheetsight_store::site::AlertRecord;
use sheetsight_vision::state::MachineState;

/// Attempts per message before it is given up (the alert stays in the dashboard).
const ATTEMPTS: u32 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum App {
    WeCom,
    DingTalk,
    Feishu,
}

impl App {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WeCom => "wecom",
            Self::DingTalk => "dingtalk",
            Self::Feishu => "feishu",
        }
    }
}

/// The robots configured in `[alerts]`.
pub fn robots(alerts: &AlertsConfig) -> Vec<(App, RobotConfig)> {
    [(App::WeCom, &alerts.wecom), (App::DingTalk, &alerts.dingtalk), (App::Feishu, &alerts.feishu)]
        .into_iter()
        .filter_map(|(app, r)| r.clone().map(|r| (app, r)))
        .collect()
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// DingTalk's 加签: Base64 of HMAC-SHA256 keyed with the secret over
/// `"{timestamp_ms}\n{secret}"` (URL-encoded by the caller).
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    base64(&hmac_sha256(secret.as_bytes(), format!("{timestamp_ms}\n{secret}").as_bytes()))
}

/// Feishu's signature: Base64 of HMAC-SHA256 keyed with `"{timestamp_s}\n{secret}"` over
/// nothing.
pub fn feishu_sign(secret: &str, timestamp_s: i64) -> String {
    base64(&hmac_sha256(format!("{timestamp_s}\n{secret}").as_bytes(), b""))
}

/// A message to people: a title and Markdown lines.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub title: String,
    pub lines: Vec<String>,
}

impl Message {
    fn plain(&self) -> String {
        std::iter::once(self.title.clone()).chain(self.lines.iter().cloned()).collect::<Vec<_>>().join("\n")
    }

    fn markdown(&self) -> String {
        std::iter::once(format!("### {}", self.title))
            .chain(self.lines.iter().cloned())
            .collect::<Vec<_>>()
            .join("\n\n")
    }
}

/// The URL and JSON body of `message` to `robot` of `app` at `now`.
pub fn request(app: App, robot: &RobotConfig, message: &Message, now: UnixMillis) -> (String, Value) {
    match app {
        App::WeCom => (robot.url.clone(), json!({"msgtype": "markdown", "markdown": {"content": message.markdown()}})),
        App::DingTalk => {
            let mut url = robot.url.clone();
            if let Some(secret) = &robot.secret {
                let ms = now.as_i64();
                let sign: String = url::form_urlencoded::byte_serialize(dingtalk_sign(secret, ms).as_bytes()).collect();
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str(&format!("timestamp={ms}&sign={sign}"));
            }
            (url, json!({"msgtype": "markdown", "markdown": {"title": message.title, "text": message.markdown()}}))
        }
        App::Feishu => {
            let mut body = json!({"msg_type": "text", "content": {"text": message.plain()}});
            if let Some(secret) = &robot.secret {
                let s = now.as_i64().div_euclid(1000);
                body["timestamp"] = Value::String(s.to_string());
                body["sign"] = Value::String(feishu_sign(secret, s));
            }
            (robot.url.clone(), body)
        }
    }
}

/// Whether the robot's answer says the message was taken (they answer HTTP 200 either way).
pub fn accepted(app: App, answer: &Value) -> bool {
    let code = match app {
        App::WeCom | App::DingTalk => &answer["errcode"],
        App::Feishu => {
            if answer.get("code").is_some() {
                &answer["code"]
            } else {
                &answer["StatusCode"]
            }
        }
    };
    code.as_i64() == Some(0)
}

fn state_name(state: MachineState, lang: Language) -> &'static str {
    match (lang, state) {
        (Language::En, MachineState::Executing) => "running",
        (Language::En, MachineState::NotExecuting) => "standing",
        (Language::En, MachineState::OutOfService) => "in fault",
        (Language::En, MachineState::NotAvailable) => "not visible",
        (Language::Zh, MachineState::Executing) => "运行中",
        (Language::Zh, MachineState::NotExecuting) => "待机",
        (Language::Zh, MachineState::OutOfService) => "故障",
        (Language::Zh, MachineState::NotAvailable) => "不可见",
    }
}

fn minutes_text(minutes: f64, lang: Language) -> String {
    match lang {
        Language::En if minutes < 1.0 => format!("{:.0} s", minutes * 60.0),
        Language::En => format!("{minutes:.0} min"),
        Language::Zh if minutes < 1.0 => format!("{:.0} 秒", minutes * 60.0),
        Language::Zh => format!("{minutes:.0} 分钟"),
    }
}

/// What people read of an alert's `change` (`raised`, `cleared`, `acknowledged`), in
/// the configured language; the rule (by its name in `config`) says what it watches.
pub fn alert_message(config: &Config, change: &str, alert: &AlertRecord) -> Message {
    let lang = config.alerts.language.unwrap_or(Language::En);
    let rule = config.alerts.rules.iter().find(|r| r.name == alert.rule);
    let subject = &alert.subject;
    let what = match rule.map(|r| (&r.condition, r.minutes)) {
        Some((AlertCondition::MachineState { states }, minutes)) => {
            // The stored message names the state it saw.
            let state = states.iter().copied().find(|s| alert.message.contains(s.as_str()));
            let time = minutes_text(minutes, lang);
            match (lang, state) {
                (Language::En, Some(s)) => format!("{subject} has been {} for {time}", state_name(s, lang)),
                (Language::Zh, Some(s)) => format!("{subject} 已{}超过 {time}", state_name(s, lang)),
                (_, None) => alert.message.clone(),
            }
        }
        Some((AlertCondition::CameraDown, minutes)) => match lang {
            Language::En => format!("camera {subject} has been down for {}", minutes_text(minutes, lang)),
            Language::Zh => format!("摄像头 {subject} 已断开超过 {}", minutes_text(minutes, lang)),
        },
        Some((AlertCondition::RecordingFailed, minutes)) => match lang {
            Language::En => format!(
                "the recording of camera {subject} has failed for {} (analysis goes on)",
                minutes_text(minutes, lang)
            ),
            Language::Zh => format!("摄像头 {subject} 录像失败已超过 {}（分析照常进行）", minutes_text(minutes, lang)),
        },
        None => alert.message.clone(),
    };
    let title = match (lang, change) {
        (Language::En, "raised") => "SheetSight alert".to_string(),
        (Language::En, "cleared") => "SheetSight alert cleared".to_string(),
        (Language::En, _) => "SheetSight alert acknowledged".to_string(),
        (Language::Zh, "raised") => "SheetSight 告警".to_string(),
        (Language::Zh, "cleared") => "SheetSight 告警已解除".to_string(),
        (Language::Zh, _) => "SheetSight 告警已确认".to_string(),
    };
    let mut lines = vec![what];
    if change == "acknowledged"
        && let Some(by) = &alert.acked_by
    {
        lines.push(match lang {
            Language::En => format!("acknowledged by {by}"),
            Language::Zh => format!("确认人：{by}"),
        });
    }
    let raised = alert.raised_ms.rfc3339();
    lines.push(match lang {
        Language::En => format!("raised {raised} · rule {}", alert.rule),
        Language::Zh => format!("发生于 {raised} · 规则 {}", alert.rule),
    });
    Message { title, lines }
}

/// The request of a picture (PNG) to `robot` of `app`, for the apps whose group robots
/// take one: WeCom (Base64 and MD5 of the PNG, at most 2 MB). DingTalk's and Feishu's
/// robots take pictures only by a public URL or an uploaded key, so they get the text.
pub fn picture_request(app: App, robot: &RobotConfig, png: &[u8]) -> Option<(String, Value)> {
    use md5::Digest;
    match app {
        App::WeCom if png.len() <= 2 * 1024 * 1024 => {
            let md5: String = md5::Md5::digest(png).iter().map(|b| format!("{b:02x}")).collect();
            Some((robot.url.clone(), json!({"msgtype": "image", "image": {"base64": base64(png), "md5": md5}})))
        }
        _ => None,
    }
}

/// Posts `message` to every configured robot, each on its own task, retrying.
pub fn deliver(config: &Config, message: Message) {
    deliver_with_picture(config, message, None);
}

/// Posts `message` to every configured robot, then `png` to those that take pictures.
pub fn deliver_with_picture(config: &Config, message: Message, png: Option<std::sync::Arc<Vec<u8>>>) {
    for (app, robot) in robots(&config.alerts) {
        let message = message.clone();
        let png = png.clone();
        tokio::spawn(async move {
            let text = send(app, &robot, |now| request(app, &robot, &message, now)).await;
            if let (true, Some(png)) = (text, png)
                && let Some(picture) = picture_request(app, &robot, &png)
            {
                send(app, &robot, |_| picture.clone()).await;
            }
        });
    }
}

/// Posts the request `build` makes for the time of each attempt (the robots refuse old
/// signatures), with backoff; gives up after [`ATTEMPTS`]. Whether it was taken.
pub async fn send(app: App, robot: &RobotConfig, build: impl Fn(UnixMillis) -> (String, Value)) -> bool {
    let client = match reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the robot client");
            return false;
        }
    };
    let mut wait = Duration::from_secs(1);
    for attempt in 1..=ATTEMPTS {
        let (url, body) = build(UnixMillis::now());
        match client.post(&url).json(&body).send().await {
            Ok(r) if r.status().is_success() => {
                let answer: Value = r.json().await.unwrap_or(Value::Null);
                if accepted(app, &answer) {
                    return true;
                }
                tracing::warn!(robot = app.as_str(), %answer, attempt, "the group robot refused the message");
            }
            Ok(r) => tracing::warn!(robot = app.as_str(), status = %r.status(), attempt, "the group robot refused"),
            Err(e) => tracing::warn!(robot = app.as_str(), error = %e, attempt, "the group robot is unreachable"),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
    tracing::error!(robot = app.as_str(), url = %robot.url.split('?').next().unwrap_or_default(), "the group robot failed {ATTEMPTS} times; the message is given up");
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_apps_published_algorithms() {
        // Computed with Python's hmac, base64 and urllib, as the apps' documentation does.
        assert_eq!(
            dingtalk_sign("SEC0123456789abcdef", 1_764_979_200_000),
            "kReSDsajaqQlvSipAG7UOApLvB6er4FDgf+iS/18NIw="
        );
        assert_eq!(feishu_sign("feishu-secret", 1_764_979_200), "qtTST8XaJ34qacb8v+YGRY58uKu3CGHU4S8LaTXJUAE=");
    }

    #[test]
    fn each_app_gets_its_own_format() {
        let message =
            Message { title: "SheetSight 告警".into(), lines: vec!["brake-1 已故障超过 10 分钟".into()] };
        let now = UnixMillis(1_764_979_200_000);
        let robot = |url: &str, secret: Option<&str>| RobotConfig { url: url.into(), secret: secret.map(Into::into) };
        let (url, body) = request(App::WeCom, &robot("http://w/send?key=k", None), &message, now);
        assert_eq!(url, "http://w/send?key=k");
        assert_eq!(
            body,
            json!({"msgtype": "markdown", "markdown": {"content": "### SheetSight 告警\n\nbrake-1 已故障超过 10 分钟"}})
        );
        let (url, body) = request(
            App::DingTalk,
            &robot("http://d/robot/send?access_token=t", Some("SEC0123456789abcdef")),
            &message,
            now,
        );
        assert_eq!(
            url,
            "http://d/robot/send?access_token=t&timestamp=1764979200000&sign=kReSDsajaqQlvSipAG7UOApLvB6er4FDgf%2BiS%2F18NIw%3D"
        );
        assert_eq!(body["msgtype"], "markdown");
        assert_eq!(body["markdown"]["title"], "SheetSight 告警");
        let (_, body) = request(App::Feishu, &robot("http://f/hook/x", Some("feishu-secret")), &message, now);
        assert_eq!(
            body,
            json!({"msg_type": "text", "content": {"text": "SheetSight 告警\nbrake-1 已故障超过 10 分钟"},
                   "timestamp": "1764979200", "sign": "qtTST8XaJ34qacb8v+YGRY58uKu3CGHU4S8LaTXJUAE="})
        );
        assert!(accepted(App::Feishu, &json!({"code": 0, "msg": "success"})));
        assert!(!accepted(
            App::Feishu,
            &json!({"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"})
        ));
        assert!(!accepted(App::DingTalk, &json!({"errcode": 310000, "errmsg": "sign not match"})));
        assert!(accepted(App::WeCom, &json!({"errcode": 0, "errmsg": "ok"})));
    }
}
