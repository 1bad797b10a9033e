//! The Thrift compact protocol, as much of it as Parquet's footer and page headers use: a reader
//! that walks structs field by field (each value's raw bytes at hand, so a struct can be copied
//! verbatim or re-emitted with some fields changed, unknown ones kept) and a writer of the same.
//!
//! Bounded: nesting deeper than `MAX_DEPTH` and collections longer than the bytes left are
//! errors, never recursion or allocation driven by the input alone.

/// Compact protocol type ids.
pub const STOP: u8 = 0;
pub const TRUE: u8 = 1;
pub const FALSE: u8 = 2;
pub const BYTE: u8 = 3;
pub const I16: u8 = 4;
pub const I32: u8 = 5;
pub const I64: u8 = 6;
pub const DOUBLE: u8 = 7;
pub const BINARY: u8 = 8;
pub const LIST: u8 = 9;
pub const SET: u8 = 10;
pub const MAP: u8 = 11;
pub const STRUCT: u8 = 12;

/// Deeper nesting than this is refused (Parquet's footer nests 8 deep at most: a logical
/// type's unit inside a schema element inside the schema list inside the footer).
pub const MAX_DEPTH: usize = 16;

/// Why bytes are not the Thrift the reader expected; `offset` is relative to the reader's
/// input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThriftError {
    pub offset: usize,
    pub what: &'static str,
}

pub type Result<T> = std::result::Result<T, ThriftError>;

/// One field of a struct: its id, its compact type (`TRUE`/`FALSE` carry a bool's value) and
/// the bytes of its value (empty for a bool), at `offset` in the reader's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    pub id: i16,
    pub ty: u8,
    pub raw: &'a [u8],
    pub offset: usize,
}

impl<'a> Field<'a> {
    /// A reader over this field's value.
    pub fn reader(&self) -> Reader<'a> {
        Reader {
            input: self.raw,
            pos: 0,
            base: self.offset,
        }
    }

    pub fn i32(&self) -> Result<i32> {
        match self.ty {
            I32 | I16 => self.reader().i32(),
            BYTE => self.byte().map(i32::from),
            _ => Err(self.error("expected an i32")),
        }
    }

    pub fn i64(&self) -> Result<i64> {
        match self.ty {
            I64 | I32 | I16 => self.reader().i64(),
            BYTE => self.byte().map(i64::from),
            _ => Err(self.error("expected an i64")),
        }
    }

    /// A byte field's value: one raw byte, not a varint.
    fn byte(&self) -> Result<i8> {
        self.raw
            .first()
            .map(|&b| b as i8)
            .ok_or_else(|| self.error("expected a byte"))
    }

    pub fn binary(&self) -> Result<&'a [u8]> {
        if self.ty != BINARY {
            return Err(self.error("expected a binary"));
        }
        self.reader().binary()
    }

    pub fn bool(&self) -> Result<bool> {
        match self.ty {
            TRUE => Ok(true),
            FALSE => Ok(false),
            _ => Err(self.error("expected a bool")),
        }
    }

    /// The fields of this struct-typed field.
    pub fn fields(&self) -> Result<Fields<'a>> {
        if self.ty != STRUCT {
            return Err(self.error("expected a struct"));
        }
        Ok(Fields {
            reader: self.reader(),
            last: 0,
            done: false,
        })
    }

    /// This list-typed field's element type, count and a reader positioned at the first
    /// element.
    pub fn list(&self) -> Result<(u8, usize, Reader<'a>)> {
        if self.ty != LIST && self.ty != SET {
            return Err(self.error("expected a list"));
        }
        let mut reader = self.reader();
        let (elem, len) = reader.list_header()?;
        Ok((elem, len, reader))
    }

    fn error(&self, what: &'static str) -> ThriftError {
        ThriftError {
            offset: self.offset,
            what,
        }
    }
}

/// A cursor over compact-protocol bytes.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    /// The offset of `input` in the outermost input, for errors and field offsets.
    base: usize,
}

