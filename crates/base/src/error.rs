//! An error's text with its causes.
//!
//! Errors keep their cause as `source()` (thiserror's `#[source]`), and their own text
//! says only what failed at their level. Where one line must carry all of it (a log
//! field, a camera's status detail, an event), [`with_causes`] joins them.

use std::error::Error;

/// `error: cause: cause of the cause`, as far down as the chain goes.
pub fn with_causes(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        let more = c.to_string();
        // Some errors repeat their cause in their own text: say it once.
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Layer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref().map(|l| l as &dyn Error)
        }
    }

    #[test]
    fn every_cause_once() {
        let e = Layer("cannot open cam1", Some(Box::new(Layer("connect", Some(Box::new(Layer("refused", None)))))));
        assert_eq!(with_causes(&e), "cannot open cam1: connect: refused");
        let repeating = Layer("decode: bad NAL", Some(Box::new(Layer("bad NAL", None))));
        assert_eq!(with_causes(&repeating), "decode: bad NAL");
    }
}
