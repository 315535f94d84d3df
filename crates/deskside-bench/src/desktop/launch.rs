//! Starting a desktop program and timing how long until its window is interactive: the
//! Deskside app (it logs when the window's first request arrives) and, as the baseline,
//! WebKitGTK's own MiniBrowser showing a one-line page that makes one request.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};

use super::processes::Guarded;
use super::session::{DesktopSession, FreshHome};

/// The app logs this once, when the web view's first command arrives (React mounted and
/// asking for data), followed by the milliseconds since its `main` began.
const INTERACTIVE_LINE: &str = "interactive: the window's first request came ";

/// Ships with WebKitGTK itself (Debian package libwebkit2gtk-4.1-0), so wherever the app
/// runs, it is there.
pub const MINIBROWSER: &str = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";

/// Generous: a cold start under a loaded machine still takes seconds, not a minute.
pub const INTERACTIVE_TIMEOUT: Duration = Duration::from_secs(60);

/// When a launched program became interactive.
#[derive(Debug, Clone, Copy)]
pub struct Interactive {
    /// From spawning the process to the signal, as the driver saw it.
    pub wall: Duration,
    /// From the app's `main` to the signal, as the app logged it (the app only).
    pub in_app: Option<Duration>,
}

/// A desktop program started by the driver, stopped with SIGTERM when dropped.
pub struct Launched {
    pub process: Guarded,
    spawned: Instant,
    signal: mpsc::Receiver<(Instant, Option<Duration>)>,
}

impl Launched {
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Waits for the interactive signal; fails with the log's tail if the program exits or
    /// the timeout passes first.
    pub fn wait_interactive(&mut self, timeout: Duration) -> anyhow::Result<Interactive> {
        let deadline = self.spawned + timeout;
        loop {
            match self.signal.recv_timeout(Duration::from_millis(50)) {
                Ok((at, in_app)) => {
                    return Ok(Interactive {
                        wall: at.duration_since(self.spawned),
                        in_app,
                    });
                }
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {
                    self.process.ensure_running()?;
                }
                Err(_) => {
                    self.process.ensure_running()?;
                    return Err(anyhow!(
                        "not interactive within {}s{}",
                        timeout.as_secs(),
                        crate::child::log_tail(&self.process.log)
                    ));
                }
            }
        }
    }
}

/// Starts the app in `session` with a fresh `home`; its stderr is copied to `log` and
/// watched for the interactive line.
pub fn launch_app(
    app: &Path,
    session: &DesktopSession,
    home: &FreshHome,
    server_url: &str,
    log: &Path,
) -> anyhow::Result<Launched> {
    let mut command = Command::new(app);
    session.apply(&mut command);
    home.apply_app(&mut command, server_url);
    let file = File::create(log).with_context(|| format!("creating {}", log.display()))?;
    command
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(Stdio::piped());
    let spawned = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", app.display()))?;
    let stderr = child
        .stderr
        .take()
        .context("the app's stderr was not piped")?;
    let process = Guarded::adopt("deskside", child, log);
    let (sender, signal) = mpsc::channel();
    std::thread::spawn(move || watch_log(stderr, file, &sender));
    Ok(Launched {
        process,
        spawned,
        signal,
    })
}

/// Copies the app's stderr to its log (a full pipe would block it) and reports the moment
/// the interactive line arrives.
fn watch_log(
    stderr: impl std::io::Read,
    mut log: File,
    sender: &mpsc::Sender<(Instant, Option<Duration>)>,
) {
    let mut reported = false;
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        if !reported && let Some(in_app) = parse_interactive(&line) {
            reported = true;
            let _ = sender.send((Instant::now(), Some(in_app)));
        }
        let _ = writeln!(log, "{line}");
    }
}

