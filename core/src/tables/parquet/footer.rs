//! A Parquet footer: found from the object's tail, its schema's top-level columns, and the
//! splice that rewrites it for masked columns (copying every byte it does not change).
//!
//! Field ids are those of parquet-format's `parquet.thrift`.

use super::pages::{self, Chunk};
use super::shape;
use super::thrift::{self, Field, Reader, ThriftError, Writer};
use super::{Error, Prepared};

/// `PAR1`: a plain file's first and last four bytes.
pub const MAGIC: &[u8; 4] = b"PAR1";
/// `PARE`: a file whose footer is encrypted.
pub const MAGIC_ENCRYPTED: &[u8; 4] = b"PARE";

/// Where the footer (`FileMetaData`, without its length and magic) lies in the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub start: u64,
    pub len: u64,
}

impl Location {
    /// How many bytes at the object's end hold the footer, its length and magic.
    pub fn tail_len(&self) -> u64 {
        self.len + 8
    }
}

/// The footer's location from the object's size and (at least) its last 8 bytes.
pub fn locate(object_size: u64, tail: &[u8], max_footer: u64) -> Result<Location, Error> {
    if object_size < 12 {
        return Err(Error::NotParquet("shorter than a Parquet file"));
    }
    let Some((_, last)) = tail.split_last_chunk::<8>() else {
        return Err(Error::NeedTail { bytes: 8 });
    };
    let (len, magic) = last.split_at(4);
    if magic == MAGIC_ENCRYPTED {
        return Err(Error::Encrypted("the footer is encrypted (PARE)"));
    }
    if magic != MAGIC {
        return Err(Error::NotParquet("no PAR1 magic at the end"));
    }
    let mut le = [0u8; 4];
    le.copy_from_slice(len);
    let len = u64::from(u32::from_le_bytes(le));
    if len > max_footer {
        return Err(Error::FooterTooLarge {
            len,
            max: max_footer,
        });
    }
    // The leading magic, the footer, its length and the trailing magic.
    if len + 12 > object_size {
        return Err(Error::NotParquet("the footer length exceeds the object"));
    }
    Ok(Location {
        start: object_size - 8 - len,
        len,
    })
}

#[cfg(test)]
mod tests {
    use super::{ChunkPlan, Error, Rewrite};

    fn rewrite(chunks: &[(u64, u64)], zeroed: &[(u64, u64)], kept: &[(u64, u64)]) -> Rewrite {
        Rewrite {
            chunks: chunks
                .iter()
                .map(|&(start, len)| ChunkPlan {
                    start,
                    len,
                    bytes: vec![1],
                })
                .collect(),
            zeroed: zeroed.to_vec(),
            kept: kept.to_vec(),
            masking: true,
            ..Rewrite::default()
        }
    }

    #[test]
    fn a_masked_view_overwrites_all_but_the_unmasked_spans() {
        // Chunks a [4,100) masked [120,150) c [300,400): the masked chunk's real pages may
        // start before its declared start or run past its declared size, and whatever lies
        // between (an unreferenced column index, an orphan row group) is nobody's.
        let mut r = rewrite(&[(120, 30)], &[], &[(4, 96), (300, 100)]);
        assert_eq!(
            r.overwritten_regions(1000).unwrap(),
            vec![(100, 300), (400, 1000)]
        );
        // Nothing else: everything but the magic, to the footer.
        let mut r = rewrite(&[(50, 10)], &[], &[]);
        assert_eq!(r.overwritten_regions(1000).unwrap(), vec![(4, 1000)]);
        // Unmasked spans that overlap or touch each other; a masked page index.
        let mut r = rewrite(
            &[(100, 50), (150, 50)],
            &[(500, 10)],
            &[
                (4, 96),
                (200, 100),
                (250, 100),
                (350, 10),
                (490, 10),
                (520, 10),
            ],
        );
        assert_eq!(
            r.overwritten_regions(1000).unwrap(),
            vec![(100, 200), (360, 490), (500, 520), (530, 1000)]
        );
        // A bloom filter of unknown length (an empty span) keeps nothing.
        let mut r = rewrite(&[(100, 50)], &[], &[(4, 96), (180, 0)]);
        assert_eq!(r.overwritten_regions(1000).unwrap(), vec![(100, 1000)]);
        // No masks: the object itself.
        let mut r = rewrite(&[], &[], &[(4, 96)]);
        r.masking = false;
        assert_eq!(r.overwritten_regions(1000).unwrap(), vec![]);
    }

    /// The field ids of the struct `bytes` (a bare struct value).
    fn ids(bytes: &[u8]) -> Vec<i16> {
        let mut reader = super::Reader::new(bytes);
        let element = reader.struct_element().unwrap();
        element.fields().unwrap().map(|f| f.unwrap().id).collect()
    }

    #[test]
    fn an_unmasked_chunk_is_copied_without_what_this_reader_does_not_know() {
        use super::thrift::{self, Writer};
        let mut w = Writer::default();
        w.begin_struct(None);
        w.i64_field(2, 4);
        w.begin_struct(Some(3));
        w.i32_field(1, 2);
        w.field_header(8, thrift::LIST); // key_value_metadata
        w.list_header(thrift::STRUCT, 0);
        w.i64_field(14, 100); // bloom_filter_offset
        w.i64_field(20, 7); // unknown
        w.end_struct();
        w.i64_field(12, 9); // unknown
        w.end_struct();
        let chunk = {
            let mut reader = super::Reader::new(&w.out);
            reader.struct_element().unwrap()
        };
        for (drop_bloom, meta_ids) in [(true, vec![1]), (false, vec![1, 14])] {
            let drops = super::Drops {
                bloom: drop_bloom,
                ..Default::default()
            };
            let copied = super::copied_chunk(&chunk, drops).unwrap();
            assert_eq!(ids(&copied), vec![2, 3]);
            let mut reader = super::Reader::new(&copied);
            let element = reader.struct_element().unwrap();
            let meta = element
                .fields()
                .unwrap()
                .map(|f| f.unwrap())
                .find(|f| f.id == 3)
                .unwrap();
            let got: Vec<i16> = meta.fields().unwrap().map(|f| f.unwrap().id).collect();
            assert_eq!(got, meta_ids, "drop_bloom {drop_bloom}");
        }
    }

    #[test]
    fn column_orders_are_the_type_defined_order_or_none() {
        use super::thrift::{self, Writer};
        let mut w = Writer::default();
        w.list_header(thrift::STRUCT, 2);
        w.begin_struct(None);
        w.begin_struct(Some(1));
        w.i32_field(5, 1); // unknown, inside TypeDefinedOrder
        w.end_struct();
        w.end_struct();
        w.begin_struct(None);
        w.i32_field(2, 1); // an order this reader does not know
        w.end_struct();
        let mut whole = Writer::default();
        whole.begin_struct(None);
        whole.field_header(7, thrift::LIST);
        whole.out.extend_from_slice(&w.out);
        whole.end_struct();
        let mut reader = super::Reader::new(&whole.out);
        let file = reader.struct_element().unwrap();
        let orders = file.fields().unwrap().next().unwrap().unwrap();
        // An order this reader does not know: no column_orders at all.
        assert_eq!(super::known_column_orders(&orders).unwrap(), None);
        let mut w = Writer::default();
        w.list_header(thrift::STRUCT, 1);
        w.begin_struct(None);
        w.begin_struct(Some(1));
        w.i32_field(5, 1); // unknown, inside TypeDefinedOrder
        w.end_struct();
        w.end_struct();
        let mut whole = Writer::default();
        whole.begin_struct(None);
        whole.field_header(7, thrift::LIST);
        whole.out.extend_from_slice(&w.out);
        whole.end_struct();
        let mut reader = super::Reader::new(&whole.out);
        let file = reader.struct_element().unwrap();
        let orders = file.fields().unwrap().next().unwrap().unwrap();
        // The type-defined order, without what was inside it.
        assert_eq!(
            super::known_column_orders(&orders).unwrap(),
            Some(vec![0x1c, 0x1c, 0x00, 0x00])
        );
    }

    #[test]
    fn a_masked_span_overlapping_an_unmasked_one_is_refused() {
        for kept in [(140, 100), (4, 110), (110, 10), (120, 0)] {
            let mut r = rewrite(&[(100, 50)], &[], &[kept]);
            assert!(
                matches!(r.overwritten_regions(1000), Err(Error::Malformed { .. })),
                "{kept:?}"
            );
        }
        // Touching is not overlapping.
        let mut r = rewrite(&[(100, 50)], &[], &[(4, 96), (150, 10)]);
        assert_eq!(
            r.overwritten_regions(1000).unwrap(),
            vec![(100, 150), (160, 1000)]
        );
    }

