//! `sheetsight hub`: the hub that collects many shops' history into PostgreSQL, and
//! `sheetsight hub shop add|list`: its shops and their edges' credentials.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use sheetsight_base::UnixMillis;
use sheetsight_base::error::with_causes;
use sheetsight_config::HubConfig;
use sheetsight_hub::ingest::{self, HubOptions};
use sheetsight_hub::mosquitto_files;
use sheetsight_server::hub::HubWeb;
use sheetsight_store::postgres::PgDatabase;

use crate::live::{runtime, shutdown_signal};

/// Runs the hub until Ctrl-C or SIGTERM.
pub fn run(config_path: &Path) -> anyhow::Result<bool> {
    let config = sheetsight_config::hub::load_hub(config_path)?;
    // TLS files that cannot be used are an error before anything starts.
    sheetsight_broker::transport(config.mqtt.tls.as_ref()).context("TLS to the broker ([mqtt])")?;
    runtime()?.block_on(async {
        let db = PgDatabase::open(&config.database_url).await?;
        let (stop_tx, stop) = sheetsight_base::shutdown::channel();
        let (stats, task) = ingest::spawn(db.clone(), &config.mqtt, HubOptions::default(), stop.clone());
        let retention = tokio::spawn(retention_loop(db.clone(), config.retention_days, stop.clone()));
        let web = match &config.server {
            Some(server) => {
                let web = HubWeb::start(db.clone(), server.clone(), stop).await?;
                eprintln!("sheetsight: hub dashboard at http://{}/", web.addr);
                Some(web)
            }
            None => None,
        };
        eprintln!(
            "sheetsight: hub storing the shops' history into {}; edges send to {}:{}; Ctrl-C to stop",
            sheetsight_store::postgres::redact(&config.database_url),
            config.mqtt.host,
            config.mqtt.port
        );
        shutdown_signal().await;
        stop_tx.shut_down();
        let _ = task.await;
        let _ = retention.await;
        if let Some(web) = web {
            web.join().await;
        }
        let stored = stats.rows_stored.load(std::sync::atomic::Ordering::Relaxed);
        eprintln!("sheetsight: hub stopped; {stored} changes stored in this run");
        Ok(true)
    })
}

/// Drops whole monthly partitions past the retention, at start and then hourly.
async fn retention_loop(db: PgDatabase, retention_days: u32, stop: sheetsight_base::shutdown::Receiver) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = stop.wait() => return,
            _ = tick.tick() => {}
        }
        let before = UnixMillis(UnixMillis::now().0 - i64::from(retention_days) * 86_400_000);
        match db.drop_partitions_before(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(partitions = n, before = %before.rfc3339(), "dropped history past its retention"),
            Err(e) => tracing::error!(error = %with_causes(&e), "cannot drop old partitions"),
        }
    }
}

/// Adds (or renames) a shop and prints its edge's `[hub]` section with new credentials;
/// keeps Mosquitto's password and ACL files when the hub's file names them.
pub fn add_shop(config_path: &Path, id: &str, name: &str) -> anyhow::Result<bool> {
    let config = sheetsight_config::hub::load_hub(config_path)?;
    anyhow::ensure!(
        sheetsight_config::is_valid_id(id),
        "`{id}` is not a shop id: use letters, digits, `-` and `_` (it becomes an MQTT topic level and a user name)"
    );
    runtime()?.block_on(async {
        let db = PgDatabase::open(&config.database_url).await?;
        let created = db.add_shop(id, name, UnixMillis::now()).await?;
        let password = mosquitto_files(&config, &db, id).await?;
        println!(
            "# {} shop `{id}` ({name}). Put this into the shop's SheetSight configuration:",
            if created { "Added" } else { "Updated" }
        );
        println!("[hub]\nbroker = \"{}:{}\"\nshop = \"{id}\"", config.mqtt.host, config.mqtt.port);
        match password {
            Some(password) => println!("username = \"{id}\"\npassword = \"{password}\""),
            None => println!("# no [mosquitto] files in the hub's configuration: the broker decides who may connect"),
        }
        Ok(true)
    })
}

/// Writes the shop's password line (new credentials) and the whole ACL; returns the
/// password, or `None` without a password file.
async fn mosquitto_files(config: &HubConfig, db: &PgDatabase, id: &str) -> anyhow::Result<Option<String>> {
    let mut password = None;
    if let Some(file) = &config.mosquitto_password_file {
        let new = mosquitto_files::new_password()?;
        mosquitto_files::set_password(file, id, &mosquitto_files::password_line(id, &new)?)?;
        if let (Some(user), Some(hub_password)) = (&config.mqtt.username, &config.mqtt.password)
            && !mosquitto_files::has_user(file, user)
        {
            mosquitto_files::set_password(file, user, &mosquitto_files::password_line(user, hub_password)?)?;
        }
        password = Some(new);
    }
    if let Some(file) = &config.mosquitto_acl_file {
        let shops: Vec<String> = db.shops().await?.into_iter().map(|(id, _)| id).collect();
        mosquitto_files::write_atomically(file, &mosquitto_files::acl_text(config.mqtt.username.as_deref(), &shops))?;
    }
    if config.mosquitto_password_file.is_some() || config.mosquitto_acl_file.is_some() {
        eprintln!("sheetsight: Mosquitto's files are updated; reload it (`systemctl reload mosquitto` or SIGHUP)");
    }
    Ok(password)
}

