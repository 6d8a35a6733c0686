//! A shop's profile: what a hub needs, beside the history, to read that history as the
//! shop does: its machines (with their ideal stroke rates) and its shifts. The edge puts
//! it into the outbox at every start ([`crate::outbox::Change::Profile`]); the hub keeps
//! the latest one per shop. Standard work, regions and cameras stay on the edge.
//!
//! Invariant: [`ShopProfile::of`] followed by [`ShopProfile::shifts`] gives back the
//! configured shifts exactly (tested), so the hub's windows are the edge's windows.

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};
use sheetsight_config::Config;
use sheetsight_config::shift::{Shift, Tz};

/// A machine as the hub's figures need it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfileMachine {
    pub id: String,
    /// `laser`, `press_brake`, ... when configured.
    pub kind: Option<String>,
    pub ideal_strokes_per_hour: Option<f64>,
}

/// A shift as configured: times `HH:MM`, days Monday first, an IANA zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfileShift {
    pub name: String,
    pub start: String,
    pub end: String,
    pub days: [bool; 7],
    pub time_zone: String,
}

impl ProfileShift {
    /// The shift, if its times and zone can be read.
    fn read(&self) -> Option<Shift> {
        let time = |t: &str| NaiveTime::parse_from_str(t, "%H:%M").ok();
        Some(Shift {
            name: self.name.clone(),
            start: time(&self.start)?,
            end: time(&self.end)?,
            days: self.days,
            time_zone: self.time_zone.parse::<Tz>().ok()?,
        })
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShopProfile {
    pub machines: Vec<ProfileMachine>,
    /// Empty: whole UTC days, as on the edge.
    pub shifts: Vec<ProfileShift>,
}

impl ShopProfile {
    /// The profile of a shop's configuration.
    pub fn of(config: &Config) -> Self {
        Self {
            machines: config
                .machines
                .iter()
                .map(|m| ProfileMachine {
                    id: m.id.clone(),
                    kind: m.kind.map(|k| k.as_str().to_string()),
                    ideal_strokes_per_hour: m.ideal_strokes_per_hour,
                })
                .collect(),
            shifts: config
                .shifts
                .iter()
                .map(|s| ProfileShift {
                    name: s.name.clone(),
                    start: s.start.format("%H:%M").to_string(),
                    end: s.end.format("%H:%M").to_string(),
                    days: s.days,
                    time_zone: s.time_zone.name().to_string(),
                })
                .collect(),
        }
    }

    /// The shifts, or one whole UTC day without any (as [`Config::shifts_or_whole_days`]).
    /// A shift this version cannot read (an unknown zone from a newer edge) is left out
    /// and named in the log.
    pub fn shifts(&self) -> Vec<Shift> {
        let read: Vec<Shift> = self
            .shifts
            .iter()
            .filter_map(|s| {
                let shift = s.read();
                if shift.is_none() {
                    tracing::warn!(shift = %s.name, "a shop's shift cannot be read; it is left out");
                }
                shift
            })
            .collect();
        if read.is_empty() { Config::whole_days() } else { read }
    }

    /// Machine ids with their ideal stroke rates, in the shop's order.
    pub fn ideal_rates(&self) -> Vec<(String, Option<f64>)> {
        self.machines.iter().map(|m| (m.id.clone(), m.ideal_strokes_per_hour)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_gives_back_the_configured_shifts_and_machines() {
        let config = sheetsight_config::parse(
            std::path::Path::new("shop.toml"),
            r#"
            [[camera]]
            id = "cam"
            source = "rtsp://127.0.0.1:1/x"
            [[machine]]
            id = "press-1"
            camera = "cam"
            kind = "press_brake"
            ideal_strokes_per_hour = 240
            [[machine.lamp]]
            color = "green"
            roi = [[1, 1], [5, 1], [5, 5]]
            [[shift]]
            name = "night"
            start = "22:00"
            end = "06:00"
            days = ["mon", "fri"]
            time_zone = "Asia/Shanghai"
            "#,
        )
        .expect("config");
        let profile = ShopProfile::of(&config);
        let back: ShopProfile = serde_json::from_str(&serde_json::to_string(&profile).expect("json")).expect("read");
        assert_eq!(back.shifts(), config.shifts);
        assert_eq!(back.ideal_rates(), config.ideal_rates());
        assert_eq!(back.machines[0].kind.as_deref(), Some("press_brake"));
        assert_eq!(ShopProfile::default().shifts(), Config::whole_days());
    }

    #[test]
    fn a_shift_in_an_unknown_zone_is_left_out() {
        let mut profile = ShopProfile::default();
        profile.shifts.push(ProfileShift {
            name: "x".into(),
            start: "06:00".into(),
            end: "14:00".into(),
            days: [true; 7],
            time_zone: "Mars/Olympus".into(),
        });
        assert_eq!(profile.shifts(), Config::whole_days());
    }
}
