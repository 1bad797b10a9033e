//! The `geo` key-value entry a masked view may keep: GeoParquet 1.0 and 1.1 name a file's
//! geometry columns there (DuckDB's `GEOPARQUET_VERSION 'V1'` has a column's geometry type
//! nowhere else). The entry is JSON a writer may fill with values, so it is read strictly
//! (every key known, none twice; every string a top-level column name of the schema or one of
//! an enumerated set; no `crs` but `null`: PROJJSON is free text) and written again
//! canonically, keys in one order and no number at all: `bbox` and `epoch` are numbers a
//! writer picks (a bbox is 32 bytes of them), readers need neither to read a geometry.
//! A masked column named anywhere refuses the entry: its geometry types are its values'.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::json::AtMost;

/// The entry written again, or `None` when it does not qualify. `top` holds the schema's
/// top-level column names, `masked` the masked ones among them.
pub fn canonical(value: &[u8], top: &[&[u8]], masked: &[&[u8]]) -> Option<Vec<u8>> {
    let doc: GeoDoc = serde_json::from_slice(value).ok()?;
    // Sets: a wide schema and a `geo` of as many columns stay linear.
    let top: HashSet<&[u8]> = top.iter().copied().collect();
    let masked: HashSet<&[u8]> = masked.iter().copied().collect();
    let named = |name: &str| {
        let name = name.as_bytes();
        top.contains(name) && !masked.contains(name)
    };
    let version_ok = matches!(doc.version.as_str(), "1.0.0" | "1.1.0");
    if !version_ok || !named(&doc.primary_column) || doc.columns.0.is_empty() {
        return None;
    }
    // A `BTreeMap` writes the columns in name order: the writer's order is not kept.
    let mut columns = BTreeMap::new();
    for (name, column) in doc.columns.0 {
        if !named(&name) || !column.numbers_ok() {
            return None;
        }
        if let Some(covering) = &column.covering {
            if !covering
                .bbox
                .paths()
                .all(|(path, key)| named(&path[0]) && path[1] == key)
            {
                return None;
            }
        }
        let mut types = column.geometry_types.0;
        types.sort_unstable();
        let count = types.len();
        types.dedup();
        // The spec's items are unique: a repeat is a writer's choice, refused.
        if types.len() != count {
            return None;
        }
        let out = OutColumn {
            encoding: column.encoding,
            geometry_types: types,
            crs: column.crs,
            edges: column.edges,
            orientation: column.orientation,
            covering: column.covering,
        };
        columns.insert(name, out);
    }
    if !columns.contains_key(&doc.primary_column) {
        return None;
    }
    serde_json::to_vec(&OutDoc {
        version: doc.version,
        primary_column: doc.primary_column,
        columns,
    })
    .ok()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GeoDoc {
    version: String,
    primary_column: String,
    columns: Columns,
    /// The writing library's name and version (GeoPandas writes it): read, never kept.
    #[serde(default)]
    #[allow(dead_code)]
    creator: Option<de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GeoColumn {
    encoding: Encoding,
    /// No more than there are types (a repeat is refused).
    geometry_types: AtMost<GeometryType, 14>,
    /// Absent (OGC:CRS84) is `None`, `null` (an unknown CRS) `Some(())`; PROJJSON is refused.
    #[serde(default, deserialize_with = "null_only")]
    crs: Option<()>,
    #[serde(default)]
    edges: Option<Edges>,
    #[serde(default)]
    orientation: Option<Orientation>,
    #[serde(default)]
    bbox: Option<AtMost<f64, 6>>,
    #[serde(default)]
    epoch: Option<f64>,
    #[serde(default)]
    covering: Option<Covering>,
}

impl GeoColumn {
    /// The numbers, read though not kept: a bbox of 4 or 6 finite numbers, a finite epoch.
    fn numbers_ok(&self) -> bool {
        let bbox_ok = self
            .bbox
            .as_ref()
            .is_none_or(|b| matches!(b.len(), 4 | 6) && b.iter().all(|n| n.is_finite()));
        bbox_ok && self.epoch.is_none_or(f64::is_finite)
    }
}

fn null_only<'de, D: Deserializer<'de>>(d: D) -> Result<Option<()>, D::Error> {
    // `()` reads from JSON `null` alone: an object, string or number is an error.
    <()>::deserialize(d).map(Some)
}

#[derive(Serialize)]
struct OutDoc {
    version: String,
    primary_column: String,
    columns: BTreeMap<String, OutColumn>,
}

#[derive(Serialize)]
struct OutColumn {
    encoding: Encoding,
    geometry_types: Vec<GeometryType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    crs: Option<()>,
    #[serde(skip_serializing_if = "Option::is_none")]
    edges: Option<Edges>,
    #[serde(skip_serializing_if = "Option::is_none")]
    orientation: Option<Orientation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    covering: Option<Covering>,
}

/// `columns`: a JSON object whose keys are kept in order, a key given twice refused (a map
/// would keep one of the two silently).
struct Columns(Vec<(String, GeoColumn)>);

impl<'de> Deserialize<'de> for Columns {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Each;
        impl<'de> Visitor<'de> for Each {
            type Value = Columns;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of geometry columns")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Columns, A::Error> {
                let mut out: Vec<(String, GeoColumn)> = Vec::new();
                // A set: a hostile entry's many keys must not make the check quadratic.
                let mut seen = HashSet::new();
                while let Some((name, column)) = map.next_entry::<String, GeoColumn>()? {
                    if !seen.insert(name.clone()) {
                        return Err(de::Error::custom("a geometry column named twice"));
                    }
                    out.push((name, column));
                }
                Ok(Columns(out))
            }
        }
        d.deserialize_map(Each)
    }
}

