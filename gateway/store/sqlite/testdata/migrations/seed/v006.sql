-- Operator states and user presence a gateway at schema version 6 had
-- (issue 14): anna paused for lunch, the admin available; u1000 set away.
INSERT INTO operator_states (account, state, reason, since) VALUES ('anna', 'paused', 'Lunch', 1764000700000000);
INSERT INTO operator_states (account, state, reason, since) VALUES ('admin', 'available', '', 1764000800000000);
INSERT INTO user_presence (device, presence, updated_at) VALUES ('gateway:u1000', 'away', 1764000900000000);
INSERT INTO user_presence (device, presence, updated_at) VALUES ('mitel1:1001', 'dnd', 1764000950000000);
