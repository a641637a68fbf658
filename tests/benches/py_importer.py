#!/usr/bin/env python3
"""A plain single-threaded Wonde importer in Python (requests + sqlite3), the
yardstick for `b2b import run` in tests/benches/cli_import.sh.

It does comparable work to the b2b import, one school and one page at a time:
fetch every page of a school's students (same includes, 200 a page) and its
deletions, keep the transferred bytes zlib-compressed as the school's file,
match each pupil to a held record by UPN, hash each data group and compare it
with the cached hash, compare the changed groups' values with the held record
(counting differences as conflicts), write the cache, one transaction per
school.

  py_importer.py seed-b2b DB BASE TOKEN   hold every sandbox pupil in b2b's database
                                          (and fetch every page once)
  py_importer.py seed-py  DB BASE TOKEN   the same in this importer's own database
  py_importer.py import   DB BASE TOKEN   import every school (the cache skips what is unchanged)
"""
import hashlib
import json
import sqlite3
import sys
import time
import zlib

import requests

INCLUDES = "contact_details,education_details,extended_details,year,contacts,contacts.contact_details"
GROUPS = {
    "basic": ["forename", "middle_names", "surname", "legal_forename", "legal_surname", "gender", "date_of_birth"],
    "identifiers": ["upn", "former_upn"],
    "address": ["house", "street", "district", "town", "county", "postcode"],
    "education": ["nc_year", "admission_date"],
    "extended": ["sen_status", "free_school_meals", "eal", "pupil_premium"],
}
FIELDS = [f for fields in GROUPS.values() for f in fields]


def pages(session, url):
    """Every page of a list, following meta.pagination.next; yields (bytes, data)."""
    while url:
        response = session.get(url, timeout=120)
        response.raise_for_status()
        body = response.content
        page = json.loads(body)
        yield body, page["data"]
        url = (page.get("meta") or {}).get("pagination", {}).get("next")


def text(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return text(value.get("date"))
    return str(value).strip() or None


def held_record(s):
    """A pupil as the LA holds it: the fields of GROUPS."""
    details = ((s.get("education_details") or {}).get("data")) or {}
    extended = ((s.get("extended_details") or {}).get("data")) or {}
    home = (((s.get("contact_details") or {}).get("data") or {}).get("addresses") or {}).get("home") or {}
    date = lambda v: (text(v) or "")[:10] or None
    return {
        "forename": text(s.get("forename")), "middle_names": text(s.get("middle_names")),
        "surname": text(s.get("surname")), "legal_forename": text(s.get("legal_forename")),
        "legal_surname": text(s.get("legal_surname")), "gender": (text(s.get("gender")) or "")[:1] or None,
        "date_of_birth": date(s.get("date_of_birth")), "upn": text(details.get("upn")),
        "former_upn": text(details.get("former_upn")), "house": text(home.get("house_number")),
        "street": text(home.get("street")), "district": text(home.get("district")),
        "town": text(home.get("town")), "county": text(home.get("county")),
        "postcode": text(home.get("postcode")), "nc_year": text(details.get("current_nc_year")),
        "admission_date": date(details.get("admission_date")), "sen_status": text(extended.get("sen_status")),
        "free_school_meals": text(extended.get("free_school_meals")),
        "eal": text(extended.get("english_as_additional_language_status")),
        "pupil_premium": text(extended.get("premium_pupil_indicator")),
    }


def session_for(token):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def every_pupil(base, token):
    session = session_for(token)
    for _, schools in pages(session, f"{base}schools"):
        for school in schools:
            url = f"{base}schools/{school['id']}/students?include={INCLUDES}&per_page=200"
            for _, students in pages(session, url):
                yield from students


def seed(db, base, token, table):
    conn = sqlite3.connect(db)
    now = int(time.time())
    columns = ", ".join(FIELDS)
    marks = ", ".join("?" for _ in FIELDS)
    extra = ", created_at, updated_at" if table == "students" else ""
    extra_marks = ", ?, ?" if table == "students" else ""
    rows = (
        [held_record(s)[f] for f in FIELDS] + ([now, now] if table == "students" else [])
        for s in every_pupil(base, token)
    )
    with conn:
        conn.executemany(f"INSERT INTO {table} ({columns}{extra}) VALUES ({marks}{extra_marks})", rows)
    conn.close()


def create_own(db):
    conn = sqlite3.connect(db)
    conn.executescript(
        f"""
        CREATE TABLE IF NOT EXISTS held (id INTEGER PRIMARY KEY, {", ".join(FIELDS)});
        CREATE INDEX IF NOT EXISTS held_upn ON held(upn);
        CREATE TABLE IF NOT EXISTS files (id INTEGER PRIMARY KEY, school TEXT, received_at INTEGER,
            status TEXT, records INTEGER, payload BLOB);
        CREATE TABLE IF NOT EXISTS cache (school TEXT, student TEXT, grp TEXT, hash TEXT,
            PRIMARY KEY (school, student, grp));
        CREATE TABLE IF NOT EXISTS conflicts (id INTEGER PRIMARY KEY, held_id INTEGER, field TEXT,
            incoming TEXT, UNIQUE (held_id, field));
        """
    )
    conn.close()


def import_school(conn, session, base, school):
    sid = school["id"]
    compressor = zlib.compressobj()
    payload, pupils = [], []
    url = f"{base}schools/{sid}/students?include={INCLUDES}&per_page=200"
    for body, students in pages(session, url):
        payload.append(compressor.compress(body))
        pupils.extend(students)
    for body, _ in pages(session, f"{base}schools/{sid}/deletions?type=student&per_page=200"):
        payload.append(compressor.compress(body))
    payload.append(compressor.flush())
    cached = dict(((s, g), h) for s, g, h in conn.execute(
        "SELECT student, grp, hash FROM cache WHERE school = ?", (sid,)))
    changed = 0
    with conn:
        for s in pupils:
            record = held_record(s)
            held = conn.execute(f"SELECT id, {', '.join(FIELDS)} FROM held WHERE upn = ?",
                                (record["upn"],)).fetchone()
            for group, fields in GROUPS.items():
                values = [record[f] for f in fields]
                digest = hashlib.sha256(json.dumps(values).encode()).hexdigest()[:32]
                if cached.get((s["id"], group)) == digest:
                    continue
                changed += 1
                if held is not None:
                    for f in fields:
                        if held[1 + FIELDS.index(f)] != record[f]:
                            conn.execute("INSERT OR REPLACE INTO conflicts (held_id, field, incoming) VALUES (?, ?, ?)",
                                         (held[0], f, record[f]))
                conn.execute("INSERT OR REPLACE INTO cache (school, student, grp, hash) VALUES (?, ?, ?, ?)",
                             (sid, s["id"], group, digest))
        conn.execute("INSERT INTO files (school, received_at, status, records, payload) VALUES (?, ?, 'completed', ?, ?)",
                     (sid, int(time.time()), len(pupils), b"".join(payload)))
    return len(pupils), changed


def run_import(db, base, token):
    conn = sqlite3.connect(db)
    session = session_for(token)
    received = changed = 0
    for _, schools in pages(session, f"{base}schools"):
        for school in schools:
            r, c = import_school(conn, session, base, school)
            received, changed = received + r, changed + c
    conn.close()
    print(f"received {received} students, {changed} data groups changed")


def main(argv):
    command, db, base, token = argv[1:5]
    if command == "seed-b2b":
        seed(db, base, token, "students")
    elif command == "seed-py":
        create_own(db)
        seed(db, base, token, "held")
    elif command == "import":
        run_import(db, base, token)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
