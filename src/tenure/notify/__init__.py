"""notify stage: the outbox (email over SMTP or .eml files, webhooks), delivery with retries and dead letters."""
