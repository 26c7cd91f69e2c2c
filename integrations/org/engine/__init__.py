"""Org mode past one machine: `coachd org scheduler` enqueues each due manager's tick on an
RQ queue in Redis, `coachd org worker` runs them (any number, on any machines); a lease per
manager in Redis keeps one tick per manager at a time. Needs the `engine` extra (rq, redis);
`coachd org run` (one process) needs neither."""
