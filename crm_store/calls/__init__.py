"""Calls: the incoming-call path, webhook events, the outbox, the alerts a call raises."""
