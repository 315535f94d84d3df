//! Login throttling under parallel guesses, from one address and from many (through a
//! trusted reverse proxy's `X-Forwarded-For`), without locking the real user out.

use std::time::{Duration, Instant};

use deskside_server::http::client_addr::TrustedProxies;
use deskside_server::http::login_throttle::{ACCOUNT_FREE_FAILURES, FREE_FAILURES};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

struct Answer {
    status: StatusCode,
    retry_after: Option<String>,
    body: Value,
}

async fn login_from(
    app: &TestApp,
    forwarded_for: Option<&str>,
    username: &str,
    password: &str,
) -> Answer {
    let request = login_request(app, forwarded_for, username, password);
    answer(request.send().await.expect("request sent")).await
}

fn login_request(
    app: &TestApp,
    forwarded_for: Option<&str>,
    username: &str,
    password: &str,
) -> reqwest::RequestBuilder {
    let request = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}));
    match forwarded_for {
        Some(client) => request.header("x-forwarded-for", client),
        None => request,
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().expect("ascii").to_owned());
    let (status, body) = read(response).await;
    Answer {
        status,
        retry_after,
        body,
    }
}

/// Sends every (forwarded address, password) at once, each on its own task and
/// connection; returns the answers.
async fn all_at_once(
    app: &TestApp,
    username: &str,
    guesses: &[(Option<String>, String)],
) -> Vec<Answer> {
    let mut tasks = tokio::task::JoinSet::new();
    for (client, password) in guesses {
        let request = login_request(app, client.as_deref(), username, password);
        tasks.spawn(async move { answer(request.send().await.expect("request sent")).await });
    }
    tasks.join_all().await
}

/// Every refusal is a 429 with `Retry-After` and the JSON error; returns how many
/// guesses were evaluated (answered 401).
#[track_caller]
fn evaluated(answers: &[Answer]) -> usize {
    let mut judged = 0;
    for answer in answers {
        match answer.status {
            StatusCode::UNAUTHORIZED => judged += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert_error(
                    (answer.status, &answer.body),
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_requests",
                );
                let secs: u64 = answer
                    .retry_after
                    .as_deref()
                    .expect("a 429 says when to retry")
                    .parse()
                    .expect("Retry-After in seconds");
                assert!(secs >= 1, "{secs}");
            }
            other => panic!("unexpected {other}: {}", answer.body),
        }
    }
    judged
}

/// The audited failed sign-ins for `username`: the actor (`ip:…`) of each.
async fn failed_logins(app: &TestApp, username: &str) -> Vec<String> {
    audited_failures(&app.database(), username)
}

fn audited_failures(connection: &rusqlite::Connection, username: &str) -> Vec<String> {
    let mut statement = connection
        .prepare("SELECT actor FROM audit_log WHERE action = 'auth.login_failed' AND subject = ?1")
        .expect("query");
    statement
        .query_map([format!("user:{username}")], |row| row.get::<_, String>(0))
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect()
}

#[tokio::test]
async fn parallel_wrong_passwords_from_one_address_spend_only_the_free_allowance() {
    let app = spawn_app().await;
    for (username, parallel) in [("bob", 40), ("carol", 200)] {
        let guesses: Vec<_> = (0..parallel)
            .map(|n| (None, format!("wrong guess {n}")))
            .collect();
        let answers = all_at_once(&app, username, &guesses).await;
        let judged = evaluated(&answers);
        assert!(
            (1..=FREE_FAILURES as usize).contains(&judged),
            "{judged} of {parallel} parallel guesses at {username} were evaluated"
        );
        assert_eq!(
            failed_logins(&app, username).await.len(),
            judged,
            "each evaluated guess is audited"
        );
    }
}

fn attacker(n: usize) -> String {
    format!("203.0.113.{}", n + 1)
}

