-- Reconcile (issue 22): the account that sets a new password on the asset's other accounts
-- without knowing their old one. NULL: the asset's privileged account.
ALTER TABLE assets ADD COLUMN reconcile_account_id TEXT;
