//! Bounds on JSON a masked view reads from a writer's metadata: an array longer than what it
//! may hold is refused as it is read, before its items are held (a footer of megabytes of
//! numbers would otherwise become a vector several times its size).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};

/// A JSON array of at most `N` items.
#[derive(Debug, PartialEq, Eq)]
pub struct AtMost<T, const N: usize>(pub Vec<T>);

impl<T, const N: usize> std::ops::Deref for AtMost<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<'de, T: Deserialize<'de>, const N: usize> Deserialize<'de> for AtMost<T, N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Items<T, const N: usize>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for Items<T, N> {
            type Value = AtMost<T, N>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "an array of at most {N} items")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    if items.len() == N {
                        return Err(de::Error::invalid_length(N + 1, &self));
                    }
                    items.push(item);
                }
                Ok(AtMost(items))
            }
        }
        d.deserialize_seq(Items(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::AtMost;

    #[test]
    fn an_array_past_its_bound_is_refused() {
        let read = |text: &str| serde_json::from_str::<AtMost<u8, 3>>(text).ok();
        assert_eq!(read("[]"), Some(AtMost(vec![])));
        assert_eq!(read("[1,2,3]"), Some(AtMost(vec![1, 2, 3])));
        assert_eq!(read("[1,2,3,4]"), None);
        assert_eq!(read("{}"), None);
    }
}
