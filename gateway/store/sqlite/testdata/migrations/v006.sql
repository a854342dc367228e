-- A Switchboard store at schema version 6, written by
-- `go test ./gateway/store/sqlite -run TestMigrations -update-fixture`.
-- Never edit it: it is the data of a shipped schema version.
BEGIN;
CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at INTEGER NOT NULL);
INSERT INTO "schema_version" ("version", "applied_at") VALUES (1, 1764000000000001);
INSERT INTO "schema_version" ("version", "applied_at") VALUES (2, 1764000000000002);
INSERT INTO "schema_version" ("version", "applied_at") VALUES (3, 1764000000000003);
INSERT INTO "schema_version" ("version", "applied_at") VALUES (4, 1764000000000004);
INSERT INTO "schema_version" ("version", "applied_at") VALUES (5, 1764000000000005);
INSERT INTO "schema_version" ("version", "applied_at") VALUES (6, 1764000000000006);
CREATE TABLE users (
		username     TEXT PRIMARY KEY NOT NULL,
		display_name TEXT NOT NULL DEFAULT '',
		extension    TEXT NOT NULL DEFAULT '',
		realm        TEXT NOT NULL,
		ha1_md5      TEXT NOT NULL,
		ha1_sha256   TEXT NOT NULL,
		created_at   INTEGER NOT NULL,
		updated_at   INTEGER NOT NULL
	) WITHOUT ROWID;
INSERT INTO "users" ("username", "display_name", "extension", "realm", "ha1_md5", "ha1_sha256", "created_at", "updated_at") VALUES ('reception', 'O''Brien ''Reception''', '', 'example.com', 'bba8230b2cd5b1ef4b9e48bf7391592d', '17060c8a9e911a5f86f356a00a9ec8c81b867f1afaa522e0c618d28dea42f1a8', 1764000000000000, 1764000000000000);
INSERT INTO "users" ("username", "display_name", "extension", "realm", "ha1_md5", "ha1_sha256", "created_at", "updated_at") VALUES ('u1000', 'Front desk', '1000', 'example.com', '4549155ee09df6b008976c0738935cc2', '9e863d10f7084d465325b990f509878b7c6bdfbc68993b62f48d97872511badb', 1764000000000000, 1764000000000000);
INSERT INTO "users" ("username", "display_name", "extension", "realm", "ha1_md5", "ha1_sha256", "created_at", "updated_at") VALUES ('u1001', 'Müller, Jörg', '1001', 'example.com', '5dd6675c1099f084e2d6cfb531d7cfc2', '1ff9dfdd0f42028096cf1b93156ada230f50f372878735174b0899f50f9f78cf', 1764000000000000, 1764000500000000);
CREATE TABLE bindings (
		aor         TEXT NOT NULL,
		key         TEXT NOT NULL,
		contact_uri TEXT NOT NULL,
		params      TEXT NOT NULL DEFAULT '',
		q           REAL NOT NULL DEFAULT -1,
		expires     INTEGER NOT NULL,
		call_id     TEXT NOT NULL DEFAULT '',
		cseq        INTEGER NOT NULL DEFAULT 0,
		instance_id TEXT NOT NULL DEFAULT '',
		reg_id      INTEGER NOT NULL DEFAULT 0,
		path        TEXT NOT NULL DEFAULT '',
		source      TEXT NOT NULL DEFAULT '',
		transport   TEXT NOT NULL DEFAULT '',
		local_addr  TEXT NOT NULL DEFAULT '',
		user_agent  TEXT NOT NULL DEFAULT '',
		updated_at  INTEGER NOT NULL,
		PRIMARY KEY (aor, key)
	) WITHOUT ROWID;
