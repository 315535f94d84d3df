//! Order delivery latency: how long after a staff member requests an action the endpoint's
//! long-poll hands it the signed order.
//!
//! One enrolled device with a platform (from an uploaded snapshot) files a ticket; then, over
//! and over, the driver holds the device's long-poll `GET /api/v1/agent/orders` while, as the
//! demo admin, it requests `network.flush_dns` (approval policy none, so queued at once) on
//! that ticket. The time measured runs from sending the request POST to the long-poll's
//! answer carrying that order. The device then reports the order rejected, so it is not
//! delivered again.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::deskside::{self, ApiClient, body_start};
use crate::http_client::{Connection, encode_request};
use crate::latency::{LatencySummary, summarize};
use crate::run::{self, RunPlan};

pub const NAME: &str = "order-latency";

/// Catalog action with approval policy none: requesting it queues the order at once.
const ACTION: &str = "network.flush_dns";
/// Shorter than the server's maximum (55 s) and far above any delivery time measured.
const POLL_WAIT_SECONDS: u64 = 30;
/// After writing the long-poll, the driver waits this long before requesting the action,
/// so the server has parked the poll and the wake-up path is what is measured.
const PARK_PAUSE: Duration = Duration::from_millis(10);
/// A delivery slower than this is a lost wake-up: fail rather than wait forever.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(POLL_WAIT_SECONDS + 5);
/// The fixture is a real Debian 12 snapshot: uploading it gives the device platform linux.
const SNAPSHOT_FIXTURE: &str =
    include_str!("../../deskside-diagnostics/tests/fixtures/debian12-vm.json");

