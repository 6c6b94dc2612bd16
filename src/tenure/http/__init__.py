"""The HTTP core the REST API (tenure.api) and the pages (tenure.web) share: the app context,
who is asking (auth), RFC 9457 problems, the per-data-version cache and the app shell. It
imports neither tenure.api nor tenure.web; tenure.serve composes the three."""
