"""The controller's storage: SQLAlchemy models on one declarative Base, engines, and migrations."""
