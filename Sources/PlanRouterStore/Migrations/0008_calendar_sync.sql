-- When the offer worker last applied a schedule.changed of the location (the worker's
-- clock, so the simulation measures it on simulated time). A location whose schedule
-- mirror is older than the offer worker's window (--calendar-stale-hours) does not
-- self-book: its cases go to a coordinator with the reason "calendar stale". NULL = no
-- schedule applied since this migration (such a location has no calendar to be stale;
-- its cases get "no availability" tasks as before).
ALTER TABLE locations ADD COLUMN schedule_synced_at timestamptz;
