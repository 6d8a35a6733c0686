//! HTTP cameras: MJPEG streams (`multipart/x-mixed-replace`) and JPEG snapshot URLs.
//!
//! One GET tells which it is: a multipart answer is read as a stream of JPEG parts; a
//! single JPEG makes it a snapshot camera, polled at the camera's `fps` (1 per second
//! when none is set). Credentials go as HTTP Basic authentication. The multipart
//! reader is written here: it must survive parts without `Content-Length`, truncated
//! pictures and garbage between parts, which the crates made for form uploads do not.

use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use sheetsight_config::CameraConfig;

use crate::source::{LiveSource, Packet, Payload, SourceError, SourceErrorKind, credentials};
use sheetsight_base::time::now_unix_s;

/// No part boundary in this many bytes: not an MJPEG stream.
pub const MAX_PART_BYTES: usize = 8 << 20;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

struct Request {
    client: reqwest::Client,
    url: url::Url,
    creds: Option<(String, String)>,
    display: String,
}

impl Request {
    async fn send(&self) -> Result<reqwest::Response, SourceError> {
        let mut req = self.client.get(self.url.clone());
        if let Some((user, password)) = &self.creds {
            req = req.basic_auth(user, Some(password));
        }
        let response = req.send().await.map_err(|e| self.error(&e))?;
        let status = response.status();
        let reason = match status.as_u16() {
            200..=299 => return Ok(response),
            401 | 403 => "the camera refused the user name or password".to_string(),
            404 => "the camera has no stream at this path".to_string(),
            code => format!("the camera answered HTTP {code}"),
        };
        Err(SourceError::new(SourceErrorKind::Refused, format!("{}: {reason}", self.display)))
    }

    fn error(&self, e: &reqwest::Error) -> SourceError {
        let kind =
            if e.is_connect() || e.is_timeout() { SourceErrorKind::Unreachable } else { SourceErrorKind::Protocol };
        let mut text = String::new();
        let mut source: Option<&dyn std::error::Error> = Some(e);
        while let Some(s) = source {
            text = s.to_string();
            source = s.source();
        }
        SourceError::new(kind, format!("{}: {}", self.display, text))
    }
}

pub async fn open(camera: &CameraConfig, url: &str) -> Result<Box<dyn LiveSource>, SourceError> {
    let (url, creds) = credentials(camera, url)?;
    let display = camera.public_source();
    let client = reqwest::Client::builder()
        .connect_timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| SourceError::new(SourceErrorKind::Protocol, format!("{display}: HTTP client: {e}")))?;
    let request = Request { client, url, creds, display };
    let response = request.send().await?;
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/") {
        let boundary = content_type
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))
            .map(|b| b.trim_matches('"').trim_start_matches("--").to_string())
            .filter(|b| !b.is_empty())
            .ok_or_else(|| {
                SourceError::new(
                    SourceErrorKind::Protocol,
                    format!("{}: a multipart answer without a boundary", request.display),
                )
            })?;
        let display = request.display.clone();
        return Ok(Box::new(MjpegSource {
            body: response.bytes_stream().boxed(),
            parser: MultipartParser::new(&boundary),
            display,
        }));
    }
    let body = response.bytes().await.map_err(|e| request.error(&e))?;
    if !body.starts_with(&[0xFF, 0xD8]) {
        return Err(SourceError::new(
            SourceErrorKind::Protocol,
            format!(
                "{}: neither an MJPEG stream nor a JPEG picture (Content-Type `{content_type}`, {} bytes)",
                request.display,
                body.len()
            ),
        ));
    }
    let interval = Duration::from_secs_f64(1.0 / camera.fps.unwrap_or(1.0));
    Ok(Box::new(SnapshotSource { request, interval, first: Some(body.to_vec()), next_due: None }))
}

/// Splits a multipart body into its parts' bodies.
pub struct MultipartParser {
    delimiter: Vec<u8>,
    buf: Vec<u8>,
}

/// The parser searches its buffer again as each chunk arrives; `memmem` keeps that a
/// small cost even for parts without `Content-Length`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

