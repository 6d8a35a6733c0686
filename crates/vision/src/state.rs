//! Machine state from lamp modes: the OPC UA Machinery (OPC 40001-1) item states.
//!
//! Rules are checked in order; the first whose lamps show one of its modes decides. A
//! lamp that reads `unknown` makes the machine `NotAvailable` before any rule: we cannot
//! see, so we never guess running or idle. Until every lamp has a mode there is no state.

use crate::lamp::{LampColor, LampMode};

sheetsight_base::named_enum! {
    /// OPC 40001-1 MachineryItemState.
    #[derive(PartialOrd, Ord)]
    pub enum MachineState("machine state") {
        Executing = "Executing",
        NotExecuting = "NotExecuting",
        OutOfService = "OutOfService",
        NotAvailable = "NotAvailable",
    }
}

/// Which lamps a rule looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LampSelector {
    /// Every lamp of this colour.
    Color(LampColor),
    /// The lamp at this position, 0 = top.
    Index(usize),
    /// Any lamp.
    Any,
}

/// "If any selected lamp is in one of these modes, the machine is in this state."
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateRule {
    pub state: MachineState,
    pub lamps: LampSelector,
    pub modes: Vec<LampMode>,
}

/// An ordered rule list with a fallback state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateRules {
    pub rules: Vec<StateRule>,
    pub otherwise: MachineState,
}

impl Default for StateRules {
    /// Any red lamp not off -> OutOfService; else a green lamp steady -> Executing;
    /// else NotExecuting.
    fn default() -> Self {
        Self {
            rules: vec![
                StateRule {
                    state: MachineState::OutOfService,
                    lamps: LampSelector::Color(LampColor::Red),
                    modes: vec![LampMode::Steady, LampMode::Blinking, LampMode::Flashing],
                },
                StateRule {
                    state: MachineState::Executing,
                    lamps: LampSelector::Color(LampColor::Green),
                    modes: vec![LampMode::Steady],
                },
            ],
            otherwise: MachineState::NotExecuting,
        }
    }
}

impl StateRules {
    /// The state for the lamps' current modes (`lamps[i]` = (colour, mode) of lamp i);
    /// `None` while any lamp is undecided.
    pub fn evaluate(&self, lamps: &[(LampColor, Option<LampMode>)]) -> Option<MachineState> {
        let mut modes = Vec::with_capacity(lamps.len());
        for &(color, mode) in lamps {
            modes.push((color, mode?));
        }
        if modes.iter().any(|&(_, m)| m == LampMode::Unknown) {
            return Some(MachineState::NotAvailable);
        }
        for rule in &self.rules {
            let hit = modes.iter().enumerate().any(|(i, &(color, mode))| {
                let selected = match rule.lamps {
                    LampSelector::Color(c) => c == color,
                    LampSelector::Index(n) => n == i,
                    LampSelector::Any => true,
                };
                selected && rule.modes.contains(&mode)
            });
            if hit {
                return Some(rule.state);
            }
        }
        Some(self.otherwise)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use LampColor::*;
    use LampMode::*;

    #[test]
    fn default_rules() {
        let r = StateRules::default();
        assert_eq!(
            r.evaluate(&[(Red, Some(Off)), (Yellow, Some(Off)), (Green, Some(Steady))]),
            Some(MachineState::Executing)
        );
        assert_eq!(r.evaluate(&[(Red, Some(Flashing)), (Green, Some(Steady))]), Some(MachineState::OutOfService));
        assert_eq!(r.evaluate(&[(Red, Some(Off)), (Green, Some(Blinking))]), Some(MachineState::NotExecuting));
        assert_eq!(r.evaluate(&[(Red, Some(Unknown)), (Green, Some(Steady))]), Some(MachineState::NotAvailable));
        assert_eq!(r.evaluate(&[(Red, None), (Green, Some(Steady))]), None);
    }

    #[test]
    fn index_rules_and_order() {
        let r = StateRules {
            rules: vec![
                StateRule { state: MachineState::Executing, lamps: LampSelector::Index(1), modes: vec![Blinking] },
                StateRule { state: MachineState::OutOfService, lamps: LampSelector::Any, modes: vec![Flashing] },
            ],
            otherwise: MachineState::NotExecuting,
        };
        assert_eq!(r.evaluate(&[(White, Some(Flashing)), (White, Some(Blinking))]), Some(MachineState::Executing));
        assert_eq!(r.evaluate(&[(White, Some(Flashing)), (White, Some(Off))]), Some(MachineState::OutOfService));
    }
}
