//! The desktop app end to end, as people use it: the built `deskside` binary under Xvfb,
//! driven over WebDriver (tauri-driver + WebKitWebDriver), against the real server and a
//! real enrolled endpoint agent. Screenshots of the main screens go to
//! `target/e2e-screenshots/` (or `DESKSIDE_SCREENSHOT_DIR`).

mod printer;
mod support;

use reqwest::Method;
use serde_json::Value;

use printer::TestPrinter;
use support::{App, AppEnvironment, Desk, Display, Endpoint, KeyringSession, eventually};

fn local_user() -> String {
    let out = std::process::Command::new("id")
        .arg("-un")
        .output()
        .expect("id -un");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A user files a printer ticket with diagnostics → an agent sees it in the console,
/// replies and clears the printer's queue through the catalog → the user reads the reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_goes_from_the_user_to_the_agent_and_back() {
    const TEST: &str = "a_ticket_goes_from_the_user_to_the_agent_and_back";
    if let Some(why) = support::missing_tools() {
        return support::skip(TEST, &why);
    }
    if let Some(why) = printer::cups_unavailable() {
        return support::skip(TEST, &why);
    }
    let logs = tempfile::tempdir().unwrap();
    let desk = Desk::start();
    let admin = desk.login("admin").await;
    let printer = TestPrinter::add_paused(&format!("e2e-desktop-{}", std::process::id()));
    printer.queue_jobs(2);
    let policy = format!(
        "version = 1\n[actions.\"print.clear_queue\"]\nprinters = [\"{}\"]\n",
        printer.name
    );
    let endpoint = Endpoint::enroll_and_run(&desk, &policy, logs.path()).await;
    let display = Display::start(logs.path()).await;
    let keyring = KeyringSession::start(logs.path()).await;
    let app = App::launch(&AppEnvironment {
        display: &display,
        keyring: &keyring,
        server_url: desk.url(),
        agent_socket: endpoint.socket.clone(),
        logs: logs.path(),
    })
    .await;

    // The end user asks for help; diagnostics are read and previewed first.
    app.button("Get help").await.click().await.unwrap();
    // Diagnostics read: the "What we'll attach" list opens, section by section.
    app.find("[aria-busy='false'] button[aria-expanded]:not([disabled])")
        .await
        .click()
        .await
        .unwrap();
    app.find("[aria-busy='false'] [role='switch']").await;
    app.screenshot("01-get-help").await;
    app.button("Printer").await.click().await.unwrap();
    let title = format!("Printer jams on every page {}", std::process::id());
    app.type_into("Title", &title).await;
    app.type_into(
        "Describe it",
        "The office printer shows 'paused' and nothing comes out.",
    )
    .await;
    // The screenshot is taken by the app, previewed, and kept.
    app.button("Add screenshot").await.click().await.unwrap();
    app.find("img[alt='Preview of the screenshot that will be attached']")
        .await;
    app.button("Send").await.click().await.unwrap();
    let confirmation = app.find("[data-testid='submit-confirmation']").await;
    let text = confirmation.text().await.unwrap();
    app.screenshot("02-submitted").await;

    let tickets = desk.tickets_titled(&admin, &title).await;
    assert_eq!(tickets.len(), 1, "exactly one ticket: {tickets:?}");
    let ticket = &tickets[0];
    let number = ticket["number"].as_i64().unwrap();
    assert!(text.contains(&format!("HD-{number}")), "{text}");
    assert_eq!(ticket["deviceId"], endpoint.device_id.as_str());
    assert_eq!(ticket["requester"]["username"], local_user().as_str());
    assert_eq!(ticket["category"], "printer");
    let ticket_id = ticket["id"].as_i64().unwrap();
    // The diagnostics the user kept and the screenshot arrived as attachments (the outbox
    // sends them after the ticket, so poll).
    let attachments = eventually("the diagnostics and screenshot attachments", || async {
        let timeline = desk
            .call(
                Method::GET,
                &format!("/api/v1/tickets/{ticket_id}/timeline"),
                Some(&admin),
                None,
            )
            .await;
        let attached: Vec<Value> = timeline
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"]["type"] == "attachment_added")
            .map(|e| e["event"].clone())
            .collect();
        (attached.len() >= 2).then_some(attached)
    })
    .await;
    let names: Vec<&str> = attachments
        .iter()
        .map(|a| a["fileName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["diagnostics.json", "screenshot.png"],
        "{attachments:?}"
    );
    let png = desk
        .http
        .get(format!(
            "{}/api/v1/tickets/{ticket_id}/attachments/{}",
            desk.url(),
            attachments[1]["attachmentId"]
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG of the screen");
    // Width and height sit big-endian in the IHDR chunk: Xvfb's 1440×900 screen.
    assert_eq!(&png[16..24], &[0, 0, 5, 160, 0, 0, 3, 132]);

    // An agent signs in to the console and finds it in the queue.
    app.button("Console").await.click().await.unwrap();
    app.type_into("Username", "alice").await;
    app.type_into("Password", deskside_server::demo::DEMO_PASSWORD)
        .await;
    app.button("Sign in").await.click().await.unwrap();
    app.button("All open").await.click().await.unwrap();
    let row = app
        .find(&format!(
            "[data-testid='queue-row'][data-ticket-number='{number}']"
        ))
        .await;
    app.screenshot("03-console-queue").await;
    let stored = keyring.app_items();
    assert!(
        stored.contains("staff-session@"),
        "the session token is in the OS keyring: {stored}"
    );

    // Reply publicly.
    row.click().await.unwrap();
    app.button("Reply").await.click().await.unwrap();
    let reply = "Thanks — I am clearing the stuck jobs on your printer now.";
    app.type_into("Message", reply).await;
    app.button("Send reply").await.click().await.unwrap();
    app.find("[data-testid='timeline-item'][data-kind='public_reply']")
        .await;
    app.screenshot("04-ticket").await;

    // Clear the printer's queue through the catalog.
    app.button("Actions").await.click().await.unwrap();
    app.button_containing("Clear a print queue")
        .await
        .click()
        .await
        .unwrap();
    app.type_into("Printer", &printer.name).await;
    app.button("Request action").await.click().await.unwrap();
    app.find("[data-testid='action-request'][data-state='succeeded']")
        .await;
    app.screenshot("05-actions").await;
    assert_eq!(printer.queued(), 0, "the agent cleared the real CUPS queue");

    // The user reads the reply in My tickets.
    app.button("My tickets").await.click().await.unwrap();
    app.wait_for_text(&title).await;
    let xpath = format!(
        "//*[contains(normalize-space(.), 'HD-{number}')][@role='button' or self::button or self::a]"
    );
    let entry = app
        .client
        .find(fantoccini::Locator::XPath(&xpath))
        .await
        .expect("the ticket in My tickets");
    entry.click().await.unwrap();
    app.wait_for_text(reply).await;
    app.screenshot("06-my-tickets").await;

    // Signing out removes the token from the keyring.
    app.button("Sign out").await.click().await.unwrap();
    app.button("Console").await.click().await.unwrap();
    app.button("Sign in").await;
    eventually("the keyring entry removed", || async {
        (!keyring.app_items().contains("staff-session@")).then_some(())
    })
    .await;
    app.quit().await;
    drop(endpoint);
}

/// Filed while the server is down: the ticket waits in the outbox, visibly, and arrives
/// exactly once when the server is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_filed_offline_arrives_once_when_the_server_is_back() {
    const TEST: &str = "a_ticket_filed_offline_arrives_once_when_the_server_is_back";
    if let Some(why) = support::missing_tools() {
        return support::skip(TEST, &why);
    }
    let logs = tempfile::tempdir().unwrap();
    let mut desk = Desk::start();
    let endpoint = Endpoint::enroll_and_run(&desk, "version = 1\n", logs.path()).await;
    desk.stop();
    let display = Display::start(logs.path()).await;
    let keyring = KeyringSession::start(logs.path()).await;
    let app = App::launch(&AppEnvironment {
        display: &display,
        keyring: &keyring,
        server_url: desk.url(),
        agent_socket: endpoint.socket.clone(),
        logs: logs.path(),
    })
    .await;

    app.button("Get help").await.click().await.unwrap();
    app.find("[aria-busy='false'] button[aria-expanded]:not([disabled])")
        .await;
    app.button("Network").await.click().await.unwrap();
    let title = format!("No network since this morning {}", std::process::id());
    app.type_into("Title", &title).await;
    app.button("Send").await.click().await.unwrap();
    app.find("[data-testid='submit-waiting']").await;
    let status_bar = app.find("[data-testid='status-bar']").await;
    eventually("the status bar to show the waiting ticket", || async {
        let text = status_bar.text().await.unwrap_or_default();
        text.contains("waiting to send").then_some(())
    })
    .await;
    app.screenshot("07-offline-waiting").await;

    desk.start_here();
    let admin = desk.login("admin").await;
    let delivered: Vec<Value> = eventually("the ticket on the server", || async {
        let found = desk.tickets_titled(&admin, &title).await;
        (!found.is_empty()).then_some(found)
    })
    .await;
    assert_eq!(delivered.len(), 1);
    // The outbox empties, and further sync rounds do not send it again.
    eventually("the outbox to empty", || async {
        let text = status_bar.text().await.unwrap_or_default();
        (!text.contains("waiting to send")).then_some(())
    })
    .await;
    app.button("My tickets").await.click().await.unwrap();
    app.wait_for_text(&title).await;
    assert_eq!(
        desk.tickets_titled(&admin, &title).await.len(),
        1,
        "exactly once"
    );
    app.quit().await;
    drop(endpoint);
}
