//! Zero-padded decimal digits on the stack, for the values that are written as fixed
//! digit strings (personnummer, kommunkod, dates) and serialised in every answer.

/// `N` decimal digits of a number, zero-padded on the left (higher digits are dropped).
#[derive(Clone, Copy)]
pub(crate) struct Digits<const N: usize>([u8; N]);

impl<const N: usize> Digits<N> {
    pub(crate) fn new(mut n: u64) -> Self {
        let mut b = [b'0'; N];
        for d in b.iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
        Self(b)
    }

    pub(crate) fn bytes(&self) -> [u8; N] {
        self.0
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Serialises a value as the string `s`, for the types written as strings (digit strings,
/// free texts), without the `String` that `#[serde(into = "String")]` would allocate for
/// every value.
macro_rules! serialize_as_str {
    ($ty:ty, |$v:ident| $s:expr) => {
        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let $v = self;
                s.serialize_str($s)
            }
        }
    };
}
pub(crate) use serialize_as_str;

#[cfg(test)]
mod tests {
    use super::Digits;

    #[test]
    fn pads_and_truncates_on_the_left() {
        assert_eq!(Digits::<4>::new(180).as_str(), "0180");
        assert_eq!(Digits::<12>::new(189209269811).as_str(), "189209269811");
        assert_eq!(Digits::<2>::new(2026).as_str(), "26");
        assert_eq!(Digits::<3>::new(0).as_str(), "000");
    }

    #[test]
    fn values_serialise_as_they_are_written() {
        use crate::message::AfKontor;
        use crate::{Datum, Kommunkod, Personnummer};
        let json = |v: serde_json::Value| v.to_string();
        let d = Datum::parse("1809-03-07").unwrap();
        assert_eq!(json(serde_json::to_value(d).unwrap()), r#""1809-03-07""#);
        assert_eq!(d.to_string(), "1809-03-07");
        let k = Kommunkod::parse("114").unwrap();
        assert_eq!(json(serde_json::to_value(k).unwrap()), r#""0114""#);
        let p = Personnummer::parse("19121212-1212").unwrap();
        assert_eq!(json(serde_json::to_value(p).unwrap()), r#""191212121212""#);
        assert_eq!(&p.expose_digits(), b"191212121212");
        let a = AfKontor::parse("Arbetsförmedlingen \"Öst\"").unwrap();
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#""Arbetsförmedlingen \"Öst\"""#
        );
    }
}
