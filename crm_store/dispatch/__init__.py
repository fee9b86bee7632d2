"""Dispatch of surveyors and roadside vendors: requests with the promise that applies, surveyor and vendor
profiles, suggestions ranked by estimated arrival, assignment and acceptance, and the promise timers."""
