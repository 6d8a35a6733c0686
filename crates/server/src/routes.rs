//! Every route the server answers, with the least role it needs: the one table that the
//! authorisation middleware, the OpenAPI document and the role tests all read, so that
//! none of them can miss a route.

use axum::http::Method;

use crate::auth::Role;

#[derive(Clone, Copy, Debug)]
pub struct Route {
    pub method: &'static str,
    /// In axum's syntax: `/api/v1/machines/{id}`.
    pub path: &'static str,
    /// `None`: anyone, logged in or not.
    pub role: Option<Role>,
    pub summary: &'static str,
    pub tag: &'static str,
}

const fn r(
    method: &'static str,
    path: &'static str,
    role: Option<Role>,
    tag: &'static str,
    summary: &'static str,
) -> Route {
    Route { method, path, role, summary, tag }
}

const V: Option<Role> = Some(Role::Viewer);
const O: Option<Role> = Some(Role::Operator);
const A: Option<Role> = Some(Role::Admin);

pub const ROUTES: &[Route] = &[
    // The web UI: the page and its assets are public; the data they show is not.
    r("GET", "/", None, "ui", "The dashboard (single page; it asks for a login)"),
    r("GET", "/assets/{file}", None, "ui", "Static assets of the dashboard"),
    r("GET", "/metrics", V, "metrics", "Prometheus metrics"),
    r("GET", "/api/v1/openapi.json", None, "meta", "This API's OpenAPI 3.1 document"),
    r("POST", "/api/v1/login", None, "session", "Log in with a name and password; sets the session cookie"),
    r("POST", "/api/v1/logout", V, "session", "End the session"),
    r("GET", "/api/v1/session", V, "session", "Who is logged in, their role and the CSRF token"),
    r("GET", "/api/v1/overview", V, "floor", "Every machine's current state, lamps, today's availability and strokes"),
    r("GET", "/api/v1/events", V, "floor", "Live events as Server-Sent Events"),
    r("GET", "/api/v1/machines", V, "machines", "The configured machines"),
    r("GET", "/api/v1/machines/{id}", V, "machines", "One machine's live status"),
    r("GET", "/api/v1/machines/{id}/timeline", V, "machines", "State intervals of a machine in a time range"),
    r(
        "GET",
        "/api/v1/machines/{id}/shift",
        V,
        "machines",
        "Availability, performance, OEE, strokes per hour and stops of a shift",
    ),
    r("GET", "/api/v1/machines/{id}/stops", V, "machines", "Stops longer than a minimum, with their reasons"),
    r("GET", "/api/v1/machines/{id}/notes", V, "machines", "Reasons and jobs given to a machine's time"),
    r("POST", "/api/v1/machines/{id}/reason", O, "machines", "Give a stop its downtime reason"),
    r("POST", "/api/v1/machines/{id}/job", O, "machines", "Mark the job a machine runs from now (or a given time)"),
    r("GET", "/api/v1/downtime-reasons", V, "machines", "The configured downtime reasons"),
    r("GET", "/api/v1/cameras", V, "cameras", "Cameras with health and counters (never their credentials)"),
    r("GET", "/api/v1/cameras/{id}/snapshot.jpg", V, "cameras", "The newest analysed frame as JPEG"),
    r("GET", "/api/v1/cameras/{id}/mjpeg", V, "cameras", "Live view as an MJPEG stream"),
    r(
        "GET",
        "/api/v1/cameras/{id}/regions",
        V,
        "cameras",
        "Lamp and motion regions of the machines on a camera, with readings",
    ),
    r(
        "PUT",
        "/api/v1/cameras/{id}/regions",
        A,
        "cameras",
        "Save edited regions to the configuration; applied without a restart",
    ),
    r("GET", "/api/v1/report", V, "reports", "The shift report (JSON or CSV)"),
    r("GET", "/api/v1/alerts", V, "alerts", "Alerts, newest first"),
    r("POST", "/api/v1/alerts/{id}/ack", O, "alerts", "Acknowledge an alert"),
    r("GET", "/api/v1/users", A, "admin", "Users"),
    r("POST", "/api/v1/users", A, "admin", "Add a user or change their password and role"),
    r("DELETE", "/api/v1/users/{name}", A, "admin", "Delete a user"),
    r("GET", "/api/v1/tokens", A, "admin", "API tokens (names and roles only)"),
    r("POST", "/api/v1/tokens", A, "admin", "Create an API token; the token is shown once"),
    r("DELETE", "/api/v1/tokens/{name}", A, "admin", "Revoke an API token"),
];

pub fn find(method: &Method, path: &str) -> Option<&'static Route> {
    let method = if method == Method::HEAD { "GET" } else { method.as_str() };
    ROUTES.iter().find(|r| r.path == path && r.method == method)
}
