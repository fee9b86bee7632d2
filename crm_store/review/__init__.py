"""The operators' review of call records: the queue and its routing."""
