//! Bad input of every kind gets a JSON error in the one shape, with the right status and
//! the field at fault, and never takes the server down.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

/// One bad request and what must come back.
struct Case {
    name: &'static str,
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    body: Option<Vec<u8>>,
    status: u16,
    code: &'static str,
    /// A field the error must name, for 422s.
    field: Option<&'static str>,
}

fn post_ticket(name: &'static str, body: Value, status: u16, field: Option<&'static str>) -> Case {
    Case {
        name,
        method: Method::POST,
        path: "/api/v1/tickets".into(),
        content_type: Some("application/json"),
        body: Some(body.to_string().into_bytes()),
        status,
        code: if status == 422 {
            "validation_failed"
        } else {
            ""
        },
        field,
    }
}

fn raw(
    name: &'static str,
    method: Method,
    path: &str,
    content_type: Option<&'static str>,
    body: &[u8],
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        name,
        method,
        path: path.to_owned(),
        content_type,
        body: Some(body.to_vec()),
        status,
        code,
        field: None,
    }
}

fn get(
    name: &'static str,
    path: &str,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
) -> Case {
    Case {
        name,
        method: Method::GET,
        path: path.to_owned(),
        content_type: None,
        body: None,
        status,
        code,
        field,
    }
}

fn with(mutate: impl FnOnce(&mut Value)) -> Value {
    let mut body = printer_ticket();
    mutate(&mut body);
    body
}

fn without(path: &[&str]) -> Value {
    with(|body| {
        let (last, parents) = path.split_last().unwrap();
        let mut node = body;
        for key in parents {
            node = &mut node[*key];
        }
        node.as_object_mut().unwrap().remove(*last);
    })
}

