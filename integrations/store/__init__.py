"""coachd's memory: the state file (StateStore), the small ports it implements
(state_ports, kv), its journal, lock and atomic writes."""
