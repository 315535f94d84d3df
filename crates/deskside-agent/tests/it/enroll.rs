//! `deskside-agent enroll` and `status` against the real server.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn enrollment_pins_the_server_key_and_keeps_the_credential_private() {
    let desk = Desk::start().await;
    let state = tempfile::tempdir().unwrap();
    // A state directory that does not exist yet is created private.
    let dir = state.path().join("deskside-agent");
    let dir_arg = dir.display().to_string();
    let token = desk.enrollment_token().await;
    let out = agent(&[
        "enroll",
        "--server",
        &desk.url(),
        "--token",
        &token,
        "--state-dir",
        &dir_arg,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);

    let enrollment: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("agent.json")).unwrap()).unwrap();
    let device_id = enrollment["deviceId"].as_str().unwrap();
    assert!(device_id.starts_with("dev_"), "{enrollment}");
    assert_eq!(enrollment["serverUrl"], desk.url());
    assert_eq!(enrollment["orderKeyId"], desk.key_id);
    assert!(
        stdout.contains(device_id) && stdout.contains(&desk.key_id),
        "{stdout}"
    );
    let pinned = deskside_remediation::OrderVerifier::from_public_key_base64(
        enrollment["orderSigningKey"].as_str().unwrap(),
    )
    .expect("a valid Ed25519 key is pinned");
    assert_eq!(pinned.key_id(), desk.key_id);

    let credential = std::fs::read_to_string(dir.join("credential")).unwrap();
    let credential = credential.trim();
    assert!(credential.starts_with("dsd_"));
    assert!(
        !std::fs::read_to_string(dir.join("agent.json"))
            .unwrap()
            .contains(credential),
        "the credential is kept apart from the state file"
    );
    assert!(
        !stdout.contains(credential),
        "the credential is never printed"
    );
    #[cfg(unix)]
    {
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("credential")), 0o600);
        assert_eq!(mode(&dir.join("agent.json")), 0o600);
    }

    // The stored credential is the device's: the server knows the machine by it.
    let (status, beat) = read(
        desk.http
            .post(format!("{}/api/v1/agent/heartbeat", desk.url()))
            .bearer_auth(credential)
            .json(&json!({"agentVersion": "test"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{beat}");
    let device = desk.device(device_id).await;
    assert_eq!(device["hostname"], sysinfo_hostname());

    let out = agent(&["status", "--json", "--state-dir", &dir_arg]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["enrolled"], true);
    assert_eq!(status["server"], desk.url());
    assert_eq!(status["deviceId"], device_id);
    assert_eq!(status["keyId"], desk.key_id);
    assert_eq!(status["credential"]["stored"], true);
    assert_eq!(status["daemon"], serde_json::Value::Null);
    assert_eq!(status["daemonRunning"], false);
    assert_eq!(status["policy"]["source"], "default");
    assert!(!text(&out.stdout).contains(credential));

    let out = agent(&["status", "--state-dir", &dir_arg]);
    let human = text(&out.stdout);
    assert!(human.contains("enrolled:     yes"), "{human}");
    assert!(human.contains("has not run since enrollment"), "{human}");
}

/// The name `enroll` registers the machine under without `--hostname`.
fn sysinfo_hostname() -> String {
    sysinfo::System::host_name().expect("this machine has a host name")
}

#[tokio::test]
async fn enrolling_again_needs_force() {
    let desk = Desk::start().await;
    let endpoint = enrolled(&desk).await;
    let before = std::fs::read(endpoint.file("agent.json")).unwrap();
    let credential_before = endpoint.credential();

    let token = desk.enrollment_token().await;
    let args = |force: bool| {
        let mut args = vec![
            "enroll".to_owned(),
            "--server".to_owned(),
            desk.url(),
            "--token".to_owned(),
            token.clone(),
            "--state-dir".to_owned(),
            endpoint.dir_arg(),
        ];
        if force {
            args.push("--force".to_owned());
        }
        args
    };
    let refused = agent(&args(false).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(refused.status.code(), Some(1));
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("already enrolled") && stderr.contains(&endpoint.device_id),
        "{stderr}"
    );
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(std::fs::read(endpoint.file("agent.json")).unwrap(), before);
    assert_eq!(endpoint.credential(), credential_before);

    // The refusal did not spend the token: --force enrolls with it.
    let forced = agent(&args(true).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    let after: serde_json::Value =
        serde_json::from_slice(&std::fs::read(endpoint.file("agent.json")).unwrap()).unwrap();
    assert_ne!(after["deviceId"], endpoint.device_id.as_str());
    assert_ne!(endpoint.credential(), credential_before);
}

#[tokio::test]
async fn a_wrong_token_is_refused_clearly_and_nothing_is_stored() {
    let desk = Desk::start().await;
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().display().to_string();
    let out = agent(&[
        "enroll",
        "--server",
        &desk.url(),
        "--token",
        "dse_not-a-real-token",
        "--state-dir",
        &dir,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("refused the enrollment token") && stderr.contains("new one"),
        "{stderr}"
    );
    assert!(!state.path().join("agent.json").exists());
    assert!(!state.path().join("credential").exists());

    let out = agent(&["status", "--state-dir", &dir]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("enrolled:     no"));
    let out = agent(&["run", "--state-dir", &dir]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("not enrolled") && stderr.contains("deskside-agent enroll"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_unreachable_server_or_a_shared_state_dir_fails_before_the_token_is_spent() {
    let desk = Desk::start().await;
    let token = desk.enrollment_token().await;
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().display().to_string();

    // Nothing listens on port 9 of this machine.
    let out = agent(&[
        "enroll",
        "--server",
        "http://127.0.0.1:9",
        "--token",
        &token,
        "--state-dir",
        &dir,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("cannot reach the server"), "{stderr}");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(state.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let out = agent(&[
            "enroll",
            "--server",
            &desk.url(),
            "--token",
            &token,
            "--state-dir",
            &dir,
        ]);
        assert_eq!(out.status.code(), Some(1));
        let stderr = text(&out.stderr);
        assert!(stderr.contains("writable by other users"), "{stderr}");
        // Readable by others only: the agent makes it private itself.
        std::fs::set_permissions(state.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    // The token still works.
    let out = agent(&[
        "enroll",
        "--server",
        &desk.url(),
        "--token",
        &token,
        "--state-dir",
        &dir,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    #[cfg(unix)]
    {
        assert_eq!(mode(state.path()), 0o700);
        assert!(text(&out.stderr).contains("made the state directory"));
    }
    let (status, devices) = desk
        .call(Method::GET, "/api/v1/devices", Some(&desk.admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(devices.as_array().map(Vec::len), Some(1), "{devices}");
}
