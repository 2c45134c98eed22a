-- "Show me later times" on the booking page (issue 14 point 5). The same signed link then names
-- new openings: the offer row keeps the openings shown now (offers.openings is replaced) and
-- counts how many times the patient asked, so the count is bounded and a double submit of one
-- page (which carries the count it was rendered with) changes nothing the second time.
ALTER TABLE offers ADD COLUMN later_rounds integer NOT NULL DEFAULT 0;

-- A booking's confirmation carries the appointment as an iCalendar file (RFC 5545); the email
-- sender attaches it. Kept on the delivery row because the sender sends from the table, never
-- from the event (a retry after a crash must send the same file).
ALTER TABLE message_deliveries ADD COLUMN calendar text;