fn cases(ticket: i64) -> Vec<Case> {
    let json = Some("application/json");
    let nested = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let big_description = "x".repeat(300 * 1024);
    vec![
        // Not JSON at all.
        raw(
            "empty body",
            Method::POST,
            "/api/v1/tickets",
            json,
            b"",
            400,
            "bad_request",
        ),
        raw(
            "open brace",
            Method::POST,
            "/api/v1/tickets",
            json,
            b"{",
            400,
            "bad_request",
        ),
        raw(
            "prose",
            Method::POST,
            "/api/v1/tickets",
            json,
            b"please fix my printer",
            400,
            "bad_request",
        ),
        raw(
            "trailing comma",
            Method::POST,
            "/api/v1/tickets",
            json,
            b"{\"title\": \"x\",}",
            400,
            "bad_request",
        ),
        raw(
            "trailing garbage",
            Method::POST,
            "/api/v1/tickets",
            json,
            b"{} {}",
            400,
            "bad_request",
        ),
        raw(
            "single quotes",
            Method::POST,
            "/api/v1/tickets",
            json,
            b"{'title': 'x'}",
            400,
            "bad_request",
        ),
        raw(
            "invalid UTF-8",
            Method::POST,
            "/api/v1/tickets",
            json,
            b"{\"title\": \"\xff\xfe\"}",
            400,
            "bad_request",
        ),
        // Well-formed, just absurd: refused for its shape, without exhausting the stack.
        raw(
            "deeply nested",
            Method::POST,
            "/api/v1/tickets",
            json,
            nested.as_bytes(),
            422,
            "validation_failed",
        ),
        raw(
            "deeply nested title",
            Method::POST,
            "/api/v1/tickets",
            json,
            format!("{{\"title\": {nested}}}").as_bytes(),
            422,
            "validation_failed",
        ),
        raw(
            "unclosed nesting",
            Method::POST,
            "/api/v1/tickets",
            json,
            "[".repeat(100_000).as_bytes(),
            400,
            "bad_request",
        ),
        raw(
            "bad escape",
            Method::POST,
            "/api/v1/tickets",
            json,
            b"{\"title\": \"\\q\"}",
            400,
            "bad_request",
        ),
        // JSON of the wrong shape: 422 naming the field.
        post_ticket("array", json!([1, 2]), 422, None),
        post_ticket("null", Value::Null, 422, None),
        post_ticket("string", json!("ticket"), 422, None),
        post_ticket(
            "title a number",
            with(|b| b["title"] = json!(5)),
            422,
            Some("title"),
        ),
        post_ticket(
            "title null",
            with(|b| b["title"] = Value::Null),
            422,
            Some("title"),
        ),
        post_ticket(
            "title an object",
            with(|b| b["title"] = json!({"a": 1})),
            422,
            Some("title"),
        ),
        post_ticket(
            "unknown category",
            with(|b| b["category"] = json!("toaster")),
            422,
            Some("category"),
        ),
        post_ticket(
            "category wrong case",
            with(|b| b["category"] = json!("Printer")),
            422,
            Some("category"),
        ),
        post_ticket(
            "category a number",
            with(|b| b["category"] = json!(3)),
            422,
            Some("category"),
        ),
        post_ticket(
            "unknown impact",
            with(|b| b["impact"] = json!("everyone")),
            422,
            Some("impact"),
        ),
        post_ticket(
            "unknown urgency",
            with(|b| b["urgency"] = json!("yesterday")),
            422,
            Some("urgency"),
        ),
        post_ticket(
            "unknown user kind",
            with(|b| b["requester"]["userKind"] = json!("alien")),
            422,
            Some("requester.userKind"),
        ),
        post_ticket(
            "requester a string",
            with(|b| b["requester"] = json!("Dana")),
            422,
            Some("requester"),
        ),
        post_ticket("missing title", without(&["title"]), 422, Some("title")),
        post_ticket(
            "missing category",
            without(&["category"]),
            422,
            Some("category"),
        ),
        post_ticket(
            "missing requester",
            without(&["requester"]),
            422,
            Some("requester"),
        ),
        post_ticket(
            "missing user kind",
            without(&["requester", "userKind"]),
            422,
            Some("requester.userKind"),
        ),
        post_ticket(
            "missing requester name",
            without(&["requester", "name"]),
            422,
            Some("requester.name"),
        ),
        post_ticket(
            "tags not a list",
            with(|b| b["tags"] = json!("a,b")),
            422,
            Some("tags"),
        ),
        post_ticket(
            "tag a number",
            with(|b| b["tags"] = json!(["ok", 5])),
            422,
            Some("tags[1]"),
        ),
        post_ticket(
            "tag with a space",
            with(|b| b["tags"] = json!(["ok", "not ok"])),
            422,
            Some("tags[1]"),
        ),
        post_ticket(
            "too many tags",
            with(|b| b["tags"] = json!((0..21).map(|n| format!("t{n}")).collect::<Vec<_>>())),
            422,
            Some("tags"),
        ),
        // Values out of range.
        post_ticket(
            "empty title",
            with(|b| b["title"] = json!("")),
            422,
            Some("title"),
        ),
        post_ticket(
            "blank title",
            with(|b| b["title"] = json!(" \t\n ")),
            422,
            Some("title"),
        ),
        post_ticket(
            "title of 201",
            with(|b| b["title"] = json!("t".repeat(201))),
            422,
            Some("title"),
        ),
        post_ticket(
            "title of 201 umlauts",
            with(|b| b["title"] = json!("ü".repeat(201))),
            422,
            Some("title"),
        ),
        post_ticket(
            "title of 200",
            with(|b| b["title"] = json!("t".repeat(200))),
            201,
            None,
        ),
        post_ticket(
            "title of 200 emoji",
            with(|b| b["title"] = json!("🖨".repeat(200))),
            201,
            None,
        ),
        post_ticket(
            "description too long",
            with(|b| b["description"] = json!("d".repeat(20_001))),
            422,
            Some("description"),
        ),
        post_ticket(
            "blank requester name",
            with(|b| b["requester"]["name"] = json!("  ")),
            422,
            Some("requester.name"),
        ),
        post_ticket(
            "bad e-mail",
            with(|b| b["requester"]["email"] = json!("dana at example")),
            422,
            Some("requester.email"),
        ),
        post_ticket(
            "several at once",
            with(|b| {
                b["title"] = json!("");
                b["requester"]["email"] = json!("nope");
            }),
            422,
            Some("requester.email"),
        ),
        post_ticket(
            "NUL and controls kept",
            with(|b| b["title"] = json!("a\u{0000}b\u{001b}[31mc")),
            201,
            None,
        ),
        // Bodies and media types.
        raw(
            "too large",
            Method::POST,
            "/api/v1/tickets",
            json,
            json!({"title": "t", "description": big_description})
                .to_string()
                .as_bytes(),
            413,
            "payload_too_large",
        ),
        Case {
            name: "no content type",
            content_type: None,
            status: 415,
            code: "unsupported_media_type",
            ..post_ticket("", printer_ticket(), 0, None)
        },
        Case {
            name: "text/plain",
            content_type: Some("text/plain"),
            status: 415,
            code: "unsupported_media_type",
            ..post_ticket("", printer_ticket(), 0, None)
        },
        Case {
            name: "form encoded",
            content_type: Some("application/x-www-form-urlencoded"),
            status: 415,
            code: "unsupported_media_type",
            ..post_ticket("", printer_ticket(), 0, None)
        },
        Case {
            name: "json with charset",
            content_type: Some("application/json; charset=utf-8"),
            status: 201,
            code: "",
            ..post_ticket("", printer_ticket(), 0, None)
        },
        Case {
            name: "json in capitals",
            content_type: Some("Application/JSON"),
            status: 201,
            code: "",
            ..post_ticket("", printer_ticket(), 0, None)
        },
        // Other routes' bodies.
        raw(
            "version a string",
            Method::PATCH,
            &format!("/api/v1/tickets/{ticket}"),
            json,
            b"{\"version\": \"1\"}",
            422,
            "validation_failed",
        ),
        raw(
            "version overflows",
            Method::PATCH,
            &format!("/api/v1/tickets/{ticket}"),
            json,
            b"{\"version\": 1e400}",
            422,
            "validation_failed",
        ),
        raw(
            "version huge",
            Method::PATCH,
            &format!("/api/v1/tickets/{ticket}"),
            json,
            b"{\"version\": 99999999999999999999999}",
            422,
            "validation_failed",
        ),
        raw(
            "unknown edit field",
            Method::PATCH,
            &format!("/api/v1/tickets/{ticket}"),
            json,
            b"{\"version\": 1, \"assigneeId\": 3}",
            422,
            "validation_failed",
        ),
        raw(
            "status unknown",
            Method::POST,
            &format!("/api/v1/tickets/{ticket}/status"),
            json,
            b"{\"status\": \"archived\"}",
            422,
            "validation_failed",
        ),
        raw(
            "reply body a list",
            Method::POST,
            &format!("/api/v1/tickets/{ticket}/replies"),
            json,
            b"{\"body\": [\"hi\"]}",
            422,
            "validation_failed",
        ),
        raw(
            "reply extra field",
            Method::POST,
            &format!("/api/v1/tickets/{ticket}/replies"),
            json,
            b"{\"body\": \"hi\", \"internal\": true}",
            422,
            "validation_failed",
        ),
        // Paths.
        get(
            "id not a number",
            "/api/v1/tickets/abc",
            400,
            "bad_request",
            None,
        ),
        get(
            "id overflows",
            "/api/v1/tickets/99999999999999999999",
            400,
            "bad_request",
            None,
        ),
        get(
            "id with a dot",
            "/api/v1/tickets/1.5",
            400,
            "bad_request",
            None,
        ),
        get(
            "attachment id not a number",
            &format!("/api/v1/tickets/{ticket}/attachments/x"),
            400,
            "bad_request",
            None,
        ),
        get(
            "timeline of abc",
            "/api/v1/tickets/abc/timeline",
            400,
            "bad_request",
            None,
        ),
        get("negative id", "/api/v1/tickets/-1", 404, "not_found", None),
        get("unknown id", "/api/v1/tickets/0", 404, "not_found", None),
        get(
            "unknown api route",
            "/api/v1/printers",
            404,
            "not_found",
            None,
        ),
        get(
            "unknown nested route",
            &format!("/api/v1/tickets/{ticket}/history"),
            404,
            "not_found",
            None,
        ),
        get("unknown root route", "/index.php", 404, "not_found", None),
        get(
            "older api version",
            "/api/v0/tickets",
            404,
            "not_found",
            None,
        ),
        get(
            "path traversal",
            "/api/v1/../../etc/passwd",
            404,
            "not_found",
            None,
        ),
        // Methods.
        raw(
            "delete the queue",
            Method::DELETE,
            "/api/v1/tickets",
            None,
            b"",
            405,
            "method_not_allowed",
        ),
        raw(
            "put a ticket",
            Method::PUT,
            &format!("/api/v1/tickets/{ticket}"),
            json,
            b"{}",
            405,
            "method_not_allowed",
        ),
        raw(
            "delete a ticket",
            Method::DELETE,
            &format!("/api/v1/tickets/{ticket}"),
            None,
            b"",
            405,
            "method_not_allowed",
        ),
        raw(
            "get login",
            Method::GET,
            "/api/v1/auth/login",
            None,
            b"",
            405,
            "method_not_allowed",
        ),
        raw(
            "post health",
            Method::POST,
            "/healthz",
            None,
            b"",
            405,
            "method_not_allowed",
        ),
        // Query strings.
        get(
            "unknown parameter",
            "/api/v1/tickets?sort=title",
            422,
            "validation_failed",
            Some("sort"),
        ),
        get(
            "misspelt parameter",
            "/api/v1/tickets?stauts=new",
            422,
            "validation_failed",
            Some("stauts"),
        ),
        get(
            "limit zero",
            "/api/v1/tickets?limit=0",
            422,
            "validation_failed",
            Some("limit"),
        ),
        get(
            "limit too big",
            "/api/v1/tickets?limit=201",
            422,
            "validation_failed",
            Some("limit"),
        ),
        get(
            "limit negative",
            "/api/v1/tickets?limit=-5",
            422,
            "validation_failed",
            Some("limit"),
        ),
        get(
            "limit text",
            "/api/v1/tickets?limit=ten",
            422,
            "validation_failed",
            Some("limit"),
        ),
        get(
            "cursor garbage",
            "/api/v1/tickets?cursor=garbage",
            422,
            "validation_failed",
            Some("cursor"),
        ),
        get(
            "cursor half",
            "/api/v1/tickets?cursor=12.",
            422,
            "validation_failed",
            Some("cursor"),
        ),
        get(
            "cursor SQL",
            "/api/v1/tickets?cursor=1.1%20OR%201%3D1",
            422,
            "validation_failed",
            Some("cursor"),
        ),
        get(
            "bad percent escape",
            "/api/v1/tickets?q=%ZZ",
            400,
            "bad_request",
            None,
        ),
        get(
            "percent-encoded invalid UTF-8",
            "/api/v1/tickets?q=%FF",
            400,
            "bad_request",
            None,
        ),
        get(
            "sync cursor text",
            "/api/v1/sync?cursor=abc",
            422,
            "validation_failed",
            Some("cursor"),
        ),
        get(
            "sync cursor negative",
            "/api/v1/sync?cursor=-1",
            422,
            "validation_failed",
            Some("cursor"),
        ),
        get(
            "sync limit zero",
            "/api/v1/sync?cursor=0&limit=0",
            422,
            "validation_failed",
            Some("limit"),
        ),
        get(
            "sync unknown parameter",
            "/api/v1/sync?curser=5",
            422,
            "validation_failed",
            Some("curser"),
        ),
        get(
            "audit after text",
            "/api/v1/audit?after=x",
            422,
            "validation_failed",
            Some("after"),
        ),
        get(
            "audit unknown parameter",
            "/api/v1/audit?since=1",
            422,
            "validation_failed",
            Some("since"),
        ),
    ]
}