/// Prints every shop and its edges' links: epoch, last sequence stored, when, strokes lost.
pub fn list_shops(config_path: &Path) -> anyhow::Result<bool> {
    let config = sheetsight_config::hub::load_hub(config_path)?;
    // TLS files that cannot be used are an error before anything starts.
    sheetsight_broker::transport(config.mqtt.tls.as_ref()).context("TLS to the broker ([mqtt])")?;
    runtime()?.block_on(async {
        let db = PgDatabase::open(&config.database_url).await.context("the hub's database")?;
        let links = db.edge_links("*").await?;
        println!("{:<20} {:<30} {:<34} {:>10} {:<25} {:>8}", "shop", "name", "epoch", "stored", "last batch", "lost");
        let shops = db.shops().await?;
        for l in links.iter().filter(|l| !shops.iter().any(|(id, _)| *id == l.shop)) {
            // A broker that lets anyone in: a shop that sends without being added.
            println!(
                "{:<20} {:<30} {:<34} {:>10} {:<25} {:>8}",
                l.shop,
                "(not added)",
                l.epoch,
                l.watermark,
                l.updated.rfc3339(),
                l.dropped_strokes
            );
        }
        for (id, name) in shops {
            let mine: Vec<_> = links.iter().filter(|l| l.shop == id).collect();
            if mine.is_empty() {
                println!("{id:<20} {name:<30} (nothing received yet)");
            }
            for l in mine {
                let when = l.updated.rfc3339();
                println!("{id:<20} {name:<30} {:<34} {:>10} {when:<25} {:>8}", l.epoch, l.watermark, l.dropped_strokes);
            }
        }
        Ok(true)
    })
}

/// Checks that `shop` exists when given.
async fn known_shop(db: &PgDatabase, shop: Option<&str>) -> anyhow::Result<()> {
    if let Some(shop) = shop {
        let shops = db.shops().await?;
        anyhow::ensure!(
            shops.iter().any(|(id, _)| id == shop),
            "no shop `{shop}` at this hub; shops: {} (add one with `hub shop add`)",
            shops.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}

/// Adds a user of the hub's dashboard (of one shop, or of the platform) with a new
/// password, printed once.
pub fn add_user(config_path: &Path, name: &str, shop: Option<&str>) -> anyhow::Result<bool> {
    let config = sheetsight_config::hub::load_hub(config_path)?;
    sheetsight_server::auth::check_name(name, "user name").map_err(|e| anyhow::anyhow!(e.message))?;
    runtime()?.block_on(async {
        let db = PgDatabase::open(&config.database_url).await?;
        known_shop(&db, shop).await?;
        let password = sheetsight_server::auth::random_hex(12).map_err(|e| anyhow::anyhow!(e.message))?;
        let hash = sheetsight_server::auth::hash_password(&password).map_err(|e| anyhow::anyhow!(e.message))?;
        db.put_hub_user(name, &hash, shop, UnixMillis::now()).await?;
        let reach = shop.map_or("every shop".to_string(), |s| format!("shop `{s}` only"));
        println!("# user `{name}` reads {reach}; its password (shown once):\n{password}");
        Ok(true)
    })
}

/// Adds an API token (of one shop, or of the platform), printed once.
pub fn add_token(config_path: &Path, name: &str, shop: Option<&str>) -> anyhow::Result<bool> {
    let config = sheetsight_config::hub::load_hub(config_path)?;
    sheetsight_server::auth::check_name(name, "token name").map_err(|e| anyhow::anyhow!(e.message))?;
    runtime()?.block_on(async {
        let db = PgDatabase::open(&config.database_url).await?;
        known_shop(&db, shop).await?;
        let token = sheetsight_server::auth::random_hex(32).map_err(|e| anyhow::anyhow!(e.message))?;
        db.add_hub_token(name, &sheetsight_server::auth::digest(&token), shop, UnixMillis::now())
            .await
            .with_context(|| format!("token `{name}` (names are unique)"))?;
        let reach = shop.map_or("every shop".to_string(), |s| format!("shop `{s}` only"));
        println!("# token `{name}` reads {reach}; send it as `Authorization: Bearer <token>` (shown once):\n{token}");
        Ok(true)
    })
}
