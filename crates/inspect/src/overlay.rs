//! Pictures for people: the overlay of an inspection and the residual map of a calibration.
