"""The catalog's schema: its version and the numbered steps that bring an older catalog up to it.

Each step runs in its own transaction (store/catalog.py); statements are split on ";", so comments here
hold none. 1: files and contents; 2: inode and ctime; 3: date taken; 4: taught concepts (store/taught.py);
5: places (store/places.py); 6: faces and people (store/faces.py); 7: text read in photos
(store/photo_text.py; a catalog that read text before 7 has these tables already).
"""

SCHEMA_VERSION = 7

MIGRATIONS = {
    1: """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE contents (
        id INTEGER PRIMARY KEY,          -- also the row in the vector files
        hash TEXT NOT NULL UNIQUE,
        width INTEGER, height INTEGER,
        live INTEGER NOT NULL DEFAULT 1  -- 0 once no file holds this content (a tombstone)
    );
    CREATE TABLE files (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        hash TEXT,
        status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
        error TEXT,
        content_id INTEGER REFERENCES contents(id),
        indexed_at REAL NOT NULL
    );
    CREATE INDEX files_content ON files(content_id);
    """,
    2: """
    ALTER TABLE files ADD COLUMN inode INTEGER;
    ALTER TABLE files ADD COLUMN ctime_ns INTEGER
    """,
    3: """
    ALTER TABLE files ADD COLUMN taken_ns INTEGER
    """,
    4: """
    CREATE TABLE IF NOT EXISTS concepts (
        name TEXT PRIMARY KEY COLLATE NOCASE,  -- as first taught, a query word matches it in any case
        matches INTEGER NOT NULL,              -- collection photos it accepted when fitted
        updated_at REAL NOT NULL
    );
    CREATE TABLE IF NOT EXISTS concept_heads (
        concept TEXT NOT NULL COLLATE NOCASE,
        space TEXT NOT NULL,                   -- the stored vectors it scores: visual or joint
        weights BLOB NOT NULL,                 -- float32, score = sigmoid(vector . weights + bias)
        bias REAL NOT NULL,
        PRIMARY KEY (concept, space)
    );
    CREATE TABLE IF NOT EXISTS concept_examples (
        id INTEGER PRIMARY KEY,
        concept TEXT NOT NULL COLLATE NOCASE,
        positive INTEGER NOT NULL,             -- 1: an example, 0: a counter-example (--not)
        label TEXT NOT NULL,                   -- the file (or region of it) it came from, as given
        content_id INTEGER,                    -- when it is an indexed photo
        vector BLOB NOT NULL                   -- its visual vector (float32): the example outlives its file
    );
    CREATE INDEX IF NOT EXISTS concept_examples_concept ON concept_examples(concept)
    """,
    5: """
    CREATE TABLE IF NOT EXISTS places (
        content_id INTEGER PRIMARY KEY,  -- contents(id), a row once its GPS was read (lat NULL: none)
        lat REAL, lon REAL, alt REAL, direction REAL,
        city TEXT, region TEXT, country TEXT, country_code TEXT
    );
    CREATE INDEX IF NOT EXISTS places_name ON places(country_code, region, city)
    """,
    6: """
    CREATE TABLE IF NOT EXISTS people (
        id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: a forgotten person's id stays unused
        name TEXT UNIQUE COLLATE NOCASE,       -- NULL until named, a query word matches it in any case
        created_at REAL NOT NULL
    );
    CREATE TABLE IF NOT EXISTS faces (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        content_id INTEGER NOT NULL,           -- contents(id)
        x0 INTEGER NOT NULL, y0 INTEGER NOT NULL, x1 INTEGER NOT NULL, y1 INTEGER NOT NULL,
        score REAL NOT NULL,                   -- the detector's confidence
        quality REAL NOT NULL,                 -- 0..1, size and confidence: a person's cover face
        person_id INTEGER,                     -- people(id), NULL: not (yet) anyone's
        vector BLOB NOT NULL                   -- the face descriptor, float32 (encoders/faces.py)
    );
    CREATE INDEX IF NOT EXISTS faces_content ON faces(content_id);
    CREATE INDEX IF NOT EXISTS faces_person ON faces(person_id);
    CREATE TABLE IF NOT EXISTS faces_read (
        content_id INTEGER PRIMARY KEY,        -- a row once the face stage looked at this content
        faces INTEGER NOT NULL, small INTEGER NOT NULL, failed INTEGER NOT NULL, read_at REAL NOT NULL
    )
    """,
    7: """
    CREATE TABLE IF NOT EXISTS photo_text_read (content_id INTEGER PRIMARY KEY, lines INTEGER NOT NULL, read_at REAL NOT NULL);
    CREATE TABLE IF NOT EXISTS photo_text_lines (
        id INTEGER PRIMARY KEY, content_id INTEGER NOT NULL, text TEXT NOT NULL,
        x0 INTEGER NOT NULL, y0 INTEGER NOT NULL, x1 INTEGER NOT NULL, y1 INTEGER NOT NULL, confidence REAL NOT NULL
    );
    CREATE INDEX IF NOT EXISTS photo_text_lines_content ON photo_text_lines(content_id);
    CREATE VIRTUAL TABLE IF NOT EXISTS photo_text_fts USING fts5(norm, tokenize='trigram')
    """,
}
