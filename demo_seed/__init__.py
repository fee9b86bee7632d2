"""Demo data for `hotline seed-demo` (organisation, staff, customers, account managers, calls)."""
