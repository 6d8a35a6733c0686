//! `[[machine.rule]]` and `otherwise`: how a machine's lamps give its state.
//!
//! ```toml
//! [[machine.rule]]          # optional; first match wins
//! state = "OutOfService"
//! color = "red"             # or: lamp = 0 (numbered from 0 at the top); neither: any lamp
//! mode = ["steady", "blinking", "flashing"]
//! ```
//!
//! Without rules a machine keeps [`StateRules::default`]; `otherwise` alone changes only
//! the state when no rule matches.

use serde::Deserialize;
use sheetsight_vision::lamp::{LampColor, LampMode};
use sheetsight_vision::state::{LampSelector, MachineState, StateRule, StateRules};
use toml::Spanned;

use crate::diagnostics::Checker;
use crate::machine::RawMachine;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    state: Spanned<String>,
    color: Option<Spanned<String>>,
    lamp: Option<Spanned<usize>>,
    mode: Spanned<Vec<Spanned<String>>>,
}

/// A machine state's name, e.g. `OutOfService`.
pub(crate) fn check_state(c: &Checker<'_>, s: &Spanned<String>, key: &str) -> Option<MachineState> {
    c.choice(s, key, "machine state", &MachineState::NAMES)
}

/// The machine's rules; `colors` are its lamps' colours, top first (`None` for a colour
/// that was already reported).
pub(crate) fn check_rules(c: &Checker<'_>, at: &str, m: &RawMachine, colors: &[Option<LampColor>]) -> StateRules {
    let mut rules = StateRules::default();
    if let Some(o) = &m.otherwise
        && let Some(state) = check_state(c, o, &format!("{at}.otherwise"))
    {
        rules.otherwise = state;
    }
    if m.rule.is_empty() {
        return rules;
    }
    rules.rules = m
        .rule
        .iter()
        .enumerate()
        .filter_map(|(r, raw)| check_rule(c, &format!("{at}.rule[{r}]"), raw, colors))
        .collect();
    rules
}

fn check_rule(c: &Checker<'_>, at: &str, raw: &Spanned<RawRule>, colors: &[Option<LampColor>]) -> Option<StateRule> {
    let span = raw.span();
    let raw = raw.get_ref();
    let key = |k: &str| format!("{at}.{k}");
    let state = check_state(c, &raw.state, &key("state"));
    let lamps = match (&raw.color, &raw.lamp) {
        (Some(_), Some(l)) => {
            c.report(l.span(), key("lamp"), "give either `color` or `lamp`, not both");
            None
        }
        (Some(color), None) => {
            let color: Option<LampColor> = c.choice(color, &key("color"), "lamp colour", &LampColor::NAMES);
            let known = colors.iter().all(Option::is_some);
            if let Some(color) = color
                && known
                && !colors.contains(&Some(color))
            {
                c.report(span, key("color"), format!("the machine has no {color} lamp"));
            }
            color.map(LampSelector::Color)
        }
        (None, Some(l)) => {
            let index = *l.get_ref();
            if index >= colors.len() {
                let message = format!(
                    "lamp {index} does not exist: the machine has {} lamps, numbered from 0 at the top",
                    colors.len()
                );
                c.report(l.span(), key("lamp"), message);
            }
            Some(LampSelector::Index(index))
        }
        (None, None) => Some(LampSelector::Any),
    };
    if raw.mode.get_ref().is_empty() {
        c.report(raw.mode.span(), key("mode"), "list at least one mode");
    }
    let modes: Vec<Option<LampMode>> =
        raw.mode.get_ref().iter().map(|m| c.choice(m, &key("mode"), "lamp mode", &LampMode::NAMES)).collect();
    let modes = modes.into_iter().collect::<Option<Vec<_>>>()?;
    Some(StateRule { state: state?, lamps: lamps?, modes })
}
