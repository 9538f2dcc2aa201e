-- The racing_sched.http_* settings: defaults, checks, superuser-only.
SELECT name, setting, unit, context, min_val, max_val
FROM pg_settings
WHERE name LIKE 'racing_sched.http%' AND name <> 'racing_sched.http_headers'
ORDER BY name;
SELECT context, regexp_split_to_table(setting, '\|') AS default_headers
FROM pg_settings WHERE name = 'racing_sched.http_headers';

-- The extra request header list: "Name: value|Name: value".
SET racing_sched.http_headers = 'User-Agent: probe/1 | Accept: application/json|';
SHOW racing_sched.http_headers;
SET racing_sched.http_headers = '';
SET racing_sched.http_headers = 'Accept application/json';
SET racing_sched.http_headers = 'Accept: a|: nameless';
SET racing_sched.http_headers = 'Bad Name: x';
SET racing_sched.http_headers = E'X-A: 1|X-B: two\rInjected: yes';
SET racing_sched.http_headers = 'Cookie: session=1';
SET racing_sched.http_headers = 'accept-encoding: identity';
RESET racing_sched.http_headers;

-- A private CA file must be named by an absolute path.
SET racing_sched.http_ca_file = 'certs/ca.pem';
SET racing_sched.http_ca_file = '/etc/ssl/certs/ca-certificates.crt';
RESET racing_sched.http_ca_file;

-- Ranges.
SET racing_sched.http_max_inflight = 0;
SET racing_sched.http_rate_limit = -1;
SET racing_sched.http_rate_limit = 'NaN';
SET racing_sched.http_max_response_size = '100B';
SET racing_sched.http_max_response_size = '1GB';
SET racing_sched.http_max_retries = 11;
SET racing_sched.http_timeout = '10ms';
SET racing_sched.http_rate_limit = 0.5;
SET racing_sched.http_max_response_size = '32MB';
SHOW racing_sched.http_max_response_size;
RESET racing_sched.http_rate_limit;
RESET racing_sched.http_max_response_size;

-- Settings that steer outbound HTTP are superuser-only.
CREATE ROLE rs_http_plain;
SET ROLE rs_http_plain;
SET racing_sched.http_headers = 'X-A: 1';
SET racing_sched.http_ca_file = '/tmp/ca.pem';
SET racing_sched.http_max_inflight = 64;
SET racing_sched.http_rate_limit = 0;
RESET ROLE;
DROP ROLE rs_http_plain;
