//! The cross-reference pass: ids are unique within their kind, and every reference from
//! one section to another names an id that is declared.
//!
//! Ids are taken from the file as written ([`Document::ids`]), so an element that could
//! not be read still counts as declared and its references give no second error. The
//! sections check everything that needs only their own keys.

use toml::Spanned;

use crate::alerts::RawAlertRule;
use crate::diagnostics::{Checker, suggestion};
use crate::document::Document;
use crate::machine::RawMachine;
use crate::station::RawStation;
use crate::zone::RawZone;

/// Checks ids and references between sections.
pub(crate) fn check_references(
    c: &Checker<'_>,
    doc: &Document<'_>,
    machines: &[Option<Spanned<RawMachine>>],
    alerts: &[Option<Spanned<RawAlertRule>>],
    zones: &[Option<Spanned<RawZone>>],
    stations: &[Option<Spanned<RawStation>>],
) {
    let camera_ids = unique_ids(c, doc, "camera");
    let machine_ids = unique_ids(c, doc, "machine");
    unique_ids(c, doc, "zone");
    unique_ids(c, doc, "station");
    for (i, s) in stations.iter().enumerate() {
        if let Some(camera) = s.as_ref().and_then(|s| s.get_ref().camera()) {
            let configured = format!("; or a snapshot URL (http://...); configured cameras: {}", camera_ids.join(", "));
            reference(c, camera, &format!("station[{i}].source"), "camera", &camera_ids, &configured);
        }
    }
    for (i, z) in zones.iter().enumerate() {
        let Some(z) = z else { continue };
        let z = z.get_ref();
        reference(c, &z.camera, &format!("zone[{i}].camera"), "camera", &camera_ids, "");
        if let Some(m) = &z.machine {
            reference(c, m, &format!("zone[{i}].machine"), "machine", &machine_ids, "");
        }
    }
    for (i, m) in machines.iter().enumerate() {
        let Some(m) = m else { continue };
        let configured = format!("; configured cameras: {}", camera_ids.join(", "));
        reference(c, &m.get_ref().camera, &format!("machine[{i}].camera"), "camera", &camera_ids, &configured);
    }
    for (i, rule) in alerts.iter().enumerate() {
        let Some(rule) = rule else { continue };
        let rule = rule.get_ref();
        for (list, what, ids) in [(&rule.machines, "machine", &machine_ids), (&rule.cameras, "camera", &camera_ids)] {
            for id in list.iter().flat_map(|l| l.get_ref()) {
                reference(c, id, &format!("alert[{i}].{what}s"), what, ids, "");
            }
        }
    }
}

/// The declared ids of an `[[array]]` section; a repeated one is reported.
fn unique_ids(c: &Checker<'_>, doc: &Document<'_>, section: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for (i, id) in doc.ids(section) {
        if ids.contains(id.get_ref()) {
            c.report(id.span(), format!("{section}[{i}].id"), format!("{section} id `{}` is used twice", id.get_ref()));
        } else {
            ids.push(id.into_inner());
        }
    }
    ids
}

/// Reports `id` when no `what` has it.
fn reference(c: &Checker<'_>, id: &Spanned<String>, key: &str, what: &str, ids: &[String], more: &str) {
    let name = id.get_ref();
    if !ids.contains(name) {
        let near = suggestion(name, ids.iter().map(String::as_str));
        c.report(id.span(), key, format!("no {what} has the id `{name}`{near}{more}"));
    }
}