impl<'a> Reader<'a> {
    pub fn new(input: &'a [u8]) -> Reader<'a> {
        Reader {
            input,
            pos: 0,
            base: 0,
        }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.input.len().saturating_sub(self.pos)
    }

    fn error(&self, what: &'static str) -> ThriftError {
        ThriftError {
            offset: self.base + self.pos,
            what,
        }
    }

    #[inline]
    pub fn byte(&mut self) -> Result<u8> {
        let byte = *self
            .input
            .get(self.pos)
            .ok_or_else(|| self.error("unexpected end"))?;
        self.pos += 1;
        Ok(byte)
    }

    #[inline]
    pub fn take(&mut self, len: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(len)
            .ok_or_else(|| self.error("length overflow"))?;
        let bytes = self
            .input
            .get(self.pos..end)
            .ok_or_else(|| self.error("unexpected end"))?;
        self.pos = end;
        Ok(bytes)
    }

    /// One byte for small values, the common case, inline; longer ones in [`Self::long_varint`].
    #[inline]
    pub fn varint(&mut self) -> Result<u64> {
        if let Some(&byte) = self.input.get(self.pos) {
            if byte < 0x80 {
                self.pos += 1;
                return Ok(u64::from(byte));
            }
        }
        self.long_varint()
    }

    #[inline(never)]
    fn long_varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        let mut shift = 0u32;
        loop {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(self.error("varint overflow"));
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
            if shift > 63 {
                return Err(self.error("varint too long"));
            }
        }
    }

    #[inline]
    pub fn i64(&mut self) -> Result<i64> {
        let v = self.varint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    #[inline]
    pub fn i32(&mut self) -> Result<i32> {
        let v = self.i64()?;
        i32::try_from(v).map_err(|_| self.error("i32 out of range"))
    }

    pub fn i16(&mut self) -> Result<i16> {
        let v = self.i64()?;
        i16::try_from(v).map_err(|_| self.error("i16 out of range"))
    }

    #[inline]
    pub fn binary(&mut self) -> Result<&'a [u8]> {
        let len = self.varint()?;
        let len = usize::try_from(len).map_err(|_| self.error("binary too long"))?;
        self.take(len)
    }

    /// A field header: `None` at the struct's stop byte, else the field's id and type. `last`
    /// is the previous field's id in this struct (0 before the first), updated.
    #[inline]
    pub fn field_header(&mut self, last: &mut i16) -> Result<Option<(i16, u8)>> {
        let byte = self.byte()?;
        let ty = byte & 0x0f;
        if ty == STOP {
            if byte != 0 {
                return Err(self.error("bad stop byte"));
            }
            return Ok(None);
        }
        let delta = byte >> 4;
        let id = if delta == 0 {
            self.i16()?
        } else {
            last.checked_add(i16::from(delta))
                .ok_or_else(|| self.error("field id overflow"))?
        };
        if ty > STRUCT {
            return Err(self.error("unknown field type"));
        }
        *last = id;
        Ok(Some((id, ty)))
    }

    /// A list or set header: element type and count. The count is checked against the bytes
    /// left (every element takes one byte at least).
    #[inline]
    pub fn list_header(&mut self) -> Result<(u8, usize)> {
        let byte = self.byte()?;
        let elem = byte & 0x0f;
        let short = usize::from(byte >> 4);
        let len = if short == 15 {
            usize::try_from(self.varint()?).map_err(|_| self.error("list too long"))?
        } else {
            short
        };
        if elem == STOP || elem > STRUCT {
            return Err(self.error("unknown element type"));
        }
        if len > self.remaining() {
            return Err(self.error("list longer than its bytes"));
        }
        Ok((elem, len))
    }

    /// Skips one value of type `ty` (a field's: bools carry their value in the type).
    pub fn skip(&mut self, ty: u8) -> Result<()> {
        self.skip_value(ty, 0, false)
    }

