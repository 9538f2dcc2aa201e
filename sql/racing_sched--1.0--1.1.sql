-- racing_sched 1.0 -> 1.1.  CREATE EXTENSION installs 1.0 and then runs this
-- script, so a new install and an upgraded one end with the same objects.
-- Each change keeps the data and the schedules of a running installation,
-- and the library works against both 1.0 and 1.1 until the update is run.

\echo Use "ALTER EXTENSION racing_sched UPDATE TO '1.1'" to load this file. \quit
