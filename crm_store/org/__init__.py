"""The organisation: org units, staff, sign-in and sessions, scope and clearance, administration."""