    /// Skips one field's scalar value of type `ty` (not a container).
    #[inline]
    pub fn skip_field_scalar(&mut self, ty: u8) -> Result<()> {
        self.skip_scalar(ty, false)
    }

    /// Skips one list element of type `ty` (a bool element is a byte of its own).
    pub fn skip_element(&mut self, ty: u8) -> Result<()> {
        self.skip_value(ty, 0, true)
    }

    /// The position in the whole input (as error offsets give it).
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Skips one value: iteratively, with an explicit stack of open containers (field ids do
    /// not matter when skipping, so a struct's frame has no state). The hot loop of a footer
    /// walk.
    fn skip_value(&mut self, ty: u8, depth: usize, element: bool) -> Result<()> {
        if !matches!(ty, LIST | SET | MAP | STRUCT) {
            return self.skip_scalar(ty, element);
        }
        self.skip_container(ty, depth, element)
    }

    /// Compares in the order footers hold scalars (integers, binaries, bools): a jump table
    /// on `ty` would be an indirect branch per field, mispredicted where types alternate.
    #[inline]
    fn skip_scalar(&mut self, ty: u8, element: bool) -> Result<()> {
        if ty == I32 || ty == I64 || ty == I16 {
            self.varint()?;
        } else if ty == BINARY {
            self.binary()?;
        } else if ty == TRUE || ty == FALSE {
            if element {
                self.byte()?;
            }
        } else if ty == BYTE {
            self.byte()?;
        } else if ty == DOUBLE {
            self.take(8)?;
        } else {
            return Err(self.error("unknown type"));
        }
        Ok(())
    }

    fn skip_container(&mut self, ty: u8, depth: usize, element: bool) -> Result<()> {
        /// Container kinds of a frame.
        const IN_STRUCT: u8 = 0;
        const IN_LIST: u8 = 1;
        const IN_MAP: u8 = 2;
        let input = self.input;
        let base = self.base;
        let err = move |pos: usize, what: &'static str| ThriftError {
            offset: base + pos,
            what,
        };
        let limit = MAX_DEPTH.saturating_sub(depth);
        let mut pos = self.pos;
        // The innermost open container lives in locals (kind, elements left, its element type
        // or a map's key and value types); the ones around it are saved here.
        let mut saved = [(IN_STRUCT, 0u32, 0u8, 0u8); MAX_DEPTH + 1];
        let mut open = 0usize;
        let (mut kind, mut left, mut first, mut second) = (IN_STRUCT, 0u32, 0u8, 0u8);
        let (mut ty, mut element) = (ty, element);
        loop {
            // The value of type `ty` at `pos`.
            match ty {
                I16 | I32 | I64 => {
                    pos = skip_varint(input, pos).ok_or_else(|| err(pos, "bad varint"))?;
                }
                BINARY => {
                    let (len, after) =
                        read_varint(input, pos).ok_or_else(|| err(pos, "bad length"))?;
                    let len = usize::try_from(len).map_err(|_| err(pos, "binary too long"))?;
                    pos = after
                        .checked_add(len)
                        .ok_or_else(|| err(pos, "binary too long"))?;
                }
                TRUE | FALSE => pos += usize::from(element),
                BYTE => pos += 1,
                DOUBLE => pos += 8,
                LIST | SET | MAP | STRUCT => {
                    if open >= limit {
                        return Err(err(pos, "nested too deep"));
                    }
                    let frame = match ty {
                        STRUCT => (IN_STRUCT, 0, 0, 0),
                        MAP => {
                            let (len, after) =
                                read_varint(input, pos).ok_or_else(|| err(pos, "bad map size"))?;
                            pos = after;
                            let types = if len > 0 {
                                let t =
                                    *input.get(pos).ok_or_else(|| err(pos, "unexpected end"))?;
                                pos += 1;
                                t
                            } else {
                                0
                            };
                            if len > input.len().saturating_sub(pos) as u64 {
                                return Err(err(pos, "map longer than its bytes"));
                            }
                            let left =
                                u32::try_from(2 * len).map_err(|_| err(pos, "map too long"))?;
                            (IN_MAP, left, types >> 4, types & 0x0f)
                        }
                        _ => {
                            self.pos = pos;
                            let (elem, len) = self.list_header()?;
                            pos = self.pos;
                            let left = u32::try_from(len).map_err(|_| err(pos, "list too long"))?;
                            (IN_LIST, left, elem, 0)
                        }
                    };
                    if open > 0 {
                        if let Some(slot) = saved.get_mut(open - 1) {
                            *slot = (kind, left, first, second);
                        }
                    }
                    open += 1;
                    (kind, left, first, second) = frame;
                }
                _ => return Err(err(pos, "unknown type")),
            }
            if pos > input.len() {
                return Err(err(input.len(), "unexpected end"));
            }
            // The next value: of the innermost open container, closing those that end.
            loop {
                if open == 0 {
                    self.pos = pos;
                    return Ok(());
                }
                let ends = match kind {
                    IN_STRUCT => {
                        let byte = *input.get(pos).ok_or_else(|| err(pos, "unexpected end"))?;
                        pos += 1;
                        if byte == STOP {
                            true
                        } else {
                            ty = byte & 0x0f;
                            if ty == STOP || ty > STRUCT {
                                return Err(err(pos, "unknown field type"));
                            }
                            if byte >> 4 == 0 {
                                // A long-form field id: a zigzag varint.
                                pos = skip_varint(input, pos)
                                    .ok_or_else(|| err(pos, "bad field id"))?;
                            }
                            element = false;
                            false
                        }
                    }
                    _ if left == 0 => true,
                    IN_LIST => {
                        left -= 1;
                        ty = first;
                        element = true;
                        false
                    }
                    _ => {
                        left -= 1;
                        ty = if left % 2 == 1 { first } else { second };
                        element = true;
                        false
                    }
                };
                if !ends {
                    break;
                }
                open -= 1;
                if open > 0 {
                    (kind, left, first, second) = saved
                        .get(open - 1)
                        .copied()
                        .ok_or_else(|| err(pos, "nested too deep"))?;
                }
            }
        }
    }

