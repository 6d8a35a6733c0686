//! Configuration errors and the [`Checker`] that collects them.
//!
//! Every error is located: the file, the line and column, and the key's dotted path
//! (`machine[0].lamp[2].roi`). A checker collects errors instead of stopping at the first,
//! so that one reading of a file reports every mistake in it; a section that finds an
//! error goes on with the key's default, and the configuration is only handed out when
//! no error was found. A word that is not one of the valid ones comes with the nearest
//! valid word when it is close enough to be a typo.

use std::cell::RefCell;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sheetsight_vision::roi::PointPx;
use toml::Spanned;

/// A configuration error, located in its file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}:{column}: {key}: {message}")]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// Dotted path of the key, e.g. `machine[0].lamp[2].roi`; `-` for the file itself.
    pub key: String,
    pub message: String,
}

/// Every error found in one configuration file, in the order of the file; never empty.
///
/// Shown one error per line, each starting with `file:line:column:` as compilers write
/// them, so that editors can jump to each.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigErrors(Vec<ConfigError>);

/// Whether `s` may be a camera's or a machine's id: 1-64 letters, digits, `-` or `_`
/// (ids go into MQTT topics, URLs and file names).
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl ConfigErrors {
    /// The first error in the file.
    pub fn first(&self) -> &ConfigError {
        &self.0[0]
    }

    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: there is at least one error.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sorted by place, duplicates dropped; `None` when there is no error.
    fn collect(mut errors: Vec<ConfigError>) -> Option<Self> {
        errors.sort_by(|a, b| (a.line, a.column, &a.key).cmp(&(b.line, b.column, &b.key)));
        errors.dedup();
        (!errors.is_empty()).then_some(Self(errors))
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        Self(vec![e])
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        if self.0.len() > 1 {
            write!(f, "\n({} errors)", self.0.len())?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// A number's default and the bounds it must lie in, written beside the field it is for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bounds<T> {
    pub default: T,
    pub min: T,
    pub max: T,
}

impl<T> Bounds<T> {
    pub const fn new(default: T, min: T, max: T) -> Self {
        Self { default, min, max }
    }
}

/// Locates errors in one file's text and collects them.
pub(crate) struct Checker<'a> {
    file: &'a Path,
    text: &'a str,
    errors: RefCell<Vec<ConfigError>>,
}

impl<'a> Checker<'a> {
    pub fn new(file: &'a Path, text: &'a str) -> Self {
        Self { file, text, errors: RefCell::new(Vec::new()) }
    }

    /// The configuration file (for resolving relative paths).
    pub fn file(&self) -> &'a Path {
        self.file
    }

    /// An error at `span` of the text, not recorded.
    pub fn locate(&self, span: Range<usize>, key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        let (line, column) = line_column(self.text, span.start);
        ConfigError { file: self.file.to_path_buf(), line, column, key: key.into(), message: message.into() }
    }

    /// Records an error at `span`.
    pub fn report(&self, span: Range<usize>, key: impl Into<String>, message: impl Into<String>) {
        let e = self.locate(span, key, message);
        self.errors.borrow_mut().push(e);
    }

    /// `value` when nothing was reported, else every error, in the order of the file.
    /// (A `None` value is never left without an error to say why.)
    pub fn finish<T>(self, value: Option<T>) -> Result<T, ConfigErrors> {
        match (ConfigErrors::collect(self.errors.into_inner()), value) {
            (None, Some(value)) => Ok(value),
            (Some(errors), _) => Err(errors),
            (None, None) => Err(self_error(self.file)),
        }
    }

    /// An optional number: `bounds.default` when absent; out of bounds (a NaN always is)
    /// it is reported and the default stands in.
    pub fn bounded<T: Copy + PartialOrd + fmt::Display>(
        &self,
        value: Option<&Spanned<T>>,
        bounds: Bounds<T>,
        key: &str,
    ) -> T {
        match value {
            None => bounds.default,
            Some(v) if (bounds.min..=bounds.max).contains(v.get_ref()) => *v.get_ref(),
            Some(v) => {
                let name = key.rsplit('.').next().unwrap_or(key);
                self.report(
                    v.span(),
                    key,
                    format!("{name} must be {} to {}, not {}", bounds.min, bounds.max, v.get_ref()),
                );
                bounds.default
            }
        }
    }

    /// One of a fixed set of words (`names`), parsed as `T`; `what` names the set in the
    /// message ("lamp colour").
    pub fn choice<T: FromStr>(&self, word: &Spanned<String>, key: &str, what: &str, names: &[&str]) -> Option<T> {
        let parsed = word.get_ref().parse().ok();
        if parsed.is_none() {
            self.unknown_word(word, key, what, names);
        }
        parsed
    }

    /// Reports a word that is not one of `names`, with the nearest one.
    pub fn unknown_word(&self, word: &Spanned<String>, key: &str, what: &str, names: &[&str]) {
        let w = word.get_ref();
        let message =
            format!("unknown {what} `{w}`{}; valid: {}", suggestion(w, names.iter().copied()), names.join(", "));
        self.report(word.span(), key, message);
    }

    /// Checks an id: 1-64 letters, digits, `-` or `_` (it goes into file names, URLs and
    /// MQTT topics).
    pub fn id(&self, id: &Spanned<String>, key: &str) {
        let s = id.get_ref();
        if !is_valid_id(s) {
            self.report(id.span(), key, format!("`{s}` is not a valid id: use 1-64 letters, digits, `-` or `_`"));
        }
    }

    /// A region's polygon in frame pixels: at least 3 points, none negative or NaN.
    /// Whether it fits the frame is checked when the frame size is known.
    pub fn polygon(&self, roi: &Spanned<Vec<[f64; 2]>>, key: &str) -> Option<Vec<PointPx>> {
        let points = roi.get_ref();
        if points.len() < 3 {
            let n = points.len();
            self.report(roi.span(), key, format!("a region needs at least 3 points [x, y], this one has {n}"));
            return None;
        }
        if let Some(p) = points.iter().find(|p| !p[0].is_finite() || !p[1].is_finite() || p[0] < 0.0 || p[1] < 0.0) {
            let message = format!("point [{}, {}] is outside the frame (negative or not a number)", p[0], p[1]);
            self.report(roi.span(), key, message);
            return None;
        }
        Some(points.clone())
    }
}

