-- The staff surface (issue 13): who may call it, their browser sessions, and an append-only
-- record of what they did. Every table carries organization_id: a credential belongs to one
-- organization, and every lookup of a task goes through it.

-- Task ids in URLs must not be guessable: the bigserial stays the row's key (events and plan
-- history name it), and the staff API addresses a task by this random id only.
ALTER TABLE coordinator_tasks ADD COLUMN public_id uuid NOT NULL DEFAULT gen_random_uuid();
CREATE UNIQUE INDEX coordinator_tasks_public_id ON coordinator_tasks (public_id);

-- Per-organization API keys. Only the SHA-256 of the 32-byte random secret is stored: the key
-- is shown once at creation. A key is high-entropy, so a fast hash is enough (no stretching).
CREATE TABLE staff_api_keys (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id  text NOT NULL,
    name             text NOT NULL,
    role             text NOT NULL CHECK (role IN ('coordinator', 'location_manager', 'org_admin')),
    -- NULL: every location of the organization; otherwise only these.
    locations        text[],
    secret_sha256    bytea NOT NULL UNIQUE CHECK (length(secret_sha256) = 32),
    created_at       timestamptz NOT NULL,
    revoked_at       timestamptz
);
CREATE INDEX staff_api_keys_organization ON staff_api_keys (organization_id, created_at);

-- Local accounts for browser sign-in (small deployments); passwords are bcrypt hashes.
CREATE TABLE staff_users (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id  text NOT NULL,
    login            text NOT NULL,
    display_name     text NOT NULL,
    role             text NOT NULL CHECK (role IN ('coordinator', 'location_manager', 'org_admin')),
    locations        text[],
    password_bcrypt  text NOT NULL,
    created_at       timestamptz NOT NULL,
    disabled_at      timestamptz
);
-- One sign-in name across organizations: the sign-in form does not ask for the organization.
CREATE UNIQUE INDEX staff_users_login ON staff_users (lower(login));

-- Browser sessions: the cookie carries a random secret, the table its SHA-256 (a database
-- reader cannot replay a session), the CSRF token of its form posts, and its expiry.
CREATE TABLE staff_sessions (
    secret_sha256    bytea PRIMARY KEY CHECK (length(secret_sha256) = 32),
    organization_id  text NOT NULL,
    user_id          uuid NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    csrf_token       text NOT NULL,
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL
);
CREATE INDEX staff_sessions_expiry ON staff_sessions (expires_at);

-- Every staff action, append-only: who (a key or a user, with its role), which organization,
-- when (the service's clock), what, on which case and task, the case's state before and after,
-- and the request id that answered it.
CREATE TABLE staff_audit (
    id               bigserial PRIMARY KEY,
    organization_id  text NOT NULL,
    actor            text NOT NULL,
    actor_role       text NOT NULL,
    at               timestamptz NOT NULL,
    action           text NOT NULL,
    plan_id          text,
    task_public_id   uuid,
    state_before     text,
    state_after      text,
    request_id       text NOT NULL,
    detail           jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX staff_audit_organization ON staff_audit (organization_id, at);

-- Append-only for every role, the owner included: a trigger rather than REVOKE, because the
-- services connect as the role that owns the table, and an owner's privileges can be granted
-- back. TRUNCATE is refused too.
CREATE FUNCTION staff_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'staff_audit is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER staff_audit_no_update BEFORE UPDATE OR DELETE ON staff_audit
    FOR EACH ROW EXECUTE FUNCTION staff_audit_append_only();
CREATE TRIGGER staff_audit_no_truncate BEFORE TRUNCATE ON staff_audit
    FOR EACH STATEMENT EXECUTE FUNCTION staff_audit_append_only();
