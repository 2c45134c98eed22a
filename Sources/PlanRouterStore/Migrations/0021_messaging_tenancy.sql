-- Message deliveries and SMS suppressions (0013) are tenant rows like the rest (0011):
-- row-level security with FORCE. The notify worker runs with the '*' scope; the Twilio
-- webhooks scope each transaction to the organization the signed request names.
ALTER TABLE message_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE message_deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON message_deliveries USING (planrouter_tenant_visible(organization_id));
ALTER TABLE sms_suppressions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sms_suppressions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sms_suppressions USING (planrouter_tenant_visible(organization_id));
