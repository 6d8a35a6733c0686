//! Length units of a drawing and their size in millimetres.

/// The units a drawing's numbers are in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LengthUnit {
    Millimetre,
    Centimetre,
    Metre,
    Inch,
    Foot,
    Micron,
    Decimetre,
}

impl LengthUnit {
    /// How many millimetres one unit is.
    pub fn mm(self) -> f64 {
        match self {
            Self::Millimetre => 1.0,
            Self::Centimetre => 10.0,
            Self::Metre => 1000.0,
            Self::Inch => 25.4,
            Self::Foot => 304.8,
            Self::Micron => 0.001,
            Self::Decimetre => 100.0,
        }
    }

    /// `mm`, `cm`, `m` or `in` (what a user may give on the command line).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "mm" => Some(Self::Millimetre),
            "cm" => Some(Self::Centimetre),
            "m" => Some(Self::Metre),
            "in" => Some(Self::Inch),
            _ => None,
        }
    }

    /// The unit of a DXF `$INSUNITS`; `None` for unitless or a unit no shop cuts in.
    pub fn from_dxf(units: dxf::enums::Units) -> Option<Self> {
        use dxf::enums::Units as U;
        match units {
            U::Millimeters => Some(Self::Millimetre),
            U::Centimeters => Some(Self::Centimetre),
            U::Meters => Some(Self::Metre),
            U::Inches => Some(Self::Inch),
            U::Feet => Some(Self::Foot),
            U::Microns => Some(Self::Micron),
            U::Decimeters => Some(Self::Decimetre),
            _ => None,
        }
    }
}
