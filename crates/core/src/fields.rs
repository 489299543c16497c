//! A struct's field names as serde names them, read from its derived `Deserialize` (serde
//! hands them to `deserialize_struct`), so a list of allowed fields is never typed twice.

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// The JSON field names of `T`, a plain struct deriving `Deserialize` (no `flatten`).
pub fn of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Introspect {
        fields: &mut fields,
    });
    fields
}

struct Introspect<'a> {
    fields: &'a mut &'static [&'static str],
}

#[derive(Debug)]
struct Done;

impl std::fmt::Display for Done {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field names read")
    }
}

impl std::error::Error for Done {}

impl de::Error for Done {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Done
    }
}

impl<'de> Deserializer<'de> for Introspect<'_> {
    type Error = Done;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Done> {
        Err(Done)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Done> {
        *self.fields = fields;
        Err(Done)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Sample {
        function_name: String,
        #[serde(rename = "x")]
        other: u8,
    }

    #[test]
    fn reads_the_names_serde_uses() {
        assert_eq!(super::of::<Sample>(), ["functionName", "x"]);
    }
}