INSERT INTO "bindings" ("aor", "key", "contact_uri", "params", "q", "expires", "call_id", "cseq", "instance_id", "reg_id", "path", "source", "transport", "local_addr", "user_agent", "updated_at") VALUES ('u1000@example.com', 'c:sip:u1000@192.0.2.10:5060', 'sip:u1000@192.0.2.10:5060', '', -1.0, 4102444800000000, 'a84b4c76e66710@pc33', 1826, '', 0, '', '192.0.2.10:5060', 'udp', '198.51.100.1:5060', 'Yealink SIP-T46S 66.86.0.15', 1764000000000000);
INSERT INTO "bindings" ("aor", "key", "contact_uri", "params", "q", "expires", "call_id", "cseq", "instance_id", "reg_id", "path", "source", "transport", "local_addr", "user_agent", "updated_at") VALUES ('u1000@example.com', 'i:<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>;reg-id=1', 'sip:u1000@203.0.113.5:41234;transport=ws;ob', '+sip.ice', 0.5, 4102444800000000, 'jssip-1', 3, '<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>', 1, '["<sip:edge.example.com;lr>","<sip:proxy.example.com;lr;ob>"]', '203.0.113.5:41234', 'wss', '198.51.100.1:8089', 'JsSIP 3.10.1', 1764000100000000);
INSERT INTO "bindings" ("aor", "key", "contact_uri", "params", "q", "expires", "call_id", "cseq", "instance_id", "reg_id", "path", "source", "transport", "local_addr", "user_agent", "updated_at") VALUES ('u1001@example.com', 'c:sip:u1001@192.0.2.11:5062;transport=tcp', 'sip:u1001@192.0.2.11:5062;transport=tcp', 'expires-style=x', 1.0, 1764003600000000, 'zz@phone', 7, '', 0, '', '192.0.2.11:5062', 'tcp', '198.51.100.1:5060', 'baresip v3.9.0', 1764000200000000);
CREATE TABLE bans (
		ip         TEXT PRIMARY KEY NOT NULL,
		reason     TEXT NOT NULL DEFAULT '',
		until      INTEGER NOT NULL,
		created_at INTEGER NOT NULL
	) WITHOUT ROWID;
INSERT INTO "bans" ("ip", "reason", "until", "created_at") VALUES ('2001:db8::bad', 'flood', 0, 1764000400000000);
INSERT INTO "bans" ("ip", "reason", "until", "created_at") VALUES ('203.0.113.66', '5 failed authentications', 1764007200000000, 1764000300000000);
CREATE TABLE settings (
		key   TEXT PRIMARY KEY NOT NULL,
		value TEXT NOT NULL
	) WITHOUT ROWID;
INSERT INTO "settings" ("key", "value") VALUES ('auth.nonce_secret', 'q8mK3v7y0xZ2a9LkT1pN4rS6uW8bD0fH');
INSERT INTO "settings" ("key", "value") VALUES ('registrar.realm_seen', 'example.com');
CREATE TABLE call_records (
		id          TEXT PRIMARY KEY NOT NULL,
		call_id     TEXT NOT NULL DEFAULT '',
		direction   TEXT NOT NULL DEFAULT '',
		caller      TEXT NOT NULL DEFAULT '',
		callee      TEXT NOT NULL DEFAULT '',
		target      TEXT NOT NULL DEFAULT '',
		trunk       TEXT NOT NULL DEFAULT '',
		answered_by TEXT NOT NULL DEFAULT '',
		diverted_to TEXT NOT NULL DEFAULT '',
		setup       INTEGER NOT NULL,
		answer      INTEGER NOT NULL,
		end_time    INTEGER NOT NULL,
		status      INTEGER NOT NULL DEFAULT 0,
		cause       TEXT NOT NULL DEFAULT '',
		ended_by    TEXT NOT NULL DEFAULT '',
		media_a     TEXT NOT NULL DEFAULT '{}',
		media_b     TEXT NOT NULL DEFAULT '{}'
	, transferred_to TEXT NOT NULL DEFAULT '', attended INTEGER NOT NULL DEFAULT 0);