impl MultipartParser {
    pub fn new(boundary: &str) -> Self {
        Self { delimiter: format!("--{boundary}").into_bytes(), buf: Vec::new() }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete part's body, `Ok(None)` if more bytes are needed, an error for
    /// a stream with no boundary in [`MAX_PART_BYTES`].
    pub fn next_part(&mut self) -> Result<Option<Vec<u8>>, String> {
        let Some(start) = find(&self.buf, &self.delimiter) else {
            return self.too_long();
        };
        let after = start + self.delimiter.len();
        let Some(header_len) = find(&self.buf[after..], b"\r\n\r\n") else {
            return self.too_long();
        };
        let headers = String::from_utf8_lossy(&self.buf[after..after + header_len]).to_ascii_lowercase();
        let body_start = after + header_len + 4;
        let length =
            headers.lines().find_map(|l| l.trim().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>()));
        let body_end = match length {
            Some(Ok(n)) if n <= MAX_PART_BYTES => {
                if self.buf.len() < body_start + n {
                    return self.too_long();
                }
                body_start + n
            }
            Some(_) => return Err(format!("a part announces a bad Content-Length: {}", headers.trim())),
            None => match find(&self.buf[body_start..], &self.delimiter) {
                Some(n) => body_start + n,
                None => return self.too_long(),
            },
        };
        let mut body = self.buf[body_start..body_end].to_vec();
        while body.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            body.pop();
        }
        self.buf.drain(..body_end);
        Ok(Some(body))
    }

    fn too_long(&mut self) -> Result<Option<Vec<u8>>, String> {
        if self.buf.len() > MAX_PART_BYTES + 64 * 1024 {
            self.buf.clear();
            return Err(format!("no part boundary in {} MiB: not an MJPEG stream", MAX_PART_BYTES >> 20));
        }
        Ok(None)
    }
}

pub struct MjpegSource {
    body: BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    parser: MultipartParser,
    display: String,
}

impl LiveSource for MjpegSource {
    fn next(&mut self) -> BoxFuture<'_, Result<Packet, SourceError>> {
        Box::pin(async move {
            loop {
                match self.parser.next_part() {
                    Ok(Some(part)) => return Ok(Packet { t_s: now_unix_s(), payload: Payload::Jpeg(part) }),
                    Ok(None) => {}
                    Err(e) => {
                        return Err(SourceError::new(SourceErrorKind::Protocol, format!("{}: {e}", self.display)));
                    }
                }
                match self.body.next().await {
                    Some(Ok(chunk)) => self.parser.push(&chunk),
                    Some(Err(e)) => {
                        return Err(SourceError::new(
                            SourceErrorKind::Unreachable,
                            format!("{}: the stream broke off: {}", self.display, e.without_url()),
                        ));
                    }
                    None => {
                        return Err(SourceError::new(
                            SourceErrorKind::Unreachable,
                            format!("{}: the camera closed the stream", self.display),
                        ));
                    }
                }
            }
        })
    }

    fn describe(&self) -> String {
        format!("{} (MJPEG)", self.display)
    }
}

pub struct SnapshotSource {
    request: Request,
    interval: Duration,
    first: Option<Vec<u8>>,
    next_due: Option<tokio::time::Instant>,
}

impl LiveSource for SnapshotSource {
    fn next(&mut self) -> BoxFuture<'_, Result<Packet, SourceError>> {
        Box::pin(async move {
            if let Some(first) = self.first.take() {
                self.next_due = Some(tokio::time::Instant::now() + self.interval);
                return Ok(Packet { t_s: now_unix_s(), payload: Payload::Jpeg(first) });
            }
            if let Some(due) = self.next_due {
                tokio::time::sleep_until(due).await;
            }
            self.next_due = Some(tokio::time::Instant::now() + self.interval);
            let t_s = now_unix_s();
            let response = tokio::time::timeout(REQUEST_TIMEOUT, self.request.send()).await.map_err(|_| {
                SourceError::new(
                    SourceErrorKind::Unreachable,
                    format!("{}: no snapshot within 10 s", self.request.display),
                )
            })??;
            let body = response.bytes().await.map_err(|e| self.request.error(&e))?;
            Ok(Packet { t_s, payload: Payload::Jpeg(body.to_vec()) })
        })
    }

    fn announced_interval_s(&self) -> Option<f64> {
        Some(self.interval.as_secs_f64())
    }

    fn describe(&self) -> String {
        format!("{} (JPEG snapshots every {:.1} s)", self.request.display, self.interval.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_with_and_without_length_garbage_and_split_chunks() {
        let mut p = MultipartParser::new("frame");
        let stream = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: 4\r\n\r\nABCD\r\n\
--frame\r\nContent-Type: image/jpeg\r\n\r\nEFGH\r\n--frame\r\n\r\nIJ";
        for chunk in stream.chunks(5) {
            p.push(chunk);
        }
        assert_eq!(p.next_part(), Ok(Some(b"ABCD".to_vec())));
        assert_eq!(p.next_part(), Ok(Some(b"EFGH".to_vec())));
        assert_eq!(p.next_part(), Ok(None), "the last part is not complete yet");
        p.push(b"\r\n--frame\r\n");
        assert_eq!(p.next_part(), Ok(Some(b"IJ".to_vec())));
    }

    #[test]
    fn endless_garbage_is_an_error_not_a_memory_leak() {
        let mut p = MultipartParser::new("frame");
        let garbage = vec![0x5Au8; 1 << 20];
        let mut result = Ok(None);
        for _ in 0..10 {
            p.push(&garbage);
            result = p.next_part();
            if result.is_err() {
                break;
            }
        }
        assert!(result.expect_err("garbage").contains("not an MJPEG stream"));
        assert!(p.buf.is_empty());
    }
}
