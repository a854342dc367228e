-- Call records a gateway at schema version 2 had written: an answered
-- call with media counters, a diverted one, one from a trunk.
INSERT INTO call_records (id, call_id, direction, caller, callee, target, trunk, answered_by, diverted_to, setup, answer, end_time, status, cause, ended_by, media_a, media_b)
VALUES ('a84b4c76e66710@pc33;tag=sb1', 'a84b4c76e66710@pc33', 'local', 'u1000', '1001', 'u1001', '', 'u1001', '', 1764001000000000, 1764001003000000, 1764001063000000, 200, 'normal', 'caller',
        '{"packets":3000,"bytes":516000,"lost":2,"jitter_ms":1.5,"ignored":0}', '{"packets":2990,"bytes":514280,"lost":0,"jitter_ms":0.8,"ignored":3}');
INSERT INTO call_records (id, call_id, direction, caller, callee, target, trunk, answered_by, diverted_to, setup, answer, end_time, status, cause, ended_by, media_a, media_b)
VALUES ('c2@pc34;tag=sb2', 'c2@pc34', 'local', 'u1001', '1000', 'u1000', '', '', '8000', 1764002000000000, 0, 1764002020000000, 486, 'busy', '', '{}', '{}');
INSERT INTO call_records (id, call_id, direction, caller, callee, target, trunk, answered_by, diverted_to, setup, answer, end_time, status, cause, ended_by, media_a, media_b)
VALUES ('pbx-77@10.0.0.5;tag=sb3', 'pbx-77@10.0.0.5', 'inbound', '+4930123456', '1000', 'u1000', 'pbx1', 'u1000', '', 1764003000000000, 1764003002000000, 1764003100000000, 200, 'normal', 'callee', '{"packets":10,"bytes":1720,"lost":0,"jitter_ms":0,"ignored":0}', '{}');
