"""The estate's central store: every site's incident and alert lifecycle messages in one PostgreSQL."""
