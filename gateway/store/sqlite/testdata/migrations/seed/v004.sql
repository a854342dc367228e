-- Accounts of the HTTPS side a gateway at schema version 4 had (issue 14):
-- the first-run admin, an operator in two groups with a session and a
-- token, a disabled supervisor.
INSERT INTO accounts (name, display_name, role, groups_json, device, password_hash, disabled, created_at, updated_at)
VALUES ('admin', 'Administrator', 'admin', '[]', '', '$argon2id$v=19$m=65536,t=2,p=1$c2FsdC1vZi1hZG1pbg$3q2+7w8AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 0, 1764000000000000, 1764000000000000);
INSERT INTO accounts (name, display_name, role, groups_json, device, password_hash, disabled, created_at, updated_at)
VALUES ('anna', 'Anna Operator', 'operator', '["reception","night"]', 'gateway:u1000', '$argon2id$v=19$m=65536,t=2,p=1$c2FsdC1vZi1hbm5h$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 0, 1764000100000000, 1764000200000000);
INSERT INTO accounts (name, display_name, role, groups_json, device, password_hash, disabled, created_at, updated_at)
VALUES ('sup', 'Old supervisor', 'supervisor', '[]', '', '$argon2id$v=19$m=65536,t=2,p=1$c2FsdC1vZi1zdXA$BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB', 1, 1764000100000000, 1764000300000000);
INSERT INTO account_sessions (id_hash, account, source, created_at, last_seen)
VALUES ('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'anna', '192.0.2.50', 1764000400000000, 1764000500000000);
INSERT INTO api_tokens (id, hash, name, account, role, created_at, expires)
VALUES ('tok1', '60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752', 'wallboard', 'anna', 'operator', 1764000600000000, 0);
