//! Queue listing and full-text search latency: one client asking one question at a time,
//! as an agent's console does, against a large seeded database.

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::http_client::{Connection, encode_request};
use crate::latency::{LatencySummary, summarize};

const QUEUE_PATH: &str = "/api/v1/tickets?limit=50";

/// The questions asked, in order: (name, what it shows, path).
const QUERIES: &[(&str, &str, &str)] = &[
    (
        "queue",
        "first page of the queue, sorted by SLA risk",
        QUEUE_PATH,
    ),
    (
        "queue-filtered",
        "open P2 tickets, first page",
        "/api/v1/tickets?status=open&priority=P2&limit=50",
    ),
    (
        "queue-next-pages",
        "following nextCursor from page 2 onwards",
        "/api/v1/tickets?limit=50&cursor=NEXT",
    ),
    (
        "search-printer",
        "full-text search, one word",
        "/api/v1/tickets?q=printer&limit=50",
    ),
    (
        "search-vpn-timeout",
        "full-text search, two words",
        "/api/v1/tickets?q=vpn%20timeout&limit=50",
    ),
];

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryEntry {
    pub name: String,
    pub description: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<QueryResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryResult {
    pub iterations: usize,
    /// A fast query that finds nothing proves nothing: this shows each one returned rows.
    pub items_on_first_page: usize,
    pub latency: LatencySummary,
}

pub struct QueryPlan {
    pub warmup_iterations: usize,
    pub iterations: usize,
}

/// Measures every query; one failing query is reported and the others still run.
pub fn measure_queries(address: SocketAddr, token: &str, plan: &QueryPlan) -> Vec<QueryEntry> {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            return QUERIES
                .iter()
                .map(|query| entry(query, Err(anyhow::anyhow!("tokio runtime: {error}"))))
                .collect();
        }
    };
    let authorization = format!("Bearer {token}");
    QUERIES
        .iter()
        .map(|query @ &(name, _, path)| {
            let outcome = runtime.block_on(async {
                let mut client = QueryClient::open(address, &authorization).await?;
                if name == "queue-next-pages" {
                    measure_next_pages(&mut client, plan).await
                } else {
                    measure_repeated(&mut client, path, plan).await
                }
            });
            eprintln!("[bench]   {name}: {}", describe_outcome(&outcome));
            entry(query, outcome)
        })
        .collect()
}

fn entry(
    &(name, description, path): &(&str, &str, &str),
    outcome: anyhow::Result<QueryResult>,
) -> QueryEntry {
    let (result, error) = match outcome {
        Ok(result) => (Some(result), None),
        Err(error) => (None, Some(format!("{error:#}"))),
    };
    QueryEntry {
        name: name.to_owned(),
        description: description.to_owned(),
        path: path.to_owned(),
        result,
        error,
    }
}

fn describe_outcome(outcome: &anyhow::Result<QueryResult>) -> String {
    match outcome {
        Ok(result) => format!(
            "p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms ({} items per page)",
            result.latency.p50_ms,
            result.latency.p95_ms,
            result.latency.p99_ms,
            result.items_on_first_page
        ),
        Err(error) => format!("FAILED: {error:#}"),
    }
}

struct QueryClient<'a> {
    connection: Connection,
    address: SocketAddr,
    authorization: &'a str,
}

struct Page {
    items: usize,
    next_cursor: Option<String>,
}

impl QueryClient<'_> {
    async fn open(address: SocketAddr, authorization: &str) -> anyhow::Result<QueryClient<'_>> {
        let connection = Connection::open(address)
            .await
            .with_context(|| format!("connecting to {address}"))?;
        Ok(QueryClient {
            connection,
            address,
            authorization,
        })
    }

    /// One GET; returns the page and the nanoseconds from send to full response.
    async fn get(&mut self, path: &str) -> anyhow::Result<(Page, u64)> {
        let request = encode_request(
            "GET",
            self.address,
            path,
            &[("Authorization", self.authorization)],
            b"",
        );
        let sent_at = Instant::now();
        let response = self
            .connection
            .send(&request)
            .await
            .with_context(|| format!("GET {path}"))?;
        let nanos = sent_at.elapsed().as_nanos() as u64;
        if response.status != 200 {
            bail!(
                "GET {path} answered HTTP {}: {}",
                response.status,
                String::from_utf8_lossy(&response.body[..response.body.len().min(300)])
            );
        }
        let page: serde_json::Value = serde_json::from_slice(response.body)
            .with_context(|| format!("GET {path}: the answer is not JSON"))?;
        let items = page
            .get("items")
            .and_then(serde_json::Value::as_array)
            .map(Vec::len)
            .with_context(|| format!("GET {path}: no array field `items` in the answer"))?;
        let next_cursor = page
            .get("nextCursor")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        Ok((Page { items, next_cursor }, nanos))
    }
}

async fn measure_repeated(
    client: &mut QueryClient<'_>,
    path: &str,
    plan: &QueryPlan,
) -> anyhow::Result<QueryResult> {
    let (first, _) = client.get(path).await?;
    for _ in 0..plan.warmup_iterations {
        client.get(path).await?;
    }
    let mut samples = Vec::with_capacity(plan.iterations);
    for _ in 0..plan.iterations {
        samples.push(client.get(path).await?.1);
    }
    finish(plan, first.items, samples)
}

/// Walks the queue page after page, so each request reads rows the previous did not.
async fn measure_next_pages(
    client: &mut QueryClient<'_>,
    plan: &QueryPlan,
) -> anyhow::Result<QueryResult> {
    let (first, _) = client.get(QUEUE_PATH).await?;
    let Some(page_two_cursor) = first.next_cursor else {
        bail!("GET {QUEUE_PATH}: no `nextCursor` in the first page, so there is no page 2");
    };
    let mut cursor = page_two_cursor.clone();
    let mut samples = Vec::with_capacity(plan.iterations);
    for iteration in 0..plan.warmup_iterations + plan.iterations {
        let path = format!("{QUEUE_PATH}&cursor={}", percent_encode(&cursor));
        let (page, nanos) = client.get(&path).await?;
        if iteration >= plan.warmup_iterations {
            samples.push(nanos);
        }
        cursor = page.next_cursor.unwrap_or_else(|| page_two_cursor.clone());
    }
    finish(plan, first.items, samples)
}

fn finish(plan: &QueryPlan, items: usize, samples: Vec<u64>) -> anyhow::Result<QueryResult> {
    Ok(QueryResult {
        iterations: plan.iterations,
        items_on_first_page: items,
        latency: summarize(samples).context("no iterations were measured")?,
    })
}

/// Cursors are opaque: encode everything but RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_encoding_keeps_unreserved_only() {
        assert_eq!(percent_encode("-12.345"), "-12.345");
        assert_eq!(percent_encode("a+b/c=="), "a%2Bb%2Fc%3D%3D");
    }
}
