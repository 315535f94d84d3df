//! The console's Device tab: a stored snapshot document cut into the sections it shows,
//! each saying whether it was withheld and by whom.

use deskside_diagnostics::SectionName;

use crate::views::{SnapshotSection, WithheldBy};

/// Snapshot fields that are not sections.
const HEADER_FIELDS: [&str; 7] = [
    "schemaVersion",
    "collectedAt",
    "durationMs",
    "agentVersion",
    "platform",
    "cachedSections",
    "withheld",
];

/// The snapshot document's sections in a fixed order; a newer agent's extra sections are
/// kept at the end so nothing it sent is hidden.
pub fn sections(document: &serde_json::Value) -> Vec<SnapshotSection> {
    let Some(object) = document.as_object() else {
        return Vec::new();
    };
    let withheld_by = |id: &str| -> Option<WithheldBy> {
        let by = document.get("withheld")?.get(id)?.clone();
        serde_json::from_value(by).ok()
    };
    let known: Vec<&str> = SectionName::ALL.iter().map(|s| s.as_str()).collect();
    let mut sections: Vec<SnapshotSection> = SectionName::ALL
        .iter()
        .filter_map(|name| {
            object.get(name.as_str()).map(|data| SnapshotSection {
                id: name.as_str().to_owned(),
                title: title_case(name.as_str()),
                data: data.clone(),
                withheld_by: withheld_by(name.as_str()),
            })
        })
        .collect();
    for (key, data) in object {
        if !known.contains(&key.as_str()) && !HEADER_FIELDS.contains(&key.as_str()) {
            sections.push(SnapshotSection {
                id: key.clone(),
                title: title_case(key),
                data: data.clone(),
                withheld_by: withheld_by(key),
            });
        }
    }
    sections
}

fn title_case(id: &str) -> String {
    let mut chars = id.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sections_come_in_order_with_who_withheld_them() {
        let document = json!({
            "schemaVersion": 1, "collectedAt": "2026-01-01T00:00:00Z", "durationMs": 3,
            "withheld": {"processes": "user", "logs": "policy"},
            "futureSection": {"available": {}},
            "processes": {"unavailable": {"reason": "not shared by the user"}},
            "logs": {"unavailable": {"reason": "not shared: this device's policy keeps it out of uploads"}},
            "system": {"available": {"hostname": "ws-1"}},
        });
        let shown: Vec<(String, Option<WithheldBy>)> = sections(&document)
            .into_iter()
            .map(|s| (s.id, s.withheld_by))
            .collect();
        assert_eq!(
            shown,
            [
                ("system".to_owned(), None),
                ("processes".to_owned(), Some(WithheldBy::User)),
                ("logs".to_owned(), Some(WithheldBy::Policy)),
                ("futureSection".to_owned(), None),
            ]
        );
    }
}
