//! The footer structs of parquet-format's `parquet.thrift` as typed shapes, and the two walks a
//! masked view makes with them: whether a value conforms (every field of every struct in it
//! named by its shape, with the shape's type, once), and a copy that keeps only what conforms.
//!
//! Thrift readers skip a field whose id they do not know, and a known id under another type,
//! alike: either is free text to a reader and a place a writer may hide a masked value in. A
//! masked view's footer therefore holds only fields it can type, rebuilt from the shapes;
//! what they leave out is dropped, never copied.

use super::thrift::{self, Reader, ThriftError, Writer};

/// The type a field (or a list's element) must have.
#[derive(Debug)]
pub enum Kind {
    Bool,
    Byte,
    I16,
    I32,
    I64,
    Double,
    Binary,
    /// An i32 of an enumeration.
    Enum(Values),
    Struct(&'static [Slot]),
    /// A union: a struct with exactly one of its fields.
    Union(&'static [Slot]),
    List(&'static Kind),
}

/// The enumerations a shape types.
#[derive(Debug, Clone, Copy)]
pub enum Values {
    /// parquet.thrift's `Encoding` values (PLAIN to BYTE_STREAM_SPLIT).
    Encoding,
    /// ISO WKB geometry type codes: 1 to 7, plus 1000 (Z), 2000 (M) or 3000 (ZM).
    GeometryType,
    /// parquet.thrift's `PageType` values (DATA_PAGE to DATA_PAGE_V2).
    PageType,
}

impl Values {
    #[inline]
    fn holds(self, value: i64) -> bool {
        match self {
            Values::Encoding => (0..=9).contains(&value),
            Values::PageType => (0..=3).contains(&value),
            Values::GeometryType => {
                (1..=7).contains(&(value % 1000)) && (0..=3).contains(&(value / 1000))
            }
        }
    }
}

/// A struct's field: its id and kind, and the compact type its kind has (a bool's as `TRUE`)
/// and whether its type alone checks it, read once when the shapes are built: the walk's hot
/// loop compares bytes instead of branching on kinds.
#[derive(Debug)]
pub struct Slot {
    pub id: i16,
    pub kind: Kind,
    ty: u8,
    scalar: bool,
}

impl Slot {
    /// Whether a field of compact type `ty` is of this slot's kind.
    #[inline]
    pub fn holds(&self, ty: u8) -> bool {
        self.ty == as_field_type(ty)
    }
}

/// A field's compact type with a bool's value taken out of it.
#[inline]
fn as_field_type(ty: u8) -> u8 {
    if ty == thrift::FALSE {
        thrift::TRUE
    } else {
        ty
    }
}

impl Kind {
    /// The compact type of a field of this kind (bools as `TRUE`).
    const fn compact_type(&self) -> u8 {
        match self {
            Kind::Bool => thrift::TRUE,
            Kind::Byte => thrift::BYTE,
            Kind::I16 => thrift::I16,
            Kind::I32 | Kind::Enum(_) => thrift::I32,
            Kind::I64 => thrift::I64,
            Kind::Double => thrift::DOUBLE,
            Kind::Binary => thrift::BINARY,
            Kind::Struct(_) | Kind::Union(_) => thrift::STRUCT,
            Kind::List(_) => thrift::LIST,
        }
    }

    /// Whether values of this kind are checked by their type alone.
    const fn is_scalar(&self) -> bool {
        !matches!(
            self,
            Kind::Enum(_) | Kind::Struct(_) | Kind::Union(_) | Kind::List(_)
        )
    }

    /// Whether a value of compact type `ty` is of this kind (a field's type: a bool's carries
    /// its value).
    #[inline]
    pub fn matches(&self, ty: u8) -> bool {
        self.compact_type() == as_field_type(ty)
    }

    /// Whether a list's element type `elem` is of this kind (no shape has a list of bools).
    #[inline]
    fn matches_element(&self, elem: u8) -> bool {
        elem != thrift::TRUE && elem != thrift::FALSE && self.compact_type() == elem
    }
}

/// The slot of field `id` in `slots`, which are sorted by id (most shapes number their fields
/// from 1 without gaps: the `id - 1`th slot first).
pub fn slot(slots: &'static [Slot], id: i16) -> Option<&'static Slot> {
    let direct = usize::try_from(id)
        .ok()
        .and_then(|id| slots.get(id.checked_sub(1)?))
        .filter(|s| s.id == id);
    direct.or_else(|| {
        slots
            .binary_search_by_key(&id, |s| s.id)
            .ok()
            .and_then(|i| slots.get(i))
    })
}

const fn s(id: i16, kind: Kind) -> Slot {
    let ty = kind.compact_type();
    let scalar = kind.is_scalar();
    Slot {
        id,
        kind,
        ty,
        scalar,
    }
}

const EMPTY: &[Slot] = &[];

pub static STATISTICS: [Slot; 8] = [
    s(1, Kind::Binary), // max
    s(2, Kind::Binary), // min
    s(3, Kind::I64),    // null_count
    s(4, Kind::I64),    // distinct_count
    s(5, Kind::Binary), // max_value
    s(6, Kind::Binary), // min_value
    s(7, Kind::Bool),   // is_max_value_exact
    s(8, Kind::Bool),   // is_min_value_exact
];

pub static PAGE_ENCODING_STATS: [Slot; 3] = [
    s(1, Kind::Enum(Values::PageType)), // page_type
    s(2, Kind::Enum(Values::Encoding)), // encoding
    s(3, Kind::I32),                    // count
];

pub static SIZE_STATISTICS: [Slot; 3] = [
    s(1, Kind::I64),              // unencoded_byte_array_data_bytes
    s(2, Kind::List(&Kind::I64)), // repetition_level_histogram
    s(3, Kind::List(&Kind::I64)), // definition_level_histogram
];

pub static BOUNDING_BOX: [Slot; 8] = [
    s(1, Kind::Double), // xmin
    s(2, Kind::Double), // xmax
    s(3, Kind::Double), // ymin
    s(4, Kind::Double), // ymax
    s(5, Kind::Double), // zmin
    s(6, Kind::Double), // zmax
    s(7, Kind::Double), // mmin
    s(8, Kind::Double), // mmax
];

pub static GEOSPATIAL_STATISTICS: [Slot; 2] = [
    s(1, Kind::Struct(&BOUNDING_BOX)),                   // bbox
    s(2, Kind::List(&Kind::Enum(Values::GeometryType))), // geospatial_types
];

/// `ColumnMetaData`, without `key_value_metadata` (8): a writer's free text.
pub static COLUMN_META_DATA: [Slot; 16] = [
    s(1, Kind::I32),                                        // type
    s(2, Kind::List(&Kind::Enum(Values::Encoding))),        // encodings
    s(3, Kind::List(&Kind::Binary)),                        // path_in_schema
    s(4, Kind::I32),                                        // codec
    s(5, Kind::I64),                                        // num_values
    s(6, Kind::I64),                                        // total_uncompressed_size
    s(7, Kind::I64),                                        // total_compressed_size
    s(9, Kind::I64),                                        // data_page_offset
    s(10, Kind::I64),                                       // index_page_offset
    s(11, Kind::I64),                                       // dictionary_page_offset
    s(12, Kind::Struct(&STATISTICS)),                       // statistics
    s(13, Kind::List(&Kind::Struct(&PAGE_ENCODING_STATS))), // encoding_stats
    s(14, Kind::I64),                                       // bloom_filter_offset
    s(15, Kind::I32),                                       // bloom_filter_length
    s(16, Kind::Struct(&SIZE_STATISTICS)),                  // size_statistics
    s(17, Kind::Struct(&GEOSPATIAL_STATISTICS)),            // geospatial_statistics
];

/// `ColumnChunk`, without the encryption fields (8, 9: refused before).
pub static COLUMN_CHUNK: [Slot; 7] = [
    s(1, Kind::Binary),                    // file_path
    s(2, Kind::I64),                       // file_offset
    s(3, Kind::Struct(&COLUMN_META_DATA)), // meta_data
    s(4, Kind::I64),                       // offset_index_offset
    s(5, Kind::I32),                       // offset_index_length
    s(6, Kind::I64),                       // column_index_offset
    s(7, Kind::I32),                       // column_index_length
];

pub static SORTING_COLUMN: [Slot; 3] = [
    s(1, Kind::I32),  // column_idx
    s(2, Kind::Bool), // descending
    s(3, Kind::Bool), // nulls_first
];

/// `RowGroup`'s scalar fields (its columns are rewritten by the footer walk itself).
pub static ROW_GROUP: [Slot; 6] = [
    s(2, Kind::I64),                                  // total_byte_size
    s(3, Kind::I64),                                  // num_rows
    s(4, Kind::List(&Kind::Struct(&SORTING_COLUMN))), // sorting_columns
    s(5, Kind::I64),                                  // file_offset
    s(6, Kind::I64),                                  // total_compressed_size
    s(7, Kind::I16),                                  // ordinal
];

static DECIMAL: [Slot; 2] = [s(1, Kind::I32), s(2, Kind::I32)]; // scale, precision
static TIME_UNIT: [Slot; 3] = [
    s(1, Kind::Struct(EMPTY)), // MILLIS
    s(2, Kind::Struct(EMPTY)), // MICROS
    s(3, Kind::Struct(EMPTY)), // NANOS
];
/// `TimeType` and `TimestampType`: isAdjustedToUTC, unit.
static TIME: [Slot; 2] = [s(1, Kind::Bool), s(2, Kind::Union(&TIME_UNIT))];
static INTEGER: [Slot; 2] = [s(1, Kind::Byte), s(2, Kind::Bool)]; // bitWidth, isSigned
static VARIANT: [Slot; 1] = [s(1, Kind::Byte)]; // specification_version
static GEOMETRY: [Slot; 1] = [s(1, Kind::Binary)]; // crs
static GEOGRAPHY: [Slot; 2] = [s(1, Kind::Binary), s(2, Kind::I32)]; // crs, algorithm

/// The `LogicalType` union; its empty variants keep no field.
pub static LOGICAL_TYPE: [Slot; 17] = [
    s(1, Kind::Struct(EMPTY)),       // STRING
    s(2, Kind::Struct(EMPTY)),       // MAP
    s(3, Kind::Struct(EMPTY)),       // LIST
    s(4, Kind::Struct(EMPTY)),       // ENUM
    s(5, Kind::Struct(&DECIMAL)),    // DECIMAL
    s(6, Kind::Struct(EMPTY)),       // DATE
    s(7, Kind::Struct(&TIME)),       // TIME
    s(8, Kind::Struct(&TIME)),       // TIMESTAMP
    s(10, Kind::Struct(&INTEGER)),   // INTEGER
    s(11, Kind::Struct(EMPTY)),      // UNKNOWN
    s(12, Kind::Struct(EMPTY)),      // JSON
    s(13, Kind::Struct(EMPTY)),      // BSON
    s(14, Kind::Struct(EMPTY)),      // UUID
    s(15, Kind::Struct(EMPTY)),      // FLOAT16
    s(16, Kind::Struct(&VARIANT)),   // VARIANT
    s(17, Kind::Struct(&GEOMETRY)),  // GEOMETRY
    s(18, Kind::Struct(&GEOGRAPHY)), // GEOGRAPHY
];

pub static SCHEMA_ELEMENT: [Slot; 10] = [
    s(1, Kind::I32),                   // type
    s(2, Kind::I32),                   // type_length
    s(3, Kind::I32),                   // repetition_type
    s(4, Kind::Binary),                // name
    s(5, Kind::I32),                   // num_children
    s(6, Kind::I32),                   // converted_type
    s(7, Kind::I32),                   // scale
    s(8, Kind::I32),                   // precision
    s(9, Kind::I32),                   // field_id
    s(10, Kind::Union(&LOGICAL_TYPE)), // logicalType
];

/// `FileMetaData`'s fields a masked view copies through the shapes (row groups, key-value
/// metadata and column orders are rewritten by the footer walk itself).
pub static FILE_META_DATA: [Slot; 4] = [
    s(1, Kind::I32),                                  // version
    s(2, Kind::List(&Kind::Struct(&SCHEMA_ELEMENT))), // schema
    s(3, Kind::I64),                                  // num_rows
    s(6, Kind::Binary),                               // created_by
];

/// Marks `id` seen in `seen`; an error if it was: Thrift readers keep the last of repeated
/// fields, so the first is free text to them.
fn first_time(seen: &mut u64, id: i16, reader: &Reader<'_>) -> thrift::Result<()> {
    let bit = 1u64 << (id as u64 & 63);
    if *seen & bit != 0 {
        return Err(ThriftError {
            offset: reader.offset(),
            what: "a repeated field",
        });
    }
    *seen |= bit;
    Ok(())
}

/// Skips the value of type `ty` at `reader`; whether it conforms to `kind`.
#[inline]
pub fn skip_conforming(reader: &mut Reader<'_>, ty: u8, kind: &Kind) -> thrift::Result<bool> {
    if !kind.matches(ty) {
        reader.skip(ty)?;
        return Ok(false);
    }
    if kind.is_scalar() {
        reader.skip_field_scalar(ty)?;
        return Ok(true);
    }
    container_conforms(reader, kind)
}

/// Skips the value of field `id`, of type `ty`, of a struct of `slots` at `reader`; whether it
/// conforms (an unknown field does not).
#[inline]
pub fn skip_field_conforming(
    reader: &mut Reader<'_>,
    slots: &'static [Slot],
    id: i16,
    ty: u8,
) -> thrift::Result<bool> {
    match slot(slots, id) {
        Some(slot) if slot.holds(ty) => {
            if slot.scalar {
                reader.skip_field_scalar(ty)?;
                Ok(true)
            } else {
                container_conforms(reader, &slot.kind)
            }
        }
        _ => {
            reader.skip(ty)?;
            Ok(false)
        }
    }
}

/// Skips the value of `kind` (an enumeration or a container, its type checked) at `reader`;
/// whether it conforms.
fn container_conforms(reader: &mut Reader<'_>, kind: &Kind) -> thrift::Result<bool> {
    match kind {
        Kind::Struct(slots) => struct_conforms(reader, slots),
        Kind::Union(slots) => union_conforms(reader, slots),
        Kind::Enum(values) => Ok(values.holds(reader.i64()?)),
        Kind::List(elem) => {
            let (elem_ty, len) = reader.list_header()?;
            if !elem.matches_element(elem_ty) {
                for _ in 0..len {
                    reader.skip_element(elem_ty)?;
                }
                return Ok(false);
            }
            if elem.is_scalar() {
                for _ in 0..len {
                    reader.skip_element(elem_ty)?;
                }
                return Ok(true);
            }
            let mut conforms = true;
            for _ in 0..len {
                if conforms {
                    conforms = container_conforms(reader, elem)?;
                } else {
                    reader.skip_element(elem_ty)?;
                }
            }
            Ok(conforms)
        }
        _ => Ok(true),
    }
}

/// Skips the struct at `reader` (after its opening: its fields and stop); whether every field
/// is one of `slots`, of its kind, once.
pub fn struct_conforms(reader: &mut Reader<'_>, slots: &'static [Slot]) -> thrift::Result<bool> {
    struct_conforms_counting(reader, slots, &mut 0)
}

/// [`struct_conforms`], counting the fields in `fields`.
fn struct_conforms_counting(
    reader: &mut Reader<'_>,
    slots: &'static [Slot],
    fields: &mut usize,
) -> thrift::Result<bool> {
    let mut conforms = true;
    let mut last = 0;
    let mut seen = 0u64;
    while let Some((id, ty)) = reader.field_header(&mut last)? {
        *fields += 1;
        match slot(slots, id) {
            Some(slot) if slot.holds(ty) => {
                first_time(&mut seen, id, reader)?;
                // A scalar of its type, skipped here: the common case, kept out of the recursion.
                if slot.scalar {
                    reader.skip_field_scalar(ty)?;
                } else {
                    conforms &= container_conforms(reader, &slot.kind)?;
                }
            }
            Some(_) => {
                first_time(&mut seen, id, reader)?;
                conforms = false;
                reader.skip(ty)?;
            }
            None => {
                conforms = false;
                reader.skip(ty)?;
            }
        }
    }
    Ok(conforms)
}

/// Skips the union at `reader`; whether it has exactly one field, one of `slots`, conforming.
fn union_conforms(reader: &mut Reader<'_>, slots: &'static [Slot]) -> thrift::Result<bool> {
    let mut fields = 0;
    let conforms = struct_conforms_counting(reader, slots, &mut fields)?;
    Ok(conforms && fields == 1)
}

/// Copies the field `id` of type `ty` at `reader` to `w` as far as it conforms to `kind`:
/// structs with only their shape's fields, lists of the element's kind. Nothing is written
/// when the field's own type is not `kind`'s, or a list's elements are not.
pub fn copy_conforming(
    reader: &mut Reader<'_>,
    id: i16,
    ty: u8,
    kind: &Kind,
    w: &mut Writer,
) -> thrift::Result<()> {
    if !kind.matches(ty) {
        return reader.skip(ty);
    }
    match kind {
        Kind::Struct(slots) => {
            w.begin_struct(Some(id));
            copy_struct(reader, slots, w)?;
            w.end_struct();
            Ok(())
        }
        Kind::Union(slots) => {
            // The first known variant that conforms, alone: a second one is for no reader.
            let mut variant = Writer::default();
            variant.begin_struct(None);
            let mut last = 0;
            let mut seen = 0u64;
            while let Some((vid, vty)) = reader.field_header(&mut last)? {
                match slot(slots, vid) {
                    Some(s) if variant.out.is_empty() => {
                        first_time(&mut seen, vid, reader)?;
                        copy_conforming(reader, vid, vty, &s.kind, &mut variant)?;
                    }
                    Some(_) => {
                        first_time(&mut seen, vid, reader)?;
                        reader.skip(vty)?;
                    }
                    None => reader.skip(vty)?,
                }
            }
            // Without a known variant, an empty union: pyarrow takes either for a logical type
            // it does not know, where without the field it would fall back to the converted
            // type.
            w.begin_struct(Some(id));
            w.out.extend_from_slice(&variant.out);
            w.end_struct();
            Ok(())
        }
        _ => {
            // A scalar, or a list kept whole when every element conforms (a struct copied
            // without a field might miss one its readers require): its bytes are values of
            // the checked kind.
            let start = reader.position();
            let conforms = skip_conforming(reader, ty, kind)?;
            if conforms {
                w.field(&reader.field_since(id, ty, start));
            }
            Ok(())
        }
    }
}

/// Copies the fields of the struct at `reader` that are `slots`' (see [`copy_conforming`]),
/// without its opening or stop.
pub fn copy_struct(
    reader: &mut Reader<'_>,
    slots: &'static [Slot],
    w: &mut Writer,
) -> thrift::Result<()> {
    copy_struct_except(reader, slots, w, |_| false)
}

/// [`copy_struct`], leaving out the fields whose ids `left_out` gives.
pub fn copy_struct_except(
    reader: &mut Reader<'_>,
    slots: &'static [Slot],
    w: &mut Writer,
    left_out: impl Fn(i16) -> bool,
) -> thrift::Result<()> {
    let mut last = 0;
    let mut seen = 0u64;
    while let Some((id, ty)) = reader.field_header(&mut last)? {
        match slot(slots, id) {
            Some(_) if left_out(id) => {
                first_time(&mut seen, id, reader)?;
                reader.skip(ty)?;
            }
            Some(slot) => {
                first_time(&mut seen, id, reader)?;
                copy_conforming(reader, id, ty, &slot.kind, w)?;
            }
            None => reader.skip(ty)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{copy_struct, struct_conforms, COLUMN_META_DATA, SCHEMA_ELEMENT};
    use crate::tables::parquet::thrift::{self, Reader, Writer};

    /// A `ColumnMetaData` with `extra` written after its typed fields (before its stop).
    fn meta(extra: impl FnOnce(&mut Writer)) -> Vec<u8> {
        let mut w = Writer::default();
        w.begin_struct(None);
        w.i32_field(1, 6);
        w.field_header(3, thrift::LIST);
        w.list_header(thrift::BINARY, 1);
        w.varint(6);
        w.out.extend_from_slice(b"region");
        w.i64_field(5, 10);
        w.begin_struct(Some(12));
        w.field_header(1, thrift::BINARY);
        w.varint(2);
        w.out.extend_from_slice(b"eu");
        w.bool_field(7, true);
        w.end_struct();
        extra(&mut w);
        w.end_struct();
        w.out
    }

    /// Whether `bytes` (a struct value) conforms, and its copy.
    fn walk(bytes: &[u8]) -> (bool, Vec<u8>) {
        let conforms = struct_conforms(&mut Reader::new(bytes), &COLUMN_META_DATA).unwrap();
        let mut w = Writer::default();
        w.begin_struct(None);
        copy_struct(&mut Reader::new(bytes), &COLUMN_META_DATA, &mut w).unwrap();
        w.end_struct();
        (conforms, w.out)
    }

    fn binary(w: &mut Writer, id: i16, value: &[u8]) {
        w.field_header(id, thrift::BINARY);
        w.varint(value.len() as u64);
        w.out.extend_from_slice(value);
    }

    #[test]
    fn every_shape_is_sorted_by_id_and_found() {
        use super::*;
        let shapes: [&[Slot]; 18] = [
            &STATISTICS,
            &PAGE_ENCODING_STATS,
            &SIZE_STATISTICS,
            &BOUNDING_BOX,
            &GEOSPATIAL_STATISTICS,
            &COLUMN_META_DATA,
            &COLUMN_CHUNK,
            &SORTING_COLUMN,
            &ROW_GROUP,
            &DECIMAL,
            &TIME_UNIT,
            &TIME,
            &INTEGER,
            &VARIANT,
            &GEOMETRY,
            &GEOGRAPHY,
            &LOGICAL_TYPE,
            &SCHEMA_ELEMENT,
        ];
        for slots in shapes.into_iter().chain([&FILE_META_DATA[..]]) {
            assert!(slots.windows(2).all(|w| w[0].id < w[1].id), "{slots:?}");
            let slots: &'static [Slot] = slots;
            for s in slots {
                assert!(std::ptr::eq(slot(slots, s.id).unwrap(), s));
                assert!(s.holds(s.kind.compact_type()));
            }
            assert!(slot(slots, 0).is_none() && slot(slots, 99).is_none());
        }
        assert!(COLUMN_META_DATA.iter().all(|s| s.id != 8) && slot(&COLUMN_META_DATA, 8).is_none());
    }

    #[test]
    fn what_conforms_is_copied_as_it_is() {
        let clean = meta(|_| {});
        assert_eq!(walk(&clean), (true, clean.clone()));
    }

    #[test]
    fn a_known_id_of_another_type_or_an_unknown_field_at_any_depth_is_dropped() {
        let secret = b"bob@example.com";
        let hidden: [&dyn Fn(&mut Writer); 6] = [
            // index_page_offset as a binary
            &|w| binary(w, 10, secret),
            // an unknown field
            &|w| binary(w, 40, secret),
            // key_value_metadata
            &|w| {
                w.field_header(8, thrift::LIST);
                w.list_header(thrift::STRUCT, 1);
                w.begin_struct(None);
                binary(w, 1, secret);
                w.end_struct();
            },
            // an unknown field inside a PageEncodingStats
            &|w| {
                w.field_header(13, thrift::LIST);
                w.list_header(thrift::STRUCT, 1);
                w.begin_struct(None);
                w.i32_field(1, 0);
                binary(w, 9, secret);
                w.end_struct();
            },
            // encodings as a list of binaries
            &|w| {
                w.field_header(2, thrift::LIST);
                w.list_header(thrift::BINARY, 1);
                w.varint(secret.len() as u64);
                w.out.extend_from_slice(secret);
            },
            // a size statistics' histogram of binaries inside a known struct
            &|w| {
                w.begin_struct(Some(16));
                w.field_header(2, thrift::LIST);
                w.list_header(thrift::BINARY, 1);
                w.varint(secret.len() as u64);
                w.out.extend_from_slice(secret);
                w.end_struct();
            },
        ];
        for (i, hide) in hidden.iter().enumerate() {
            let (conforms, copy) = walk(&meta(hide));
            assert!(!conforms, "case {i}");
            assert!(
                !copy.windows(secret.len()).any(|w| w == secret),
                "case {i}: {copy:?}"
            );
            // What conforms is still there, in place.
            let mut reader = Reader::new(&copy);
            let ids: Vec<i16> = reader
                .struct_element()
                .unwrap()
                .fields()
                .unwrap()
                .map(|f| f.unwrap().id)
                .filter(|&id| matches!(id, 1 | 3 | 5 | 12))
                .collect();
            assert_eq!(ids, vec![1, 3, 5, 12], "case {i}");
        }
    }

    #[test]
    fn a_repeated_field_is_an_error_at_any_depth() {
        let top = meta(|w| w.i64_field(5, 11));
        let mut nested = meta(|_| {});
        // A second `min` inside the statistics: the first is what readers never see.
        let stats_end = nested.len() - 2;
        assert_eq!(nested[stats_end], thrift::STOP);
        let mut w = Writer::default();
        w.begin_struct(None);
        w.bool_field(7, true);
        binary(&mut w, 1, b"x");
        nested.splice(stats_end..stats_end, w.out[..].iter().copied().skip(1));
        for bytes in [top, nested] {
            assert!(struct_conforms(&mut Reader::new(&bytes), &COLUMN_META_DATA).is_err());
            let mut w = Writer::default();
            assert!(copy_struct(&mut Reader::new(&bytes), &COLUMN_META_DATA, &mut w).is_err());
        }
    }

    #[test]
    fn a_logical_types_empty_variant_keeps_nothing_inside() {
        let mut w = Writer::default();
        w.begin_struct(None);
        binary(&mut w, 4, b"customer_email");
        w.begin_struct(Some(10));
        w.begin_struct(Some(1)); // STRING
        binary(&mut w, 1, b"bob@example.com");
        w.end_struct();
        w.end_struct();
        w.end_struct();
        let mut copy = Writer::default();
        copy.begin_struct(None);
        copy_struct(&mut Reader::new(&w.out), &SCHEMA_ELEMENT, &mut copy).unwrap();
        copy.end_struct();
        let mut expected = Writer::default();
        expected.begin_struct(None);
        binary(&mut expected, 4, b"customer_email");
        expected.begin_struct(Some(10));
        expected.begin_struct(Some(1));
        expected.end_struct();
        expected.end_struct();
        expected.end_struct();
        assert_eq!(copy.out, expected.out);
    }

    #[test]
    fn a_union_keeps_its_first_variant_alone() {
        // logicalType STRING, then a second variant GEOMETRY whose crs holds an email.
        let mut w = Writer::default();
        w.begin_struct(None);
        binary(&mut w, 4, b"region");
        w.begin_struct(Some(10));
        w.begin_struct(Some(1));
        w.end_struct();
        w.begin_struct(Some(17));
        binary(&mut w, 1, b"bob@example.com");
        w.end_struct();
        w.end_struct();
        w.end_struct();
        assert!(!struct_conforms(&mut Reader::new(&w.out), &SCHEMA_ELEMENT).unwrap());
        let mut copy = Writer::default();
        copy.begin_struct(None);
        copy_struct(&mut Reader::new(&w.out), &SCHEMA_ELEMENT, &mut copy).unwrap();
        copy.end_struct();
        let mut expected = Writer::default();
        expected.begin_struct(None);
        binary(&mut expected, 4, b"region");
        expected.begin_struct(Some(10));
        expected.begin_struct(Some(1));
        expected.end_struct();
        expected.end_struct();
        expected.end_struct();
        assert_eq!(copy.out, expected.out);
    }

    #[test]
    fn a_union_without_a_known_variant_is_copied_empty() {
        // logicalType with none, and with an unknown variant (an email inside).
        let element = |variant: Option<&[u8]>| {
            let mut w = Writer::default();
            w.begin_struct(None);
            binary(&mut w, 4, b"region");
            w.begin_struct(Some(10));
            if let Some(secret) = variant {
                w.begin_struct(Some(30));
                binary(&mut w, 1, secret);
                w.end_struct();
            }
            w.end_struct();
            w.end_struct();
            w.out
        };
        let copy = |bytes: &[u8]| {
            let mut copy = Writer::default();
            copy.begin_struct(None);
            copy_struct(&mut Reader::new(bytes), &SCHEMA_ELEMENT, &mut copy).unwrap();
            copy.end_struct();
            copy.out
        };
        let empty = element(None);
        assert_eq!(copy(&empty), empty);
        assert_eq!(copy(&element(Some(b"bob@example.com"))), empty);
    }

    #[test]
    fn an_enumerations_list_holds_its_values_only() {
        // `encodings` whose one-byte varints spell text: not encodings, dropped.
        let spelled = meta(|w| {
            w.field_header(2, thrift::LIST);
            w.list_header(thrift::I32, 3);
            for b in b"bob" {
                w.out.push(*b);
            }
        });
        let (conforms, copy) = walk(&spelled);
        assert!(!conforms);
        assert!(!copy.windows(3).any(|w| w == b"bob"));
        let real = meta(|w| w.i32_list_field(2, &[0, 8, 3]));
        assert_eq!(walk(&real), (true, real.clone()));
    }
}
