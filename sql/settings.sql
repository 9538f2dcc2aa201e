-- Every setting checks its value and says what is allowed.
SHOW racing_sched.database;
SHOW racing_sched.timezone;
SHOW racing_sched.jurisdictions;
SHOW racing_sched.race_types;
SHOW racing_sched.locations;
SHOW racing_sched.max_workers;
SHOW racing_sched.success_retention;

-- The prefix is reserved: a misspelt setting is refused.
SET racing_sched.no_such_setting = 1;

-- Server-wide settings cannot be set in a session.
SET racing_sched.database = 'other';
SET racing_sched.enabled = off;
SET racing_sched.timezone = 'UTC';

-- ALTER SYSTEM checks values before writing them.
ALTER SYSTEM SET racing_sched.timezone = 'Mars/Olympus_Mons';
ALTER SYSTEM SET racing_sched.timezone = '';
ALTER SYSTEM SET racing_sched.jurisdictions = 'NSW,XYZ';
ALTER SYSTEM SET racing_sched.jurisdictions = 'NSW,NSW';
ALTER SYSTEM SET racing_sched.jurisdictions = '';
ALTER SYSTEM SET racing_sched.jurisdictions = 'NSW,,VIC';
ALTER SYSTEM SET racing_sched.jurisdictions = 'nsw';
ALTER SYSTEM SET racing_sched.race_types = 'R,Q';
ALTER SYSTEM SET racing_sched.locations = 'NSW,nz';
ALTER SYSTEM SET racing_sched.locations = 'everywhere';
ALTER SYSTEM SET racing_sched.max_workers = 0;
ALTER SYSTEM SET racing_sched.max_workers = 1000;
ALTER SYSTEM SET racing_sched.success_retention = '10 min';
ALTER SYSTEM SET racing_sched.success_retention = 'forever';
ALTER SYSTEM SET racing_sched.enabled = 'maybe';
-- and accepts good ones
ALTER SYSTEM SET racing_sched.jurisdictions = 'NSW, VIC,QLD,ACT,SA,TAS,NT';
ALTER SYSTEM SET racing_sched.race_types = 'G';
ALTER SYSTEM SET racing_sched.locations = 'NSW,VIC,NZL,GBR';
ALTER SYSTEM SET racing_sched.success_retention = '30d';
ALTER SYSTEM SET racing_sched.timezone = 'UTC';
ALTER SYSTEM RESET racing_sched.jurisdictions;
ALTER SYSTEM RESET racing_sched.race_types;
ALTER SYSTEM RESET racing_sched.locations;
ALTER SYSTEM RESET racing_sched.success_retention;
ALTER SYSTEM RESET racing_sched.timezone;

-- The API URL: http and https only; superuser-only.
SET racing_sched.tab_api_url = 'ftp://example.com/racing';
SET racing_sched.tab_api_url = 'file:///etc/passwd';
SET racing_sched.tab_api_url = 'https://';
SET racing_sched.tab_api_url = 'https://exa mple.com';
SET racing_sched.tab_api_url = 'https://example.com/racing?x=1';
SET racing_sched.tab_api_url = 'https://example.com/racing';
SHOW racing_sched.tab_api_url;
RESET racing_sched.tab_api_url;
CREATE ROLE rs_plain;
SET ROLE rs_plain;
SET racing_sched.tab_api_url = 'http://127.0.0.1:1/racing';
RESET ROLE;
DROP ROLE rs_plain;