    /// The bytes from `start` (a position of this reader) to here, as a field's value.
    pub fn field_since(&self, id: i16, ty: u8, start: usize) -> Field<'a> {
        Field {
            id,
            ty,
            raw: self.input.get(start..self.pos).unwrap_or_default(),
            offset: self.base + start,
        }
    }

    /// The next element of a list of structs, as a struct-typed field.
    pub fn struct_element(&mut self) -> Result<Field<'a>> {
        let start = self.pos;
        self.skip_value(STRUCT, 1, true)?;
        Ok(Field {
            id: 0,
            ty: STRUCT,
            raw: self.input.get(start..self.pos).unwrap_or_default(),
            offset: self.base + start,
        })
    }

    /// The fields of the struct starting here (consumed as they are iterated).
    pub fn fields(self) -> Fields<'a> {
        Fields {
            reader: self,
            last: 0,
            done: false,
        }
    }
}

/// The position after the varint at `pos`, if it ends within 10 bytes.
#[inline(always)]
fn skip_varint(input: &[u8], pos: usize) -> Option<usize> {
    let first = *input.get(pos)?;
    if first < 0x80 {
        return Some(pos + 1);
    }
    let rest = input.get(pos + 1..)?;
    let at = rest.iter().take(9).position(|b| b & 0x80 == 0)?;
    Some(pos + at + 2)
}

/// The varint at `pos` (at most 10 bytes) and the position after it.
#[inline(always)]
fn read_varint(input: &[u8], pos: usize) -> Option<(u64, usize)> {
    let first = *input.get(pos)?;
    if first < 0x80 {
        return Some((u64::from(first), pos + 1));
    }
    let mut value = 0u64;
    let mut at = pos;
    for shift in [0u32, 7, 14, 21, 28, 35, 42, 49, 56, 63] {
        let byte = *input.get(at)?;
        at += 1;
        value |= u64::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some((value, at));
        }
    }
    None
}