fn self_error(file: &Path) -> ConfigErrors {
    let message = "the configuration could not be read";
    ConfigError { file: file.to_path_buf(), line: 1, column: 1, key: "-".into(), message: message.into() }.into()
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    (line, column)
}

/// The nearest candidate to `word`, if any is close enough to be a typo.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|&(d, c)| d <= (c.len().max(word.len()) / 2).max(1))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// `; did you mean `x`?` for the nearest candidate, or nothing.
pub(crate) fn suggestion<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    nearest(word, candidates).map_or(String::new(), |n| format!("; did you mean `{n}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_collected_in_the_order_of_the_file() {
        let text = "a = 1\nb = 2\n";
        let c = Checker::new(Path::new("x.toml"), text);
        c.report(6..7, "b", "second");
        c.report(0..1, "a", "first");
        c.report(6..7, "b", "second");
        let errors = c.finish(Some(())).expect_err("errors");
        assert_eq!(errors.len(), 2, "the duplicate is dropped");
        assert_eq!((errors.first().line, errors.first().key.as_str()), (1, "a"));
        assert_eq!(errors.to_string(), "x.toml:1:1: a: first\nx.toml:2:1: b: second\n(2 errors)");
        assert_eq!(Checker::new(Path::new("x.toml"), text).finish(Some(7)), Ok(7));
    }

    #[test]
    fn a_bad_number_is_reported_and_its_default_stands_in() {
        let c = Checker::new(Path::new("x.toml"), "n = 0\n");
        let bounds = Bounds::new(5, 1, 10);
        assert_eq!(c.bounded(Some(&Spanned::new(4..5, 7)), bounds, "s.n"), 7);
        assert_eq!(c.bounded(None, bounds, "s.n"), 5);
        assert_eq!(c.bounded(Some(&Spanned::new(4..5, 0)), bounds, "s.n"), 5);
        let errors = c.finish(Some(())).expect_err("0 is out of bounds");
        assert_eq!(errors.first().message, "n must be 1 to 10, not 0");
        assert_eq!((errors.first().line, errors.first().column), (1, 5));
    }
}
