//! Every route the server answers, in one list: its method and path, the least role it
//! needs, its handler, and its documented answer. The router ([`crate::router`]), the
//! authorisation middleware ([`crate::auth::authorize`]), the OpenAPI document
//! ([`crate::openapi`]) and the role tests all read this list, so none of them can miss
//! a route, and a route cannot be served without being documented.

use std::sync::Arc;

use axum::http::Method;
use axum::routing::MethodRouter;
use serde_json::{Value, json};

use crate::api::inspections;
use crate::auth::Role;
use crate::openapi::{array_of, json_body, obj, paging, query, range, reference, time_value};
use crate::{
    AppState, alerts, api, camera_view, clips, floor, live, metrics, openapi, regions, session, setup, shift_summary,
    ui, users,
};

/// Parameters, request body and success answer of a route, as the OpenAPI document
/// gives them (path parameters are added from the path).
pub struct Doc {
    pub params: Vec<Value>,
    pub body: Option<Value>,
    pub status: &'static str,
    /// Media types of the success answer (`{}` when it has no body).
    pub content: Value,
}

impl Doc {
    /// A 200 answer of `content`, nothing asked.
    fn ok(content: Value) -> Doc {
        Doc { params: Vec::new(), body: None, status: "200", content }
    }

    /// A 200 JSON answer of `schema`.
    fn json(schema: Value) -> Doc {
        Doc::ok(json!({"application/json": {"schema": schema}}))
    }

    /// 204, no body.
    fn empty() -> Doc {
        Doc { params: Vec::new(), body: None, status: "204", content: json!({}) }
    }

    fn with_params(self, params: Vec<Value>) -> Doc {
        Doc { params, ..self }
    }

    /// Asks for a JSON body of `schema`.
    fn with_body(self, schema: Value) -> Doc {
        Doc { body: Some(json_body(schema)), ..self }
    }

    fn with_status(self, status: &'static str) -> Doc {
        Doc { status, ..self }
    }
}

