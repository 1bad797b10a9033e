"""Second round of hostile probes of "alice and erin never receive the clear text of a masked
column": header variants other CSV readers read differently (a comment line, an Excel `sep=`
hint, a trailing delimiter or a quoted empty name on the header only, CRLF after the header
only) and Unicode look-alike names (core/src/tables/names.rs): compatibility forms a reader's
NFKC normalises (full-width `ｅｍａｉｌ`, mathematical bold), a combining accent a reader's
accent stripping removes, the combining grapheme joiner and other default-ignorable (invisible)
code points, a Cyrillic `е`, a right-to-left override.

Each test asserts the safe answer (refused with 403 InvalidObjectState, or served with no clear
value under any name a reader could take for the masked column), so a failing test names a
leak. The module runs its own stack over the demo data plus the objects below."""

import io
import unicodedata

import pandas as pd
import pytest

from conftest import demo_data_with, start_stack
from gateway import refused_as_unreadable
from test_attacks_tables import CUSTOMERS, EVENTS, EMAIL, SSN, clear_values, get

ROW = "1,A,{email},111-22-3333,eu"

# Header variants: (object name, bytes, pandas read_csv keyword arguments a client would use).
HEADER_VARIANTS = {
    "h_comment.csv": (b"#id,email,ssn,region,name\nid,x,y,region,email\n"
                      b"1,a,b,eu,c1@example.com\n", {"comment": "#"}),
    # The same with the second header line keeping alice's and erin's row filter (region eu):
    # pandas' `comment="#"` reads `id,<hash>,<partial>,eu,email` as the header, so the column
    # it calls `email` is the one the gateway calls `name`, served in clear.
    "h_comment_eu.csv": (b"#id,email,ssn,region,name\nid,x,y,eu,email\n"
                         b"1,a,b,eu,c6@example.com\n", {"comment": "#"}),
    "h_sep.csv": (b"sep=,\nid,name,email,ssn,region\n1,A,c2@example.com,111-22-3333,eu\n",
                  {"skiprows": 1}),
    "h_trail.csv": (b"id,name,email,ssn,region,\n1,A,c3@example.com,111-22-3333,eu\n", {}),
    "h_qempty.csv": (b'"",id,name,email,ssn,region\n0,1,A,c4@example.com,111-22-3333,eu\n',
                     {"index_col": 0}),
    "h_crlf.csv": (b"id,name,email,ssn,region\r\n1,A,c5@example.com,111-22-3333,eu\n", {}),
}

# Look-alike spellings of `email` for a sixth column that holds a clear e-mail.
LOOKALIKES = {
    "fullwidth": "ｅｍａｉｌ",  # NFKC -> email
    "mathbold": "\U0001d41e\U0001d426\U0001d41a\U0001d422\U0001d425",  # NFKC -> email
    "combining_acute": "e\u0301mail",  # accent stripping -> email
    "cyrillic_e": "\u0435mail",  # confusable
    "cgj": "em\u034fail",  # COMBINING GRAPHEME JOINER: default-ignorable, invisible
    "mvs": "em\u180eail",  # MONGOLIAN VOWEL SEPARATOR: invisible (Cf in old Unicode)
    "func_app": "em\u2061ail",  # FUNCTION APPLICATION: invisible Cf
    "vs16": "email\ufe0f",  # VARIATION SELECTOR-16: default-ignorable
    "tag_a": "email\U000e0041",  # TAG LATIN CAPITAL A: default-ignorable
    "hangul_filler": "email\u3164",  # HANGUL FILLER: default-ignorable, renders blank
    "lrm": "email\u200e",  # LEFT-TO-RIGHT MARK
    "rlo": "\u202eliame",  # RIGHT-TO-LEFT OVERRIDE: displays as `email`
    "alm": "email\u061c",  # ARABIC LETTER MARK
}

JSON_LOOKALIKES = {
    "fullwidth": "ｕｓｅｒ_id",
    "fullwidth_low_line": "user\uff3fid",
    "cyrillic_e": "us\u0435r_id",
    "cgj": "user\u034f_id",
    "vs16": "user_id\ufe0f",
}


def _lookalike_csv(name, i):
    return (f"id,name,email,ssn,region,{name}\n1,A,h{i}@example.com,111-22-3333,eu,"
            f"clear{i}@example.com\n").encode()


def _lookalike_jsonl(name, i):
    return (f'{{"event_id":"e{i}","user_id":1,"{name}":{31415900 + i}}}\n').encode()


