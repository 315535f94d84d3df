//! The app's settings file (`settings.json` in the data directory, which is the signed-in
//! user's own): only what is not a secret. The server URL can be overridden with
//! `DESKSIDE_SERVER_URL` (deployments push it that way); the app then shows the setting as
//! locked. It also remembers which diagnostics sections the user switched off in Get help.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use deskside_diagnostics::SectionName;

use serde::{Deserialize, Serialize};

use deskside_client::views::CommandError;

pub const SERVER_URL_ENV: &str = "DESKSIDE_SERVER_URL";
const DEFAULT_SERVER_URL: &str = "http://127.0.0.1:8080";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SettingsFile {
    server_url: Option<String>,
    /// The sections switched off at the last Get help submission; `None` until then.
    withheld_sections: Option<BTreeSet<SectionName>>,
}

#[derive(Debug)]
pub struct Settings {
    path: PathBuf,
    file: SettingsFile,
    env_url: Option<String>,
}

impl Settings {
    pub fn load(data_dir: &Path) -> Settings {
        let path = data_dir.join("settings.json");
        // A missing or damaged file means defaults: settings are not worth refusing to start.
        let file = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        let env_url = std::env::var(SERVER_URL_ENV)
            .ok()
            .filter(|url| !url.trim().is_empty());
        Settings {
            path,
            file,
            env_url,
        }
    }

    pub fn server_url(&self) -> String {
        self.env_url
            .clone()
            .or_else(|| self.file.server_url.clone())
            .unwrap_or_else(|| DEFAULT_SERVER_URL.to_owned())
    }

    pub fn server_url_locked(&self) -> bool {
        self.env_url.is_some()
    }

    /// Saves a new server URL.
    pub fn set_server_url(&mut self, url: &str) -> Result<(), CommandError> {
        if self.server_url_locked() {
            return Err(CommandError::new(
                "setting_locked",
                format!("The server address is set by {SERVER_URL_ENV} on this computer."),
            ));
        }
        let url = normalise_server_url(url)?;
        let mut file = self.file.clone();
        file.server_url = Some(url);
        self.save(file)
    }

    /// What the user switched off last time, if they have chosen yet.
    pub fn withheld_sections(&self) -> Option<&BTreeSet<SectionName>> {
        self.file.withheld_sections.as_ref()
    }

    pub fn remember_withheld_sections(
        &mut self,
        withheld: BTreeSet<SectionName>,
    ) -> Result<(), CommandError> {
        let mut file = self.file.clone();
        file.withheld_sections = Some(withheld);
        self.save(file)
    }

    /// Saves atomically: a crash leaves the old file or the new one.
    fn save(&mut self, file: SettingsFile) -> Result<(), CommandError> {
        let text = serde_json::to_vec_pretty(&file)
            .map_err(|e| CommandError::new("internal", e.to_string()))?;
        let temporary = self.path.with_extension("json.tmp");
        std::fs::write(&temporary, text)
            .and_then(|()| std::fs::rename(&temporary, &self.path))
            .map_err(|e| CommandError::new("local_store", format!("Cannot save settings: {e}")))?;
        self.file = file;
        Ok(())
    }
}

/// `https://desk.example.com/` → `https://desk.example.com`; anything but an http(s) URL
/// with a host is a field error.
pub fn normalise_server_url(url: &str) -> Result<String, CommandError> {
    let trimmed = url.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => {
            Ok(trimmed.to_owned())
        }
        _ => Err(CommandError {
            code: "validation_failed".to_owned(),
            message: "Enter the help desk's address, like https://desk.example.com".to_owned(),
            fields: vec![deskside_core::FieldError {
                field: "url".to_owned(),
                message: "must start with https:// or http:// and name a host".to_owned(),
            }],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_checked_and_normalised() {
        let cases = [
            (
                "https://desk.example.com/",
                Some("https://desk.example.com"),
            ),
            ("  http://127.0.0.1:8080 ", Some("http://127.0.0.1:8080")),
            ("desk.example.com", None),
            ("https://", None),
            ("ftp://x", None),
            ("https://a b", None),
        ];
        for (input, expected) in cases {
            let got = normalise_server_url(input).ok();
            assert_eq!(got.as_deref(), expected, "{input:?}");
        }
    }

    #[test]
    fn switched_off_sections_are_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::load(dir.path());
        assert!(settings.withheld_sections().is_none());
        let withheld: BTreeSet<_> = [SectionName::Processes, SectionName::Software].into();
        settings
            .remember_withheld_sections(withheld.clone())
            .unwrap();
        assert_eq!(
            Settings::load(dir.path()).withheld_sections(),
            Some(&withheld)
        );
    }

    #[test]
    fn a_saved_url_survives_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path().to_owned();
        let mut settings = Settings::load(&dir);
        if settings.server_url_locked() {
            return; // DESKSIDE_SERVER_URL set in this environment: nothing to save.
        }
        settings
            .set_server_url("https://desk.example.com/")
            .unwrap();
        assert_eq!(
            Settings::load(&dir).server_url(),
            "https://desk.example.com"
        );
        let error = settings.set_server_url("nope").unwrap_err();
        assert_eq!(error.code, "validation_failed");
        assert_eq!(
            Settings::load(&dir).server_url(),
            "https://desk.example.com"
        );
    }
}