#[tokio::test]
async fn guesses_from_many_forwarded_addresses_are_held_by_the_per_account_limit() {
    let app = spawn_app_with(|config| {
        // The proxy on this host, and a load balancer in front of it.
        config.trusted_proxies = TrustedProxies(vec![
            "127.0.0.1".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ]);
    })
    .await;
    let addresses = 20;
    // Three waves of three guesses from each of 20 addresses, each wave all at once.
    let mut judged = 0;
    for wave in 0..3 {
        let guesses: Vec<_> = (0..addresses * 3)
            .map(|n| {
                (
                    // What the client claims, what the balancer saw, the balancer itself.
                    Some(format!(
                        "192.0.2.{n}, {}, 10.9.9.9",
                        attacker(n % addresses)
                    )),
                    format!("wave {wave} guess {n}"),
                )
            })
            .collect();
        judged += evaluated(&all_at_once(&app, "alice", &guesses).await);
    }
    // Per address alone, 3 each = 60 would be evaluated; the account limit allows its own
    // free failures plus one guess per address that had none.
    let bound = ACCOUNT_FREE_FAILURES as usize + addresses;
    assert!(
        judged <= bound,
        "{judged} guesses evaluated, more than {bound}"
    );
    let actors = failed_logins(&app, "alice").await;
    assert_eq!(actors.len(), judged);
    assert!(
        actors.iter().all(|a| a.starts_with("ip:203.0.113.")),
        "audited under the forwarded client, not the proxy or the spoofed left entry: {actors:?}"
    );

    // An attacking address is refused even with the right password…
    let refused = login_from(&app, Some(&attacker(0)), "alice", PASSWORD).await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    assert!(refused.retry_after.is_some());
    // …while the real user, from an address with no failures, signs in.
    let real = login_from(&app, Some("198.51.100.20"), "alice", PASSWORD).await;
    assert_eq!(real.status, StatusCode::OK, "{}", real.body);
}

#[tokio::test]
async fn the_real_user_signs_in_while_guesses_are_arriving() {
    let app = spawn_app_with(|config| {
        config.trusted_proxies = TrustedProxies(vec!["127.0.0.0/8".parse().unwrap()]);
    })
    .await;
    // Spend the account's allowance first, so the attack below is past it.
    let warm_up: Vec<_> = (0..ACCOUNT_FREE_FAILURES as usize)
        .map(|n| (Some(attacker(n)), format!("warm-up {n}")))
        .collect();
    all_at_once(&app, "bob", &warm_up).await;
    let attack = async {
        for wave in 0..5 {
            let guesses: Vec<_> = (0..60)
                .map(|n| (Some(attacker(n % 30)), format!("wave {wave} guess {n}")))
                .collect();
            all_at_once(&app, "bob", &guesses).await;
        }
    };
    // The real user's client honours Retry-After; 1 s refusals are only "someone else's
    // attempt is being checked right now", so it keeps trying until a deadline.
    let real_user = async {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let answer = login_from(&app, Some("198.51.100.30"), "bob", PASSWORD).await;
            if answer.status == StatusCode::OK || Instant::now() > deadline {
                return answer;
            }
            assert_eq!(
                answer.status,
                StatusCode::TOO_MANY_REQUESTS,
                "{}",
                answer.body
            );
            assert_eq!(answer.retry_after.as_deref(), Some("1"));
            tokio::task::yield_now().await;
        }
    };
    let ((), answer) = tokio::join!(attack, real_user);
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = spawn_app().await;
    let guesses: Vec<_> = (0..60)
        .map(|n| (Some(attacker(n % 20)), format!("guess {n}")))
        .collect();
    let judged = evaluated(&all_at_once(&app, "carol", &guesses).await);
    assert!(judged <= FREE_FAILURES as usize, "{judged} evaluated");
    let actors = failed_logins(&app, "carol").await;
    assert!(
        actors.iter().all(|a| a == "ip:127.0.0.1"),
        "the header is the client's own claim: {actors:?}"
    );
    // Every spoofed address is the one real peer, and that peer is locked out.
    let answer = login_from(&app, Some("198.51.100.40"), "carol", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn serve_takes_trusted_proxies_from_the_environment_and_refuses_bad_ones() {
    use crate::connections::{ADMIN, ADMIN_PASSWORD, create_admin, serve_process};
    let data = tempfile::tempdir().expect("temp dir");
    create_admin(data.path()).await;
    let refused = run_cli(
        &[
            "serve",
            "--data-dir",
            data.path().to_str().expect("utf-8"),
            "--trusted-proxy",
            "proxy.example",
        ],
        None,
        &[],
    )
    .await;
    assert!(!refused.success, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("'proxy.example' is not an IP address"),
        "{}",
        refused.stderr
    );

    let server = serve_process(
        data.path(),
        None,
        &[],
        &[("DESKSIDE_TRUSTED_PROXIES", "10.0.0.0/8,127.0.0.1")],
    );
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/auth/login", server.url);
    let response = http
        .post(&url)
        .header("x-forwarded-for", "203.0.113.9, 10.1.2.3")
        .json(&json!({"username": ADMIN, "password": "not the passphrase"}))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let connection =
        rusqlite::Connection::open(data.path().join("deskside.db")).expect("open database");
    assert_eq!(
        audited_failures(&connection, ADMIN),
        vec!["ip:203.0.113.9".to_owned()]
    );
    // The real user, from another address, is not held back by that failure.
    let response = http
        .post(&url)
        .json(&json!({"username": ADMIN, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), StatusCode::OK);
}
