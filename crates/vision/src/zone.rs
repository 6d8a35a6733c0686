//! People in zones: who stands where, debounced; attended machines; advisory safety
//! events; strokes seen while a person stands in the motion region.
//!
//! Pure and model-free: it takes person boxes (from any detector, or scripted in tests)
//! with their times in seconds and returns counts and events. Invariants:
//! - a person is in a zone when their feet (the bottom centre of the box) lie inside it;
//! - a zone's reported count changes only after the new count has held for the
//!   debounce time, so one missed detection or one false box is no change;
//! - a danger zone raises at most one safety event per interval, and only while its
//!   machine executes; every such event is advisory, never a safety function.

use crate::frame::YuvFrame;
use crate::roi::{BoxPx, PolygonRoi};
use crate::state::MachineState;

/// A person detector as the analysis sees it: the real model (`sheetsight-people`) or
/// scripted boxes in tests.
pub trait DetectPeople: Send + Sync {
    /// People in `crop` of `frame`, in frame pixels.
    fn detect(&self, frame: &YuvFrame, crop: BoxPx) -> Result<Vec<PersonPx>, String>;
}

/// A person's box in camera pixels (exclusive ends do not matter at this scale).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PersonPx {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

impl PersonPx {
    /// Where the person stands: the bottom centre of the box.
    pub fn feet(&self) -> (f64, f64) {
        (f64::from(self.x0 + self.x1) / 2.0, f64::from(self.y1))
    }

    /// Whether the box overlaps `b` (a region's bounding box).
    pub fn overlaps(&self, b: BoxPx) -> bool {
        self.x0 < b.x1 as f32 && self.x1 > b.x0 as f32 && self.y0 < b.y1 as f32 && self.y1 > b.y0 as f32
    }
}

/// Blurs the people of `frame` for privacy: each box, grown by a quarter of its size
/// on every side (the box may be up to a second old), becomes a mosaic of
/// `block_px`-pixel cells in luma and chroma, from which nobody can be recognised.
pub fn pixelate_people(frame: &mut YuvFrame, people: &[PersonPx], block_px: u32) {
    let (w, h) = (frame.width_px(), frame.height_px());
    for p in people {
        let (gx, gy) = (0.25 * (p.x1 - p.x0), 0.25 * (p.y1 - p.y0));
        let clamp = |v: f32, max: u32| v.clamp(0.0, max as f32) as u32;
        let b = BoxPx {
            x0: clamp(p.x0 - gx, w),
            y0: clamp(p.y0 - gy, h),
            x1: clamp(p.x1 + gx, w),
            y1: clamp(p.y1 + gy, h),
        };
        pixelate(frame, b, block_px.max(2));
    }
}

/// Outlines each person's box in red, `line_px` thick: the pictures kept for safety
/// events show whom the detector saw.
pub fn outline_people(frame: &mut YuvFrame, people: &[PersonPx], line_px: u32) {
    // Red in BT.601 studio range.
    const RED: (u8, u8, u8) = (81, 90, 240);
    let (w, h) = (frame.width_px(), frame.height_px());
    let cw = frame.chroma_width();
    let (y, u, v) = frame.planes_mut();
    let mut paint = |x0: u32, y0: u32, x1: u32, y1: u32| {
        for yy in y0..y1.min(h) {
            for xx in x0..x1.min(w) {
                y[(yy * w + xx) as usize] = RED.0;
                let c = (yy / 2) as usize * cw + (xx / 2) as usize;
                if let (Some(pu), Some(pv)) = (u.get_mut(c), v.get_mut(c)) {
                    (*pu, *pv) = (RED.1, RED.2);
                }
            }
        }
    };
    for p in people {
        let clamp = |v: f32, max: u32| v.round().clamp(0.0, max as f32) as u32;
        let (x0, y0, x1, y1) = (clamp(p.x0, w), clamp(p.y0, h), clamp(p.x1, w), clamp(p.y1, h));
        if x1 <= x0 || y1 <= y0 {
            continue;
        }
        let t = line_px.max(1);
        paint(x0, y0, x1, (y0 + t).min(y1));
        paint(x0, y1.saturating_sub(t).max(y0), x1, y1);
        paint(x0, y0, (x0 + t).min(x1), y1);
        paint(x1.saturating_sub(t).max(x0), y0, x1, y1);
    }
}

