-- Tables added after 0011 (messaging 0013, staff 0012, connectors 0018) are tenant rows like the rest:
-- row-level security with FORCE. The notify worker runs with the '*' scope; the Twilio
-- webhooks scope each transaction to the organization the signed request names.
ALTER TABLE message_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE message_deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON message_deliveries USING (planrouter_tenant_visible(organization_id));
ALTER TABLE sms_suppressions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sms_suppressions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sms_suppressions USING (planrouter_tenant_visible(organization_id));

-- The staff surface's tables (0012) too: credentials are looked up across organizations only
-- to authenticate (the '*' scope, one statement); everything after is scoped to the
-- principal's organization.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['staff_api_keys', 'staff_users', 'staff_sessions', 'staff_audit'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (planrouter_tenant_visible(organization_id))', t);
    END LOOP;
END $$;

-- The connector's state (0018): the connector is a system process ('*'); its rows are tenant rows.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['connector_watermarks', 'connector_produced', 'connector_plans', 'connector_offices', 'pms_writebacks'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE tablename = t AND policyname = 'tenant_isolation') THEN
            EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
            EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
            EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (planrouter_tenant_visible(organization_id))', t);
        END IF;
    END LOOP;
END $$;
