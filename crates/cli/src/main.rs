//! `sheetsight`: the one binary. Subcommands live in their own modules.

mod bench;
mod calibrate_bench;
mod clip;
mod cycles;
mod demo;
mod demo_inspection;
mod field_accuracy;
mod hub;
mod hub_backlog_bench;
mod hub_bench;
mod hub_read_bench;
mod inspect_bench;
mod inspection;
mod lamp_finding;
mod live;
mod offline;
mod people;
mod people_bench;
mod plate;
mod scenes;
mod sim_camera;
mod spc;
mod station_bench;
mod synth;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use sheetsight_sim::StrokePattern;

#[derive(Parser)]
#[command(
    name = "sheetsight",
    version,
    about = "Machine vision for sheet-metal shops: stack lights, machine states and strokes from ordinary cameras; cut parts checked against their DXF on a backlit table."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Local dates of the stored history (shifts starting on them for `report`, cycles
/// ending on them for `cycles`; in the first shift's time zone, UTC without shifts), and
/// how to print what falls in them.
#[derive(clap::Args)]
struct HistoryRange {
    /// The configuration file (TOML) whose history and shifts to use.
    config: PathBuf,
    /// First local date (YYYY-MM-DD).
    #[arg(long)]
    from: chrono::NaiveDate,
    /// Last local date (YYYY-MM-DD).
    #[arg(long)]
    to: chrono::NaiveDate,
    /// Only this machine.
    #[arg(long)]
    machine: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: live::ReportFormat,
}

#[derive(Subcommand)]
enum HubAction {
    /// The hub's shops.
    Shop {
        #[command(subcommand)]
        action: ShopAction,
    },
    /// People who read the hub's dashboard.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// API tokens of programs that read the hub.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// Add a user (or give it a new password and reach) and print its new password.
    Add {
        name: String,
        /// The only shop the user sees; without it, a platform user who sees every shop.
        #[arg(long)]
        shop: Option<String>,
        /// The hub's configuration file.
        #[arg(long)]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum TokenAction {
    /// Add a token named NAME and print it (once: only its digest is kept).
    Add {
        name: String,
        /// The only shop the token reads; without it, every shop.
        #[arg(long)]
        shop: Option<String>,
        /// The hub's configuration file.
        #[arg(long)]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum ShopAction {
    /// Add a shop (or rename it) and print its edge's `[hub]` section with new
    /// credentials.
    Add {
        /// The shop's id: letters, digits, `-` and `_`.
        id: String,
        #[arg(long)]
        name: String,
        /// The hub's configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Every shop and what its edges sent.
    List {
        /// The hub's configuration file.
        #[arg(long)]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Analyse recorded video of every configured camera to its end and write events.
    Analyze {
        /// The configuration file (TOML).
        config: PathBuf,
        /// Where to write the events (JSON Lines); `-` for standard output.
        #[arg(long, default_value = "events.jsonl")]
        events: PathBuf,
        /// Also write the per-machine summary as JSON.
        #[arg(long)]
        summary_json: Option<PathBuf>,
        /// Person model (ONNX, NanoDet's output contract) for cameras with zones, instead
        /// of `[people] model` or the built-in one.
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Watch the configured cameras around the clock and store what every machine does
    /// (stops cleanly on Ctrl-C or SIGTERM).
    Run {
        /// The configuration file (TOML).
        config: PathBuf,
        /// Also write every event as it happens (JSON Lines).
        #[arg(long)]
        events: Option<PathBuf>,
        /// Serve the dashboard and API here (default: `[server] listen`, else 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// The hub: collect many shops' history, sent by their SheetSight's `[hub]`, into
    /// PostgreSQL, and serve their dashboard with `[server]` (stops cleanly on Ctrl-C or
    /// SIGTERM). `hub shop add` adds a shop, `hub user add` and `hub token add` readers.
    #[command(subcommand_negates_reqs = true)]
    Hub {
        /// The hub's configuration file (TOML: `[database]`, `[mqtt]`, `[mosquitto]`,
        /// `[server]`).
        #[arg(required = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        action: Option<HubAction>,
    },
    /// Per machine and shift: time in each state, availability, strokes, longest stop,
    /// attended time; with --zones, dwell per zone and shift instead.
    Report {
        #[command(flatten)]
        range: HistoryRange,
        /// Dwell per zone and shift (time occupied, person-time, arrivals).
        #[arg(long, conflicts_with = "machine")]
        zones: bool,
        /// Read the history from this hub (its configuration file) instead of the data
        /// folder; the shifts and machines still come from CONFIG. Needs --shop.
        #[arg(long, requires = "shop")]
        hub: Option<PathBuf>,
        /// The shop's id at the hub.
        #[arg(long, requires = "hub")]
        shop: Option<String>,
    },
    /// Stored cycles of work, with the job each ran for (table, CSV or JSON)
    Cycles {
        #[command(flatten)]
        range: HistoryRange,
        /// Only this job (part number).
        #[arg(long)]
        job: Option<String>,
        /// Per machine and job: count, median, P10, P90, % over the standard, minutes lost.
        #[arg(long)]
        stats: bool,
    },
    /// An MP4 file of recorded video: a camera's span (`--camera --from --to`) or a
    /// stored cycle (`--cycle`, with `[recording]`'s pre- and post-roll)
    Clip {
        /// The configuration file (TOML).
        config: PathBuf,
        /// The camera, with --from and --to.
        #[arg(long, requires_all = ["from", "to"], conflicts_with = "cycle")]
        camera: Option<String>,
        /// Start, RFC 3339 (2026-12-04T08:30:00+08:00).
        #[arg(long)]
        from: Option<String>,
        /// End, RFC 3339.
        #[arg(long)]
        to: Option<String>,
        /// A stored cycle's id (`sheetsight cycles` lists them).
        #[arg(long, required_unless_present = "camera")]
        cycle: Option<i64>,
        /// The MP4 file to write.
        #[arg(short, long)]
        out: PathBuf,
    },
    /// A simulated shop analysed live, in real time, with a live view in the terminal.
    Demo(demo::DemoOptions),
    /// Write a synthetic shop: H.264 videos, ground truth and a matching configuration.
    Synth {
        /// Output folder (created).
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 5.0)]
        minutes: f64,
        #[arg(long, default_value_t = 1280)]
        width: u32,
        #[arg(long, default_value_t = 720)]
        height: u32,
        #[arg(long, default_value_t = 10.0)]
        fps: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Leave out every nuisance (clean scenes).
        #[arg(long)]
        clean: bool,
        /// Strokes in bursts of 2 to 6 (parts bent), with handling between: cycles to find.
        #[arg(long)]
        bursts: bool,
    },
    /// Score events against ground truth (lamp modes, states, strokes).
    Evaluate {
        #[arg(long)]
        truth: PathBuf,
        #[arg(long)]
        events: PathBuf,
        /// Seconds of video to score (default: up to the last truth event).
        #[arg(long)]
        seconds: Option<f64>,
        /// Seconds after each true change that are not scored.
        #[arg(long, default_value_t = 2.0)]
        grace_s: f64,
        /// Print the score as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write a calibration plate drawing (DXF) to cut on the shop's own laser.
    Plate {
        #[arg(long)]
        width_mm: f64,
        #[arg(long)]
        height_mm: f64,
        /// Distance between hole centres.
        #[arg(long, default_value_t = 25.0)]
        pitch_mm: f64,
        /// Hole diameter (at most half the pitch).
        #[arg(long, default_value_t = 8.0)]
        hole_mm: f64,
        /// The DXF file to write.
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
    },
    /// Find the calibration plate's holes in a photo of the backlit table and fit the
    /// table's camera model (writes it as JSON, with a residual map picture).
    Calibrate {
        /// The plate's drawing (from `sheetsight plate`).
        #[arg(long, required_unless_present_any = ["chessboard", "circles"], conflicts_with_all = ["chessboard", "circles"])]
        plate: Option<PathBuf>,
        /// Or a printed chessboard: inner corners as OpenCV counts them, `COLSxROWS`.
        #[arg(long, requires = "square_mm", conflicts_with = "circles")]
        chessboard: Option<String>,
        /// The chessboard's square side.
        #[arg(long, requires = "chessboard")]
        square_mm: Option<f64>,
        /// Or a printed circle grid: dots per row and rows as OpenCV counts them, `COLSxROWS`.
        #[arg(long, requires = "pitch_mm")]
        circles: Option<String>,
        /// The circle grid is OpenCV's asymmetric one (odd rows shifted by a pitch).
        #[arg(long, requires = "circles")]
        asymmetric: bool,
        /// The circle grid's distance between rows (and between a symmetric grid's dots).
        #[arg(long, requires = "circles")]
        pitch_mm: Option<f64>,
        /// The photo of the plate or board on the lit table (PNG or JPEG).
        #[arg(long)]
        image: PathBuf,
        /// Where to write the calibration (JSON).
        #[arg(long)]
        out: PathBuf,
        /// The plate's sheet thickness (its holes are seen at half of it).
        #[arg(long, default_value_t = 0.0)]
        plate_thickness_mm: f64,
        /// Where to write the residual map (default: beside --out, `.residuals.png`).
        #[arg(long)]
        residual_map: Option<PathBuf>,
    },
    /// Compare a photo of a cut part on the backlit table with its DXF drawing (exit
    /// status 0: pass, 1: fail, 2: no verdict).
    Inspect(inspection::InspectArgs),
    /// Control charts of a part number's features from `inspect` reports: limits, Cp/Cpk,
    /// drift alerts (exit status 1 when one is raised).
    Spc {
        /// Report files, or folders of them (taken by name: name them by time).
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        #[arg(long, default_value_t = 0.2)]
        tolerance_mm: f64,
        /// Only this feature (`hole-3`, `cutout-1`, `outline`).
        #[arg(long)]
        feature: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List the round holes of the part on the backlit table (table millimetres, no
    /// drawing needed).
    Holes {
        /// The photo of the part on the lit table (PNG or JPEG).
        #[arg(long)]
        image: PathBuf,
        /// The table's calibration (from `sheetsight calibrate`).
        #[arg(long)]
        calibration: PathBuf,
        /// Print JSON (with the time the measuring took).
        #[arg(long)]
        json: bool,
    },
    /// Measure speed: analysis alone (frames decoded beforehand), and decode + analysis.
    Bench {
        /// Seconds of 1280x720 10 fps video to measure on.
        #[arg(long, default_value_t = 60.0)]
        seconds: f64,
    },
    /// How many events a second the hub stores into PostgreSQL (the database's side of
    /// the hub; a throwaway database: it fills shops `bench-N`).
    BenchHub {
        /// postgres://USER:PASSWORD@HOST/DATABASE
        #[arg(long)]
        database: String,
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        #[arg(long, default_value_t = 8)]
        edges: usize,
        #[arg(long, default_value_t = 4)]
        workers: usize,
    },
    /// Many edges back at once with a day of backlog each, beside shops sending live:
    /// through a broker that lets anonymous clients in, into a throwaway database (it
    /// fills shops `backlog-N` and `live-N`).
    BenchHubBacklog {
        /// postgres://USER:PASSWORD@HOST/DATABASE
        #[arg(long)]
        database: String,
        /// The broker, HOST:PORT (e.g. `mosquitto -p 18830` on this machine).
        #[arg(long)]
        broker: String,
        #[arg(long, default_value_t = 100)]
        edges: usize,
        #[arg(long, default_value_t = 5)]
        live: usize,
        #[arg(long, default_value_t = 24)]
        hours: i64,
        /// Give up after this long.
        #[arg(long, default_value_t = 40)]
        minutes: u64,
    },
    /// How fast the hub's dashboard answers: the overview of `--shops` shops and one
    /// shop's report of `--days` days, through HTTP (a throwaway database: it fills shops
    /// `read-N`).
    BenchHubRead {
        /// postgres://USER:PASSWORD@HOST/DATABASE
        #[arg(long)]
        database: String,
        #[arg(long, default_value_t = 500)]
        shops: i64,
        #[arg(long, default_value_t = 30)]
        days: i64,
        #[arg(long, default_value_t = 7)]
        runs: usize,
    },
    /// Measure the person detector: milliseconds per inference on one thread.
    BenchPeople {
        /// The model's square input size (a multiple of 32).
        #[arg(long, default_value_t = 416)]
        input_px: u32,
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// Another model of the same contract (default: the built-in NanoDet-g).
        #[arg(long)]
        model: Option<PathBuf>,
        /// A picture to run on (default: a built-in real frame with six people).
        #[arg(long)]
        image: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Chessboard calibration on rendered photos with ground truth: corner error, the
    /// model against the true camera, time; `--out` keeps the material for
    /// `bench/opencv_chessboard.py`.
    BenchCalibrate {
        #[arg(long, default_value_t = 9)]
        boards: usize,
        #[arg(long, default_value_t = 29)]
        seed: u64,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Measure an inspection station on one core: photo to verdict (decode, inspect,
    /// overlay, store, push; and from a hot folder), and stored inspections filtered by
    /// part and month.
    BenchStation {
        /// 12 MP photos inspected (half with the part named, half matched).
        #[arg(long, default_value_t = 12)]
        photos: usize,
        #[arg(long, default_value_t = 31)]
        seed: u64,
        /// Stored inspections to filter.
        #[arg(long, default_value_t = 100_000)]
        inspections: usize,
    },
    /// Measure the part inspection: calibration and inspection time on one core, hole
    /// accuracy, defects found, on rendered photos with ground truth.
    BenchInspect {
        /// Photos per sample drawing (a third exact, the others defective).
        #[arg(long, default_value_t = 9)]
        photos: usize,
        #[arg(long, default_value_t = 11)]
        seed: u64,
        /// Photos as shop floors take them: the backlight clipped at white on 30-100 %
        /// of the table, vignetting, dust.
        #[arg(long)]
        shop_floor: bool,
        /// Keep the photos, drawings, calibration and truth here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Measure accuracy: synthesise a shop with every nuisance, analyse it, score it;
    /// with `--set`, on a field set of varied scenes (`dev` to develop on, `validation`
    /// to quote).
    Accuracy {
        /// A field set instead of the classic shop: `dev` or `validation`.
        #[arg(long, value_parser = ["dev", "validation"])]
        set: Option<String>,
        /// Scenes of the field set (the validation figures are quoted on 20).
        #[arg(long, default_value_t = 20)]
        scenes: usize,
        /// The field set's first scene to take (scenes `first` to `first + scenes - 1`).
        #[arg(long, default_value_t = 0)]
        first: usize,
        /// Seconds per field scene.
        #[arg(long, default_value_t = 180.0)]
        seconds: f64,
        /// Keep the field set's videos here and reuse them while their scenes are unchanged.
        #[arg(long)]
        material: Option<PathBuf>,
        /// Only render the field set into `--material`; measure nothing.
        #[arg(long)]
        render_only: bool,
        #[arg(long, default_value_t = 30.0)]
        minutes: f64,
        #[arg(long, default_value_t = 1280)]
        width: u32,
        #[arg(long, default_value_t = 720)]
        height: u32,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Strokes in bursts (parts), so that cycles are measured on work that has them (the
        /// classic shop or a field set), and the cycle targets checked.
        #[arg(long)]
        bursts: bool,
        /// Score "Find lamps" on the field set's scenes instead (default set: dev).
        #[arg(long)]
        find_lamps: bool,
        /// Seconds each scene is watched with --find-lamps.
        #[arg(long, default_value_t = 30.0)]
        watch_seconds: f64,
        /// Keep the generated files here (default: a temporary folder).
        #[arg(long)]
        keep: Option<PathBuf>,
    },
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SHEETSIGHT_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze { config, events, summary_json, model } => {
            offline::analyze(&config, &events, summary_json.as_deref(), model.as_deref())
        }
        Command::Run { config, events, listen } => live::run(&config, events.as_deref(), listen),
        Command::Hub { action: Some(HubAction::Shop { action: ShopAction::Add { id, name, config } }), .. } => {
            hub::add_shop(&config, &id, &name)
        }
        Command::Hub { action: Some(HubAction::Shop { action: ShopAction::List { config } }), .. } => {
            hub::list_shops(&config)
        }
        Command::Hub { action: Some(HubAction::User { action: UserAction::Add { name, shop, config } }), .. } => {
            hub::add_user(&config, &name, shop.as_deref())
        }
        Command::Hub { action: Some(HubAction::Token { action: TokenAction::Add { name, shop, config } }), .. } => {
            hub::add_token(&config, &name, shop.as_deref())
        }
        Command::Hub { config: Some(config), action: None } => hub::run(&config),
        Command::Hub { config: None, action: None } => Err(anyhow::anyhow!("give the hub's configuration file")),
        Command::Report { range: HistoryRange { config, from, to, machine, format }, zones, hub, shop } => {
            let hub = hub.zip(shop);
            live::report(&live::ReportOptions { config, from, to, machine, format, zones, hub })
        }
        Command::Cycles { range: HistoryRange { config, from, to, machine, format }, job, stats } => {
            cycles::cycles(&cycles::CyclesOptions { config, from, to, machine, job, format, stats })
        }
        Command::Clip { config, camera, from, to, cycle, out } => match (camera, from, to, cycle) {
            (Some(camera), Some(from), Some(to), _) => {
                clip::clip(&config, clip::ClipOf::Camera { camera, from, to }, &out)
            }
            (_, _, _, Some(id)) => clip::clip(&config, clip::ClipOf::Cycle(id), &out),
            _ => Err(anyhow::anyhow!("give --camera with --from and --to, or --cycle")),
        },
        Command::Demo(options) => demo::run(options),
        Command::Synth { out, minutes, width, height, fps, seed, clean, bursts } => {
            synth::synth(&out, &synth::SynthOptions { minutes, width, height, fps, seed, clean, bursts }).map(|_| true)
        }
        Command::Evaluate { truth, events, seconds, grace_s, json } => {
            offline::evaluate(&truth, &events, seconds, grace_s, json)
        }
        Command::Plate { width_mm, height_mm, pitch_mm, hole_mm, out } => {
            plate::write(&sheetsight_drawing::plate::PlateSpec { width_mm, height_mm, pitch_mm, hole_mm }, &out)
                .map(|_| true)
        }
        Command::Calibrate {
            plate,
            chessboard,
            square_mm,
            circles,
            asymmetric,
            pitch_mm,
            image,
            out,
            plate_thickness_mm,
            residual_map,
        } => {
            let chessboard = chessboard.zip(square_mm);
            let circles = circles.zip(pitch_mm).map(|(size, pitch)| (size, pitch, asymmetric));
            let args =
                inspection::CalibrateArgs { plate, chessboard, circles, image, out, plate_thickness_mm, residual_map };
            inspection::calibrate(&args)
        }
        Command::Inspect(args) => inspection::inspect(&args),
        Command::Spc { reports, tolerance_mm, feature, json } => {
            spc::run(&spc::Options { reports, tolerance_mm, feature, json })
        }
        Command::Holes { image, calibration, json } => inspection::holes(&image, &calibration, json),
        Command::Bench { seconds } => bench::run(seconds).map(|_| true),
        Command::BenchHubBacklog { database, broker, edges, live, hours, minutes } => {
            let options = hub_backlog_bench::BacklogOptions { database, broker, edges, live, hours, minutes };
            hub_backlog_bench::run(&options).map(|_| true)
        }
        Command::BenchHubRead { database, shops, days, runs } => {
            hub_read_bench::run(&database, shops, days, runs).map(|_| true)
        }
        Command::BenchHub { database, seconds, edges, workers } => {
            hub_bench::run(&database, seconds, edges, workers).map(|_| true)
        }
        Command::BenchPeople { input_px, runs, model, image, json } => {
            people_bench::run(&people_bench::Options { input_px, runs, model, image, json })
        }
        Command::BenchCalibrate { boards, seed, out } => {
            calibrate_bench::run(&calibrate_bench::Options { boards, seed, out })
        }
        Command::BenchStation { photos, seed, inspections } => {
            station_bench::run(&station_bench::Options { photos, seed, inspections })
        }
        Command::BenchInspect { photos, seed, shop_floor, out } => {
            inspect_bench::run(&inspect_bench::Options { photos_per_drawing: photos, seed, shop_floor, out })
        }
        Command::Accuracy { find_lamps: true, set, scenes, first, watch_seconds, .. } => {
            lamp_finding::run(&lamp_finding::FindingOptions {
                set: if set.as_deref() == Some("validation") {
                    sheetsight_sim::field::SceneSet::Validation
                } else {
                    sheetsight_sim::field::SceneSet::Development
                },
                scenes,
                first,
                seconds: watch_seconds,
            })
        }
        Command::Accuracy { set: Some(set), scenes, first, seconds, material, render_only, bursts, .. } => {
            let set = if set == "dev" {
                sheetsight_sim::field::SceneSet::Development
            } else {
                sheetsight_sim::field::SceneSet::Validation
            };
            let strokes = if bursts { StrokePattern::Bursts } else { StrokePattern::Even };
            field_accuracy::run(&field_accuracy::FieldOptions {
                set,
                scenes,
                first,
                seconds,
                material,
                render_only,
                strokes,
            })
        }
        Command::Accuracy { set: None, minutes, width, height, seed, bursts, keep, .. } => {
            offline::accuracy(minutes, width, height, seed, bursts, keep)
        }
    };
    match result {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
