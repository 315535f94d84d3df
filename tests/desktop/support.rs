//! The real parts of a desktop end-to-end test: the server (in this process, on a loopback
//! port), the endpoint agent binary enrolled with it, a private X display (Xvfb), a private
//! D-Bus session with GNOME Keyring for the app's credential store, tauri-driver with
//! WebKitWebDriver, and the built `deskside` app driven over WebDriver.
//!
//! Nothing here sleeps to wait: everything polls with a deadline.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use deskside_server::demo;
use deskside_server::testing::TestServer;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

pub const DEADLINE: Duration = Duration::from_secs(40);

/// Why this machine cannot run the desktop tests, if it cannot.
pub fn missing_tools() -> Option<String> {
    let tools = [
        ("Xvfb", "apt-get install xvfb"),
        ("WebKitWebDriver", "apt-get install webkit2gtk-driver"),
        ("tauri-driver", "cargo install tauri-driver --locked"),
        ("dbus-daemon", "apt-get install dbus"),
        ("gnome-keyring-daemon", "apt-get install gnome-keyring"),
        ("secret-tool", "apt-get install libsecret-tools"),
        ("lpadmin", "apt-get install cups cups-client"),
    ];
    let missing: Vec<String> = tools
        .iter()
        .filter(|(tool, _)| which(tool).is_none())
        .map(|(tool, install)| format!("{tool} ({install})"))
        .collect();
    (!missing.is_empty()).then(|| format!("missing {}", missing.join(", ")))
}

pub fn skip(test: &str, why: &str) {
    eprintln!("SKIPPED {test}: {why}; `cargo xtask test` installs everything these tests need");
}

fn which(tool: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cargo/bin"));
    }
    dirs.into_iter()
        .map(|dir| dir.join(tool))
        .find(|path| path.is_file())
}

/// The directory holding the workspace's built binaries (`target/debug`): this test binary
/// lives in its `deps/`.
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/debug")
        .to_owned()
}

pub fn binary(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.is_file(),
        "{} is not built: run `cargo xtask test` (or build the UI, then `cargo build -p \
         deskside -p deskside-agent`) first",
        path.display()
    );
    path
}

/// Where the screenshots of the main screens are saved.
pub fn screenshot_dir() -> PathBuf {
    let dir = std::env::var_os("DESKSIDE_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-screenshots"));
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    let mut pause = Duration::from_millis(20);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(250));
    }
}

/// A child process killed (SIGTERM, then waited for) when dropped.
pub struct Process {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Process {
    fn spawn(name: &'static str, command: &mut Command, log_dir: &Path) -> Process {
        let log = log_dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("{name} starts: {e}"));
        Process { name, child, log }
    }