#[tokio::test]
async fn every_bad_request_gets_a_json_error_and_the_server_lives_on() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let ticket = id_of(&app.create_ticket(&admin, printer_ticket()).await);
    let mut failures = Vec::new();
    let mut count = 0;
    for case in cases(ticket) {
        count += 1;
        let mut request = app.builder(case.method.clone(), &case.path, Who::Staff(&admin));
        if let Some(content_type) = case.content_type {
            request = request.header("content-type", content_type);
        }
        if let Some(body) = case.body.clone() {
            request = request.body(body);
        }
        let response = request.send().await.expect("the server answers");
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let (status, body) = read(response).await;
        let mut problems = Vec::new();
        if status.as_u16() != case.status {
            problems.push(format!("status {status}"));
        }
        if case.status >= 400 {
            if !content_type.starts_with("application/json") {
                problems.push(format!("content type {content_type:?}"));
            }
            if !body["code"].is_string() || !body["message"].is_string() {
                problems.push("no code and message".into());
            }
            if !case.code.is_empty() && body["code"] != case.code {
                problems.push(format!("code {}", body["code"]));
            }
            if let Some(field) = case.field
                && !error_fields(&body).iter().any(|f| f == field)
            {
                problems.push(format!("no message for {field}"));
            }
            let text = body.to_string();
            for leak in ["rusqlite", "SQLITE", "panicked", "src/", ".rs:"] {
                if text.contains(leak) {
                    problems.push(format!("leaks {leak:?}"));
                }
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {} {} → {}: {body}",
                case.name,
                case.method,
                case.path,
                problems.join(", ")
            ));
        }
    }
    assert!(count > 80);
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Still alive and well.
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let created = app.create_ticket(&admin, printer_ticket()).await;
    assert_eq!(
        app.ticket(Who::Staff(&admin), id_of(&created)).await,
        created
    );
    // The tickets that were created (boundary cases) are intact and verbatim.
    let titles: Vec<String> = app
        .list_all(Who::Staff(&admin), "")
        .await
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_owned())
        .collect();
    assert!(titles.contains(&"t".repeat(200)));
    assert!(titles.contains(&"🖨".repeat(200)));
    assert!(titles.contains(&"a\u{0000}b\u{001b}[31mc".to_owned()));
}

