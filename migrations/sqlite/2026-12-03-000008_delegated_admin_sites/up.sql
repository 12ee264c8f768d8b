-- The sites a delegated_admin token may put users into (space-separated site ids;
-- empty: none). Site membership is the policy's decision (docs/contract.md).
ALTER TABLE tokens ADD COLUMN site_ids TEXT NOT NULL DEFAULT '';