fn parse_interactive(line: &str) -> Option<Duration> {
    let rest = &line[line.find(INTERACTIVE_LINE)? + INTERACTIVE_LINE.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some(Duration::from_millis(digits.parse().ok()?))
}

/// Serves the baseline's page on a loopback port: `GET /?run=N` answers a one-line page
/// whose script asks for `/ready?run=N`; that request is the baseline's interactive signal.
pub struct BaselinePage {
    pub address: SocketAddr,
    /// The `/ready` path the current launch waits for, and where to report it.
    waiting: Arc<Mutex<Option<ReadyWait>>>,
}

type ReadyWait = (String, mpsc::Sender<(Instant, Option<Duration>)>);

const BASELINE_PAGE: &str = "<!doctype html><meta charset=utf-8><title>baseline</title>\
    <p>Baseline page.</p><script>new Image().src = '/ready' + location.search;</script>";

impl BaselinePage {
    pub fn serve() -> anyhow::Result<BaselinePage> {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding the baseline page")?;
        let address = listener.local_addr()?;
        let waiting: Arc<Mutex<Option<ReadyWait>>> = Arc::default();
        let served = Arc::clone(&waiting);
        // Lives as long as the driver: one thread, a few short connections per run.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = answer(stream, &served);
            }
        });
        Ok(BaselinePage { address, waiting })
    }

    /// Starts MiniBrowser on the page for run `run` in `session` with a fresh `home`.
    pub fn launch(
        &self,
        run: usize,
        session: &DesktopSession,
        home: &FreshHome,
        log: &Path,
    ) -> anyhow::Result<Launched> {
        let (sender, signal) = mpsc::channel();
        *lock(&self.waiting) = Some((format!("/ready?run={run}"), sender));
        let mut command = Command::new(MINIBROWSER);
        session.apply(&mut command);
        home.apply_xdg(&mut command);
        command.arg(format!("http://{}/?run={run}", self.address));
        let spawned = Instant::now();
        let process = Guarded::spawn("MiniBrowser", &mut command, log)?;
        Ok(Launched {
            process,
            spawned,
            signal,
        })
    }
}

fn lock(waiting: &Mutex<Option<ReadyWait>>) -> std::sync::MutexGuard<'_, Option<ReadyWait>> {
    waiting
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One HTTP/1.1 exchange, then the connection closes.
fn answer(mut stream: TcpStream, waiting: &Mutex<Option<ReadyWait>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut request = Vec::new();
    let mut buffer = [0; 2048];
    while !request.windows(4).any(|window| window == b"\r\n\r\n") {
        let read = stream.read(&mut buffer)?;
        if read == 0 || request.len() > 16 * 1024 {
            return Ok(());
        }
        request.extend_from_slice(&buffer[..read]);
    }
    let arrived = Instant::now();
    let line = String::from_utf8_lossy(&request);
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let (status, body) = if path.starts_with("/ready") {
        // Only the current launch's signal counts; a late one from an earlier run does not.
        let mut waiting = lock(waiting);
        if waiting.as_ref().is_some_and(|(wanted, _)| *wanted == path)
            && let Some((_, sender)) = waiting.take()
        {
            let _ = sender.send((arrived, None));
        }
        ("204 No Content", "")
    } else if path.starts_with("/?") || path == "/" {
        ("200 OK", BASELINE_PAGE)
    } else {
        ("404 Not Found", "")
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interactive_line_with_and_without_decorations() {
        let plain = "2026-11-25T17:00:00.123Z  INFO deskside_desktop: interactive: the window's first request came 412 ms after start";
        assert_eq!(parse_interactive(plain), Some(Duration::from_millis(412)));
        assert_eq!(
            parse_interactive(&format!("\u{1b}[2m{plain}\u{1b}[0m")),
            Some(Duration::from_millis(412))
        );
        assert_eq!(parse_interactive("INFO deskside: sync done"), None);
    }

    #[test]
    fn baseline_page_signals_its_run() {
        let page = BaselinePage::serve().unwrap();
        let get = |path: &str| {
            let mut stream = TcpStream::connect(page.address).unwrap();
            write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            answer
        };
        let (sender, signal) = mpsc::channel();
        *lock(&page.waiting) = Some(("/ready?run=3".into(), sender));
        assert!(get("/?run=3").contains("/ready' + location.search"));
        assert!(get("/ready?run=2").starts_with("HTTP/1.1 204"));
        assert!(
            signal.try_recv().is_err(),
            "another run's signal does not count"
        );
        assert!(get("/ready?run=3").starts_with("HTTP/1.1 204"));
        assert!(signal.recv_timeout(Duration::from_secs(5)).is_ok());
    }
}
