-- Issue 17: one fresh TOTP code unlocks sensitive actions for a short window, on this session
-- only. The window's end (Unix milliseconds); NULL: no window open. Ends with the session row.
ALTER TABLE sessions ADD COLUMN sensitive_until BIGINT;
