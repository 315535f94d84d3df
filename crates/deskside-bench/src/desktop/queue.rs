//! The console's queue in the real release app, driven over WebDriver (tauri-driver with
//! WebKitWebDriver) as the end-to-end tests drive it: an agent signs in to a desk holding a
//! large history, the "All open" view lists thousands of tickets, and the measurements run
//! inside the page (`performance.now()` and `requestAnimationFrame`), so WebDriver's own
//! round trips are not part of any figure.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use deskside_client::api::TicketFilter;
use fantoccini::{Client, ClientBuilder, Locator};
use serde::Serialize;
use serde_json::{Value, json};

use super::processes::{Guarded, Quiet, require, stat, tree, wait_until_quiet, which};
use super::session::{DesktopSession, FreshHome};
use super::start::TreeMemory;
use crate::latency::{LatencySummary, summarize};

/// The demo agent who signs in (tier L1); `deskside-server demo seed` creates her.
pub const AGENT: &str = "alice";
const WEBKIT_WEBDRIVER: &str = "/usr/bin/WebKitWebDriver";
/// What the console shows first (and what it opens on in a fresh profile).
const VIEW: &str = "All open";
/// The statuses "All open" lists (ui/src/lib/labels.ts, OPEN_STATUSES).
const OPEN_STATUSES: [&str; 3] = ["new", "open", "pending_user"];
/// Rows the console asks the app for at a time (ui/src/features/console/queue/useQueue.ts).
const PAGE_ROWS: usize = 200;
/// How long the app's first sync of the history may take before the queue is measured
/// anyway (reported as not settled).
const FIRST_SYNC_WAIT: Duration = Duration::from_secs(600);
const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// Frames timed with nothing changing, for the baseline frame interval.
const IDLE_FRAMES_COUNTED: usize = 120;

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueReport {
    /// Tickets in the desk's history.
    pub tickets: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seeding_seconds: Option<f64>,
    /// Tickets in the "All open" view, counted through the API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_rows: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_in: Option<SignIn>,
    /// The app's own first sync of the history after signing in, waited out before the
    /// queue is scrolled (app, its WebKit processes and the server all quiet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_sync: Option<Quiet>,
    /// Opening the console when signed in, in a freshly loaded page (nothing cached in it):
    /// "Console" clicked → the first row of "All open" drawn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_queue: Option<OpenQueue>,
    /// Time from one frame to the next with the queue shown and nothing changing: the
    /// baseline for the frame interval while scrolling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_frame_interval: Option<LatencySummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scroll: Option<ScrollThrough>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jumps: Option<Jumps>,
    /// The app and its WebKit processes with every row loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_after_scroll: Option<TreeMemory>,
    /// The window after the jumps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screenshot: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowFacts {
    pub inner_width: f64,
    pub inner_height: f64,
    pub device_pixel_ratio: f64,
    /// Height of the queue's scrolling area and of one row, in CSS pixels.
    pub queue_height: f64,
    pub row_height: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignIn {
    /// "Sign in" clicked → the console's queue grid in the page (skeleton rows).
    pub to_console_ms: f64,
    /// "Sign in" clicked → the frame that draws the first queue row.
    pub to_first_row_ms: f64,
    pub rows_loaded: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenQueue {
    pub to_first_row_ms: f64,
    pub rows_loaded: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScrollThrough {
    /// Rows in the view once the end was reached.
    pub rows: usize,
    /// Whether that is every ticket the API lists for the view.
    pub complete: bool,
    /// Start of scrolling → the frame that draws the last row.
    pub total_ms: f64,
    pub rows_per_sec: f64,
    /// Pages of rows the console fetched from the app on the way.
    pub pages: usize,
    /// Time from one frame to the next while scrolling (the scroll set, then the frame).
    pub frame_interval: LatencySummary,
    /// Rows in the page at once: the table is virtualised.
    pub max_rows_in_dom: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_ticket_number: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Jumps {
    /// Scroll position set → the frame after the one that drew the target row.
    pub latency: LatencySummary,
    /// Most frames one jump took.
    pub max_frames: u64,
}

pub struct QueueSetup<'a> {
    pub app: &'a Path,
    pub session: &'a DesktopSession,
    pub server: SocketAddr,
    pub jumps: usize,
    pub dir: &'a Path,
    /// The server's pid, whose CPU counts when waiting for the first sync to settle.
    pub server_pid: u32,
}

pub fn measure_queue(setup: &QueueSetup<'_>, report: &mut QueueReport) -> anyhow::Result<()> {
    require(&[
        ("tauri-driver", "cargo install tauri-driver --locked"),
        (WEBKIT_WEBDRIVER, "apt-get install webkit2gtk-driver"),
    ])?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let server_url = format!("http://{}", setup.server);
    report.expected_rows = Some(runtime.block_on(count_open_tickets(&server_url))?);
    eprintln!(
        "[bench]   \"{VIEW}\" lists {} tickets",
        report.expected_rows.unwrap_or(0)
    );

    let home = FreshHome::create(setup.dir.join("home"))?;
    let port = free_port()?;
    let mut command = Command::new(which("tauri-driver").context("tauri-driver")?);
    command
        .args(["--port", &port.to_string()])
        .args(["--native-port", &free_port()?.to_string()])
        .args(["--native-driver", WEBKIT_WEBDRIVER]);
    setup.session.apply(&mut command);
    home.apply_app(&mut command, &server_url);
    let mut driver = Guarded::spawn(
        "tauri-driver",
        &mut command,
        &setup.dir.join("tauri-driver.log"),
    )?;
    let outcome = runtime.block_on(async {
        let client = connect(setup.app, port, &mut driver).await?;
        let outcome = drive(&client, setup, driver.pid(), report).await;
        if outcome.is_err() {
            save_failure(&client, setup.dir).await;
        }
        let _ = client.close().await;
        outcome
    });
    drop(driver);
    let _ = std::fs::remove_dir_all(&home.root);
    outcome.map_err(|error| {
        error.context(format!(
            "logs in {} (tauri-driver.log holds the app's)",
            setup.dir.display()
        ))
    })
}

async fn drive(
    client: &Client,
    setup: &QueueSetup<'_>,
    driver_pid: u32,
    report: &mut QueueReport,
) -> anyhow::Result<()> {
    wait_for(client, &button_xpath("Console"))
        .await?
        .click()
        .await?;
    type_into(client, "Username", AGENT).await?;
    type_into(client, "Password", crate::deskside::DEMO_PASSWORD).await?;
    let signed_in = in_page(client, "sign-in", SIGN_IN, &[]).await?;
    let sign_in = SignIn {
        to_console_ms: number(&signed_in, "toConsoleMs")?,
        to_first_row_ms: number(&signed_in, "toFirstRowMs")?,
        rows_loaded: number(&signed_in, "rows")? as usize,
    };
    eprintln!(
        "[bench]   sign-in → console {:.0} ms, → first queue row {:.0} ms",
        sign_in.to_console_ms, sign_in.to_first_row_ms
    );
    report.sign_in = Some(sign_in);
    if client.execute(VIEW_IS_CURRENT, vec![json!(VIEW)]).await? != json!(true) {
        bail!("the console did not open on \"{VIEW}\", its first view in a fresh profile");
    }

    // Signing in starts the app's first sync of the whole history in the background; the
    // queue is scrolled once it has finished, as an agent's console would be used.
    let roots = [driver_pid, setup.server_pid];
    let quiet = tokio::task::spawn_blocking(move || wait_until_quiet(&roots, FIRST_SYNC_WAIT))
        .await
        .context("waiting for the app's first sync")?;
    eprintln!(
        "[bench]   the app's first sync: quiet after {:.1} s{}",
        quiet.waited_seconds,
        if quiet.settled { "" } else { " (still busy)" }
    );
    report.first_sync = Some(quiet);

    // A fresh page (the app stays signed in) opens on "Get help"; "Console" then shows
    // "All open" with nothing cached in the page.
    client.refresh().await?;
    wait_for(client, &button_xpath("Console")).await?;
    let opened = in_page(client, "open-queue", OPEN_QUEUE, &[]).await?;
    let open_queue = OpenQueue {
        to_first_row_ms: number(&opened, "toFirstRowMs")?,
        rows_loaded: number(&opened, "rows")? as usize,
    };
    eprintln!(
        "[bench]   \"Console\" clicked → first queue row {:.0} ms",
        open_queue.to_first_row_ms
    );
    report.open_queue = Some(open_queue);
    if client.execute(VIEW_IS_CURRENT, vec![json!(VIEW)]).await? != json!(true) {
        bail!("the console did not reopen on \"{VIEW}\"");
    }

    let window = client.execute(WINDOW_FACTS, Vec::new()).await?;
    report.window = Some(WindowFacts {
        inner_width: number(&window, "innerWidth")?,
        inner_height: number(&window, "innerHeight")?,
        device_pixel_ratio: number(&window, "devicePixelRatio")?,
        queue_height: number(&window, "queueHeight")?,
        row_height: number(&window, "rowHeight")?,
    });

    let idle = in_page(
        client,
        "idle-frames",
        IDLE_FRAMES,
        &[("__FRAMES__", IDLE_FRAMES_COUNTED.to_string())],
    )
    .await?;
    report.idle_frame_interval = Some(frame_summary(&idle).context("no idle frames")?);

    let expected = report.expected_rows.unwrap_or(0);
    let scrolled = in_page(
        client,
        "scroll",
        SCROLL_THROUGH,
        &[("__EXPECTED__", expected.to_string())],
    )
    .await?;
    let rows = number(&scrolled, "rows")? as usize;
    let total_ms = number(&scrolled, "totalMs")?;
    let scroll = ScrollThrough {
        rows,
        complete: rows == expected,
        total_ms,
        rows_per_sec: rows as f64 / (total_ms / 1000.0),
        pages: rows.div_ceil(PAGE_ROWS),
        frame_interval: frame_summary(&scrolled["frameMs"]).context("no frames while scrolling")?,
        max_rows_in_dom: number(&scrolled, "maxRowsInDom")? as usize,
        last_ticket_number: scrolled["lastTicketNumber"].as_i64(),
    };
    eprintln!(
        "[bench]   scrolled through {} rows in {:.1} s ({:.0} rows/s), frame interval p50 {:.1} ms, p95 {:.1} ms",
        scroll.rows,
        scroll.total_ms / 1000.0,
        scroll.rows_per_sec,
        scroll.frame_interval.p50_ms,
        scroll.frame_interval.p95_ms
    );
    report.scroll = Some(scroll);

    let jumped = in_page(
        client,
        "jumps",
        JUMPS,
        &[("__JUMPS__", setup.jumps.to_string())],
    )
    .await?;
    let jumps = jumped.as_array().context("no jumps")?;
    let jumps = Jumps {
        latency: summarize(
            jumps
                .iter()
                .filter_map(|jump| jump["ms"].as_f64())
                .map(|ms| (ms * 1e6) as u64)
                .collect(),
        )
        .context("no jumps measured")?,
        max_frames: jumps
            .iter()
            .filter_map(|jump| jump["frames"].as_u64())
            .max()
            .unwrap_or(0),
    };
    eprintln!(
        "[bench]   {} jumps: p50 {:.1} ms, max {:.1} ms",
        jumps.latency.samples, jumps.latency.p50_ms, jumps.latency.max_ms
    );
    report.jumps = Some(jumps);

    report.memory_after_scroll = tree(driver_pid)
        .into_iter()
        .find(|&pid| stat(pid).is_some_and(|process| process.name == "deskside"))
        .map(TreeMemory::of);
    let screenshot = setup.dir.join("desktop-queue.png");
    std::fs::write(&screenshot, client.screenshot().await?)
        .with_context(|| format!("writing {}", screenshot.display()))?;
    report.screenshot = Some(screenshot);
    Ok(())
}

/// Milliseconds measured in the page (a JSON array) as a summary.
fn frame_summary(milliseconds: &Value) -> Option<LatencySummary> {
    summarize(
        milliseconds
            .as_array()?
            .iter()
            .filter_map(Value::as_f64)
            .map(|ms| (ms * 1e6) as u64)
            .collect(),
    )
}

/// Tickets in "All open" as the agent's API lists them: every page, counted.
async fn count_open_tickets(server_url: &str) -> anyhow::Result<usize> {
    let client = deskside_client::Client::new(server_url)?;
    let login = client
        .login(AGENT, crate::deskside::DEMO_PASSWORD)
        .await
        .with_context(|| format!("logging in as {AGENT}"))?;
    let client = client.with_auth(deskside_client::Auth::Staff { token: login.token });
    let mut filter = TicketFilter {
        status: OPEN_STATUSES
            .iter()
            .map(|&status| status.to_owned())
            .collect(),
        limit: Some(PAGE_ROWS as u32),
        ..TicketFilter::default()
    };
    let mut count = 0;
    loop {
        let page = client.list_tickets(&filter).await?;
        count += page.items.len();
        match page.next_cursor {
            Some(cursor) => filter.cursor = Some(cursor),
            None => return Ok(count),
        }
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A WebDriver session on the app, which tauri-driver starts. The driver needs a moment to
/// listen, and a session on a broken display would hang: each attempt has a timeout.
async fn connect(app: &Path, port: u16, driver: &mut Guarded) -> anyhow::Result<Client> {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".into(), json!("wry"));
    capabilities.insert("tauri:options".into(), json!({ "application": app }));
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let mut last_error = String::new();
    while started.elapsed() < STEP_TIMEOUT {
        driver.ensure_running()?;
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let attempt = tokio::time::timeout(
            Duration::from_secs(30),
            ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url),
        )
        .await;
        match attempt {
            Ok(Ok(client)) => return Ok(client),
            Ok(Err(error)) => last_error = error.to_string(),
            Err(_) => last_error = "timed out".to_owned(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("no WebDriver session on the app: {last_error}")
}

fn button_xpath(name: &str) -> String {
    format!("//button[normalize-space(.)='{name}' or @aria-label='{name}' or @title='{name}']")
}

async fn wait_for(client: &Client, xpath: &str) -> anyhow::Result<fantoccini::elements::Element> {
    let started = Instant::now();
    loop {
        if let Ok(element) = client.find(Locator::XPath(xpath)).await
            && element.is_displayed().await.unwrap_or(false)
        {
            return Ok(element);
        }
        if started.elapsed() > STEP_TIMEOUT {
            bail!("timed out waiting for {xpath}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn type_into(client: &Client, label: &str, text: &str) -> anyhow::Result<()> {
    let xpath = format!(
        "//*[self::input or self::textarea][@id=//label[normalize-space(.)='{label}']/@for or @aria-label='{label}']"
    );
    let field = wait_for(client, &xpath).await?;
    field.click().await?;
    field.send_keys(text).await?;
    Ok(())
}

/// Runs `body` (the body of an async JavaScript function, after [`PRELUDE`]) in the page
/// and returns its result. It runs on its own while the driver polls for the result now
/// and then, so no WebDriver script timeout applies and the polls stay out of its way.
async fn in_page(
    client: &Client,
    name: &str,
    body: &str,
    constants: &[(&str, String)],
) -> anyhow::Result<Value> {
    let mut body = body.to_owned();
    for (placeholder, value) in constants {
        body = body.replace(placeholder, value);
    }
    let script = [START_HEAD, PRELUDE, &body, START_TAIL].concat();
    client
        .execute(&script, vec![json!(name)])
        .await
        .with_context(|| format!("starting {name} in the page"))?;
    let started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let state = client.execute(POLL, vec![json!(name)]).await?;
        if state["done"] == json!(true) {
            if let Some(error) = state["error"].as_str() {
                bail!("{name} in the page: {error}");
            }
            return Ok(state["value"].clone());
        }
        if started.elapsed() > Duration::from_secs(900) {
            bail!("{name} in the page: no result after 15 minutes");
        }
    }
}

fn number(value: &Value, field: &str) -> anyhow::Result<f64> {
    value[field]
        .as_f64()
        .with_context(|| format!("no number `{field}` in {value}"))
}

/// The page source and a screenshot, for whoever reads the failure.
async fn save_failure(client: &Client, dir: &Path) {
    if let Ok(source) = client.source().await {
        let _ = std::fs::write(dir.join("failure-page.html"), source);
    }
    if let Ok(png) = client.screenshot().await {
        let _ = std::fs::write(dir.join("failure.png"), png);
    }
}

const START_HEAD: &str = r#"
const key = arguments[0];
window.__desksideBench = window.__desksideBench || {};
window.__desksideBench[key] = { done: false };
(async () => {
"#;

const START_TAIL: &str = r#"
})().then(
  (value) => { window.__desksideBench[key] = { done: true, value }; },
  (error) => { window.__desksideBench[key] = { done: true, error: String((error && error.stack) || error) }; },
);
return true;
"#;

const POLL: &str = "return (window.__desksideBench || {})[arguments[0]] || null;";

/// The queue as the page shows it (ui/src/features/console/queue/QueueTable.tsx): a grid
/// whose `aria-rowcount` is the rows loaded plus the header, a scroller holding a
/// rowgroup, and rows (only those in view) with `aria-rowindex` = index + 2.
const PRELUDE: &str = r#"
const grid = () => document.querySelector("[role='grid'][aria-label='Ticket queue']");
const scroller = () => {
  const body = grid() && grid().querySelector("[role='rowgroup']");
  return body ? body.parentElement : null;
};
const rowCount = () => (grid() ? Number(grid().getAttribute("aria-rowcount")) - 1 : 0);
const rowAt = (index) => document.querySelector(`[data-testid='queue-row'][aria-rowindex='${index + 2}']`);
const rowsInDom = () => document.querySelectorAll("[data-testid='queue-row']").length;
const nextFrame = () => new Promise((resolve) => requestAnimationFrame(resolve));
"#;

/// Clicks "Sign in" (the fields are filled) and times the console and its first row.
const SIGN_IN: &str = r#"
const button = Array.from(document.querySelectorAll("button")).find((b) => b.textContent.trim() === "Sign in");
if (!button) throw new Error("no Sign in button");
const started = performance.now();
button.click();
let consoleAt = null;
for (;;) {
  await nextFrame();
  const now = performance.now();
  if (consoleAt === null && grid()) consoleAt = now;
  if (rowAt(0)) return { toConsoleMs: consoleAt - started, toFirstRowMs: now - started, rows: rowCount() };
  if (now - started > 60000) throw new Error("no queue row 60 s after signing in: " + document.body.innerText.slice(0, 400));
}
"#;

/// Clicks "Console" (signed in, nothing cached in the page) and times its first row.
const OPEN_QUEUE: &str = r#"
if (grid()) throw new Error("the console was already open after a reload");
const button = Array.from(document.querySelectorAll("button")).find((b) => b.textContent.trim() === "Console");
if (!button) throw new Error("no Console button");
const started = performance.now();
button.click();
for (;;) {
  await nextFrame();
  const now = performance.now();
  if (rowAt(0)) return { toFirstRowMs: now - started, rows: rowCount() };
  if (now - started > 60000) throw new Error("no queue row 60 s after opening the console");
}
"#;

const VIEW_IS_CURRENT: &str = r#"
const view = Array.from(document.querySelectorAll("nav[aria-label='Console views'] button"))
  .find((b) => b.textContent.trim().startsWith(arguments[0]));
return Boolean(view) && view.getAttribute("aria-current") === "page";
"#;

const WINDOW_FACTS: &str = r#"
const grid = document.querySelector("[role='grid'][aria-label='Ticket queue']");
const body = grid && grid.querySelector("[role='rowgroup']");
const row = document.querySelector("[data-testid='queue-row']");
return {
  innerWidth: window.innerWidth,
  innerHeight: window.innerHeight,
  devicePixelRatio: window.devicePixelRatio,
  queueHeight: body ? body.parentElement.clientHeight : null,
  rowHeight: row ? row.getBoundingClientRect().height : null,
};
"#;

/// Times frames with the queue shown and nothing changing.
const IDLE_FRAMES: &str = r#"
const FRAMES = __FRAMES__;
const intervals = [];
await nextFrame();
let last = performance.now();
for (let i = 0; i < FRAMES; i += 1) {
  await nextFrame();
  const now = performance.now();
  intervals.push(now - last);
  last = now;
}
return intervals;
"#;

/// Scrolls to the bottom every frame, so the console fetches page after page, until every
/// ticket of the view is loaded and the last row drawn (or nothing grew for 10 s).
const SCROLL_THROUGH: &str = r#"
const EXPECTED = __EXPECTED__;
const QUIET_MS = 10000;
const el = scroller();
if (!el) throw new Error("no queue scroller");
const started = performance.now();
let rows = rowCount();
let grewAt = started;
let shownAt = null;
let maxInDom = rowsInDom();
const frames = [];
for (;;) {
  const before = performance.now();
  el.scrollTop = el.scrollHeight;
  await nextFrame();
  const now = performance.now();
  frames.push([before, now - before]);
  maxInDom = Math.max(maxInDom, rowsInDom());
  const count = rowCount();
  if (count > rows) { rows = count; grewAt = now; shownAt = null; }
  if (shownAt === null && rowAt(rows - 1)) shownAt = now;
  if (shownAt !== null && (rows >= EXPECTED || now - grewAt > QUIET_MS)) break;
  if (now - started > 600000) throw new Error(`still scrolling after 10 minutes, at ${rows} rows`);
}
const last = rowAt(rows - 1);
return {
  rows,
  totalMs: shownAt - started,
  frameMs: frames.filter(([at]) => at <= shownAt).map(([, ms]) => ms),
  maxRowsInDom: maxInDom,
  lastTicketNumber: last ? Number(last.getAttribute("data-ticket-number")) : null,
};
"#;

/// Jumps to pseudo-random rows (a fixed sequence) and times each until drawn.
const JUMPS: &str = r#"
const JUMPS = __JUMPS__;
const el = scroller();
const total = rowCount();
const rowHeight = document.querySelector("[data-testid='queue-row']").getBoundingClientRect().height;
let seed = 20261125;
const jumps = [];
for (let i = 0; i < JUMPS; i += 1) {
  seed = (seed * 48271) % 2147483647;
  const index = seed % total;
  await nextFrame();
  const started = performance.now();
  el.scrollTop = index * rowHeight;
  let frames = 0;
  while (!rowAt(index)) {
    await nextFrame();
    frames += 1;
    if (frames > 120) throw new Error(`row ${index} not drawn 120 frames after the jump`);
  }
  // The frame that drew it is on screen once the next one starts.
  await nextFrame();
  jumps.push({ index, ms: performance.now() - started, frames: frames + 1 });
}
return jumps;
"#;