pub struct Route {
    pub method: &'static str,
    /// In axum's syntax: `/api/v1/machines/{id}`.
    pub path: &'static str,
    /// `None`: anyone, logged in or not.
    pub role: Option<Role>,
    pub tag: &'static str,
    pub summary: &'static str,
    /// The handler, answering this route's method only.
    pub handler: fn() -> MethodRouter<Arc<AppState>>,
    pub doc: fn() -> Doc,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// One [`Route`]; the method is named once, for the table and for the handler.
macro_rules! route {
    ($method:ident $path:literal, $role:expr, $tag:literal, $summary:literal, $handler:path, $doc:expr $(,)?) => {
        Route {
            method: stringify!($method),
            path: $path,
            role: $role,
            tag: $tag,
            summary: $summary,
            handler: || axum::routing::on(axum::routing::MethodFilter::$method, $handler),
            doc: $doc,
        }
    };
}

const V: Option<Role> = Some(Role::Viewer);
const O: Option<Role> = Some(Role::Operator);
const A: Option<Role> = Some(Role::Admin);

fn role_enum() -> Value {
    json!({"enum": Role::NAMES})
}

pub const ROUTES: &[Route] = &[
    // The web UI: the page and its assets are public; the data they show is not.
    route!(GET "/", None, "ui", "The dashboard (single page; it asks for a login)", ui::index,
        || Doc::ok(json!({"text/html": {}}))),
    route!(GET "/assets/{file}", None, "ui", "Static assets of the dashboard", ui::asset,
        || Doc::ok(json!({"application/octet-stream": {}}))),
    route!(GET "/metrics", V, "metrics", "Prometheus metrics", metrics::scrape,
        || Doc::ok(json!({"application/openmetrics-text": {}}))),
    route!(GET "/api/v1/openapi.json", None, "meta", "This API's OpenAPI 3.1 document", openapi::document,
        || Doc::json(json!({"type": "object"}))),
    route!(POST "/api/v1/login", None, "session", "Log in with a name and password; sets the session cookie",
        session::login,
        || Doc::json(reference("Session"))
            .with_body(obj(&["name", "password"], json!({"name": {"type": "string"}, "password": {"type": "string"}})))),
    route!(POST "/api/v1/logout", V, "session", "End the session", session::logout, Doc::empty),
    route!(GET "/api/v1/session", V, "session", "Who is logged in, their role and the CSRF token", session::session,
        || Doc::json(reference("Session"))),
    route!(GET "/api/v1/overview", V, "floor",
        "Every machine's current state, lamps, today's availability and strokes", floor::overview,
        || Doc::json(reference("Overview"))),
    route!(GET "/api/v1/events", V, "floor", "Live events as Server-Sent Events", live::events,
        || Doc::ok(json!({"text/event-stream": {}}))),
    route!(GET "/api/v1/machines", V, "machines", "The configured machines", api::machines,
        || Doc::json(array_of("Machine"))),
    route!(GET "/api/v1/machines/{id}", V, "machines", "One machine's live status", api::machine,
        || Doc::json(reference("Machine"))),
    route!(GET "/api/v1/machines/{id}/timeline", V, "machines", "State intervals of a machine in a time range",
        api::timeline,
        || Doc::json(reference("Timeline")).with_params(range())),
    route!(GET "/api/v1/machines/{id}/shift", V, "machines",
    "Availability, performance, OEE, strokes per hour and stops of a shift", api::shift,
    || Doc::json(reference("ShiftFigures")).with_params(vec![
        query("date", "local date the shift starts on, YYYY-MM-DD (default: the current or last shift)", "string"),
        query("shift", "shift name (default: any)", "string"),
        query("min_minutes", "shortest stop listed (default 5)", "number"),
    ])),
    route!(GET "/api/v1/machines/{id}/stops", V, "machines", "Stops longer than a minimum, with their reasons",
        api::stops,
        || Doc::json(reference("StopPage")).with_params(
            [range(), paging(), vec![query("min_minutes", "shortest stop listed (default 5)", "number")]].concat())),
    route!(GET "/api/v1/machines/{id}/notes", V, "machines", "Reasons and jobs given to a machine's time",
        api::notes,
        || Doc::json(reference("NotePage")).with_params([range(), paging()].concat())),
    route!(POST "/api/v1/machines/{id}/reason", O, "machines", "Give a stop its downtime reason", api::give_reason,
    || Doc::json(reference("Note")).with_status("201").with_body(obj(
        &["start", "reason"],
        json!({"start": time_value(), "end": time_value(),
               "reason": {"type": "string", "description": "one of /api/v1/downtime-reasons"}}),
    ))),
    route!(POST "/api/v1/machines/{id}/job", O, "machines",
        "Mark the job a machine runs from now (or a given time)", api::give_job,
        || Doc::json(reference("Note")).with_status("201")
            .with_body(obj(&["job"], json!({"job": {"type": "string"}, "start": time_value()})))),
    route!(GET "/api/v1/cycles", V, "machines", "Cycles of work, newest first, with the job each ran for",
        api::cycles,
        || Doc::json(reference("CyclePage")).with_params([vec![
            query("machine", "one machine (default all)", "string"),
            query("job", "one job, i.e. part number (default any)", "string"),
        ], range(), paging()].concat())),
    route!(POST "/api/v1/cycles/{id}/golden", O, "standards",
        "Mark a cycle the golden cycle of its machine and job; its video is kept for good", api::mark_golden,
        || Doc::json(reference("Standard"))),
    route!(GET "/api/v1/standards", V, "standards", "Standard cycle times, golden cycles and steps per machine and job",
        api::standards,
        || Doc::json(array_of("Standard")).with_params(vec![query("machine", "one machine (default all)", "string")])),
    route!(PUT "/api/v1/standards/{machine}/{job}", O, "standards",
        "Set the standard cycle time (null: the golden cycle's) and the steps in English and Chinese",
        api::edit_standard,
        || Doc::json(reference("Standard")).with_body(json!({"type": "object", "properties": {
            "standard_s": {"type": ["number", "null"]}, "steps_en": {"type": "string"}, "steps_zh": {"type": "string"}}}))),
    route!(GET "/api/v1/cycle-stats", V, "standards",
        "Cycle times per machine and job: count, median, P10, P90, % over the standard, minutes lost against it",
        api::cycle_stats,
        || Doc::json(array_of("CycleStats")).with_params([vec![
            query("machine", "one machine (default all)", "string"),
            query("job", "one job (default any)", "string"),
        ], range()].concat())),
    route!(GET "/api/v1/cycles/{id}/clip.mp4", V, "recordings",
        "A cycle's video (MP4) with the configured pre- and post-roll; byte ranges for seeking", clips::cycle_clip,
        || Doc::ok(json!({"video/mp4": {}}))),
    route!(GET "/api/v1/cameras/{id}/clip.mp4", V, "recordings",
    "A camera's recorded video (MP4) from `from` to `to`; byte ranges for seeking", clips::camera_clip,
    || Doc::ok(json!({"video/mp4": {}})).with_params(vec![
        query("from", "start, RFC 3339 or ms since 1970", "string"),
        query("to", "end, RFC 3339 or ms since 1970", "string"),
    ])),
    route!(GET "/api/v1/recordings", V, "recordings",
        "Each recording camera: what was written, dropped, failing, and the span recorded", clips::recordings,
        || Doc::json(json!({"type": "array", "items": {"type": "object"}}))),
    route!(GET "/api/v1/downtime-reasons", V, "machines", "The configured downtime reasons", api::downtime_reasons,
        || Doc::json(json!({"type": "array", "items": {"type": "string"}}))),
    route!(GET "/api/v1/cameras", V, "cameras", "Cameras with health and counters (never their credentials)",
        camera_view::cameras,
        || Doc::json(array_of("Camera"))),
    route!(GET "/api/v1/cameras/{id}/snapshot.jpg", V, "cameras", "The newest analysed frame as JPEG",
        camera_view::snapshot,
        || Doc::ok(json!({"image/jpeg": {}}))),
    route!(GET "/api/v1/cameras/{id}/mjpeg", V, "cameras", "Live view as an MJPEG stream", camera_view::mjpeg,
        || Doc::ok(json!({"multipart/x-mixed-replace": {}}))),
    route!(GET "/api/v1/cameras/{id}/people", V, "people",
        "The people of the camera's last sighting (boxes in frame pixels), for the live view",
        camera_view::people, || Doc::json(reference("CameraPeople"))),
    route!(GET "/api/v1/cameras/{id}/regions", V, "cameras",
        "Lamp and motion regions of the machines on a camera, with readings", regions::get_regions,
        || Doc::json(reference("CameraRegions"))),
    route!(PUT "/api/v1/cameras/{id}/regions", A, "cameras",
        "Save edited regions to the configuration; applied without a restart", regions::put_regions,
        || Doc::json(reference("CameraRegions"))
            .with_body(obj(&["machines"], json!({"machines": array_of("MachineRegions")})))),
    // Set-up: cameras and machines added without a text editor (admins).
    route!(GET "/api/v1/setup", A, "setup", "The configuration's cameras and machines, for the set-up pages",
        setup::get_setup, || Doc::json(reference("Setup"))),
    route!(POST "/api/v1/setup/cameras/test", A, "setup",
        "Connect to a camera as the service would: its first picture, codec, size and rate, or what failed",
        setup::camera_test::test_camera,
        || Doc::json(reference("CameraTest")).with_body(reference("CameraForm"))),
    route!(POST "/api/v1/setup/cameras", A, "setup", "Add a camera to the configuration and start it",
        setup::add_camera, || Doc::json(reference("Setup")).with_body(reference("CameraForm"))),
    route!(PUT "/api/v1/setup/cameras/{id}", A, "setup",
        "Change a camera's address or credentials (an empty password keeps the stored one); it reconnects",
        setup::change_camera, || Doc::json(reference("Setup")).with_body(reference("CameraForm"))),
    route!(DELETE "/api/v1/setup/cameras/{id}", A, "setup",
        "Remove a camera and its machines from the configuration (`?confirm=<id>`); their history stays",
        setup::remove_camera,
        || Doc::json(reference("Setup")).with_params(vec![query("confirm", "the camera's id again", "string")])),
    route!(POST "/api/v1/setup/machines", A, "setup",
        "Add a machine on a camera with its lamps and motion region; its kind gives default cycle settings",
        setup::add_machine, || Doc::json(reference("Setup")).with_body(reference("MachineForm"))),
    route!(DELETE "/api/v1/setup/machines/{id}", A, "setup",
        "Remove a machine from the configuration (`?confirm=<id>`); its history stays", setup::remove_machine,
        || Doc::json(reference("Setup")).with_params(vec![query("confirm", "the machine's id again", "string")])),
    route!(PUT "/api/v1/setup/shop", A, "setup",
        "Change the shifts, downtime reasons and summary times (keys left out stay as they are)", setup::shop::change,
        || Doc::json(reference("Setup")).with_body(reference("ShopForm"))),
    route!(POST "/api/v1/cameras/{id}/find-lamps", A, "setup",
        "Watch the camera for a while and propose its stack lights (202; follow with GET)",
        setup::find_lamps::start,
        || Doc::json(reference("FindStatus")).with_status("202")
            .with_body(json!({"type": "object", "properties": {"watch_s": {"type": "number"}}}))),
    route!(GET "/api/v1/cameras/{id}/find-lamps", A, "setup", "The camera's last lamp finding: progress and proposals",
        setup::find_lamps::get, || Doc::json(reference("FindStatus"))),
    route!(GET "/api/v1/report", V, "reports", "The shift report (JSON or CSV)", api::report,
    || Doc::ok(json!({"application/json": {"schema": array_of("ReportRow")}, "text/csv": {}})).with_params(vec![
        query("from", "first local date, YYYY-MM-DD (default the current shift day: that of the shift begun last)", "string"),
        query("to", "last local date, YYYY-MM-DD (default the current shift day: that of the shift begun last)", "string"),
        query("machine", "one machine (default all)", "string"),
        query("format", "json (default) or csv", "string"),
    ])),
    route!(GET "/api/v1/summary", V, "reports",
    "The charts' figures for a date range: per machine and day, per shift, downtime by reason and by machine",
    api::summary, || Doc::json(reference("Summary")).with_params(vec![
        query("from", "first local date, YYYY-MM-DD (default the current shift day: that of the shift begun last)", "string"),
        query("to", "last local date, YYYY-MM-DD (default the current shift day: that of the shift begun last)", "string"),
        query("machine", "one machine (default all)", "string"),
    ])),
    route!(POST "/api/v1/summary/send", A, "reports",
        "Send the shift or daily summary of a period to the group robots and the webhook now \
         (default: the period that ended last)", shift_summary::send_now,
        || Doc::json(reference("SummarySent")).with_body(json!({"type": "object", "properties": {
            "from": {"type": "string", "format": "date-time"}, "to": {"type": "string", "format": "date-time"}}}))),
    route!(GET "/api/v1/hub", V, "hub", "Whether this shop sends its history to a hub, and what waits in its outbox",
        api::hub_link, || Doc::json(reference("HubLink"))),
    route!(GET "/api/v1/zones", V, "people", "The configured zones with the head count stored last",
        api::zones, || Doc::json(array_of("Zone"))),
    route!(GET "/api/v1/zones/report", V, "people",
    "Dwell per zone and shift for a date range: time occupied, person-time, arrivals (JSON or CSV)", api::zone_report,
    || Doc::ok(json!({"application/json": {"schema": array_of("ZoneRow")}, "text/csv": {}})).with_params(vec![
        query("from", "first local date, YYYY-MM-DD (default the current shift day: that of the shift begun last)", "string"),
        query("to", "last local date, YYYY-MM-DD (default the current shift day: that of the shift begun last)", "string"),
        query("format", "json (default) or csv", "string"),
    ])),
    route!(GET "/api/v1/presence", V, "people", "Stored head counts of zones (debounced), oldest first",
        api::presence, || Doc::json(reference("PresencePage")).with_params(
            [vec![query("zone", "one zone (default all)", "string")], range(), paging()].concat())),
    route!(GET "/api/v1/safety", V, "people",
        "Advisory safety events (someone in a danger zone while its machine executed), newest first; \
         advisory only, never a safety function", api::safety,
        || Doc::json(reference("SafetyPage")).with_params(
            [vec![query("machine", "one machine (default all)", "string")], range(), paging()].concat())),
    route!(GET "/api/v1/safety/snapshots/{file}", V, "people",
        "The picture kept for a safety event (JPEG, boxes drawn, people blurred on private cameras)",
        api::safety_snapshot, || Doc::ok(json!({"image/jpeg": {}}))),
    // Inspection stations, the parts library and stored inspections.
    route!(GET "/api/v1/stations", V, "inspection", "The inspection stations: source, calibration problem, last verdict or refusal",
        inspections::list_stations, || Doc::json(json!({"type": "array", "items": {"type": "object"}}))),
    route!(GET "/api/v1/stations/{id}", V, "inspection", "One inspection station's status", inspections::station,
        || Doc::json(json!({"type": "object"}))),
    route!(POST "/api/v1/stations/{id}/inspect", O, "inspection",
        "Inspect now: a JSON body (`part`, `revision`; none: the library part that matches) has the station take its \
         photo; a JPEG or PNG body is the photo (part and revision in the query). 201 with the stored verdict; 422 \
         when the photo is no inspection (an empty table), 503 when the camera is down; nothing is stored then",
        inspections::inspect,
        || Doc::json(json!({"type": "object"})).with_status("201").with_params(vec![
            query("part", "part number, with a photo body", "string"),
            query("revision", "revision (default the newest), with a photo body", "string"),
        ]).with_body(json!({"type": "object", "properties": {"part": {"type": "string"}, "revision": {"type": "string"},
            "trigger": {"enum": ["api", "button"]}}}))),
    route!(GET "/api/v1/parts", V, "inspection", "The parts library: a drawing per part number and revision",
        inspections::parts, || Doc::json(json!({"type": "array", "items": {"type": "object"}}))),
    route!(PUT "/api/v1/parts/{part}/{revision}", A, "inspection",
    "Add or replace a part's drawing: the DXF is the body; refused (400) when it does not read into one part",
    inspections::put_part,
    || Doc::json(json!({"type": "object"})).with_status("201").with_params(vec![
        query("file_name", "the drawing's file name", "string"),
        query("units", "mm, cm, m or in, when the drawing does not say", "string"),
        query("layers", "read only these layers (comma-separated)", "string"),
        query("exclude_layers", "leave these layers out (comma-separated)", "string"),
        query("gap_tolerance_mm", "ends closer than this are joined (default 0.01)", "number"),
        query("part", "which part of a drawing holding several, 1 the largest", "integer"),
        query("thickness_mm", "the sheet's thickness (default 0: thin)", "number"),
    ])),
    route!(DELETE "/api/v1/parts/{part}/{revision}", A, "inspection", "Remove a drawing; its inspections stay",
        inspections::delete_part, Doc::empty),
    route!(GET "/api/v1/parts/{part}/{revision}/drawing.dxf", V, "inspection", "A part's drawing as stored",
        inspections::part_drawing, || Doc::ok(json!({"application/dxf": {}}))),
    route!(GET "/api/v1/parts/{part}/spc", V, "inspection",
    "A part's control charts: per feature and measure, an individuals chart with limits, Cp/Cpk and drift alerts",
    inspections::part_spc,
    || Doc::json(json!({"type": "array", "items": {"type": "object"}})).with_params(vec![
        query("feature", "one feature (default all)", "string"),
        query("from", "start, RFC 3339 or ms since 1970 (default 90 days before `to`)", "string"),
        query("to", "end (default now)", "string"),
        query("tolerance_mm", "the tolerance Cp/Cpk are against (default 0.2)", "number"),
    ])),
    route!(GET "/api/v1/inspections", V, "inspection", "Stored inspections, newest first (JSON or CSV)",
        inspections::inspections,
        || Doc::ok(json!({"application/json": {"schema": {"type": "object"}}, "text/csv": {}})).with_params([vec![
            query("part", "one part number", "string"),
            query("station", "one station", "string"),
            query("verdict", "pass or fail", "string"),
            query("format", "json (default) or csv (every row of the range)", "string"),
        ], range(), paging()].concat())),
    route!(GET "/api/v1/inspections/{id}", V, "inspection", "One stored inspection with its report",
        inspections::inspection, || Doc::json(json!({"type": "object"}))),
    route!(GET "/api/v1/inspections/{id}/overlay.jpg", V, "inspection",
        "The inspection's overlay: the drawing on the photo, deviations coloured", inspections::overlay,
        || Doc::ok(json!({"image/jpeg": {}}))),
    route!(GET "/api/v1/inspections/{id}/photo", V, "inspection", "The inspection's photo, as received (when kept)",
        inspections::photo, || Doc::ok(json!({"image/jpeg": {}, "image/png": {}}))),
    route!(GET "/api/v1/alerts", V, "alerts", "Alerts, newest first", alerts::list,
        || Doc::json(reference("AlertPage")).with_params(
            [vec![query("open", "only alerts not acknowledged (default true)", "boolean")], range(), paging()].concat())),
    route!(POST "/api/v1/alerts/{id}/ack", O, "alerts", "Acknowledge an alert", alerts::ack,
        || Doc::json(reference("Alert"))),
    route!(GET "/api/v1/users", A, "admin", "Users", users::users, || Doc::json(array_of("User"))),
    route!(POST "/api/v1/users", A, "admin", "Add a user or change their password and role", users::put_user,
    || Doc::json(obj(&["name", "role"], json!({"name": {"type": "string"}, "role": {"type": "string"}})))
        .with_status("201")
        .with_body(obj(
            &["name", "password", "role"],
            json!({"name": {"type": "string"}, "password": {"type": "string", "minLength": 10, "maxLength": 128},
                   "role": role_enum()}),
        ))),
    route!(DELETE "/api/v1/users/{name}", A, "admin", "Delete a user", users::delete_user, Doc::empty),
    route!(GET "/api/v1/tokens", A, "admin", "API tokens (names and roles only)", users::tokens,
        || Doc::json(array_of("Token"))),
    route!(POST "/api/v1/tokens", A, "admin", "Create an API token; the token is shown once", users::create_token,
        || Doc::json(obj(&["name", "role", "token"], json!({"name": {"type": "string"}, "role": {"type": "string"},
                "token": {"type": "string", "description": "shown only here"}})))
            .with_status("201")
            .with_body(obj(&["name", "role"], json!({"name": {"type": "string"}, "role": role_enum()})))),
    route!(DELETE "/api/v1/tokens/{name}", A, "admin", "Revoke an API token", users::delete_token, Doc::empty),
];

/// The routes that take larger bodies than [`api::MAX_BODY_BYTES`]: photos and drawings.
pub fn body_limit(path: &str) -> Option<usize> {
    match path {
        "/api/v1/stations/{id}/inspect" => Some(inspections::MAX_PHOTO_BODY_BYTES),
        "/api/v1/parts/{part}/{revision}" => Some(inspections::MAX_DRAWING_BODY_BYTES),
        _ => None,
    }
}

pub fn find(method: &Method, path: &str) -> Option<&'static Route> {
    let method = if method == Method::HEAD { "GET" } else { method.as_str() };
    ROUTES.iter().find(|r| r.path == path && r.method == method)
}