/// The fields of one struct, in order; the iterator ends at the stop byte (or the first error,
/// which it yields).
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    reader: Reader<'a>,
    last: i16,
    done: bool,
}

impl<'a> Fields<'a> {
    fn next_field(&mut self) -> Result<Option<Field<'a>>> {
        let Some((id, ty)) = self.reader.field_header(&mut self.last)? else {
            return Ok(None);
        };
        let start = self.reader.pos;
        self.reader.skip_value(ty, 1, false)?;
        Ok(Some(Field {
            id,
            ty,
            raw: self
                .reader
                .input
                .get(start..self.reader.pos)
                .unwrap_or_default(),
            offset: self.reader.base + start,
        }))
    }

    /// Bytes of the input consumed so far (after the end: the struct's length).
    pub fn position(&self) -> usize {
        self.reader.pos
    }

    /// All the fields, the struct's stop byte consumed.
    pub fn collect_all(mut self) -> Result<Vec<Field<'a>>> {
        let mut fields = Vec::with_capacity(16);
        while let Some(field) = self.next_field()? {
            fields.push(field);
        }
        Ok(fields)
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<Field<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_field() {
            Ok(Some(field)) => Some(Ok(field)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(error) => {
                self.done = true;
                Some(Err(error))
            }
        }
    }
}

/// A compact-protocol writer into a byte vector; `last` tracks field ids per struct as the
/// caller nests them (`begin_struct`/`end_struct`).
#[derive(Debug, Default)]
pub struct Writer {
    pub out: Vec<u8>,
    last: Vec<i16>,
    current: i16,
}

impl Writer {
    pub fn new(out: Vec<u8>) -> Writer {
        Writer {
            out,
            last: Vec::new(),
            current: 0,
        }
    }