    #[test]
    fn size_statistics_conform_as_their_shape_says_and_sum_their_histograms() {
        use super::size_statistics;
        use crate::tables::parquet::shape::{struct_conforms, SIZE_STATISTICS};
        use crate::tables::parquet::thrift::{self, Reader, Writer};
        let sizes = |fill: &dyn Fn(&mut Writer)| {
            let mut w = Writer::default();
            w.begin_struct(None);
            fill(&mut w);
            w.end_struct();
            w.out
        };
        let counts = |w: &mut Writer, id: i16, values: &[i64]| {
            w.field_header(id, thrift::LIST);
            w.list_header(thrift::I64, values.len());
            for &value in values {
                w.zigzag(value);
            }
        };
        let cases: [(Vec<u8>, bool, [Option<i64>; 2]); 6] = [
            (
                sizes(&|w| {
                    w.i64_field(1, 40);
                    counts(w, 3, &[2, 8]);
                }),
                true,
                [None, Some(10)],
            ),
            (sizes(&|w| counts(w, 2, &[])), true, [None, None]),
            (
                sizes(&|w| counts(w, 2, &[5, -3, 8])),
                true,
                [Some(i64::MIN), None],
            ),
            (
                sizes(&|w| {
                    w.field_header(3, thrift::LIST);
                    w.list_header(thrift::BINARY, 1);
                    w.varint(1);
                    w.out.push(b'x');
                }),
                false,
                [None, None],
            ),
            (sizes(&|w| w.i32_field(1, 40)), false, [None, None]),
            (sizes(&|w| w.i64_field(9, 40)), false, [None, None]),
        ];
        let lens = [[0, 2], [0, 0], [3, 0], [0, 0], [0, 0], [0, 0]];
        for ((bytes, conforms, sums), lens) in cases.into_iter().zip(lens) {
            let walked = size_statistics(&mut Reader::new(&bytes)).unwrap();
            let expected = super::Histograms {
                conforms,
                sums,
                lens,
            };
            assert_eq!(walked, expected, "{bytes:?}");
            let shaped = struct_conforms(&mut Reader::new(&bytes), &SIZE_STATISTICS).unwrap();
            assert_eq!(shaped, conforms, "{bytes:?}");
        }
        let repeated = sizes(&|w| {
            w.i64_field(1, 1);
            w.i64_field(1, 2);
        });
        assert!(size_statistics(&mut Reader::new(&repeated)).is_err());
    }