    fn spawn_with_stdin(name: &'static str, command: &mut Command, log_dir: &Path) -> Process {
        let log = log_dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = command
            .stdin(Stdio::piped())
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("{name} starts: {e}"));
        Process { name, child, log }
    }

    fn write_stdin_and_close(&mut self, bytes: &[u8]) {
        use std::io::Write;
        if let Some(mut stdin) = self.child.stdin.take() {
            stdin.write_all(bytes).expect("write stdin");
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn terminate(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        // SIGTERM lets tauri-driver stop WebKitWebDriver; SIGKILL would orphan it.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("{} did not stop on SIGTERM; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.terminate();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The server and its staff API.
pub struct Desk {
    server: Option<TestServer>,
    pub address: SocketAddr,
    pub data: tempfile::TempDir,
    pub http: reqwest::Client,
}

impl Desk {
    pub fn start() -> Desk {
        let data = tempfile::tempdir().expect("temp dir");
        let server = TestServer::start(data.path(), SocketAddr::from(([127, 0, 0, 1], 0)));
        Desk {
            address: server.address,
            server: Some(server),
            data,
            http: reqwest::Client::new(),
        }
    }

    /// Stops the server; its port is closed when this returns.
    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
    }

    pub fn start_here(&mut self) {
        assert!(self.server.is_none(), "already running");
        self.server = Some(TestServer::start(self.data.path(), self.address));
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub async fn login(&self, username: &str) -> String {
        let body = self
            .call(
                reqwest::Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": username, "password": demo::DEMO_PASSWORD})),
            )
            .await;
        body["token"].as_str().expect("token").to_owned()
    }

    /// A JSON request that must succeed; returns the body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.url()));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.expect("body");
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Tickets whose title is `title`, as the admin sees them.
    pub async fn tickets_titled(&self, admin: &str, title: &str) -> Vec<Value> {
        let page = self
            .call(
                reqwest::Method::GET,
                "/api/v1/tickets?limit=200",
                Some(admin),
                None,
            )
            .await;
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|t| t["title"] == title)
            .cloned()
            .collect()
    }
}

/// This computer enrolled with the desk, its agent running with the local bridge socket.
pub struct Endpoint {
    pub device_id: String,
    pub socket: PathBuf,
    _state: tempfile::TempDir,
    _agent: Process,
}

impl Endpoint {
    pub async fn enroll_and_run(desk: &Desk, policy: &str, logs: &Path) -> Endpoint {
        let state = tempfile::tempdir().expect("temp dir");
        let admin = desk.login("admin").await;
        let token = desk
            .call(
                reqwest::Method::POST,
                "/api/v1/enrollment-tokens",
                Some(&admin),
                Some(json!({})),
            )
            .await["token"]
            .as_str()
            .expect("token")
            .to_owned();
        let agent = binary("deskside-agent");
        let out = Command::new(&agent)
            .args(["enroll", "--server", &desk.url(), "--token", &token])
            .arg("--state-dir")
            .arg(state.path())
            .args(["--hostname", "ws-e2e"])
            .output()
            .expect("deskside-agent enroll");
        assert!(
            out.status.success(),
            "enroll: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(state.path().join("policy.toml"), policy).expect("policy.toml");
        let enrollment: Value =
            serde_json::from_slice(&std::fs::read(state.path().join("agent.json")).unwrap())
                .unwrap();
        let socket = state.path().join("agent.sock");
        let process = Process::spawn(
            "agent",
            Command::new(&agent)
                .arg("run")
                .arg("--state-dir")
                .arg(state.path())
                .arg("--socket")
                .arg(&socket)
                .env("DESKSIDE_LOG", "info"),
            logs,
        );
        let endpoint = Endpoint {
            device_id: enrollment["deviceId"]
                .as_str()
                .expect("deviceId")
                .to_owned(),
            socket,
            _state: state,
            _agent: process,
        };
        eventually("the agent's bridge socket", || async {
            endpoint.socket.exists().then_some(())
        })
        .await;
        endpoint
    }
}

/// A private X display.
pub struct Display {
    pub name: String,
    _xvfb: Process,
}

impl Display {
    pub async fn start(logs: &Path) -> Display {
        use std::io::BufRead;
        // `-displayfd 1`: Xvfb picks a free display itself and writes its number to stdout
        // once it accepts connections, so parallel tests never race for one.
        let log = logs.join("xvfb.log");
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1440x900x24",
                "-nolisten",
                "tcp",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("Xvfb starts");
        let stdout = child.stdout.take().expect("Xvfb stdout");
        let number = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            std::io::BufReader::new(stdout).read_line(&mut line).ok();
            line.trim().to_owned()
        });
        let number = tokio::time::timeout(DEADLINE, number)
            .await
            .expect("Xvfb names its display in time")
            .expect("reading Xvfb's display");
        assert!(
            !number.is_empty(),
            "Xvfb did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        Display {
            name: format!(":{number}"),
            _xvfb: Process {
                name: "xvfb",
                child,
                log,
            },
        }
    }
}

/// A private D-Bus session bus with GNOME Keyring's Secret Service unlocked on it: the
/// credential store a Linux desktop gives the app. Its keyrings live in a temp dir.
pub struct KeyringSession {
    pub bus_address: String,
    bus_pid: u32,
    _keyring: Process,
    _keyring_home: tempfile::TempDir,
}

impl KeyringSession {
    pub async fn start(logs: &Path) -> KeyringSession {
        let keyring_home = tempfile::tempdir().expect("temp dir");
        // The bus hands its environment to services it activates: a Secret Service it
        // started on its own would use the same private keyring directory.
        let out = Command::new("dbus-daemon")
            .args(["--session", "--fork", "--print-address=1", "--print-pid=1"])
            .env("XDG_DATA_HOME", keyring_home.path())
            .output()
            .expect("dbus-daemon");
        assert!(out.status.success(), "dbus-daemon: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let bus_address = lines.next().expect("bus address").trim().to_owned();
        let bus_pid = lines
            .next()
            .and_then(|p| p.trim().parse().ok())
            .expect("bus pid");
        // The login keyring's password comes on stdin; an empty one would make the daemon
        // ask a (display-less) prompter instead.
        let mut keyring = Process::spawn_with_stdin(
            "gnome-keyring",
            Command::new("gnome-keyring-daemon")
                .args(["--foreground", "--unlock", "--components=secrets"])
                .env("DBUS_SESSION_BUS_ADDRESS", &bus_address)
                .env("XDG_DATA_HOME", keyring_home.path()),
            logs,
        );
        keyring.write_stdin_and_close(b"deskside-e2e");
        let session = KeyringSession {
            bus_address,
            bus_pid,
            _keyring: keyring,
            _keyring_home: keyring_home,
        };
        // Asking whether the name has an owner does not activate anything, unlike a call to
        // the Secret Service itself, which would race our daemon with one the bus starts.
        eventually("gnome-keyring on the session bus", || async {
            let owned = Command::new("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .env("DBUS_SESSION_BUS_ADDRESS", &session.bus_address)
                .output()
                .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("boolean true"));
            owned.then_some(())
        })
        .await;
        eventually("the Secret Service to store a secret", || async {
            let stored = Command::new("secret-tool")
                .args(["store", "--label=probe", "deskside-e2e", "probe"])
                .env("DBUS_SESSION_BUS_ADDRESS", &session.bus_address)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            stored.then_some(())
        })
        .await;
        session
    }

    /// Items the app stored in the keyring (by its service name).
    pub fn app_items(&self) -> String {
        let out = Command::new("secret-tool")
            .args(["search", "--all", "service", "app.deskside.desktop"])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus_address)
            .output()
            .expect("secret-tool");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }
}

impl Drop for KeyringSession {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.bus_pid.to_string()])
            .status();
    }
}

