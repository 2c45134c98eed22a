-- Foreign-key checks must find their plan by its key (issue 17). Inserting a procedure, a
-- classification or an offer checks its plan with PostgreSQL's internal
-- `SELECT 1 FROM plans WHERE organization_id = $1 AND plan_id = $2 FOR KEY SHARE`, planned once
-- per session and kept. A session that planned it while `plans` was nearly empty (a new
-- database, or one whose statistics predate a burst) could pick plans_location_status, whose
-- first column is organization_id, and then read every plan of the organization on each check:
-- a second classifier process on a fresh database spent 2–4 s per 500-row insert and read 7.2 M
-- index tuples for 6,160 checks. With location_id first, that index cannot answer an
-- organization-only condition, so the primary key is the only index such a check can use. The
-- location queries name both columns and are served as before.
DROP INDEX plans_location_status;
CREATE INDEX plans_location_status ON plans (location_id, organization_id, status);