    #[test]
    fn each_leaf_knows_its_levels_statistics_width_and_geometry() {
        use super::thrift::{self, Reader, Writer};
        // root { required int64 id; optional group tags (LIST) { repeated group list {
        // optional binary element } }; optional fixed_len_byte_array(16) uuid;
        // optional binary geom (GEOMETRY) }
        let mut w = Writer::default();
        // Name, repetition, physical type, children, GEOMETRY.
        type Element = (&'static [u8], Option<i32>, Option<i32>, Option<i32>, bool);
        let elements: [Element; 7] = [
            (b"schema", None, None, Some(4), false),
            (b"id", Some(0), Some(2), None, false),
            (b"tags", Some(1), None, Some(1), false),
            (b"list", Some(2), None, Some(1), false),
            (b"element", Some(1), Some(6), None, false),
            (b"uuid", Some(1), Some(7), None, false),
            (b"geom", Some(1), Some(6), None, true),
        ];
        w.list_header(thrift::STRUCT, elements.len());
        for (name, repetition, physical, children, geometry) in elements {
            w.begin_struct(None);
            if let Some(physical) = physical {
                w.i32_field(1, physical);
            }
            if physical == Some(7) {
                w.i32_field(2, 16);
            }
            if let Some(repetition) = repetition {
                w.i32_field(3, repetition);
            }
            w.field_header(4, thrift::BINARY);
            w.varint(name.len() as u64);
            w.out.extend_from_slice(name);
            if let Some(children) = children {
                w.i32_field(5, children);
            }
            if geometry {
                w.begin_struct(Some(10));
                w.begin_struct(Some(17));
                w.end_struct();
                w.end_struct();
            }
            w.end_struct();
        }
        let mut bytes = vec![(2 << 4) | thrift::LIST];
        bytes.extend_from_slice(&w.out);
        let field = Reader::new(&bytes).fields().next().unwrap().unwrap();
        let (_, leaves) = super::schema(&field, 0).unwrap();
        let facts: Vec<_> = leaves
            .iter()
            .map(|l| (l.max_levels, l.stat_width, l.geospatial))
            .collect();
        assert_eq!(
            facts,
            vec![
                ([0, 0], Some(8), false),
                ([1, 3], None, false),
                ([0, 1], Some(16), false),
                ([0, 1], None, true),
            ]
        );
    }

    #[test]
    fn sorting_columns_name_each_leaf_once() {
        use super::thrift::{self, Reader, Writer};
        let sorting = |columns: &[i32]| {
            let mut w = Writer::default();
            w.field_header(4, thrift::LIST);
            w.list_header(thrift::STRUCT, columns.len());
            for &c in columns {
                w.begin_struct(None);
                w.i32_field(1, c);
                w.bool_field(2, false);
                w.end_struct();
            }
            w.out.push(thrift::STOP);
            w.out
        };
        for (columns, ok) in [
            (&[2, 0][..], true),
            (&[], true),
            (&[5], false),
            (&[1, 1], false),
            (&[-1], false),
            (&[0, 1, 2, 3], false),
        ] {
            let bytes = sorting(columns);
            let field = Reader::new(&bytes).fields().next().unwrap().unwrap();
            assert_eq!(
                super::sorts_by_leaves(&field, 3).unwrap(),
                ok,
                "{columns:?}"
            );
        }
    }

    #[test]
    fn old_parquet_mr_versions_are_named() {
        for (created_by, short) in [
            (&b"parquet-mr version 1.2.8 (build abc)"[..], true),
            (b"parquet-mr version 1.2.9", false),
            (
                b"parquet-mr version 1.10.1 (build a89df8f9932b6ef6633d06069e50c9b7970bebd1)",
                false,
            ),
            (b"parquet-mr version 1.1.0", true),
            (b"parquet-cpp-arrow version 26.0.1", false),
            (b"DuckDB version v1.5.5", false),
        ] {
            assert_eq!(
                super::short_chunk_sizes(created_by),
                short,
                "{created_by:?}"
            );
        }
    }

    #[test]
    fn created_by_is_kept_when_it_reads_as_a_writer() {
        for (created_by, kept) in [
            (&b"parquet-cpp-arrow version 26.0.1"[..], true),
            (b"DuckDB version v1.5.5 (build d8cdaa33fd)", true),
            (
                b"Polars (python) version 2.1.0 (build 7f902bd3ffd27ff82d14278a09a295ff2f7aed92)",
                true,
            ),
            (b"parquet-cpp-arrow version 21.0.0 bob@example.com", false),
            (b"writer\nversion", false),
            (&[b'a'; 129][..], false),
        ] {
            assert_eq!(super::reads_as_a_writer(created_by), kept, "{created_by:?}");
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Physical {
    Boolean,
    Int32,
    Int64,
    Int96,
    Float,
    Double,
    ByteArray,
    FixedLenByteArray,
}

impl Physical {
    fn from_thrift(value: i32) -> Option<Physical> {
        Some(match value {
            0 => Physical::Boolean,
            1 => Physical::Int32,
            2 => Physical::Int64,
            3 => Physical::Int96,
            4 => Physical::Float,
            5 => Physical::Double,
            6 => Physical::ByteArray,
            7 => Physical::FixedLenByteArray,
            _ => return None,
        })
    }

    pub fn thrift(self) -> i32 {
        self as i32
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repetition {
    Required,
    Optional,
}

/// A top-level leaf column of the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// Its index among the schema's leaves: its chunk's index in every row group.
    pub leaf: usize,
    pub physical: Physical,
    pub type_length: Option<i32>,
    pub repetition: Repetition,
    /// `(scale, precision)` of a DECIMAL.
    pub decimal: Option<(i32, i32)>,
    pub date: bool,
    /// An integer logical type narrower than its physical type or unsigned: bit width and
    /// signedness (INT(8, true), UINT_16...).
    pub int: Option<(u8, bool)>,
    /// `field_id` (Iceberg and others match columns by it).
    pub field_id: Option<i32>,
}

/// A top-level field of the schema: a leaf column, or a group / repeated field (by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopLevel {
    Leaf(Column),
    Nested(String),
    Repeated(String),
}

impl TopLevel {
    pub fn name(&self) -> &str {
        match self {
            TopLevel::Leaf(column) => &column.name,
            TopLevel::Nested(name) | TopLevel::Repeated(name) => name,
        }
    }
}

pub(crate) fn malformed(base: u64, error: ThriftError) -> Error {
    Error::Malformed {
        offset: base + error.offset as u64,
        what: error.what,
    }
}

/// A leaf of the schema: what its chunks' metadata must agree with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// Its `path_in_schema`, as the Thrift list a chunk of it must carry (its names from the
    /// top-level field down).
    pub path: Vec<u8>,
    /// The length of its values' statistics when its type has a fixed width (an INT64's 8, a
    /// FIXED_LEN_BYTE_ARRAY's `type_length`): readers decode that many bytes, never more.
    pub stat_width: Option<usize>,
    /// Its maximum repetition and definition levels: a level histogram has one count more.
    pub max_levels: [usize; 2],
    /// Whether it is of logical type GEOMETRY or GEOGRAPHY, the columns geospatial statistics
    /// describe.
    pub geospatial: bool,
}

/// The schema's top-level fields and its leaves.
pub fn schema(field: &Field<'_>, base: u64) -> Result<(Vec<TopLevel>, Vec<Leaf>), Error> {
    let bad = |what| Error::Malformed {
        offset: base + field.offset as u64,
        what,
    };
    let (elem, count, mut reader) = field.list().map_err(|e| malformed(base, e))?;
    if elem != thrift::STRUCT || count == 0 {
        return Err(bad("the schema is not a list of elements"));
    }
    let mut top = Vec::new();
    let mut leaves: Vec<Leaf> = Vec::new();
    // Children still to read at each open group; the root's first. `path` has the names of
    // the open groups below the root, `levels` their maximum repetition and definition levels.
    let mut open: Vec<usize> = Vec::new();
    let mut path: Vec<&[u8]> = Vec::new();
    let mut levels: Vec<[usize; 2]> = Vec::new();
    for index in 0..count {
        let element = reader.struct_element().map_err(|e| malformed(base, e))?;
        let mut name: Option<&[u8]> = None;
        let mut physical = None;
        let mut type_length = None;
        let mut repetition = None;
        let mut children = None;
        let mut converted = None;
        let mut scale = None;
        let mut precision = None;
        let mut logical_decimal = None;
        let mut logical_date = false;
        let mut logical_int = None;
        let mut logical_geospatial = false;
        let mut field_id = None;
        for f in element.fields().map_err(|e| malformed(base, e))? {
            let f = f.map_err(|e| malformed(base, e))?;
            let m = |e| malformed(base, e);
            // Of the type its shape has, or the view (which drops it) and this reading differ.
            if shape::slot(&shape::SCHEMA_ELEMENT, f.id).is_some_and(|s| !s.kind.matches(f.ty)) {
                return Err(bad("a schema element's field of another type"));
            }
            match f.id {
                1 => physical = Some(f.i32().map_err(m)?),
                2 => type_length = Some(f.i32().map_err(m)?),
                3 => repetition = Some(f.i32().map_err(m)?),
                4 => name = Some(f.binary().map_err(m)?),
                5 => children = Some(f.i32().map_err(m)?),
                6 => converted = Some(f.i32().map_err(m)?),
                7 => scale = Some(f.i32().map_err(m)?),
                8 => precision = Some(f.i32().map_err(m)?),
                9 => field_id = Some(f.i32().map_err(m)?),
                10 => {
                    // The variant a masked view keeps (the first known one that is a struct)
                    // alone: the column is of that type to its readers.
                    let mut kept = None;
                    for kind in f.fields().map_err(m)? {
                        let kind = kind.map_err(m)?;
                        if kind.ty == thrift::STRUCT
                            && shape::slot(&shape::LOGICAL_TYPE, kind.id).is_some()
                        {
                            kept = Some(kind);
                            break;
                        }
                    }
                    if let Some(kind) = kept {
                        match kind.id {
                            5 => {
                                let mut s = None;
                                let mut p = None;
                                for d in kind.fields().map_err(m)? {
                                    let d = d.map_err(m)?;
                                    match d.id {
                                        1 => s = Some(d.i32().map_err(m)?),
                                        2 => p = Some(d.i32().map_err(m)?),
                                        _ => {}
                                    }
                                }
                                if let (Some(s), Some(p)) = (s, p) {
                                    logical_decimal = Some((s, p));
                                }
                            }
                            6 => logical_date = true,
                            17 | 18 => logical_geospatial = true,
                            10 => {
                                let mut bits = None;
                                let mut signed = None;
                                for d in kind.fields().map_err(m)? {
                                    let d = d.map_err(m)?;
                                    match d.id {
                                        1 => bits = Some(d.i32().map_err(m)?),
                                        2 => signed = Some(d.bool().map_err(m)?),
                                        _ => {}
                                    }
                                }
                                if let (Some(bits), Some(signed)) = (bits, signed) {
                                    let bits = u8::try_from(bits).unwrap_or(0);
                                    logical_int = Some((bits, signed));
                                }
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        let raw_name = name.ok_or_else(|| bad("a schema element without a name"))?;
        let name = String::from_utf8_lossy(raw_name).into_owned();
        let group = children.is_some_and(|c| c > 0);
        // Readers tell leaves from groups by different fields (parquet-cpp by `type`, others by
        // `num_children`): an element must say the same to both.
        if index > 0 && group == physical.is_some() {
            return Err(bad(if group {
                "a group with a type"
            } else {
                "an element without a type or children"
            }));
        }
        let children = usize::try_from(children.unwrap_or(0).max(0)).unwrap_or(0);
        if index == 0 {
            if !group {
                return Err(bad("the schema root is not a group"));
            }
            open.push(children);
            continue;
        }
        // This element is a child of the innermost open group.
        let depth = open.len();
        match open.last_mut() {
            Some(left) if *left > 0 => *left -= 1,
            _ => return Err(bad("the schema's tree does not match its child counts")),
        }
        if depth == 1 {
            let repetition = match repetition {
                Some(0) => Some(Repetition::Required),
                Some(1) => Some(Repetition::Optional),
                Some(2) => None,
                _ => return Err(bad("a top-level field without a known repetition")),
            };
            let entry = match (group, repetition) {
                (_, None) => TopLevel::Repeated(name),
                (true, Some(_)) => TopLevel::Nested(name),
                (false, Some(repetition)) => {
                    let physical = physical
                        .and_then(Physical::from_thrift)
                        .ok_or_else(|| bad("a leaf without a known physical type"))?;
                    let decimal = logical_decimal.or(match (converted, scale, precision) {
                        (Some(5), Some(s), Some(p)) => Some((s, p)),
                        (Some(5), None, Some(p)) => Some((0, p)),
                        _ => None,
                    });
                    TopLevel::Leaf(Column {
                        name,
                        leaf: leaves.len(),
                        physical,
                        type_length,
                        repetition,
                        decimal,
                        date: logical_date || converted == Some(6),
                        int: logical_int.or(match converted {
                            Some(11) => Some((8, false)),
                            Some(12) => Some((16, false)),
                            Some(13) => Some((32, false)),
                            Some(14) => Some((64, false)),
                            Some(15) => Some((8, true)),
                            Some(16) => Some((16, true)),
                            _ => None,
                        }),
                        field_id,
                    })
                }
            };
            top.push(entry);
        }
        // REQUIRED adds no level, REPEATED one of each, anything else (OPTIONAL) a definition
        // level: a guess for an unknown repetition only drops histograms that disagree.
        let [above_rep, above_def] = levels.last().copied().unwrap_or([0, 0]);
        let own = match repetition {
            Some(0) => [0, 0],
            Some(2) => [1, 1],
            _ => [0, 1],
        };
        let max_levels = [above_rep + own[0], above_def + own[1]];
        if group {
            if open.len() >= thrift::MAX_DEPTH {
                return Err(bad("the schema is nested too deep"));
            }
            open.push(children);
            path.push(raw_name);
            levels.push(max_levels);
        } else {
            let mut w = Writer::default();
            w.list_header(thrift::BINARY, path.len() + 1);
            for part in path.iter().copied().chain([raw_name]) {
                w.varint(part.len() as u64);
                w.out.extend_from_slice(part);
            }
            // At any depth: what a chunk of an unknown type holds is unknown.
            let physical = physical
                .and_then(Physical::from_thrift)
                .ok_or_else(|| bad("a leaf without a known physical type"))?;
            let stat_width = match physical {
                Physical::Boolean => Some(1),
                Physical::Int32 | Physical::Float => Some(4),
                Physical::Int64 | Physical::Double => Some(8),
                Physical::Int96 => Some(12),
                Physical::FixedLenByteArray => Some(
                    type_length
                        .and_then(|l| usize::try_from(l).ok())
                        .unwrap_or(0),
                ),
                Physical::ByteArray => None,
            };
            leaves.push(Leaf {
                path: w.out,
                stat_width,
                max_levels,
                geospatial: logical_geospatial,
            });
        }
        while open.len() > 1 && open.last() == Some(&0) {
            open.pop();
            path.pop();
            levels.pop();
        }
    }
    if open.iter().any(|&left| left != 0) {
        return Err(bad("the schema's tree does not match its child counts"));
    }
    Ok((top, leaves))
}

/// A masked column chunk's planned bytes in the view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkPlan {
    /// The original chunk's span.
    pub start: u64,
    pub len: u64,
    /// The regenerated chunk written at `start` (the rest of the span is zeros).
    pub bytes: Vec<u8>,
}

/// What the rewrite of a footer yields.
#[derive(Debug, Default)]
pub struct Rewrite {
    pub footer: Vec<u8>,
    pub chunks: Vec<ChunkPlan>,
    /// Page index and bloom filter spans of masked columns, zeroed in the view.
    pub zeroed: Vec<(u64, u64)>,
    /// The spans the footer gives unmasked columns in this file (pages, page indexes, bloom
    /// filters; a bloom filter of unknown length as an empty span at its offset): the only
    /// upstream bytes of the data a masked view serves ([`Rewrite::overwritten_regions`]).
    pub kept: Vec<(u64, u64)>,
    /// Whether any column is masked: else the view is the object itself.
    pub masking: bool,
}

impl Rewrite {
    /// The regions of the data (`4..data_end`) a masked view writes over (zeros, and the
    /// regenerated chunks at their starts): all but the unmasked columns' spans. The footer's
    /// offsets and sizes are claims, and what it leaves out is still in the file: a masked
    /// chunk's dictionary page before its declared start, pages past a short
    /// `total_compressed_size`, a column index, bloom filter or row group the footer does not
    /// reference, an old writer's inline copy of a chunk's metadata. Serving only what the
    /// footer gives unmasked columns covers them all. A masked span (a chunk, a page index, a
    /// bloom filter) that overlaps an unmasked one is refused: the footer alone cannot say
    /// whose the bytes are.
    pub fn overwritten_regions(&mut self, data_end: u64) -> Result<Vec<(u64, u64)>, Error> {
        if !self.masking {
            return Ok(Vec::new());
        }
        let kept = &mut self.kept;
        // A stable sort: it merges the runs `kept` is pushed in (`KeptRuns`) in linear time.
        kept.sort();
        // The largest end among kept[..=i]: the nearest unmasked end before a span.
        let mut max_end = Vec::with_capacity(kept.len());
        let mut running = 0;
        for &(start, len) in kept.iter() {
            running = running.max(start.saturating_add(len));
            max_end.push(running);
        }
        let masked = self
            .chunks
            .iter()
            .map(|c| (c.start, c.len))
            .chain(self.zeroed.iter().copied());
        for (start, len) in masked {
            let end = start.saturating_add(len);
            // kept[..after] start before this span ends.
            let after = kept.partition_point(|&(s, _)| s < end);
            let before_end = after
                .checked_sub(1)
                .and_then(|i| max_end.get(i).copied())
                .unwrap_or(0);
            if before_end > start {
                return Err(Error::Malformed {
                    offset: start,
                    what: "a masked column's span overlaps another column's",
                });
            }
        }
        let mut regions = Vec::new();
        let mut at = MAGIC.len() as u64;
        for &(start, len) in kept.iter().filter(|&&(_, len)| len > 0) {
            if start > at {
                regions.push((at, start.min(data_end)));
            }
            at = at.max(start.saturating_add(len));
        }
        if at < data_end {
            regions.push((at, data_end));
        }
        Ok(regions)
    }
}

/// A masked leaf: its column and prepared mask, by leaf index.
pub struct Target<'t> {
    pub column: &'t Column,
    pub mask: &'t Prepared,
}

/// The tail of the object the rewrite may read (bloom filter headers without a length).
pub struct Tail<'a> {
    pub bytes: &'a [u8],
    pub start: u64,
}

impl Tail<'_> {
    fn get(&self, offset: u64, len: usize) -> Option<&[u8]> {
        let from = usize::try_from(offset.checked_sub(self.start)?).ok()?;
        self.bytes.get(from..from.checked_add(len)?)
    }
}

/// Walks the footer (`FileMetaData` bytes at `location`), refusing encryption, and rewrites the
/// chunks of `targets` (indexed by leaf, `None` where not masked). Every byte outside the
/// changed structs is copied verbatim: with no targets the result is the input.
pub fn rewrite(
    footer: &[u8],
    location: Location,
    leaves: &[Leaf],
    targets: &[Option<Target<'_>>],
    tail: &Tail<'_>,
) -> Result<Rewrite, Error> {
    let base = location.start;
    let m = |e| malformed(base, e);
    let mut out = Rewrite {
        footer: Vec::with_capacity(footer.len()),
        masking: targets.iter().any(Option::is_some),
        ..Rewrite::default()
    };
    let mut seen_row_groups = false;
    // With masks, the FileMetaData is written again field by field: the new row groups, the
    // schema without fields this reader does not know, none of the key-value metadata (a
    // writer may put values there: Hudi's min and max record keys, an Arrow field's metadata)
    // and no field this reader does not know. Without, the footer is the input itself.
    let masking = out.masking;
    let mut parts: Vec<(i16, u8, Vec<u8>)> = Vec::new();
    let mut reader = Reader::new(footer);
    let mut last = 0;
    let mut seen = 0u64;
    // The key-value metadata is kept by what the schema says (names, field ids), which may
    // come after it: written at its place once the footer is read.
    let (mut schema, mut key_values) = (None, None);
    while let Some((id, ty)) = reader.field_header(&mut last).map_err(m)? {
        once(&mut seen, id, base + reader.position() as u64)?;
        let start = reader.position();
        match id {
            8 => {
                return Err(Error::Encrypted(
                    "the file is encrypted (encryption_algorithm)",
                ))
            }
            9 => {
                return Err(Error::Encrypted(
                    "the footer is signed (footer_signing_key_metadata)",
                ))
            }
            4 if ty == thrift::LIST && !seen_row_groups => {
                seen_row_groups = true;
                let mut w = Writer::new(Vec::new());
                row_groups(&mut reader, base, leaves, targets, tail, &mut w, &mut out)?;
                parts.push((id, ty, w.out));
                continue;
            }
            6 if ty == thrift::BINARY => {
                reader.skip(ty).map_err(m)?;
                let created_by = reader.field_since(id, ty, start).binary().map_err(m)?;
                if short_chunk_sizes(created_by) && masking {
                    return Err(Error::UnsafeWriter(
                        "parquet-mr before 1.2.9 left the dictionary page header out of a chunk's total_compressed_size (PARQUET-816)",
                    ));
                }
            }
            _ => reader.skip(ty).map_err(m)?,
        }
        let field = reader.field_since(id, ty, start);
        if !masking {
            parts.push((id, ty, field.raw.to_vec()));
            continue;
        }
        // Only what conforms to the shapes: a known id of another type is free text.
        let kept = match (id, ty) {
            (5, thrift::LIST) => {
                key_values = Some((parts.len(), field));
                None
            }
            (7, thrift::LIST) => known_column_orders(&field).map_err(m)?,
            (2, thrift::LIST) => {
                schema = Some(field);
                Some(known_schema(&field).map_err(m)?)
            }
            (6, thrift::BINARY) => {
                reads_as_a_writer(field.binary().map_err(m)?).then(|| field.raw.to_vec())
            }
            _ => shape::slot(&shape::FILE_META_DATA, id)
                .filter(|slot| slot.kind.matches(ty))
                .map(|_| field.raw.to_vec()),
        };
        if let Some(kept) = kept {
            parts.push((id, ty, kept));
        }
    }
    let end = reader.position();
    if end != footer.len() {
        return Err(Error::Malformed {
            offset: base + end as u64,
            what: "bytes after the footer's end",
        });
    }
    if !seen_row_groups {
        return Err(Error::Malformed {
            offset: base,
            what: "a footer without row groups",
        });
    }
    if !masking {
        out.footer = footer.to_vec();
        return Ok(out);
    }
    if let Some((at, field)) = key_values {
        let kept = kept_key_values(&field, schema.as_ref(), leaves, targets).map_err(m)?;
        if let Some(kept) = kept {
            parts.insert(at, (5, thrift::LIST, kept));
        }
    }
    let mut w = Writer::new(std::mem::take(&mut out.footer));
    w.begin_struct(None);
    for (id, ty, bytes) in &parts {
        w.field_header(*id, *ty);
        w.out.extend_from_slice(bytes);
    }
    w.end_struct();
    out.footer = w.out;
    Ok(out)
}

fn row_groups<'a>(
    reader: &mut Reader<'a>,
    base: u64,
    leaves: &[Leaf],
    targets: &[Option<Target<'_>>],
    tail: &Tail<'_>,
    w: &mut Writer,
    out: &mut Rewrite,
) -> Result<(), Error> {
    let m = |e| malformed(base, e);
    let start = reader.position();
    let (elem, count) = reader.list_header().map_err(m)?;
    if elem != thrift::STRUCT {
        return Err(Error::Malformed {
            offset: base + start as u64,
            what: "row groups are not structs",
        });
    }
    // The list header, verbatim.
    w.out
        .extend_from_slice(reader.field_since(0, thrift::LIST, start).raw);
    let any_target = targets.iter().any(Option::is_some);
    // Reused across row groups: the fields of one, its new columns list.
    let mut scratch = Scratch::default();
    for index in 0..count {
        row_group(
            reader,
            index,
            base,
            leaves,
            targets,
            any_target,
            tail,
            w,
            out,
            &mut scratch,
        )?;
    }
    for run in &scratch.kept_runs {
        out.kept.extend_from_slice(run);
    }
    Ok(())
}

#[derive(Default)]
struct Scratch<'a> {
    fields: Vec<Field<'a>>,
    columns: Vec<u8>,
    kept_runs: KeptRuns,
}

/// The unmasked spans by kind: pages, offset indexes, column indexes, bloom filters. Writers
/// put each kind in chunk order, so each is (nearly) sorted and their concatenation sorts fast.
type KeptRuns = [Vec<(u64, u64)>; 4];

/// One row group, read in one pass at `reader` (every chunk checked for encryption), written
/// to `w`: verbatim when it has no masked chunk.
#[allow(clippy::too_many_arguments)]
fn row_group<'a>(
    reader: &mut Reader<'a>,
    index: usize,
    base: u64,
    leaves: &[Leaf],
    targets: &[Option<Target<'_>>],
    any_target: bool,
    tail: &Tail<'_>,
    w: &mut Writer,
    out: &mut Rewrite,
    scratch: &mut Scratch<'a>,
) -> Result<(), Error> {
    let m = |e| malformed(base, e);
    let bad = |offset: usize, what| Error::Malformed {
        offset: base + offset as u64,
        what,
    };
    let group_start = reader.position();
    scratch.fields.clear();
    scratch.columns.clear();
    let mut seen_columns = false;
    let mut num_rows = None;
    let mut delta_compressed = 0i64;
    let mut delta_uncompressed = 0i64;
    let mut last = 0;
    let mut seen = 0u64;
    while let Some((id, ty)) = reader.field_header(&mut last).map_err(m)? {
        let start = reader.position();
        once(&mut seen, id, base + start as u64)?;
        if id == 1 && ty == thrift::LIST && !seen_columns {
            seen_columns = true;
            let (elem, count) = reader.list_header().map_err(m)?;
            if elem != thrift::STRUCT || count != leaves.len() {
                return Err(bad(
                    start,
                    "a row group's columns do not match the schema's leaves",
                ));
            }
            let mut cw = Writer::new(std::mem::take(&mut scratch.columns));
            cw.list_header(thrift::STRUCT, count);
            for leaf in 0..count {
                let chunk_start = reader.position();
                let mut meta = None;
                let mut clast = 0;
                let mut cseen = 0u64;
                let target = targets.get(leaf).and_then(Option::as_ref);
                // An unmasked chunk's spans bound the gaps around masked ones: read in this
                // pass, as the chunk is walked anyway.
                let mut kept = (any_target && target.is_none()).then(KeptSpans::default);
                while let Some((cid, cty)) = reader.field_header(&mut clast).map_err(m)? {
                    once(&mut cseen, cid, base + reader.position() as u64)?;
                    // Every chunk is checked for encryption, masked or not.
                    if cid == 8 || cid == 9 {
                        return Err(Error::Encrypted("a column chunk is encrypted"));
                    }
                    let value_start = reader.position();
                    match kept.as_mut() {
                        Some(kept) => kept.read_chunk_field(reader, cid, cty).map_err(m)?,
                        None => reader.skip(cty).map_err(m)?,
                    }
                    if cid == 3 {
                        meta = Some(reader.field_since(cid, cty, value_start));
                    }
                }
                let chunk = reader.field_since(0, thrift::STRUCT, chunk_start);
                match target {
                    None => {
                        let drops = match (kept.as_ref(), leaves.get(leaf)) {
                            (Some(kept), Some(l)) => kept.drops(l, tail),
                            _ => Drops::default(),
                        };
                        if drops.any() || kept.as_ref().is_some_and(|k| k.extra) {
                            let clean = copied_chunk(&chunk, drops).map_err(m)?;
                            cw.out.extend_from_slice(&clean);
                        } else {
                            cw.out.extend_from_slice(chunk.raw);
                        }
                        if let Some(kept) = kept {
                            // Its leaf's path exactly: readers that find chunks by path
                            // (parquet-mr, Trino) would take another (a masked column's) for
                            // it, and more names are free text.
                            if kept.path != leaves.get(leaf).map(|l| l.path.as_slice()) {
                                return Err(bad(
                                    chunk.offset,
                                    "an unmasked chunk's path_in_schema is not its column's",
                                ));
                            }
                            // A chunk in another file: its path there is free text.
                            if kept.external {
                                return Err(bad(chunk.offset, "a column chunk in another file"));
                            }
                            kept.push_to(base, tail, &mut scratch.kept_runs);
                        }
                    }
                    Some(target) => {
                        let meta = meta
                            .ok_or_else(|| bad(chunk.offset, "a column chunk without metadata"))?;
                        let (bytes, dc, du, rows) =
                            masked_chunk(&chunk, &meta, target, index, base, tail, out)?;
                        if num_rows.is_some_and(|n| n != rows) {
                            return Err(bad(
                                meta.offset,
                                "a top-level chunk's num_values is not the row count",
                            ));
                        }
                        num_rows.get_or_insert(rows);
                        delta_compressed += dc;
                        delta_uncompressed += du;
                        cw.out.extend_from_slice(&bytes);
                    }
                }
            }
            scratch.columns = cw.out;
        } else {
            reader.skip(ty).map_err(m)?;
        }
        let field = reader.field_since(id, ty, start);
        if id == 3 {
            let rows = field.i64().map_err(m)?;
            if num_rows.is_some_and(|n| n != rows) {
                return Err(bad(
                    start,
                    "a top-level chunk's num_values is not the row count",
                ));
            }
            num_rows = Some(rows);
        }
        if any_target {
            scratch.fields.push(field);
        }
    }
    if !seen_columns {
        return Err(bad(group_start, "a row group without columns"));
    }
    if !any_target {
        let group = reader.field_since(0, thrift::STRUCT, group_start);
        w.out.extend_from_slice(group.raw);
        return Ok(());
    }
    w.begin_struct(None);
    for f in &scratch.fields {
        match f.id {
            1 if f.ty == thrift::LIST => {
                w.field_header(1, thrift::LIST);
                w.out.extend_from_slice(&scratch.columns);
            }
            2 if f.ty == thrift::I64 => {
                let total = f.i64().map_err(m)?.saturating_add(delta_uncompressed);
                w.i64_field(2, total);
            }
            6 if f.ty == thrift::I64 => {
                let total = f.i64().map_err(m)?.saturating_add(delta_compressed);
                w.i64_field(6, total);
            }
            4 if f.ty == thrift::LIST && sorts_by_leaves(f, leaves.len()).map_err(m)? => {
                if let Some(sorting) = known_list(f, &shape::SORTING_COLUMN).map_err(m)? {
                    w.field_header(4, thrift::LIST);
                    w.out.extend_from_slice(&sorting);
                }
            }
            // num_rows, file_offset, ordinal, of their types; none this reader does not know.
            3 | 5 | 7
                if shape::slot(&shape::ROW_GROUP, f.id).is_some_and(|s| s.kind.matches(f.ty)) =>
            {
                w.field(f)
            }
            _ => {}
        }
    }
    w.end_struct();
    Ok(())
}

/// One masked chunk's new `ColumnChunk` bytes, its change of compressed and uncompressed
/// size and its number of values (the row count: the column is top-level and not repeated); its span, page index and bloom filter recorded in `out`.
#[allow(clippy::too_many_arguments)]
fn masked_chunk(
    chunk: &Field<'_>,
    meta: &Field<'_>,
    target: &Target<'_>,
    row_group: usize,
    base: u64,
    tail: &Tail<'_>,
    out: &mut Rewrite,
) -> Result<(Vec<u8>, i64, i64, i64), Error> {
    let m = |e| malformed(base, e);
    let bad = |offset: usize, what| Error::Malformed {
        offset: base + offset as u64,
        what,
    };
    let column = target.column;
    let meta_fields = meta.fields().map_err(m)?.collect_all().map_err(m)?;
    let mut seen = 0u64;
    for f in &meta_fields {
        once(&mut seen, f.id, base + f.offset as u64)?;
    }
    let get = |id: i16| meta_fields.iter().find(|f| f.id == id);
    let require_i64 = |id: i16, what| -> Result<i64, Error> {
        get(id)
            .ok_or_else(|| bad(meta.offset, what))?
            .i64()
            .map_err(m)
    };
    let physical = get(1)
        .ok_or_else(|| bad(meta.offset, "a chunk without a type"))?
        .i32()
        .map_err(m)?;
    if physical != column.physical.thrift() {
        return Err(bad(meta.offset, "a chunk's type is not its column's"));
    }
    // path_in_schema is the column's name alone.
    let path = get(3).ok_or_else(|| bad(meta.offset, "a chunk without path_in_schema"))?;
    let (elem, len, mut reader) = path.list().map_err(m)?;
    let first = reader.binary().map_err(m)?;
    if elem != thrift::BINARY || len != 1 || first != column.name.as_bytes() {
        return Err(bad(
            path.offset,
            "a chunk's path_in_schema is not its column",
        ));
    }
    let rows = require_i64(5, "a chunk without num_values")?;
    let num_values = i32::try_from(rows).map_err(|_| Error::TooManyValues {
        column: column.name.clone(),
        row_group,
    })?;
    let uncompressed = require_i64(6, "a chunk without total_uncompressed_size")?;
    let compressed = require_i64(7, "a chunk without total_compressed_size")?;
    let data_offset = require_i64(9, "a chunk without data_page_offset")?;
    let dict_offset = match get(11) {
        Some(f) => Some(f.i64().map_err(m)?),
        None => None,
    };
    let start = match dict_offset {
        Some(d) if d < data_offset => d,
        _ => data_offset,
    };
    let (Ok(start), Ok(span)) = (u64::try_from(start), u64::try_from(compressed)) else {
        return Err(bad(meta.offset, "a chunk at a negative offset or size"));
    };
    let end = start
        .checked_add(span)
        .ok_or_else(|| bad(meta.offset, "a chunk's span overflows"))?;
    if start < 4 || end > base {
        return Err(bad(meta.offset, "a chunk's span is outside the data"));
    }
    let regenerated: Chunk = pages::regenerate(column, target.mask, num_values);
    let new_len = regenerated.bytes.len() as u64;
    if new_len > span {
        return Err(Error::ChunkTooSmall {
            column: column.name.clone(),
            row_group,
            needed: new_len,
            span,
        });
    }
    // The page index and bloom filter of this chunk: zeroed.
    let chunk_fields = chunk.fields().map_err(m)?.collect_all().map_err(m)?;
    let cget = |id: i16| chunk_fields.iter().find(|f| f.id == id);
    for (offset_id, len_id) in [(4, 5), (6, 7)] {
        if let Some(offset) = cget(offset_id) {
            let offset = offset.i64().map_err(m)?;
            let len = cget(len_id)
                .ok_or_else(|| bad(chunk.offset, "a page index without its length"))?
                .i32()
                .map_err(m)?;
            out.zeroed
                .push(span_in_data(offset, i64::from(len), base, chunk.offset)?);
        }
    }
    if let Some(offset) = get(14) {
        let offset = offset.i64().map_err(m)?;
        let len = match get(15) {
            Some(len) => i64::from(len.i32().map_err(m)?),
            None => bloom_len(offset, tail).ok_or_else(|| Error::BloomFilterLength {
                column: column.name.clone(),
            })?,
        };
        out.zeroed
            .push(span_in_data(offset, len, base, meta.offset)?);
    }
    if cget(1).is_some() {
        return Err(Error::ExternalChunk {
            column: column.name.clone(),
        });
    }
    // The new ColumnMetaData: what describes the values is dropped, unknown fields too.
    let new_len_i64 = i64::try_from(new_len).unwrap_or(i64::MAX);
    let mut w = Writer::default();
    w.begin_struct(None);
    for f in &chunk_fields {
        match (f.id, f.ty) {
            (2, thrift::I64) => w.field(f),
            (3, _) => {
                w.begin_struct(Some(3));
                for mf in &meta_fields {
                    match mf.id {
                        1 => w.i32_field(1, physical),
                        3 => {
                            w.field_header(3, thrift::LIST);
                            w.list_header(thrift::BINARY, 1);
                            w.varint(column.name.len() as u64);
                            w.out.extend_from_slice(column.name.as_bytes());
                        }
                        5 => w.i64_field(5, rows),
                        2 => w.i32_list_field(2, &regenerated.encodings),
                        4 => w.i32_field(4, 0),
                        6 | 7 => w.i64_field(mf.id, new_len_i64),
                        9 => {
                            if let Some(dict_len) = regenerated.dictionary_len {
                                w.i64_field(9, start as i64 + dict_len as i64);
                            } else {
                                w.i64_field(9, start as i64);
                            }
                        }
                        _ => {}
                    }
                }
                if regenerated.dictionary_len.is_some() {
                    w.i64_field(11, start as i64);
                }
                w.end_struct();
            }
            _ => {}
        }
    }
    w.end_struct();
    out.chunks.push(ChunkPlan {
        start,
        len: span,
        bytes: regenerated.bytes,
    });
    Ok((
        w.out,
        new_len_i64 - compressed,
        new_len_i64 - uncompressed,
        rows,
    ))
}

/// An unmasked `ColumnChunk` as a masked view's footer has it: without key-value metadata or
/// fields this reader does not know, and without its bloom filter's reference when
/// `drop_bloom` (its length unknown).
fn copied_chunk(chunk: &Field<'_>, drops: Drops) -> thrift::Result<Vec<u8>> {
    let mut w = Writer::default();
    w.begin_struct(None);
    let mut reader = chunk.reader();
    let mut last = 0;
    while let Some((id, ty)) = reader.field_header(&mut last)? {
        if (id, ty) != (3, thrift::STRUCT) {
            match shape::slot(&shape::COLUMN_CHUNK, id) {
                Some(slot) => shape::copy_conforming(&mut reader, id, ty, &slot.kind, &mut w)?,
                None => reader.skip(ty)?,
            }
            continue;
        }
        w.begin_struct(Some(3));
        let mut meta_last = 0;
        while let Some((id, ty)) = reader.field_header(&mut meta_last)? {
            match shape::slot(&shape::COLUMN_META_DATA, id) {
                Some(_) if drops.bloom && (id == 14 || id == 15) => reader.skip(ty)?,
                Some(_) if drops.sizes && id == 16 => reader.skip(ty)?,
                Some(_) if drops.statistics && id == 12 => reader.skip(ty)?,
                Some(_) if drops.geospatial && id == 17 => reader.skip(ty)?,
                Some(slot) => shape::copy_conforming(&mut reader, id, ty, &slot.kind, &mut w)?,
                None => reader.skip(ty)?,
            }
        }
        w.end_struct();
    }
    w.end_struct();
    Ok(w.out)
}

/// What the footer says of an unmasked chunk's spans: its pages
/// (`[min(dictionary, data page offset), + total_compressed_size)`), page index and bloom filter.
#[derive(Default)]
struct KeptSpans<'a> {
    /// `file_path`: the chunk is in another file, and so are its offsets.
    external: bool,
    /// Fields a masked view does not copy: key-value metadata, fields this reader does not
    /// know (what they hold is unknown).
    extra: bool,
    /// `path_in_schema`, its Thrift list's bytes.
    path: Option<&'a [u8]>,
    offset_index: (Option<i64>, Option<i64>),
    column_index: (Option<i64>, Option<i64>),
    compressed: Option<i64>,
    data: Option<i64>,
    dictionary: Option<i64>,
    bloom: Option<i64>,
    bloom_length: Option<i64>,
    num_values: Option<i64>,
    /// `size_statistics`' repetition and definition level histograms.
    histograms: Histograms,
    /// The longest of the statistics' min and max values.
    widest_statistic: usize,
    /// Whether it has geospatial statistics.
    geospatial: bool,
}

/// What a masked view leaves out of an unmasked chunk's metadata, that a reader would not take
/// as the writer meant it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Drops {
    /// A bloom filter of unknown length.
    bloom: bool,
    /// Size statistics whose histograms do not count the chunk's values, one count per level.
    sizes: bool,
    /// Statistics longer than the column's fixed-width values.
    statistics: bool,
    /// Geospatial statistics of a column that holds no geometries.
    geospatial: bool,
}

impl Drops {
    fn any(self) -> bool {
        self != Drops::default()
    }
}

impl<'a> KeptSpans<'a> {
    /// Reads (or skips) one `ColumnChunk` field's value at `reader`.
    fn read_chunk_field(&mut self, reader: &mut Reader<'a>, id: i16, ty: u8) -> thrift::Result<()> {
        match (id, ty) {
            (1, thrift::BINARY) => {
                self.external = true;
                reader.skip(ty)
            }
            (3, thrift::STRUCT) => {
                let mut last = 0;
                let mut seen = 0u64;
                while let Some((id, ty)) = reader.field_header(&mut last)? {
                    if once(&mut seen, id, 0).is_err() {
                        return Err(ThriftError {
                            offset: reader.offset(),
                            what: "a repeated field",
                        });
                    }
                    match (id, ty) {
                        (3, thrift::LIST) => {
                            let start = reader.position();
                            reader.skip(ty)?;
                            self.path = Some(reader.field_since(id, ty, start).raw);
                        }
                        (7, thrift::I64) => self.compressed = Some(reader.i64()?),
                        (9, thrift::I64) => self.data = Some(reader.i64()?),
                        (11, thrift::I64) => self.dictionary = Some(reader.i64()?),
                        (14, thrift::I64) => self.bloom = Some(reader.i64()?),
                        (15, thrift::I32) => self.bloom_length = Some(reader.i32()?.into()),
                        (5, thrift::I64) => self.num_values = Some(reader.i64()?),
                        (12, thrift::STRUCT) => {
                            let (conforms, widest) = statistics(reader)?;
                            self.extra |= !conforms;
                            self.widest_statistic = widest;
                        }
                        (16, thrift::STRUCT) => {
                            self.histograms = size_statistics(reader)?;
                            self.extra |= !self.histograms.conforms;
                        }
                        (17, ty) => {
                            self.geospatial = true;
                            let slots = &shape::COLUMN_META_DATA;
                            self.extra |= !shape::skip_field_conforming(reader, slots, 17, ty)?
                        }
                        // What does not conform (key_value_metadata among it) is not copied.
                        (id, ty) => {
                            let slots = &shape::COLUMN_META_DATA;
                            self.extra |= !shape::skip_field_conforming(reader, slots, id, ty)?
                        }
                    }
                }
                Ok(())
            }
            (4, thrift::I64) => {
                self.offset_index.0 = Some(reader.i64()?);
                Ok(())
            }
            (5, thrift::I32) => {
                self.offset_index.1 = Some(reader.i32()?.into());
                Ok(())
            }
            (6, thrift::I64) => {
                self.column_index.0 = Some(reader.i64()?);
                Ok(())
            }
            (7, thrift::I32) => {
                self.column_index.1 = Some(reader.i32()?.into());
                Ok(())
            }
            (id, ty) => {
                self.extra |= !shape::skip_field_conforming(reader, &shape::COLUMN_CHUNK, id, ty)?;
                Ok(())
            }
        }
    }

    /// The spans, pushed to `kept`. What lies outside the data (`4..data_end`) is left out:
    /// that only widens the gaps zeroed around masked spans, never what is served clear.
    /// Whether the chunk has a bloom filter whose length neither the footer nor the tail read
    /// gives: its span is unknown, so a masked view drops the reference to it.
    /// Whether a level histogram does not count the chunk's values (each value has one level
    /// of each kind): its entries are then numbers that say nothing a reader needs, and a masked
    /// view drops the chunk's `size_statistics`.
    /// So too when a histogram has other than one count per level (0 to the leaf's maximum).
    fn sizes_uncounted(&self, leaf: &Leaf) -> bool {
        let Histograms { sums, lens, .. } = &self.histograms;
        sums.iter()
            .flatten()
            .any(|&sum| Some(sum) != self.num_values)
            || lens
                .iter()
                .zip(leaf.max_levels)
                .any(|(&len, max)| len != 0 && len != max + 1)
    }

    /// What the view leaves out of this chunk of `leaf`.
    fn drops(&self, leaf: &Leaf, tail: &Tail<'_>) -> Drops {
        Drops {
            bloom: self.bloom_unknown(tail),
            sizes: self.sizes_uncounted(leaf),
            statistics: leaf
                .stat_width
                .is_some_and(|width| self.widest_statistic > width),
            geospatial: self.geospatial && !leaf.geospatial,
        }
    }

    fn bloom_unknown(&self, tail: &Tail<'_>) -> bool {
        self.bloom
            .is_some_and(|offset| self.bloom_length.is_none() && bloom_len(offset, tail).is_none())
    }

    fn push_to(self, data_end: u64, tail: &Tail<'_>, kept: &mut KeptRuns) {
        if self.external {
            return;
        }
        let push = |run: &mut Vec<(u64, u64)>, offset: Option<i64>, len: Option<i64>| {
            if let (Some(offset), Some(len)) = (offset, len) {
                if let Ok(span) = span_in_data(offset, len, data_end, 0) {
                    run.push(span);
                }
            }
        };
        let [pages, offset_indexes, column_indexes, blooms] = kept;
        push(offset_indexes, self.offset_index.0, self.offset_index.1);
        push(column_indexes, self.column_index.0, self.column_index.1);
        // Some writers put 0 here for a chunk without a dictionary.
        let dictionary = self.dictionary.filter(|&d| d >= MAGIC.len() as i64);
        let start = match (dictionary, self.data) {
            (Some(d), Some(p)) => Some(d.min(p)),
            (d, p) => d.or(p),
        };
        push(pages, start, self.compressed);
        if let Some(offset) = self.bloom {
            // Without a known length the reference is dropped (`bloom_unknown`) and the bytes
            // are nobody's.
            push(
                blooms,
                Some(offset),
                self.bloom_length.or_else(|| bloom_len(offset, tail)),
            );
        }
    }
}

/// The key-value metadata (`FileMetaData` field 5) a masked view keeps: `ARROW:schema` when
/// it has no custom metadata and agrees with the Parquet `schema`'s names and field ids
/// ([`super::arrow_schema::keepable`]), GeoParquet's `geo` written
/// again when it reads strictly and names no masked column ([`super::geo::canonical`]),
/// nothing else (a writer may put values there: Hudi's min and max record keys). `None` when
/// nothing is kept.
fn kept_key_values(
    list: &Field<'_>,
    schema: Option<&Field<'_>>,
    leaves: &[Leaf],
    targets: &[Option<Target<'_>>],
) -> thrift::Result<Option<Vec<u8>>> {
    let context = arrow_context(schema, leaves, targets)?;
    let (elem, count, mut reader) = list.list()?;
    let mut kept = Vec::new();
    let mut geo: Option<Vec<u8>> = None;
    let mut geo_seen = false;
    for _ in 0..count {
        let element = reader.struct_element()?;
        let (mut key, mut value) = (None, None);
        for f in element.fields()? {
            let f = f?;
            match (f.id, f.ty) {
                (1, thrift::BINARY) => key = Some(f),
                (2, thrift::BINARY) => value = Some(f),
                _ => {}
            }
        }
        if let (Some(key), Some(value)) = (key, value) {
            let arrow = key.binary()? == b"ARROW:schema";
            let value_bytes = value.binary()?;
            if arrow
                && context
                    .as_ref()
                    .is_some_and(|c| super::arrow_schema::keepable(value_bytes, c))
            {
                kept.push((key, value));
            } else if key.binary()? == b"geo" {
                // Two entries: which one a reader takes is its own choice, so neither is kept.
                geo = if geo_seen {
                    None
                } else {
                    let masked: Vec<&[u8]> = targets
                        .iter()
                        .flatten()
                        .map(|t| t.column.name.as_bytes())
                        .collect();
                    top_level_names(leaves)
                        .and_then(|top| super::geo::canonical(value.binary().ok()?, &top, &masked))
                };
                geo_seen = true;
            }
        }
    }
    let len = kept.len() + usize::from(geo.is_some());
    if len == 0 || elem != thrift::STRUCT {
        return Ok(None);
    }
    let mut w = Writer::default();
    w.list_header(elem, len);
    for (key, value) in &kept {
        w.begin_struct(None);
        w.field(key);
        w.field(value);
        w.end_struct();
    }
    if let Some(geo) = &geo {
        w.begin_struct(None);
        w.field_header(1, thrift::BINARY);
        w.varint(3);
        w.out.extend_from_slice(b"geo");
        w.field_header(2, thrift::BINARY);
        w.varint(geo.len() as u64);
        w.out.extend_from_slice(geo);
        w.end_struct();
    }
    Ok(Some(w.out))
}

/// What `ARROW:schema` is held to: the schema's top-level names in order, every name on a
/// leaf's path, every field id, the masked columns' names and ids. `None` (no ARROW:schema
/// kept) when the schema or a path does not read.
fn arrow_context<'a>(
    schema: Option<&Field<'_>>,
    leaves: &'a [Leaf],
    targets: &[Option<Target<'a>>],
) -> thrift::Result<Option<super::arrow_schema::Context<'a>>> {
    let Some(schema) = schema else {
        return Ok(None);
    };
    let Some(top) = top_level_leaves(leaves) else {
        return Ok(None);
    };
    let top_flat = top.iter().map(|&(_, _, flat)| flat).collect();
    let (top, top_leaves) = top.into_iter().map(|(name, n, _)| (name, n)).unzip();
    let mut names = std::collections::HashSet::new();
    for leaf in leaves {
        let mut reader = Reader::new(&leaf.path);
        let (_, count) = reader.list_header()?;
        for _ in 0..count {
            names.insert(reader.binary()?);
        }
    }
    let masked = targets
        .iter()
        .flatten()
        .map(|t| (t.column.name.as_bytes(), t.column.field_id))
        .collect();
    Ok(Some(super::arrow_schema::Context {
        top,
        top_leaves,
        top_ids: top_level_ids(schema)?,
        top_flat,
        names,
        ids: field_ids(schema)?,
        masked,
    }))
}

/// The schema's top-level names: each leaf path's first part, in order, once. `None` when a
/// path does not read.
fn top_level_names(leaves: &[Leaf]) -> Option<Vec<&[u8]>> {
    Some(
        top_level_leaves(leaves)?
            .into_iter()
            .map(|(name, ..)| name)
            .collect(),
    )
}

/// The schema's top-level names, in order, each with its number of leaves and whether it is a
/// primitive leaf itself.
fn top_level_leaves(leaves: &[Leaf]) -> Option<Vec<(&[u8], usize, bool)>> {
    let mut top: Vec<(&[u8], usize, bool)> = Vec::new();
    for leaf in leaves {
        let mut reader = Reader::new(&leaf.path);
        let (_, depth) = reader.list_header().ok()?;
        let first = reader.binary().ok()?;
        match top.last_mut() {
            Some((name, count, flat)) if *name == first => {
                *count += 1;
                *flat = false;
            }
            _ => top.push((first, 1, depth == 1)),
        }
    }
    Some(top)
}

/// Each top-level element's field id, in order (the tree already checked by [`schema`]).
fn top_level_ids(schema: &Field<'_>) -> thrift::Result<Vec<Option<i32>>> {
    let (_, count, mut reader) = schema.list()?;
    let mut ids = Vec::new();
    // Children left to read in each open group, the root's first.
    let mut open: Vec<usize> = Vec::new();
    for index in 0..count {
        let element = reader.struct_element()?;
        let (mut id, mut children) = (None, 0);
        for f in element.fields()? {
            let f = f?;
            match (f.id, f.ty) {
                (9, thrift::I32) => id = Some(f.i32()?),
                (5, thrift::I32) => children = usize::try_from(f.i32()?).unwrap_or(0),
                _ => {}
            }
        }
        if index > 0 {
            if open.len() == 1 {
                ids.push(id);
            }
            if let Some(left) = open.last_mut() {
                *left = left.saturating_sub(1);
            }
        }
        if children > 0 {
            open.push(children);
        }
        while open.len() > 1 && open.last() == Some(&0) {
            open.pop();
        }
    }
    Ok(ids)
}

/// A list of structs again (list header and elements), each with only the fields of `slots`
/// that conform ([`shape::copy_struct`]): the schema, a row group's `sorting_columns`. `None`
/// when the elements are not structs.
fn known_list(list: &Field<'_>, slots: &'static [shape::Slot]) -> thrift::Result<Option<Vec<u8>>> {
    let (elem, count, mut reader) = list.list()?;
    if elem != thrift::STRUCT || list.ty != thrift::LIST {
        return Ok(None);
    }
    let mut w = Writer::default();
    w.list_header(elem, count);
    for _ in 0..count {
        w.begin_struct(None);
        shape::copy_struct(&mut reader, slots, &mut w)?;
        w.end_struct();
    }
    Ok(Some(w.out))
}

/// Whether `sorting_columns` names leaves of the schema (of `leaves`), each once: else its
/// column indexes are numbers no reader can use, and the view drops them.
fn sorts_by_leaves(list: &Field<'_>, leaves: usize) -> thrift::Result<bool> {
    let (elem, count, mut reader) = list.list()?;
    if elem != thrift::STRUCT || count > leaves {
        return Ok(false);
    }
    let mut named = vec![false; leaves];
    for _ in 0..count {
        let mut column = None;
        for f in reader.struct_element()?.fields()? {
            let f = f?;
            if (f.id, f.ty) == (1, thrift::I32) {
                column = usize::try_from(f.i32()?).ok();
            }
        }
        match column.and_then(|c| named.get_mut(c)) {
            Some(seen) if !*seen => *seen = true,
            _ => return Ok(false),
        }
    }
    Ok(true)
}

/// The schema list again: the root with its repetition, number of children and name alone
/// (readers take nothing else from it, and nothing from its name: a name that does not read as
/// an identifier, `spark_schema` or `duckdb_schema`, is written as `schema`), every other element
/// through its shape.
/// parquet.thrift's `ConvertedType` DECIMAL.
const CONVERTED_DECIMAL: i32 = 5;

fn known_schema(schema: &Field<'_>) -> thrift::Result<Vec<u8>> {
    let (elem, count, mut reader) = schema.list()?;
    let mut w = Writer::default();
    w.list_header(elem, count);
    for index in 0..count {
        if index > 0 {
            // `type_length` of other types than FIXED_LEN_BYTE_ARRAY, `scale` and `precision`
            // without the converted type DECIMAL are numbers no reader takes: left out.
            let element = reader.struct_element()?;
            let (mut fixed, mut decimal) = (false, false);
            for f in element.fields()? {
                let f = f?;
                match (f.id, f.ty) {
                    (1, thrift::I32) => fixed = f.i32()? == Physical::FixedLenByteArray.thrift(),
                    (6, thrift::I32) => decimal = f.i32()? == CONVERTED_DECIMAL,
                    _ => {}
                }
            }
            let left_out = |id| (id == 2 && !fixed) || (matches!(id, 7 | 8) && !decimal);
            w.begin_struct(None);
            let mut fields = element.reader();
            shape::copy_struct_except(&mut fields, &shape::SCHEMA_ELEMENT, &mut w, left_out)?;
            w.end_struct();
            continue;
        }
        let root = reader.struct_element()?;
        w.begin_struct(None);
        for f in root.fields()? {
            let f = f?;
            match (f.id, f.ty) {
                (3 | 5, thrift::I32) => w.field(&f),
                (4, thrift::BINARY) => {
                    let name = f.binary()?;
                    let identifier = name.len() <= 64
                        && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_');
                    let name: &[u8] = if identifier { name } else { b"schema" };
                    w.field_header(4, thrift::BINARY);
                    w.varint(name.len() as u64);
                    w.out.extend_from_slice(name);
                }
                _ => {}
            }
        }
        w.end_struct();
    }
    Ok(w.out)
}

/// `column_orders` (`FileMetaData` field 7) again: each entry the type-defined order (the
/// union's one variant, an empty struct). `None` when an entry is not that: the field is then
/// left out (readers take no order from it, and an empty union is refused by some, polars).
fn known_column_orders(list: &Field<'_>) -> thrift::Result<Option<Vec<u8>>> {
    let (elem, count, mut reader) = list.list()?;
    for _ in 0..count {
        let element = reader.struct_element()?;
        let mut fields = element.fields()?;
        let type_defined = matches!(fields.next(), Some(Ok(f)) if f.id == 1 && f.ty == thrift::STRUCT)
            && fields.next().is_none();
        if !type_defined {
            return Ok(None);
        }
    }
    let mut w = Writer::default();
    w.list_header(elem, count);
    for _ in 0..count {
        w.begin_struct(None);
        w.begin_struct(Some(1));
        w.end_struct();
        w.end_struct();
    }
    Ok(Some(w.out))
}

/// Every schema element's `field_id` (`FileMetaData` field 2), in order.
pub fn field_ids(schema: &Field<'_>) -> thrift::Result<Vec<i32>> {
    let (_, count, mut reader) = schema.list()?;
    let mut ids = Vec::new();
    for _ in 0..count {
        let element = reader.struct_element()?;
        for f in element.fields()? {
            let f = f?;
            if f.id == 9 && f.ty == thrift::I32 {
                ids.push(f.i32()?);
            }
        }
    }
    Ok(ids)
}

/// Whether `created_by` reads as a writer's name, version and build (`parquet-cpp-arrow version
/// 21.0.0`, `DuckDB version v1.1.3 (build 19864453f7)`): what readers need of it to decide which
/// statistics to trust. Other text is not kept in a masked view (an `@` or a long text could be
/// a masked value; readers take a file without `created_by` for an unknown writer's).
fn reads_as_a_writer(created_by: &[u8]) -> bool {
    created_by.len() <= 128
        && created_by
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b" ._+-()".contains(&b))
}

/// Whether `created_by` names a writer whose `total_compressed_size` misses bytes of the chunk
/// (parquet-mr up to 1.2.8, PARQUET-816): a masked span would leave the chunk's last bytes in
/// clear.
fn short_chunk_sizes(created_by: &[u8]) -> bool {
    let Some(rest) = created_by.strip_prefix(b"parquet-mr version ") else {
        return false;
    };
    let version: Vec<u32> = rest
        .split(|&b| b == b' ')
        .next()
        .unwrap_or_default()
        .split(|&b| b == b'.')
        .take(3)
        .map(|part| {
            let digits: Vec<u8> = part
                .iter()
                .copied()
                .take_while(u8::is_ascii_digit)
                .collect();
            std::str::from_utf8(&digits)
                .ok()
                .and_then(|d| d.parse().ok())
                .unwrap_or(0)
        })
        .collect();
    let key = (
        version.first().copied().unwrap_or(0),
        version.get(1).copied().unwrap_or(0),
        version.get(2).copied().unwrap_or(0),
    );
    key < (1, 2, 9)
}

/// Marks field `id` seen in `seen` (ids 0 to 63, the ones parquet.thrift defines); an error if
/// it was already: Thrift readers keep the last of repeated fields, so a second `row_groups`
/// or `meta_data` could carry what the first one's rewrite removed.
fn once(seen: &mut u64, id: i16, offset: u64) -> Result<(), Error> {
    let Ok(bit) = u32::try_from(id) else {
        return Ok(());
    };
    if bit >= 64 {
        return Ok(());
    }
    if *seen & (1 << bit) != 0 {
        return Err(Error::Malformed {
            offset,
            what: "a repeated field",
        });
    }
    *seen |= 1 << bit;
    Ok(())
}

/// `[offset, offset + len)` checked to lie in the data (after the leading magic, before the
/// footer).
fn span_in_data(offset: i64, len: i64, data_end: u64, at: usize) -> Result<(u64, u64), Error> {
    let bad = |what| Error::Malformed {
        offset: data_end + at as u64,
        what,
    };
    let (Ok(offset), Ok(len)) = (u64::try_from(offset), u64::try_from(len)) else {
        return Err(bad("a negative page index or bloom filter span"));
    };
    let end = offset
        .checked_add(len)
        .ok_or_else(|| bad("a page index or bloom filter span overflows"))?;
    if offset < 4 || end > data_end {
        return Err(bad("a page index or bloom filter span is outside the data"));
    }
    Ok((offset, len))
}

/// A `SizeStatistics`' level histograms, repetition (2) then definition (3).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Histograms {
    /// Whether the struct conforms to `shape::SIZE_STATISTICS`.
    conforms: bool,
    /// Each histogram's sum, where present as a non-empty list of i64.
    sums: [Option<i64>; 2],
    /// Each histogram's length (0 where absent).
    lens: [usize; 2],
}

/// Walks the `SizeStatistics` at `reader` (after its opening) in one pass. Counts must be none
/// negative (a negative one could balance others that spell a text): a negative one makes the
/// sum `i64::MIN`. An empty histogram (a level that is always 0, as writers write it) counts
/// nothing.
fn size_statistics(reader: &mut Reader<'_>) -> thrift::Result<Histograms> {
    let mut conforms = true;
    let mut sums = [None, None];
    let mut lens = [0, 0];
    let mut last = 0;
    let mut seen = 0u64;
    while let Some((id, ty)) = reader.field_header(&mut last)? {
        if once(&mut seen, id, 0).is_err() {
            return Err(ThriftError {
                offset: reader.offset(),
                what: "a repeated field",
            });
        }
        match (id, ty) {
            (1, thrift::I64) => {
                reader.i64()?;
            }
            (2 | 3, thrift::LIST) => {
                let (elem, len) = reader.list_header()?;
                if elem != thrift::I64 {
                    conforms = false;
                    for _ in 0..len {
                        reader.skip_element(elem)?;
                    }
                    continue;
                }
                let mut sum = 0i64;
                for _ in 0..len {
                    let count = reader.i64()?;
                    sum = if count < 0 || sum < 0 {
                        i64::MIN
                    } else {
                        sum.saturating_add(count)
                    };
                }
                let ([rep_sum, def_sum], [rep_len, def_len]) = (&mut sums, &mut lens);
                let (sum_slot, len_slot) = if id == 2 {
                    (rep_sum, rep_len)
                } else {
                    (def_sum, def_len)
                };
                *len_slot = len;
                if len > 0 {
                    *sum_slot = Some(sum);
                }
            }
            _ => {
                conforms = false;
                reader.skip(ty)?;
            }
        }
    }
    Ok(Histograms {
        conforms,
        sums,
        lens,
    })
}

/// Walks the `Statistics` at `reader` (after its opening): whether it conforms to
/// `shape::STATISTICS`, and the length of its longest min or max value.
fn statistics(reader: &mut Reader<'_>) -> thrift::Result<(bool, usize)> {
    let mut conforms = true;
    let mut widest = 0;
    let mut last = 0;
    let mut seen = 0u64;
    while let Some((id, ty)) = reader.field_header(&mut last)? {
        if once(&mut seen, id, 0).is_err() {
            return Err(ThriftError {
                offset: reader.offset(),
                what: "a repeated field",
            });
        }
        if matches!(id, 1 | 2 | 5 | 6) && ty == thrift::BINARY {
            widest = widest.max(reader.binary()?.len());
        } else {
            conforms &= shape::skip_field_conforming(reader, &shape::STATISTICS, id, ty)?;
        }
    }
    Ok((conforms, widest))
}

/// The length of a bloom filter (its Thrift header and bitset) at `offset`, when the tail holds
/// its header.
fn bloom_len(offset: i64, tail: &Tail<'_>) -> Option<i64> {
    let offset = u64::try_from(offset).ok()?;
    let end = tail.start.checked_add(tail.bytes.len() as u64)?;
    let available = usize::try_from(end.checked_sub(offset)?).ok()?;
    let header = tail.get(offset, available.min(64))?;
    let mut fields = Reader::new(header).fields();
    let mut num_bytes = None;
    for f in fields.by_ref() {
        let f = f.ok()?;
        if f.id == 1 {
            num_bytes = Some(f.i32().ok()?);
        }
    }
    let header_len = i64::try_from(fields.position()).ok()?;
    Some(header_len + i64::from(num_bytes?))
}