/// The desktop app under tauri-driver, and a WebDriver session on it.
pub struct App {
    pub client: Client,
    _data: tempfile::TempDir,
    driver: Process,
}

pub struct AppEnvironment<'a> {
    pub display: &'a Display,
    pub keyring: &'a KeyringSession,
    pub server_url: String,
    pub agent_socket: PathBuf,
    pub logs: &'a Path,
}

impl App {
    pub async fn launch(env: &AppEnvironment<'_>) -> App {
        let data = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let native_port = free_port();
        let driver_path = which("tauri-driver").expect("tauri-driver");
        let driver = Process::spawn(
            "tauri-driver",
            Command::new(driver_path)
                .args(["--port", &port.to_string()])
                .args(["--native-port", &native_port.to_string()])
                .args(["--native-driver", "/usr/bin/WebKitWebDriver"])
                .env("DISPLAY", &env.display.name)
                .env("DBUS_SESSION_BUS_ADDRESS", &env.keyring.bus_address)
                .env("DESKSIDE_SERVER_URL", &env.server_url)
                .env("DESKSIDE_AGENT_SOCKET", &env.agent_socket)
                .env("DESKSIDE_DATA_DIR", data.path())
                .env("DESKSIDE_SYNC_INTERVAL_MS", "300")
                .env("DESKSIDE_LOG", "info"),
            env.logs,
        );
        let application = binary("deskside");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("wry"));
        capabilities.insert(
            "tauri:options".into(),
            json!({ "application": application }),
        );
        let url = format!("http://127.0.0.1:{port}");
        // The driver needs a moment to listen; a session on a display-less machine would
        // hang, hence the timeout around each attempt.
        let client = eventually("a WebDriver session", || {
            let capabilities = capabilities.clone();
            let url = url.clone();
            async move {
                let connector = hyper_util::client::legacy::connect::HttpConnector::new();
                let attempt = tokio::time::timeout(
                    Duration::from_secs(20),
                    ClientBuilder::new(connector)
                        .capabilities(capabilities)
                        .connect(&url),
                )
                .await;
                match attempt {
                    Ok(Ok(client)) => Some(client),
                    _ => None,
                }
            }
        })
        .await;
        App {
            client,
            _data: data,
            driver,
        }
    }

    pub fn driver_log(&self) -> String {
        self.driver.log()
    }

    /// Waits for the first element matching `css`.
    pub async fn find(&self, css: &str) -> Element {
        self.wait(Locator::Css(css), css).await
    }

    /// Waits for a button whose visible text or accessible label is `name`.
    pub async fn button(&self, name: &str) -> Element {
        let xpath = format!(
            "//button[normalize-space(.)='{name}' or @aria-label='{name}' or @title='{name}']"
        );
        let button = self.wait(Locator::XPath(&xpath), name).await;
        self.scroll_into_view(&button).await;
        button
    }

    /// Centres `element` in its scroll container, so a click lands on it and not on
    /// whatever covers the edge of the window.
    pub async fn scroll_into_view(&self, element: &Element) {
        let argument = serde_json::to_value(element).expect("element as JSON");
        let _ = self
            .client
            .execute(
                "arguments[0].scrollIntoView({block: 'center'})",
                vec![argument],
            )
            .await;
    }

    /// Waits for a button whose visible text contains `text` (cards with badges).
    pub async fn button_containing(&self, text: &str) -> Element {
        let start = Instant::now();
        loop {
            for button in self
                .client
                .find_all(Locator::Css("button"))
                .await
                .unwrap_or_default()
            {
                if button.text().await.unwrap_or_default().contains(text) {
                    return button;
                }
            }
            if start.elapsed() > DEADLINE {
                let saved = self.save_failure().await;
                panic!("timed out waiting for a button with {text:?} (saved in {saved})");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for the form field labelled `label`.
    pub async fn field(&self, label: &str) -> Element {
        let xpath = format!(
            "//*[self::input or self::textarea or self::select][@id=//label[normalize-space(.)='{label}']/@for or @aria-label='{label}']"
        );
        self.wait(Locator::XPath(&xpath), label).await
    }

    async fn wait(&self, locator: Locator<'_>, what: &str) -> Element {
        let start = Instant::now();
        loop {
            if let Ok(element) = self.client.find(locator).await {
                if element.is_displayed().await.unwrap_or(false) {
                    return element;
                }
                // In a scrolled list WebKit calls an element hidden until it is in view.
                self.scroll_into_view(&element).await;
                if element.is_displayed().await.unwrap_or(false) {
                    return element;
                }
            }
            if start.elapsed() > DEADLINE {
                let saved = self.save_failure().await;
                panic!(
                    "timed out waiting for {what} (page and screenshot: {saved})\n--- driver log ---\n{}",
                    self.driver_log()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the page's text contains `needle`.
    pub async fn wait_for_text(&self, needle: &str) {
        let start = Instant::now();
        loop {
            let text = match self.client.find(Locator::Css("body")).await {
                Ok(body) => body.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if text.contains(needle) {
                return;
            }
            if start.elapsed() > DEADLINE {
                let saved = self.save_failure().await;
                panic!(
                    "timed out waiting for text {needle:?} (saved in {saved}); page text:\n{text}"
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves the page source and a screenshot for a failure report; returns where.
    async fn save_failure(&self) -> String {
        let dir = screenshot_dir();
        let source = self.client.source().await.unwrap_or_default();
        std::fs::write(dir.join("failure-page.html"), source).ok();
        if let Ok(png) = self.client.screenshot().await {
            std::fs::write(dir.join("failure.png"), png).ok();
        }
        dir.display().to_string()
    }

    pub async fn type_into(&self, label: &str, text: &str) {
        let field = self.field(label).await;
        field.click().await.expect("focus field");
        field.send_keys(text).await.expect("type");
    }

    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("save screenshot");
        eprintln!("screenshot: {}", path.display());
    }

    pub async fn quit(self) {
        let _ = self.client.close().await;
        drop(self.driver);
    }
}
