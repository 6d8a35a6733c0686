-- The newest cycles of every machine and job, without sorting them all.
CREATE INDEX cycle_by_end ON cycle (end_ms);