pub struct OrderLatencyPlan {
    pub warmup_iterations: usize,
    pub iterations: usize,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLatencyReport {
    pub action: String,
    pub warmup_iterations: usize,
    pub iterations: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencySummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub fn measure(plan: &RunPlan, work_dir: &Path) -> OrderLatencyReport {
    let settings = &plan.order_latency;
    eprintln!(
        "[bench] {NAME}: {ACTION} requested by staff until the device's long-poll delivers it ({} iterations)",
        settings.iterations
    );
    let mut report = OrderLatencyReport {
        action: ACTION.to_owned(),
        warmup_iterations: settings.warmup_iterations,
        iterations: settings.iterations,
        latency: None,
        error: None,
    };
    let outcome = (|| {
        let (mut server, data_dir) = run::start_demo_server(plan, work_dir, NAME)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let samples = runtime.block_on(measure_deliveries(server.address, settings))?;
        server.ensure_running()?;
        let _ = std::fs::remove_dir_all(&data_dir);
        summarize(samples).context("no deliveries were measured")
    })();
    match outcome {
        Ok(latency) => {
            eprintln!(
                "[bench]   p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                latency.p50_ms, latency.p95_ms, latency.p99_ms, latency.max_ms
            );
            report.latency = Some(latency);
        }
        Err(error) => {
            eprintln!("[bench]   FAILED: {error:#}");
            report.error = Some(format!("{error:#}"));
        }
    }
    report
}

/// Sets up the device and its ticket, then measures every delivery; nanoseconds each.
async fn measure_deliveries(
    address: SocketAddr,
    settings: &OrderLatencyPlan,
) -> anyhow::Result<Vec<u64>> {
    let mut staff = ApiClient::connect(address).await?;
    let staff_authorization = format!("Bearer {}", staff.login().await?);
    let credential = staff
        .enroll_device(&staff_authorization, "bench-order-latency")
        .await
        .context("enrolling the device")?;
    let device_authorization = format!("Bearer {credential}");
    staff
        .upload_snapshot(&device_authorization, SNAPSHOT_FIXTURE)
        .await
        .context("uploading the device's snapshot")?;
    let ticket_id = staff
        .create_ticket_as_device(&device_authorization, "bench")
        .await
        .context("filing the ticket as the device")?;

    let endpoint = Endpoint {
        connection: Connection::open(address)
            .await
            .with_context(|| format!("connecting to {address}"))?,
        address,
        authorization: device_authorization,
    };
    let mut delivery = Delivery {
        staff,
        endpoint,
        action_request: encode_request(
            "POST",
            address,
            &format!("/api/v1/tickets/{ticket_id}/actions"),
            &deskside::json_headers(&staff_authorization),
            serde_json::json!({ "action": ACTION, "params": {} })
                .to_string()
                .as_bytes(),
        ),
    };

    let mut samples = Vec::with_capacity(settings.iterations);
    for iteration in 0..settings.warmup_iterations + settings.iterations {
        let nanos = delivery
            .once()
            .await
            .with_context(|| format!("delivery {}", iteration + 1))?;
        if iteration >= settings.warmup_iterations {
            samples.push(nanos);
        }
    }
    Ok(samples)
}

/// The driver acting as the device's agent: its own connection and credential.
struct Endpoint {
    connection: Connection,
    address: SocketAddr,
    authorization: String,
}

struct Delivery {
    staff: ApiClient,
    endpoint: Endpoint,
    /// `POST /api/v1/tickets/{id}/actions`, encoded once.
    action_request: Vec<u8>,
}

impl Delivery {
    /// One request-to-delivery round; returns its nanoseconds.
    async fn once(&mut self) -> anyhow::Result<u64> {
        let poll_path = format!("{}?waitSeconds={POLL_WAIT_SECONDS}", deskside::ORDERS_PATH);
        let poll = encode_request(
            "GET",
            self.endpoint.address,
            &poll_path,
            &[("Authorization", &self.endpoint.authorization)],
            b"",
        );
        self.endpoint
            .connection
            .write_request(&poll)
            .await
            .with_context(|| format!("GET {poll_path}"))?;
        tokio::time::sleep(PARK_PAUSE).await;

        let sent_at = Instant::now();
        let staff = &mut self.staff;
        let action_request = &self.action_request;
        let connection = &mut self.endpoint.connection;
        let (requested, delivered) = tokio::join!(
            async { staff.send_encoded(action_request, 201).await },
            tokio::time::timeout(DELIVERY_TIMEOUT, async {
                let response = connection.read_response().await?;
                let arrived = Instant::now();
                anyhow::Ok((arrived, response.status, response.body.to_vec()))
            }),
        );
        let requested = requested.context("requesting the action")?;
        let (arrived, status, body) = delivered
            .with_context(|| {
                format!("the long-poll delivered nothing within {DELIVERY_TIMEOUT:?}")
            })?
            .with_context(|| format!("GET {poll_path}"))?;

        let order_id = requested
            .get("id")
            .and_then(serde_json::Value::as_str)
            .context("the action request's answer has no string field `id`")?
            .to_owned();
        let state = requested.get("state").and_then(serde_json::Value::as_str);
        if state != Some("queued") {
            bail!(
                "the action request is {state:?}, not \"queued\": {ACTION} needs no approval, so it should be queued at once"
            );
        }
        if status != 200 {
            bail!(
                "GET {poll_path} answered HTTP {status}: {}",
                body_start(&body)
            );
        }
        let delivered = order_ids(&body).with_context(|| format!("GET {poll_path}"))?;
        if !delivered.contains(&order_id) {
            bail!(
                "GET {poll_path} answered without order {order_id} (orders: {delivered:?}); \
                 the order was queued after the poll, so a wake-up was lost"
            );
        }
        self.reject(&order_id).await?;
        Ok((arrived - sent_at).as_nanos() as u64)
    }

    /// Reports the order rejected, so the next poll does not deliver it again.
    async fn reject(&mut self, order_id: &str) -> anyhow::Result<()> {
        let path = format!("{}/{order_id}/report", deskside::ORDERS_PATH);
        let body = serde_json::json!({
            "stage": "rejected",
            "rejection": { "code": "bench", "message": "benchmark" }
        })
        .to_string();
        let request = encode_request(
            "POST",
            self.endpoint.address,
            &path,
            &deskside::json_headers(&self.endpoint.authorization),
            body.as_bytes(),
        );
        let response = self
            .endpoint
            .connection
            .send(&request)
            .await
            .with_context(|| format!("POST {path}"))?;
        if response.status != 204 {
            bail!(
                "POST {path} answered HTTP {} (expected 204): {}",
                response.status,
                body_start(response.body)
            );
        }
        Ok(())
    }
}

/// The order ids in a long-poll answer: `{"orders": [{"order": {"orderId": …}, …}, …]}`.
fn order_ids(body: &[u8]) -> anyhow::Result<Vec<String>> {
    let answer: serde_json::Value =
        serde_json::from_slice(body).context("the answer is not JSON")?;
    let orders = answer
        .get("orders")
        .and_then(serde_json::Value::as_array)
        .context("no array field `orders` in the answer")?;
    orders
        .iter()
        .map(|signed| {
            signed
                .pointer("/order/orderId")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .context("an order without a string `order.orderId`")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_from_a_long_poll_answer() {
        let body = br#"{"orders":[{"order":{"orderId":"act_1","deviceId":"dev_x"},"signature":"c2ln","keyId":"k1"},
                        {"order":{"orderId":"act_2"},"signature":"","keyId":"k1"}]}"#;
        assert_eq!(order_ids(body).unwrap(), ["act_1", "act_2"]);
        assert!(order_ids(br#"{"orders":[]}"#).unwrap().is_empty());
        assert!(order_ids(br#"{"orders":[{"order":{}}]}"#).is_err());
        assert!(order_ids(b"{}").is_err());
    }
}