INSERT INTO "call_records" ("id", "call_id", "direction", "caller", "callee", "target", "trunk", "answered_by", "diverted_to", "setup", "answer", "end_time", "status", "cause", "ended_by", "media_a", "media_b", "transferred_to", "attended") VALUES ('a84b4c76e66710@pc33;tag=sb1', 'a84b4c76e66710@pc33', 'local', 'u1000', '1001', 'u1001', '', 'u1001', '', 1764001000000000, 1764001003000000, 1764001063000000, 200, 'normal', 'caller', '{"packets":3000,"bytes":516000,"lost":2,"jitter_ms":1.5,"ignored":0}', '{"packets":2990,"bytes":514280,"lost":0,"jitter_ms":0.8,"ignored":3}', '', 0);
INSERT INTO "call_records" ("id", "call_id", "direction", "caller", "callee", "target", "trunk", "answered_by", "diverted_to", "setup", "answer", "end_time", "status", "cause", "ended_by", "media_a", "media_b", "transferred_to", "attended") VALUES ('c2@pc34;tag=sb2', 'c2@pc34', 'local', 'u1001', '1000', 'u1000', '', '', '8000', 1764002000000000, 0, 1764002020000000, 486, 'busy', '', '{}', '{}', '', 0);
INSERT INTO "call_records" ("id", "call_id", "direction", "caller", "callee", "target", "trunk", "answered_by", "diverted_to", "setup", "answer", "end_time", "status", "cause", "ended_by", "media_a", "media_b", "transferred_to", "attended") VALUES ('pbx-77@10.0.0.5;tag=sb3', 'pbx-77@10.0.0.5', 'inbound', '+4930123456', '1000', 'u1000', 'pbx1', 'u1000', '', 1764003000000000, 1764003002000000, 1764003100000000, 200, 'normal', 'callee', '{"packets":10,"bytes":1720,"lost":0,"jitter_ms":0,"ignored":0}', '{}', '', 0);
INSERT INTO "call_records" ("id", "call_id", "direction", "caller", "callee", "target", "trunk", "answered_by", "diverted_to", "setup", "answer", "end_time", "status", "cause", "ended_by", "media_a", "media_b", "transferred_to", "attended") VALUES ('t1@pc35;tag=sb4', 't1@pc35', 'outbound', 'u1000', '0301234567', '+49301234567', 'pbx1', '', '', 1764004000000000, 1764004001000000, 1764004200000000, 200, 'normal', 'caller', '{}', '{}', 'u1001', 0);
INSERT INTO "call_records" ("id", "call_id", "direction", "caller", "callee", "target", "trunk", "answered_by", "diverted_to", "setup", "answer", "end_time", "status", "cause", "ended_by", "media_a", "media_b", "transferred_to", "attended") VALUES ('t2@pc36;tag=sb5', 't2@pc36', 'local', 'u1001', '1000', 'u1000', '', 'u1000', '', 1764005000000000, 1764005001000000, 1764005300000000, 200, 'normal', 'callee', '{}', '{}', 'reception', 1);
CREATE TABLE accounts (
		name          TEXT PRIMARY KEY NOT NULL,
		display_name  TEXT NOT NULL DEFAULT '',
		role          TEXT NOT NULL,
		groups_json   TEXT NOT NULL DEFAULT '[]',
		device        TEXT NOT NULL DEFAULT '',
		password_hash TEXT NOT NULL,
		disabled      INTEGER NOT NULL DEFAULT 0,
		created_at    INTEGER NOT NULL,
		updated_at    INTEGER NOT NULL
	) WITHOUT ROWID;
