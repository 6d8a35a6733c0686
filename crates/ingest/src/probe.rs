//! Waiting for a server that is down to come back: a retry's wait, cut short as soon as
//! the server's TCP port accepts a connection again.
//!
//! Used for cameras (probed once a second) and for the MQTT broker (four times a
//! second). A server that accepts connections but then fails (a wrong password, a
//! stream that will not play) waits its whole delay: the probe only shortens waits for
//! servers that are really unreachable. All waiting is on Tokio's clock.

use std::time::Duration;

use tokio::time::Instant;

/// Whether `address` accepts a TCP connection within `timeout`.
pub async fn accepts(address: &str, timeout: Duration) -> bool {
    matches!(tokio::time::timeout(timeout, tokio::net::TcpStream::connect(address)).await, Ok(Ok(_)))
}

/// Waits `delay`, or less if `address` (`HOST:PORT`), which refuses TCP connections
/// now, starts accepting them; it is tried every `interval`.
pub async fn wait_for_server(delay: Duration, address: Option<&str>, interval: Duration) {
    let deadline = Instant::now() + delay;
    let Some(address) = address else {
        tokio::time::sleep_until(deadline).await;
        return;
    };
    if accepts(address, interval).await {
        tokio::time::sleep_until(deadline).await;
        return;
    }
    loop {
        let next = Instant::now() + interval;
        if next >= deadline {
            tokio::time::sleep_until(deadline).await;
            return;
        }
        tokio::time::sleep_until(next).await;
        if accepts(address, interval).await {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_server_that_comes_back_ends_the_wait_within_an_interval() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        drop(listener);
        let interval = Duration::from_millis(50);
        let started = std::time::Instant::now();
        let back = address.clone();
        let server = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            tokio::net::TcpListener::bind(back).await.expect("rebind")
        });
        wait_for_server(Duration::from_secs(30), Some(&address), interval).await;
        let waited = started.elapsed();
        let _listener = server.await.expect("server");
        // Far below the 30 s delay: the probe saw the server come back.
        assert!(waited < Duration::from_secs(10), "waited {waited:?}");
    }
}
