"""The operators' review console: server-rendered pages over the review store."""
