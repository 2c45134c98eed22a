-- History must not slow the calendars down (issue 17 point 4). The offer worker and the booking
-- service read a location's active reservations overlapping the coming weeks. Bookings and PMS
-- appointments stay active after they happened (they are the case's record), so every location
-- gathers thousands of past ones; with an index on (organization, location) alone each calendar
-- load read them all and threw them away (a database holding a million past cases ran the
-- pipeline at 269 acceptances/s against 725/s when empty). Indexing the end of the chair range as
-- well lets the read start at the window: `upper(operatory_during) > window start` is implied by
-- the overlap and is written out in AvailabilityRepository.busy so the planner can use it.
DROP INDEX reservations_active_location;
CREATE INDEX reservations_active_location ON reservations (organization_id, location_id, upper(operatory_during)) WHERE active;
