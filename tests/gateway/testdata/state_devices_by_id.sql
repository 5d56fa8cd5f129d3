-- The devices table as the gateway wrote it before devices were keyed by school
BEGIN TRANSACTION;
CREATE TABLE devices (
    device_id TEXT PRIMARY KEY,
    school TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'unknown',
    firmware TEXT,
    battery_pct REAL,
    model_versions TEXT NOT NULL DEFAULT '{}',
    config_version TEXT,
    detail TEXT,
    status_at TEXT,
    last_seen TEXT,
    messages INTEGER NOT NULL DEFAULT 0,
    stopped INTEGER NOT NULL DEFAULT 0,
    edge_id TEXT
);
INSERT INTO "devices" VALUES('hr-01','school-a','hr_band','online','1.2.0',81.0,'{}',NULL,NULL,'2026-09-01T00:00:00+00:00','2026-09-01T00:00:00+00:00',42,0,'box-1');
INSERT INTO "devices" VALUES('box-1','school-a','edge','online','0.9',NULL,'{}',NULL,NULL,'2026-09-01T00:00:00+00:00',NULL,0,0,NULL);
INSERT INTO "devices" VALUES('gate-1','school-a','temp_gate','unknown',NULL,NULL,'{}',NULL,NULL,NULL,'2026-09-01T00:00:00+00:00',7,0,NULL);
COMMIT;
