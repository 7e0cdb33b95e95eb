//! JSON text to a [`serde_json::Value`] with the checks the front ends' files need and `serde_json` does
//! not make: an object that names a key twice is an error naming the key (not last-wins), and no string
//! is longer than [`MAX_NAME_LEN`], so one record cannot make every later error or block id megabytes long.
//! Nesting stays limited by `serde_json`'s recursion limit (128).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The longest string a layer description or a Keras file may hold, in bytes (layer names become the
/// prefixes of block ids, which the graph crate caps at [`snn_graph::MAX_ID_LEN`]).
pub const MAX_NAME_LEN: usize = 1024;

/// Parses `text` as one JSON value, rejecting duplicate keys and over-long strings.
pub(crate) fn parse_strict(text: &str) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let v = Strict::deserialize(&mut de)?;
    de.end()?;
    Ok(v.0)
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Strict, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

fn string<E: de::Error>(s: &str) -> Result<Value, E> {
    if s.len() > MAX_NAME_LEN {
        return Err(E::custom(format!(
            "a string of {} bytes; strings are at most {MAX_NAME_LEN} bytes",
            s.len()
        )));
    }
    Ok(Value::String(s.to_string()))
}

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // JSON text has no NaN or infinity; serde_json reports overflowing numbers itself.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        string(v)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut v = Vec::new();
        while let Some(Strict(x)) = seq.next_element()? {
            v.push(x);
        }
        Ok(Value::Array(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut m = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key.len() > MAX_NAME_LEN {
                string::<A::Error>(&key)?;
            }
            if m.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "duplicate key {key:?} in an object"
                )));
            }
            let Strict(v) = map.next_value()?;
            m.insert(key, v);
        }
        Ok(Value::Object(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: &str) {
        match parse_strict(text) {
            Ok(v) => assert_eq!(v.to_string(), expect),
            Err(e) => assert_eq!(e.to_string(), expect),
        }
    }

    #[test]
    fn parses_like_serde_json_but_stricter() {
        check(
            r#"{"a": [1, -2, 0.5, true, null, "s"], "b": {}}"#,
            r#"{"a":[1,-2,0.5,true,null,"s"],"b":{}}"#,
        );
        check(
            r#"{"a": 1, "b": {"c": 1, "c": 2}}"#,
            "duplicate key \"c\" in an object at line 1 column 26",
        );
        check(
            &format!(r#"{{"name": "{}"}}"#, "n".repeat(MAX_NAME_LEN + 1)),
            "a string of 1025 bytes; strings are at most 1024 bytes at line 1 column 1036",
        );
        check(
            &format!(r#"{{"{}": 1}}"#, "k".repeat(MAX_NAME_LEN + 1)),
            "a string of 1025 bytes; strings are at most 1024 bytes at line 1 column 1028",
        );
        check("[1] x", "trailing characters at line 1 column 5");
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        check(&deep, "recursion limit exceeded at line 1 column 128");
    }
}
