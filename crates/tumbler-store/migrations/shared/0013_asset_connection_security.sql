-- How Tumbler proves a target's identity before sending it a secret (issue 14):
-- trust on first use per asset (off by default), the TLS mode of database connections
-- (disable and require only for loopback), the CA for verify_full, and whether Redis may receive
-- AUTH in clear on a non-loopback address.
ALTER TABLE assets ADD COLUMN trust_on_first_use BIGINT NOT NULL DEFAULT 0;
ALTER TABLE assets ADD COLUMN tls_mode TEXT NOT NULL DEFAULT 'verify_full';
ALTER TABLE assets ADD COLUMN tls_ca_pem TEXT;
ALTER TABLE assets ADD COLUMN plaintext_auth_allowed BIGINT NOT NULL DEFAULT 0;
UPDATE assets SET tls_mode = 'disable' WHERE address IN ('127.0.0.1', '::1', 'localhost');
UPDATE assets SET tls_mode = 'disable' WHERE platform = 'redis';
