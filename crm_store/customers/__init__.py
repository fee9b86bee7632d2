"""Customers: records, phones, identity, profiles, policies and claims, segments and their rules, alerts, blacklist,
the customer picture, events and changes."""
