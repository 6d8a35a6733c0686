//! The OpenAPI 3.1 document of `/api/v1`, built from the route list
//! ([`crate::routes::ROUTES`]), where each route's parameters and answer are written
//! beside its handler; the schemas they refer to are written here. The tests check the
//! document against the router and real answers against the schemas (`tests/api.rs`).

use axum::Json;
use serde_json::{Value, json};

use sheetsight_vision::event::CameraHealth;
use sheetsight_vision::lamp::LampMode;
use sheetsight_vision::state::MachineState;

use crate::auth::Role;
use crate::routes::ROUTES;

/// One of `names`, or null.
fn names_or_null(names: &[&str]) -> Value {
    let mut all: Vec<Value> = names.iter().map(|n| json!(n)).collect();
    all.push(Value::Null);
    json!({"enum": all})
}

pub(crate) fn obj(required: &[&str], props: Value) -> Value {
    json!({"type": "object", "required": required, "properties": props})
}

fn nullable(t: &str) -> Value {
    json!({"type": [t, "null"]})
}

fn schemas() -> Value {
    let time = json!({"type": "string", "format": "date-time"});
    let page = |item: &str| {
        obj(
            &["items", "limit", "offset", "next_offset"],
            json!({"items": {"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}},
                   "limit": {"type": "integer"}, "offset": {"type": "integer"}, "next_offset": nullable("integer")}),
        )
    };
    let mut schemas = json!({
        "Error": obj(&["error"], json!({"error": obj(&["status", "message"], json!({"status": {"type": "integer"}, "message": {"type": "string"}}))})),
        "Session": obj(&["name", "role", "via"], json!({"name": {"type": "string"}, "role": {"enum": Role::NAMES},
            "via": {"enum": ["session", "token"]}, "csrf": nullable("string")})),
        "Lamp": obj(&["index", "color", "mode"], json!({"index": {"type": "integer"}, "color": {"type": "string"},
            "mode": names_or_null(&LampMode::NAMES)})),
        "MachineLive": obj(&["id", "camera", "state", "state_since", "lamps", "motion_active", "strokes_today", "availability_today", "watched_share_today", "job", "camera_health"],
            json!({"id": {"type": "string"}, "camera": {"type": "string"},
                "state": names_or_null(&MachineState::NAMES),
                "state_since": time, "lamps": {"type": "array", "items": {"$ref": "#/components/schemas/Lamp"}},
                "motion_active": {"type": "boolean"}, "strokes_today": {"type": "integer"},
                "availability_today": nullable("number"), "watched_share_today": nullable("number"), "job": nullable("string"), "camera_health": {"type": "string"},
                "operator_people": nullable("integer")})),
        "CameraLive": obj(&["id", "health", "since"], json!({"id": {"type": "string"}, "health": {"enum": CameraHealth::NAMES},
            "detail": nullable("string"), "since": time})),
        "Overview": obj(&["generated_at", "day_start", "machines", "cameras", "open_alerts"], json!({"generated_at": time, "day_start": time,
            "machines": {"type": "array", "items": {"$ref": "#/components/schemas/MachineLive"}},
            "cameras": {"type": "array", "items": {"$ref": "#/components/schemas/CameraLive"}}, "open_alerts": {"type": "integer"}})),
        "Machine": obj(&["id", "camera", "lamps", "has_motion"], json!({"id": {"type": "string"}, "camera": {"type": "string"},
            "lamps": {"type": "array", "items": {"type": "string"}}, "has_motion": {"type": "boolean"}, "ideal_strokes_per_hour": nullable("number"),
            "live": {"oneOf": [{"$ref": "#/components/schemas/MachineLive"}, {"type": "null"}]}})),
        "Note": obj(&["id", "machine", "kind", "value", "start_ms", "end_ms", "author", "created_ms"], json!({"id": {"type": "integer"},
            "machine": {"type": "string"}, "kind": {"enum": ["reason", "job"]}, "value": {"type": "string"}, "start_ms": {"type": "integer"},
            "end_ms": nullable("integer"), "author": {"type": "string"}, "created_ms": {"type": "integer"}})),
        "Timeline": obj(&["machine", "from", "to", "states", "notes"], json!({"machine": {"type": "string"}, "from": time, "to": time,
            "states": {"type": "array", "items": obj(&["state", "start", "end", "open"], json!({"state": {"type": "string"}, "start": time, "end": time, "open": {"type": "boolean"}}))},
            "notes": {"type": "array", "items": {"$ref": "#/components/schemas/Note"}}})),
        "Stop": obj(&["start", "end", "duration_s", "open", "reason", "start_ms"], json!({"start": time, "end": time, "duration_s": {"type": "number"},
            "open": {"type": "boolean"}, "reason": nullable("string"), "start_ms": {"type": "integer"},
            "suggested_reason": nullable("string")})),
        "StopPage": page("Stop"),
        "NotePage": page("Note"),
        "Cycle": obj(&["id", "machine", "start", "end", "duration_s", "strokes", "job", "operator"], json!({"id": {"type": "integer"},
            "machine": {"type": "string"}, "start": time, "end": time, "duration_s": {"type": "number"}, "strokes": {"type": "integer"},
            "job": nullable("string"), "operator": nullable("string")})),
        "CyclePage": page("Cycle"),
        "Standard": obj(&["machine", "job", "golden_cycle", "standard_ms", "standard_given", "steps_en", "steps_zh", "updated_by", "updated_ms"],
            json!({"machine": {"type": "string"}, "job": {"type": "string"}, "golden_cycle": nullable("integer"),
                "standard_ms": nullable("integer"), "standard_given": {"type": "boolean"}, "steps_en": {"type": "string"},
                "steps_zh": {"type": "string"}, "updated_by": {"type": "string"}, "updated_ms": {"type": "integer"}})),
        "CycleStats": obj(&["machine", "job", "count", "median_s", "p10_s", "p90_s", "standard_s", "over_standard", "over_standard_pct", "lost_min"],
            json!({"machine": {"type": "string"}, "job": nullable("string"), "count": {"type": "integer"},
                "median_s": {"type": "number"}, "p10_s": {"type": "number"}, "p90_s": {"type": "number"},
                "standard_s": nullable("number"), "over_standard": {"type": "integer"}, "over_standard_pct": nullable("number"),
                "lost_min": nullable("number")})),
        "ReportRow": obj(&["machine", "shift", "date", "start", "end", "planned_s", "executing_s", "availability", "strokes", "longest_stop_s", "cycles", "cycles_by_job"],
            json!({"machine": {"type": "string"}, "shift": {"type": "string"}, "date": {"type": "string"}, "start": time, "end": time,
                "planned_s": {"type": "number"}, "executing_s": {"type": "number"}, "not_executing_s": {"type": "number"},
                "out_of_service_s": {"type": "number"}, "not_available_s": {"type": "number"}, "unrecorded_s": {"type": "number"},
                "availability": nullable("number"), "availability_seen": nullable("number"), "strokes": {"type": "integer"},
                "strokes_per_hour": nullable("number"), "longest_stop_s": {"type": "number"}, "longest_stop_start": nullable("string"),
                "time_zone": {"type": "string"}, "cycles": {"type": "integer"}, "cycles_over_standard": {"type": "integer"},
                "cycle_lost_min": nullable("number"), "cycles_by_job": array_of("CycleStats"),
                "attended": {"$ref": "#/components/schemas/Attendance"}})),
        "Attendance": obj(&["executing_attended_s", "executing_unattended_s", "not_executing_attended_s", "not_executing_unattended_s"],
            json!({"executing_attended_s": {"type": "number"}, "executing_unattended_s": {"type": "number"},
                "not_executing_attended_s": {"type": "number"}, "not_executing_unattended_s": {"type": "number"}})),
        "Zone": obj(&["id", "camera", "kind", "machine", "operator_of", "roi", "people"], json!({"id": {"type": "string"},
            "camera": {"type": "string"}, "kind": {"enum": ["work", "danger"]}, "machine": nullable("string"),
            "operator_of": nullable("string"), "roi": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
            "people": nullable("integer")})),
        "HubLink": obj(&["configured", "shop", "broker", "direct", "outbox"], json!({"configured": {"type": "boolean"},
            "shop": nullable("string"), "broker": nullable("string"), "direct": {"type": "boolean"},
            "outbox": {"oneOf": [{"type": "null"}, obj(&["epoch", "rows", "bytes", "max_bytes", "first_seq", "last_seq",
                "dropped_strokes"], json!({"epoch": {"type": "string"}, "rows": {"type": "integer"},
                "bytes": {"type": "integer"}, "max_bytes": {"type": "integer"}, "first_seq": nullable("integer"),
                "last_seq": nullable("integer"), "dropped_strokes": {"type": "integer"}}))]}})),
        "ZoneRow": obj(&["zone", "operator_of", "shift", "date", "start", "end", "occupied_s", "person_s", "arrivals", "time_zone"],
            json!({"zone": {"type": "string"}, "operator_of": nullable("string"), "shift": {"type": "string"}, "date": {"type": "string"},
                "start": time, "end": time, "occupied_s": {"type": "number"}, "person_s": {"type": "number"},
                "arrivals": {"type": "integer"}, "time_zone": {"type": "string"}})),
        "Presence": obj(&["zone", "operator_of", "people", "start", "end"], json!({"zone": {"type": "string"},
            "operator_of": nullable("string"), "people": {"type": "integer"}, "start": time, "end": {"type": ["string", "null"], "format": "date-time"}})),
        "PresencePage": page("Presence"),
        "Safety": obj(&["id", "zone", "machine", "people", "t", "advisory", "note", "snapshot_url"], json!({"id": {"type": "integer"},
            "zone": {"type": "string"}, "machine": {"type": "string"}, "people": {"type": "integer"}, "t": time,
            "advisory": {"const": true}, "note": {"type": "string"}, "snapshot_url": nullable("string")})),
        "SafetyPage": page("Safety"),
        "CameraPeople": obj(&["camera", "seen", "age_s", "boxes"], json!({"camera": {"type": "string"},
            "seen": {"type": ["string", "null"], "format": "date-time"}, "age_s": nullable("number"),
            "boxes": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}}})),
        "Totals": obj(&["planned_s", "executing_s", "not_executing_s", "out_of_service_s", "not_available_s", "strokes", "availability", "watched_share", "oee"],
            json!({"planned_s": {"type": "number"}, "executing_s": {"type": "number"}, "not_executing_s": {"type": "number"},
                "out_of_service_s": {"type": "number"}, "not_available_s": {"type": "number"}, "strokes": {"type": "integer"},
                "availability": nullable("number"), "watched_share": nullable("number"), "oee": nullable("number")})),
        "Downtime": obj(&["label", "seconds", "stops"], json!({"label": nullable("string"), "seconds": {"type": "number"}, "stops": {"type": "integer"}})),
        "Summary": obj(&["from", "to", "machines", "days", "shifts", "downtime_by_reason", "downtime_by_machine", "all"],
            json!({"from": {"type": "string"}, "to": {"type": "string"}, "simulated_until": nullable("string"),
                "machines": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/Totals"}, obj(&["machine", "longest_stop_s"],
                    json!({"machine": {"type": "string"}, "longest_stop_s": {"type": "number"}, "longest_stop_start": nullable("string"), "longest_stop_reason": nullable("string")}))]}},
                "days": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/Totals"}, obj(&["machine", "date"], json!({"machine": {"type": "string"}, "date": {"type": "string"}}))]}},
                "shifts": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/Totals"}, obj(&["shift"], json!({"shift": {"type": "string"}}))]}},
                "downtime_by_reason": array_of("Downtime"), "downtime_by_machine": array_of("Downtime"),
                "all": {"$ref": "#/components/schemas/Totals"}})),
        "SummarySent": {"allOf": [{"$ref": "#/components/schemas/Summary"}, obj(&["robots", "webhook"],
            json!({"robots": {"type": "array", "items": {"enum": ["wecom", "dingtalk", "feishu"]}}, "webhook": {"type": "boolean"}}))]},
        "ShiftFigures": {"allOf": [{"$ref": "#/components/schemas/ReportRow"}, obj(&["performance", "quality", "inspected", "passed", "oee", "strokes_by_hour", "stops"],
            json!({"performance": nullable("number"), "quality": {"type": "number"}, "inspected": {"type": "integer"},
                "passed": {"type": "integer"}, "oee": nullable("number"),
                "strokes_by_hour": {"type": "array", "items": obj(&["hour_start", "strokes"], json!({"hour_start": time, "strokes": {"type": "integer"}}))},
                "stops": {"type": "array", "items": {"$ref": "#/components/schemas/Stop"}}, "min_stop_minutes": {"type": "number"}}))]},
        "Camera": obj(&["id", "source", "health", "since", "frames_decoded", "frames_analyzed", "packets_dropped", "reconnects", "machines"],
            json!({"id": {"type": "string"}, "source": {"type": "string", "description": "without user, password or query"},
                "health": {"type": "string"}, "detail": nullable("string"), "since": time, "frames_decoded": {"type": "integer"},
                "frames_analyzed": {"type": "integer"}, "frames_stale": {"type": "integer"}, "decode_errors": {"type": "integer"},
                "packets_dropped": {"type": "integer"}, "reconnects": {"type": "integer"},
                "machines": {"type": "array", "items": {"type": "string"}}, "frame_width_px": nullable("integer"), "frame_height_px": nullable("integer")})),
        "Point": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
        "MachineRegions": obj(&["id", "lamps", "motion"], json!({"id": {"type": "string"},
            "lamps": {"type": "array", "items": obj(&["index", "color", "roi"], json!({"index": {"type": "integer"}, "color": {"type": "string"},
                "roi": {"type": "array", "items": {"$ref": "#/components/schemas/Point"}}, "mode": nullable("string")}))},
            "motion": {"oneOf": [{"type": "array", "items": {"$ref": "#/components/schemas/Point"}}, {"type": "null"}]}})),
        "CameraRegions": obj(&["camera", "editable", "machines"], json!({"camera": {"type": "string"}, "frame_width_px": nullable("integer"),
            "frame_height_px": nullable("integer"), "editable": {"type": "boolean"},
            "machines": {"type": "array", "items": {"$ref": "#/components/schemas/MachineRegions"}}})),
        "Alert": obj(&["id", "rule", "subject", "message", "raised_ms", "cleared_ms", "acked_by", "acked_ms"], json!({"id": {"type": "integer"},
            "rule": {"type": "string"}, "subject": {"type": "string"}, "message": {"type": "string"}, "raised_ms": {"type": "integer"},
            "cleared_ms": nullable("integer"), "acked_by": nullable("string"), "acked_ms": nullable("integer")})),
        "AlertPage": page("Alert"),
        "User": obj(&["name", "role", "created_ms"], json!({"name": {"type": "string"}, "role": {"type": "string"}, "created_ms": {"type": "integer"}})),
        "Token": obj(&["name", "role", "created_ms"], json!({"name": {"type": "string"}, "role": {"type": "string"}, "created_ms": {"type": "integer"}})),
    });
    if let (Some(all), Value::Object(setup)) = (schemas.as_object_mut(), setup_schemas()) {
        all.extend(setup);
    }
    schemas
}

