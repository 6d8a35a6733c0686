//! Codecs SheetSight does not decode itself (H.265 from many current cameras), decoded
//! by the system `ffmpeg` program: access units in on its standard input, YUV4MPEG2
//! frames out of its standard output, read by a thread of their own.
//!
//! The program is `ffmpeg` on the `PATH`, or the one named by `SHEETSIGHT_FFMPEG`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;

use sheetsight_vision::YuvFrame;

/// The program to run.
pub fn program() -> String {
    std::env::var("SHEETSIGHT_FFMPEG").unwrap_or_else(|_| "ffmpeg".into())
}

/// Why `ffmpeg` cannot decode a stream.
#[derive(Debug, thiserror::Error)]
pub enum FfmpegError {
    #[error(
        "the stream is {codec_name}: SheetSight decodes H.264 and JPEG itself, other codecs need the `{program}` \
         program, which is not installed: install it (Debian: apt-get install ffmpeg) or set the camera to H.264"
    )]
    Missing { codec_name: String, program: String },
    #[error("cannot start `{program}` to decode {codec_name}")]
    Start {
        codec_name: String,
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the ffmpeg reader")]
    Reader(#[source] std::io::Error),
    #[error("ffmpeg stopped reading")]
    Write(#[source] std::io::Error),
    #[error("ffmpeg has ended")]
    Ended,
    #[error("ffmpeg sent no YUV4MPEG2 header: {0}")]
    Header(String),
    #[error("ffmpeg sent a frame that is not {width_px}x{height_px}")]
    FrameSize { width_px: u32, height_px: u32 },
}

pub struct FfmpegDecoder {
    child: Child,
    stdin: Option<ChildStdin>,
    frames: mpsc::Receiver<Result<YuvFrame, FfmpegError>>,
}

impl FfmpegDecoder {
    /// Starts `ffmpeg` reading raw `input_format` (e.g. `hevc`). The error names the
    /// codec and the remedy when the program is missing.
    pub fn start(input_format: &str, codec_name: &str) -> Result<Self, FfmpegError> {
        let mut child = Command::new(program())
            .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-probesize", "32768", "-analyzeduration", "0"])
            .args(["-fflags", "nobuffer", "-flags", "low_delay", "-f", input_format, "-i", "pipe:0"])
            .args(["-an", "-f", "yuv4mpegpipe", "-pix_fmt", "yuv420p", "pipe:1"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| {
                let (codec_name, program) = (codec_name.to_string(), program());
                if source.kind() == std::io::ErrorKind::NotFound {
                    FfmpegError::Missing { codec_name, program }
                } else {
                    FfmpegError::Start { codec_name, program, source }
                }
            })?;
        let stdout = child.stdout.take().ok_or(FfmpegError::Ended)?;
        let stdin = child.stdin.take();
        let (tx, frames) = mpsc::sync_channel(4);
        std::thread::Builder::new()
            .name("ffmpeg-reader".into())
            .spawn(move || read_y4m(BufReader::new(stdout), &tx))
            .map_err(FfmpegError::Reader)?;
        Ok(Self { child, stdin, frames })
    }

    /// Feeds one access unit; returns the frames decoded so far.
    pub fn decode(&mut self, data: &[u8]) -> Result<Vec<YuvFrame>, FfmpegError> {
        let stdin = self.stdin.as_mut().ok_or(FfmpegError::Ended)?;
        stdin.write_all(data).map_err(FfmpegError::Write)?;
        let _ = stdin.flush();
        let mut out = Vec::new();
        loop {
            match self.frames.try_recv() {
                Ok(Ok(f)) => out.push(f),
                Ok(Err(e)) => return Err(e),
                Err(mpsc::TryRecvError::Empty) => return Ok(out),
                Err(mpsc::TryRecvError::Disconnected) if out.is_empty() => return Err(FfmpegError::Ended),
                Err(mpsc::TryRecvError::Disconnected) => return Ok(out),
            }
        }
    }
}

impl Drop for FfmpegDecoder {
    fn drop(&mut self) {
        self.stdin.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads a YUV4MPEG2 4:2:0 stream: a header line with `W` and `H`, then `FRAME` lines
/// each followed by one picture.
fn read_y4m(mut r: impl BufRead, tx: &mpsc::SyncSender<Result<YuvFrame, FfmpegError>>) {
    let mut line = Vec::new();
    if r.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
        return;
    }
    let header = String::from_utf8_lossy(&line).to_string();
    let field = |p: char| header.split_whitespace().find_map(|f| f.strip_prefix(p).and_then(|v| v.parse::<u32>().ok()));
    let (Some(w), Some(h)) = (field('W'), field('H')) else {
        let _ = tx.send(Err(FfmpegError::Header(header.trim().to_string())));
        return;
    };
    let (cw, ch) = (w.div_ceil(2) as usize, h.div_ceil(2) as usize);
    let (y_len, c_len) = ((w * h) as usize, cw * ch);
    let mut data = vec![0u8; y_len + 2 * c_len];
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line).unwrap_or(0) == 0 || !line.starts_with(b"FRAME") {
            return;
        }
        if r.read_exact(&mut data).is_err() {
            return;
        }
        let (y, uv) = data.split_at(y_len);
        let (u, v) = uv.split_at(c_len);
        let frame = YuvFrame::from_strided(w, h, [y, u, v], [w as usize, cw, cw]);
        let sent = match frame {
            Some(f) => tx.send(Ok(f)),
            None => tx.send(Err(FfmpegError::FrameSize { width_px: w, height_px: h })),
        };
        if sent.is_err() {
            return;
        }
    }
}
