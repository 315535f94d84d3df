//! A real server for other crates' end-to-end tests (the agent's, the client's): demo
//! staff seeded, fast password hashing, no background SLA sweep, on its own thread and
//! tokio runtime so it can be stopped and started again on the same address.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use crate::clock::SystemClock;
use crate::secrets::HashCost;
use crate::{Server, ServerConfig, demo};

/// A `deskside-server` with the demo staff, on its own thread and tokio runtime. Stopping it
/// stops the server, which closes every connection (kept-alive ones and long polls), and
/// drops the runtime with any task left.
pub struct TestServer {
    pub address: SocketAddr,
    /// The id of the server's order-signing key, as endpoints must pin it.
    pub key_id: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Starts on `listen` (port 0: any free port) with the data in `data_dir`.
    pub fn start(data_dir: &Path, listen: SocketAddr) -> TestServer {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let data_dir = data_dir.to_owned();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("server runtime");
            runtime.block_on(async move {
                let started = async {
                    let state =
                        crate::open_state(&data_dir, Arc::new(SystemClock), HashCost::Fast).await?;
                    demo::seed_staff(&state).await?;
                    drop(state);
                    let mut config = ServerConfig::new(listen, data_dir);
                    config.sla_sweep_every = None;
                    config.password_cost = HashCost::Fast;
                    Server::start(config).await
                };
                match started.await {
                    Ok(server) => {
                        let key_id = server.state.order_signer.key_id().to_owned();
                        let _ = ready_tx.send(Ok((server.address, key_id)));
                        let _ = stop_rx.await;
                        server.stop();
                    }
                    Err(error) => {
                        let _ = ready_tx.send(Err(format!("{error:#}")));
                    }
                }
            });
            // The runtime is dropped here: every task and connection with it.
        });
        let (address, key_id) = ready_rx
            .recv()
            .expect("the server thread answers")
            .unwrap_or_else(|e| panic!("the server starts: {e}"));
        TestServer {
            address,
            key_id,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Stops the server and waits until its port is closed.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}
