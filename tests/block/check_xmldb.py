#!/usr/bin/env python3
# This file is part of dockchat.
"""Checks that moodle-block/db/install.xml is valid XMLDB.

Implements the rules of Moodle's lib/xmldb/xmldb.xsd (element structure, required attributes,
name patterns, field types, key types) plus the consistency rules Moodle's XMLDB editor and
installer enforce: one primary key on `id`, a sequence only on the primary key, names prefixed
with the plugin's frankenstyle, keys and indexes on existing fields, no duplicates.

Prints one line per check, `ok - ...` or `not ok - ...`; exits 1 if any failed.
"""
import re
import sys
import xml.etree.ElementTree as ET

PREFIX = "block_dockchat"
TABLE_RE = re.compile(r"^[0-9a-z_]{1,28}$")
FIELD_RE = re.compile(r"^[0-9a-z_]{1,30}$")
FIELDS_LIST_RE = re.compile(r"^[0-9a-z_, ]+$")
NMTOKEN_RE = re.compile(r"^[\w.:-]+$")
LENGTH_RE = re.compile(r"^(\d+|small|medium|big)$")
TYPES = {"int", "number", "float", "char", "text", "binary", "datetime"}
KEY_TYPES = {"primary", "unique", "foreign", "foreign-unique"}
TRUE_FALSE = {"true", "false"}

results = []


def check(ok, what):
    results.append((bool(ok), what))


def split_fields(value):
    return [f.strip() for f in value.split(",") if f.strip()]


