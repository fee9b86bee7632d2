"""Complaint management (고객 불만 관리): numbered complaints opened from every door, the seven steps as a state
machine with a form each and who may act, time limits on Korea's business calendar, the append-only dossier, and
escalation of overdue complaints up the organisation."""