/// The whole frame as a coarse mosaic (privacy when no sighting is recent enough).
pub fn pixelate_all(frame: &mut YuvFrame, block_px: u32) {
    pixelate(frame, BoxPx::whole(frame.width_px(), frame.height_px()), block_px.max(2));
}

fn pixelate(frame: &mut YuvFrame, b: BoxPx, block_px: u32) {
    let (w, cw) = (frame.width_px() as usize, frame.chroma_width());
    let (y, u, v) = frame.planes_mut();
    mosaic(y, w, b, block_px);
    let half = BoxPx { x0: b.x0 / 2, y0: b.y0 / 2, x1: b.x1.div_ceil(2), y1: b.y1.div_ceil(2) };
    mosaic(u, cw, half, (block_px / 2).max(1));
    mosaic(v, cw, half, (block_px / 2).max(1));
}

/// Every `block`-sized cell of `b` in a plane of row length `stride` set to its mean.
fn mosaic(plane: &mut [u8], stride: usize, b: BoxPx, block: u32) {
    let rows = (plane.len() / stride.max(1)) as u32;
    let (x1, y1) = (b.x1.min(stride as u32), b.y1.min(rows));
    for cy in (b.y0..y1).step_by(block as usize) {
        for cx in (b.x0..x1).step_by(block as usize) {
            let (ex, ey) = ((cx + block).min(x1), (cy + block).min(y1));
            let cells = ((ex - cx) * (ey - cy)).max(1);
            let sum: u32 = (cy..ey)
                .flat_map(|yy| (cx..ex).map(move |xx| (yy, xx)))
                .map(|(yy, xx)| u32::from(plane[yy as usize * stride + xx as usize]))
                .sum();
            let mean = (sum / cells) as u8;
            for yy in cy..ey {
                plane[yy as usize * stride + cx as usize..yy as usize * stride + ex as usize].fill(mean);
            }
        }
    }
}

/// People whose feet are in the zone (rasterised like every region).
pub fn count_in(zone: &PolygonRoi, people: &[PersonPx]) -> u32 {
    people
        .iter()
        .filter(|p| {
            let (x, y) = p.feet();
            zone.contains(x, y)
        })
        .count() as u32
}

/// One zone's debounced head count.
#[derive(Clone, Debug)]
pub struct PresenceDebounce {
    debounce_s: f64,
    reported: Option<u32>,
    /// A count that differs from the reported one, and since when it has been seen.
    pending: Option<(u32, f64)>,
}

impl PresenceDebounce {
    pub fn new(debounce_s: f64) -> Self {
        Self { debounce_s: debounce_s.max(0.0), reported: None, pending: None }
    }

    /// The count reported now (`None` before the first one is settled).
    pub fn people(&self) -> Option<u32> {
        self.reported
    }

    /// One observation; returns the new count when the reported one changes, with the
    /// time the new count was first seen (when the change really happened).
    pub fn observe(&mut self, t_s: f64, people: u32) -> Option<(u32, f64)> {
        if self.reported == Some(people) {
            self.pending = None;
            return None;
        }
        let since = match self.pending {
            Some((n, since)) if n == people => since,
            _ => {
                self.pending = Some((people, t_s));
                t_s
            }
        };
        if t_s - since >= self.debounce_s {
            self.reported = Some(people);
            self.pending = None;
            return Some((people, since));
        }
        None
    }
}

/// At most one advisory safety event per zone per interval, only while the zone's
/// machine executes and someone stands in it.
#[derive(Clone, Debug)]
pub struct SafetyGate {
    interval_s: f64,
    last_s: Option<f64>,
}

impl SafetyGate {
    pub fn new(interval_s: f64) -> Self {
        Self { interval_s, last_s: None }
    }

    /// Whether an event is raised at `t_s` for `people` in the zone while the machine is
    /// in `state`.
    pub fn observe(&mut self, t_s: f64, people: u32, state: Option<MachineState>) -> bool {
        if people == 0 || state != Some(MachineState::Executing) {
            return false;
        }
        if self.last_s.is_some_and(|last| t_s - last < self.interval_s) {
            return false;
        }
        self.last_s = Some(t_s);
        true
    }
}