#[derive(Deserialize, Serialize)]
enum Encoding {
    #[serde(rename = "WKB")]
    Wkb,
    #[serde(rename = "point")]
    Point,
    #[serde(rename = "linestring")]
    LineString,
    #[serde(rename = "polygon")]
    Polygon,
    #[serde(rename = "multipoint")]
    MultiPoint,
    #[serde(rename = "multilinestring")]
    MultiLineString,
    #[serde(rename = "multipolygon")]
    MultiPolygon,
}

/// The spec's pattern `^(GeometryCollection|(Multi)?(Point|LineString|Polygon))( Z)?$`.
#[derive(Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
enum GeometryType {
    Point,
    LineString,
    Polygon,
    MultiPoint,
    MultiLineString,
    MultiPolygon,
    GeometryCollection,
    #[serde(rename = "Point Z")]
    PointZ,
    #[serde(rename = "LineString Z")]
    LineStringZ,
    #[serde(rename = "Polygon Z")]
    PolygonZ,
    #[serde(rename = "MultiPoint Z")]
    MultiPointZ,
    #[serde(rename = "MultiLineString Z")]
    MultiLineStringZ,
    #[serde(rename = "MultiPolygon Z")]
    MultiPolygonZ,
    #[serde(rename = "GeometryCollection Z")]
    GeometryCollectionZ,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
enum Edges {
    Planar,
    Spherical,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
enum Orientation {
    Counterclockwise,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Covering {
    bbox: BboxCovering,
}

/// Each bound's path: the covering column (a top-level name) and the bound's own field name.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct BboxCovering {
    xmin: [String; 2],
    ymin: [String; 2],
    #[serde(default, skip_serializing_if = "Option::is_none")]
    zmin: Option<[String; 2]>,
    xmax: [String; 2],
    ymax: [String; 2],
    #[serde(default, skip_serializing_if = "Option::is_none")]
    zmax: Option<[String; 2]>,
}

impl BboxCovering {
    fn paths(&self) -> impl Iterator<Item = (&[String; 2], &'static str)> {
        [
            (Some(&self.xmin), "xmin"),
            (Some(&self.ymin), "ymin"),
            (self.zmin.as_ref(), "zmin"),
            (Some(&self.xmax), "xmax"),
            (Some(&self.ymax), "ymax"),
            (self.zmax.as_ref(), "zmax"),
        ]
        .into_iter()
        .filter_map(|(path, key)| Some((path?, key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOP: &[&[u8]] = &[b"order_id", b"customer_email", b"loc", b"bbox"];
    const MASKED: &[&[u8]] = &[b"customer_email"];
    const DUCKDB: &str = r#"{"version":"1.0.0","primary_column":"loc","columns":{"loc":{"encoding":"WKB","geometry_types":["Point"],"bbox":[1.0,1.5,3.0,3.5]}}}"#;

    fn kept(doc: &str) -> Option<String> {
        canonical(doc.as_bytes(), TOP, MASKED).map(|v| String::from_utf8(v).unwrap())
    }

    #[test]
    fn duckdbs_entry_is_kept_without_its_bbox() {
        assert_eq!(
            kept(DUCKDB).as_deref(),
            Some(
                r#"{"version":"1.0.0","primary_column":"loc","columns":{"loc":{"encoding":"WKB","geometry_types":["Point"]}}}"#
            )
        );
    }

    #[test]
    fn geopandas_creator_is_read_and_left_out() {
        let doc = DUCKDB.replacen(
            r#""version""#,
            r#""creator":{"library":"geopandas","version":"bob@example.com"},"version""#,
            1,
        );
        let out = kept(&doc).unwrap();
        assert_eq!(Some(out.as_str()), kept(DUCKDB).as_deref());
        assert!(!out.contains("creator") && !out.contains("bob"));
    }

    #[test]
    fn a_bbox_or_type_list_past_its_bound_is_refused_as_it_is_read() {
        let long_bbox = DUCKDB.replace("[1.0,1.5,3.0,3.5]", "[1,2,3,4,5,6,7]");
        assert_eq!(kept(&long_bbox), None);
        let types: Vec<String> = std::iter::repeat_n(r#""Point""#.to_string(), 15).collect();
        let long_types = DUCKDB.replace(r#"["Point"]"#, &format!("[{}]", types.join(",")));
        assert_eq!(kept(&long_types), None);
    }

    #[test]
    fn a_full_1_1_entry_is_written_again_in_one_order() {
        let doc = r#"{ "columns": {"loc": {"covering": {"bbox": {"ymax": ["bbox", "ymax"],
            "xmin": ["bbox", "xmin"], "ymin": ["bbox", "ymin"], "xmax": ["bbox", "xmax"]}},
            "orientation": "counterclockwise", "edges": "spherical", "crs": null, "epoch": 2020.5,
            "geometry_types": ["Polygon Z", "Point"], "encoding": "WKB"}},
            "primary_column": "loc", "version": "1.1.0"}"#;
        assert_eq!(
            kept(doc).as_deref(),
            Some(concat!(
                r#"{"version":"1.1.0","primary_column":"loc","columns":{"loc":{"encoding":"WKB","#,
                r#""geometry_types":["Point","Polygon Z"],"crs":null,"edges":"spherical","#,
                r#""orientation":"counterclockwise","covering":{"bbox":{"xmin":["bbox","xmin"],"#,
                r#""ymin":["bbox","ymin"],"xmax":["bbox","xmax"],"ymax":["bbox","ymax"]}}}}}"#
            ))
        );
    }

    #[test]
    fn free_text_anywhere_refuses_the_entry() {
        let email = "alice@example.com";
        let hostile = [
            // Unknown keys, at the top, in a column, in a covering.
            DUCKDB.replace(r#""version""#, &format!(r#""{email}":1,"version""#)),
            DUCKDB.replace(r#""encoding""#, &format!(r#""note":"{email}","encoding""#)),
            // Every string position spelling it.
            DUCKDB.replace("1.0.0", email),
            DUCKDB.replace(r#""primary_column":"loc""#, &format!(r#""primary_column":"{email}""#)),
            DUCKDB.replace(r#""loc":{"#, &format!(r#""{email}":{{"#)),
            DUCKDB.replace("WKB", email),
            DUCKDB.replace(r#"["Point"]"#, &format!(r#"["{email}"]"#)),
            DUCKDB.replace(r#""bbox""#, r#""edges":"spherical ","bbox""#),
            DUCKDB.replace(r#""bbox""#, r#""orientation":"clockwise","bbox""#),
            // PROJJSON and any crs but null.
            DUCKDB.replace(r#""bbox""#, &format!(r#""crs":{{"name":"{email}"}},"bbox""#)),
            DUCKDB.replace(r#""bbox""#, r#""crs":"OGC:CRS84","bbox""#),
            DUCKDB.replace(r#""bbox""#, r#""crs":0,"bbox""#),
            // A covering naming something else.
            DUCKDB.replace(r#""bbox""#, &format!(
                r#""covering":{{"bbox":{{"xmin":["{email}","xmin"],"ymin":["bbox","ymin"],"xmax":["bbox","xmax"],"ymax":["bbox","ymax"]}}}},"bbox""#
            )),
            DUCKDB.replace(r#""bbox""#,
                r#""covering":{"bbox":{"xmin":["bbox","a@b.c"],"ymin":["bbox","ymin"],"xmax":["bbox","xmax"],"ymax":["bbox","ymax"]}},"bbox""#),
            DUCKDB.replace(r#""bbox""#,
                r#""covering":{"bbox":{"xmin":["bbox","xmin","x"],"ymin":["bbox","ymin"],"xmax":["bbox","xmax"],"ymax":["bbox","ymax"]}},"bbox""#),
            // Duplicate keys: a field, a column, a geometry type.
            DUCKDB.replace(r#""version":"1.0.0""#, r#""version":"1.0.0","version":"1.1.0""#),
            DUCKDB.replace(r#"}}}"#, r#"},"loc":{"encoding":"WKB","geometry_types":[]}}}"#),
            DUCKDB.replace(r#"["Point"]"#, r#"["Point","Point"]"#),
            // Numbers: too many, not finite, out of range, a string for one.
            DUCKDB.replace("[1.0,1.5,3.0,3.5]", "[1,2,3,4,5]"),
            DUCKDB.replace("[1.0,1.5,3.0,3.5]", "[1e999,2,3,4]"),
            DUCKDB.replace("[1.0,1.5,3.0,3.5]", &format!(r#"["{email}",2,3,4]"#)),
            DUCKDB.replace(r#""bbox""#, r#""epoch":1e400,"bbox""#),
            // Not JSON after the document; not an object.
            format!("{DUCKDB} {email}"),
            format!(r#""{email}""#),
        ];
        for doc in &hostile {
            assert_eq!(kept(doc), None, "{doc}");
        }
    }

    #[test]
    fn numbers_never_reach_the_view() {
        // 1.1 bytes of an email as a bbox's bits (finite doubles): read, never written.
        let doc = DUCKDB.replace(
            "[1.0,1.5,3.0,3.5]",
            "[6.0134700169916e+175,1.4e-300,123456789.125,-9.87654321e-100]",
        );
        let doc = doc.replace(r#""bbox""#, r#""epoch":20241.0625,"bbox""#);
        let out = kept(&doc).unwrap();
        assert!(
            !out.contains("e+175") && !out.contains("epoch") && !out.contains("bbox"),
            "{out}"
        );
    }

    #[test]
    fn a_masked_or_unknown_column_refuses_the_entry() {
        for name in ["customer_email", "nowhere"] {
            let doc = DUCKDB.replace(r#""loc":{"#, &format!(r#""{name}":{{"#));
            assert_eq!(kept(&doc), None, "{name}");
            let doc = DUCKDB.replace(
                r#"}}}"#,
                &format!(r#"}},"{name}":{{"encoding":"WKB","geometry_types":[]}}}}}}"#),
            );
            assert_eq!(kept(&doc), None, "{name} as a second column");
            let doc = DUCKDB.replace(
                r#""primary_column":"loc""#,
                &format!(r#""primary_column":"{name}""#),
            );
            assert_eq!(kept(&doc), None, "{name} as the primary column");
        }
        // The primary column must be one of the columns.
        let doc = DUCKDB.replace(r#""primary_column":"loc""#, r#""primary_column":"bbox""#);
        assert_eq!(kept(&doc), None);
    }

    #[test]
    fn many_columns_are_read_in_linear_time() {
        // 200,000 distinct keys (the footer's bound allows megabytes): refused, and quickly.
        let column = r#"{"encoding":"WKB","geometry_types":[]}"#;
        let mut doc = String::from(r#"{"version":"1.0.0","primary_column":"loc","columns":{"#);
        for i in 0..200_000 {
            doc.push_str(&format!(r#""c{i}":{column},"#));
        }
        doc.push_str(&format!(r#""loc":{column}}}}}"#));
        let start = std::time::Instant::now();
        assert_eq!(kept(&doc), None);
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn other_versions_are_refused() {
        for version in ["2.0.0", "1.0.0-beta.1", "0.4.0", "1.0.0 "] {
            assert_eq!(kept(&DUCKDB.replace("1.0.0", version)), None, "{version}");
        }
        assert!(kept(&DUCKDB.replace("1.0.0", "1.1.0")).is_some());
    }
}
