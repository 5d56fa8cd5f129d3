BEGIN TRANSACTION;
CREATE TABLE absences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    school TEXT NOT NULL,
    day TEXT NOT NULL,
    student_id TEXT NOT NULL,
    class_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    symptoms TEXT NOT NULL DEFAULT '',
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    UNIQUE (day, student_id)
);
INSERT INTO "absences" VALUES(1,'sch1','2026-09-01','s2','c1','illness','cough','t1','2026-09-01T00:30:00+00:00');
CREATE TABLE alert_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    status TEXT NOT NULL,
    http_status INTEGER,
    error TEXT,
    alert_ids TEXT NOT NULL,
    at TEXT NOT NULL
);
INSERT INTO "alert_deliveries" VALUES(1,'n1','webhook','dingtalk',1,'delivered',200,NULL,'[1]','2026-12-04T14:06:51.557522+00:00');
CREATE TABLE alert_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id INTEGER NOT NULL REFERENCES alerts(id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO "alert_events" VALUES(1,1,'2026-09-01T00:30:00+00:00','system','opened','{"summary": "fever 38.2 \u00b0C at gate-1", "silenced": false, "max_value": 38.2}');
INSERT INTO "alert_events" VALUES(2,1,'2026-09-01T00:30:00+00:00','nurse1','acknowledged','{"note": "seen"}');
CREATE TABLE alert_sources (
    rule TEXT NOT NULL,
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    alert_id INTEGER NOT NULL REFERENCES alerts(id),
    PRIMARY KEY (rule, device_id, seq)
);
INSERT INTO "alert_sources" VALUES('fever','gate-1',7,1);
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    rule TEXT NOT NULL,
    school TEXT NOT NULL,
    severity TEXT NOT NULL,
    state TEXT NOT NULL,
    summary TEXT NOT NULL,
    student_id TEXT,
    class_id TEXT,
    lesson_id TEXT,
    teacher_id TEXT,
    device_id TEXT,
    detail TEXT NOT NULL DEFAULT '{}',
    count INTEGER NOT NULL DEFAULT 1,
    opened_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    acknowledged_at TEXT,
    acknowledged_by TEXT,
    resolved_at TEXT,
    resolved_by TEXT,
    outcome TEXT,
    last_notified_at TEXT,
    notify_count INTEGER NOT NULL DEFAULT 0,
    escalation_level INTEGER NOT NULL DEFAULT 0,
    silenced INTEGER NOT NULL DEFAULT 0
);
INSERT INTO "alerts" VALUES(1,'fever:sch1:s1','fever','sch1','warning','acknowledged','fever 38.2 °C at gate-1','s1','c1',NULL,NULL,'gate-1','{"max_value": 38.2}',1,'2026-09-01T00:30:00+00:00','2026-09-01T00:30:00+00:00','2026-09-01T00:30:00+00:00','nurse1',NULL,NULL,NULL,NULL,0,0,0);
CREATE TABLE assignments (
    lesson_id TEXT NOT NULL REFERENCES lessons(id),
    device_id TEXT NOT NULL,
    student_id TEXT NOT NULL REFERENCES students(id),
    PRIMARY KEY (lesson_id, device_id)
);
INSERT INTO "assignments" VALUES('92ca73ca1e92','band-01','s1');
INSERT INTO "assignments" VALUES('test1','rope-01','s2');
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
INSERT INTO "audit_log" VALUES(1,'2026-09-01T00:30:00+00:00','nurse1','health_staff','read','student','s1','');
CREATE TABLE cards (
    card_id TEXT PRIMARY KEY,
    student_id TEXT NOT NULL REFERENCES students(id)
);
INSERT INTO "cards" VALUES('C-00A1','s1');
INSERT INTO "cards" VALUES('C-00B2','s2');
CREATE TABLE classes (
    id TEXT PRIMARY KEY,
    school TEXT NOT NULL,
    name TEXT NOT NULL,
    grade TEXT NOT NULL,
    pe_teacher_id TEXT
);
INSERT INTO "classes" VALUES('c1','sch1','Grade 7 class 1','7','t1');
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
INSERT INTO "devices" VALUES('band-01','sch1','hr_band','online','1.2.0',87.5,'{}',NULL,NULL,'2026-09-01T00:30:00+00:00','2026-09-01T00:30:00+00:00',12,0,NULL);
CREATE TABLE fitness_results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lesson_id TEXT NOT NULL REFERENCES lessons(id),
    student_id TEXT NOT NULL REFERENCES students(id),
    item TEXT NOT NULL,
    value TEXT NOT NULL,
    unit TEXT NOT NULL,
    score INTEGER,
    bonus INTEGER,
    source TEXT NOT NULL CHECK (source IN ('device', 'staff')),
    device_id TEXT,
    seq INTEGER,
    entered_by TEXT,
    measured_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    CHECK ((source = 'device') = (device_id IS NOT NULL AND seq IS NOT NULL))
);
INSERT INTO "fitness_results" VALUES(1,'test1','s2','height_cm','158.5','cm',NULL,NULL,'device','rope-01',9,NULL,'2026-09-01T00:30:00+00:00','2026-12-04T14:06:51.568942+00:00');
INSERT INTO "fitness_results" VALUES(2,'test1','s2','weight_kg','47.2','kg',NULL,NULL,'staff',NULL,NULL,'t1','2026-09-01T00:30:00+00:00','2026-12-04T14:06:51.568942+00:00');
CREATE TABLE lessons (
    id TEXT PRIMARY KEY,
    class_id TEXT NOT NULL REFERENCES classes(id),
    teacher_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT
);
INSERT INTO "lessons" VALUES('92ca73ca1e92','c1','t1','lesson','2026-09-01T00:30:00+00:00','2026-09-01T01:10:00+00:00');
INSERT INTO "lessons" VALUES('test1','c1','t1','fitness_test','2026-09-01T00:30:00+00:00',NULL);
CREATE TABLE referrals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    school TEXT NOT NULL,
    student_id TEXT NOT NULL,
    class_id TEXT,
    screened_at TEXT NOT NULL,
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    findings TEXT NOT NULL,
    worst_grade TEXT,
    status TEXT NOT NULL DEFAULT 'open',
    updated_by TEXT,
    updated_at TEXT,
    UNIQUE (device_id, seq)
);
INSERT INTO "referrals" VALUES(1,'sch1','s2','c1','2026-09-01T00:30:00+00:00','screener-1',3,'[{"eye": "left", "grade": "moderate"}]','moderate','open',NULL,NULL);
CREATE TABLE silences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    school TEXT NOT NULL,
    rule TEXT,
    device_id TEXT,
    class_id TEXT,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    reason TEXT NOT NULL
);
INSERT INTO "silences" VALUES(1,'sch1',NULL,'gate-2',NULL,'2026-09-01T00:30:00.000000Z','2026-09-01T02:30:00.000000Z','it1','maintenance');
CREATE TABLE students (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    sex TEXT NOT NULL CHECK (sex IN ('M', 'F')),
    birth_date TEXT NOT NULL,
    class_id TEXT NOT NULL REFERENCES classes(id)
);
INSERT INTO "students" VALUES('s1','Zhang San','M','2013-03-01','c1');
INSERT INTO "students" VALUES('s2','Li Si','F','2013-05-02','c1');
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
INSERT INTO "users" VALUES('nurse1','Nurse Li','health_staff','e23f81e308a57b3ff849a8412c267970398b992c7bbd5cb28fee6bfc64276062','2026-12-04T14:06:51.552Z');
INSERT INTO "users" VALUES('t1','Teacher Wang','pe_teacher','968b9e6a232ae639df476b3bd1e6ca521619d903d09e53f99aed1abad4ad7284','2026-12-04T14:06:51.552Z');
CREATE TABLE vision_screenings (
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    school TEXT NOT NULL,
    student_id TEXT NOT NULL,
    at TEXT NOT NULL,
    acuity_left REAL, acuity_right REAL,
    se_left REAL, se_right REAL,
    PRIMARY KEY (device_id, seq)
);
INSERT INTO "vision_screenings" VALUES('screener-1',3,'sch1','s2','2026-09-01T00:30:00+00:00',4.6,4.8,-1.25,-0.5);
CREATE TABLE warning_level_state (
    school TEXT NOT NULL,
    scope TEXT NOT NULL,
    day TEXT NOT NULL,
    level TEXT NOT NULL,
    PRIMARY KEY (school, scope, day)
);
CREATE TABLE webhook_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    alert_ids TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    queued_at TEXT NOT NULL,
    UNIQUE (target, notification_id)
);
INSERT INTO "webhook_outbox" VALUES(1,'dingtalk','n2','[1]','{"text": "fever"}',0,'2026-12-04T14:06:51.557790+00:00');
CREATE INDEX audit_subject ON audit_log(subject_type, subject_id);
CREATE INDEX assignments_device ON assignments(device_id);
CREATE UNIQUE INDEX alerts_active_key ON alerts(key) WHERE state != 'resolved';
CREATE INDEX alerts_school_opened ON alerts(school, opened_at);
CREATE INDEX alert_events_alert ON alert_events(alert_id);
CREATE INDEX vision_screenings_student ON vision_screenings(student_id, at);
CREATE INDEX alert_deliveries_notification ON alert_deliveries(notification_id);
CREATE UNIQUE INDEX fitness_results_device_seq
    ON fitness_results(device_id, seq) WHERE device_id IS NOT NULL;
CREATE INDEX fitness_results_lesson ON fitness_results(lesson_id, student_id);
CREATE INDEX fitness_results_student ON fitness_results(student_id);
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('audit_log',1);
INSERT INTO "sqlite_sequence" VALUES('alerts',1);
INSERT INTO "sqlite_sequence" VALUES('alert_events',2);
INSERT INTO "sqlite_sequence" VALUES('silences',1);
INSERT INTO "sqlite_sequence" VALUES('referrals',1);
INSERT INTO "sqlite_sequence" VALUES('alert_deliveries',1);
INSERT INTO "sqlite_sequence" VALUES('webhook_outbox',1);
INSERT INTO "sqlite_sequence" VALUES('absences',1);
INSERT INTO "sqlite_sequence" VALUES('fitness_results',2);
COMMIT;