def main(path):
    try:
        tree = ET.parse(path)
    except (ET.ParseError, OSError) as err:
        check(False, f"{path} is well-formed XML ({err})")
        return
    check(True, f"{path} is well-formed XML")
    root = tree.getroot()
    check(root.tag == "XMLDB", "root element is XMLDB")
    for attr in ("PATH", "VERSION"):
        check(root.get(attr), f"XMLDB has required attribute {attr}")
    check(root.get("PATH") == "blocks/dockchat/db", "XMLDB PATH is blocks/dockchat/db")
    children = list(root)
    check(len(children) == 1 and children[0].tag == "TABLES", "XMLDB holds exactly one TABLES element")
    tables_el = root.find("TABLES")
    if tables_el is None:
        return
    tables = tables_el.findall("TABLE")
    check(len(tables) > 0 and all(t.tag == "TABLE" for t in tables_el), "TABLES holds TABLE elements only")
    table_names = [t.get("NAME", "") for t in tables]
    check(len(set(table_names)) == len(table_names), "table names are unique")
    for table in tables:
        tname = table.get("NAME", "")
        check(TABLE_RE.match(tname), f"table {tname!r} matches [0-9a-z_]{{1,28}}")
        check(tname.startswith(PREFIX + "_") or tname == PREFIX, f"table {tname} is prefixed {PREFIX}_")
        order = [c.tag for c in table]
        check(order and order[0] == "FIELDS" and order == sorted(order, key=["FIELDS", "KEYS", "INDEXES"].index)
              and len(order) == len(set(order)), f"table {tname}: FIELDS, then optional KEYS, INDEXES")
        fields = table.findall("FIELDS/FIELD")
        check(len(fields) > 0, f"table {tname} has fields")
        names = []
        for field in fields:
            fname = field.get("NAME", "")
            names.append(fname)
            check(FIELD_RE.match(fname), f"{tname}.{fname} name matches [0-9a-z_]{{1,30}}")
            for attr in ("SEQUENCE", "TYPE", "NOTNULL"):
                check(field.get(attr) is not None, f"{tname}.{fname} has {attr}")
            check(field.get("TYPE") in TYPES, f"{tname}.{fname} TYPE is an XMLDB type")
            check(field.get("SEQUENCE") in TRUE_FALSE and field.get("NOTNULL") in TRUE_FALSE,
                  f"{tname}.{fname} SEQUENCE/NOTNULL are true/false")
            length = field.get("LENGTH")
            if field.get("TYPE") in ("int", "char", "number"):
                check(length is not None and LENGTH_RE.match(length), f"{tname}.{fname} has a valid LENGTH")
            elif length is not None:
                check(LENGTH_RE.match(length), f"{tname}.{fname} LENGTH is valid")
            if field.get("TYPE") == "text":
                check(field.get("DEFAULT") is None, f"{tname}.{fname} (text) has no DEFAULT")
            if field.get("SEQUENCE") == "true":
                check(fname == "id" and field.get("TYPE") == "int" and field.get("NOTNULL") == "true",
                      f"{tname}.{fname}: only the NOT NULL int id is a sequence")
            if field.get("DEFAULT") is not None and field.get("TYPE") == "int":
                check(re.match(r"^-?\d+$", field.get("DEFAULT")), f"{tname}.{fname} int DEFAULT is an integer")
        check(len(set(names)) == len(names), f"table {tname}: field names are unique")
        check(names and names[0] == "id", f"table {tname}: first field is id")
        known = set(names)
        keys = table.findall("KEYS/KEY")
        primaries = [k for k in keys if k.get("TYPE") == "primary"]
        check(len(primaries) == 1, f"table {tname} has exactly one primary key")
        if primaries:
            check(split_fields(primaries[0].get("FIELDS", "")) == ["id"], f"table {tname}: primary key is (id)")
            check(primaries[0].get("NAME") == "primary", f"table {tname}: primary key is named primary")
        seqs = [f.get("NAME") for f in fields if f.get("SEQUENCE") == "true"]
        check(seqs == ["id"], f"table {tname}: id is the one sequence")
        objnames = []
        for key in keys:
            kname = key.get("NAME", "")
            objnames.append(kname)
            check(NMTOKEN_RE.match(kname), f"{tname} key {kname!r} NAME is an NMTOKEN")
            check(key.get("TYPE") in KEY_TYPES, f"{tname} key {kname} TYPE is valid")
            kfields = key.get("FIELDS", "")
            check(FIELDS_LIST_RE.match(kfields), f"{tname} key {kname} FIELDS list is valid")
            missing = [f for f in split_fields(kfields) if f not in known]
            check(not missing, f"{tname} key {kname} references existing fields {missing or ''}")
            if key.get("TYPE", "").startswith("foreign"):
                reftable = key.get("REFTABLE")
                check(reftable and TABLE_RE.match(reftable) and key.get("REFFIELDS"),
                      f"{tname} key {kname} has REFTABLE and REFFIELDS")
                if reftable in table_names:
                    reffields = {f.get("NAME") for f in tables[table_names.index(reftable)].findall("FIELDS/FIELD")}
                    check(all(f in reffields for f in split_fields(key.get("REFFIELDS", ""))),
                          f"{tname} key {kname} REFFIELDS exist in {reftable}")
        indexed = set()
        for index in table.findall("INDEXES/INDEX"):
            iname = index.get("NAME", "")
            objnames.append(iname)
            check(NMTOKEN_RE.match(iname), f"{tname} index {iname!r} NAME is an NMTOKEN")
            check(index.get("UNIQUE") in TRUE_FALSE, f"{tname} index {iname} UNIQUE is true/false")
            ifields = index.get("FIELDS", "")
            check(FIELDS_LIST_RE.match(ifields), f"{tname} index {iname} FIELDS list is valid")
            flist = split_fields(ifields)
            missing = [f for f in flist if f not in known]
            check(flist and not missing, f"{tname} index {iname} references existing fields {missing or ''}")
            check(tuple(flist) not in indexed, f"{tname} index {iname} does not duplicate another index")
            indexed.add(tuple(flist))
            textfields = [f for f in fields if f.get("NAME") in flist and f.get("TYPE") in ("text", "binary")]
            check(not textfields, f"{tname} index {iname} has no text/binary field")
        check(len(set(objnames)) == len(objnames), f"table {tname}: key and index names are unique")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "moodle-block/db/install.xml")
    failed = 0
    for ok, what in results:
        print(("ok - " if ok else "not ok - ") + "xmldb: " + what)
        failed += 0 if ok else 1
    sys.exit(1 if failed else 0)
