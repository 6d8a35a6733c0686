//! What of a camera's source may be shown, and the secrets that must never be.
//!
//! Invariants:
//! - [`public_form`] holds no user info, no query and no fragment of a URL, whatever
//!   characters the user name or password hold (`/ ? # @ %` included). Where the text
//!   cannot tell a password from a query (an `@` after a `?` or `#`), it shows the scheme
//!   alone.
//! - [`Secrets::redact`] replaces every secret of a source (the raw URL, its user info,
//!   user name, password, query and fragment, raw and percent-decoded, and the separate
//!   `username`/`password` keys) by `***` in any text: library errors quote URLs.

use crate::SourceSpec;

/// The public form of a source: a file's path; a URL's scheme, host, port and path.
pub fn public_form(source: &SourceSpec) -> String {
    match source {
        SourceSpec::File(p) => p.display().to_string(),
        SourceSpec::Url(u) => public_url(u),
    }
}

/// A URL without its credentials, query and fragment, for messages.
pub fn public_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return "***".into() };
    let cut = |s: &str| s.split(['?', '#']).next().unwrap_or_default().to_string();
    let shown = match rest.rfind('@') {
        None => cut(rest),
        Some(at) => {
            let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            if at < authority_end || !rest[..at].contains(['?', '#']) {
                // Everything before the last `@` may be user info (a password may hold
                // `/` or `@`); what follows is the host and path, or a piece of path.
                cut(&rest[at + 1..])
            } else {
                // `?token=a@b` or a password holding `?`: no telling which; show neither.
                "***".into()
            }
        }
    };
    format!("{scheme}://{shown}")
}

/// The secret strings of one camera's source.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Secrets(Vec<String>);

impl Secrets {
    /// Secrets shorter than this are not searched for in messages: a two-letter
    /// password would blank every word that holds it.
    pub const MIN_CHARS: usize = 3;

    pub fn of(source: &SourceSpec, username: Option<&str>, password: Option<&str>) -> Self {
        let mut found: Vec<String> = Vec::new();
        if let SourceSpec::Url(url) = source {
            let public = public_url(url);
            if public != *url {
                found.push(url.clone());
            }
            if let Some((_, rest)) = url.split_once("://") {
                // What may be user info: everything before the last `@`.
                if let Some(at) = rest.rfind('@') {
                    let userinfo = &rest[..at];
                    found.push(userinfo.to_string());
                    found.extend(
                        userinfo.split_once(':').map(|(u, p)| [u.to_string(), p.to_string()]).into_iter().flatten(),
                    );
                }
                // Query and fragment: everything from the first `?` or `#` (in a password
                // holding one, that takes a piece of the password too: more is hidden).
                if let Some(q) = rest.find(['?', '#']) {
                    let tail = &rest[q + 1..];
                    found.push(tail.to_string());
                    // Values only: `user`, `token` and `password` are words of messages too.
                    let pairs = tail.split(['&', '#', ';']);
                    found.extend(pairs.map(|kv| kv.split_once('=').map_or(kv, |(_, v)| v).to_string()));
                }
                // An unreadable URL (`***`): all of it after the scheme.
                if public.ends_with("://***") {
                    found.push(rest.to_string());
                }
            }
        }
        found.extend(username.map(String::from));
        found.extend(password.map(String::from));
        let decoded: Vec<String> =
            found.iter().map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()).collect();
        found.extend(decoded);
        found.retain(|s| s.chars().count() >= Self::MIN_CHARS);
        // Longest first, so that a secret's pieces do not break it up before it is found.
        found.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        found.dedup();
        Self(found)
    }

    /// `text` with every secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.0 {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(u: &str) -> SourceSpec {
        SourceSpec::Url(u.into())
    }

    /// User names and passwords with every character that breaks a naive parse, and
    /// secrets in query strings, for RTSP and HTTP.
    const HOSTILE: [(&str, &str, &str); 8] = [
        ("http://camuser:Pa/ssW0rd@10.0.0.5/snap.jpg", "http://10.0.0.5/snap.jpg", "Pa/ssW0rd"),
        ("rtsp://ad/min:p@ss@10.0.0.5:554/s1", "rtsp://10.0.0.5:554/s1", "p@ss"),
        ("rtsp://admin:pa%40%2Fss@cam:554/live", "rtsp://cam:554/live", "pa%40%2Fss"),
        ("http://cam/cgi-bin/snapshot.cgi?user=admin&password=Secr3t", "http://cam/cgi-bin/snapshot.cgi", "Secr3t"),
        ("rtsp://cam/live?token=abc@def", "rtsp://***", "abc@def"),
        ("rtsp://op:pa?ss#word@cam/live", "rtsp://***", "pa?ss#word"),
        ("http://us%23er:pw#frag@cam/snap#part", "http://***", "us%23er"),
        ("rtsp://u:p/a?s#s@cam/x?token=T0K3N#f", "rtsp://***", "T0K3N"),
    ];

    #[test]
    fn the_public_form_holds_no_secret_whatever_its_characters() {
        for (raw, public, secret) in HOSTILE {
            let shown = public_form(&url(raw));
            assert_eq!(shown, public, "{raw}");
            assert!(!shown.contains(secret), "{raw}: {shown}");
        }
        assert_eq!(public_form(&url("rtsp://cam")), "rtsp://cam");
        assert_eq!(public_form(&url("http://user@cam/x@y")), "http://y", "a path with @ shows less, never more");
        assert_eq!(public_form(&SourceSpec::File("shop/cam1.mp4".into())), "shop/cam1.mp4");
    }

    #[test]
    fn secrets_are_taken_out_of_any_text() {
        for (raw, public, secret) in HOSTILE {
            let secrets = Secrets::of(&url(raw), None, None);
            let decoded = percent_encoding::percent_decode_str(secret).decode_utf8_lossy().into_owned();
            let message = format!("error sending request for url ({raw}): {secret} / {decoded} refused");
            let clean = secrets.redact(&message);
            assert!(!clean.contains(secret) && !clean.contains(&decoded), "{raw}: {clean}");
            assert!(!clean.contains(raw), "{clean}");
            let _ = public;
        }
        let keys = Secrets::of(&url("rtsp://cam/live"), Some("operator"), Some("key-pass"));
        assert_eq!(
            keys.redact("401 for operator with key-pass at rtsp://cam/live"),
            "401 for *** with *** at rtsp://cam/live"
        );
        // Short secrets are not searched for: "ab" would blank words.
        assert_eq!(Secrets::of(&url("rtsp://a:b@cam/x"), None, None).redact("a b cab"), "a b cab");
    }
}