OBJECTS = {f"{CUSTOMERS}/{n}": data for n, (data, _) in HEADER_VARIANTS.items()}
OBJECTS.update({f"{CUSTOMERS}/l_{k}.csv": _lookalike_csv(v, i)
                for i, (k, v) in enumerate(LOOKALIKES.items())})
OBJECTS[f"{CUSTOMERS}/l_ssn_fullwidth.csv"] = \
    "id,name,email,ssn,region,ｓｓｎ\n1,A,h@x.org,111-22-3333,eu,444-55-6666\n".encode()
OBJECTS.update({f"{EVENTS}/l_{k}.jsonl": _lookalike_jsonl(v, i)
                for i, (k, v) in enumerate(JSON_LOOKALIKES.items())})


@pytest.fixture(scope="module")
def tables2(tmp_path_factory):
    root = demo_data_with(tmp_path_factory, "tables2", OBJECTS)
    s = start_stack(root, tmp_path_factory.mktemp("run"))
    yield s
    s.stop()


def _loose(name):
    """How a reader's column-name cleaning may see a name: NFKC, accents and invisible
    characters dropped, case folded, white space stripped."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", str(name)))
    text = "".join(c for c in text if not unicodedata.combining(c)
                   and unicodedata.category(c) not in ("Cf", "Mn", "Zs"))
    return text.casefold().strip()


@pytest.mark.parametrize("who", ["alice", "erin"])
@pytest.mark.parametrize("name", sorted(HEADER_VARIANTS))
def test_header_variants_masked_as_readers_read_them(tables2, who, name):
    """A header variant is refused, or the column a reader (pandas with the options a client
    uses for that variant) calls `email` holds no clear e-mail.

        curl -H 'Authorization: AWS alice-demo-key:immuta' \\
            http://127.0.0.1:10000/s3p/immuta/customers/h_comment.csv"""
    resp = get(tables2, who, f"customers/{name}")
    if refused_as_unreadable(resp):
        return
    assert resp.status == 200, (name, resp.status, resp.body[:300])
    kwargs = HEADER_VARIANTS[name][1]
    frame = pd.read_csv(io.BytesIO(resp.body), dtype=str, keep_default_na=False, **kwargs)
    for column in frame.columns:
        if _loose(column) in ("email", "ssn"):
            values = " ".join(frame[column]).encode()
            assert not EMAIL.search(values) and not SSN.search(values), \
                (name, column, resp.body)


@pytest.mark.parametrize("who", ["alice", "erin"])
@pytest.mark.parametrize("kind", sorted(LOOKALIKES) + ["ssn_fullwidth"])
def test_unicode_lookalike_csv_headerrefused_as_unreadable(tables2, who, kind):
    """A header naming `email` (or `ssn`) a second time in a Unicode look-alike spelling that
    NFKC, accent stripping, confusable folding or dropping default-ignorable code points turns
    into the masked name must be refused, as `Email` or `em\\u200bail` are: served, its clear
    value arrives under a name a reader or a human takes for the masked column.

        printf 'id,name,email,ssn,region,\\xef\\xbd\\x85\\xef\\xbd\\x8d\\xef\\xbd\\x81\\xef\\xbd\\x89\\xef\\xbd\\x8c\\n'\\
'1,A,h@example.com,111-22-3333,eu,clear@example.com\\n' \\
            > .demo/data/acme-warehouse-prod/curated/customers/fw.csv
        curl -H 'Authorization: AWS alice-demo-key:immuta' \\
            http://127.0.0.1:10000/s3p/immuta/customers/fw.csv
        python -c "import pandas as pd, unicodedata as u; df = pd.read_csv('fw.csv'); \\
            df.columns = [u.normalize('NFKC', c) for c in df.columns]; print(df['email'])"
    """
    resp = get(tables2, who, f"customers/l_{kind}.csv")
    assert refused_as_unreadable(resp) or not clear_values(resp.body), (kind, resp.status, resp.body)


@pytest.mark.parametrize("kind", sorted(JSON_LOOKALIKES))
def test_unicode_lookalike_json_keyrefused_as_unreadable(tables2, kind):
    """The JSON Lines counterpart: a key `ｕｓｅｒ_id` (NFKC `user_id`), `user＿id`, a Cyrillic
    `е`, a combining grapheme joiner or variation selector in `user_id`, beside the masked
    `user_id`, must be refused, not served with its clear id."""
    i = list(JSON_LOOKALIKES).index(kind)
    resp = get(tables2, "alice", f"events/l_{kind}.jsonl")
    assert refused_as_unreadable(resp) or str(31415900 + i).encode() not in resp.body, \
        (kind, resp.status, resp.body)
