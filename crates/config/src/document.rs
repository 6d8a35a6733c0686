//! Reading the TOML text into each section's raw shape, reporting every error.
//!
//! The text is parsed once into a spanned tree. Each section, and each element of an
//! `[[array]]` section, is then read on its own, so that a mistake in one does not hide
//! those in the others. An unknown key is reported with the valid keys and the nearest
//! one, then set aside and the element read again, so that every unknown key of an
//! element is reported and its other keys are still checked. An element with a value of
//! the wrong type is reported and left out; the caller sees `None` in its place, so the
//! indexes of the others stay as they are in the file.

use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::diagnostics::{Checker, nearest, suggestion};

/// A configuration's text as a spanned tree.
pub(crate) struct Document<'i> {
    root: DeTable<'i>,
}

impl<'i> Document<'i> {
    /// Parses the text; a syntax error is reported (every one found) and gives `None`.
    pub fn parse(c: &Checker<'_>, text: &'i str) -> Option<Self> {
        let (root, errors) = DeTable::parse_recoverable(text);
        let root = root.into_inner();
        for e in &errors {
            let span = e.span().unwrap_or(0..0);
            let key = path_at(&root, &span).unwrap_or_else(|| "-".into());
            c.report(span, key, e.message().trim());
        }
        errors.is_empty().then_some(Self { root })
    }

    /// Reports every top-level key that is not one of `sections`.
    pub fn check_sections(&self, c: &Checker<'_>, sections: &[&str]) {
        for (key, _) in self.root.iter() {
            let name = key.get_ref().as_ref();
            if !sections.contains(&name) {
                let message = format!(
                    "unknown section `{name}`{}; valid: {}",
                    suggestion(name, sections.iter().copied()),
                    sections.join(", ")
                );
                c.report(key.span(), name, message);
            }
        }
    }

    /// A `[table]` section; `None` when it is absent or could not be read.
    pub fn table<T: DeserializeOwned>(&self, c: &Checker<'_>, name: &str) -> Option<T> {
        self.root.get(name).and_then(|value| self.read(c, value, name))
    }

    /// An `[[array]]` section, one entry per element in the file's order: `None` for an
    /// element that could not be read (its errors are reported).
    pub fn array<T: DeserializeOwned>(&self, c: &Checker<'_>, name: &str) -> Vec<Option<Spanned<T>>> {
        let Some(value) = self.root.get(name) else { return Vec::new() };
        match value.get_ref() {
            DeValue::Array(elements) => elements.iter().map(|e| self.read(c, e, name)).collect(),
            other => {
                let message = format!("`{name}` must be a list of tables ([[{name}]]), not {}", other.type_str());
                c.report(value.span(), name, message);
                Vec::new()
            }
        }
    }

    /// The `id` of each element of an `[[array]]` section that has a string one, with
    /// the element's index and the id's place, whether or not the rest of the element
    /// could be read.
    pub fn ids(&self, name: &str) -> Vec<(usize, Spanned<String>)> {
        let Some(DeValue::Array(elements)) = self.root.get(name).map(Spanned::get_ref) else { return Vec::new() };
        let id = |e: &Spanned<DeValue<'_>>| {
            let id = e.get_ref().as_table()?.get("id")?;
            Some(Spanned::new(id.span(), id.get_ref().as_str()?.to_string()))
        };
        elements.iter().enumerate().filter_map(|(i, e)| Some((i, id(e)?))).collect()
    }

    /// Reads one value as `T`, reporting unknown keys one by one and then the first other
    /// error, if any.
    fn read<T: DeserializeOwned>(&self, c: &Checker<'_>, value: &Spanned<DeValue<'i>>, section: &str) -> Option<T> {
        let mut value = value.clone();
        // Keys suggested for unknown ones: their absence is already reported.
        let mut suggested = Vec::new();
        loop {
            let error = match T::deserialize(ValueDeserializer::from(value.clone())) {
                Ok(t) => return Some(t),
                Err(e) => e,
            };
            let span = error.span().unwrap_or_else(|| value.span());
            let path = path_at(&self.root, &span).unwrap_or_else(|| section.to_string());
            let message = error.message().trim();
            if let Some(rest) = message.strip_prefix("unknown field `") {
                let (message, nearest) = unknown_key(rest);
                c.report(span.clone(), path, message);
                suggested.extend(nearest);
                if remove_key(&mut value, &span) {
                    continue;
                }
                return None;
            }
            match message.strip_prefix("missing field `").and_then(|r| r.split('`').next()) {
                Some(field) if suggested.iter().any(|s| s == field) => {}
                Some(field) => c.report(span, format!("{path}.{field}"), message),
                None => c.report(span, path, message),
            }
            return None;
        }
    }
}

/// serde's "unknown field `fsp`, expected one of `id`, `source`, `fps`" (after its
/// first back-quote) as a message, and the nearest valid key.
fn unknown_key(rest: &str) -> (String, Option<String>) {
    let field = rest.split('`').next().unwrap_or_default();
    let expected: Vec<&str> = rest.split('`').skip(2).step_by(2).collect();
    let valid = if expected.is_empty() { String::new() } else { format!("; valid keys here: {}", expected.join(", ")) };
    let message = format!("unknown key `{field}`{}{valid}", suggestion(field, expected.iter().copied()));
    (message, nearest(field, expected.iter().copied()).map(str::to_string))
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

/// The dotted key path (`machine[0].lamp[1].color`) of the key at `span`, or of the
/// innermost value that holds `span`.
fn path_at(root: &DeTable<'_>, span: &Range<usize>) -> Option<String> {
    path_in_table(root, span, "")
}

fn path_in_table(table: &DeTable<'_>, span: &Range<usize>, prefix: &str) -> Option<String> {
    table.iter().find_map(|(key, value)| {
        let name = key.get_ref();
        let path = if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") };
        if key.span() == *span { Some(path) } else { path_in_value(value, span, path) }
    })
}

fn path_in_value(value: &Spanned<DeValue<'_>>, span: &Range<usize>, path: String) -> Option<String> {
    // Tables defined by `[header]`s may not span their keys, so look inside first.
    let inner = match value.get_ref() {
        DeValue::Table(t) => path_in_table(t, span, &path),
        DeValue::Array(a) => {
            a.iter().enumerate().find_map(|(i, element)| path_in_value(element, span, format!("{path}[{i}]")))
        }
        _ => None,
    };
    inner.or_else(|| contains(&value.span(), span).then_some(path))
}

/// Takes the key at `span` out of the tree; false when there is none.
fn remove_key(value: &mut Spanned<DeValue<'_>>, span: &Range<usize>) -> bool {
    match value.get_mut() {
        DeValue::Table(t) => {
            let key = t.iter().map(|(k, _)| k).find(|k| k.span() == *span).cloned();
            match key {
                Some(key) => t.remove(&key).is_some(),
                None => t.iter_mut().any(|(_, v)| remove_key(v, span)),
            }
        }
        DeValue::Array(a) => a.iter_mut().any(|v| remove_key(v, span)),
        _ => false,
    }
}