/// The set-up pages' schemas.
fn setup_schemas() -> Value {
    json!({
        "ShopForm": {"type": "object", "properties": {
            "shifts": {"type": "array", "items": obj(&["name", "start", "end"], json!({"name": {"type": "string"},
                "start": {"type": "string", "description": "HH:MM"}, "end": {"type": "string", "description": "HH:MM"},
                "days": {"type": "array", "items": {"enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}},
                "time_zone": nullable("string")}))},
            "downtime_reasons": {"type": "array", "items": {"type": "string"}},
            "summary_at": {"type": "array", "items": {"type": "string", "description": "HH:MM"}}}},
        "Setup": obj(&["file", "editable", "cameras", "machines", "machine_kinds", "lamp_colors", "shop"], json!({"file": {"type": "string"},
            "shop": {"$ref": "#/components/schemas/ShopForm"},
            "editable": {"type": "boolean"},
            "cameras": {"type": "array", "items": obj(&["id", "source", "has_password"], json!({"id": {"type": "string"},
                "source": {"type": "string"}, "username": nullable("string"), "has_password": {"type": "boolean"}, "fps": nullable("number")}))},
            "machines": {"type": "array", "items": obj(&["id", "camera", "lamps", "motion"], json!({"id": {"type": "string"},
                "camera": {"type": "string"}, "kind": nullable("string"), "lamps": {"type": "integer"}, "motion": {"type": "boolean"}}))},
            "machine_kinds": {"type": "array", "items": {"type": "string"}}, "lamp_colors": {"type": "array", "items": {"type": "string"}}})),
        "CameraForm": obj(&["id", "source"], json!({"id": {"type": "string"}, "source": {"type": "string"},
            "username": nullable("string"), "password": nullable("string"), "fps": nullable("number")})),
        "MachineForm": obj(&["id", "camera", "kind"], json!({"id": {"type": "string"}, "camera": {"type": "string"},
            "kind": {"type": "string"},
            "lamps": {"type": "array", "items": obj(&["color", "roi"], json!({"color": {"type": "string"},
                "roi": {"type": "array", "items": {"$ref": "#/components/schemas/Point"}}}))},
            "motion_roi": {"oneOf": [{"type": "array", "items": {"$ref": "#/components/schemas/Point"}}, {"type": "null"}]},
            "ideal_strokes_per_hour": nullable("number")})),
        "CameraTest": obj(&["ok", "message", "elapsed_ms"], json!({"ok": {"type": "boolean"}, "problem": nullable("string"),
            "message": {"type": "string"}, "codec": nullable("string"), "width_px": nullable("integer"), "height_px": nullable("integer"),
            "fps": nullable("number"), "snapshot": nullable("string"), "elapsed_ms": {"type": "integer"}})),
        "FindStatus": obj(&["state", "progress", "watch_s", "frames", "towers"], json!({"state": {"type": "string"},
            "progress": {"type": "number"}, "watch_s": {"type": "number"}, "frames": {"type": "integer"},
            "frame_width_px": nullable("integer"), "frame_height_px": nullable("integer"), "error": nullable("string"),
            "propose_ms": nullable("integer"),
            "towers": {"type": "array", "items": obj(&["pitch_px", "score", "lamps"], json!({"pitch_px": {"type": "number"},
                "score": {"type": "number"},
                "lamps": {"type": "array", "items": obj(&["color", "evidence", "center_px", "radius_px", "roi"], json!({
                    "color": {"type": "string"}, "evidence": {"type": "string"}, "center_px": {"$ref": "#/components/schemas/Point"},
                    "radius_px": {"type": "number"}, "roi": {"type": "array", "items": {"$ref": "#/components/schemas/Point"}}}))}}))}})),
    })
}

pub(crate) fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

pub(crate) fn array_of(name: &str) -> Value {
    json!({"type": "array", "items": reference(name)})
}

pub(crate) fn query(name: &str, description: &str, t: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": t}})
}

/// `from` and `to` of a time range.
pub(crate) fn range() -> Vec<Value> {
    vec![
        query("from", "RFC 3339 or ms since 1970 (default: 24 h before `to`)", "string"),
        query("to", "RFC 3339 or ms since 1970 (default: now)", "string"),
    ]
}

/// `limit` and `offset` of a page.
pub(crate) fn paging() -> Vec<Value> {
    vec![query("limit", "1 to 1000 (default 100)", "integer"), query("offset", "default 0", "integer")]
}

/// A required JSON request body of `schema`.
pub(crate) fn json_body(schema: Value) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

/// A time a client gives: RFC 3339 or ms since 1970.
pub(crate) fn time_value() -> Value {
    json!({"oneOf": [{"type": "string", "format": "date-time"}, {"type": "integer"}]})
}

/// The whole document.
pub fn build() -> Value {
    let mut paths = serde_json::Map::new();
    for route in ROUTES {
        let crate::routes::Doc { mut params, body, status, content } = (route.doc)();
        for seg in route.path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))) {
            params.push(json!({"name": seg, "in": "path", "required": true, "schema": {"type": "string"}}));
        }
        let mut responses = serde_json::Map::new();
        let mut ok = json!({"description": "success"});
        if content.as_object().is_some_and(|c| !c.is_empty()) {
            ok["content"] = content;
        }
        responses.insert(status.into(), ok);
        let error = json!({"description": "error", "content": {"application/json": {"schema": reference("Error")}}});
        responses.insert("4XX".into(), error.clone());
        if route.path == "/api/v1/login" {
            // Every password check is taken: try again in a second (Retry-After).
            responses.insert("503".into(), error);
        }
        let mut op = json!({
            "summary": route.summary,
            "tags": [route.tag],
            "operationId": format!("{}{}", route.method.to_lowercase(), route.path.replace(['/', '{', '}', '.', '-'], "_")),
            "parameters": params,
            "responses": responses,
            "x-required-role": route.role.map(|r| r.as_str()),
        });
        op["security"] = if route.role.is_some() { json!([{"session": []}, {"token": []}]) } else { json!([]) };
        if let Some(b) = body {
            op["requestBody"] = b;
        }
        let entry = paths.entry(route.path.to_string()).or_insert_with(|| json!({}));
        entry[route.method.to_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "SheetSight API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Live machine states, lamps, strokes, history, reports, alerts and the region editor of a SheetSight server. Changes through a browser session need the X-CSRF-Token header; API tokens (Authorization: Bearer) do not."},
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE},
                "token": {"type": "http", "scheme": "bearer"}
            }
        }
    })
}

pub async fn document() -> Json<Value> {
    Json(build())
}