INSERT INTO "accounts" ("name", "display_name", "role", "groups_json", "device", "password_hash", "disabled", "created_at", "updated_at") VALUES ('admin', 'Administrator', 'admin', '[]', '', '$argon2id$v=19$m=65536,t=2,p=1$c2FsdC1vZi1hZG1pbg$3q2+7w8AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 0, 1764000000000000, 1764000000000000);
INSERT INTO "accounts" ("name", "display_name", "role", "groups_json", "device", "password_hash", "disabled", "created_at", "updated_at") VALUES ('anna', 'Anna Operator', 'operator', '["reception","night"]', 'gateway:u1000', '$argon2id$v=19$m=65536,t=2,p=1$c2FsdC1vZi1hbm5h$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 0, 1764000100000000, 1764000200000000);
INSERT INTO "accounts" ("name", "display_name", "role", "groups_json", "device", "password_hash", "disabled", "created_at", "updated_at") VALUES ('sup', 'Old supervisor', 'supervisor', '[]', '', '$argon2id$v=19$m=65536,t=2,p=1$c2FsdC1vZi1zdXA$BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB', 1, 1764000100000000, 1764000300000000);
CREATE TABLE account_sessions (
		id_hash    TEXT PRIMARY KEY NOT NULL,
		account    TEXT NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
		source     TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL,
		last_seen  INTEGER NOT NULL
	) WITHOUT ROWID;
INSERT INTO "account_sessions" ("id_hash", "account", "source", "created_at", "last_seen") VALUES ('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'anna', '192.0.2.50', 1764000400000000, 1764000500000000);
CREATE TABLE api_tokens (
		id         TEXT PRIMARY KEY NOT NULL,
		hash       TEXT NOT NULL,
		name       TEXT NOT NULL DEFAULT '',
		account    TEXT NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
		role       TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		expires    INTEGER NOT NULL DEFAULT 0
	) WITHOUT ROWID;
INSERT INTO "api_tokens" ("id", "hash", "name", "account", "role", "created_at", "expires") VALUES ('tok1', '60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752', 'wallboard', 'anna', 'operator', 1764000600000000, 0);
CREATE TABLE contacts (
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		name       TEXT NOT NULL,
		numbers    TEXT NOT NULL DEFAULT '',
		company    TEXT NOT NULL DEFAULT '',
		email      TEXT NOT NULL DEFAULT '',
		notes      TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	);
INSERT INTO "contacts" ("id", "name", "numbers", "company", "email", "notes", "created_at", "updated_at") VALUES (1764000000000001, 'contacts.name.1', 'contacts.numbers.1', 'contacts.company.1', 'contacts.email.1', 'contacts.notes.1', 1764000000000001, 1764000000000001);
INSERT INTO "contacts" ("id", "name", "numbers", "company", "email", "notes", "created_at", "updated_at") VALUES (1764000000000002, 'contacts.name.2', 'contacts.numbers.2', 'contacts.company.2', 'contacts.email.2', 'contacts.notes.2', 1764000000000002, 1764000000000002);
INSERT INTO "contacts" ("id", "name", "numbers", "company", "email", "notes", "created_at", "updated_at") VALUES (1764000000000003, 'contacts.name.3', 'contacts.numbers.3', 'contacts.company.3', 'contacts.email.3', 'contacts.notes.3', 1764000000000003, 1764000000000003);
CREATE TABLE operator_states (
		account TEXT PRIMARY KEY NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
		state   TEXT NOT NULL,
		reason  TEXT NOT NULL DEFAULT '',
		since   INTEGER NOT NULL
	) WITHOUT ROWID;
INSERT INTO "operator_states" ("account", "state", "reason", "since") VALUES ('admin', 'available', '', 1764000800000000);
INSERT INTO "operator_states" ("account", "state", "reason", "since") VALUES ('anna', 'paused', 'Lunch', 1764000700000000);
CREATE TABLE user_presence (
		device     TEXT PRIMARY KEY NOT NULL,
		presence   TEXT NOT NULL,
		updated_at INTEGER NOT NULL
	) WITHOUT ROWID;
INSERT INTO "user_presence" ("device", "presence", "updated_at") VALUES ('gateway:u1000', 'away', 1764000900000000);
INSERT INTO "user_presence" ("device", "presence", "updated_at") VALUES ('mitel1:1001', 'dnd', 1764000950000000);
CREATE INDEX bindings_expires ON bindings (expires);
CREATE INDEX call_records_setup ON call_records (setup, id);
CREATE INDEX call_records_caller ON call_records (caller, setup);
CREATE INDEX call_records_callee ON call_records (callee, setup);
CREATE INDEX call_records_target ON call_records (target, setup);
CREATE INDEX call_records_answered_by ON call_records (answered_by, setup);
CREATE INDEX account_sessions_account ON account_sessions (account);
CREATE INDEX api_tokens_account ON api_tokens (account);
CREATE INDEX contacts_name ON contacts (name COLLATE NOCASE, id);
COMMIT;
