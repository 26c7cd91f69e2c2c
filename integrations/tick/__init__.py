"""One tick of coachd: read the world (snapshot), plan (planner.plan), act on the
calendar (executor), send what is due (outbox); app.run_tick is where a tick starts, and
run_loop the daemon that runs ticks on a schedule."""
