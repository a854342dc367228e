-- A call a blind transfer moved on, and one joined by an attended
-- transfer (RFC 3891 Replaces), at schema version 3.
INSERT INTO call_records (id, call_id, direction, caller, callee, target, trunk, answered_by, diverted_to, setup, answer, end_time, status, cause, ended_by, media_a, media_b, transferred_to, attended)
VALUES ('t1@pc35;tag=sb4', 't1@pc35', 'outbound', 'u1000', '0301234567', '+49301234567', 'pbx1', '', '', 1764004000000000, 1764004001000000, 1764004200000000, 200, 'normal', 'caller', '{}', '{}', 'u1001', 0);
INSERT INTO call_records (id, call_id, direction, caller, callee, target, trunk, answered_by, diverted_to, setup, answer, end_time, status, cause, ended_by, media_a, media_b, transferred_to, attended)
VALUES ('t2@pc36;tag=sb5', 't2@pc36', 'local', 'u1001', '1000', 'u1000', '', 'u1000', '', 1764005000000000, 1764005001000000, 1764005300000000, 200, 'normal', 'callee', '{}', '{}', 'reception', 1);
