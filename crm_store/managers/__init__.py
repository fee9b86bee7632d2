"""Account managers: assignment, certification, service duties, transfers between branches."""