    pub fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.out.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.out.push(value as u8);
    }

    pub fn zigzag(&mut self, value: i64) {
        self.varint(((value << 1) ^ (value >> 63)) as u64);
    }

    pub fn field_header(&mut self, id: i16, ty: u8) {
        let delta = i32::from(id) - i32::from(self.current);
        if (1..=15).contains(&delta) {
            self.out.push(((delta as u8) << 4) | ty);
        } else {
            self.out.push(ty);
            self.zigzag(i64::from(id));
        }
        self.current = id;
    }

    /// A field copied as it was read (its value's bytes verbatim).
    pub fn field(&mut self, field: &Field<'_>) {
        self.field_header(field.id, field.ty);
        self.out.extend_from_slice(field.raw);
    }

    pub fn i32_field(&mut self, id: i16, value: i32) {
        self.field_header(id, I32);
        self.zigzag(i64::from(value));
    }

    pub fn i64_field(&mut self, id: i16, value: i64) {
        self.field_header(id, I64);
        self.zigzag(value);
    }

    pub fn bool_field(&mut self, id: i16, value: bool) {
        self.field_header(id, if value { TRUE } else { FALSE });
    }

    pub fn list_header(&mut self, elem: u8, len: usize) {
        if len < 15 {
            self.out.push(((len as u8) << 4) | elem);
        } else {
            self.out.push(0xf0 | elem);
            self.varint(len as u64);
        }
    }

    pub fn i32_list_field(&mut self, id: i16, values: &[i32]) {
        self.field_header(id, LIST);
        self.list_header(I32, values.len());
        for &value in values {
            self.zigzag(i64::from(value));
        }
    }

    /// Starts a struct: as a field (`Some(id)`) or a bare value (a list element, the outermost).
    pub fn begin_struct(&mut self, id: Option<i16>) {
        if let Some(id) = id {
            self.field_header(id, STRUCT);
        }
        self.last.push(self.current);
        self.current = 0;
    }

    pub fn end_struct(&mut self) {
        self.out.push(STOP);
        self.current = self.last.pop().unwrap_or(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A plain recursive skip with the same limits as `Reader::skip`: the model the iterative
    /// one is checked against.
    fn model(input: &[u8], pos: &mut usize, ty: u8, element: bool, depth: usize) -> Option<()> {
        fn varint(input: &[u8], pos: &mut usize, strict: bool) -> Option<u64> {
            let mut value = 0u64;
            for i in 0..10u32 {
                let byte = *input.get(*pos)?;
                *pos += 1;
                if strict && i == 9 && byte & 0x7f > 1 {
                    return None;
                }
                value |= u64::from(byte & 0x7f).checked_shl(7 * i).unwrap_or(0);
                if byte & 0x80 == 0 {
                    return Some(value);
                }
            }
            None
        }
        match ty {
            TRUE | FALSE => *pos += usize::from(element),
            BYTE => *pos += 1,
            I16 | I32 | I64 => {
                varint(input, pos, false)?;
            }
            DOUBLE => *pos += 8,
            BINARY => {
                let len = varint(input, pos, false)?;
                *pos = pos.checked_add(usize::try_from(len).ok()?)?;
            }
            LIST | SET => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                let header = *input.get(*pos)?;
                *pos += 1;
                let elem = header & 0x0f;
                let mut len = u64::from(header >> 4);
                if len == 15 {
                    len = varint(input, pos, true)?;
                }
                if elem == STOP || elem > STRUCT || len > (input.len() - *pos) as u64 {
                    return None;
                }
                for _ in 0..len {
                    model(input, pos, elem, true, depth + 1)?;
                }
            }
            MAP => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                let len = varint(input, pos, true)?;
                let types = if len > 0 {
                    let t = *input.get(*pos)?;
                    *pos += 1;
                    t
                } else {
                    0
                };
                if len > input.len().saturating_sub(*pos) as u64 {
                    return None;
                }
                for _ in 0..len {
                    model(input, pos, types >> 4, true, depth + 1)?;
                    model(input, pos, types & 0x0f, true, depth + 1)?;
                }
            }
            STRUCT => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                loop {
                    let byte = *input.get(*pos)?;
                    *pos += 1;
                    if byte == STOP {
                        break;
                    }
                    let ty = byte & 0x0f;
                    if ty == STOP || ty > STRUCT {
                        return None;
                    }
                    if byte >> 4 == 0 {
                        varint(input, pos, false)?;
                    }
                    model(input, pos, ty, false, depth + 1)?;
                }
            }
            _ => return None,
        }
        (*pos <= input.len()).then_some(())
    }

    fn skip_both(input: &[u8]) -> (Option<usize>, Option<usize>) {
        let mut reader = Reader::new(input);
        let fast = reader.skip(STRUCT).ok().map(|()| reader.position());
        let mut pos = 0;
        let slow = model(input, &mut pos, STRUCT, false, 0).map(|()| pos);
        (fast, slow)
    }

    const FOOTER_FILE: &[u8] =
        include_bytes!("../../../tests/fixtures/parquet/pyarrow_snappy_dict.parquet");

    fn footer() -> &'static [u8] {
        let n = FOOTER_FILE.len();
        let len = u32::from_le_bytes(FOOTER_FILE[n - 8..n - 4].try_into().unwrap()) as usize;
        &FOOTER_FILE[n - 8 - len..n - 8]
    }

    #[test]
    fn the_skip_walks_a_real_footer_to_its_end() {
        let footer = footer();
        assert_eq!(skip_both(footer), (Some(footer.len()), Some(footer.len())));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

        /// The iterative skip ends where the recursive model ends, or fails where it fails: on
        /// arbitrary bytes and on a real footer with random bytes overwritten.
        #[test]
        fn the_skip_is_the_model(
            bytes in prop::collection::vec(any::<u8>(), 0..200),
            edits in prop::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        ) {
            let (fast, slow) = skip_both(&bytes);
            prop_assert_eq!(fast, slow);
            let mut footer = footer().to_vec();
            let n = footer.len();
            for (at, byte) in edits {
                footer[at % n] = byte;
            }
            let (fast, slow) = skip_both(&footer);
            prop_assert_eq!(fast, slow);
        }
    }

    #[test]
    fn varints_and_zigzag_round_trip() {
        for value in [
            0i64,
            1,
            -1,
            63,
            -64,
            64,
            300,
            -300,
            i64::MAX,
            i64::MIN,
            1 << 40,
        ] {
            let mut w = Writer::default();
            w.zigzag(value);
            let mut r = Reader::new(&w.out);
            assert_eq!(r.i64().unwrap(), value);
            assert_eq!(r.remaining(), 0);
        }
        // Eleven continuation bytes, an overlong tenth byte, a truncated varint.
        assert!(Reader::new(&[0xff; 11]).varint().is_err());
        assert!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02])
                .varint()
                .is_err()
        );
        assert!(Reader::new(&[0x80]).varint().is_err());
    }

    #[test]
    fn structs_with_long_deltas_bools_lists_and_unknown_fields() {
        let mut w = Writer::default();
        w.begin_struct(None);
        w.i32_field(1, 7);
        w.bool_field(2, true);
        w.i64_field(40, -5); // long form: delta 38
        w.begin_struct(Some(41));
        w.bool_field(1, false);
        w.end_struct();
        w.i32_list_field(42, &(0..20).collect::<Vec<_>>());
        w.field_header(43, BINARY);
        w.varint(3);
        w.out.extend_from_slice(b"abc");
        w.field_header(44, MAP);
        w.varint(1);
        w.out.push((BINARY << 4) | I32);
        w.varint(1);
        w.out.push(b'k');
        w.zigzag(9);
        w.field_header(45, DOUBLE);
        w.out.extend_from_slice(&1.5f64.to_le_bytes());
        w.end_struct();
        let bytes = w.out.clone();
        let fields = Reader::new(&bytes).fields().collect_all().unwrap();
        let ids: Vec<i16> = fields.iter().map(|f| f.id).collect();
        assert_eq!(ids, [1, 2, 40, 41, 42, 43, 44, 45]);
        assert_eq!(fields[0].i32().unwrap(), 7);
        assert!(fields[1].bool().unwrap());
        assert_eq!(fields[2].i64().unwrap(), -5);
        let inner = fields[3]
            .fields()
            .unwrap()
            .collect::<Result<Vec<_>>>()
            .unwrap();
        assert!(!inner[0].bool().unwrap());
        let (elem, len, _) = fields[4].list().unwrap();
        assert_eq!((elem, len), (I32, 20));
        assert_eq!(fields[5].binary().unwrap(), b"abc");
        // Re-emitting the fields gives the same bytes.
        let mut again = Writer::default();
        again.begin_struct(None);
        for field in &fields {
            again.field(field);
        }
        again.end_struct();
        assert_eq!(again.out, bytes);
    }

    #[test]
    fn hostile_input_is_an_error() {
        // A list claiming more elements than bytes, unknown types, unterminated and deep structs.
        assert!(Reader::new(&[0x19, 0xf5, 0xff, 0xff, 0x7f])
            .fields()
            .collect_all()
            .is_err());
        assert!(Reader::new(&[0x1d, 0x00]).fields().collect_all().is_err());
        assert!(Reader::new(&[0x15, 0x02]).fields().collect_all().is_err());
        let deep: Vec<u8> = std::iter::repeat_n(0x1c, 100)
            .chain(std::iter::repeat_n(0, 101))
            .collect();
        assert!(Reader::new(&deep).fields().collect_all().is_err());
        assert!(Reader::new(&[]).fields().collect_all().is_err());
    }
}
