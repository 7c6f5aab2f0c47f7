-- Device access became explicit: an empty `users` list now grants no end user, where it used to
-- grant every one. Devices registered before keep the access they had, said explicitly.
UPDATE devices SET users = '["*"]' WHERE users = '[]';
