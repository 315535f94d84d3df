//! The bounded, secret-free transcript of what an executor ran, for the report.

use super::command::CmdOutput;

/// The report keeps the last this-many bytes of the transcript.
pub const OUTPUT_EXCERPT_MAX: usize = 4096;

/// Cap on the transcript kept in memory before the final cut.
const KEEP: usize = 64 * 1024;

const REDACTED: &str = "[redacted]";

/// Collects commands and their output. Secrets registered with [`OutputLog::secret`] are
/// replaced as each piece is appended; no command we run prints one, this is a second wall.
#[derive(Debug, Default)]
pub(crate) struct OutputLog {
    text: String,
    secrets: Vec<String>,
}

impl OutputLog {
    pub fn secret(&mut self, secret: &str) {
        if !secret.is_empty() {
            self.secrets.push(secret.to_owned());
        }
    }

    pub fn note(&mut self, line: &str) {
        self.append(line);
        self.append("\n");
    }

    /// Records one command: its display line (program and arguments; stdin is described,
    /// never shown), output and outcome.
    pub fn command(&mut self, display: &str, stdin_note: Option<&str>, out: &CmdOutput) {
        let mut header = format!("$ {display}");
        if let Some(note) = stdin_note {
            header.push_str(&format!("  ({note})"));
        }
        self.note(&header);
        for stream in [&out.stdout, &out.stderr] {
            if !stream.is_empty() {
                let text = String::from_utf8_lossy(stream);
                self.append(&text);
                if !text.ends_with('\n') {
                    self.append("\n");
                }
            }
        }
        if !out.success() {
            self.note(&format!("[{}]", out.describe("command")));
        }
    }

    fn append(&mut self, piece: &str) {
        let mut piece = piece.to_owned();
        for s in &self.secrets {
            piece = piece.replace(s.as_str(), REDACTED);
        }
        self.text.push_str(&piece);
        if self.text.len() > KEEP {
            let cut = floor_char_boundary(&self.text, self.text.len() - KEEP);
            self.text.drain(..cut);
        }
    }

    /// The last [`OUTPUT_EXCERPT_MAX`] bytes, starting on a character boundary, marked with
    /// a leading `…` when cut.
    pub fn excerpt(&self) -> String {
        // Redacted again as a whole, before cutting, for secrets registered late.
        let mut text = self.text.clone();
        for s in &self.secrets {
            text = text.replace(s.as_str(), REDACTED);
        }
        if text.len() <= OUTPUT_EXCERPT_MAX {
            return text;
        }
        let marker = "…";
        let start = text.len() - (OUTPUT_EXCERPT_MAX - marker.len());
        let start = ceil_char_boundary(&text, start);
        format!("{marker}{}", &text[start..])
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(stdout: &str) -> CmdOutput {
        CmdOutput {
            status: None,
            timed_out: false,
            spawn_error: None,
            stdout: stdout.as_bytes().to_vec(),
            stderr: Vec::new(),
        }
    }

    #[test]
    fn secrets_never_reach_the_excerpt() {
        let mut log = OutputLog::default();
        log.secret("Hunter2Hunter2xyz");
        log.command(
            "chpasswd",
            Some("1 line on stdin, not shown"),
            &out("echo Hunter2Hunter2xyz back"),
        );
        let e = log.excerpt();
        assert!(!e.contains("Hunter2Hunter2xyz"), "{e}");
        assert!(e.contains("[redacted]"));
        assert!(e.contains("not shown"));
    }

    #[test]
    fn the_excerpt_is_bounded_and_keeps_the_tail_on_a_char_boundary() {
        let mut log = OutputLog::default();
        for i in 0..5000 {
            log.note(&format!("é line {i}"));
        }
        let e = log.excerpt();
        assert!(e.len() <= OUTPUT_EXCERPT_MAX, "{}", e.len());
        assert!(e.starts_with('…'));
        assert!(e.ends_with("é line 4999\n"));
    }
}
