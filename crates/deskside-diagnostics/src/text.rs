//! Small text helpers shared by the parsers.

/// At most `max` characters, cut on a character boundary, with `…` when cut.
pub(crate) fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().nth(max).is_none() {
        return text.to_owned();
    }
    let mut kept: String = text.chars().take(max.saturating_sub(1)).collect();
    kept.push('…');
    kept
}

/// Percentages are shown to one decimal: more digits are noise and cost bytes.
pub(crate) fn round1(value: f32) -> f32 {
    if value.is_finite() {
        (value * 10.0).round() / 10.0
    } else {
        0.0
    }
}

/// `12.3 GB`: binary multiples with the short names people know from their file manager.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KB", "MB", "GB", "TB", "PB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_character_boundaries() {
        assert_eq!(truncate_chars("abc", 3), "abc");
        assert_eq!(truncate_chars("abcdef", 4).chars().count(), 4);
        assert_eq!(truncate_chars("ééééé", 3), "éé…");
    }

    #[test]
    fn byte_sizes_read_naturally() {
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(1536), "1.5 KB");
        assert_eq!(format_bytes(400 * 1024 * 1024 * 1024), "400.0 GB");
    }

    #[test]
    fn rounding_tolerates_nan() {
        assert_eq!(round1(12.345), 12.3);
        assert_eq!(round1(f32::NAN), 0.0);
    }
}
