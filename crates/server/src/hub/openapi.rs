//! The OpenAPI 3.1 document of the hub's `/api/v1`: its routes, their parameters and
//! answers. The shift report's rows are the edge's (`ReportRow` and what it refers to,
//! from the edge's document); the tests check that every route is described and every
//! reference resolves.

use axum::Json;
use serde_json::{Value, json};

use crate::openapi::obj;

/// (method, path, summary, query parameters, answer schema).
type RouteDoc = (&'static str, &'static str, &'static str, &'static [(&'static str, &'static str)], Value);

fn routes() -> Vec<RouteDoc> {
    let time = json!({"type": "string", "format": "date-time"});
    let time_or_null = json!({"type": ["string", "null"], "format": "date-time"});
    let number_or_null = json!({"type": ["number", "null"]});
    let state = json!({"enum": ["Executing", "NotExecuting", "OutOfService", "NotAvailable"]});
    let standing =
        obj(&["machine", "state", "since"], json!({"machine": {"type": "string"}, "state": state, "since": time}));
    let shop = obj(
        &[
            "shop",
            "name",
            "planned_s",
            "watched_s",
            "availability",
            "oee",
            "strokes",
            "machines",
            "running",
            "standing",
            "open_alerts",
            "no_profile",
        ],
        json!({
            "shop": {"type": "string"}, "name": {"type": "string"}, "since": time_or_null,
            "planned_s": {"type": "number"}, "watched_s": {"type": "number"}, "executing_s": {"type": "number"},
            "availability": number_or_null, "oee": number_or_null, "strokes": {"type": "integer"},
            "machines": {"type": "integer"}, "running": {"type": "integer"},
            "standing": {"type": "array", "items": standing}, "open_alerts": {"type": "integer"},
            "last_heard": time_or_null, "no_profile": {"type": "boolean"}
        }),
    );
    let session = obj(
        &["name", "via"],
        json!({"name": {"type": "string"}, "shop": {"type": ["string", "null"]}, "via": {"enum": ["session", "token"]},
               "csrf": {"type": ["string", "null"]}}),
    );
    let machine = obj(
        &["id"],
        json!({"id": {"type": "string"}, "kind": {"type": ["string", "null"]}, "ideal_strokes_per_hour": number_or_null,
               "state": {"enum": ["Executing", "NotExecuting", "OutOfService", "NotAvailable", null]}, "since": time_or_null}),
    );
    let alert = obj(
        &["rule", "subject", "message", "raised"],
        json!({"rule": {"type": "string"}, "subject": {"type": "string"}, "message": {"type": "string"}, "raised": time,
               "cleared": time_or_null, "acked_by": {"type": ["string", "null"]}, "acked": time_or_null}),
    );
    let array = |items: Value| json!({"type": "array", "items": items});
    vec![
        (
            "post",
            "/api/v1/login",
            "Log in with name and password: a session cookie and its CSRF token",
            &[],
            session.clone(),
        ),
        ("post", "/api/v1/logout", "End this session (X-CSRF-Token)", &[], json!({})),
        ("get", "/api/v1/session", "Who is asking, and which shop they read (null: every shop)", &[], session),
        (
            "get",
            "/api/v1/overview",
            "Every shop readable: availability and OEE of its day so far, machines standing now, open alerts",
            &[("at", "the moment to look at: RFC 3339 or ms since 1970 (default now)")],
            obj(&["at", "shops"], json!({"at": time, "shops": array(shop)})),
        ),
        (
            "get",
            "/api/v1/shops",
            "The shops readable, for the picker",
            &[],
            array(obj(&["id", "name"], json!({"id": {"type": "string"}, "name": {"type": "string"}}))),
        ),
        ("get", "/api/v1/shops/{shop}/machines", "The shop's machines and their state now", &[], array(machine)),
        (
            "get",
            "/api/v1/shops/{shop}/report",
            "The shop's shift report (the edge's rows), as JSON or CSV",
            &[
                ("from", "first local date, YYYY-MM-DD (default the current shift day: that of the shift begun last)"),
                ("to", "last local date (default the current shift day: that of the shift begun last)"),
                ("machine", "one machine only"),
                ("format", "json (default) or csv"),
            ],
            array(json!({"$ref": "#/components/schemas/ReportRow"})),
        ),
        (
            "get",
            "/api/v1/shops/{shop}/summary",
            "The charts' figures of the shop (the edge's summary): per machine and day, per shift, downtime Pareto",
            &[
                ("from", "first local date, YYYY-MM-DD (default the current shift day: that of the shift begun last)"),
                ("to", "last local date (default the current shift day: that of the shift begun last)"),
                ("machine", "one machine only"),
            ],
            json!({"$ref": "#/components/schemas/Summary"}),
        ),
        (
            "get",
            "/api/v1/shops/{shop}/machines/{machine}/timeline",
            "A machine's states and notes in a time range (the edge's timeline)",
            &[("from", "start, RFC 3339 or ms since 1970 (default 24 hours ago)"), ("to", "end (default now)")],
            json!({"$ref": "#/components/schemas/Timeline"}),
        ),
        ("get", "/api/v1/shops/{shop}/alerts", "The shop's alerts, newest first (at most 500)", &[], array(alert)),
    ]
}

pub fn build() -> Value {
    let mut paths = serde_json::Map::new();
    for (method, path, summary, query, answer) in routes() {
        let mut params: Vec<Value> = query
            .iter()
            .map(|(name, description)| {
                json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}})
            })
            .collect();
        for name in ["shop", "machine"] {
            if path.contains(&format!("{{{name}}}")) {
                params.push(json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}));
            }
        }
        let public = path == "/api/v1/login";
        let op = json!({
            "summary": summary,
            "parameters": params,
            "security": if public { json!([]) } else { json!([{"session": []}, {"token": []}]) },
            "responses": {
                if method == "post" && path.ends_with("logout") { "204" } else { "200" }:
                    {"description": "success", "content": {"application/json": {"schema": answer}}},
                "4XX": {"description": "error (a shop not readable is 404, as one that does not exist)",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
        });
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[method] = op;
    }
    let edge = crate::openapi::build();
    json!({
        "openapi": "3.1.0",
        "info": {"title": "SheetSight hub API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Many shops' figures at the hub. A shop's user or token reads only its shop; a platform user or token reads every shop."},
        "paths": paths,
        "components": {
            "schemas": {
                "ReportRow": edge["components"]["schemas"]["ReportRow"].clone(),
                "CycleStats": edge["components"]["schemas"]["CycleStats"].clone(),
                "Attendance": edge["components"]["schemas"]["Attendance"].clone(),
                "Error": edge["components"]["schemas"]["Error"].clone(),
                "Summary": edge["components"]["schemas"]["Summary"].clone(),
                "Timeline": edge["components"]["schemas"]["Timeline"].clone(),
                "Note": edge["components"]["schemas"]["Note"].clone(),
                "Totals": edge["components"]["schemas"]["Totals"].clone(),
                "Downtime": edge["components"]["schemas"]["Downtime"].clone(),
            },
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": super::HUB_SESSION_COOKIE},
                "token": {"type": "http", "scheme": "bearer"}
            }
        }
    })
}

pub async fn document() -> Json<Value> {
    Json(build())
}
