//! The OpenAPI 3.1 document of `/api/v1`, built from the route table
//! ([`crate::routes::ROUTES`]) so that every served route is described and nothing else
//! is; parameters and response schemas are written here by hand and checked against
//! real answers by the tests (`tests/api.rs`).

use axum::Json;
use serde_json::{Value, json};

use crate::routes::ROUTES;

fn obj(required: &[&str], props: Value) -> Value {
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
    json!({
        "Error": obj(&["error"], json!({"error": obj(&["status", "message"], json!({"status": {"type": "integer"}, "message": {"type": "string"}}))})),
        "Session": obj(&["name", "role", "via"], json!({"name": {"type": "string"}, "role": {"enum": ["viewer", "operator", "admin"]},
            "via": {"enum": ["session", "token"]}, "csrf": nullable("string")})),
        "Lamp": obj(&["index", "color", "mode"], json!({"index": {"type": "integer"}, "color": {"type": "string"},
            "mode": {"enum": ["off", "steady", "blinking", "flashing", "unknown", null]}})),
        "MachineLive": obj(&["id", "camera", "state", "state_since", "lamps", "motion_active", "strokes_today", "availability_today", "job", "camera_health"],
            json!({"id": {"type": "string"}, "camera": {"type": "string"},
                "state": {"enum": ["Executing", "NotExecuting", "OutOfService", "NotAvailable", null]},
                "state_since": time, "lamps": {"type": "array", "items": {"$ref": "#/components/schemas/Lamp"}},
                "motion_active": {"type": "boolean"}, "strokes_today": {"type": "integer"},
                "availability_today": nullable("number"), "job": nullable("string"), "camera_health": {"type": "string"}})),
        "CameraLive": obj(&["id", "health", "since"], json!({"id": {"type": "string"}, "health": {"enum": ["connecting", "streaming", "stalled", "failed"]},
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
            "open": {"type": "boolean"}, "reason": nullable("string"), "start_ms": {"type": "integer"}})),
        "StopPage": page("Stop"),
        "NotePage": page("Note"),
        "ReportRow": obj(&["machine", "shift", "date", "start", "end", "planned_s", "executing_s", "availability", "strokes", "longest_stop_s"],
            json!({"machine": {"type": "string"}, "shift": {"type": "string"}, "date": {"type": "string"}, "start": time, "end": time,
                "planned_s": {"type": "number"}, "executing_s": {"type": "number"}, "not_executing_s": {"type": "number"},
                "out_of_service_s": {"type": "number"}, "not_available_s": {"type": "number"}, "unrecorded_s": {"type": "number"},
                "availability": nullable("number"), "availability_seen": nullable("number"), "strokes": {"type": "integer"},
                "strokes_per_hour": nullable("number"), "longest_stop_s": {"type": "number"}, "longest_stop_start": nullable("string"),
                "time_zone": {"type": "string"}})),
        "ShiftFigures": {"allOf": [{"$ref": "#/components/schemas/ReportRow"}, obj(&["performance", "quality", "oee", "strokes_by_hour", "stops"],
            json!({"performance": nullable("number"), "quality": {"type": "number"}, "oee": nullable("number"),
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
    })
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn array_of(name: &str) -> Value {
    json!({"type": "array", "items": reference(name)})
}

fn query(name: &str, description: &str, t: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": t}})
}

/// Parameters, request body and the 2xx answer of one route.
fn details(method: &str, path: &str) -> (Vec<Value>, Option<Value>, &'static str, Value) {
    let range = || {
        vec![
            query("from", "RFC 3339 or ms since 1970 (default: 24 h before `to`)", "string"),
            query("to", "RFC 3339 or ms since 1970 (default: now)", "string"),
        ]
    };
    let paging = || vec![query("limit", "1 to 1000 (default 100)", "integer"), query("offset", "default 0", "integer")];
    let json_body =
        |schema: Value| Some(json!({"required": true, "content": {"application/json": {"schema": schema}}}));
    let time_value = json!({"oneOf": [{"type": "string", "format": "date-time"}, {"type": "integer"}]});
    match (method, path) {
        ("GET", "/") => (vec![], None, "200", json!({"text/html": {}})),
        ("GET", "/assets/{file}") => (vec![], None, "200", json!({"application/octet-stream": {}})),
        ("GET", "/metrics") => (vec![], None, "200", json!({"application/openmetrics-text": {}})),
        ("GET", "/api/v1/openapi.json") => {
            (vec![], None, "200", json!({"application/json": {"schema": {"type": "object"}}}))
        }
        ("POST", "/api/v1/login") => (
            vec![],
            json_body(obj(&["name", "password"], json!({"name": {"type": "string"}, "password": {"type": "string"}}))),
            "200",
            json!({"application/json": {"schema": reference("Session")}}),
        ),
        ("POST", "/api/v1/logout") => (vec![], None, "204", json!({})),
        ("GET", "/api/v1/session") => {
            (vec![], None, "200", json!({"application/json": {"schema": reference("Session")}}))
        }
        ("GET", "/api/v1/overview") => {
            (vec![], None, "200", json!({"application/json": {"schema": reference("Overview")}}))
        }
        ("GET", "/api/v1/events") => (vec![], None, "200", json!({"text/event-stream": {}})),
        ("GET", "/api/v1/machines") => {
            (vec![], None, "200", json!({"application/json": {"schema": array_of("Machine")}}))
        }
        ("GET", "/api/v1/machines/{id}") => {
            (vec![], None, "200", json!({"application/json": {"schema": reference("Machine")}}))
        }
        ("GET", "/api/v1/machines/{id}/timeline") => {
            (range(), None, "200", json!({"application/json": {"schema": reference("Timeline")}}))
        }
        ("GET", "/api/v1/machines/{id}/shift") => (
            vec![
                query(
                    "date",
                    "local date the shift starts on, YYYY-MM-DD (default: the current or last shift)",
                    "string",
                ),
                query("shift", "shift name (default: any)", "string"),
                query("min_minutes", "shortest stop listed (default 5)", "number"),
            ],
            None,
            "200",
            json!({"application/json": {"schema": reference("ShiftFigures")}}),
        ),
        ("GET", "/api/v1/machines/{id}/stops") => (
            [range(), paging(), vec![query("min_minutes", "shortest stop listed (default 5)", "number")]].concat(),
            None,
            "200",
            json!({"application/json": {"schema": reference("StopPage")}}),
        ),
        ("GET", "/api/v1/machines/{id}/notes") => {
            ([range(), paging()].concat(), None, "200", json!({"application/json": {"schema": reference("NotePage")}}))
        }
        ("POST", "/api/v1/machines/{id}/reason") => (
            vec![],
            json_body(obj(
                &["start", "reason"],
                json!({"start": time_value, "end": time_value, "reason": {"type": "string", "description": "one of /api/v1/downtime-reasons"}}),
            )),
            "201",
            json!({"application/json": {"schema": reference("Note")}}),
        ),
        ("POST", "/api/v1/machines/{id}/job") => (
            vec![],
            json_body(obj(&["job"], json!({"job": {"type": "string"}, "start": time_value}))),
            "201",
            json!({"application/json": {"schema": reference("Note")}}),
        ),
        ("GET", "/api/v1/downtime-reasons") => (
            vec![],
            None,
            "200",
            json!({"application/json": {"schema": {"type": "array", "items": {"type": "string"}}}}),
        ),
        ("GET", "/api/v1/cameras") => {
            (vec![], None, "200", json!({"application/json": {"schema": array_of("Camera")}}))
        }
        ("GET", "/api/v1/cameras/{id}/snapshot.jpg") => (vec![], None, "200", json!({"image/jpeg": {}})),
        ("GET", "/api/v1/cameras/{id}/mjpeg") => (vec![], None, "200", json!({"multipart/x-mixed-replace": {}})),
        ("GET", "/api/v1/cameras/{id}/regions") => {
            (vec![], None, "200", json!({"application/json": {"schema": reference("CameraRegions")}}))
        }
        ("PUT", "/api/v1/cameras/{id}/regions") => (
            vec![],
            json_body(obj(&["machines"], json!({"machines": array_of("MachineRegions")}))),
            "200",
            json!({"application/json": {"schema": reference("CameraRegions")}}),
        ),
        ("GET", "/api/v1/report") => (
            vec![
                query("from", "first local date, YYYY-MM-DD (default today)", "string"),
                query("to", "last local date, YYYY-MM-DD (default today)", "string"),
                query("machine", "one machine (default all)", "string"),
                query("format", "json (default) or csv", "string"),
            ],
            None,
            "200",
            json!({"application/json": {"schema": array_of("ReportRow")}, "text/csv": {}}),
        ),
        ("GET", "/api/v1/alerts") => (
            [vec![query("open", "only alerts not acknowledged (default true)", "boolean")], range(), paging()].concat(),
            None,
            "200",
            json!({"application/json": {"schema": reference("AlertPage")}}),
        ),
        ("POST", "/api/v1/alerts/{id}/ack") => {
            (vec![], None, "200", json!({"application/json": {"schema": reference("Alert")}}))
        }
        ("GET", "/api/v1/users") => (vec![], None, "200", json!({"application/json": {"schema": array_of("User")}})),
        ("POST", "/api/v1/users") => (
            vec![],
            json_body(obj(
                &["name", "password", "role"],
                json!({"name": {"type": "string"}, "password": {"type": "string", "minLength": 10, "maxLength": 128},
                "role": {"enum": ["viewer", "operator", "admin"]}}),
            )),
            "201",
            json!({"application/json": {"schema": obj(&["name", "role"], json!({"name": {"type": "string"}, "role": {"type": "string"}}))}}),
        ),
        ("GET", "/api/v1/tokens") => (vec![], None, "200", json!({"application/json": {"schema": array_of("Token")}})),
        ("POST", "/api/v1/tokens") => (
            vec![],
            json_body(obj(
                &["name", "role"],
                json!({"name": {"type": "string"}, "role": {"enum": ["viewer", "operator", "admin"]}}),
            )),
            "201",
            json!({"application/json": {"schema": obj(&["name", "role", "token"], json!({"name": {"type": "string"}, "role": {"type": "string"},
                "token": {"type": "string", "description": "shown only here"}}))}}),
        ),
        ("DELETE", _) => (vec![], None, "204", json!({})),
        _ => (vec![], None, "200", json!({})),
    }
}

/// The whole document.
pub fn build() -> Value {
    let mut paths = serde_json::Map::new();
    for route in ROUTES {
        let (mut params, body, status, content) = details(route.method, route.path);
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