#[tokio::test]
async fn idempotency_keys_must_be_sensible() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    for key in ["", "   ", &"k".repeat(201)] {
        let (status, body) = app
            .send(
                app.builder(Method::POST, "/api/v1/tickets", Who::Staff(&alice))
                    .header("idempotency-key", key)
                    .json(&printer_ticket()),
            )
            .await;
        assert_field_error((status, &body), "Idempotency-Key");
    }
    let (status, body) = app
        .send(
            app.builder(Method::POST, "/api/v1/tickets", Who::Staff(&alice))
                .header("idempotency-key", "k".repeat(200))
                .json(&printer_ticket()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn many_bad_requests_at_once_do_not_disturb_good_ones() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let mut tasks = Vec::new();
    for n in 0..40 {
        let request = if n % 2 == 0 {
            app.builder(Method::POST, "/api/v1/tickets", Who::Staff(&alice))
                .header("content-type", "application/json")
                .body(format!("{{\"title\": \"{n}\", \"category\": ["))
        } else {
            app.builder(Method::POST, "/api/v1/tickets", Who::Staff(&alice))
                .json(&printer_ticket())
        };
        tasks.push(tokio::spawn(async move {
            request.send().await.map(|r| r.status().as_u16())
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap().unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 20);
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 20);
    assert_eq!(app.list_ids(Who::Staff(&alice), "").await.len(), 20);
}
