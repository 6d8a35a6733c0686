//! Mosquitto's password and ACL files for the hub's shops: each edge may publish and
//! read only under its own shop's topics; the hub reads and writes all of them.
//!
//! Passwords are stored as Mosquitto 2 does (`$7$`: PBKDF2-HMAC-SHA512, 101 rounds, a
//! 12-byte salt), so `mosquitto_passwd` is not needed. Both files are written beside
//! their final name and renamed into it, so Mosquitto never reads half a file; it reads
//! them again on SIGHUP (`systemctl reload mosquitto`).

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::topics::ROOT;

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("cannot read {path}")]
    Read { path: String, source: std::io::Error },
    #[error("cannot write {path}")]
    Write { path: String, source: std::io::Error },
    #[error("cannot take random bytes from the operating system: {0}")]
    Random(String),
}

/// `user:$7$...` for Mosquitto's `password_file`.
pub fn password_line(user: &str, password: &str) -> Result<String, FilesError> {
    let mut salt = [0_u8; 12];
    getrandom::fill(&mut salt).map_err(|e| FilesError::Random(e.to_string()))?;
    Ok(password_line_with_salt(user, password, &salt))
}

fn password_line_with_salt(user: &str, password: &str, salt: &[u8]) -> String {
    const ROUNDS: u32 = 101;
    let mut hash = [0_u8; 64];
    pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password.as_bytes(), salt, ROUNDS, &mut hash);
    format!("{user}:$7${ROUNDS}${}${}", STANDARD.encode(salt), STANDARD.encode(hash))
}

/// A new random password: 24 characters of URL-safe base64 (144 bits).
pub fn new_password() -> Result<String, FilesError> {
    let mut bytes = [0_u8; 18];
    getrandom::fill(&mut bytes).map_err(|e| FilesError::Random(e.to_string()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The ACL: `hub_user` everywhere under the hub's topics and the Sparkplug host state;
/// each shop only under its own topics.
pub fn acl_text(hub_user: Option<&str>, shops: &[String]) -> String {
    let mut out = String::from("# Written by `sheetsight hub shop add`; changes here are overwritten.\n");
    if let Some(hub) = hub_user {
        out += &format!(
            "\nuser {hub}\ntopic readwrite {ROOT}/#\ntopic readwrite $share/sheetsight-hub/{ROOT}/#\ntopic readwrite spBv1.0/STATE/#\n"
        );
    }
    for shop in shops {
        out += &format!(
            "\nuser {shop}\ntopic write {ROOT}/{shop}/batch\ntopic readwrite {ROOT}/{shop}/edge\ntopic read {ROOT}/{shop}/ack\ntopic read spBv1.0/STATE/#\n"
        );
    }
    out
}

/// Sets `user`'s line in the password file at `path` (creating it), keeping the others.
pub fn set_password(path: &Path, user: &str, line: &str) -> Result<(), FilesError> {
    let old = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => return Err(FilesError::Read { path: path.display().to_string(), source }),
    };
    let prefix = format!("{user}:");
    let mut lines: Vec<&str> = old.lines().filter(|l| !l.starts_with(&prefix) && !l.trim().is_empty()).collect();
    lines.push(line);
    write_atomically(path, &(lines.join("\n") + "\n"))
}

/// Whether the password file at `path` has a line for `user`.
pub fn has_user(path: &Path, user: &str) -> bool {
    let prefix = format!("{user}:");
    std::fs::read_to_string(path).is_ok_and(|s| s.lines().any(|l| l.starts_with(&prefix)))
}

/// Writes `text` beside `path` and renames it into place. A new file is private (0600:
/// it holds password hashes); a file that exists keeps its owner and mode, so that the
/// `mosquitto` user it was given to can still read it.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), FilesError> {
    let err = |source| FilesError::Write { path: path.display().to_string(), source };
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(folder).map_err(err)?;
    tmp.write_all(text.as_bytes()).map_err(err)?;
    #[cfg(unix)]
    if let Ok(old) = std::fs::metadata(path) {
        use std::os::unix::fs::MetadataExt;
        std::fs::set_permissions(tmp.path(), old.permissions()).map_err(err)?;
        std::os::unix::fs::chown(tmp.path(), Some(old.uid()), Some(old.gid())).map_err(err)?;
    }
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_lines_are_mosquitto_2s_pbkdf2_sha512() {
        // Whether Mosquitto accepts these lines is tested against the broker itself.
        let salt = STANDARD.decode("9Qu3bGO0WzcTD8LI").expect("salt");
        let line = password_line_with_salt("u", "p", &salt);
        assert!(line.starts_with("u:$7$101$9Qu3bGO0WzcTD8LI$"), "{line}");
        assert_eq!(line.rsplit('$').next().map(|h| STANDARD.decode(h).map(|b| b.len())), Some(Ok(64)));
        assert_ne!(password_line("u", "p").expect("line"), password_line("u", "p").expect("line"), "salted");
    }

    #[test]
    fn a_shop_is_confined_to_its_own_topics() {
        let acl = acl_text(Some("hub"), &["a".into(), "b".into()]);
        let a = acl.split("\nuser a\n").nth(1).and_then(|s| s.split("\nuser ").next()).expect("a's block");
        assert!(a.contains("topic write sheetsight/hub/v1/a/batch"));
        for line in a.lines().filter(|l| l.starts_with("topic")) {
            let own = line.contains(" sheetsight/hub/v1/a/") && !line.contains('#');
            assert!(own || line == "topic read spBv1.0/STATE/#", "shop a reaches beyond its topics: {line}");
        }
    }
}