/// Seconds of each state, split by whether someone stood in the operator zone.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Attendance {
    pub executing_attended_s: f64,
    pub executing_unattended_s: f64,
    pub not_executing_attended_s: f64,
    pub not_executing_unattended_s: f64,
}

/// A step function of time: `(t_s, value)` changes in time order; the value holds
/// until the next change.
pub type Steps<T> = [(f64, T)];

/// Attended and unattended time of `Executing` and `NotExecuting` over `from_s..to_s`,
/// from the machine's state changes and its operator zone's head count changes. Time
/// before the first known count counts as unattended; other states are not split.
pub fn attendance(states: &Steps<MachineState>, people: &Steps<u32>, from_s: f64, to_s: f64) -> Attendance {
    let mut cuts: Vec<f64> = (states.iter().map(|(t, _)| *t))
        .chain(people.iter().map(|(t, _)| *t))
        .filter(|t| *t > from_s && *t < to_s)
        .collect();
    cuts.push(from_s);
    cuts.push(to_s);
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();
    let mut out = Attendance::default();
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let attended = value_at(people, a).is_some_and(|n| n > 0);
        let slot = match (value_at(states, a), attended) {
            (Some(MachineState::Executing), true) => &mut out.executing_attended_s,
            (Some(MachineState::Executing), false) => &mut out.executing_unattended_s,
            (Some(MachineState::NotExecuting), true) => &mut out.not_executing_attended_s,
            (Some(MachineState::NotExecuting), false) => &mut out.not_executing_unattended_s,
            _ => continue,
        };
        *slot += b - a;
    }
    out
}

/// The share of `from_s..to_s` during which nobody stood in the operator zone (time
/// before the first known count counts as nobody).
pub fn unattended_share(people: &Steps<u32>, from_s: f64, to_s: f64) -> f64 {
    if to_s <= from_s {
        return 0.0;
    }
    let mut cuts: Vec<f64> = people.iter().map(|(t, _)| *t).filter(|t| *t > from_s && *t < to_s).collect();
    cuts.insert(0, from_s);
    cuts.push(to_s);
    let empty: f64 =
        cuts.windows(2).filter(|w| value_at(people, w[0]).is_none_or(|n| n == 0)).map(|w| w[1] - w[0]).sum();
    empty / (to_s - from_s)
}

/// Said with every safety event wherever it is shown or sent.
pub const ADVISORY_NOTE: &str =
    "advisory only: SheetSight is not a safety function and never replaces guards, light curtains or interlocks";

/// Time spent in a zone.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Dwell {
    /// Seconds with at least one person in the zone.
    pub occupied_s: f64,
    /// Person-seconds (two people for a minute: 120).
    pub person_s: f64,
    /// Times the zone went from empty (or unknown) to occupied.
    pub arrivals: u32,
}

/// Dwell over `from_s..to_s` from a zone's head-count changes (time before the first
/// known count counts as empty; an occupied zone at `from_s` is one arrival).
pub fn dwell(people: &Steps<u32>, from_s: f64, to_s: f64) -> Dwell {
    let mut out = Dwell::default();
    if to_s <= from_s {
        return out;
    }
    let mut cuts: Vec<f64> = people.iter().map(|(t, _)| *t).filter(|t| *t > from_s && *t < to_s).collect();
    cuts.insert(0, from_s);
    cuts.push(to_s);
    let mut before = 0;
    for w in cuts.windows(2) {
        let n = value_at(people, w[0]).unwrap_or(0);
        if n > 0 {
            out.occupied_s += w[1] - w[0];
            out.person_s += (w[1] - w[0]) * f64::from(n);
            out.arrivals += u32::from(before == 0);
        }
        before = n;
    }
    out
}

/// The reason proposed for a stop: "No operator" when nobody stood in the operator zone
/// for most of it. A suggestion for the supervisor to confirm, never set by itself.
pub const NO_OPERATOR: &str = "No operator";

/// [`NO_OPERATOR`] when the stop `from_s..to_s` was unattended more than half the time.
pub fn suggest_stop_reason(people: &Steps<u32>, from_s: f64, to_s: f64) -> Option<&'static str> {
    (unattended_share(people, from_s, to_s) > 0.5).then_some(NO_OPERATOR)
}

