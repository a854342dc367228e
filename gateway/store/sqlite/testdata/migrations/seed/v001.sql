-- Rows a gateway at schema version 1 had written (users imported, phones
-- registered, a ban, the nonce secret). TestMigrations -update-fixture runs
-- this after migrating to version 1 and dumps the result to ../v001.sql.
INSERT INTO users VALUES ('u1000', 'Front desk', '1000', 'example.com', '4549155ee09df6b008976c0738935cc2', '9e863d10f7084d465325b990f509878b7c6bdfbc68993b62f48d97872511badb', 1764000000000000, 1764000000000000);
INSERT INTO users VALUES ('u1001', 'Müller, Jörg', '1001', 'example.com', '5dd6675c1099f084e2d6cfb531d7cfc2', '1ff9dfdd0f42028096cf1b93156ada230f50f372878735174b0899f50f9f78cf', 1764000000000000, 1764000500000000);
INSERT INTO users VALUES ('reception', 'O''Brien ''Reception''', '', 'example.com', 'bba8230b2cd5b1ef4b9e48bf7391592d', '17060c8a9e911a5f86f356a00a9ec8c81b867f1afaa522e0c618d28dea42f1a8', 1764000000000000, 1764000000000000);
INSERT INTO bindings VALUES ('u1000@example.com', 'c:sip:u1000@192.0.2.10:5060', 'sip:u1000@192.0.2.10:5060', '', -1, 4102444800000000, 'a84b4c76e66710@pc33', 1826, '', 0, '', '192.0.2.10:5060', 'udp', '198.51.100.1:5060', 'Yealink SIP-T46S 66.86.0.15', 1764000000000000);
INSERT INTO bindings VALUES ('u1000@example.com', 'i:<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>;reg-id=1', 'sip:u1000@203.0.113.5:41234;transport=ws;ob', '+sip.ice', 0.5, 4102444800000000, 'jssip-1', 3, '<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>', 1, '["<sip:edge.example.com;lr>","<sip:proxy.example.com;lr;ob>"]', '203.0.113.5:41234', 'wss', '198.51.100.1:8089', 'JsSIP 3.10.1', 1764000100000000);
INSERT INTO bindings VALUES ('u1001@example.com', 'c:sip:u1001@192.0.2.11:5062;transport=tcp', 'sip:u1001@192.0.2.11:5062;transport=tcp', 'expires-style=x', 1, 1764003600000000, 'zz@phone', 7, '', 0, '', '192.0.2.11:5062', 'tcp', '198.51.100.1:5060', 'baresip v3.9.0', 1764000200000000);
INSERT INTO bans VALUES ('203.0.113.66', '5 failed authentications', 1764007200000000, 1764000300000000);
INSERT INTO bans VALUES ('2001:db8::bad', 'flood', 0, 1764000400000000);
INSERT INTO settings VALUES ('auth.nonce_secret', 'q8mK3v7y0xZ2a9LkT1pN4rS6uW8bD0fH');
INSERT INTO settings VALUES ('registrar.realm_seen', 'example.com');
