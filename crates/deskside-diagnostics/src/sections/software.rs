//! `software`: installed packages with their versions.
//!
//! dpkg or rpm on Linux, the uninstall registry on Windows, application bundles on macOS.
//! Packages are stored as `name=version` strings: a Debian desktop has ~800 of them and
//! this halves their share of the snapshot.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[cfg(not(target_os = "macos"))]
use crate::command;
use crate::snapshot::Probe;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Software {
    /// Where the list comes from: `dpkg`, `rpm`, `registry`, `applications`.
    pub source: String,
    pub count: usize,
    /// Sorted by name.
    pub packages: Vec<Package>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Package {
    pub name: String,
    pub version: String,
}

impl fmt::Display for Package {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.version)
    }
}

impl From<Package> for String {
    fn from(package: Package) -> String {
        package.to_string()
    }
}

impl FromStr for Package {
    type Err = String;

    /// Split at the last `=`: versions never contain one, Windows display names may.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, version) = s
            .rsplit_once('=')
            .ok_or_else(|| format!("package {s:?} is not name=version"))?;
        Ok(Package {
            name: name.to_owned(),
            version: version.to_owned(),
        })
    }
}

impl TryFrom<String> for Package {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

fn software(source: &str, mut packages: Vec<Package>) -> Software {
    packages.sort();
    // Multi-arch installs list `libc6` once per architecture with the same version.
    packages.dedup();
    Software {
        source: source.to_owned(),
        count: packages.len(),
        packages,
    }
}

#[cfg(target_os = "linux")]
pub(crate) fn collect(timeout: Duration) -> Probe<Software> {
    // `${db:Status-Abbrev}` lets us drop packages that were removed but left config files.
    let dpkg_format = "${db:Status-Abbrev}\t${Package}\t${Version}\n";
    match command::run("dpkg-query", &["-W", "-f", dpkg_format], timeout) {
        Ok(out) if out.status.success() => {
            return Probe::Available(software("dpkg", parse_dpkg(&out.stdout)));
        }
        Ok(out) => {
            return Probe::unavailable(format!("dpkg-query failed: {}", out.first_error_line()));
        }
        Err(command::CommandError::NotInstalled { .. }) => {}
        Err(err) => return Probe::unavailable(err.reason()),
    }
    let rpm_format = "%{NAME}\t%{VERSION}-%{RELEASE}\n";
    match command::run("rpm", &["-qa", "--qf", rpm_format], timeout) {
        Ok(out) if out.status.success() => {
            Probe::Available(software("rpm", parse_tab_separated(&out.stdout)))
        }
        Ok(out) => Probe::unavailable(format!("rpm -qa failed: {}", out.first_error_line())),
        Err(command::CommandError::NotInstalled { .. }) => {
            Probe::unavailable("neither dpkg-query nor rpm installed")
        }
        Err(err) => Probe::unavailable(err.reason()),
    }
}

#[cfg(windows)]
pub(crate) fn collect(timeout: Duration) -> Probe<Software> {
    // 64-bit, 32-bit (WOW6432Node) and per-user installs each have their own key.
    const KEYS: [&str; 3] = [
        r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall",
        r"HKLM\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall",
        r"HKCU\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall",
    ];
    let mut packages = Vec::new();
    for key in KEYS {
        match command::run("reg", &["query", key, "/s"], timeout) {
            Ok(out) if out.status.success() => packages.extend(parse_reg_uninstall(&out.stdout)),
            // A missing key (no 32-bit software) is normal; a missing `reg` is not.
            Ok(_) => {}
            Err(err) => return Probe::unavailable(err.reason()),
        }
    }
    Probe::Available(software("registry", packages))
}

#[cfg(target_os = "macos")]
pub(crate) fn collect(_timeout: Duration) -> Probe<Software> {
    // `system_profiler SPApplicationsDataType` takes seconds to minutes; the bundles'
    // Info.plist files hold the same names and versions.
    let Ok(entries) = std::fs::read_dir("/Applications") else {
        return Probe::unavailable("/Applications is not readable");
    };
    let packages = entries
        .flatten()
        .filter_map(|entry| {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let name = file_name.strip_suffix(".app")?.to_owned();
            let plist = std::fs::read_to_string(entry.path().join("Contents/Info.plist"))
                .unwrap_or_default();
            let version = plist_string(&plist, "CFBundleShortVersionString").unwrap_or_default();
            Some(Package { name, version })
        })
        .collect();
    Probe::Available(software("applications", packages))
}

#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
pub(crate) fn collect(_timeout: Duration) -> Probe<Software> {
    Probe::unavailable("installed software is not read on this platform")
}

/// `ii \tbash\t5.2.15-2+b7`: only the second status letter matters (`i`nstalled, or
/// installed with triggers pending); `rc` rows are removed packages with config left.
#[cfg(any(target_os = "linux", test))]
pub(crate) fn parse_dpkg(text: &str) -> Vec<Package> {
    text.lines()
        .filter_map(|line| {
            let (status, rest) = line.split_once('\t')?;
            let installed = matches!(status.chars().nth(1), Some('i' | 'W' | 't'));
            installed
                .then(|| parse_tab_separated(rest))
                .and_then(|mut p| p.pop())
        })
        .collect()
}

#[cfg(any(target_os = "linux", test))]
pub(crate) fn parse_tab_separated(text: &str) -> Vec<Package> {
    text.lines()
        .filter_map(|line| {
            let (name, version) = line.split_once('\t')?;
            let name = name.trim();
            (!name.is_empty()).then(|| Package {
                name: name.to_owned(),
                version: version.trim().to_owned(),
            })
        })
        .collect()
}

/// `reg query …\Uninstall /s`: a key line, then indented `Name    REG_SZ    Value` lines.
/// Entries without a DisplayName are components, not something a user installed.
#[cfg(any(windows, test))]
pub(crate) fn parse_reg_uninstall(text: &str) -> Vec<Package> {
    fn flush(name: &mut Option<String>, version: &mut Option<String>, out: &mut Vec<Package>) {
        if let Some(name) = name.take() {
            out.push(Package {
                name,
                version: version.take().unwrap_or_default(),
            });
        }
        *version = None;
    }
    let mut packages = Vec::new();
    let (mut name, mut version) = (None, None);
    for line in text.lines() {
        if line.starts_with("HKEY_") {
            flush(&mut name, &mut version, &mut packages);
            continue;
        }
        let mut parts = line.trim().splitn(3, "    ");
        let (Some(key), Some(_kind), Some(value)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        match key {
            "DisplayName" => name = Some(value.trim().to_owned()),
            "DisplayVersion" => version = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    flush(&mut name, &mut version, &mut packages);
    packages
}

/// The string value after `<key>KEY</key>` in an XML property list.
#[cfg(any(target_os = "macos", test))]
pub(crate) fn plist_string(plist: &str, key: &str) -> Option<String> {
    let after_key = plist.split_once(&format!("<key>{key}</key>"))?.1;
    let value = after_key.trim_start().strip_prefix("<string>")?;
    Some(value.split_once("</string>")?.0.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, version: &str) -> Package {
        Package {
            name: name.into(),
            version: version.into(),
        }
    }

    #[test]
    fn packages_are_name_equals_version_strings_on_the_wire() {
        let json = serde_json::to_string(&vec![pkg("bash", "5.2.15-2+b7")]).unwrap();
        assert_eq!(json, r#"["bash=5.2.15-2+b7"]"#);
        let back: Vec<Package> = serde_json::from_str(r#"["a=b=1.0"]"#).unwrap();
        assert_eq!(back, [pkg("a=b", "1.0")]);
        assert!(serde_json::from_str::<Package>(r#""no-version""#).is_err());
    }

    #[test]
    fn dpkg_keeps_installed_packages_only() {
        let text = "ii \tbash\t5.2.15-2+b7\nrc \told-thing\t1.0\niW \tlibc-bin\t2.36-9\nii \tlibc6\t2.36-9\nii \tlibc6\t2.36-9\n";
        let got = software("dpkg", parse_dpkg(text));
        assert_eq!(
            got.packages,
            [
                pkg("bash", "5.2.15-2+b7"),
                pkg("libc-bin", "2.36-9"),
                pkg("libc6", "2.36-9")
            ]
        );
        assert_eq!(got.count, 3);
    }

    #[test]
    fn registry_uninstall_entries_need_a_display_name() {
        let text = "\r
HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\7-Zip\r
    DisplayName    REG_SZ    7-Zip 23.01 (x64)\r
    DisplayVersion    REG_SZ    23.01\r
    Publisher    REG_SZ    Igor Pavlov\r
\r
HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\{ABC-component}\r
    SystemComponent    REG_DWORD    0x1\r
\r
HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\Notepad++\r
    DisplayName    REG_SZ    Notepad++ (64-bit x64)\r
";
        assert_eq!(
            parse_reg_uninstall(text),
            [
                pkg("7-Zip 23.01 (x64)", "23.01"),
                pkg("Notepad++ (64-bit x64)", "")
            ]
        );
    }

    #[test]
    fn plist_version_is_found_after_its_key() {
        let plist =
            "<dict>\n\t<key>CFBundleShortVersionString</key>\n\t<string>17.2</string>\n</dict>";
        assert_eq!(
            plist_string(plist, "CFBundleShortVersionString").as_deref(),
            Some("17.2")
        );
        assert_eq!(plist_string(plist, "Missing"), None);
    }
}
