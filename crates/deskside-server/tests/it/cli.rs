//! The real `deskside-server` binary: first admin, staff accounts, enrollment tokens, and
//! refusing to serve a data dir that nobody can administer.

use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

async fn login_with(
    app: &TestApp,
    username: &str,
    password: &str,
) -> (StatusCode, serde_json::Value) {
    app.call(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"username": username, "password": password})),
    )
    .await
}

#[tokio::test]
async fn user_add_checks_its_input_and_the_new_users_can_sign_in() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().to_str().unwrap();
    let good = "correct horse battery staple";

    // (case, extra arguments, password on stdin, what the error must say)
    let refusals: Vec<(&str, Vec<&str>, &str, &str)> = vec![
        (
            "short password",
            vec!["--username", "root", "--role", "admin"],
            "short\n",
            "password: must be at least 10 characters",
        ),
        (
            "empty password",
            vec!["--username", "root", "--role", "admin"],
            "",
            "password:",
        ),
        (
            "agent without tier",
            vec!["--username", "carla", "--role", "agent"],
            good,
            "tier:",
        ),
        (
            "username with space",
            vec!["--username", "carla b", "--role", "admin"],
            good,
            "username:",
        ),
        (
            "username too short",
            vec!["--username", "c", "--role", "admin"],
            good,
            "username:",
        ),
        (
            "unknown role",
            vec!["--username", "carla", "--role", "wizard"],
            good,
            "wizard",
        ),
        (
            "unknown tier",
            vec!["--username", "carla", "--role", "agent", "--tier", "L9"],
            good,
            "L9",
        ),
    ];
    for (case, extra, password, message) in refusals {
        let mut args = vec!["user", "add", "--data-dir", dir, "--password-stdin"];
        args.extend(extra);
        let run = run_cli(&args, Some(password), &[]).await;
        assert!(!run.success, "{case}: {run:?}");
        assert!(run.stderr.contains(message), "{case}: {run:?}");
    }
    // The password is never an argument.
    let run = run_cli(
        &[
            "user",
            "add",
            "--data-dir",
            dir,
            "--username",
            "root",
            "--role",
            "admin",
        ],
        Some(good),
        &[],
    )
    .await;
    assert!(!run.success);
    assert!(run.stderr.contains("--password-stdin"), "{run:?}");

    // The first admin; the trailing newline of `echo pw |` is not part of the password.
    let run = run_cli(
        &[
            "user",
            "add",
            "--data-dir",
            dir,
            "--username",
            "root",
            "--display-name",
            "Root Admin",
            "--role",
            "admin",
            "--password-stdin",
        ],
        Some(&format!("{good}\n")),
        &[],
    )
    .await;
    assert!(run.success, "{run:?}");
    assert!(run.stdout.contains("created root (admin)"), "{run:?}");
    // The data dir can come from the environment.
    let run = run_cli(
        &[
            "user",
            "add",
            "--username",
            "carla",
            "--role",
            "agent",
            "--tier",
            "L2",
            "--password-stdin",
        ],
        Some("carla's long password\r\n"),
        &[("DESKSIDE_DATA_DIR", dir)],
    )
    .await;
    assert!(run.success, "{run:?}");
    assert!(run.stdout.contains("created carla (agent)"), "{run:?}");
    let run = run_cli(
        &[
            "user",
            "add",
            "--data-dir",
            dir,
            "--username",
            "ROOT",
            "--role",
            "admin",
            "--password-stdin",
        ],
        Some(good),
        &[],
    )
    .await;
    assert!(
        !run.success,
        "usernames are unique regardless of case: {run:?}"
    );
    assert!(run.stderr.contains("taken"), "{run:?}");

    // A server on that data dir lets them in.
    let app = spawn_app_on(temp.path(), Utc::now())
        .await
        .expect("an admin exists");
    let (status, body) = login_with(&app, "root", good).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["role"], "admin");
    assert_eq!(body["user"]["displayName"], "Root Admin");
    let (status, body) = login_with(&app, "carla", "carla's long password").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["tier"], "L2");
    assert_eq!(body["user"]["displayName"], "carla");
    let (status, _) = login_with(&app, "root", &format!("{good}\n")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The accounts are audited as made by the CLI.
    let token = app.login_as("root", good).await;
    let (_, audit) = app
        .call(Method::GET, "/api/v1/audit", Some(&token), None)
        .await;
    let created: Vec<(&str, &str)> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "user.create")
        .map(|r| (r["subject"].as_str().unwrap(), r["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(created, vec![("user:root", "cli"), ("user:carla", "cli")]);
}

#[tokio::test]
async fn serve_refuses_a_data_dir_without_an_admin() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().to_str().unwrap();
    let serve = ["serve", "--listen", "127.0.0.1:0", "--data-dir", dir];

    let run = run_cli(&serve, None, &[]).await;
    assert!(!run.success, "{run:?}");
    assert!(run.stderr.contains("no admin account"), "{run:?}");
    assert!(
        run.stderr.contains("deskside-server user add")
            && run.stderr.contains("--role admin")
            && run.stderr.contains(dir),
        "tells how to make one: {run:?}"
    );
    assert!(!run.stdout.contains("listening"), "{run:?}");

    // An agent is not enough.
    let run = run_cli(
        &[
            "user",
            "add",
            "--data-dir",
            dir,
            "--username",
            "ann",
            "--role",
            "agent",
            "--tier",
            "L1",
            "--password-stdin",
        ],
        Some("a long enough password"),
        &[],
    )
    .await;
    assert!(run.success, "{run:?}");
    let run = run_cli(&serve, None, &[]).await;
    assert!(!run.success, "{run:?}");
    assert!(run.stderr.contains("no admin account"), "{run:?}");
    let refused = spawn_app_on(temp.path(), Utc::now()).await;
    assert!(refused.is_err(), "the library refuses too");

    // The environment fallbacks apply to serve as well.
    let run = run_cli(
        &["serve"],
        None,
        &[
            ("DESKSIDE_DATA_DIR", dir),
            ("DESKSIDE_LISTEN", "127.0.0.1:0"),
        ],
    )
    .await;
    assert!(!run.success, "{run:?}");
    assert!(run.stderr.contains("no admin account"), "{run:?}");
}

#[tokio::test]
async fn an_enrollment_token_from_the_cli_enrolls_exactly_one_device() {
    let app = spawn_app().await;
    // The CLI dates its token by the real clock: bring the server's clock to today.
    app.clock.set(Utc::now());
    let dir = app.data_dir.to_str().unwrap();

    let run = run_cli(&["enroll-token", "create", "--data-dir", dir], None, &[]).await;
    assert!(run.success, "{run:?}");
    assert!(run.stderr.contains("valid until"), "{run:?}");
    let token = run.stdout.trim().to_owned();
    assert!(
        token.starts_with("dse_") && !token.contains(char::is_whitespace),
        "{token}"
    );

    let enroll = |hostname: &'static str| {
        app.call(
            Method::POST,
            "/api/v1/devices/enroll",
            None,
            Some(json!({"token": token, "hostname": hostname})),
        )
    };
    let (status, enrolled) = enroll("ws-cli-1").await;
    assert_eq!(status, StatusCode::CREATED, "{enrolled}");
    let credential = enrolled["credential"].as_str().unwrap();
    let (status, me) = app
        .send(app.device_request(Method::GET, "/api/v1/auth/me", credential, "dana"))
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["device"]["hostname"], "ws-cli-1");
    let (status, again) = enroll("ws-cli-2").await;
    assert_error((status, &again), StatusCode::UNAUTHORIZED, "unauthorized");

    // Lifetimes are bounded.
    for bad in ["0h", "31d", "-1h", "soon", "10x"] {
        let run = run_cli(
            &[
                "enroll-token",
                "create",
                "--data-dir",
                dir,
                "--expires-in",
                bad,
            ],
            None,
            &[],
        )
        .await;
        assert!(!run.success, "{bad}: {run:?}");
        assert!(run.stdout.is_empty(), "{bad}: no token printed: {run:?}");
    }
    let run = run_cli(
        &[
            "enroll-token",
            "create",
            "--data-dir",
            dir,
            "--expires-in",
            "30m",
        ],
        None,
        &[],
    )
    .await;
    assert!(run.success, "{run:?}");
    let short_lived = run.stdout.trim().to_owned();
    app.clock.advance(chrono::Duration::minutes(31));
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/devices/enroll",
            None,
            Some(json!({"token": short_lived, "hostname": "ws-late"})),
        )
        .await;
    assert_error((status, &body), StatusCode::UNAUTHORIZED, "unauthorized");

    let admin = app.login("admin").await;
    let (_, audit) = app
        .call(Method::GET, "/api/v1/audit", Some(&admin), None)
        .await;
    let issued = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "device.enrollment_token_create" && r["actor"] == "cli")
        .count();
    assert_eq!(issued, 2);
}