fn value_at<T: Copy>(steps: &Steps<T>, t_s: f64) -> Option<T> {
    steps.iter().take_while(|(at, _)| *at <= t_s).last().map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roi::PointPx;
    use MachineState::{Executing, NotExecuting};

    const SQUARE: [PointPx; 4] = [[300.0, 200.0], [700.0, 200.0], [700.0, 700.0], [300.0, 700.0]];

    fn standing_at(x: f32, y: f32) -> PersonPx {
        PersonPx { x0: x - 20.0, y0: y - 120.0, x1: x + 20.0, y1: y }
    }

    #[test]
    fn a_person_counts_where_their_feet_are() {
        // Head inside the zone, feet below it: not in the zone.
        let tall = standing_at(500.0, 760.0);
        // Head above the zone, feet inside it: in the zone.
        let near_top = standing_at(500.0, 260.0);
        let zone = PolygonRoi::new(&SQUARE, 1000, 1000).expect("zone fits");
        assert_eq!(count_in(&zone, &[tall, near_top, standing_at(100.0, 400.0)]), 1);
        let triangle = PolygonRoi::new(&[[0.0, 0.0], [100.0, 0.0], [0.0, 100.0]], 200, 200).expect("fits");
        assert!(triangle.contains(20.0, 20.0));
        assert!(!triangle.contains(70.0, 70.0));
        assert!(!triangle.contains(-1.0, 5.0) && !triangle.contains(f64::NAN, 5.0));
    }

    #[test]
    fn the_count_changes_only_after_it_held_for_the_debounce_time() {
        let mut d = PresenceDebounce::new(2.0);
        assert_eq!(d.observe(0.0, 0), None, "not held yet");
        assert_eq!(d.observe(2.0, 0), Some((0, 0.0)));
        // One detection of a passer-by: no change.
        assert_eq!(d.observe(3.0, 1), None);
        assert_eq!(d.observe(4.0, 0), None);
        assert_eq!(d.people(), Some(0));
        // Someone arrives and stays: the change is dated when they were first seen.
        assert_eq!(d.observe(10.0, 1), None);
        assert_eq!(d.observe(11.0, 1), None);
        assert_eq!(d.observe(12.0, 1), Some((1, 10.0)));
        // One missed detection while they stay: no change.
        assert_eq!(d.observe(13.0, 0), None);
        assert_eq!(d.observe(14.0, 1), None);
        assert_eq!(d.people(), Some(1));
        // A second person for a moment, then really two.
        assert_eq!(d.observe(15.0, 2), None);
        assert_eq!(d.observe(17.5, 2), Some((2, 15.0)));
        let mut instant = PresenceDebounce::new(0.0);
        assert_eq!(instant.observe(1.0, 3), Some((3, 1.0)));
    }

    #[test]
    fn safety_events_only_while_executing_and_at_most_once_per_interval() {
        let mut gate = SafetyGate::new(60.0);
        assert!(!gate.observe(0.0, 1, Some(NotExecuting)), "machine stands: no danger");
        assert!(!gate.observe(1.0, 0, Some(Executing)), "nobody there");
        assert!(gate.observe(2.0, 1, Some(Executing)));
        assert!(!gate.observe(30.0, 2, Some(Executing)), "within the interval");
        assert!(gate.observe(62.0, 1, Some(Executing)));
        assert!(!gate.observe(200.0, 1, None), "unknown state is no event");
    }

    #[test]
    fn attended_time_splits_executing_and_not_executing() {
        let states = [(0.0, Executing), (100.0, NotExecuting), (200.0, MachineState::OutOfService)];
        let people = [(50.0, 1), (150.0, 0)];
        let a = attendance(&states, &people, 0.0, 300.0);
        assert_eq!(
            a,
            Attendance {
                executing_attended_s: 50.0,
                executing_unattended_s: 50.0,
                not_executing_attended_s: 50.0,
                not_executing_unattended_s: 50.0,
            }
        );
        // A window inside the record.
        let a = attendance(&states, &people, 75.0, 125.0);
        assert_eq!((a.executing_attended_s, a.not_executing_attended_s), (25.0, 25.0));
    }

    #[test]
    fn a_stop_mostly_without_anyone_is_proposed_no_operator() {
        let people = [(0.0, 1), (10.0, 0), (100.0, 1)];
        assert_eq!(suggest_stop_reason(&people, 5.0, 105.0), Some(NO_OPERATOR));
        assert_eq!(suggest_stop_reason(&people, 95.0, 200.0), None, "attended most of the stop");
        assert!((unattended_share(&people, 0.0, 20.0) - 0.5).abs() < 1e-9);
        assert_eq!(suggest_stop_reason(&[], 0.0, 10.0), Some(NO_OPERATOR), "nobody ever seen");
    }

    #[test]
    fn dwell_counts_occupied_time_person_time_and_arrivals_inside_the_range() {
        // Empty until 10, one person 10-30, two 30-40, empty 40-60, one from 60 on.
        let people = [(0.0, 0), (10.0, 1), (30.0, 2), (40.0, 0), (60.0, 1)];
        let d = dwell(&people, 0.0, 100.0);
        assert_eq!((d.occupied_s, d.person_s, d.arrivals), (70.0, 80.0, 2));
        // Clipped: someone already there at the start is one arrival.
        let d = dwell(&people, 35.0, 65.0);
        assert_eq!((d.occupied_s, d.person_s, d.arrivals), (10.0, 15.0, 2));
        assert_eq!(dwell(&[], 0.0, 10.0), Dwell::default(), "never seen: empty");
        assert_eq!(dwell(&people, 50.0, 50.0), Dwell::default());
    }

    #[test]
    fn people_are_pixelated_and_the_rest_of_the_frame_is_untouched() {
        let mut frame = YuvFrame::filled(64, 64, 16, 128, 128);
        {
            let (y, _, _) = frame.planes_mut();
            for (i, px) in y.iter_mut().enumerate() {
                *px = ((i * 37) % 200 + 20) as u8; // detail everywhere
            }
        }
        let before = frame.clone();
        pixelate_people(&mut frame, &[PersonPx { x0: 20.0, y0: 20.0, x1: 36.0, y1: 40.0 }], 8);
        let y = frame.y_plane();
        // Inside the grown box: cells of one value.
        assert_eq!(y[24 * 64 + 24], y[25 * 64 + 25]);
        assert_ne!(y[24 * 64 + 24..24 * 64 + 32], before.y_plane()[24 * 64 + 24..24 * 64 + 32]);
        // Far from it: as it was.
        assert_eq!(y[2 * 64..3 * 64], before.y_plane()[2 * 64..3 * 64]);
        assert_eq!(y[60 * 64 + 60], before.y_plane()[60 * 64 + 60]);
        let mut all = before.clone();
        pixelate_all(&mut all, 16);
        assert_eq!(all.y_plane()[0], all.y_plane()[15 * 64 + 15]);
    }

    #[test]
    fn a_persons_box_is_outlined_and_its_inside_kept() {
        let mut frame = YuvFrame::filled(64, 64, 100, 128, 128);
        outline_people(&mut frame, &[PersonPx { x0: 10.0, y0: 10.0, x1: 40.0, y1: 50.0 }], 2);
        let y = frame.y_plane();
        assert_eq!(y[10 * 64 + 20], 81, "top edge");
        assert_eq!(y[30 * 64 + 39], 81, "right edge");
        assert_eq!(y[30 * 64 + 20], 100, "inside untouched");
        assert_eq!(y[5 * 64 + 5], 100, "outside untouched");
        let rgb = frame.to_rgb8();
        let px = &rgb[(10 * 64 + 20) * 3..(10 * 64 + 20) * 3 + 3];
        assert!(px[0] > 200 && px[1] < 60 && px[2] < 60, "red: {px:?}");
    }

    #[test]
    fn a_person_overlapping_the_motion_region_flags_the_stroke() {
        let ram = BoxPx { x0: 400, y0: 100, x1: 600, y1: 180 };
        assert!(standing_at(500.0, 260.0).overlaps(ram), "reaching into the ram's region");
        assert!(!standing_at(500.0, 400.0).overlaps(ram), "standing back");
        assert!(!standing_at(100.0, 200.0).overlaps(ram), "beside it");
    }
}
