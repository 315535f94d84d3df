//! Sign-in, sessions, throttling, logout and malformed credentials.

use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

async fn login_attempt(app: &TestApp, username: &str, password: &str) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"username": username, "password": password})),
    )
    .await
}

#[tokio::test]
async fn login_returns_a_session_for_the_user_and_me_names_them() {
    let app = spawn_app().await;
    let (status, body) = login_attempt(&app, "alice", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["token"].as_str().unwrap();
    assert!(token.starts_with("dss_") && token.len() > 40, "{token}");
    let expires_at: DateTime<Utc> = body["expiresAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires_at, monday_morning() + Duration::hours(12));
    assert_eq!(body["user"]["username"], "alice");
    assert_eq!(body["user"]["role"], "agent");
    assert_eq!(body["user"]["tier"], "L1");
    assert!(
        body["user"].get("passwordHash").is_none() && !body.to_string().contains("argon2"),
        "no password material in the answer: {body}"
    );

    let (status, me) = app
        .call(Method::GET, "/api/v1/auth/me", Some(token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["kind"], "staff");
    assert_eq!(me["user"], body["user"]);

    // Every demo account signs in with its own role.
    for (username, role, tier) in [
        ("admin", "admin", Value::Null),
        ("sam", "supervisor", Value::Null),
        ("bob", "agent", json!("L2")),
        ("carol", "agent", json!("L3")),
    ] {
        let token = app.login(username).await;
        let (_, me) = app
            .call(Method::GET, "/api/v1/auth/me", Some(&token), None)
            .await;
        assert_eq!(me["user"]["role"], role, "{username}");
        assert_eq!(me["user"]["tier"], tier, "{username}");
    }
}

#[tokio::test]
async fn me_for_a_device_names_the_device_and_its_local_user() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let credential = app.enroll_device(&admin, "ws-floor2-07").await;
    assert!(credential.starts_with("dsd_"), "{credential}");
    let request = app
        .device_request(Method::GET, "/api/v1/auth/me", &credential, "dana")
        .header("x-deskside-local-user-name", "Dana Schulz");
    let (status, me) = app.send(request).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["kind"], "requester");
    assert_eq!(me["username"], "dana");
    assert_eq!(me["displayName"], "Dana Schulz");
    assert_eq!(me["device"]["hostname"], "ws-floor2-07");
    assert!(me["device"]["id"].as_str().unwrap().starts_with("dev_"));
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_indistinguishable() {
    let app = spawn_app().await;
    let shouted = PASSWORD.to_uppercase();
    let cases = [
        ("alice", "wrong password"),
        ("nobody-here", PASSWORD),
        ("alice", ""),
        ("", ""),
        ("alice", shouted.as_str()),
        ("alice ", PASSWORD),
    ];
    let mut messages = Vec::new();
    for (username, password) in cases {
        let (status, body) = login_attempt(&app, username, password).await;
        assert_error((status, &body), StatusCode::UNAUTHORIZED, "unauthorized");
        messages.push(body["message"].as_str().unwrap().to_owned());
    }
    messages.dedup();
    assert_eq!(
        messages.len(),
        1,
        "one message for every failure: {messages:?}"
    );

    // An absurdly long username or password is refused the same way, quickly.
    let (status, body) = login_attempt(&app, &"a".repeat(10_000), PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["message"], messages[0].as_str());
    let (status, body) = login_attempt(&app, "carol", &"p".repeat(100_000)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["message"], messages[0].as_str());
}

#[tokio::test]
async fn login_body_must_have_exactly_username_and_password() {
    let app = spawn_app().await;
    let cases = [
        (json!({"username": "alice"}), "password"),
        (json!({"password": PASSWORD}), "username"),
        (
            json!({"username": "alice", "password": PASSWORD, "admin": true}),
            "admin",
        ),
        (json!({"username": 7, "password": PASSWORD}), "username"),
    ];
    for (body, field) in cases {
        let (status, answer) = app
            .call(Method::POST, "/api/v1/auth/login", None, Some(body.clone()))
            .await;
        assert_field_error((status, &answer), field);
    }
}

#[tokio::test]
async fn repeated_failures_lock_the_username_out_for_a_while() {
    let app = spawn_app().await;
    for attempt in 1..=3 {
        let (status, body) = login_attempt(&app, "bob", &format!("guess {attempt}")).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}: {body}"
        );
    }
    // Locked out now: the right password does not help, and says why.
    let (status, body) = login_attempt(&app, "bob", PASSWORD).await;
    assert_error(
        (status, &body),
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
    );
    assert!(
        body["message"].as_str().unwrap().contains("try again"),
        "{body}"
    );
    // The username is locked regardless of how it is spelled.
    let (status, _) = login_attempt(&app, "BOB", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Other accounts are not affected.
    let (status, _) = login_attempt(&app, "carol", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);

    // Once the lockout has passed the right password works and clears the count.
    app.clock.advance(Duration::seconds(2));
    let (status, body) = login_attempt(&app, "bob", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = login_attempt(&app, "bob", "one more typo").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "counting starts again");
    let (status, _) = login_attempt(&app, "bob", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn lockouts_grow_with_further_failures() {
    let app = spawn_app().await;
    for _ in 0..3 {
        login_attempt(&app, "carol", "nope").await;
    }
    // Fourth failure after the first 1 s lockout: the next lockout is 2 s.
    app.clock.advance(Duration::seconds(1));
    let (status, _) = login_attempt(&app, "carol", "still nope").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.clock.advance(Duration::seconds(1));
    let (status, _) = login_attempt(&app, "carol", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(Duration::seconds(1));
    let (status, _) = login_attempt(&app, "carol", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn logout_ends_only_that_session() {
    let app = spawn_app().await;
    let first = app.login("alice").await;
    let second = app.login("alice").await;
    assert_ne!(first, second);

    let (status, body) = app
        .call(Method::POST, "/api/v1/auth/logout", Some(&first), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    for path in ["/api/v1/auth/me", "/api/v1/tickets"] {
        let (status, body) = app.call(Method::GET, path, Some(&first), None).await;
        assert_error((status, &body), StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let (status, _) = app
        .call(Method::POST, "/api/v1/auth/logout", Some(&first), None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a dead token cannot log out"
    );

    let (status, _) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&second), None)
        .await;
    assert_eq!(status, StatusCode::OK, "the other session lives on");
}

#[tokio::test]
async fn sessions_expire_after_twelve_hours() {
    let app = spawn_app().await;
    let token = app.login("sam").await;
    app.clock
        .advance(Duration::hours(11) + Duration::minutes(59));
    let (status, _) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    app.clock.advance(Duration::minutes(1));
    let (status, body) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&token), None)
        .await;
    assert_error((status, &body), StatusCode::UNAUTHORIZED, "unauthorized");
    app.clock.advance(Duration::hours(1));
    let (status, _) = app
        .call(Method::GET, "/api/v1/tickets", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let fresh = app.login("sam").await;
    let (status, _) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&fresh), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn thirteen_hours_later_the_token_is_dead() {
    let app = spawn_app().await;
    let token = app.login("alice").await;
    app.clock.advance(Duration::hours(13));
    let (status, body) = app
        .call(Method::GET, "/api/v1/auth/me", Some(&token), None)
        .await;
    assert_error((status, &body), StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn missing_or_garbage_credentials_get_a_json_401() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let credential = app.enroll_device(&admin, "ws-1").await;
    let headers: Vec<(&str, Option<String>)> = vec![
        ("no header", None),
        ("empty", Some(String::new())),
        ("scheme only", Some("Bearer".into())),
        ("scheme and space", Some("Bearer ".into())),
        ("garbage token", Some("Bearer garbage".into())),
        (
            "session-looking",
            Some(format!("Bearer dss_{}", "A".repeat(43))),
        ),
        (
            "device-looking",
            Some(format!("Bearer dsd_{}", "A".repeat(43))),
        ),
        (
            "enrollment token",
            Some(format!("Bearer dse_{}", "A".repeat(43))),
        ),
        (
            "basic auth",
            Some("Basic YWRtaW46ZGVza3NpZGUtZGVtbw==".into()),
        ),
        ("token without scheme", Some(admin.clone())),
        ("other scheme", Some(format!("Token {admin}"))),
        (
            "admin token truncated",
            Some(format!("Bearer {}", &admin[..admin.len() - 1])),
        ),
        ("admin token extended", Some(format!("Bearer {admin}x"))),
        ("unicode", Some("Bearer dss_ünïcödé".into())),
        // A real device credential without naming the local user.
        ("device without user", Some(format!("Bearer {credential}"))),
    ];
    for (case, header) in headers {
        for path in [
            "/api/v1/auth/me",
            "/api/v1/tickets",
            "/api/v1/sync?cursor=0",
        ] {
            let mut request = app.http.get(app.url(path));
            if let Some(value) = &header {
                request = request.header("authorization", value);
            }
            let response = request.send().await.unwrap();
            let content_type = response
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned());
            let (status, body) = read(response).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{case} on {path}: {body}");
            assert_eq!(body["code"], "unauthorized", "{case} on {path}: {body}");
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
            assert_eq!(content_type.as_deref(), Some("application/json"), "{case}");
        }
    }
    // The scheme is case-insensitive, as HTTP says.
    let (status, _) = app
        .send(
            app.http
                .get(app.url("/api/v1/auth/me"))
                .header("authorization", format!("bearer {admin}")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn enrollment_tokens_are_single_use_and_expire() {
    let app = spawn_app().await;
    let sam = app.login("sam").await;
    let enroll = |token: Value| {
        app.call(
            Method::POST,
            "/api/v1/devices/enroll",
            None,
            Some(json!({"token": token, "hostname": "ws-9"})),
        )
    };

    let (status, issued) = app
        .call(
            Method::POST,
            "/api/v1/enrollment-tokens",
            Some(&sam),
            Some(json!({"expiresInHours": 2})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let expires_at: DateTime<Utc> = issued["expiresAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires_at, monday_morning() + Duration::hours(2));
    let (status, first) = enroll(issued["token"].clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, second) = enroll(issued["token"].clone()).await;
    assert_error((status, &second), StatusCode::UNAUTHORIZED, "unauthorized");

    let (_, late) = app
        .call(
            Method::POST,
            "/api/v1/enrollment-tokens",
            Some(&sam),
            Some(json!({"expiresInHours": 1})),
        )
        .await;
    app.clock.advance(Duration::hours(1));
    let (status, body) = enroll(late["token"].clone()).await;
    assert_error((status, &body), StatusCode::UNAUTHORIZED, "unauthorized");

    let (status, body) = enroll(json!("dse_made-up")).await;
    assert_error((status, &body), StatusCode::UNAUTHORIZED, "unauthorized");

    for hours in [0, 721] {
        let (status, body) = app
            .call(
                Method::POST,
                "/api/v1/enrollment-tokens",
                Some(&sam),
                Some(json!({"expiresInHours": hours})),
            )
            .await;
        assert_field_error((status, &body), "expiresInHours");
    }
    let (_, fresh) = app
        .call(
            Method::POST,
            "/api/v1/enrollment-tokens",
            Some(&sam),
            Some(json!({})),
        )
        .await;
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/devices/enroll",
            None,
            Some(json!({"token": fresh["token"], "hostname": "  "})),
        )
        .await;
    assert_field_error((status, &body), "hostname");
    // A refused enrollment does not use the token up.
    let (status, body) = enroll(fresh["token"].clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn admins_create_staff_accounts_that_can_sign_in() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let good = json!({
        "username": "dave.k", "displayName": "  Dave König ", "role": "agent", "tier": "L3",
        "password": "a sufficiently long one"
    });
    let mutate = |f: fn(&mut Value)| {
        let mut body = good.clone();
        f(&mut body);
        body
    };
    let refusals = [
        (mutate(|b| b["password"] = json!("short")), "password"),
        (mutate(|b| b["tier"] = Value::Null), "tier"),
        (mutate(|b| b["username"] = json!("dave k")), "username"),
        (mutate(|b| b["username"] = json!("d")), "username"),
        (mutate(|b| b["displayName"] = json!(" ")), "displayName"),
        (mutate(|b| b["role"] = json!("root")), "role"),
        (mutate(|b| b["tier"] = json!("L0")), "tier"),
        (mutate(|b| b["isAdmin"] = json!(true)), "isAdmin"),
    ];
    for (body, field) in refusals {
        let (status, answer) = app
            .call(Method::POST, "/api/v1/users", Some(&admin), Some(body))
            .await;
        assert_field_error((status, &answer), field);
    }

    let (status, created) = app
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            Some(good.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["username"], "dave.k");
    assert_eq!(created["displayName"], "Dave König");
    assert_eq!(created["tier"], "L3");
    assert_eq!(created["active"], true);
    assert!(!created.to_string().contains("sufficiently"), "{created}");

    let mut shouting = good.clone();
    shouting["username"] = json!("DAVE.K");
    let (status, body) = app
        .call(Method::POST, "/api/v1/users", Some(&admin), Some(shouting))
        .await;
    assert_error((status, &body), StatusCode::CONFLICT, "conflict");

    let (status, session) = login_attempt(&app, "dave.k", "a sufficiently long one").await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["user"]["id"], created["id"]);
    // The directory lists the new colleague, without any password material.
    let (status, agents) = app
        .call(Method::GET, "/api/v1/agents", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let listed: Vec<&str> = agents
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["username"].as_str().unwrap())
        .collect();
    for username in ["admin", "sam", "alice", "bob", "carol", "dave.k"] {
        assert!(listed.contains(&username), "{listed:?}");
    }
    assert!(!agents.to_string().contains("argon2"));
    assert!(agents[0].get("passwordHash").is_none());
}
