//! Query strings, decoded by `serde_urlencoded` and checked against the keys a route knows:
//! a misspelt `cursor` must be an error, not silently "from the start".

use std::ops::RangeInclusive;

use deskside_core::ValidationErrors;

use crate::error::{ApiError, ApiResult};

pub struct QueryPairs(Vec<(String, String)>);

impl QueryPairs {
    /// Decodes `raw`; 400 if it is not a query string, 422 naming every unknown key.
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> ApiResult<QueryPairs> {
        let raw = raw.unwrap_or("");
        if !well_formed(raw) {
            return Err(ApiError::bad_request(
                "the query string has a broken %-escape or is not UTF-8",
            ));
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
            .map_err(|_| ApiError::bad_request("the query string is not valid form data"))?;
        let mut errors = ValidationErrors::default();
        for (key, _) in &pairs {
            if !allowed.contains(&key.as_str()) {
                errors.add(key, "unknown query parameter");
            }
        }
        errors.into_result().map_err(ApiError::validation)?;
        Ok(QueryPairs(pairs))
    }

    /// The last value given for `key`, if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A whole number within `range`, or `default` when absent or empty.
    pub fn number(&self, key: &str, default: i64, range: RangeInclusive<i64>) -> ApiResult<i64> {
        match self.get(key) {
            None | Some("") => Ok(default),
            Some(text) => text
                .parse()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| {
                    ApiError::field(
                        key,
                        format!(
                            "must be a whole number from {} to {}",
                            range.start(),
                            range.end()
                        ),
                    )
                }),
        }
    }
}

/// The decoder is lenient (it keeps `%ZZ` as text and turns bad UTF-8 into U+FFFD); a
/// client sending either has a bug worth hearing about, so check strictly first.
fn well_formed(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let Some(byte) = bytes
                .get(index + 1..index + 3)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            else {
                return false;
            };
            decoded.push(byte);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    std::str::from_utf8(&decoded).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_checks_keys_and_numbers() {
        let query = QueryPairs::parse(
            Some("q=vpn%20timeout&q=caf%C3%A9+bar&limit=5"),
            &["q", "limit"],
        )
        .unwrap();
        assert_eq!(query.get("q"), Some("café bar"));
        assert_eq!(query.number("limit", 50, 1..=200).unwrap(), 5);
        assert_eq!(query.number("absent", 50, 1..=200).unwrap(), 50);
        assert_eq!(
            query.number("limit", 50, 10..=200).unwrap_err().status(),
            422
        );
        assert_eq!(
            QueryPairs::parse(Some("curser=1"), &["cursor"])
                .err()
                .unwrap()
                .status(),
            422
        );
        for broken in ["q=%FF", "q=%ZZ", "q=abc%2"] {
            let error = QueryPairs::parse(Some(broken), &["q"]).err().unwrap();
            assert_eq!(error.status(), 400, "{broken}");
        }
    }
}
