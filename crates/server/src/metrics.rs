//! Prometheus metrics at `/metrics` (OpenMetrics text), read on each scrape from the
//! running service: per camera frames, drops, decode and analysis time, reconnects and
//! health; per machine the current state and strokes; the history's batch write latency.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeCounterValue, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use sheetsight_service::ServiceHandle;
use sheetsight_store::writer::WRITE_BUCKETS_S;
use sheetsight_vision::event::CameraHealth;
use sheetsight_vision::state::MachineState;

use crate::AppState;
use crate::error::ApiError;

struct ServiceCollector(ServiceHandle);

impl std::fmt::Debug for ServiceCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceCollector")
    }
}

type Labels = Vec<(&'static str, String)>;

fn counter<N: EncodeCounterValue + Copy>(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: &[(Labels, N)],
) -> std::fmt::Result {
    let mut m = e.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, v) in rows {
        ConstCounter::new(*v).encode(m.encode_family(labels)?)?;
    }
    Ok(())
}

fn gauge(e: &mut DescriptorEncoder, name: &str, help: &str, rows: &[(Labels, i64)]) -> std::fmt::Result {
    let mut m = e.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, v) in rows {
        ConstGauge::new(*v).encode(m.encode_family(labels)?)?;
    }
    Ok(())
}

impl Collector for ServiceCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> std::fmt::Result {
        let statuses = self.0.statuses();
        let cam = |f: &dyn Fn(&sheetsight_service::CameraStatus) -> u64| -> Vec<(Labels, u64)> {
            statuses.iter().map(|s| (vec![("camera", s.id.clone())], f(s))).collect()
        };
        counter(
            &mut e,
            "sheetsight_camera_frames_received",
            "Frames decoded from the camera",
            &cam(&|s| s.stats.frames_decoded),
        )?;
        counter(&mut e, "sheetsight_camera_frames_analyzed", "Frames analysed", &cam(&|s| s.stats.frames_analyzed))?;
        counter(
            &mut e,
            "sheetsight_camera_frames_dropped",
            "Frames not analysed: too old when their turn came (stale)",
            &cam(&|s| s.stats.frames_stale),
        )?;
        counter(
            &mut e,
            "sheetsight_camera_packets_dropped",
            "Packets dropped because the camera's worker was too far behind",
            &cam(&|s| s.packets_dropped),
        )?;
        counter(&mut e, "sheetsight_camera_decode_errors", "Corrupt frames skipped", &cam(&|s| s.stats.decode_errors))?;
        counter(
            &mut e,
            "sheetsight_camera_reconnects",
            "Times the camera streamed again after it was lost",
            &cam(&|s| s.stats.reconnects),
        )?;
        counter(
            &mut e,
            "sheetsight_camera_people_looks",
            "Looks for people answered (cameras with zones)",
            &cam(&|s| s.stats.people_looks),
        )?;
        counter(
            &mut e,
            "sheetsight_camera_people_skipped",
            "Looks for people skipped because the camera's previous look was still pending",
            &cam(&|s| s.stats.people_skipped),
        )?;
        counter(
            &mut e,
            "sheetsight_camera_people_failures",
            "Looks for people that failed",
            &cam(&|s| s.stats.people_failures),
        )?;
        let secs = |f: &dyn Fn(&sheetsight_service::CameraStatus) -> u64| -> Vec<(Labels, f64)> {
            statuses.iter().map(|s| (vec![("camera", s.id.clone())], f(s) as f64 / 1e9)).collect()
        };
        counter(&mut e, "sheetsight_camera_decode_seconds", "CPU time spent decoding", &secs(&|s| s.stats.decode_ns))?;
        counter(
            &mut e,
            "sheetsight_camera_analysis_seconds",
            "CPU time spent analysing",
            &secs(&|s| s.stats.analysis_ns),
        )?;
        let health: Vec<(Labels, i64)> = statuses
            .iter()
            .flat_map(|s| {
                CameraHealth::ALL.map(|h| {
                    (vec![("camera", s.id.clone()), ("health", h.as_str().to_string())], i64::from(s.health == h))
                })
            })
            .collect();
        gauge(&mut e, "sheetsight_camera_health", "1 for the camera's current health", &health)?;
        let states: Vec<(Labels, i64)> = statuses
            .iter()
            .flat_map(|s| s.machines.iter())
            .flat_map(|m| {
                MachineState::ALL.map(|st| {
                    (
                        vec![("machine", m.id.clone()), ("state", st.as_str().to_string())],
                        i64::from(m.state == Some(st)),
                    )
                })
            })
            .collect();
        gauge(&mut e, "sheetsight_machine_state", "1 for the machine's current OPC UA Machinery state", &states)?;
        let strokes: Vec<(Labels, u64)> = statuses
            .iter()
            .flat_map(|s| s.machines.iter())
            .map(|m| (vec![("machine", m.id.clone())], m.strokes))
            .collect();
        counter(&mut e, "sheetsight_machine_strokes", "Strokes counted since the service started", &strokes)?;
        let t = self.0.write_timings();
        let mut cumulative = 0u64;
        let mut buckets = Vec::new();
        for (i, upper) in WRITE_BUCKETS_S.iter().chain(std::iter::once(&f64::INFINITY)).enumerate() {
            cumulative += t.buckets[i].load(Ordering::Relaxed);
            buckets.push((*upper, cumulative));
        }
        let sum = t.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let mut m = e.encode_descriptor(
            "sheetsight_storage_write_seconds",
            "Time to write one batch of events to the history",
            None,
            MetricType::Histogram,
        )?;
        m.encode_histogram::<prometheus_client::encoding::NoLabelSet>(sum, cumulative, &buckets, None)?;
        counter(
            &mut e,
            "sheetsight_storage_write_failures",
            "Batches that could not be written (retried)",
            &[(Vec::new(), t.failures.load(Ordering::Relaxed))],
        )?;
        Ok(())
    }
}

pub async fn scrape(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(ServiceCollector(state.service.clone())));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)
        .map_err(|e| ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response())
}
