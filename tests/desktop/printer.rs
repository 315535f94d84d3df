//! A real CUPS printer for the remediation step: file-backed (`file:/dev/null`), paused so
//! jobs stay queued until the agent clears them; removed with its jobs when dropped.

use std::process::{Command, Output};

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn run_ok(program: &str, args: &[&str]) {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Why the printer step cannot run here, if it cannot.
pub fn cups_unavailable() -> Option<String> {
    let uid = run("id", &["-u"]);
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("adding printers and running the agent's actions needs root".to_owned());
    }
    let status = Command::new("lpstat").arg("-r").output().ok()?;
    (!String::from_utf8_lossy(&status.stdout).contains("scheduler is running"))
        .then(|| "cupsd is not running (service cups start)".to_owned())
}

pub struct TestPrinter {
    pub name: String,
}

impl TestPrinter {
    pub fn add_paused(name: &str) -> TestPrinter {
        run_ok("lpadmin", &["-p", name, "-E", "-v", "file:/dev/null"]);
        run_ok("cupsdisable", &[name]);
        TestPrinter {
            name: name.to_owned(),
        }
    }

    pub fn queue_jobs(&self, count: usize) {
        let dir = tempfile::tempdir().unwrap();
        let doc = dir.path().join("page.txt");
        std::fs::write(&doc, "Deskside test page\n").unwrap();
        for _ in 0..count {
            run_ok("lp", &["-d", &self.name, doc.to_str().unwrap()]);
        }
        assert_eq!(self.queued(), count, "jobs stay queued on a paused printer");
    }

    pub fn queued(&self) -> usize {
        String::from_utf8_lossy(&run("lpstat", &["-o", &self.name]).stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count()
    }
}

impl Drop for TestPrinter {
    fn drop(&mut self) {
        let _ = run("cancel", &["-a", &self.name]);
        let _ = run("lpadmin", &["-x", &self.name]);
    }
}
