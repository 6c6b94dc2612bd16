"""REST routers under /api/v1, one module per concept (accounts, metrics, health, risk, ingest,
admin). Each is thin: parse, check permission and book-of-business scope, ask the compute
stage, return a pydantic model."""
